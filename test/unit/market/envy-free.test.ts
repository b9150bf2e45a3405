import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Clearing, type ClearingMode } from '../../../src/market/clearing.js';
import { EnvyFree } from '../../../src/market/envy-free.js';

const NUM_RUNS = process.env['CI'] === 'true' ? 1000 : 200;

function clear(mode: ClearingMode, quality: number[], reserve: number[], price: number[]) {
  const c = new Clearing(8);
  c.clear(mode, { quality, reserve }, { price, budget: price.map(() => 1e9), tieKey: price.map((_, i) => i), count: price.length }, 0);
  return price.map((_, i) => ({ slot: c.slotOf[i]!, pay: c.payment[i]! }));
}

test('worked example (EOS 2007 / Varian 2007): slots of 200 and 100 units, values 10, 4, 2 → payments 600, 200 and bids (10, 3, 2)', () => {
  const lef = new EnvyFree(4).compute([200, 100], [0, 0], [10, 4, 2]);
  assert.equal(lef.sold, 2);
  assert.deepEqual(Array.from(lef.payments), [600, 200]);
  assert.deepEqual(Array.from(lef.bids), [10, 3, 2]);
  assert.equal(lef.welfare, 200 * 10 + 100 * 4);
  // GSP at those bids charges exactly those payments.
  assert.deepEqual(clear('gsp', [200, 100], [0, 0], Array.from(lef.bids)).map((x) => x.pay), [600, 200, 0]);
});

test('a uniform reserve sits inside every term: reserve 3.5 → payments 750 and 350, bids (10, 3.75, 2), agent 2 indifferent between its slot and the one above', () => {
  const lef = new EnvyFree().compute([200, 100], [3.5, 3.5], [10, 4, 2]);
  assert.deepEqual(Array.from(lef.payments), [750, 350]);
  assert.deepEqual(Array.from(lef.bids), [10, 3.75, 2]);
  assert.equal(100 * 4 - 350, 200 * 4 - 750, 'lowest envy-free: indifferent');
  assert.deepEqual(clear('gsp', [200, 100], [3.5, 3.5], Array.from(lef.bids)).map((x) => x.pay), [750, 350, 0]);
});

test('a reserve ends the sale: the first value below its slot\'s reserve sells nothing more and bids its value', () => {
  const lef = new EnvyFree().compute([200, 100], [0, 5], [10, 4, 2]);
  assert.equal(lef.sold, 1);
  assert.deepEqual(Array.from(lef.payments), [800]);
  assert.deepEqual(Array.from(lef.bids), [10, 4, 2]);
  assert.equal(new EnvyFree().compute([1], [20], [10]).sold, 0);
});

test('unsorted values and qualities are refused', () => {
  assert.throws(() => new EnvyFree().compute([1, 2], [0, 0], [3, 2]), { code: 'MXW_ERR_INVALID_ARG' });
  assert.throws(() => new EnvyFree().compute([2, 1], [0, 0], [2, 3]), { code: 'MXW_ERR_INVALID_ARG' });
});

const instance = fc.record({
  quality: fc.array(fc.double({ min: 0.05, max: 1, noNaN: true }), { minLength: 1, maxLength: 5 }).map((q) => q.sort((a, b) => b - a)),
  values: fc.array(fc.double({ min: 0.01, max: 10, noNaN: true }), { minLength: 1, maxLength: 7 }).map((v) => v.sort((a, b) => b - a)),
  reserve: fc.double({ min: 0, max: 5, noNaN: true }),
  rise: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 5, maxLength: 5 }),
});

test('property: with reserves that rise along the slots, the LEF payments are the VCG payments at truthful bids (EOS Theorem 2, with a reserve)', () => {
  fc.assert(
    fc.property(instance, ({ quality, values, reserve, rise }) => {
      let r = reserve;
      const reserves = quality.map((_, k) => (r += k === 0 ? 0 : (rise[k] ?? 0)));
      const lef = new EnvyFree().compute(quality, reserves, values);
      const vcg = clear('vcg', quality, reserves, values);
      for (let k = 0; k < lef.sold; k++) {
        const winner = vcg.findIndex((x) => x.slot === k);
        assert.equal(winner, k, 'same assortative allocation');
        assert.ok(Math.abs(vcg[winner]!.pay - lef.payments[k]!) <= 1e-9 * Math.max(1, lef.payments[k]!), `slot ${k}: VCG ${vcg[winner]!.pay} vs LEF ${lef.payments[k]}`);
      }
      assert.equal(vcg.filter((x) => x.slot >= 0).length, lef.sold);
    }),
    { numRuns: NUM_RUNS },
  );
});

test('property: GSP at the LEF bids charges the LEF payments, and no agent envies the slot above or below at its price', () => {
  fc.assert(
    fc.property(instance, ({ quality, values, reserve, rise }) => {
      let r = reserve;
      const reserves = quality.map((_, k) => (r += k === 0 ? 0 : (rise[k] ?? 0)));
      const lef = new EnvyFree().compute(quality, reserves, values);
      const bids = Array.from(lef.bids);
      // Distinct values only: at equal values the tie-break, not the bids, orders the agents.
      fc.pre(values.every((v, i) => i === 0 || v < values[i - 1]!));
      fc.pre(bids.every((b, i) => i === 0 || b < bids[i - 1]!));
      const gsp = clear('gsp', quality, reserves, bids);
      const m = lef.sold;
      for (let k = 0; k < m; k++) {
        assert.equal(gsp[k]!.slot, k);
        assert.ok(Math.abs(gsp[k]!.pay - lef.payments[k]!) <= 1e-9 * Math.max(1, lef.payments[k]!));
        const u = values[k]! * quality[k]! - lef.payments[k]!;
        assert.ok(u >= -1e-9, 'individually rational');
        if (k > 0) assert.ok(u >= values[k]! * quality[k - 1]! - lef.payments[k - 1]! - 1e-9, `agent ${k} envies the slot above`);
        if (k + 1 < m) assert.ok(u >= values[k]! * quality[k + 1]! - lef.payments[k + 1]! - 1e-9, `agent ${k} envies the slot below`);
      }
      // The best loser would not buy the last slot at its price.
      if (m > 0 && m < values.length) assert.ok(values[m]! * quality[m - 1]! - lef.payments[m - 1]! <= 1e-9);
    }),
    { numRuns: NUM_RUNS },
  );
});
