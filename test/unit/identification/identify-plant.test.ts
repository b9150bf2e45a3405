import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../../src/config/load.js';
import { averageTraces } from '../../../src/identification/identify-plant.js';
import { calibrateTwin } from '../../../src/simulation/calibrate-twin.js';

// Research questions 4 and 5 on the twin: σ = 0.5 °C sensor noise, 100 Hz, default experiments.
for (const seed of [1, 2]) {
  test(`identified τ, dead time and K are within 5 % of the twin's truth (σ 0.5 °C, 100 Hz, seed ${seed})`, async () => {
    const config = loadConfig({ flags: [{ twin: { seed, sensor: { noiseC: 0.5 } }, calibration: { sampleHz: 100 } }] });
    const report = await calibrateTwin(config);
    for (const plane of report.planes) {
      assert.ok(Math.abs(plane.tauS.errorPct) < 5, `${plane.name} τ off by ${plane.tauS.errorPct.toFixed(2)} %`);
      assert.ok(Math.abs(plane.deadTimeS.errorPct) < 5, `${plane.name} θ off by ${plane.deadTimeS.errorPct.toFixed(2)} %`);
      assert.ok(Math.abs(plane.resistanceKPerW.errorPct) < 5, `${plane.name} R off by ${plane.resistanceKPerW.errorPct.toFixed(2)} %`);
    }
    const cores = config.twin.cores;
    report.coupling.forEach((row, i) => {
      row.forEach((entry, j) => {
        const label = `K[${report.sourceNames[i]}][${report.sourceNames[j]}]`;
        if (i < cores) {
          // Core planes: every entry, including the GPU's heat reaching each core.
          assert.ok(Math.abs(entry.errorPct) < 5, `${label} off by ${entry.errorPct.toFixed(2)} %`);
        } else {
          // The GPU plane sees a core's heat as a 0.5–0.8 °C rise under 0.5 °C noise. With a 1 s
          // idle baseline its gain was pinned to only ±3–4.4 % and K[gpu][core3] came out 5.9 % off;
          // the 4 s baseline brings the interval under 3.5 % and the error under 5 %.
          assert.ok(Math.abs(entry.identified - entry.truth) <= 2 * entry.ci95 + 1e-12, `${label} outside 2×CI`);
          assert.ok(Math.abs(entry.errorPct) < 5, `${label} off by ${entry.errorPct.toFixed(2)} %`);
          assert.ok(entry.ci95 / entry.identified < 0.035, `${label} ± ${((100 * entry.ci95) / entry.identified).toFixed(2)} %`);
        }
      });
    });
    assert.equal(report.identified.provenance, 'modelled');
  });
}

test('the intervals hold the twin\'s effective plant at their stated rate (8 seeds × 18 intervals), not its nominal one', async () => {
  let covered = 0;
  let coveredNominal = 0;
  let total = 0;
  for (let seed = 11; seed <= 18; seed++) {
    const report = await calibrateTwin(loadConfig({ flags: [{ twin: { seed } }] }));
    covered += report.intervalsCovering.covered;
    total += report.intervalsCovering.total;
    for (const p of report.planes) for (const c of [p.tauS, p.deadTimeS, p.resistanceKPerW]) if (Math.abs(c.identified - c.truth) <= c.ci95) coveredNominal++;
    assert.deepEqual(report.identified.warnings, [], 'no twin plane is a misfit');
  }
  // Measured over 100 seeds: 95.x % (docs/PHYSICS.md). Binomial sd at n = 144 is 1.8 %: 88 % is 4σ below.
  assert.ok(covered / total >= 0.88, `${covered} of ${total} intervals hold the effective value`);
  // The leakage bias is real: the nominal values sit outside most τ and R intervals.
  assert.ok(coveredNominal / total < 0.6, `${coveredNominal} of ${total} intervals hold the nominal value`);
});

test('identification refuses records too short for the plane (chassis recorded 30 s for τ = 30 s)', async () => {
  const config = loadConfig({ flags: [{ calibration: { chassisStepS: 30, repeats: 1 } }] });
  await assert.rejects(calibrateTwin(config), { code: 'MXW_ERR_IDENT_TOO_SHORT' });
});

test('identification refuses sampling slower than 10 samples per τ (2 Hz for τ = 1 s)', async () => {
  const config = loadConfig({ flags: [{ calibration: { sampleHz: 2, repeats: 1, coreStepS: 20 } }] });
  await assert.rejects(calibrateTwin(config), { code: 'MXW_ERR_IDENT_UNDERSAMPLED' });
});

test('calibration can be aborted', async () => {
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(calibrateTwin(loadConfig(), { signal: controller.signal }), { code: 'MXW_ERR_ABORTED' });
});

test('averaging repeated runs refuses runs that do not line up', () => {
  const run = (n: number) => ({
    timesS: new Float64Array(n),
    stepTimeS: 1,
    temperaturesC: [new Float64Array(n)],
    powerBeforeW: new Float64Array(1),
    powerAfterW: new Float64Array(1),
    provenance: 'modelled' as const,
    source: 'test',
  });
  assert.throws(() => averageTraces([run(10), run(11)]), { code: 'MXW_ERR_INVALID_ARG' });
  assert.throws(() => averageTraces([]), { code: 'MXW_ERR_INVALID_ARG' });
});
