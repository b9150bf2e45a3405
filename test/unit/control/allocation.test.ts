import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { CoupledAllocation } from '../../../src/control/allocation.js';
import { DESIGN_COUPLING_4_CORES } from '../../../src/physics/coupling.js';

test('with no coupling each core gets what its own controller asks', () => {
  const allocation = new CoupledAllocation([[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
  const allowed = new Float64Array(3);
  allocation.allocate([0.2, 0.7, 1], allowed);
  assert.deepEqual([...allowed].map((v) => Number(v.toFixed(12))), [0.2, 0.7, 1]);
});

test('a hot plane throttles its neighbours in proportion to their coupling', () => {
  const allocation = new CoupledAllocation(DESIGN_COUPLING_4_CORES);
  const allowed = new Float64Array(4);
  allocation.allocate([1, 0, 1, 1], allowed);
  // Plane 1 asks for nothing: core j may run 1 − K[1][j].
  assert.deepEqual([...allowed].map((v) => Number(v.toFixed(10))), [0.15, 0, 0.25, 0.5]);
});

test('allocation properties: within [0, own request], monotone in every request', () => {
  const allocation = new CoupledAllocation(DESIGN_COUPLING_4_CORES);
  const request = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 4, maxLength: 4 });
  fc.assert(
    fc.property(request, fc.nat(3), fc.double({ min: 0, max: 1, noNaN: true }), (u, which, more) => {
      const a = new Float64Array(4);
      allocation.allocate(u, a);
      a.forEach((v, j) => { assert.ok(v >= 0 && v <= u[j]! + 1e-12); });
      const raised = [...u];
      raised[which] = Math.min(1, u[which]! + more);
      const b = new Float64Array(4);
      allocation.allocate(raised, b);
      b.forEach((v, j) => { assert.ok(v >= a[j]! - 1e-12, 'asking for more never allows less'); });
    }),
  );
});

test('bad coupling matrices are refused', () => {
  assert.throws(() => new CoupledAllocation([[1, 0.5], [0.5]]), { code: 'MXW_ERR_INVALID_ARG' });
  assert.throws(() => new CoupledAllocation([[1, Number.NaN], [0.5, 1]]), { code: 'MXW_ERR_INVALID_ARG' });
});
