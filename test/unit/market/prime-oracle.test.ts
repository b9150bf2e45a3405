import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { PrimeOracle, isPrime64 } from '../../../src/market/prime-oracle.js';
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

test('the oracle pays new primes once and counts every rejection by kind', () => {
  const oracle = new PrimeOracle(5_000_000n);
  const first = oracle.verify('scientist', { from: 100n, to: 200n, primes: [101n, 103n, 105n, 101n, 211n, -7n] });
  assert.deepEqual(first.counts, { accepted: 2, composite: 1, duplicate: 1, 'out-of-range': 1, invalid: 1 });
  assert.equal(first.incomeMicroJ, 10_000_000n);
  const again = oracle.verify('leech', { from: 100n, to: 200n, primes: [103n] });
  assert.equal(again.counts.duplicate, 1);
  assert.equal(again.incomeMicroJ, 0n, 'another agent reporting a known prime earns nothing');
  assert.equal(oracle.verify('x', { from: 5n, to: 1n, primes: [3n] }).counts.invalid, 1, 'an empty range is invalid');
  assert.deepEqual(oracle.totals, { accepted: 2, composite: 1, duplicate: 2, 'out-of-range': 1, invalid: 2 });
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
