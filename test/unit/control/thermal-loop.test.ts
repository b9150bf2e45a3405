import assert from 'node:assert/strict';
import { test } from 'node:test';
import { coreLoopModels } from '../../../src/control/thermal-loop.js';
import { tunePid } from '../../../src/control/tuning.js';
import { identifyPlant } from '../../../src/identification/identify-plant.js';
import type { StepPlant, StepRequest, StepTrace } from '../../../src/identification/step-plant.js';
import { syntheticStep, twoPoleStep } from '../../helpers/records.js';
import type { StepRecord } from '../../../src/identification/fopdt.js';

/** A one-core machine whose core answers a step with `shape` (a 10 W step). */
function oneCorePlant(shape: (request: StepRequest) => StepRecord): StepPlant {
  return {
    planes: [{ name: 'core0', kind: 'core', source: 0 }],
    sourceCount: 1,
    runStep(request: StepRequest): Promise<StepTrace> {
      const record = shape(request);
      return Promise.resolve({
        timesS: Float64Array.from(record.timesS),
        stepTimeS: record.stepTimeS,
        temperaturesC: [Float64Array.from(record.values)],
        powerBeforeW: Float64Array.of(1.5),
        powerAfterW: Float64Array.of(11.5),
        provenance: 'modelled',
        source: 'test plant',
      });
    },
  };
}

const options = { sampleHz: 100, preStepS: 1, coreStepS: 20, gpuStepS: 20, chassisStepS: 20, repeats: 1 };
const tuning = { rule: 'simc', closedLoopTauS: null, sampleS: 0.01, outputMin: 0, outputMax: 1 } as const;
const step = { initial: 35, gain: 40, sampleHz: 100, preStepS: 1, postStepS: 20, noise: 0.5 };

test('gains are refused from a misfit plant with MXW_ERR_IDENT_MISFIT unless allowMisfit', async () => {
  let seed = 0;
  const plant = await identifyPlant(oneCorePlant(() => twoPoleStep({ ...step, tau1S: 0.4, tau2S: 3, seed: ++seed })), options);
  assert.deepEqual(plant.warnings.map((w) => [w.code, w.subject]), [['MXW_WARN_IDENT_MISFIT', 'core0']]);
  assert.throws(() => coreLoopModels(plant), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'MXW_ERR_IDENT_MISFIT');
    assert.match(err.message, /core0/);
    return true;
  });
  assert.throws(() => coreLoopModels(plant, { allowMisfit: false }), { code: 'MXW_ERR_IDENT_MISFIT' });
  const models = coreLoopModels(plant, { allowMisfit: true });
  assert.equal(models.length, 1);
  assert.ok(tunePid(models[0] ?? { gain: 0, tauS: 0, deadTimeS: 0 }, tuning).params.kp > 0);
});

test('gains are derived from a first-order plant without being asked', async () => {
  let seed = 0;
  const plant = await identifyPlant(oneCorePlant(() => syntheticStep({ ...step, tauS: 1, deadTimeS: 0.1, seed: ++seed })), options);
  assert.deepEqual(plant.warnings, []);
  const [model] = coreLoopModels(plant);
  assert.ok(model !== undefined && Math.abs(model.tauS - 1) < 0.05);
});
