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

/**
 * Samples `response(x)` (x: seconds since the step) at `sampleHz` from 1/`sampleHz` on, adding
 * seeded Gaussian noise of σ `noise`.
 */
function sampleStep(s: Pick<SyntheticStep, 'preStepS' | 'postStepS' | 'sampleHz' | 'noise' | 'seed'>, response: (x: number) => number): StepRecord {
  const random = new SeededRandom(s.seed ?? 1);
  const count = Math.round((s.preStepS + s.postStepS) * s.sampleHz);
  const timesS = new Float64Array(count);
  const values = new Float64Array(count);
  for (let k = 0; k < count; k++) {
    const t = (k + 1) / s.sampleHz;
    timesS[k] = t;
    values[k] = response(t - s.preStepS) + (s.noise ?? 0) * random.normal();
  }
  return { timesS, values, stepTimeS: s.preStepS };
}

/** Samples an exact FOPDT step response, optionally with Gaussian noise. */
export function syntheticStep(s: SyntheticStep): StepRecord {
  return sampleStep(s, (x) => fopdtResponse(x, s.initial, s.gain, s.tauS, s.deadTimeS));
}

/**
 * A step response that is *not* first order: two parallel first-order paths of equal weight,
 * `y = initial + gain·(1 − ½e^(−t/τ₁) − ½e^(−t/τ₂))` after the step (no dead time), sampled
 * like {@link syntheticStep}. The identification test's hard case is τ₁ 0.4 s, τ₂ 3 s, σ 0.5, 100 Hz.
 */
export function twoPoleStep(s: Omit<SyntheticStep, 'tauS' | 'deadTimeS'> & { readonly tau1S: number; readonly tau2S: number }): StepRecord {
  return sampleStep(s, (x) => s.initial + s.gain * (x < 0 ? 0 : 1 - 0.5 * Math.exp(-x / s.tau1S) - 0.5 * Math.exp(-x / s.tau2S)));
}

/**
 * A record as step-response CSV text (`maxwell calibrate --from-csv`): times to 3 decimals,
 * values to 4, `separator` between them, an optional header line.
 */
export function stepCsv(record: StepRecord, options: { readonly header?: string; readonly separator?: string; readonly comment?: string } = {}): string {
  const lines: string[] = [];
  if (options.comment !== undefined) lines.push(`# ${options.comment}`);
  if (options.header !== undefined) lines.push(options.header);
  for (let i = 0; i < record.timesS.length; i++) {
    lines.push(`${(record.timesS[i] ?? 0).toFixed(3)}${options.separator ?? ','}${(record.values[i] ?? 0).toFixed(4)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The committed fixtures under test/fixtures/step-response/, by file name (regenerate: scripts/gen-step-fixtures.mjs). */
export function stepFixtures(): Record<string, string> {
  const fopdt = syntheticStep({ initial: 40, gain: 15, tauS: 2, deadTimeS: 0.3, sampleHz: 10, preStepS: 2, postStepS: 12, noise: 0.2, seed: 12 });
  const twoPole = twoPoleStep({ initial: 35, gain: 40, tau1S: 0.4, tau2S: 3, sampleHz: 10, preStepS: 1, postStepS: 20, noise: 0.5, seed: 12 });
  return {
    'fopdt.csv': stepCsv(fopdt, { header: 'time_s,temperature_C', comment: 'seeded FOPDT: y0 40 °C, gain 15 °C, τ 2 s, θ 0.3 s, σ 0.2 °C, 10 Hz, step at 2 s' }),
    'two-pole.csv': stepCsv(twoPole, { separator: ' ', comment: 'seeded two-pole (τ 0.4 s + 3 s, equal weights): gain 40 °C, σ 0.5 °C, 10 Hz, step at 1 s' }),
  };
}
