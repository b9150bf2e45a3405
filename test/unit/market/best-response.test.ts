import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { BestResponder } from '../../../src/market/best-response.js';
import type { ClearingMode } from '../../../src/market/clearing.js';

const NUM_RUNS = process.env['CI'] === 'true' ? 500 : 100;
const GRID = 2000;

test('balanced bidding in the worked example: value 4 against bids 10 and 2 aims at the second slot and bids 3 (the LEF bid)', () => {
  const br = new BestResponder(4);
  const price = [10, 4, 2];
  const out = br.respond({ mode: 'gsp', offer: { quality: [200, 100], reserve: [0, 0] }, bids: { price, budget: [1e9, 1e9, 1e9], tieKey: [0, 1, 2], count: 3 }, self: 1, value: 4, tick: 0, rule: 'balanced', switchGain: 0 });
  assert.equal(out.slot, 1);
  assert.ok(Math.abs(out.bid - 3) < 1e-12, `bid ${out.bid}`);
  assert.equal(out.utility, 100 * 4 - 200);
});

test('under VCG the best response to any bids is the value', () => {
  const br = new BestResponder(4);
  const price = [3, 1.2, 0.9, 2.5];
  const out = br.respond({ mode: 'vcg', offer: { quality: [1, 0.8, 0.5], reserve: [0.2, 0.3, 0.4] }, bids: { price, budget: [1e9, 1e9, 1e9, 1e9], tieKey: [0, 1, 2, 3], count: 4 }, self: 1, value: 2, tick: 0, rule: 'truthful', switchGain: 0 });
  assert.equal(out.bid, 2);
});

test('inertia: a gain below switchGain keeps the current slot', () => {
  const br = new BestResponder(4);
  // Slots nearly equal: moving from slot 1 (pays the reserve 1) to slot 0 gains 0.5 %.
  const price = [3, 2, 0.5];
  const query = { mode: 'gsp', offer: { quality: [1.01, 1], reserve: [1, 1] }, bids: { price, budget: [1e9, 1e9, 1e9], tieKey: [0, 1, 2], count: 3 }, self: 1, value: 5, tick: 0, rule: 'balanced' } as const;
  const stay = br.respond({ ...query, switchGain: 0.05 });
  assert.equal(stay.slot, 1);
  const move = br.respond({ ...query, switchGain: 0 });
  assert.ok(move.utility >= stay.utility);
});

const instance = fc.record({
  mode: fc.constantFrom<ClearingMode>('gsp', 'vcg', 'uniform'),
  quality: fc.array(fc.double({ min: 0.05, max: 1, noNaN: true }), { minLength: 1, maxLength: 4 }).map((q) => q.sort((a, b) => b - a)),
  reserveBase: fc.double({ min: 0, max: 2, noNaN: true }),
  reserveSteps: fc.array(fc.double({ min: -0.3, max: 0.5, noNaN: true }), { minLength: 4, maxLength: 4 }),
  others: fc.array(fc.double({ min: 0, max: 5, noNaN: true }), { minLength: 1, maxLength: 5 }),
  value: fc.double({ min: 0.05, max: 5, noNaN: true }),
  current: fc.double({ min: 0, max: 1, noNaN: true }),
  tick: fc.nat(100),
});

test('property: the best response is as good as the best of a brute-force grid of bids in [0, value], is conservative, and earns what it says', () => {
  fc.assert(
    fc.property(instance, ({ mode, quality, reserveBase, reserveSteps, others, value, current, tick }) => {
      let r = reserveBase;
      const reserve = quality.map((_, k) => Math.max(0, (r += k === 0 ? 0 : (reserveSteps[k] ?? 0))));
      const price = [...others, current * value];
      const n = price.length;
      const self = n - 1;
      const view = { mode, offer: { quality, reserve }, bids: { price, budget: price.map(() => 1e9), tieKey: price.map((_, i) => i), count: n }, self, value, tick };
      const br = new BestResponder(8);
      const out = br.respond({ ...view, rule: mode === 'gsp' ? 'balanced' : 'truthful', switchGain: 0 });
      let best = Number.NEGATIVE_INFINITY;
      for (let g = 0; g <= GRID; g++) best = Math.max(best, br.utilityOf(view, (value * g) / GRID));
      const scale = 1e-9 * Math.max(1, value);
      assert.ok(out.utility >= best - scale, `best response ${out.utility} < grid ${best}`);
      assert.ok(out.bid >= 0 && out.bid <= value, `conservative: ${out.bid} in [0, ${value}]`);
      const realised = br.utilityOf(view, out.bid);
      assert.ok(Math.abs(realised - out.utility) <= scale, `the bid earns ${realised}, not ${out.utility}`);
    }),
    { numRuns: NUM_RUNS },
  );
});
