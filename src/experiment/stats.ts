/**
 * The statistics of the experiment report: means, Student-t confidence intervals, and a
 * confidence interval for the ratio of two means (Fieller's theorem). Pure: numbers in,
 * numbers out, no I/O.
 *
 * Why Fieller for the ratio (maxwell primes/J ÷ cfs primes/J): the experiment runs few
 * repetitions (3 by default), each with both arms, so
 * - a bootstrap has almost nothing to resample (3 pairs give 10 distinct resamples) and its
 *   interval would be far too narrow;
 * - the delta method (on the ratio or on its logarithm) is a large-sample approximation;
 * - Fieller's interval is exact when the per-repetition values are normal, uses the pairing of
 *   the arms within a repetition (their covariance cancels drift shared by both arms, such as
 *   the room warming up), carries the uncertainty of the denominator, and says honestly when
 *   the data cannot bound the ratio at all (the denominator's mean is not distinguishable from
 *   zero), instead of printing a misleading finite interval.
 * It is the interval for exactly the ratio the report prints (the ratio of the two arm means),
 * so the estimate, the per-arm means and the interval agree with each other.
 */
import tQuantileStdlib from '@stdlib/stats-base-dists-t-quantile';
import { InvalidArgumentError } from '../errors.js';

/** The default confidence level of every interval in the report. */
export const DEFAULT_CONFIDENCE = 0.95;

/** A mean with its Student-t confidence interval. */
export interface MeanInterval {
  /** Number of samples. */
  readonly n: number;
  readonly mean: number;
  /** Sample standard deviation (n − 1 in the denominator). */
  readonly sd: number;
  /** Confidence level, e.g. 0.95. */
  readonly level: number;
  readonly low: number;
  readonly high: number;
}

/** How a ratio interval was computed. */
export type RatioMethod = 'fieller-paired' | 'fieller-independent';

/** A ratio of two means with its confidence interval. */
export interface RatioInterval {
  /** mean(numerator) / mean(denominator). */
  readonly estimate: number;
  readonly level: number;
  /** Lower bound; null when the data cannot bound the ratio (see `bounded`). */
  readonly low: number | null;
  /** Upper bound; null when the data cannot bound the ratio. */
  readonly high: number | null;
  /**
   * False when the denominator's mean is not significantly different from zero at this level
   * (Fieller's g ≥ 1): the confidence set is then unbounded and no finite interval is honest.
   */
  readonly bounded: boolean;
  readonly method: RatioMethod;
  /** Degrees of freedom of the t quantile used. */
  readonly df: number;
  /** Fieller's g = t²·Var(mean denominator) / mean(denominator)²; the interval is bounded when g < 1. */
  readonly g: number;
}

function checkSamples(xs: readonly number[], name: string, min: number): void {
  if (xs.length < min) throw new InvalidArgumentError(`${name} needs at least ${min} sample(s), got ${xs.length}`);
  for (const x of xs) if (!Number.isFinite(x)) throw new InvalidArgumentError(`${name} has a value that is not a finite number: ${String(x)}`);
}

function checkLevel(level: number): void {
  if (!(level > 0 && level < 1)) throw new InvalidArgumentError(`invalid confidence level: ${String(level)} (expected 0 < level < 1)`);
}

/** Arithmetic mean. Throws `MXW_ERR_INVALID_ARG` for an empty array or a non-finite value. */
export function mean(xs: readonly number[]): number {
  checkSamples(xs, 'mean', 1);
  let m = 0;
  // Running mean (Welford's update) rather than sum / n: no overflow for large values.
  xs.forEach((x, i) => (m += (x - m) / (i + 1)));
  return m;
}

/** Sample variance (n − 1 in the denominator), by Welford's algorithm. Needs ≥ 2 samples. */
export function sampleVariance(xs: readonly number[]): number {
  checkSamples(xs, 'sampleVariance', 2);
  let m = 0;
  let m2 = 0;
  xs.forEach((x, i) => {
    const d = x - m;
    m += d / (i + 1);
    m2 += d * (x - m);
  });
  return m2 / (xs.length - 1);
}

/** Sample covariance of paired samples (n − 1 in the denominator). Needs ≥ 2 pairs. */
export function sampleCovariance(xs: readonly number[], ys: readonly number[]): number {
  checkSamples(xs, 'sampleCovariance', 2);
  checkSamples(ys, 'sampleCovariance', 2);
  if (xs.length !== ys.length) throw new InvalidArgumentError(`sampleCovariance needs paired samples, got ${xs.length} and ${ys.length}`);
  const mx = mean(xs);
  const my = mean(ys);
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += ((xs[i] ?? 0) - mx) * ((ys[i] ?? 0) - my);
  return s / (xs.length - 1);
}

/**
 * The p-quantile of Student's t distribution with `df` degrees of freedom
 * (from `@stdlib/stats-base-dists-t-quantile`).
 * @example tQuantile(0.975, 2) // 4.302652729911275
 */
export function tQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new InvalidArgumentError(`invalid probability: ${String(p)} (expected 0 < p < 1)`);
  if (!(df > 0) || Number.isNaN(df)) throw new InvalidArgumentError(`invalid degrees of freedom: ${String(df)}`);
  return tQuantileStdlib(p, df);
}

/**
 * The mean of `xs` with its two-sided Student-t confidence interval,
 * mean ± t(1 − α/2, n − 1)·sd/√n. Needs ≥ 2 samples.
 * @example meanInterval([1, 2, 3]) // { n: 3, mean: 2, sd: 1, low: -0.484…, high: 4.484…, level: 0.95 }
 */
export function meanInterval(xs: readonly number[], level = DEFAULT_CONFIDENCE): MeanInterval {
  checkLevel(level);
  checkSamples(xs, 'meanInterval', 2);
  const n = xs.length;
  const m = mean(xs);
  const sd = Math.sqrt(sampleVariance(xs));
  const half = (tQuantile(1 - (1 - level) / 2, n - 1) * sd) / Math.sqrt(n);
  return { n, mean: m, sd, level, low: m - half, high: m + half };
}

/** Options of {@link ratioInterval}. */
export interface RatioOptions {
  /** Confidence level. @default 0.95 */
  readonly level?: number;
  /**
   * Whether numerator[i] and denominator[i] come from the same repetition (the experiment's
   * arms alternate within each repetition, so they do). Paired: the covariance of the two means
   * enters the interval and df = n − 1. Independent: covariance 0 and, conservatively,
   * df = min(n₁, n₂) − 1.
   * @default true
   */
  readonly paired?: boolean;
}

/**
 * Fieller's confidence interval for mean(numerator) / mean(denominator).
 *
 * With a = mean(numerator), b = mean(denominator), v₁₁, v₂₂ the variances of those means,
 * v₁₂ their covariance and t the two-sided t quantile, the interval is the set of ρ with
 * (a − ρb)² ≤ t²·(v₁₁ − 2ρv₁₂ + ρ²v₂₂), i.e. the ρ for which a t-test does not reject
 * "mean(numerator − ρ·denominator) = 0". Solving the quadratic gives
 *
 *   ρ = [ab − t²v₁₂ ± √((ab − t²v₁₂)² − (b² − t²v₂₂)(a² − t²v₁₁))] / (b² − t²v₂₂),
 *
 * a finite interval exactly when b² > t²v₂₂ (g < 1). Otherwise `bounded` is false and both
 * bounds are null.
 */
export function ratioInterval(numerator: readonly number[], denominator: readonly number[], options: RatioOptions = {}): RatioInterval {
  const level = options.level ?? DEFAULT_CONFIDENCE;
  const paired = options.paired ?? true;
  checkLevel(level);
  checkSamples(numerator, 'ratioInterval numerator', 2);
  checkSamples(denominator, 'ratioInterval denominator', 2);
  if (paired && numerator.length !== denominator.length) {
    throw new InvalidArgumentError(`paired ratioInterval needs as many numerators as denominators, got ${numerator.length} and ${denominator.length}`);
  }
  const n1 = numerator.length;
  const n2 = denominator.length;
  const a = mean(numerator);
  const b = mean(denominator);
  if (b === 0) throw new InvalidArgumentError('ratioInterval: the denominator has mean 0, so the ratio is undefined');
  const v11 = sampleVariance(numerator) / n1;
  const v22 = sampleVariance(denominator) / n2;
  const v12 = paired ? sampleCovariance(numerator, denominator) / n1 : 0;
  const df = paired ? n1 - 1 : Math.min(n1, n2) - 1;
  const t = tQuantile(1 - (1 - level) / 2, df);
  const t2 = t * t;
  const estimate = a / b;
  const g = (t2 * v22) / (b * b);
  const method: RatioMethod = paired ? 'fieller-paired' : 'fieller-independent';
  const denom = b * b - t2 * v22;
  if (!(g < 1) || denom <= 0) return { estimate, level, low: null, high: null, bounded: false, method, df, g };
  const centre = a * b - t2 * v12;
  // The discriminant is ≥ 0 whenever denom > 0 (Cauchy–Schwarz on the covariance matrix);
  // clamp tiny negative rounding errors, e.g. for zero-variance data.
  const disc = Math.max(0, centre * centre - denom * (a * a - t2 * v11));
  const root = Math.sqrt(disc);
  return { estimate, level, low: (centre - root) / denom, high: (centre + root) / denom, bounded: true, method, df, g };
}
