import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeededRandom } from '../../../src/internal/seeded-random.js';
import { dominantOscillation, windowStats } from '../../../src/simulation/oscillation.js';

function noise(n: number, seed: number, sigma = 1): Float64Array {
  const out = new Float64Array(n);
  new SeededRandom(seed).fillNormal(out, n);
  return out.map((v) => v * sigma);
}

test('a sine in noise: its period and amplitude are found', () => {
  const dt = 0.1;
  const e = noise(3000, 1, 0.3);
  const x = e.map((v, i) => 50 + Math.sin((2 * Math.PI * i * dt) / 2.5) + v);
  const o = dominantOscillation(x, dt);
  assert.ok(o !== null);
  assert.ok(Math.abs(o.periodS - 2.5) < 0.05, `period ${o.periodS}`);
  assert.ok(Math.abs(o.amplitude - 1) < 0.15, `amplitude ${o.amplitude}`);
  assert.ok(o.strength > 0.7);
});

test('white noise has no period (several seeds)', () => {
  for (let seed = 1; seed <= 20; seed++) assert.equal(dominantOscillation(noise(3000, seed), 0.1), null, `seed ${seed}`);
});

test('red noise (AR(1), φ = 0.9) and a trend have no period', () => {
  for (let seed = 1; seed <= 10; seed++) {
    const e = noise(3000, seed);
    const x = new Float64Array(3000);
    for (let i = 1; i < x.length; i++) x[i] = 0.9 * x[i - 1]! + e[i]!;
    assert.equal(dominantOscillation(x, 0.1), null, `seed ${seed}`);
  }
  assert.equal(dominantOscillation(Float64Array.from({ length: 500 }, (_, i) => 3 + 0.01 * i), 0.1), null);
  assert.equal(dominantOscillation(new Float64Array(500).fill(7), 0.1), null);
});

test('segments find a fast cycle on a slow wander that hides it from the whole-series autocorrelation', () => {
  const dt = 0.1;
  const e = noise(3000, 3, 0.2);
  // A slow swing of ±5 with a 200 s period, and a 0.4 s cycle of ±1 on top.
  const x = e.map((v, i) => 5 * Math.sin((2 * Math.PI * i * dt) / 200) + Math.sin((2 * Math.PI * i * dt) / 0.4) + v);
  const whole = dominantOscillation(x, dt);
  assert.ok(whole === null || Math.abs(whole.periodS - 0.4) > 0.05, 'the wander dominates the whole series');
  const fast = dominantOscillation(x, dt, { segment: 100 });
  assert.ok(fast !== null && Math.abs(fast.periodS - 0.4) < 0.03, `segmented: ${JSON.stringify(fast)}`);
});

test('window means and variances; NaN samples are skipped', () => {
  const { means, variances } = windowStats([1, 3, 5, 5, Number.NaN, 9, 100], 0, 3);
  assert.deepEqual(Array.from(means), [3, 7]);
  assert.ok(Math.abs(variances[0]! - 8 / 3) < 1e-12);
  assert.equal(variances[1], 4);
  assert.throws(() => windowStats([1], 0, 0), { code: 'MXW_ERR_INVALID_ARG' });
});
