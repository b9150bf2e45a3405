/**
 * Reading the daemon's `/metrics` (the Prometheus text exposition format) from outside it, as a
 * monitoring system would: plain samples by series, and quantiles over a window from the
 * difference of two scrapes of a cumulative histogram.
 */

/** Every sample of one scrape, keyed by series as written (`name` or `name{label="v",…}`). */
export type Scrape = ReadonlyMap<string, number>;

/**
 * How much the counter `name` rose from `before` to `after`, summed over its series; a series new in
 * `after` counts from 0, one that went backwards (a restart) or disappeared counts nothing.
 */
export function counterIncrease(before: Scrape, after: Scrape, name: string): number {
  let sum = 0;
  for (const [series, value] of after) {
    if (series !== name && !series.startsWith(`${name}{`)) continue;
    sum += Math.max(0, value - (before.get(series) ?? 0));
  }
  return sum;
}

/** How many series of gauge `name` carry `label` (e.g. `phase="running"`) with a non-zero value. */
export function seriesWith(scrape: Scrape, name: string, label: string): number {
  let n = 0;
  for (const [series, value] of scrape) if (series.startsWith(`${name}{`) && series.includes(label) && value !== 0) n++;
  return n;
}

/** Parses the text format; comments and malformed lines are skipped (a scrape is never fatal). */
export function parseScrape(text: string): Scrape {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    if (cut <= 0) continue;
    const value = Number(line.slice(cut + 1));
    if (!Number.isNaN(value)) samples.set(line.slice(0, cut).trim(), value);
  }
  return samples;
}

/** The sum of every series named `name` (an unlabelled gauge's value; NaN when absent). */
export function sampleSum(scrape: Scrape, name: string): number {
  let sum = 0;
  let found = false;
  for (const [series, value] of scrape) {
    if (series === name || series.startsWith(`${name}{`)) {
      sum += value;
      found = true;
    }
  }
  return found ? sum : Number.NaN;
}

/** A histogram's cumulative buckets (upper edge in the metric's unit, count), edges ascending, +Inf last. */
export function histogramBuckets(scrape: Scrape, name: string): { readonly le: number; readonly count: number }[] {
  const buckets: { le: number; count: number }[] = [];
  const prefix = `${name}_bucket{le="`;
  for (const [series, count] of scrape) {
    if (!series.startsWith(prefix)) continue;
    const edge = series.slice(prefix.length, series.indexOf('"', prefix.length));
    buckets.push({ le: edge === '+Inf' ? Number.POSITIVE_INFINITY : Number(edge), count });
  }
  return buckets.sort((a, b) => a.le - b.le);
}

/** What one window of a histogram holds: its count and the upper edge of the bucket holding each quantile. */
export interface WindowQuantiles {
  readonly count: number;
  /** Upper bucket edge at or above the q-quantile (a bound, not an interpolation); NaN for an empty window, Infinity past the last edge. */
  quantile(q: number): number;
  /** Fraction of the window's observations at or below `edge` (which must be a bucket edge); NaN when empty. */
  fractionAtMost(edge: number): number;
}

/** The observations between two scrapes of the histogram `name` (`before` null: since the start). */
export function windowOf(before: Scrape | null, after: Scrape, name: string): WindowQuantiles {
  const then = new Map(before === null ? [] : histogramBuckets(before, name).map((b) => [b.le, b.count]));
  const buckets = histogramBuckets(after, name).map((b) => ({ le: b.le, count: b.count - (then.get(b.le) ?? 0) }));
  const count = buckets.at(-1)?.count ?? 0;
  return {
    count,
    quantile(q: number): number {
      if (count <= 0) return Number.NaN;
      const rank = Math.ceil(q * count);
      return buckets.find((b) => b.count >= rank)?.le ?? Number.POSITIVE_INFINITY;
    },
    fractionAtMost(edge: number): number {
      if (count <= 0) return Number.NaN;
      const bucket = buckets.find((b) => b.le === edge);
      if (bucket === undefined) throw new RangeError(`${String(edge)} is not a bucket edge of ${name}`);
      return bucket.count / count;
    },
  };
}
