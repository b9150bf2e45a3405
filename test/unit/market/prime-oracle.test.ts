import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { CreditedRanges, PrimeOracle, isPrime64 } from '../../../src/market/prime-oracle.js';
import { SeededRandom } from '../../../src/internal/seeded-random.js';
import { sieveSegment } from '../../../src/agents/scientist.js';

test('Miller–Rabin agrees with the sieve below 10⁵ and knows the hard cases', () => {
  let count = 0;
  for (let n = 0n; n < 100_000n; n++) if (isPrime64(n)) count++;
  assert.equal(count, sieveSegment(2, 100_000).count);
  // Strong pseudoprimes to several bases, Carmichael numbers, and 64-bit extremes.
  // 561: Carmichael; 3215031751: strong pseudoprime to bases 2, 3, 5, 7; 3825123056546413051: to bases 2–23.
  for (const composite of [561n, 3215031751n, 3825123056546413051n, (1n << 64n) - 1n]) {
    assert.equal(isPrime64(composite), false, String(composite));
  }
  assert.equal(isPrime64(18446744073709551557n), true, 'the largest 64-bit prime');
  assert.equal(isPrime64(2305843009213693951n), true, 'Mersenne 2^61 − 1');
});

/** The twelve-prime-base test, written independently: the reference the seven-base oracle must agree with. */
function referenceIsPrime(n: bigint): boolean {
  if (n < 2n) return false;
  const bases = [2n, 3n, 5n, 7n, 11n, 13n, 17n, 19n, 23n, 29n, 31n, 37n];
  for (const p of bases) if (n % p === 0n) return n === p;
  let d = n - 1n;
  let r = 0;
  for (; d % 2n === 0n; r++) d /= 2n;
  const pow = (b: bigint, e: bigint): bigint => {
    let result = 1n;
    for (let x = b % n, k = e; k > 0n; k >>= 1n, x = (x * x) % n) if (k & 1n) result = (result * x) % n;
    return result;
  };
  return bases.every((a) => {
    let x = pow(a, d);
    if (x === 1n || x === n - 1n) return true;
    for (let i = 1; i < r; i++) if ((x = (x * x) % n) === n - 1n) return true;
    return false;
  });
}

test('property: the seven-base test agrees with twelve prime bases on 64-bit numbers, semiprimes and near-squares', () => {
  const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
  // Products of two primes near 2³²: the composites a weak base set lets through.
  const semiprime = fc.tuple(fc.bigInt({ min: 1n << 31n, max: 1n << 32n }), fc.bigInt({ min: 1n << 31n, max: 1n << 32n })).map(([a, b]) => {
    const next = (x: bigint): bigint => { let y = x | 1n; while (!referenceIsPrime(y)) y += 2n; return y; };
    return next(a) * next(b);
  }).filter((n) => n < 1n << 64n);
  fc.assert(fc.property(fc.oneof(u64, semiprime), (n) => isPrime64(n) === referenceIsPrime(n)), { numRuns: 3000, seed: 20261206 });
  for (const base of [2n, 325n, 9375n, 28178n, 450775n, 9780504n, 1795265022n]) assert.equal(isPrime64(base), referenceIsPrime(base), `a witness itself: ${String(base)}`);
});

test('the oracle pays new primes once and counts every rejection by kind', () => {
  const oracle = new PrimeOracle(5_000_000n);
  const first = oracle.verify('scientist', { from: 100n, to: 200n, primes: [101n, 103n, 105n, 101n, 211n, -7n] });
  assert.deepEqual(first.counts, { accepted: 2, composite: 1, duplicate: 1, 'out-of-range': 1, invalid: 1, unverified: 0 });
  assert.equal(first.incomeMicroJ, 10_000_000n);
  const again = oracle.verify('leech', { from: 100n, to: 200n, primes: [103n] });
  assert.equal(again.counts.duplicate, 1);
  assert.equal(again.incomeMicroJ, 0n, 'another agent reporting a known prime earns nothing');
  assert.equal(oracle.verify('x', { from: 5n, to: 1n, primes: [3n] }).counts.invalid, 1, 'an empty range is invalid');
  assert.deepEqual(oracle.totals, { accepted: 2, composite: 1, duplicate: 2, 'out-of-range': 1, invalid: 2, unverified: 0 });
});

test('property: income is exactly the accepted count times the rate; nothing is paid twice', () => {
  fc.assert(
    fc.property(fc.array(fc.bigInt({ min: 0n, max: 10_000n }), { maxLength: 50 }), (claimed) => {
      const oracle = new PrimeOracle(7n);
      const a = oracle.verify('a', { from: 0n, to: 10_001n, primes: claimed });
      const b = oracle.verify('b', { from: 0n, to: 10_001n, primes: claimed });
      assert.equal(a.incomeMicroJ, 7n * BigInt(a.counts.accepted));
      assert.equal(b.counts.accepted, 0);
      assert.equal(new Set(claimed.filter(isPrime64)).size, a.counts.accepted);
    }),
  );
});

function primesIn(from: bigint, to: bigint): bigint[] {
  const out: bigint[] = [];
  for (let n = from; n < to; n++) if (isPrime64(n)) out.push(n);
  return out;
}

test('credited ranges merge as contiguous reports arrive: memory grows with gaps, not primes', () => {
  const ranges = new CreditedRanges();
  ranges.add(10n, 20n);
  ranges.add(30n, 40n);
  ranges.add(20n, 30n);
  assert.equal(ranges.size, 1);
  assert.ok(ranges.has(10n) && ranges.has(39n) && !ranges.has(40n) && !ranges.has(9n));
  ranges.add(50n, 60n);
  ranges.add(5n, 55n);
  assert.equal(ranges.size, 1);
  assert.ok(ranges.has(5n) && ranges.has(59n) && !ranges.has(60n));
  const oracle = new PrimeOracle(1n);
  for (let k = 0n; k < 200n; k++) oracle.verify('s', { from: 1000n + k * 100n, to: 1100n + k * 100n, primes: primesIn(1000n + k * 100n, 1100n + k * 100n) });
  assert.equal(oracle.creditedRanges, 1, '200 contiguous reports: one credited range');
});

test('sampled verification pays honest reports in full and forfeits a cheater’s whole report', () => {
  const honest = primesIn(1_000_000n, 1_010_000n);
  const oracle = new PrimeOracle(10n, { sample: 8, random: () => 0.5 });
  const paid = oracle.verify('s', { from: 1_000_000n, to: 1_010_000n, primes: honest });
  assert.equal(paid.counts.accepted, honest.length);
  assert.equal(paid.incomeMicroJ, 10n * BigInt(honest.length));
  // A cheater pads real primes with 30 % odd composites: caught with probability 1 − 0.7⁸ ≈ 94 % per report.
  let caught = 0;
  let income = 0n;
  const random = new SeededRandom(11);
  const cheatOracle = new PrimeOracle(10n, { sample: 8, random: () => random.uniform() });
  for (let r = 0n; r < 50n; r++) {
    const from = 2_000_000n + r * 2000n;
    const real = primesIn(from, from + 2000n);
    const fake: bigint[] = [];
    for (let n = from + 1n; fake.length < Math.ceil(real.length * 0.43); n += 2n) if (!isPrime64(n)) fake.push(n);
    const verdict = cheatOracle.verify('cheat', { from, to: from + 2000n, primes: [...real, ...fake] });
    if (verdict.counts.composite > 0) {
      caught++;
      assert.equal(verdict.incomeMicroJ, 0n);
      assert.equal(verdict.counts.composite + verdict.counts.unverified, real.length + fake.length);
    }
    income += verdict.incomeMicroJ;
  }
  assert.ok(caught >= 40, `caught only ${String(caught)} of 50 cheating reports`);
  const honestIncome = 10n * BigInt(primesIn(2_000_000n, 2_100_000n).length);
  assert.ok(income < honestIncome, 'cheating earns less than honest work would have');
});
