import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fillOffer, reorderOffer } from '../../../src/heat-price/offer-order.js';
import { Clearing } from '../../../src/market/clearing.js';
import { SeededRandom } from '../../../src/internal/seeded-random.js';

test('a clearly better core moves ahead: more allowance first, then the cheaper reserve', () => {
  const order = [0, 1, 2];
  reorderOffer(order, [0.5, 1, 1], [0.3, 0.5, 0.4]);
  assert.deepEqual(order, [2, 1, 0], 'cores 1 and 2 have more allowance; of those, 2 is cheaper');
  reorderOffer(order, [1, 1, 1], [0.3, 0.5, 0.4]);
  assert.deepEqual(order, [0, 2, 1]);
});

test('noise below the tolerances never reorders near-identical cores (each reorder moved winners between cores)', () => {
  const seeded = new SeededRandom(7);
  const random = (): number => seeded.uniform();
  const order = [0, 1];
  let changes = 0;
  let last = order.join();
  for (let tick = 0; tick < 10_000; tick++) {
    const allowance = [0.8 + 0.02 * (random() - 0.5), 0.8 + 0.02 * (random() - 0.5)];
    const reserve = [0.75 * (1 + 0.01 * (random() - 0.5)), 0.75 * (1 + 0.01 * (random() - 0.5))];
    reorderOffer(order, allowance, reserve);
    if (order.join() !== last) changes++;
    last = order.join();
  }
  assert.equal(changes, 0);
  // The plain sort it replaced flips on most of those ticks.
  let sortFlips = 0;
  let previous = '0,1';
  const seeded2 = new SeededRandom(7);
  const rnd = (): number => seeded2.uniform();
  for (let tick = 0; tick < 1000; tick++) {
    const allowance = [0.8 + 0.02 * (rnd() - 0.5), 0.8 + 0.02 * (rnd() - 0.5)];
    const reserve = [0.75, 0.75];
    const sorted = [0, 1].sort((a, b) => (allowance[b] ?? 0) - (allowance[a] ?? 0) || (reserve[a] ?? 0) - (reserve[b] ?? 0)).join();
    if (sorted !== previous) sortFlips++;
    previous = sorted;
  }
  assert.ok(sortFlips > 300, String(sortFlips));
});

test('a permutation of many cores is put in order', () => {
  const order = [5, 3, 0, 4, 1, 2];
  const allowance = [1, 1, 1, 1, 1, 1];
  const reserve = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6];
  reorderOffer(order, allowance, reserve);
  assert.deepEqual(order, [0, 1, 2, 3, 4, 5]);
});

test('the offer stays valid for the clearing when the kept order is not sorted by allowance: the later slot is capped', () => {
  const out = { quality: new Float64Array(2), reserve: new Float64Array(2), unit: new Int32Array(2) };
  // Core 1 has 0.04 more allowance than core 0: within the tolerance, so the order [0, 1] stands.
  const order = [0, 1];
  reorderOffer(order, [0.8, 0.84], [0.7, 0.7]);
  assert.deepEqual(order, [0, 1]);
  assert.equal(fillOffer(order, [0.8, 0.84], [0.7, 0.7], 0.05, out), 2);
  assert.deepEqual([...out.quality], [0.8, 0.8]);
  assert.deepEqual([...out.unit], [0, 1]);
  // A core under the minimum allowance is not offered.
  assert.equal(fillOffer([0, 1], [0.8, 0.01], [0.7, 0.7], 0.05, out), 1);
});

test('over noisy ticks, every offer is accepted by the clearing (an unsorted one made the daemon skip the tick)', () => {
  const seeded = new SeededRandom(11);
  const clearing = new Clearing(8);
  const out = { quality: new Float64Array(4), reserve: new Float64Array(4), unit: new Int32Array(4) };
  const order = [0, 1, 2, 3];
  const price = Float64Array.from([2, 1.5, 1, 0.5]);
  const budget = Float64Array.from([100, 100, 100, 100]);
  const bids = { price, budget, tieKey: Int32Array.from([0, 1, 2, 3]), count: 4 };
  for (let tick = 0; tick < 5000; tick++) {
    const allowance = Array.from({ length: 4 }, () => 0.5 + 0.3 * seeded.uniform());
    const reserve = Array.from({ length: 4 }, () => 0.6 + 0.05 * seeded.uniform());
    reorderOffer(order, allowance, reserve);
    const slots = fillOffer(order, allowance, reserve, 0.05, out);
    assert.doesNotThrow(() => { clearing.clear('gsp', { quality: out.quality.subarray(0, slots), reserve: out.reserve.subarray(0, slots) }, bids, tick); });
  }
});
