/**
 * Income for verified work: the prime oracle. Every reported prime is checked with a
 * deterministic Miller–Rabin test (seven bases that decide every 64-bit integer), paid a configured number of joules when it is new, and rejected —
 * counted by kind, never paid — when it is composite, already known, or outside the range
 * the agent claimed to search.
 */
import { InvalidArgumentError } from '../errors.js';

/** Something that turns reported work into income. */
export interface WorkOracle<Claim> {
  verify(agent: string, claim: Claim): WorkVerdict;
}

/** `unverified`: a sampled report that failed its sample; its unsampled primes are forfeited, not paid. */
export const WORK_OUTCOMES = ['accepted', 'composite', 'duplicate', 'out-of-range', 'invalid', 'unverified'] as const;
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

/** Trial divisors before the strong-probable-prime test: most composites end here. */
const SMALL_PRIMES = [2n, 3n, 5n, 7n, 11n, 13n, 17n, 19n, 23n, 29n, 31n, 37n];
/**
 * Seven bases that decide every n < 2⁶⁴ (Jim Sinclair, 2011; a base that is 0 mod n is skipped):
 * fewer modular exponentiations than the first twelve primes, which the oracle's cost in the
 * daemon's event loop is made of (the soak measured it at a tenth of a core).
 */
const WITNESSES = [2n, 325n, 9375n, 28178n, 450775n, 9780504n, 1795265022n];
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
  for (const p of SMALL_PRIMES) {
    if (n === p) return true;
    if (n % p === 0n) return false;
  }
  let d = n - 1n;
  let r = 0;
  while ((d & 1n) === 0n) {
    d >>= 1n;
    r++;
  }
  witness: for (const base of WITNESSES) {
    const a = base % n;
    if (a === 0n) continue;
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

/** Disjoint, merged [from, to) ranges already paid for, kept sorted: memory grows with gaps, not primes. */
export class CreditedRanges {
  readonly #from: bigint[] = [];
  readonly #to: bigint[] = [];

  get size(): number {
    return this.#from.length;
  }

  /** Index of the last range starting at or before n, or −1. */
  #floor(n: bigint): number {
    let lo = 0;
    let hi = this.#from.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if ((this.#from[mid] ?? 0n) <= n) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  has(n: bigint): boolean {
    const i = this.#floor(n);
    return i >= 0 && n < (this.#to[i] ?? 0n);
  }

  add(from: bigint, to: bigint): void {
    let i = this.#floor(from);
    // Merge with the range before when it touches or overlaps.
    if (i >= 0 && (this.#to[i] ?? 0n) >= from) {
      from = this.#from[i] ?? from;
      if ((this.#to[i] ?? 0n) > to) to = this.#to[i] ?? to;
    } else i += 1;
    let j = i;
    while (j < this.#from.length && (this.#from[j] ?? 0n) <= to) {
      if ((this.#to[j] ?? 0n) > to) to = this.#to[j] ?? to;
      j++;
    }
    this.#from.splice(i, j - i, from);
    this.#to.splice(i, j - i, to);
  }
}

export interface PrimeOracleOptions {
  /**
   * Verify only this many randomly chosen primes of each report (0: every prime). Any sampled
   * composite forfeits the whole report, so cheating by a fraction f is caught with probability
   * 1 − (1 − f)^k per report and costs the whole report's income: it never pays.
   * @default 0
   */
  readonly sample?: number;
  /** Uniform [0, 1) source for sampling. @default Math.random */
  readonly random?: () => number;
}

export class PrimeOracle implements WorkOracle<PrimeClaim> {
  readonly #payMicroJ: bigint;
  readonly #sample: number;
  readonly #random: () => number;
  readonly #credited = new CreditedRanges();
  readonly totals: Record<WorkOutcome, number> = { accepted: 0, composite: 0, duplicate: 0, 'out-of-range': 0, invalid: 0, unverified: 0 };

  /** @param microJoulesPerPrime income per new prime, µJ */
  constructor(microJoulesPerPrime: bigint, options: PrimeOracleOptions = {}) {
    if (microJoulesPerPrime < 0n) throw new InvalidArgumentError('microJoulesPerPrime must be ≥ 0');
    const sample = options.sample ?? 0;
    if (!Number.isSafeInteger(sample) || sample < 0) throw new InvalidArgumentError(`invalid sample size: ${String(sample)}`);
    this.#payMicroJ = microJoulesPerPrime;
    this.#sample = sample;
    this.#random = options.random ?? Math.random;
  }

  /** Ranges already credited (merged): a prime inside one is a duplicate, whoever reports it. */
  get creditedRanges(): number {
    return this.#credited.size;
  }

  verify(_agent: string, claim: PrimeClaim): WorkVerdict {
    const counts: Record<WorkOutcome, number> = { accepted: 0, composite: 0, duplicate: 0, 'out-of-range': 0, invalid: 0, unverified: 0 };
    const rangeOk = typeof claim.from === 'bigint' && typeof claim.to === 'bigint' && claim.from >= 0n && claim.from < claim.to && claim.to - 1n <= MAX_U64;
    const candidates: bigint[] = [];
    const inReport = new Set<bigint>();
    for (const p of claim.primes) {
      if (typeof p !== 'bigint' || p < 0n || p > MAX_U64 || !rangeOk) counts.invalid++;
      else if (p < claim.from || p >= claim.to) counts['out-of-range']++;
      else if (inReport.has(p) || this.#credited.has(p)) counts.duplicate++;
      else {
        inReport.add(p);
        candidates.push(p);
      }
    }
    const checkAll = this.#sample === 0 || candidates.length <= this.#sample;
    if (checkAll) {
      for (const p of candidates) {
        if (isPrime64(p)) counts.accepted++;
        else counts.composite++;
      }
    } else {
      // Partial Fisher–Yates: the first k places hold a uniform sample without repeats.
      for (let i = 0; i < this.#sample; i++) {
        const j = i + Math.floor(this.#random() * (candidates.length - i));
        const pick = candidates[j] as bigint;
        candidates[j] = candidates[i] as bigint;
        candidates[i] = pick;
        if (!isPrime64(pick)) counts.composite++;
      }
      if (counts.composite === 0) counts.accepted = candidates.length;
      else counts.unverified = candidates.length - counts.composite;
    }
    if (rangeOk && counts.accepted > 0) this.#credited.add(claim.from, claim.to);
    for (const outcome of WORK_OUTCOMES) this.totals[outcome] += counts[outcome];
    return { incomeMicroJ: BigInt(counts.accepted) * this.#payMicroJ, counts };
  }
}
