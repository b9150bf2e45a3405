/** Synthetic step records for identification tests. */
import { SeededRandom } from '../../src/internal/seeded-random.js';
import { fopdtResponse, type StepRecord } from '../../src/identification/fopdt.js';

export interface SyntheticStep {
  readonly initial: number;
  readonly gain: number;
  readonly tauS: number;
  readonly deadTimeS: number;
  readonly sampleHz: number;
  readonly preStepS: number;
  readonly postStepS: number;
  readonly noise?: number;
  readonly seed?: number;
}

/** Samples an exact FOPDT step response, optionally with Gaussian noise. */
export function syntheticStep(s: SyntheticStep): StepRecord {
  const random = new SeededRandom(s.seed ?? 1);
  const count = Math.round((s.preStepS + s.postStepS) * s.sampleHz);
  const timesS = new Float64Array(count);
  const values = new Float64Array(count);
  for (let k = 0; k < count; k++) {
    const t = (k + 1) / s.sampleHz;
    timesS[k] = t;
    values[k] = fopdtResponse(t - s.preStepS, s.initial, s.gain, s.tauS, s.deadTimeS) + (s.noise ?? 0) * random.normal();
  }
  return { timesS, values, stepTimeS: s.preStepS };
}

/**
 * A step response that is *not* first order: two parallel first-order paths of equal weight,
 * `y = initial + gain·(1 − ½e^(−t/τ₁) − ½e^(−t/τ₂))` after the step (no dead time), sampled
 * like {@link syntheticStep}. Issue 12's case is τ₁ 0.4 s, τ₂ 3 s, σ 0.5, 100 Hz.
 */
export function twoPoleStep(s: Omit<SyntheticStep, 'tauS' | 'deadTimeS'> & { readonly tau1S: number; readonly tau2S: number }): StepRecord {
  const random = new SeededRandom(s.seed ?? 1);
  const count = Math.round((s.preStepS + s.postStepS) * s.sampleHz);
  const timesS = new Float64Array(count);
  const values = new Float64Array(count);
  for (let k = 0; k < count; k++) {
    const t = (k + 1) / s.sampleHz;
    const x = t - s.preStepS;
    const shape = x < 0 ? 0 : 1 - 0.5 * Math.exp(-x / s.tau1S) - 0.5 * Math.exp(-x / s.tau2S);
    timesS[k] = t;
    values[k] = s.initial + s.gain * shape + (s.noise ?? 0) * random.normal();
  }
  return { timesS, values, stepTimeS: s.preStepS };
}
