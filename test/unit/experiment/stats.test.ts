import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { mean, meanInterval, ratioInterval, sampleCovariance, sampleVariance, tQuantile } from '../../../src/experiment/stats.js';

const close = (actual: number | null, expected: number, tol: number, what: string): void => {
  assert.ok(actual !== null && Math.abs(actual - expected) <= tol, `${what}: ${String(actual)} ≠ ${expected} (± ${tol})`);
};

test('t quantiles match the printed table (two-sided 95 % and one-sided 95 %)', () => {
  // Student-t table, e.g. NIST/SEMATECH e-Handbook 1.3.6.7.2.
  const table: [p: number, df: number, t: number][] = [
    [0.975, 1, 12.706],
    [0.975, 2, 4.303],
    [0.975, 3, 3.182],
    [0.975, 4, 2.776],
    [0.975, 9, 2.262],
    [0.975, 30, 2.042],
    [0.975, 100, 1.984],
    [0.95, 10, 1.812],
    [0.995, 5, 4.032],
  ];
  for (const [p, df, t] of table) close(tQuantile(p, df), t, 5e-4, `t(${p}, ${df})`);
  close(tQuantile(0.975, 1e9), 1.959964, 1e-5, 'large df tends to the normal quantile');
  close(tQuantile(0.025, 4), -2.776, 5e-4, 'lower tail is symmetric');
});

test('mean and variance: known values, stable for large offsets, garbage refused', () => {
  assert.equal(mean([1, 2, 3, 4]), 2.5);
  assert.equal(sampleVariance([2, 4, 4, 4, 5, 5, 7, 9]), 32 / 7);
  // Welford keeps the variance exact where the naive sum of squares loses it.
  close(sampleVariance([1e9 + 4, 1e9 + 7, 1e9 + 13, 1e9 + 16]), 30, 1e-6, 'variance with a large offset');
  assert.equal(sampleCovariance([1, 2, 3], [2, 4, 6]), 2);
  assert.throws(() => mean([]), { code: 'MXW_ERR_INVALID_ARG' });
  assert.throws(() => mean([1, Number.NaN]), { code: 'MXW_ERR_INVALID_ARG' });
  assert.throws(() => sampleVariance([1]), { code: 'MXW_ERR_INVALID_ARG' });
  assert.throws(() => sampleCovariance([1, 2], [1, 2, 3]), { code: 'MXW_ERR_INVALID_ARG' });
  assert.throws(() => tQuantile(1, 3), { code: 'MXW_ERR_INVALID_ARG' });
  assert.throws(() => tQuantile(0.5, 0), { code: 'MXW_ERR_INVALID_ARG' });
});

test('Student-t interval of the mean: worked examples', () => {
  // [1, 2, 3]: mean 2, sd 1, t(0.975, 2) = 4.302653 → 2 ± 4.302653/√3.
  const a = meanInterval([1, 2, 3]);
  assert.equal(a.n, 3);
  assert.equal(a.mean, 2);
  assert.equal(a.sd, 1);
  close(a.low, 2 - 2.484138, 1e-6, 'low');
  close(a.high, 2 + 2.484138, 1e-6, 'high');
  // Ten values with mean 5.5, sd 3.02765: 5.5 ± 2.262157 · 3.02765 / √10 = 5.5 ± 2.1658506.
  const b = meanInterval([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  close(b.low, 3.3341494, 1e-6, 'low of 1..10');
  close(b.high, 7.6658506, 1e-6, 'high of 1..10');
  // A 90 % interval is narrower.
  const c = meanInterval([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9);
  assert.ok(c.high - c.low < b.high - b.low);
  assert.throws(() => meanInterval([1]), { code: 'MXW_ERR_INVALID_ARG' });
  assert.throws(() => meanInterval([1, 2], 1), { code: 'MXW_ERR_INVALID_ARG' });
});

/** The paired t statistic of mean(num − ρ·den) = 0; Fieller's bounds are where |T| = t. */
function pairedT(num: readonly number[], den: readonly number[], rho: number): number {
  const d = num.map((x, i) => x - rho * den[i]!);
  return mean(d) / Math.sqrt(sampleVariance(d) / d.length);
}

/** Bisection for |T(ρ)| = t between a point inside the interval and one outside. */
function bisect(f: (rho: number) => number, inside: number, outside: number): number {
  let lo = inside;
  let hi = outside;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (f(mid) <= 0) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

test('paired Fieller interval: a worked example checked by root-finding on the paired t-test', () => {
  const maxwell = [0.95, 1.1, 1.02, 0.88];
  const cfs = [0.51, 0.6, 0.55, 0.52];
  const r = ratioInterval(maxwell, cfs);
  assert.equal(r.method, 'fieller-paired');
  assert.equal(r.df, 3);
  assert.ok(r.bounded);
  close(r.estimate, mean(maxwell) / mean(cfs), 1e-12, 'estimate');
  const t = tQuantile(0.975, 3);
  const excess = (rho: number): number => Math.abs(pairedT(maxwell, cfs, rho)) - t;
  close(r.low, bisect(excess, r.estimate, 0), 1e-9, 'low bound by bisection');
  close(r.high, bisect(excess, r.estimate, 100), 1e-9, 'high bound by bisection');
  assert.ok(r.low! < r.estimate && r.estimate < r.high!);
});

test('independent Fieller interval solves (a − ρb)² = t²(v₁₁ + ρ²v₂₂) at its bounds', () => {
  const num = [10, 12, 11, 13, 9];
  const den = [5, 5.5, 4.5];
  const r = ratioInterval(num, den, { paired: false });
  assert.equal(r.method, 'fieller-independent');
  assert.equal(r.df, 2);
  const a = mean(num);
  const b = mean(den);
  const v11 = sampleVariance(num) / num.length;
  const v22 = sampleVariance(den) / den.length;
  const t2 = tQuantile(0.975, 2) ** 2;
  for (const rho of [r.low!, r.high!]) close((a - rho * b) ** 2 - t2 * (v11 + rho * rho * v22), 0, 1e-9, `quadratic at ${rho}`);
});

test('Fieller: zero spread gives a point, a noisy denominator near zero gives no finite interval', () => {
  const point = ratioInterval([2, 2, 2], [1, 1, 1]);
  assert.deepEqual([point.low, point.high, point.bounded], [2, 2, true]);
  const unbounded = ratioInterval([1, 1.2, 0.9], [0.5, -0.4, 0.1]);
  assert.equal(unbounded.bounded, false);
  assert.equal(unbounded.low, null);
  assert.equal(unbounded.high, null);
  assert.ok(unbounded.g >= 1);
  assert.throws(() => ratioInterval([1, 2], [1, -1]), { code: 'MXW_ERR_INVALID_ARG' }, 'denominator mean 0');
  assert.throws(() => ratioInterval([1, 2, 3], [1, 2]), { code: 'MXW_ERR_INVALID_ARG' }, 'paired needs pairs');
});

test('property: when bounded, the interval contains the estimate and scales with the numerator', () => {
  const sample = fc.array(fc.double({ min: 0.1, max: 10, noNaN: true }), { minLength: 3, maxLength: 8 });
  fc.assert(
    fc.property(sample, sample, fc.double({ min: 0.5, max: 5, noNaN: true }), (num, den0, k) => {
      const den = num.map((_, i) => den0[i % den0.length]!);
      const r = ratioInterval(num, den);
      if (!r.bounded) return;
      assert.ok(r.low! <= r.estimate + 1e-9 && r.estimate <= r.high! + 1e-9);
      const scaled = ratioInterval(num.map((x) => x * k), den);
      close(scaled.low, r.low! * k, 1e-6 * Math.max(1, Math.abs(r.low! * k)), 'scaled low');
      close(scaled.high, r.high! * k, 1e-6 * Math.max(1, Math.abs(r.high! * k)), 'scaled high');
    }),
    { numRuns: 200 },
  );
});
