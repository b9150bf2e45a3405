import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { BID_OUTCOMES, Clearing, type ClearingMode } from '../../../src/market/clearing.js';

const NUM_RUNS = process.env['CI'] === 'true' ? 1000 : 200;

function run(mode: ClearingMode, quality: number[], reserve: number[], price: number[], budget?: number[], tick = 0) {
  const c = new Clearing(4);
  const n = price.length;
  c.clear(mode, { quality, reserve }, { price, budget: budget ?? price.map(() => 1e9), tieKey: price.map((_, i) => i), count: n }, tick);
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

/**
 * Independent check of VCG: Myerson's payment identity p = q·e − ∫₀^e x(z) dz, with x(z) found
 * by clearing the market again with the bidder's bid set to z. x is constant between the
 * others' bids and the reserves, so one clearing per interval (at its midpoint) integrates it
 * exactly.
 */
function thresholdPayment(quality: number[], reserves: number[], prices: number[], who: number): { slot: number; pay: number } {
  const own = run('vcg', quality, reserves, prices)[who]!;
  if (own.slot < 0) return { slot: -1, pay: 0 };
  const bid = prices[who]!;
  const cuts = [...new Set([0, bid, ...prices.filter((_, i) => i !== who), ...reserves].filter((v) => v >= 0 && v <= bid))].sort((a, b) => a - b);
  let area = 0;
  for (let i = 1; i < cuts.length; i++) {
    const lo = cuts[i - 1]!;
    const hi = cuts[i]!;
    const at = [...prices];
    at[who] = (lo + hi) / 2;
    const o = run('vcg', quality, reserves, at)[who]!;
    if (o.slot >= 0) area += quality[o.slot]! * (hi - lo);
  }
  return { slot: own.slot, pay: quality[own.slot]! * bid - area };
}

test('VCG with a reserve: the counterexample where a floor applied once made overbidding pay (q = [1, 0.5], r = 10, rivals 15 and 5, value 12)', () => {
  const q = [1, 0.5];
  const r = [10, 10];
  const utility = (bid: number): number => {
    const o = run('vcg', q, r, [bid, 15, 5])[0]!;
    return o.slot < 0 ? 0 : q[o.slot]! * 12 - o.pay;
  };
  // Truthful: slot 1, paying 0.5 · max(10, 5) = 5.
  assert.deepEqual(run('vcg', q, r, [12, 15, 5]).map((o) => [o.slot, o.pay]), [[1, 5], [0, 11], [-1, 0]]);
  // Overbidding to 16 takes slot 0 at (1 − 0.5) · max(10, 15) + 0.5 · max(10, 5) = 12.5, not 10.
  assert.deepEqual(run('vcg', q, r, [16, 15, 5]).map((o) => [o.slot, o.pay]), [[0, 12.5], [1, 5], [-1, 0]]);
  assert.equal(utility(12), 1);
  assert.ok(utility(16) < utility(12), `overbidding earns ${utility(16)} against ${utility(12)}`);
});

test('VCG with reserves that differ per slot: each unit of quality is priced at the lowest bid that still wins it', () => {
  // Rising reserves (the usual order: cooler, cheaper slots first): the reserve sits in every term.
  // Slot 0's winner: (1 − 0.6) · max(2, 8) + (0.6 − 0.3) · max(4, 7) + 0.3 · max(6, 0) = 3.2 + 2.1 + 1.8;
  // slot 1's: (0.6 − 0.3) · max(4, 7) + 0.3 · max(6, 0) = 3.9; slot 2's: 0.3 · max(6, 0).
  assert.deepEqual(run('vcg', [1, 0.6, 0.3], [2, 4, 6], [9, 8, 7]).map((o) => [o.slot, Number(o.pay.toFixed(9))]), [[0, 7.1], [1, 3.9], [2, 1.8]]);
  // A reserve that falls along the slots: the winner of slot 0 would have won slot 1 (0.9) at a
  // bid of 1, so it pays 0.1 · 15 + 0.9 · 1 = 2.4, below slot 0's own reserve per unit (10).
  assert.deepEqual(run('vcg', [1, 0.9], [10, 1], [20, 15]).map((o) => [o.slot, Number(o.pay.toFixed(9))]), [[0, 2.4], [1, 0.9]]);
  // And where the rival moved up would not clear the dearer slot, the sale stops there: bidding
  // below 5 wins nothing, so slot 0 costs 1 · max(1, 5) = 5 (slot 1 is 10 per unit, never sold).
  assert.deepEqual(run('vcg', [1, 0.5], [1, 10], [12, 5]).map((o) => [o.slot, o.pay]), [[0, 5], [-1, 0]]);
});

/** Markets that reach the corner: several slots, a reserve above some bids, the best loser below it. */
const reserveCornerArb = fc
  .record({
    quality: fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 2, maxLength: 5 }).map((q) => q.map((x) => x / 4).sort((a, b) => b - a)),
    reserve: fc.integer({ min: 1, max: 40 }),
    perSlot: fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 5, maxLength: 5 }),
    shape: fc.constantFrom('uniform', 'rising', 'any'),
    above: fc.array(fc.integer({ min: 0, max: 60 }), { minLength: 1, maxLength: 4 }),
    below: fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 0, maxLength: 3 }),
    value: fc.integer({ min: 0, max: 100 }),
  })
  .map(({ quality, reserve, perSlot, shape, above, below, value }) => {
    const slotReserves = quality.map((_, s) => (shape === 'uniform' ? reserve : shape === 'rising' ? reserve + s * ((perSlot[0] ?? 0) % 7) : (perSlot[s] ?? 0)));
    // Rivals above the (first) reserve and rivals below it: the best loser is often below the reserve.
    const rivals = [...above.map((b) => reserve + b), ...below.map((b) => (b * reserve) / 41)];
    return { quality, reserves: slotReserves, rivals, value };
  });

test('property: VCG payments equal the threshold (Myerson) payments, with uniform, rising and arbitrary per-slot reserves', () => {
  let corner = 0;
  fc.assert(
    fc.property(reserveCornerArb, ({ quality, reserves, rivals, value }) => {
      const prices = [value, ...rivals];
      const out = run('vcg', quality, reserves, prices);
      const winners = out.filter((o) => o.slot >= 0).length;
      const bestLoser = Math.max(0, ...prices.filter((_, i) => out[i]!.slot < 0));
      if (winners >= 2 && bestLoser < Math.max(...reserves.slice(0, winners))) corner++;
      prices.forEach((_, i) => {
        const want = thresholdPayment(quality, reserves, prices, i);
        assert.equal(out[i]!.slot, want.slot);
        assert.ok(Math.abs(out[i]!.pay - want.pay) < 1e-6, `bidder ${i}: ${out[i]!.pay} vs threshold ${want.pay}`);
      });
    }),
    { numRuns: NUM_RUNS },
  );
  assert.ok(corner > NUM_RUNS / 10, `the generator reached ≥ 2 winners with the best loser below a reserve in ${corner} of ${NUM_RUNS} runs`);
});

test('property: VCG is truthful with any reserves: no deviation, to any rival bid or reserve ± ε, beats bidding the value', () => {
  fc.assert(
    fc.property(reserveCornerArb, fc.integer({ min: 0, max: 120 }), ({ quality, reserves, rivals, value }, free) => {
      const utility = (bid: number): number => {
        const o = run('vcg', quality, reserves, [bid, ...rivals])[0]!;
        return o.slot < 0 ? 0 : quality[o.slot]! * value - o.pay;
      };
      const truthful = utility(value);
      for (const point of [free, ...rivals, ...reserves]) {
        for (const d of [point - 1e-3, point, point + 1e-3]) if (d >= 0) assert.ok(utility(d) <= truthful + 1e-6, `bid ${d}: ${utility(d)} > truthful ${truthful}`);
      }
    }),
    { numRuns: NUM_RUNS },
  );
});
