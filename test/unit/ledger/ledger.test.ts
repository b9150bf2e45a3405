import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import Database from 'better-sqlite3';
import { agentAccount } from '../../../src/agent-id.js';
import { entryHash, type Transfer } from '../../../src/ledger/entries.js';
import { microJ, toMicroJ, type MicroJoules } from '../../../src/units/money.js';
import { Ledger, rowToEntry } from '../../../src/ledger/ledger.js';
import { verifyLedger } from '../../../src/ledger/verify.js';

let dir: string;
let paths: { path: string; keyPath: string };

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'maxwell-ledger-'));
  paths = { path: join(dir, 'ledger.sqlite'), keyPath: join(dir, 'node-key.pem') };
});
afterEach(() => { rmSync(dir, { recursive: true, force: true }); });

const alice = agentAccount('alice');
const bob = agentAccount('bob');

/** Ten ticks of every entry kind, ending with alice's settlement. */
function populate(ledger: Ledger): void {
  ledger.commitTick(0, [
    { kind: 'mint', from: 'treasury', to: alice, amountMicroJ: toMicroJ(50) },
    { kind: 'mint', from: 'treasury', to: bob, amountMicroJ: toMicroJ(20) },
  ]);
  for (let tick = 1; tick <= 8; tick += 1) {
    ledger.commitTick(tick, [
      { kind: 'payment', from: alice, to: 'burn', amountMicroJ: microJ(1_000_000n), memo: `tick ${String(tick)}: 1 quantum` },
      { kind: 'payment', from: bob, to: 'burn', amountMicroJ: microJ(500_000n) },
      { kind: 'tax', from: bob, to: 'landauer', amountMicroJ: microJ(3n), memo: '12 MiB erased' },
      { kind: 'income', from: 'treasury', to: bob, amountMicroJ: microJ(200_000n), memo: '2 primes' },
    ]);
  }
  ledger.commitTick(9, [
    { kind: 'stake', from: alice, to: 'escrow', amountMicroJ: microJ(10_000_000n) },
    { kind: 'slash', from: 'escrow', to: 'burn', amountMicroJ: microJ(4_000_000n) },
    { kind: 'refund', from: 'escrow', to: alice, amountMicroJ: microJ(6_000_000n) },
  ]);
  const left = ledger.balance(alice);
  ledger.commitTick(10, [{ kind: 'refund', from: alice, to: 'treasury', amountMicroJ: left, memo: 'settled' }], [
    { agentId: 'alice', finalBalanceMicroJ: microJ(0n), survivalMs: 100, reason: 'stopped' },
  ]);
}

test('the node key is created on first start with mode 0600 and refused when others can read it', () => {
  const ledger = Ledger.open(paths);
  assert.equal(ledger.key.created, true);
  assert.equal(statSync(paths.keyPath).mode & 0o777, 0o600);
  ledger.close();
  const again = Ledger.open(paths);
  assert.equal(again.key.created, false, 'the same key is loaded on the next start');
  again.close();
  chmodSync(paths.keyPath, 0o644);
  assert.throws(() => Ledger.open(paths), { code: 'MXW_ERR_LEDGER_KEY', message: /chmod 600/ });
});

test('a ledger signed by another key is refused; a SQLite file that is not a ledger is refused and untouched', () => {
  Ledger.open(paths).close();
  assert.throws(() => Ledger.open({ path: paths.path, keyPath: join(dir, 'other.pem') }), { code: 'MXW_ERR_LEDGER_KEY' });
  const foreign = join(dir, 'foreign.sqlite');
  const db = new Database(foreign);
  db.exec('CREATE TABLE t (x)');
  db.close();
  assert.throws(() => Ledger.open({ path: foreign, keyPath: paths.keyPath }), { code: 'MXW_ERR_LEDGER_OPEN', message: /not a Maxwell ledger/ });
  writeFileSync(join(dir, 'garbage.sqlite'), 'this is not a database at all, just text'.repeat(50));
  assert.throws(() => verifyLedger(join(dir, 'garbage.sqlite')), { code: 'MXW_ERR_LEDGER_OPEN' });
  assert.throws(() => verifyLedger(join(dir, 'missing.sqlite')), { code: 'MXW_ERR_LEDGER_OPEN' });
});

test('balances follow the entries, every kind is accepted in its shape, and verify agrees on a real database', () => {
  const ledger = Ledger.open(paths);
  populate(ledger);
  assert.equal(ledger.balance(alice), 0n);
  assert.equal(ledger.balance(bob), 20_000_000n - 8n * 500_000n - 8n * 3n + 8n * 200_000n);
  assert.equal(ledger.balance('landauer'), 24n);
  assert.equal(ledger.lastTick, 10);
  const head = ledger.headHash;
  ledger.close();

  const report = verifyLedger(paths.path, { expectHead: head });
  assert.equal(report.ok, true, report.failure?.message);
  assert.equal(report.entries, 2 + 8 * 4 + 3 + 1);
  assert.equal(report.ticks, 11);
  const t = report.totals;
  assert.equal(t.mintedMicroJ, t.agentBalancesMicroJ + t.burnedMicroJ + t.taxedMicroJ + t.escrowedMicroJ, 'minted = Σ balances + burned + taxed + escrowed');
  assert.equal(t.taxedMicroJ, 24n);

  const reopened = Ledger.open(paths);
  assert.equal(reopened.lastTick, 10, 'the chain continues after a restart');
  assert.equal(reopened.balance(bob), 17_599_976n);
  reopened.commitTick(11, [{ kind: 'payment', from: bob, to: 'burn', amountMicroJ: microJ(1n) }]);
  assert.deepEqual(reopened.settlements().map((s) => [s.agentId, s.survivalMs]), [['alice', 100]]);
  reopened.close();
  assert.equal(verifyLedger(paths.path).ok, true);
});

test('a tick that overdraws, is malformed, or replays writes nothing at all', () => {
  const ledger = Ledger.open(paths);
  ledger.commitTick(0, [{ kind: 'mint', from: 'treasury', to: alice, amountMicroJ: microJ(1000n) }]);
  const overdraw: Transfer[] = [
    { kind: 'payment', from: alice, to: 'burn', amountMicroJ: microJ(600n) },
    { kind: 'payment', from: alice, to: 'burn', amountMicroJ: microJ(600n) },
  ];
  assert.throws(() => ledger.commitTick(1, overdraw), { code: 'MXW_ERR_LEDGER_FUNDS' });
  assert.equal(ledger.balance(alice), 1000n, 'the first half of a refused tick is not applied');
  assert.equal(ledger.lastTick, 0);
  const malformed: Transfer[][] = [
    [{ kind: 'mint', from: alice, to: bob, amountMicroJ: microJ(1n) }],
    [{ kind: 'payment', from: alice, to: 'burn', amountMicroJ: microJ(0n) }],
    [{ kind: 'payment', from: alice, to: 'burn', amountMicroJ: microJ(-5n) }],
    [{ kind: 'payment', from: alice, to: 'burn', amountMicroJ: 1.5 as unknown as MicroJoules }],
    [{ kind: 'payment', from: 'agent:bad id!', to: 'burn', amountMicroJ: microJ(1n) }],
    [{ kind: 'steal' as never, from: alice, to: 'burn', amountMicroJ: microJ(1n) }],
    [{ kind: 'payment', from: alice, to: 'burn', amountMicroJ: microJ(1n), memo: 'x'.repeat(201) }],
  ];
  for (const transfers of malformed) assert.throws(() => ledger.commitTick(1, transfers), { code: 'MXW_ERR_LEDGER_TRANSFER' });
  assert.throws(() => ledger.commitTick(0, []), { code: 'MXW_ERR_LEDGER_REPLAY' });
  assert.throws(() => toMicroJ(Number.NaN), { code: 'MXW_ERR_LEDGER_TRANSFER' });
  // A tax may overdraw: the erasure happened and is owed; the agent is then insolvent.
  ledger.commitTick(1, [{ kind: 'tax', from: alice, to: 'landauer', amountMicroJ: microJ(1500n) }]);
  assert.equal(ledger.balance(alice), -500n);
  ledger.close();
  const report = verifyLedger(paths.path);
  assert.equal(report.ok, true, report.failure?.message);
  assert.equal(report.entries, 2);
});

/** Opens the raw database to tamper with it, as an attacker with file access would. */
function tamper(sql: string, ...params: unknown[]): void {
  const db = new Database(paths.path);
  if (params.length === 0) db.exec(sql);
  else db.prepare(sql).run(...params);
  db.close();
}

const tampering: [string, string, unknown[], string, number | null][] = [
  ['an edited amount', `UPDATE entries SET amount_uj = amount_uj + 1 WHERE seq = 7`, [], 'bad-hash', 7],
  ['an edited memo', `UPDATE entries SET memo = 'nothing to see' WHERE seq = 12`, [], 'bad-hash', 12],
  ['a deleted row', `DELETE FROM entries WHERE seq = 20`, [], 'missing-entry', 20],
  ['the last row deleted', `DELETE FROM entries WHERE seq = (SELECT MAX(seq) FROM entries)`, [], 'missing-entry', 38],
  ['two rows reordered', `UPDATE entries SET seq = -1 WHERE seq = 9; UPDATE entries SET seq = 9 WHERE seq = 10; UPDATE entries SET seq = 10 WHERE seq = -1`, [], 'broken-chain', 9],
  ['an edited stored balance', `UPDATE balances SET balance_uj = balance_uj + 1000000 WHERE account = 'agent:bob'`, [], 'balance-mismatch', null],
  ['a forged signature', `UPDATE ticks SET signature = ? WHERE tick = 4`, [Buffer.alloc(64, 7).toString('base64')], 'bad-signature', 18],
  ['a tick record removed', `DELETE FROM ticks WHERE tick = 10`, [], 'unsigned-entries', 38],
];

for (const [what, sql, params, kind, seq] of tampering) {
  test(`verify detects ${what} and names the first bad entry`, () => {
    const ledger = Ledger.open(paths);
    populate(ledger);
    ledger.close();
    tamper(sql, ...params);
    const report = verifyLedger(paths.path);
    assert.equal(report.ok, false);
    assert.equal(report.failure?.kind, kind, report.failure?.message);
    assert.equal(report.failure.seq, seq, report.failure.message);
  });
}

test('a consistent forgery (amount edited, every later hash recomputed) still fails: the tick signatures cover it', () => {
  const ledger = Ledger.open(paths);
  populate(ledger);
  ledger.close();
  const db = new Database(paths.path);
  db.defaultSafeIntegers(true);
  const rows = db.prepare(`SELECT * FROM entries ORDER BY seq`).all() as Parameters<typeof rowToEntry>[0][];
  let prevHash = '';
  const rewrite = db.prepare(`UPDATE entries SET amount_uj = ?, prev_hash = ?, hash = ? WHERE seq = ?`);
  for (const row of rows) {
    const entry = rowToEntry(row);
    if (entry.seq < 3) {
      prevHash = entry.hash;
      continue;
    }
    const amountMicroJ = entry.seq === 3 ? microJ(1n) : entry.amountMicroJ;
    const hash = entryHash({ ...entry, amountMicroJ, prevHash });
    rewrite.run(amountMicroJ, prevHash, hash, entry.seq);
    db.prepare(`UPDATE ticks SET head_hash = ? WHERE last_seq = ?`).run(hash, entry.seq);
    prevHash = hash;
  }
  db.close();
  const report = verifyLedger(paths.path);
  assert.equal(report.ok, false);
  assert.equal(report.failure?.kind, 'bad-signature', report.failure?.message);
});

test('a truncated tail (last ticks removed from entries and ticks) is caught against a published head', () => {
  const ledger = Ledger.open(paths);
  populate(ledger);
  const head = ledger.headHash;
  ledger.close();
  tamper(`DELETE FROM entries WHERE tick = 10`);
  tamper(`DELETE FROM ticks WHERE tick = 10`);
  tamper(`DELETE FROM settlements`);
  tamper(`UPDATE balances SET balance_uj = 0 WHERE account = 'treasury'`);
  const report = verifyLedger(paths.path, { expectHead: head });
  assert.equal(report.ok, false);
  assert.ok(report.failure !== null && ['head-mismatch', 'balance-mismatch'].includes(report.failure.kind), report.failure?.message);
});

test('commit listeners hear each write that stored something, after the ledger holds it; one that throws changes nothing', () => {
  const ledger = Ledger.open(paths);
  const heard: { durationMs: number; entries: number; head: string }[] = [];
  const stop = ledger.onCommit((c) => { heard.push({ durationMs: c.durationMs, entries: c.entries, head: ledger.headHash }); });
  ledger.onCommit(() => { throw new Error('a broken observer'); });
  ledger.commitTick(0, [{ kind: 'mint', from: 'treasury', to: alice, amountMicroJ: toMicroJ(5) }]);
  ledger.commitTick(1, []);
  ledger.commitTick(2, [{ kind: 'payment', from: alice, to: 'burn', amountMicroJ: toMicroJ(1) }]);
  assert.equal(heard.length, 2, 'an empty tick writes nothing and is not reported');
  assert.ok(heard.every((h) => h.durationMs >= 0 && h.entries === 1));
  assert.equal(heard[1]?.head, ledger.headHash, 'told after the head moved');
  assert.equal(ledger.lastTick, 2);
  stop();
  ledger.commitTick(3, [{ kind: 'payment', from: alice, to: 'burn', amountMicroJ: toMicroJ(1) }]);
  assert.equal(heard.length, 2, 'unsubscribed');
  ledger.close();
  assert.equal(verifyLedger(paths.path).ok, true);
});
