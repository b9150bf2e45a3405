import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Apoptosis } from '../../../src/market/apoptosis.js';

test('balance ≤ 0 → notice → grace → terminate, with the survival time', () => {
  const a = new Apoptosis({ graceMs: 1000 });
  a.admit('leech', 0);
  assert.equal(a.observe('leech', 5n, 100), null);
  const notice = a.observe('leech', 0n, 2500);
  assert.deepEqual(notice, { kind: 'notice', agentId: 'leech', balanceMicroJ: 0n, graceMs: 1000, deadlineMs: 3500 });
  assert.equal(a.phase('leech'), 'grace');
  assert.equal(a.observe('leech', -3n, 3499), null, 'still in its grace period');
  assert.deepEqual(a.observe('leech', -3n, 3500), { kind: 'terminate', agentId: 'leech', balanceMicroJ: -3n, survivalMs: 3500 });
  assert.equal(a.observe('leech', -3n, 9999), null, 'terminate is said once');
  assert.equal(a.phase('leech'), 'terminating');
});

test('a top-up during the grace period rescues the agent; a later insolvency starts a fresh grace period', () => {
  const a = new Apoptosis({ graceMs: 1000 });
  a.admit('s', 0);
  assert.equal(a.observe('s', -1n, 10)?.kind, 'notice');
  assert.deepEqual(a.observe('s', 1_000_000n, 900), { kind: 'rescued', agentId: 's', balanceMicroJ: 1_000_000n });
  assert.equal(a.phase('s'), 'alive');
  assert.equal(a.observe('s', 0n, 5000)?.kind, 'notice');
  assert.equal(a.observe('s', 0n, 5999), null, 'the new deadline counts from the new notice');
  assert.equal(a.observe('s', 0n, 6000)?.kind, 'terminate');
});

test('a price jittering around the balance does not flip the agent in and out of grace: leaving it takes a margin', () => {
  const a = new Apoptosis({ graceMs: 1000 });
  a.admit('l', 0);
  // Balance 3.13 J; the cheapest quantum costs 3.0–3.4 J from tick to tick.
  const balance = 3_130_000n;
  assert.equal(a.observe('l', balance, 10, 3_000_000n), null, 'it can pay for a quantum');
  assert.equal(a.observe('l', balance, 20, 3_200_000n)?.kind, 'notice');
  for (let t = 30; t < 1020; t += 10) {
    const price = t % 20 === 0 ? 3_400_000n : 2_900_000n;
    assert.equal(a.observe('l', balance, t, price), null, `no rescue at ${String(t)} ms: ${String(balance)} µJ is under 150 % of ${String(price)} µJ`);
  }
  assert.equal(a.observe('l', balance, 1020, 2_900_000n)?.kind, 'terminate');
  // Income or a top-up above the margin does rescue.
  const b = new Apoptosis({ graceMs: 1000, rescueMarginPercent: 200 });
  b.admit('s', 0);
  assert.equal(b.observe('s', 1_000_000n, 10, 1_000_000n)?.kind, 'notice');
  assert.equal(b.observe('s', 1_900_000n, 20, 1_000_000n), null);
  assert.equal(b.observe('s', 2_100_000n, 30, 1_000_000n)?.kind, 'rescued');
  assert.throws(() => new Apoptosis({ rescueMarginPercent: 99 }), { code: 'MXW_ERR_INVALID_ARG' });
});

test('unknown agents are ignored and a bad grace period is refused', () => {
  const a = new Apoptosis();
  assert.equal(a.graceMs, 1000, 'default grace period 1 s');
  assert.equal(a.observe('nobody', -5n, 0), null);
  assert.throws(() => new Apoptosis({ graceMs: -1 }), { code: 'MXW_ERR_INVALID_ARG' });
  assert.throws(() => new Apoptosis({ graceMs: Number.NaN }), { code: 'MXW_ERR_INVALID_ARG' });
});
