/**
 * Features of one window of an activity trace (pure): statistics, spectrum, periodicity,
 * autocorrelation and burst structure of the CPU series — where inference (bursts of prefill
 * and decode with idle gaps), mining (flat), science (flat, with its own fault and switch
 * pattern) and polling (short regular spikes) differ — and the means and spreads of the other
 * channels. Names in `FEATURE_NAMES`, same order as the vector.
 */
import { CHANNEL_COUNT, TRACE_CHANNELS, type ActivityTrace } from './trace.js';

const LAGS = [1, 2, 5, 10, 25] as const;
/** Spectral bands, Hz (the upper edge of the last is the Nyquist frequency). */
const BANDS = [0.5, 2, 5, 15] as const;
const BUSY = 0.8;
const IDLE = 0.05;
const BURST_THRESHOLD = 0.5;

const CPU_FEATURES = [
  'cpu.mean', 'cpu.std', 'cpu.max', 'cpu.p10', 'cpu.p90', 'cpu.skew', 'cpu.kurtosis',
  'cpu.busyFraction', 'cpu.idleFraction',
  'cpu.burstsPerS', 'cpu.burstMeanS', 'cpu.gapMeanS', 'cpu.burstCv',
  ...LAGS.map((l) => `cpu.acf${String(l)}`),
  'cpu.dominantHz', 'cpu.spectralFlatness',
  ...BANDS.map((_, i) => `cpu.band${String(i)}`), 'cpu.bandTop',
] as const;

const OTHER_CHANNELS = TRACE_CHANNELS.slice(1);

export const FEATURE_NAMES: readonly string[] = [
  ...CPU_FEATURES,
  ...OTHER_CHANNELS.flatMap((c) => [`${c.name}.mean`, `${c.name}.std`]),
  'rssMiB.range',
  'ctxVoluntary.perCpuS',
  'minorFaults.perCpuS',
  'ioWriteKiB.perCpuS',
];

function mean(x: Float64Array): number {
  let s = 0;
  for (const v of x) s += v;
  return x.length === 0 ? 0 : s / x.length;
}

function moments(x: Float64Array, m: number): { std: number; skew: number; kurtosis: number } {
  let m2 = 0;
  let m3 = 0;
  let m4 = 0;
  for (const v of x) {
    const d = v - m;
    m2 += d * d;
    m3 += d * d * d;
    m4 += d * d * d * d;
  }
  const n = Math.max(1, x.length);
  m2 /= n;
  m3 /= n;
  m4 /= n;
  const std = Math.sqrt(m2);
  // A flat series has no shape: 0, not NaN (the forest needs finite inputs).
  return { std, skew: std > 1e-9 ? m3 / std ** 3 : 0, kurtosis: std > 1e-9 ? m4 / m2 ** 2 - 3 : 0 };
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1)))] ?? 0;
}

function autocorrelation(x: Float64Array, m: number, lag: number): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < x.length; i++) {
    const d = (x[i] ?? 0) - m;
    den += d * d;
    if (i + lag < x.length) num += d * ((x[i + lag] ?? 0) - m);
  }
  return den > 1e-12 ? num / den : 0;
}

/** Power spectrum of the mean-removed series, bins 1…n/2 (a plain DFT: windows are ~100 samples). */
function powerSpectrum(x: Float64Array, m: number): Float64Array {
  const n = x.length;
  const half = Math.floor(n / 2);
  const out = new Float64Array(half);
  for (let k = 1; k <= half; k++) {
    let re = 0;
    let im = 0;
    const w = (-2 * Math.PI * k) / n;
    for (let t = 0; t < n; t++) {
      const v = (x[t] ?? 0) - m;
      re += v * Math.cos(w * t);
      im += v * Math.sin(w * t);
    }
    out[k - 1] = (re * re + im * im) / n;
  }
  return out;
}

/** Busy runs (above the threshold) and the gaps between them, in samples. */
function bursts(x: Float64Array): { count: number; meanBurst: number; meanGap: number; cv: number } {
  const runs: number[] = [];
  const gaps: number[] = [];
  let run = 0;
  let gap = 0;
  for (const v of x) {
    if (v >= BURST_THRESHOLD) {
      if (gap > 0 && runs.length > 0) gaps.push(gap);
      gap = 0;
      run++;
    } else {
      if (run > 0) runs.push(run);
      run = 0;
      gap++;
    }
  }
  if (run > 0) runs.push(run);
  const m = runs.length === 0 ? 0 : runs.reduce((a, b) => a + b, 0) / runs.length;
  const sd = runs.length < 2 ? 0 : Math.sqrt(runs.reduce((a, b) => a + (b - m) ** 2, 0) / runs.length);
  return { count: runs.length, meanBurst: m, meanGap: gaps.length === 0 ? 0 : gaps.reduce((a, b) => a + b, 0) / gaps.length, cv: m > 0 ? sd / m : 0 };
}

/** The feature vector of rows [from, from + rows) of `trace`. */
export function windowFeatures(trace: ActivityTrace, from: number, rows: number): Float64Array {
  const out = new Float64Array(FEATURE_NAMES.length);
  const hz = trace.rateHz;
  const seconds = rows / hz;
  const cpu = trace.column(0, from, rows);
  const m = mean(cpu);
  const { std, skew, kurtosis } = moments(cpu, m);
  const sorted = Float64Array.from(cpu).sort();
  const b = bursts(cpu);
  const spectrum = powerSpectrum(cpu, m);
  let total = 0;
  let peak = 0;
  let peakBin = 0;
  let logSum = 0;
  for (let i = 0; i < spectrum.length; i++) {
    const p = spectrum[i] ?? 0;
    total += p;
    logSum += Math.log(p + 1e-12);
    if (p > peak) {
      peak = p;
      peakBin = i + 1;
    }
  }
  const flatness = spectrum.length > 0 && total > 1e-12 ? Math.exp(logSum / spectrum.length) / (total / spectrum.length) : 1;
  const bands = new Float64Array(BANDS.length + 1);
  for (let i = 0; i < spectrum.length; i++) {
    const f = ((i + 1) * hz) / rows;
    let band = BANDS.findIndex((edge) => f < edge);
    if (band < 0) band = BANDS.length;
    bands[band] = (bands[band] ?? 0) + (spectrum[i] ?? 0);
  }
  let k = 0;
  const put = (v: number): void => {
    out[k++] = Number.isFinite(v) ? v : 0;
  };
  put(m);
  put(std);
  put(sorted[sorted.length - 1] ?? 0);
  put(quantile(sorted, 0.1));
  put(quantile(sorted, 0.9));
  put(skew);
  put(kurtosis);
  put(cpu.filter((v) => v >= BUSY).length / Math.max(1, rows));
  put(cpu.filter((v) => v <= IDLE).length / Math.max(1, rows));
  put(b.count / seconds);
  put(b.meanBurst / hz);
  put(b.meanGap / hz);
  put(b.cv);
  for (const lag of LAGS) put(autocorrelation(cpu, m, lag));
  put((peakBin * hz) / rows);
  put(flatness);
  for (const band of bands) put(total > 1e-12 ? band / total : 0);
  const means: number[] = [];
  for (let c = 1; c < CHANNEL_COUNT; c++) {
    const x = trace.column(c, from, rows);
    const cm = mean(x);
    means.push(cm);
    put(cm);
    put(moments(x, cm).std);
  }
  const rss = trace.column(4, from, rows);
  put(Math.max(...rss) - Math.min(...rss));
  const cpuS = Math.max(1e-3, m);
  put((means[0] ?? 0) / cpuS);
  put((means[2] ?? 0) / cpuS);
  put((means[5] ?? 0) / cpuS);
  return out;
}
