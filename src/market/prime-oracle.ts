/**
 * Income for verified work: the prime oracle. Every reported prime is checked with a
 * deterministic Miller–Rabin test (the first twelve primes as bases decide every n < 3.3·10²⁴,
 * so all 64-bit integers), paid a configured number of joules when it is new, and rejected —
 * counted by kind, never paid — when it is composite, already known, or outside the range
 * the agent claimed to search.
 */
import { InvalidArgumentError } from '../errors.js';

/** Something that turns reported work into income. */
export interface WorkOracle<Claim> {
  verify(agent: string, claim: Claim): WorkVerdict;
}

export const WORK_OUTCOMES = ['accepted', 'composite', 'duplicate', 'out-of-range', 'invalid'] as const;
export type WorkOutcome = (typeof WORK_OUTCOMES)[number];

export interface WorkVerdict {
  /** Income to credit, µJ (integer). */
  readonly incomeMicroJ: bigint;
  readonly counts: Readonly<Record<WorkOutcome, number>>;
}

export interface PrimeClaim {
  /** The range the agent searched, [from, to). */
  readonly from: bigint;
  readonly to: bigint;
  readonly primes: readonly bigint[];
}

const BASES = [2n, 3n, 5n, 7n, 11n, 13n, 17n, 19n, 23n, 29n, 31n, 37n];
const MAX_U64 = (1n << 64n) - 1n;

function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  let b = base % modulus;
  let e = exponent;
  while (e > 0n) {
    if ((e & 1n) === 1n) result = (result * b) % modulus;
    b = (b * b) % modulus;
    e >>= 1n;
  }
  return result;
}

/** Deterministic primality for 0 ≤ n < 2⁶⁴. */
export function isPrime64(n: bigint): boolean {
  if (n < 2n) return false;
  for (const p of BASES) {
    if (n === p) return true;
    if (n % p === 0n) return false;
  }
  let d = n - 1n;
  let r = 0;
  while ((d & 1n) === 0n) {
    d >>= 1n;
    r++;
  }
  witness: for (const a of BASES) {
    let x = modPow(a, d, n);
    if (x === 1n || x === n - 1n) continue;
    for (let i = 1; i < r; i++) {
      x = (x * x) % n;
      if (x === n - 1n) continue witness;
    }
    return false;
  }
  return true;
}

export class PrimeOracle implements WorkOracle<PrimeClaim> {
  readonly #payMicroJ: bigint;
  readonly #known = new Set<bigint>();
  readonly totals: Record<WorkOutcome, number> = { accepted: 0, composite: 0, duplicate: 0, 'out-of-range': 0, invalid: 0 };

  /** @param microJoulesPerPrime income per new prime, µJ */
  constructor(microJoulesPerPrime: bigint) {
    if (microJoulesPerPrime < 0n) throw new InvalidArgumentError('microJoulesPerPrime must be ≥ 0');
    this.#payMicroJ = microJoulesPerPrime;
  }

  verify(_agent: string, claim: PrimeClaim): WorkVerdict {
    const counts: Record<WorkOutcome, number> = { accepted: 0, composite: 0, duplicate: 0, 'out-of-range': 0, invalid: 0 };
    const rangeOk = typeof claim.from === 'bigint' && typeof claim.to === 'bigint' && claim.from >= 0n && claim.from < claim.to && claim.to - 1n <= MAX_U64;
    for (const p of claim.primes) {
      let outcome: WorkOutcome;
      if (typeof p !== 'bigint' || p < 0n || p > MAX_U64 || !rangeOk) outcome = 'invalid';
      else if (p < claim.from || p >= claim.to) outcome = 'out-of-range';
      else if (this.#known.has(p)) outcome = 'duplicate';
      else if (!isPrime64(p)) outcome = 'composite';
      else {
        outcome = 'accepted';
        this.#known.add(p);
      }
      counts[outcome]++;
      this.totals[outcome]++;
    }
    return { incomeMicroJ: BigInt(counts.accepted) * this.#payMicroJ, counts };
  }
}
