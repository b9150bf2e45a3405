/**
 * Step experiments on the thermal twin: the twin implementation of {@link StepPlant}.
 */
import type { AbortOptions } from '../clock/clock.js';
import { AbortedError, InvalidArgumentError } from '../errors.js';
import type { PlaneDescriptor, StepPlant, StepRequest, StepTrace } from '../identification/step-plant.js';
import type { ThermalTwin } from '../physics/thermal-twin.js';

/** Simulated steps between checks of the abort signal. */
const ABORT_CHECK_STEPS = 4096;

/** Wraps a twin so that identification can run step experiments on it. */
export function createTwinStepPlant(twin: ThermalTwin): StepPlant {
  const planes: PlaneDescriptor[] = twin.planes.map((plane) => ({
    name: plane.name,
    kind: plane.kind,
    source: plane.kind === 'chassis' ? -1 : plane.index,
  }));

  function runStep(request: StepRequest, options: AbortOptions = {}): Promise<StepTrace> {
    const { source, preStepS, stepS, sampleHz } = request;
    if (source !== 'all' && (!Number.isInteger(source) || source < 0 || source >= twin.sourceCount)) {
      return Promise.reject(new InvalidArgumentError(`invalid source: ${String(source)}`));
    }
    const stepsPerSample = Math.round(1 / (sampleHz * twin.stepS));
    if (!(stepsPerSample >= 1) || Math.abs(stepsPerSample * twin.stepS * sampleHz - 1) > 1e-6) {
      return Promise.reject(
        new InvalidArgumentError(`invalid sampleHz: ${sampleHz} Hz is not a whole divisor of the twin's ${1 / twin.stepS} Hz step rate`),
      );
    }
    const preSamples = Math.round(preStepS * sampleHz);
    const postSamples = Math.round(stepS * sampleHz);
    const total = preSamples + postSamples;
    const timesS = new Float64Array(total);
    const temperaturesC = twin.planes.map(() => new Float64Array(total));
    const reading = new Float64Array(twin.planes.length);
    const powerBeforeW = new Float64Array(twin.sourceCount);
    const powerAfterW = new Float64Array(twin.sourceCount);

    twin.reset();
    let steps = 0;
    for (let k = 0; k < total; k++) {
      if (k === preSamples) {
        for (let j = 0; j < twin.sourceCount; j++) powerBeforeW[j] = twin.sourcePower(j);
        if (source === 'all') for (let j = 0; j < twin.sourceCount; j++) twin.setUtilisation(j, 1);
        else twin.setUtilisation(source, 1);
      }
      for (let s = 0; s < stepsPerSample; s++) {
        twin.step();
        if (++steps % ABORT_CHECK_STEPS === 0 && options.signal?.aborted === true) {
          return Promise.reject(new AbortedError('step experiment aborted', { cause: options.signal.reason }));
        }
      }
      twin.readSensors(reading);
      timesS[k] = twin.timeS;
      temperaturesC.forEach((series, i) => (series[k] = reading[i] ?? Number.NaN));
    }
    for (let j = 0; j < twin.sourceCount; j++) powerAfterW[j] = twin.sourcePower(j);
    // The step is applied over the step that follows sample preSamples - 1.
    const stepTimeS = preSamples * stepsPerSample * twin.stepS;
    return Promise.resolve({
      timesS,
      stepTimeS,
      temperaturesC,
      powerBeforeW,
      powerAfterW,
      provenance: 'modelled',
      source: 'thermal twin (simulated sensors)',
    });
  }

  return { planes, sourceCount: twin.sourceCount, runStep };
}
