import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DEFAULT_PRICING, ThermalPricing, reservePrice } from '../../../src/market/pricing.js';
import { DESIGN_COUPLING_4_CORES } from '../../../src/physics/coupling.js';

test('the design example: 4-core K, GPU at 95 %, cores at ambient → core 0 ≈ 8×, core 3 ≈ 1.5× (within 10 %)', () => {
  const pricing = new ThermalPricing(DESIGN_COUPLING_4_CORES);
  const m = new Float64Array(4);
  pricing.multipliers([25, 25, 25, 25], 0.95, m);
  assert.ok(Math.abs(m[0]! / 8 - 1) <= 0.1, `core 0: ${m[0]!.toFixed(2)}×`);
  assert.ok(Math.abs(m[3]! / 1.5 - 1) <= 0.1, `core 3: ${m[3]!.toFixed(2)}×`);
  assert.ok(m[0]! > m[1]! && m[1]! > m[2]! && m[2]! > m[3]!, 'near the GPU is dear, far is cheap');
});

test('the multiplier is 1 at ambient with an idle GPU, rises with temperature, and is unbounded at the throttle point', () => {
  const pricing = new ThermalPricing(DESIGN_COUPLING_4_CORES);
  const m = new Float64Array(4);
  pricing.multipliers([25, 25, 25, 25], 0, m);
  assert.deepEqual([...m], [1, 1, 1, 1]);
  pricing.multipliers([94.99, 25, 25, 25], 0, m);
  assert.ok(m[0]! > 900, 'near the throttle point a core is very dear (headroom floor 1e-3 keeps it finite)');
  assert.ok(m[1]! > m[3]!, 'a hot neighbour raises the price of the cores coupled to it, more for closer ones');
  fc.assert(
    fc.property(fc.double({ min: 25, max: 94, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (t, dt) => {
      const a = new Float64Array(4);
      const b = new Float64Array(4);
      pricing.multipliers([t, 30, 30, 30], 0.5, a);
      pricing.multipliers([Math.min(t + dt, 94.9), 30, 30, 30], 0.5, b);
      assert.ok(b[0]! >= a[0]! && b[1]! >= a[1]!, 'monotone in temperature');
      assert.ok(a.every((v) => v >= 1));
    }),
  );
});

test('reserve = energy cost of the quantum × multiplier; garbage is refused', () => {
  assert.equal(reservePrice(12, 0.01, 2), 0.24);
  assert.throws(() => reservePrice(Number.NaN, 0.01, 1), { code: 'MXW_ERR_INVALID_ARG' });
  assert.throws(() => new ThermalPricing(DESIGN_COUPLING_4_CORES, { ...DEFAULT_PRICING, throttleC: 20 }), { code: 'MXW_ERR_INVALID_ARG' });
  const pricing = new ThermalPricing(DESIGN_COUPLING_4_CORES);
  assert.throws(() => { pricing.multipliers([25, 25, 25, Number.NaN], 0, new Float64Array(4)); }, { code: 'MXW_ERR_INVALID_ARG' });
  assert.throws(() => { pricing.multipliers([25, 25, 25, 25], 1.5, new Float64Array(4)); }, { code: 'MXW_ERR_INVALID_ARG' });
});
