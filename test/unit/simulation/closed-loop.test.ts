import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../../src/config/load.js';
import { coreCoupling, coreLoopModels } from '../../../src/control/thermal-loop.js';
import { tunePid } from '../../../src/control/tuning.js';
import { identifyPlant } from '../../../src/identification/identify-plant.js';
import { ThermalTwin } from '../../../src/physics/thermal-twin.js';
import { loopMetrics, runClosedLoop } from '../../../src/simulation/closed-loop.js';
import { runTwinDemo } from '../../../src/simulation/twin-demo.js';
import { createTwinStepPlant } from '../../../src/simulation/twin-step-plant.js';

const config = loadConfig();

async function tunedTwin(rule: 'simc' | 'imc', cores = 4) {
  const twin = new ThermalTwin({ ...config.twin, cores }, config.twin.stepS);
  const identified = await identifyPlant(createTwinStepPlant(twin), config.calibration);
  const pid = coreLoopModels(identified).map((m) => tunePid(m, { rule, closedLoopTauS: null, sampleS: 0.01, outputMin: 0, outputMax: 1 }).params);
  const tau = Math.max(...identified.planes.filter((p) => p.kind === 'core').map((p) => p.tauS.value));
  twin.reset();
  return { twin, pid, tau, coupling: coreCoupling(identified) };
}

for (const cores of [4, 8]) {
test(`${cores} cores stepped to full load, setpoint 80 °C: overshoot ≤ 2 °C, settled within 3τ (gains from the identified plant)`, async () => {
  const { twin, pid, tau, coupling } = await tunedTwin('simc', cores);
  const timeline = runClosedLoop({ twin, pid, coupling, setpointC: 80, durationS: 12, demand: (t) => (t >= 1 ? 1 : 0) });
  const m = loopMetrics(timeline, 80, 1);
  assert.ok(m.overshootC <= 2, `overshoot ${m.overshootC.toFixed(2)} °C`);
  assert.ok(m.settlingTimeS !== null && m.settlingTimeS <= 3 * tau, `settling ${String(m.settlingTimeS)} s vs 3τ = ${3 * tau} s`);
  // Without control the hottest core would reach ~100 °C: the controller really throttles.
  const lastAllowed = timeline.allowed.map((a) => a[a.length - 1]!);
  assert.ok(Math.min(...lastAllowed) < 0.9);
});
}

test('after a long saturation there is no wind-up overshoot', async () => {
  const { twin, pid, coupling } = await tunedTwin('simc');
  // Half demand keeps every core below 80 °C with everything allowed (saturated) for 30 s.
  const timeline = runClosedLoop({ twin, pid, coupling, setpointC: 80, durationS: 40, demand: (t) => (t >= 30 ? 1 : 0.5) });
  const saturated = timeline.allowed.every((a) => a[Math.round(29 / 0.01)]! === 1);
  assert.ok(saturated, 'the controllers were saturated before the step');
  const m = loopMetrics(timeline, 80, 30);
  assert.ok(m.overshootC <= 2, `wind-up overshoot ${m.overshootC.toFixed(2)} °C`);
  assert.ok(m.settlingTimeS !== null);
});

test('the IMC-PID rule also holds the limit without overshoot', async () => {
  const { twin, pid, coupling } = await tunedTwin('imc');
  const m = loopMetrics(runClosedLoop({ twin, pid, coupling, setpointC: 80, durationS: 12, demand: (t) => (t >= 1 ? 1 : 0) }), 80, 1);
  assert.ok(m.overshootC <= 2, `overshoot ${m.overshootC.toFixed(2)} °C`);
});

test('the twin demo reports its timeline, gains and metrics', async () => {
  const report = await runTwinDemo(config);
  assert.equal(report.tunings.length, 4);
  assert.equal(report.timeline.length, 24);
  assert.ok(report.metrics.overshootC <= 2);
  assert.ok(report.energyJ > 0);
  await assert.rejects(runTwinDemo(loadConfig({ flags: [{ control: { rateHz: 50 } }] })), { code: 'MXW_ERR_INVALID_ARG' });
});

test('closed-loop inputs are validated', () => {
  const twin = new ThermalTwin(config.twin, 0.01);
  assert.throws(() => runClosedLoop({ twin, pid: [], coupling: [], setpointC: 80, durationS: 1, demand: () => 1 }), { code: 'MXW_ERR_INVALID_ARG' });
});
