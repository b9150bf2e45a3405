import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { agentAccount } from '../../src/agent-id.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { microJ } from '../../src/units/money.js';
import { repoPath } from '../helpers/repo.js';

const BIN = repoPath('dist/src/cli/bin.js');

function maxwell(args: string[]) {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '' } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('maxwell ledger verify / balances / entries on a real database, then on a tampered one', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'maxwell-ledger-cli-'));
  t.after(() => { rmSync(dir, { recursive: true, force: true }); });
  const db = join(dir, 'ledger.sqlite');
  const ledger = Ledger.open({ path: db, keyPath: join(dir, 'key.pem') });
  const agent = agentAccount('scientist-1');
  ledger.commitTick(0, [{ kind: 'mint', from: 'treasury', to: agent, amountMicroJ: microJ(5_000_000_000n), memo: 'wallet 5000 J' }]);
  for (let tick = 1; tick <= 20; tick += 1) ledger.commitTick(tick, [{ kind: 'payment', from: agent, to: 'burn', amountMicroJ: microJ(2_500_000n) }]);
  ledger.close();

  const ok = maxwell(['ledger', 'verify', '--db', db]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /21 entries in 21 signed ticks/);
  assert.match(ok.stdout, /minted +5000\.000000 J/);
  assert.match(ok.stdout, /burned +50\.000000 J/);
  assert.match(ok.stdout, /^OK/m);
  const json = JSON.parse(maxwell(['ledger', 'verify', '--db', db, '--json']).stdout) as { ok: boolean; totals: { mintedMicroJ: string } };
  assert.equal(json.ok, true);
  assert.equal(json.totals.mintedMicroJ, '5000000000', 'µJ amounts are exact decimal strings in JSON');
  assert.match(maxwell(['ledger', 'balances', '--db', db]).stdout, /agent:scientist-1 +4950\.000000 J/);
  assert.match(maxwell(['ledger', 'entries', '--db', db, '--from', '20', '--limit', '5']).stdout, /\n20 +19 +payment/);

  const raw = new Database(db);
  raw.prepare('UPDATE entries SET amount_uj = 1 WHERE seq = 12').run();
  raw.close();
  const bad = maxwell(['ledger', 'verify', '--db', db]);
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /FAILED \(bad-hash\): entry 12 was altered/);
  assert.match(bad.stderr, /MXW_ERR_LEDGER_CORRUPT: ledger verification failed at entry 12/);
});
