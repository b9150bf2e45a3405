import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { BID_OUTCOMES, Clearing, type ClearingMode } from '../../../src/market/clearing.js';

const NUM_RUNS = process.env['CI'] === 'true' ? 1000 : 200;

function run(mode: ClearingMode, quality: number[], reserve: number[], price: number[], budget?: number[], tick = 0) {
  const c = new Clearing(4);
  const n = price.length;
  c.clear(mode, quality, reserve, price, budget ?? price.map(() => 1e9), price.map((_, i) => i), n, tick);
  return Array.from({ length: n }, (_, i) => ({ slot: c.slotOf[i]!, pay: c.payment[i]!, outcome: BID_OUTCOMES[c.outcome[i]!] }));
}

test('a worked position-auction example (EOS 2007 / Varian 2007 setting): two slots with 200 and 100 units, values 10, 4, 2', () => {
  const q = [200, 100];
  const r = [0, 0];
  // Truthful bids: VCG charges the externality: slot 2 pays 100·2 = 200; slot 1 pays (200 − 100)·4 + 100·2 = 600.
  const vcg = run('vcg', q, r, [10, 4, 2]);
  assert.deepEqual(vcg.map((x) => [x.slot, x.pay]), [[0, 600], [1, 200], [-1, 0]]);
  // GSP with truthful bids charges more: the next bid per unit, 200·4 = 800 and 100·2 = 200.
  const gspTruthful = run('gsp', q, r, [10, 4, 2]);
  assert.deepEqual(gspTruthful.map((x) => x.pay), [800, 200, 0]);
  // The locally envy-free equilibrium of EOS (Varian's lower symmetric Nash equilibrium): the
  // bidder in slot s bids p_{s-1}/q_{s-1}: b3 = v3 = 2, b2 = 600 / 200 = 3, b1 anything above.
  const equilibrium = run('gsp', q, r, [10, 3, 2]);
  assert.deepEqual(equilibrium.map((x) => [x.slot, x.pay]), [[0, 600], [1, 200], [-1, 0]], 'GSP at the LEF equilibrium = VCG payments');
  // Uniform third price: both pay 2 per unit.
  assert.deepEqual(run('uniform', q, r, [10, 4, 2]).map((x) => x.pay), [400, 200, 0]);
});

test('with one slot GSP is Vickrey: the winner pays max(reserve, second bid)', () => {
  fc.assert(
    fc.property(fc.array(fc.double({ min: 0.01, max: 100, noNaN: true }), { minLength: 1, maxLength: 8 }), fc.double({ min: 0, max: 50, noNaN: true }), (bids, r) => {
      const out = run('gsp', [1], [r], bids);
      const sorted = [...bids].sort((a, b) => b - a);
      const winner = out.find((o) => o.slot === 0);
      if (sorted[0]! < r) assert.equal(winner, undefined);
      else assert.ok(Math.abs(winner!.pay - Math.max(r, sorted[1] ?? 0)) < 1e-9);
    }),
    { numRuns: NUM_RUNS },
  );
});

const marketArb = fc.record({
  quality: fc.array(fc.double({ min: 0.1, max: 10, noNaN: true }), { minLength: 1, maxLength: 6 }).map((q) => q.sort((a, b) => b - a)),
  bids: fc.array(fc.record({ price: fc.double({ min: 0, max: 100, noNaN: true }), budget: fc.double({ min: 0, max: 500, noNaN: true }) }), { minLength: 1, maxLength: 10 }),
  reserve: fc.double({ min: 0, max: 20, noNaN: true }),
  mode: fc.constantFrom<ClearingMode>('gsp', 'vcg', 'uniform'),
  tick: fc.nat(1000),
});

test('properties: individual rationality, payment ≥ reserve, no overspend, each slot sold once', () => {
  fc.assert(
    fc.property(marketArb, ({ quality, bids, reserve, mode, tick }) => {
      const reserves = quality.map((_, s) => reserve * (1 + s * 0.1)); // hotter slots dearer
      const out = run(mode, quality, reserves, bids.map((b) => b.price), bids.map((b) => b.budget), tick);
      const sold = new Set<number>();
      out.forEach((o, i) => {
        if (o.slot < 0) {
          assert.equal(o.pay, 0);
          return;
        }
        assert.ok(!sold.has(o.slot));
        sold.add(o.slot);
        const q = quality[o.slot]!;
        assert.ok(o.pay <= q * bids[i]!.price + 1e-9, 'never above its own bid');
        assert.ok(o.pay >= q * reserves[o.slot]! - 1e-9, 'never below the reserve');
        assert.ok(o.pay <= bids[i]!.budget + 1e-9, 'never more than the budget');
      });
    }),
    { numRuns: NUM_RUNS },
  );
});

test('property: raising a bid never gets a worse slot', () => {
  fc.assert(
    fc.property(marketArb, fc.nat(9), fc.double({ min: 0, max: 50, noNaN: true }), ({ quality, bids, reserve, mode, tick }, who, raise) => {
      const i = who % bids.length;
      const reserves = quality.map(() => reserve);
      const prices = bids.map((b) => b.price);
      const budgets = bids.map(() => 1e9);
      const before = run(mode, quality, reserves, prices, budgets, tick)[i]!;
      const raised = [...prices];
      raised[i] = prices[i]! + raise;
      const after = run(mode, quality, reserves, raised, budgets, tick)[i]!;
      if (before.slot >= 0) assert.ok(after.slot >= 0 && after.slot <= before.slot, `slot ${before.slot} → ${after.slot}`);
    }),
    { numRuns: NUM_RUNS },
  );
});

test('property: under VCG with a uniform reserve, no bid raises a bidder\'s utility above truthful bidding', () => {
  fc.assert(
    fc.property(
      fc.array(fc.double({ min: 0.1, max: 10, noNaN: true }), { minLength: 1, maxLength: 4 }).map((q) => q.sort((a, b) => b - a)),
      fc.array(fc.double({ min: 0, max: 100, noNaN: true }), { minLength: 2, maxLength: 6 }),
      fc.double({ min: 0, max: 100, noNaN: true }),
      fc.double({ min: 0, max: 10, noNaN: true }),
      (quality, values, deviation, reserve) => {
        const reserves = quality.map(() => reserve);
        const utility = (bid: number): number => {
          const prices = [...values];
          prices[0] = bid;
          const o = run('vcg', quality, reserves, prices, undefined, 0)[0]!;
          return o.slot < 0 ? 0 : quality[o.slot]! * values[0]! - o.pay;
        };
        assert.ok(utility(deviation) <= utility(values[0]!) + 1e-6);
      },
    ),
    { numRuns: NUM_RUNS },
  );
});

test('ties rotate with the tick: no tied bidder waits forever', () => {
  // Far past the largest key too: a rotation that stopped after the first lap starved all but one.
  const wins = [0, 0, 0, 0, 0];
  for (let tick = 0; tick < 1000; tick++) wins[run('gsp', [1], [0], [5, 5, 5, 5, 5], undefined, tick).findIndex((o) => o.slot === 0)]! += 1;
  assert.deepEqual(wins, [200, 200, 200, 200, 200]);
});

test('bad bids get a code each and never win: NaN, negative, infinite, absurd, no budget', () => {
  const out = run('gsp', [1, 1], [0, 0], [Number.NaN, -1, Infinity, 1e15, 3, 2], [10, 10, 10, 10, 0, 10]);
  assert.deepEqual(out.map((o) => o.outcome), ['invalid', 'invalid', 'invalid', 'invalid', 'no-budget', 'won']);
});
