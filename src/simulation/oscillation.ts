/**
 * Does a series settle? Two pure measures for the GSP-stability research:
 *
 * - {@link windowStats}: mean and variance over consecutive windows, so a drift (the means
 *   move) and a growing swing (the variances rise) can be told from a steady state.
 * - {@link dominantOscillation}: the dominant period by autocorrelation. The series is
 *   detrended (least-squares line), its biased autocorrelation r(k) computed for lags up to a
 *   third of its length (so a period repeats at least three times), and the highest r(k)
 *   after r first goes negative is the candidate. A periodic part of amplitude A in noise of
 *   variance σ² gives r(P) ≈ (A²/2) / (A²/2 + σ²), so a peak of at least `minStrength`
 *   (default 0.3) means the oscillation carries ≥ 30 % of the variance; white noise gives
 *   |r| ≈ 1/√n. A series whose autocorrelation never goes negative (a trend, or a slow
 *   first-order decay) has no period. The amplitude is √(2·r·variance). With `segment`, the
 *   autocorrelations of detrended segments are averaged, so slow wander does not hide a fast
 *   cycle.
 */
import { InvalidArgumentError } from '../errors.js';

/** A periodic component found in a series. */
export interface Oscillation {
  /** Period, s. */
  readonly periodS: number;
  /** Autocorrelation at the period (0–1): the share of variance that repeats. */
  readonly strength: number;
  /** Estimated amplitude of the periodic part, in the series' units. */
  readonly amplitude: number;
}

export interface OscillationOptions {
  /** Smallest peak autocorrelation that counts. @default 0.3 */
  readonly minStrength?: number;
  /**
   * Segment length, samples: when set, the series is cut into segments of this length, each
   * detrended on its own, and their autocorrelations averaged (Bartlett). A fast cycle riding
   * on a slow wander is then found (the wander no longer keeps r(k) positive); periods up to a
   * third of a segment. @default the whole series
   */
  readonly segment?: number;
}

/**
 * The dominant oscillation of `series` sampled every `sampleS` seconds, or null when there is
 * no significant one (fewer than 12 samples per segment, constant, or no autocorrelation peak
 * ≥ the strength after r first goes negative).
 */
export function dominantOscillation(series: ArrayLike<number>, sampleS: number, options: OscillationOptions = {}): Oscillation | null {
  if (!(sampleS > 0)) throw new InvalidArgumentError(`invalid sampleS: ${String(sampleS)}`);
  const minStrength = options.minStrength ?? 0.3;
  const total = series.length;
  const length = Math.min(total, options.segment ?? total);
  if (!Number.isInteger(length) || length < 12) return null;
  const segments = Math.floor(total / length);
  const maxLag = Math.floor(length / 3);
  const products = new Float64Array(maxLag + 2);
  const x = new Float64Array(length);
  let energy = 0;
  let level = 0;
  for (let g = 0; g < segments; g++) {
    const from = g * length;
    // Detrend: subtract the least-squares line.
    let sx = 0;
    let sy = 0;
    let sxx = 0;
    let sxy = 0;
    for (let i = 0; i < length; i++) {
      const y = series[from + i] ?? 0;
      sx += i;
      sy += y;
      sxx += i * i;
      sxy += i * y;
    }
    const slope = (length * sxy - sx * sy) / (length * sxx - sx * sx);
    const intercept = (sy - slope * sx) / length;
    level += Math.abs(sy / length);
    for (let i = 0; i < length; i++) {
      const v = (series[from + i] ?? 0) - intercept - slope * i;
      x[i] = v;
      energy += v * v;
    }
    for (let k = 1; k <= maxLag + 1 && k < length; k++) {
      let sum = 0;
      for (let i = 0; i + k < length; i++) sum += (x[i] ?? 0) * (x[i + k] ?? 0);
      products[k] = (products[k] ?? 0) + sum;
    }
  }
  const scale = Math.max(1, level / segments);
  if (!(energy > 1e-24 * scale * scale * segments * length)) return null;
  const variance = energy / (segments * length);
  const r = products.map((p) => p / energy);
  let k = 1;
  while (k <= maxLag && (r[k] ?? 0) >= 0) k++;
  if (k > maxLag) return null;
  let best = -1;
  let bestR = Number.NEGATIVE_INFINITY;
  for (; k <= maxLag; k++) {
    const v = r[k] ?? 0;
    if (v > bestR && v >= (r[k - 1] ?? 0) && v >= (r[k + 1] ?? 0)) {
      bestR = v;
      best = k;
    }
  }
  if (best < 0 || bestR < minStrength) return null;
  // Parabolic interpolation of the peak for a period between samples.
  const a = r[best - 1] ?? bestR;
  const c = r[best + 1] ?? bestR;
  const curvature = a - 2 * bestR + c;
  const offset = curvature < 0 ? (0.5 * (a - c)) / curvature : 0;
  return { periodS: (best + Math.max(-0.5, Math.min(0.5, offset))) * sampleS, strength: bestR, amplitude: Math.sqrt(2 * bestR * variance) };
}

/** Mean and (population) variance of each window. */
export interface WindowStats {
  readonly means: Float64Array;
  readonly variances: Float64Array;
}

/**
 * Mean and variance of `series[from…]` in consecutive windows of `window` samples (a final
 * partial window is dropped). Non-finite samples are skipped; a window with none is NaN.
 */
export function windowStats(series: ArrayLike<number>, from: number, window: number): WindowStats {
  if (!Number.isInteger(window) || window < 1) throw new InvalidArgumentError(`invalid window: ${String(window)}`);
  const count = Math.max(0, Math.floor((series.length - from) / window));
  const means = new Float64Array(count);
  const variances = new Float64Array(count);
  for (let w = 0; w < count; w++) {
    let n = 0;
    let sum = 0;
    let sum2 = 0;
    const start = from + w * window;
    for (let i = start; i < start + window; i++) {
      const v = series[i] ?? Number.NaN;
      if (!Number.isFinite(v)) continue;
      n++;
      sum += v;
      sum2 += v * v;
    }
    const mean = n > 0 ? sum / n : Number.NaN;
    means[w] = mean;
    variances[w] = n > 0 ? Math.max(0, sum2 / n - mean * mean) : Number.NaN;
  }
  return { means, variances };
}
