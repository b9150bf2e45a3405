/**
 * Money: integer microjoules. Wallets, payments and ledger entries count µJ as `bigint` so that sums
 * are exact; prices, bids and what an agent is told are joules as `number`. The two meet here and
 * nowhere else, so that the session (pure) and the ledger (SQLite) agree on one rounding rule.
 *
 * `MicroJoules` is branded: a `bigint` that means something else (nanoseconds, a prime, a count)
 * cannot be paid, taxed or written to the ledger without passing {@link microJ} or {@link toMicroJ}.
 * Arithmetic on two `MicroJoules` gives a plain `bigint` again; the few places that keep a running
 * sum brand it where it leaves them.
 */
import { LedgerTransferError, UnitRangeError } from '../errors.js';

declare const kMicroJoules: unique symbol;

/** An exact amount of energy in integer microjoules (may be negative: a balance after a tax). */
export type MicroJoules = bigint & { readonly [kMicroJoules]: 'MicroJoules' };

export const MICROJOULES_PER_JOULE = 1e6;

export const ZERO_MICRO_J = 0n as MicroJoules;

/**
 * Brands a bigint already counted in µJ (read from the ledger's database, summed by the market).
 * Throws `MXW_ERR_UNIT_RANGE` for anything that is not a bigint.
 */
export function microJ(value: bigint): MicroJoules {
  if (typeof value !== 'bigint') throw new UnitRangeError(`microjoules must be a bigint, got ${typeof value}`);
  return value as MicroJoules;
}

/**
 * Microjoules from joules, rounded to the nearest µJ. Throws `MXW_ERR_LEDGER_TRANSFER` for
 * non-finite input: a payment the ledger could never record.
 */
export function toMicroJ(joules: number): MicroJoules {
  if (!Number.isFinite(joules)) throw new LedgerTransferError(`not a finite number of joules: ${String(joules)}`);
  return BigInt(Math.round(joules * MICROJOULES_PER_JOULE)) as MicroJoules;
}

/** Joules from microjoules, for prices and display (exact up to 2^53 µJ ≈ 9·10⁹ J). */
export function toJoules(microJ: bigint): number {
  return Number(microJ) / MICROJOULES_PER_JOULE;
}
