import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { PidController, createPidParams } from '../../src/control/pid.js';

const NUM_RUNS = process.env['CI'] === 'true' ? 2000 : 300;

const paramsArb = fc.record({
  kp: fc.double({ min: 1e-4, max: 100, noNaN: true }),
  tiS: fc.oneof(fc.double({ min: 0.01, max: 100, noNaN: true }), fc.constant(Number.POSITIVE_INFINITY)),
  tdS: fc.double({ min: 0, max: 10, noNaN: true }),
  outputMin: fc.double({ min: -10, max: 0, noNaN: true }),
  span: fc.double({ min: 1e-3, max: 10, noNaN: true }),
  setpointWeight: fc.double({ min: 0, max: 1, noNaN: true }),
});

function make(p: { kp: number; tiS: number; tdS: number; outputMin: number; span: number; setpointWeight: number }, setpoint: number) {
  return new PidController(
    createPidParams({ kp: p.kp, tiS: p.tiS, tdS: p.tdS, sampleS: 0.01, outputMin: p.outputMin, outputMax: p.outputMin + p.span, setpointWeight: p.setpointWeight }),
    setpoint,
  );
}

test('the output always stays within its limits, whatever the measurements', () => {
  fc.assert(
    fc.property(paramsArb, fc.double({ min: -1e3, max: 1e3, noNaN: true }), fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 200 }), (p, setpoint, ys) => {
      const pid = make(p, setpoint);
      for (const y of ys) {
        const u = pid.update(y);
        assert.ok(u >= p.outputMin && u <= p.outputMin + p.span, `${u} outside limits`);
        assert.ok(Number.isFinite(pid.integral));
      }
    }),
    { numRuns: NUM_RUNS },
  );
});

test('the response is monotone: from the same state, a hotter reading never allows more compute', () => {
  fc.assert(
    fc.property(
      paramsArb,
      fc.array(fc.double({ min: 0, max: 150, noNaN: true }), { minLength: 0, maxLength: 50 }),
      fc.double({ min: 0, max: 150, noNaN: true }),
      fc.double({ min: 0, max: 50, noNaN: true }),
      (p, history, y, delta) => {
        const a = make(p, 80);
        const b = make(p, 80);
        for (const h of history) {
          a.update(h);
          b.update(h);
        }
        assert.ok(b.update(y + delta) <= a.update(y) + 1e-9);
      },
    ),
    { numRuns: NUM_RUNS },
  );
});

test('after any history, a controller held at the setpoint stops drifting (bounded integral)', () => {
  fc.assert(
    fc.property(paramsArb, fc.array(fc.double({ min: -500, max: 500, noNaN: true }), { maxLength: 100 }), (p, history) => {
      const pid = make({ ...p, tdS: 0 }, 80);
      for (const h of history) pid.update(h);
      let previous = pid.update(80);
      for (let k = 0; k < 10; k++) {
        const u = pid.update(80);
        assert.ok(Math.abs(u - previous) < 1e-9 + 1e-9 * Math.abs(u));
        previous = u;
      }
    }),
    { numRuns: NUM_RUNS },
  );
});
