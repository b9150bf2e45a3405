import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tunePid } from '../../../src/control/tuning.js';

const limits = { sampleS: 0.01, outputMin: 0, outputMax: 1 };
const model = { gain: 50, tauS: 1, deadTimeS: 0.1 };

test('SIMC: Kc = τ/(k(τc+θ)), Ti = min(τ, 4(τc+θ)), τc = θ by default', () => {
  const t = tunePid(model, { rule: 'simc', closedLoopTauS: null, ...limits });
  assert.equal(t.closedLoopTauS, 0.1);
  assert.ok(Math.abs(t.params.kp - 1 / (50 * 0.2)) < 1e-12);
  assert.ok(Math.abs(t.params.tiS - 0.8) < 1e-12);
  assert.equal(t.params.tdS, 0);
  assert.equal(t.params.trackingTimeS, 0.1);
  const slow = tunePid(model, { rule: 'simc', closedLoopTauS: 1, ...limits });
  assert.ok(Math.abs(slow.params.tiS - 1) < 1e-12, 'Ti = τ when 4(τc+θ) > τ');
});

test('IMC-PID: Kc = (2τ+θ)/(k(2τc+θ)), Ti = τ+θ/2, Td = τθ/(2τ+θ)', () => {
  const t = tunePid(model, { rule: 'imc', closedLoopTauS: 0.2, ...limits });
  assert.ok(Math.abs(t.params.kp - 2.1 / (50 * 0.5)) < 1e-12);
  assert.ok(Math.abs(t.params.tiS - 1.05) < 1e-12);
  assert.ok(Math.abs(t.params.tdS - 0.1 / 2.1) < 1e-12);
});

test('a plant without dead time gets τc = τ/10', () => {
  const t = tunePid({ ...model, deadTimeS: 0 }, { rule: 'simc', closedLoopTauS: null, ...limits });
  assert.equal(t.closedLoopTauS, 0.1);
  assert.equal(t.params.trackingTimeS, null);
});

test('plants the rules cannot use are refused', () => {
  const bad = { code: 'MXW_ERR_PID_PARAMS' };
  const options = { rule: 'simc' as const, closedLoopTauS: null, ...limits };
  assert.throws(() => tunePid({ ...model, gain: -1 }, options), bad);
  assert.throws(() => tunePid({ ...model, tauS: 0 }, options), bad);
  assert.throws(() => tunePid({ ...model, deadTimeS: Number.NaN }, options), bad);
  assert.throws(() => tunePid(model, { ...options, closedLoopTauS: -1 }), bad);
});
