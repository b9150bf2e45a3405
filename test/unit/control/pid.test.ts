import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PidController, createPidParams } from '../../../src/control/pid.js';

/** A discrete first-order plant y' = (k·u − y)/τ, exact over a held step. */
function firstOrderPlant(k: number, tauS: number, h: number) {
  const a = Math.exp(-h / tauS);
  let y = 0;
  return { step: (u: number) => (y = a * y + (1 - a) * k * u), get y() { return y; } };
}

test('proportional-only output is Kp·(b·r − y), clamped to the limits', () => {
  const pid = new PidController(createPidParams({ kp: 0.1, tiS: Number.POSITIVE_INFINITY, sampleS: 0.01, outputMin: -1 }), 50);
  assert.ok(Math.abs(pid.update(45) - 0.5) < 1e-12);
  assert.equal(pid.update(0), 1, 'clamped at outputMax');
  assert.equal(pid.update(100), -1, 'clamped at outputMin');
  assert.equal(pid.integral, 0, 'no integral action means nothing winds up');
});

test('integral action removes the steady-state error on a first-order plant', () => {
  const h = 0.01;
  const plant = firstOrderPlant(2, 1, h);
  const pid = new PidController(createPidParams({ kp: 0.5, tiS: 0.8, sampleS: h, outputMax: 10 }), 1.5);
  let u = 0;
  for (let k = 0; k < 3000; k++) u = pid.update(plant.step(u));
  assert.ok(Math.abs(plant.y - 1.5) < 1e-3, `y = ${plant.y}`);
});

test('back-calculation bounds the integral while saturated, so the output leaves the limit at once', () => {
  const h = 0.01;
  const params = createPidParams({ kp: 0.5, tiS: 0.5, sampleS: h, trackingTimeS: 0.05 });
  const withAw = new PidController(params, 10);
  const noAw = new PidController({ ...params, trackingTimeS: 1e9 }, 10);
  for (let k = 0; k < 2000; k++) {
    withAw.update(0);
    noAw.update(0);
  }
  assert.ok(withAw.integral < 2, `integral wound up to ${withAw.integral}`);
  assert.ok(noAw.integral > 50, 'without tracking the integral winds up (control case)');
  // The measurement crosses the setpoint: the protected controller backs off immediately.
  assert.ok(withAw.update(12) < 1);
  assert.equal(noAw.update(12), 1);
});

test('setpoint and gain changes are bumpless', () => {
  const pid = new PidController(createPidParams({ kp: 0.2, tiS: 1, sampleS: 0.01 }), 60);
  pid.track(0.4, 58);
  const before = pid.update(58);
  pid.setSetpoint(70);
  const afterSetpoint = pid.update(58);
  assert.ok(Math.abs(afterSetpoint - before) < 0.05, `jump on setpoint change: ${afterSetpoint - before}`);
  pid.setParams(createPidParams({ kp: 0.6, tiS: 1, sampleS: 0.01 }));
  const afterGain = pid.update(58);
  assert.ok(Math.abs(afterGain - afterSetpoint) < 0.05, `jump on gain change: ${afterGain - afterSetpoint}`);
});

test('track() sets the next output for a known actuator position', () => {
  const pid = new PidController(createPidParams({ kp: 0.1, tiS: 2, sampleS: 0.01 }), 80);
  pid.track(0.7, 75);
  assert.ok(Math.abs(pid.update(75) - 0.7) < 0.01);
});

test('the derivative acts on the measurement: no kick when the setpoint steps', () => {
  const pid = new PidController(createPidParams({ kp: 0.1, tiS: 5, tdS: 0.5, sampleS: 0.01, outputMin: -10, outputMax: 10 }), 50);
  pid.track(0, 50);
  pid.update(50);
  const before = pid.update(50);
  pid.setSetpoint(60);
  const after = pid.update(50);
  assert.ok(Math.abs(after - before) < 0.01);
  // A measurement step, by contrast, moves the derivative term (filtered, so bounded).
  const kicked = pid.update(52);
  assert.ok(kicked < after - 0.2);
});

test('garbage measurements are refused and leave the output unchanged', () => {
  const pid = new PidController(createPidParams({ kp: 0.1, tiS: 1, sampleS: 0.01 }), 80);
  const u = pid.update(70);
  for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, '70' as unknown as number]) {
    assert.throws(() => pid.update(bad), { code: 'MXW_ERR_PID_MEASUREMENT' });
  }
  assert.equal(pid.output, u);
});

test('inconsistent parameters are refused with MXW_ERR_PID_PARAMS', () => {
  const bad = { code: 'MXW_ERR_PID_PARAMS' };
  assert.throws(() => createPidParams({ kp: 0, tiS: 1, sampleS: 0.01 }), bad);
  assert.throws(() => createPidParams({ kp: 1, tiS: -1, sampleS: 0.01 }), bad);
  assert.throws(() => createPidParams({ kp: 1, tiS: 1, sampleS: 0 }), bad);
  assert.throws(() => createPidParams({ kp: 1, tiS: 1, sampleS: 0.01, tdS: -1 }), bad);
  assert.throws(() => createPidParams({ kp: 1, tiS: 1, sampleS: 0.01, outputMin: 1, outputMax: 1 }), bad);
  assert.throws(() => createPidParams({ kp: 1, tiS: 1, sampleS: 0.01, setpointWeight: 2 }), bad);
  assert.throws(() => createPidParams({ kp: 1, tiS: 1, sampleS: 0.01, trackingTimeS: 0 }), bad);
  assert.throws(() => new PidController(createPidParams({ kp: 1, tiS: 1, sampleS: 0.01 }), Number.NaN), bad);
});
