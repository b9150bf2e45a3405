import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { SeededRandom } from '../../src/internal/seeded-random.js';
import { verifyLedger } from '../../src/ledger/verify.js';
import { expectedAfter } from '../helpers/ledger-workload.js';
import { until } from '../helpers/wait.js';

function ledgerExists(path: string): boolean {
  if (!existsSync(path)) return false;
  const db = new Database(path, { readonly: true });
  try {
    return (db.prepare(`SELECT COUNT(*) FROM sqlite_master WHERE name = 'ticks'`).pluck().get() as number) > 0;
  } finally {
    db.close();
  }
}

const WRITER = new URL('../helpers/ledger-writer.js', import.meta.url).pathname;
const TRIALS = 60;

test(`SIGKILL at ${String(TRIALS)} random points: the chain verifies, no tick is half-written, no joule lost or counted twice`, { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'maxwell-crash-'));
  const path = join(dir, 'ledger.sqlite');
  const keyPath = join(dir, 'node-key.pem');
  const random = new SeededRandom(20261126);
  let previousLastTick = -1;
  let progressed = 0;
  try {
    for (let trial = 0; trial < TRIALS; trial += 1) {
      const child = spawn(process.execPath, [WRITER, path, keyPath], { stdio: ['ignore', 'pipe', 'pipe'] });
      const exited = once(child, 'exit');
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      // Kill anywhere: during start-up (first trials and every fifth), or mid-stream: 2–40 ms after
      // the writer's first commit, however long its start took.
      const midStream = trial % 5 !== 0;
      if (midStream) await until('the first commit', () => /^committed \d+$/m.test(stdout) || child.exitCode !== null);
      await sleep(midStream ? 2 + random.uniform() * 38 : random.uniform() * 60);
      child.kill('SIGKILL');
      const [code, signal] = (await exited) as [number | null, string | null];
      assert.ok(signal === 'SIGKILL' || code === 0, `writer failed on its own (code ${String(code)}): ${stderr}`);
      if (midStream) {
        const resumed = `resumed ${String(previousLastTick)}\ncommitted ${String(previousLastTick + 1)}\n`;
        assert.ok(stdout.startsWith(resumed), `resumes after the last committed tick: ${JSON.stringify(stdout)}`);
      }

      if (previousLastTick === -1 && !ledgerExists(path)) continue; // killed before the first start finished
      const report = verifyLedger(path);
      assert.equal(report.ok, true, `trial ${String(trial)}: ${report.failure?.message ?? ''}`);
      const db = new Database(path, { readonly: true });
      db.defaultSafeIntegers(true);
      const lastTick = Number((db.prepare('SELECT MAX(tick) FROM ticks').pluck().get() as bigint | null) ?? -1n);
      const expected = expectedAfter(lastTick);
      const counts = db.prepare('SELECT tick, COUNT(*) AS n FROM entries GROUP BY tick ORDER BY tick').all() as { tick: bigint; n: bigint }[];
      assert.deepEqual(counts.map((c) => Number(c.n)), expected.entriesPerTick, `trial ${String(trial)}: every tick is whole`);
      const stored = new Map((db.prepare('SELECT account, balance_uj FROM balances').all() as { account: string; balance_uj: bigint }[]).map((r) => [r.account, r.balance_uj]));
      db.close();
      assert.deepEqual(stored, expected.balances, `trial ${String(trial)}: balances are exactly those of ticks 0..${String(lastTick)}`);
      if (lastTick > previousLastTick) progressed += 1;
      previousLastTick = lastTick;
    }
    assert.ok(progressed >= TRIALS / 2, `the writer made progress in only ${String(progressed)} of ${String(TRIALS)} trials`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
