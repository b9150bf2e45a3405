import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DESIGN_COUPLING_4_CORES } from '../../../src/physics/coupling.js';
import { ThermalTwin } from '../../../src/physics/thermal-twin.js';
import { DEFAULT_TWIN_PARAMS } from '../../../src/physics/twin-params.js';
import { linearParams } from '../../helpers/twin.js';

/** The exact continuous-time response of plane i to a step of source j at t = 0. */
function analyticRise(twin: ThermalTwin, plane: number, source: number, t: number): number {
  const info = twin.planes[plane]!;
  const dynamic = source < twin.coreCount ? twin.params.core.dynamicW : twin.params.gpuPlane.dynamicW;
  const k = info.kind === 'chassis' ? 1 : twin.params.coupling[plane]![source]!;
  if (t < info.deadTimeS) return 0;
  return info.resistanceKPerW * k * dynamic * (1 - Math.exp(-(t - info.deadTimeS) / info.tauS));
}

for (const [stepS, deadTimeS] of [
  [0.01, 0.1],
  [0.01, 0.0137],
  [0.003, 0.1],
  [0.05, 0.12],
] as const) {
  test(`a step response is exact at dt = ${stepS} s with dead time ${deadTimeS} s (zero-order hold)`, () => {
    const twin = new ThermalTwin(linearParams({ core: { ...linearParams().core, deadTimeS } }), stepS);
    const before = twin.planes.map((p) => twin.trueTemperature(p.index));
    twin.setUtilisation(1, 1);
    let worst = 0;
    for (let k = 1; k <= Math.round(6 / stepS); k++) {
      twin.step();
      for (const plane of twin.planes) {
        const expected = (before[plane.index] ?? 0) + analyticRise(twin, plane.index, 1, twin.timeS);
        worst = Math.max(worst, Math.abs(twin.trueTemperature(plane.index) - expected));
      }
    }
    assert.ok(worst < 1e-9, `largest deviation from the analytic response: ${worst} °C`);
  });
}

test('results do not depend on the step size where they coincide', () => {
  const fine = new ThermalTwin(linearParams(), 0.001);
  const coarse = new ThermalTwin(linearParams(), 0.1);
  for (const twin of [fine, coarse]) {
    twin.setUtilisation(0, 0.7);
    twin.setUtilisation(4, 0.5);
    twin.advance(3);
  }
  for (const plane of fine.planes) {
    assert.ok(Math.abs(fine.trueTemperature(plane.index) - coarse.trueTemperature(plane.index)) < 1e-8, plane.name);
  }
});

test('idle steady state is R·Σ K·P above ambient and settle() agrees with a long run', () => {
  const twin = new ThermalTwin(linearParams(), 0.01);
  const idle = [1.5, 1.5, 1.5, 1.5, 15];
  for (let i = 0; i < twin.sourceCount; i++) {
    const row = twin.params.coupling[i]!;
    const expected = 25 + twin.planes[i]!.resistanceKPerW * row.reduce((sum, k, j) => sum + k * idle[j]!, 0);
    assert.ok(Math.abs(twin.trueTemperature(i) - expected) < 1e-9);
  }
  const leaky = new ThermalTwin(DEFAULT_TWIN_PARAMS, 0.01);
  leaky.setUtilisation(2, 1);
  leaky.advance(400);
  const afterRun = leaky.planes.map((p) => leaky.trueTemperature(p.index));
  leaky.settle();
  leaky.planes.forEach((p) => { assert.ok(Math.abs(leaky.trueTemperature(p.index) - afterRun[p.index]!) < 1e-3, p.name); });
});

test('leakage grows with temperature, so the same work costs more energy when hot', () => {
  const cool = new ThermalTwin({ ...DEFAULT_TWIN_PARAMS, ambientC: 20 }, 0.01);
  const hot = new ThermalTwin({ ...DEFAULT_TWIN_PARAMS, ambientC: 45 }, 0.01);
  for (const twin of [cool, hot]) {
    twin.setUtilisation(0, 1);
    twin.advance(5);
  }
  assert.ok(hot.sourcePower(0) > cool.sourcePower(0));
  assert.ok(hot.sourceEnergy(0) > cool.sourceEnergy(0));
  assert.ok(Math.abs(cool.packagePower() - [0, 1, 2, 3].reduce((s, i) => s + cool.sourcePower(i), 0)) < 1e-12);
});

test('the same seed gives a bit-identical run; another seed does not', () => {
  const run = (seed: number): Float64Array => {
    const twin = new ThermalTwin({ ...DEFAULT_TWIN_PARAMS, seed }, 0.01);
    const out = new Float64Array(600 * twin.planes.length);
    const reading = new Float64Array(twin.planes.length);
    for (let k = 0; k < 600; k++) {
      twin.setUtilisation(k % 4, ((k * 7919) % 100) / 100);
      twin.step();
      twin.readSensors(reading);
      out.set(reading, k * twin.planes.length);
    }
    return out;
  };
  assert.deepEqual(run(7), run(7));
  assert.notDeepEqual(run(7), run(8));
});

test('sensor noise has the configured σ and readings sit on the quantisation grid', () => {
  const twin = new ThermalTwin({ ...DEFAULT_TWIN_PARAMS, sensor: { noiseC: 0.5, quantumC: 0 } }, 0.01);
  const reading = new Float64Array(twin.planes.length);
  let sum = 0;
  let sumSq = 0;
  const n = 20000;
  for (let k = 0; k < n; k++) {
    twin.readSensors(reading);
    const e = reading[0]! - twin.trueTemperature(0);
    sum += e;
    sumSq += e * e;
  }
  const mean = sum / n;
  const std = Math.sqrt(sumSq / n - mean * mean);
  assert.ok(Math.abs(mean) < 0.02, `mean noise ${mean}`);
  assert.ok(Math.abs(std - 0.5) < 0.02, `noise σ ${std}`);

  const quantised = new ThermalTwin({ ...DEFAULT_TWIN_PARAMS, sensor: { noiseC: 0.3, quantumC: 0.5 } }, 0.01);
  for (let k = 0; k < 100; k++) {
    quantised.readSensors(reading);
    for (const v of reading) assert.ok(Math.abs(v / 0.5 - Math.round(v / 0.5)) < 1e-9, `${v} is off the 0.5 °C grid`);
  }
});

test('the default 4-core coupling is docs/DESIGN.md\'s, and the GPU row follows reciprocity', () => {
  const twin = new ThermalTwin(DEFAULT_TWIN_PARAMS, 0.01);
  const k = twin.params.coupling;
  DESIGN_COUPLING_4_CORES.forEach((row, i) => { row.forEach((v, j) => { assert.equal(k[i]![j], v); }); });
  for (let i = 0; i < 4; i++) {
    const mutualCore = twin.params.coreResistanceKPerW * k[i]![4]!;
    const mutualGpu = twin.params.gpuResistanceKPerW * k[4]![i]!;
    assert.ok(Math.abs(mutualCore - mutualGpu) < 1e-12);
  }
});

test('generated couplings for other core counts are symmetric, in (0, 1], with ones on the diagonal', () => {
  const twin = new ThermalTwin({ ...DEFAULT_TWIN_PARAMS, cores: 9, gpu: false }, 0.01);
  const k = twin.params.coupling;
  assert.equal(k.length, 9);
  k.forEach((row, i) => {
    assert.equal(row[i], 1);
    row.forEach((v, j) => {
      assert.ok(v > 0 && v <= 1);
      assert.equal(v, k[j]![i]);
    });
  });
});

test('invalid parameters and inputs are rejected with their codes', () => {
  assert.throws(() => new ThermalTwin({ ...DEFAULT_TWIN_PARAMS, cores: 0 }, 0.01), { code: 'MXW_ERR_TWIN_PARAMS' });
  assert.throws(() => new ThermalTwin({ ...DEFAULT_TWIN_PARAMS, core: { ...DEFAULT_TWIN_PARAMS.core, tauS: -1 } }, 0.01), {
    code: 'MXW_ERR_TWIN_PARAMS',
  });
  assert.throws(() => new ThermalTwin({ ...DEFAULT_TWIN_PARAMS, sensor: { noiseC: Number.NaN, quantumC: 0 } }, 0.01), {
    code: 'MXW_ERR_TWIN_PARAMS',
  });
  assert.throws(() => new ThermalTwin({ ...DEFAULT_TWIN_PARAMS, coupling: [[1, 0.5], [0.5, 1]] }, 0.01), { code: 'MXW_ERR_TWIN_COUPLING' });
  const bad = DESIGN_COUPLING_4_CORES.map((row) => [...row, 0.1]);
  bad.push([0.1, 0.1, 0.1, 0.1, 0.9]);
  assert.throws(() => new ThermalTwin({ ...DEFAULT_TWIN_PARAMS, coupling: bad }, 0.01), { code: 'MXW_ERR_TWIN_COUPLING' });
  assert.throws(() => new ThermalTwin(DEFAULT_TWIN_PARAMS, 0), { code: 'MXW_ERR_INVALID_ARG' });
  const twin = new ThermalTwin(DEFAULT_TWIN_PARAMS, 0.01);
  assert.throws(() => { twin.setUtilisation(5, 1); }, { code: 'MXW_ERR_INVALID_ARG' });
  assert.throws(() => { twin.setUtilisation(0, Number.NaN); }, { code: 'MXW_ERR_INVALID_ARG' });
  twin.setUtilisation(0, 7);
  assert.equal(twin.utilisation(0), 1, 'utilisation is clamped to [0, 1]');
});

test('setUtilisations sets every source at once, clamping and treating NaN as idle', () => {
  const twin = new ThermalTwin(DEFAULT_TWIN_PARAMS, 0.01);
  twin.setUtilisations([0.5, -1, 2, Number.NaN, 0.25]);
  assert.deepEqual([0, 1, 2, 3, 4].map((j) => twin.utilisation(j)), [0.5, 0, 1, 0, 0.25]);
  assert.throws(() => { twin.setUtilisations([1, 1]); }, { code: 'MXW_ERR_INVALID_ARG' });
});
