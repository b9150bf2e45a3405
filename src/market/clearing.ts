/**
 * Clearing one tick's quanta (docs/DESIGN.md §2): a position auction with unit demand.
 *
 * Slots are the quanta offered this tick, each with a quality q (speed × coolness: the best
 * slot first) and a reserve price per unit of quality r. A bid is a price per unit of quality
 * b and a budget B (the wallet balance it may spend this tick). The effective bid is
 * e = min(b, B / q_max), so no payment can exceed the budget. Bids are ranked by e; ties are
 * broken by a key that rotates with the tick, so no tied bidder waits forever. The k-th
 * ranked bid takes the k-th slot while e ≥ that slot's reserve; the first that falls short
 * ends the sale (slots run from cool and cheap to hot and dear).
 *
 * Payment of the winner of slot s (total, J):
 * - `gsp`: q_s · max(r_s, e of the next-ranked bid) — the next bid per unit (Edelman,
 *   Ostrovsky & Schwarz 2007; Varian 2007). Not truthful. With one slot it is Vickrey.
 * - `vcg`: the threshold (Myerson) payment: each unit of quality the winner holds is priced at
 *   the lowest bid that would still have won it, the others' bids fixed. With a uniform reserve
 *   r, or reserves that rise along the slots, that is Σ_{j=s}^{m−1} (q_j − q_{j+1}) ·
 *   max(r_j, e_{j+1}) over the m winners (q_m = 0; e_m is the best losing bid, 0 if none): the
 *   reserve inside every term (Edelman, Ostrovsky & Schwarz 2007; Varian 2007, with a reserve).
 *   Truthful (for bidders whose budget does not bind) for any reserves, since the allocation is
 *   monotone in a bid; where a reserve falls along the slots a winner may pay less per unit
 *   than its own slot's reserve (it would have won the cheaper slot below anyway).
 * - `uniform`: q_s · max(r_s, e of the best losing bid) — the (k+1)-th price for everyone.
 *
 * Hot path: arrays are preallocated to a capacity and reused; nothing per tick is allocated in
 * proportion to the number of bids.
 */
import { InvalidArgumentError } from '../errors.js';

export type ClearingMode = 'gsp' | 'vcg' | 'uniform';

/** Outcome of one bid, as a stable code (expected outcomes are values, not exceptions). */
export const BID_OUTCOMES = ['won', 'outbid', 'below-reserve', 'no-budget', 'invalid'] as const;
export type BidOutcome = (typeof BID_OUTCOMES)[number];

/** Largest accepted price per unit or budget, J: anything above is an absurd bid. */
export const MAX_BID_J = 1e12;

/**
 * The slots on sale in one clearing. A plane's offer (`PlaneOffer`, `./engine.ts`) is
 * one: the clearing needs its qualities and reserves, not where each slot runs.
 */
export interface SlotOffer {
  /** Quality per slot, > 0, best first (non-increasing). */
  readonly quality: ArrayLike<number>;
  /** Reserve per unit of quality per slot, J. */
  readonly reserve: ArrayLike<number>;
}

/**
 * The bids of one clearing as parallel arrays, the first `count` entries in use. Callers keep
 * one and refill it in place each tick (nothing per tick allocated); the clearing only reads it.
 */
export interface BidArrays {
  /** Bid per unit of quality, J. */
  readonly price: ArrayLike<number>;
  /** What the bidder may spend this tick, J. */
  readonly budget: ArrayLike<number>;
  /** A non-negative integer, distinct per bidder (e.g. the agent's index). */
  readonly tieKey: ArrayLike<number>;
  /** Bids in use. */
  readonly count: number;
}

export class Clearing {
  #capacity = 0;
  #order = new Int32Array(0);
  /** Scratch for the merge sort (no allocation per tick: a comparator sort of a typed array copies it). */
  #scratch = new Int32Array(0);
  #effective = new Float64Array(0);
  /** The tie-break of the clearing in progress, read by `#before`. */
  #tieKey: ArrayLike<number> = [];
  #shift = 0;
  #period = 1;
  /** Per bid, after `clear`: slot index or −1. */
  slotOf = new Int32Array(0);
  /** Per bid, after `clear`: payment, J (0 when not won). */
  payment = new Float64Array(0);
  /** Per bid, after `clear`: index into BID_OUTCOMES. */
  outcome = new Uint8Array(0);
  #winners = 0;

  constructor(capacity = 1024) {
    this.#grow(capacity);
  }

  #grow(capacity: number): void {
    if (capacity <= this.#capacity) return;
    const size = Math.max(capacity, this.#capacity * 2);
    this.#capacity = size;
    this.#order = new Int32Array(size);
    this.#scratch = new Int32Array(size);
    this.#effective = new Float64Array(size);
    this.slotOf = new Int32Array(size);
    this.payment = new Float64Array(size);
    this.outcome = new Uint8Array(size);
  }

  /** Number of winners of the last clearing. */
  get winners(): number {
    return this.#winners;
  }

  /**
   * Clears one tick's `offer` against `bids`. Results land in `slotOf`, `payment` and
   * `outcome`, indexed like the bids.
   */
  clear(mode: ClearingMode, offer: SlotOffer, bids: BidArrays, tick: number): void {
    const { quality, reserve } = offer;
    const { price, budget, tieKey, count } = bids;
    const slots = quality.length;
    if (reserve.length !== slots) throw new InvalidArgumentError('quality and reserve differ in length');
    for (let s = 0; s < slots; s++) {
      const q = quality[s] ?? Number.NaN;
      if (!(q > 0) || (s > 0 && q > (quality[s - 1] ?? 0))) throw new InvalidArgumentError('slot qualities must be > 0 and sorted best first');
      if (!((reserve[s] ?? Number.NaN) >= 0)) throw new InvalidArgumentError(`invalid reserve for slot ${s}`);
    }
    this.#grow(count);
    const qMax = slots > 0 ? (quality[0] ?? 1) : 1;
    const order = this.#order;
    const eff = this.#effective;
    let valid = 0;
    let maxKey = 0;
    for (let a = 0; a < count; a++) {
      const b = price[a] ?? Number.NaN;
      const B = budget[a] ?? Number.NaN;
      this.slotOf[a] = -1;
      this.payment[a] = 0;
      if (!(b >= 0 && b <= MAX_BID_J) || !(B >= 0 && B <= MAX_BID_J)) {
        this.outcome[a] = 4; // invalid
        continue;
      }
      const e = Math.min(b, B / qMax);
      eff[a] = e;
      if (!(e > 0)) {
        this.outcome[a] = B > 0 ? 1 : 3; // zero price loses; zero budget has nothing to spend
        continue;
      }
      this.outcome[a] = 1; // outbid unless it wins below
      order[valid++] = a;
      const key = tieKey[a] ?? 0;
      if (key > maxKey) maxKey = key;
    }
    // Keys rotate modulo the key space in use, so first place keeps cycling after the tick
    // passes the largest key (a fixed modulus would freeze the order from then on).
    this.#period = maxKey + 1;
    this.#shift = tick % this.#period;
    this.#tieKey = tieKey;
    this.#sort(valid);
    const ranked = order;
    let k = 0;
    while (k < valid && k < slots && (eff[ranked[k] ?? 0] ?? 0) >= (reserve[k] ?? Infinity)) k++;
    this.#winners = k;
    // Bids that a slot's reserve stopped.
    for (let i = k; i < valid && i < slots; i++) this.outcome[ranked[i] ?? 0] = 2;
    const bestLosing = k < valid ? (eff[ranked[k] ?? 0] ?? 0) : 0;
    for (let s = 0; s < k; s++) {
      const a = ranked[s] ?? 0;
      const q = quality[s] ?? 0;
      const floor = q * (reserve[s] ?? 0);
      let pay: number;
      if (mode === 'gsp') {
        const next = s + 1 < valid ? (eff[ranked[s + 1] ?? 0] ?? 0) : 0;
        pay = Math.max(floor, q * next);
      } else if (mode === 'uniform') {
        pay = Math.max(floor, q * bestLosing);
      } else {
        pay = this.#thresholdPayment(s, k, valid, quality, reserve);
      }
      // Never above its own (effective) bid for the slot.
      this.payment[a] = Math.min(pay, q * (eff[a] ?? 0));
      this.slotOf[a] = s;
      this.outcome[a] = 0;
    }
  }

  /** Whether bid `x` ranks before bid `y`: higher effective bid, then the rotating tie-break. */
  #before(x: number, y: number): boolean {
    const eff = this.#effective;
    const d = (eff[y] ?? 0) - (eff[x] ?? 0);
    if (d !== 0) return d < 0;
    // Rotating tie-break: the tied bid whose key comes next at or after the tick goes
    // first, so as ticks advance first place walks through every tied key.
    const period = this.#period;
    const kx = ((this.#tieKey[x] ?? 0) - this.#shift + period) % period;
    const ky = ((this.#tieKey[y] ?? 0) - this.#shift + period) % period;
    return kx !== ky ? kx < ky : x < y;
  }

  /** Sorts the first `n` bids of `#order` by `#before`: a bottom-up merge sort, stable, O(n log n), in place of preallocated buffers. */
  #sort(n: number): void {
    let from = this.#order;
    let to = this.#scratch;
    for (let width = 1; width < n; width *= 2) {
      for (let lo = 0; lo < n; lo += 2 * width) {
        const mid = Math.min(lo + width, n);
        const hi = Math.min(lo + 2 * width, n);
        let i = lo;
        let j = mid;
        for (let k = lo; k < hi; k++) {
          if (i < mid && (j >= hi || !this.#before(from[j] ?? 0, from[i] ?? 0))) to[k] = from[i++] ?? 0;
          else to[k] = from[j++] ?? 0;
        }
      }
      const swap = from;
      from = to;
      to = swap;
    }
    if (from !== this.#order) for (let k = 0; k < n; k++) this.#order[k] = from[k] ?? 0;
  }

  /**
   * VCG: the Myerson threshold payment of the winner ranked `s` among `winners`, i.e. its
   * effective bid's worth q_s·e minus ∫₀^e x(z) dz, where x(z) is the quality it would win
   * bidding z with every other bid fixed. Lowering z walks it down the positions: at
   * position j it sits below the others' bids c_0…c_{j−1} and above c_j (the others in rank
   * order without it), wins q_j once z ≥ r_j, and only while every other bid moved up one
   * place still clears its new slot's reserve (c_t ≥ r_t); the first that does not ends the
   * sale above it. With reserves that do not fall along the slots this is
   * Σ_{j=s}^{m−1} (q_j − q_{j+1}) · max(r_j, c_j): the reserve inside every term.
   */
  #thresholdPayment(s: number, winners: number, valid: number, quality: ArrayLike<number>, reserve: ArrayLike<number>): number {
    const ranked = this.#order;
    const eff = this.#effective;
    const own = eff[ranked[s] ?? 0] ?? 0;
    let won = 0;
    let upper = own;
    for (let j = s; j < winners; j++) {
      // The others' bid at position j (j ≥ s) is the bid ranked j + 1 overall (0 when none).
      const below = j + 1 < valid ? (eff[ranked[j + 1] ?? 0] ?? 0) : 0;
      const lower = Math.max(below, reserve[j] ?? Infinity);
      if (upper > lower) won += (quality[j] ?? 0) * (upper - lower);
      // Below `below` the bidder drops a place and `below` moves up into slot j: the sale
      // ends there unless it clears slot j's reserve.
      if (below < (reserve[j] ?? Infinity)) break;
      upper = Math.min(upper, below);
    }
    return (quality[s] ?? 0) * own - won;
  }
}
