/**
 * First-order-plus-dead-time (FOPDT) identification from a step response.
 *
 *     y(t) = y0                                   t < θ
 *     y(t) = y0 + G · (1 − e^(−(t − θ)/τ))        t ≥ θ        (t from the step)
 *
 * The fit is least squares by Levenberg–Marquardt (ml-levenberg-marquardt, with the
 * analytical Jacobian below), started from Smith's two-point estimates (28.3 % and 63.2 %
 * of the response). Confidence intervals come from the linearised covariance
 * s²·(JᵀJ)⁻¹ at the optimum.
 *
 * Those intervals are only as good as the model: they assume the record *is* first order
 * plus dead time with white noise. Every fit therefore carries goodness-of-fit diagnostics
 * (R², residual σ against the noise σ estimated independently of the model, lag-1
 * autocorrelation and a Wald–Wolfowitz runs test of the residuals, parameters at their
 * bounds) and a verdict; a misfit comes with an `MXW_WARN_IDENT_MISFIT` warning.
 */
import { levenbergMarquardt } from 'ml-levenberg-marquardt';
import { inverse, Matrix } from 'ml-matrix';
import {
  IdentFitFailedError,
  IdentNoResponseError,
  IdentTooShortError,
  IdentUndersampledError,
  InvalidArgumentError,
} from '../errors.js';

/** A recorded step response: the input changed at `stepTimeS`. */
export interface StepRecord {
  /** Sample times, seconds, strictly increasing. */
  readonly timesS: ArrayLike<number>;
  /** Measured output (e.g. °C), one per time. */
  readonly values: ArrayLike<number>;
  /** When the step was applied, seconds, on the same time base. */
  readonly stepTimeS: number;
}

/** A parameter estimate with its 95 % confidence half-width. */
export interface Estimate {
  readonly value: number;
  /** Half-width of the 95 % confidence interval (value ± ci95). */
  readonly ci95: number;
}

/** Warning codes of identification; never reused. Listed in docs/ERRORS.md. */
export const IDENT_WARNING_CODES = ['MXW_WARN_IDENT_MISFIT'] as const;

export type IdentWarningCode = (typeof IDENT_WARNING_CODES)[number];

/** A warning about one fit: the record it came from, and why its model is not trusted. */
export interface IdentWarning {
  readonly code: IdentWarningCode;
  /** The record concerned (a plane name, a file), filled in by whoever knows it. */
  readonly subject: string;
  readonly message: string;
}

/** A fitted parameter that can sit at a bound of the search. */
export type FopdtParameter = 'tauS' | 'deadTimeS';

/**
 * How well the FOPDT model explains the record. For a true FOPDT plant under white noise
 * the residuals *are* the noise: σ ratio ≈ 1, lag-1 autocorrelation ≈ 0 (± 1/√n), runs
 * z ≈ 0 (± 1). A plant of higher order leaves a smooth, signed residual: ratio > 1,
 * autocorrelation near 1, far too few runs.
 */
export interface FitDiagnostics {
  /** 1 − SSE/SST over the whole record. High on any large step; reported, not judged. */
  readonly rSquared: number;
  /** Sensor-noise σ estimated from successive differences (model-free), output units. */
  readonly noiseStd: number;
  /** Residual σ / {@link noiseStd}; ≈ 1 when the model fits (∞ for a noise-free record that misfits). */
  readonly residualToNoise: number;
  /** Lag-1 autocorrelation of the residuals. */
  readonly lag1Autocorrelation: number;
  /** Wald–Wolfowitz runs test of the residuals' signs, z (negative: too few runs, structure). */
  readonly runsZ: number;
  /**
   * Parameters at a bound of the search. θ at 0 alone is no misfit (a plant may have no
   * dead time) but its interval is then one-sided; any other bound is a misfit.
   */
  readonly atBounds: readonly FopdtParameter[];
  readonly verdict: 'ok' | 'misfit';
  /** Why the verdict is `misfit` (empty when `ok`), in words with the figures. */
  readonly reasons: readonly string[];
}

/** The identified FOPDT model. */
export interface FopdtFit {
  /** Output before the step. */
  readonly initial: Estimate;
  /** Steady-state change of the output for this step (output units). */
  readonly gain: Estimate;
  /** Time constant, seconds. */
  readonly tauS: Estimate;
  /** Dead time after the step, seconds. */
  readonly deadTimeS: Estimate;
  /** Standard deviation of the residuals (≈ sensor noise when the model fits). */
  readonly residualStd: number;
  readonly samples: number;
  readonly iterations: number;
  readonly diagnostics: FitDiagnostics;
  /** `MXW_WARN_IDENT_MISFIT` when the verdict is `misfit` (subject `'record'`; callers rename it). */
  readonly warnings: readonly IdentWarning[];
}

/** Rules a record must satisfy for a trustworthy fit (research question 4). */
export const MIN_RECORD_TAUS = 3;
export const MIN_SAMPLES_PER_TAU = 10;
const MIN_SAMPLES = 20;
/** z for a two-sided 95 % interval; records have hundreds of samples, so t ≈ z. */
const Z95 = 1.959964;
const LM_CHUNK_ITERATIONS = 20;

/**
 * Misfit thresholds, chosen from measurements (docs/PHYSICS.md, "Goodness of fit"; regenerate
 * with `node scripts/ident-measurements.mjs`). Over 1,000 seeded true-FOPDT records of 900
 * samples the largest σ ratio was 1.16 and the largest lag-1 autocorrelation 0.12 (white
 * noise: sd 1/√n = 0.033); over 100 twin calibrations (600 plane fits) 1.07 and 0.08. Issue
 * 12's two-pole record gives 3.5 and 0.91. The √n terms keep short records (≈ 100 samples,
 * largest measured 1.36 and 0.29) from false alarms.
 */
export const MISFIT_THRESHOLDS = {
  /** Residual σ over noise σ above max(this, 1 + 6/√n). */
  residualToNoise: 1.2,
  /** Lag-1 residual autocorrelation above max(this, 4/√n). */
  lag1Autocorrelation: 0.2,
} as const;
const LM_MAX_CHUNKS = 25;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/**
 * Robust estimate of white-noise σ from successive differences: for white noise,
 * diff has σ√2, and the median absolute difference of a normal is 0.6745σ.
 */
export function estimateNoiseStd(values: ArrayLike<number>): number {
  const diffs: number[] = [];
  for (let i = 1; i < values.length; i++) diffs.push(Math.abs((values[i] ?? 0) - (values[i - 1] ?? 0)));
  return median(diffs) / 0.6745 / Math.SQRT2;
}

/** The FOPDT model value at `t` seconds after the step. */
export function fopdtResponse(t: number, initial: number, gain: number, tauS: number, deadTimeS: number): number {
  return t < deadTimeS ? initial : initial + gain * (1 - Math.exp(-(t - deadTimeS) / tauS));
}

function validateRecord(record: StepRecord): { t: Float64Array; y: Float64Array } {
  const { timesS, values, stepTimeS } = record;
  if (timesS.length !== values.length) {
    throw new InvalidArgumentError(`timesS has ${timesS.length} samples but values has ${values.length}`);
  }
  if (timesS.length < MIN_SAMPLES) throw new InvalidArgumentError(`need at least ${MIN_SAMPLES} samples, got ${timesS.length}`);
  if (!Number.isFinite(stepTimeS)) throw new InvalidArgumentError(`invalid stepTimeS: ${String(stepTimeS)}`);
  const t = new Float64Array(timesS.length);
  const y = new Float64Array(values.length);
  for (let i = 0; i < timesS.length; i++) {
    const ti = timesS[i] ?? Number.NaN;
    const yi = values[i] ?? Number.NaN;
    if (!Number.isFinite(ti) || !Number.isFinite(yi)) throw new InvalidArgumentError(`sample ${i} is not a finite number`);
    if (i > 0 && !(ti > (timesS[i - 1] ?? Number.NaN))) throw new InvalidArgumentError(`timesS must increase strictly (sample ${i})`);
    t[i] = ti - stepTimeS;
    y[i] = yi;
  }
  if ((t[t.length - 1] ?? 0) <= 0) throw new InvalidArgumentError('the record ends before the step');
  return { t, y };
}

/** Time at which a smoothed, normalised response first reaches `level` (linear interpolation). */
function crossingTime(t: Float64Array, normalised: Float64Array, level: number): number {
  for (let i = 1; i < t.length; i++) {
    const prev = normalised[i - 1] ?? 0;
    const curr = normalised[i] ?? 0;
    if ((t[i] ?? 0) > 0 && curr >= level && prev < level) {
      const t0 = t[i - 1] ?? 0;
      return t0 + ((level - prev) / (curr - prev)) * ((t[i] ?? 0) - t0);
    }
  }
  return Number.NaN;
}

function movingAverage(y: Float64Array, window: number): Float64Array {
  const out = new Float64Array(y.length);
  const half = Math.max(0, Math.floor(window / 2));
  let sum = 0;
  let lo = 0;
  let hi = -1;
  for (let i = 0; i < y.length; i++) {
    const wantLo = Math.max(0, i - half);
    const wantHi = Math.min(y.length - 1, i + half);
    while (hi < wantHi) sum += y[++hi] ?? 0;
    while (lo < wantLo) sum -= y[lo++] ?? 0;
    out[i] = sum / (hi - lo + 1);
  }
  return out;
}

function meanOf(y: Float64Array, from: number, to: number): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += y[i] ?? 0;
  return sum / Math.max(1, to - from);
}

/**
 * Fits a FOPDT model to a step response.
 *
 * Throws, with a message that says why and what to do:
 * - `MXW_ERR_IDENT_NO_RESPONSE` when the output does not move beyond its noise;
 * - `MXW_ERR_IDENT_UNDERSAMPLED` when there are fewer than 10 samples per τ;
 * - `MXW_ERR_IDENT_TOO_SHORT` when the record after the step is shorter than 3τ (+ θ);
 * - `MXW_ERR_IDENT_FIT_FAILED` when the fit does not converge to a finite model.
 * @example fitFopdt({ timesS, values, stepTimeS: 1 }).tauS.value
 */
export function fitFopdt(record: StepRecord): FopdtFit {
  const { t, y } = validateRecord(record);
  const n = t.length;
  const intervals: number[] = [];
  for (let i = 1; i < n; i++) intervals.push((t[i] ?? 0) - (t[i - 1] ?? 0));
  const dt = median(intervals);
  const duration = t[n - 1] ?? 0;

  let firstAfter = t.findIndex((ti) => ti >= 0);
  if (firstAfter < 0) firstAfter = n;
  const noise = estimateNoiseStd(y);
  const initialGuess = firstAfter >= 3 ? meanOf(y, 0, firstAfter) : (y[0] ?? 0);
  const tailStart = Math.max(firstAfter, Math.floor(n * 0.9));
  const finalGuess = meanOf(y, tailStart, n);
  const gainGuess = finalGuess - initialGuess;
  if (!(Math.abs(gainGuess) > 3 * noise) || gainGuess === 0) {
    throw new IdentNoResponseError(
      `the output moved ${gainGuess.toFixed(3)} after the step, within 3× its noise (σ ≈ ${noise.toFixed(3)}); ` +
        'use a larger step or a quieter sensor',
    );
  }

  // Smith's two-point method on a smoothed copy gives the starting point.
  const smoothed = movingAverage(y, Math.max(1, Math.round(n / 200)));
  const normalised = smoothed.map((v) => (v - initialGuess) / gainGuess);
  const t28 = crossingTime(t, normalised, 0.283);
  const t63 = crossingTime(t, normalised, 0.632);
  let tauGuess = Number.isFinite(t28) && Number.isFinite(t63) && t63 > t28 ? 1.5 * (t63 - t28) : duration / 4;
  tauGuess = Math.max(tauGuess, dt / 2);
  const deadGuess = Number.isFinite(t63) ? Math.min(Math.max(0, t63 - tauGuess), duration / 2) : 0;

  const model = ([y0, gain, tau, dead]: number[]) => (x: number) => fopdtResponse(x, y0 ?? 0, gain ?? 0, tau ?? 1, dead ?? 0);
  const jacobian =
    ([, gain, tau, dead]: number[]) =>
    (x: number): number[] => {
      const g = gain ?? 0;
      const tc = tau ?? 1;
      const d = dead ?? 0;
      if (x < d) return [1, 0, 0, 0];
      const e = Math.exp(-(x - d) / tc);
      return [1, 1 - e, (-g * e * (x - d)) / (tc * tc), (-g * e) / tc];
    };

  let parameters = [initialGuess, gainGuess, tauGuess, deadGuess];
  let sse = Number.POSITIVE_INFINITY;
  let iterations = 0;
  const data = { x: t, y };
  const lastTime = t[n - 1] ?? 0;
  const tauMin = dt / 100;
  const tauMax = lastTime * 100;
  // ml-levenberg-marquardt always runs to maxIterations; running it in chunks lets the
  // fit stop once the squared error no longer improves.
  for (let chunk = 0; chunk < LM_MAX_CHUNKS; chunk++) {
    const result = levenbergMarquardt(data, model, {
      initialValues: parameters,
      jacobianFunction: jacobian,
      maxIterations: LM_CHUNK_ITERATIONS,
      errorTolerance: 0,
      minValues: [-Infinity, -Infinity, tauMin, 0],
      maxValues: [Infinity, Infinity, tauMax, lastTime],
    });
    iterations += result.iterations;
    const improved = sse - result.parameterError;
    parameters = result.parameterValues;
    const previous = sse;
    sse = Math.min(sse, result.parameterError);
    if (Number.isFinite(previous) && improved <= previous * 1e-10) break;
  }
  const [y0 = Number.NaN, gain = Number.NaN, tau = Number.NaN, dead = Number.NaN] = parameters;
  if (![y0, gain, tau, dead, sse].every(Number.isFinite)) {
    throw new IdentFitFailedError('the curve fit diverged (non-finite parameters); check the record for outliers');
  }

  if (tau < MIN_SAMPLES_PER_TAU * dt) {
    throw new IdentUndersampledError(
      `samples are ${dt.toPrecision(3)} s apart but τ ≈ ${tau.toPrecision(3)} s: ` +
        `${(tau / dt).toFixed(1)} samples per τ, at least ${MIN_SAMPLES_PER_TAU} are needed; ` +
        `sample at ≥ ${(MIN_SAMPLES_PER_TAU / tau).toPrecision(3)} Hz`,
    );
  }
  const needed = MIN_RECORD_TAUS * tau + dead;
  if (duration < needed) {
    throw new IdentTooShortError(
      `the record runs ${duration.toPrecision(3)} s after the step but τ ≈ ${tau.toPrecision(3)} s: ` +
        `at least ${MIN_RECORD_TAUS}τ + θ = ${needed.toPrecision(3)} s is needed; record longer`,
    );
  }

  // Linearised covariance at the optimum.
  const jac = jacobian(parameters);
  const jtj = Matrix.zeros(4, 4);
  for (let i = 0; i < n; i++) {
    const row = jac(t[i] ?? 0);
    for (let a = 0; a < 4; a++) for (let b = 0; b < 4; b++) jtj.set(a, b, jtj.get(a, b) + (row[a] ?? 0) * (row[b] ?? 0));
  }
  const variance = sse / Math.max(1, n - 4);
  let ci = [Number.NaN, Number.NaN, Number.NaN, Number.NaN];
  try {
    const cov = inverse(jtj);
    ci = [0, 1, 2, 3].map((k) => Z95 * Math.sqrt(Math.max(0, variance * cov.get(k, k))));
  } catch {
    // A singular JᵀJ leaves the intervals unknown (NaN) rather than failing the fit.
  }
  const atBounds: FopdtParameter[] = [];
  if (tau <= tauMin * (1 + 1e-9) || tau >= tauMax * (1 - 1e-9)) atBounds.push('tauS');
  if (dead <= 0 || dead >= lastTime * (1 - 1e-9)) atBounds.push('deadTimeS');
  const diagnostics = diagnose(t, y, (x) => fopdtResponse(x, y0, gain, tau, dead), noise, atBounds, dead <= 0);
  return {
    initial: { value: y0, ci95: ci[0] ?? Number.NaN },
    gain: { value: gain, ci95: ci[1] ?? Number.NaN },
    tauS: { value: tau, ci95: ci[2] ?? Number.NaN },
    deadTimeS: { value: dead, ci95: ci[3] ?? Number.NaN },
    residualStd: Math.sqrt(variance),
    samples: n,
    iterations,
    diagnostics,
    warnings: diagnostics.verdict === 'misfit' ? [misfitWarning('record', diagnostics)] : [],
  };
}

/** The `MXW_WARN_IDENT_MISFIT` warning for a misfit verdict on `subject`. */
export function misfitWarning(subject: string, diagnostics: FitDiagnostics): IdentWarning {
  return {
    code: 'MXW_WARN_IDENT_MISFIT',
    subject,
    message:
      `${subject}: the step response is not first order plus dead time (${diagnostics.reasons.join('; ')}); ` +
      'its τ, θ and gain are a poor summary and their intervals too narrow',
  };
}

/** Residual diagnostics of a fitted model and the verdict (see {@link FitDiagnostics}). */
function diagnose(
  t: Float64Array,
  y: Float64Array,
  model: (x: number) => number,
  noiseStd: number,
  atBounds: readonly FopdtParameter[],
  deadAtZero: boolean,
): FitDiagnostics {
  const n = t.length;
  const residuals = new Float64Array(n);
  let meanY = 0;
  let meanR = 0;
  for (let i = 0; i < n; i++) {
    const r = (y[i] ?? 0) - model(t[i] ?? 0);
    residuals[i] = r;
    meanY += (y[i] ?? 0) / n;
    meanR += r / n;
  }
  let sst = 0;
  let sse = 0;
  let c0 = 0;
  let c1 = 0;
  let positive = 0;
  let negative = 0;
  let runs = 0;
  let lastSign = 0;
  for (let i = 0; i < n; i++) {
    const r = residuals[i] ?? 0;
    sst += ((y[i] ?? 0) - meanY) ** 2;
    sse += r * r;
    const centred = r - meanR;
    c0 += centred * centred;
    if (i > 0) c1 += centred * ((residuals[i - 1] ?? 0) - meanR);
    const sign = Math.sign(r);
    if (sign === 0) continue;
    if (sign > 0) positive++;
    else negative++;
    if (sign !== lastSign) runs++;
    lastSign = sign;
  }
  const residualStd = Math.sqrt(sse / Math.max(1, n - 4));
  const residualToNoise = noiseStd > 0 ? residualStd / noiseStd : residualStd > 0 ? Number.POSITIVE_INFINITY : 1;
  const lag1 = c0 > 0 ? c1 / c0 : 0;
  const m = positive + negative;
  const runsMean = (2 * positive * negative) / Math.max(1, m) + 1;
  const runsVar = (2 * positive * negative * (2 * positive * negative - m)) / Math.max(1, m * m * (m - 1));
  const runsZ = runsVar > 0 ? (runs - runsMean) / Math.sqrt(runsVar) : 0;

  const reasons: string[] = [];
  const ratioLimit = Math.max(MISFIT_THRESHOLDS.residualToNoise, 1 + 6 / Math.sqrt(n));
  if (residualToNoise > ratioLimit) {
    reasons.push(`residual σ is ${fmtRatio(residualToNoise)}× the noise σ ${noiseStd.toPrecision(3)} (limit ${ratioLimit.toFixed(2)}×)`);
  }
  const lagLimit = Math.max(MISFIT_THRESHOLDS.lag1Autocorrelation, 4 / Math.sqrt(n));
  if (lag1 > lagLimit) {
    reasons.push(`residuals are correlated: lag-1 autocorrelation ${lag1.toFixed(2)} (limit ${lagLimit.toFixed(2)}), runs z ${runsZ.toFixed(1)}`);
  }
  for (const parameter of atBounds) {
    if (parameter === 'deadTimeS' && deadAtZero) continue;
    reasons.push(`${parameter === 'tauS' ? 'τ' : 'θ'} sits at a bound of the search`);
  }
  return {
    rSquared: sst > 0 ? 1 - sse / sst : Number.NaN,
    noiseStd,
    residualToNoise,
    lag1Autocorrelation: lag1,
    runsZ,
    atBounds,
    verdict: reasons.length === 0 ? 'ok' : 'misfit',
    reasons,
  };
}

function fmtRatio(value: number): string {
  return Number.isFinite(value) ? value.toFixed(2) : '∞';
}

/**
 * Fits only the gain (and initial level) of a step response whose τ and θ are known,
 * e.g. a plane's response to a neighbour's step once its own τ and θ are identified.
 * Linear least squares, so a zero response gives a gain near zero rather than an error.
 */
export function fitGainKnownDynamics(record: StepRecord, tauS: number, deadTimeS: number): { initial: Estimate; gain: Estimate } {
  const { t, y } = validateRecord(record);
  const n = t.length;
  let s1 = 0;
  let ss = 0;
  let sy = 0;
  let sxy = 0;
  const shape = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const ti = t[i] ?? 0;
    const s = ti < deadTimeS ? 0 : 1 - Math.exp(-(ti - deadTimeS) / tauS);
    shape[i] = s;
    s1 += s;
    ss += s * s;
    sy += y[i] ?? 0;
    sxy += s * (y[i] ?? 0);
  }
  const det = n * ss - s1 * s1;
  if (!(det > 0)) throw new IdentFitFailedError('the record holds no samples after the dead time');
  const gain = (n * sxy - s1 * sy) / det;
  const initial = (sy - gain * s1) / n;
  let sse = 0;
  for (let i = 0; i < n; i++) sse += ((y[i] ?? 0) - initial - gain * (shape[i] ?? 0)) ** 2;
  const variance = sse / Math.max(1, n - 2);
  return {
    initial: { value: initial, ci95: Z95 * Math.sqrt((variance * ss) / det) },
    gain: { value: gain, ci95: Z95 * Math.sqrt((variance * n) / det) },
  };
}
