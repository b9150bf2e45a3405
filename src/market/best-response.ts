/**
 * A myopic best response in the position auction: the bid that maximises one agent's utility
 * v·q − payment against the others' current bids, for the offer (qualities, reserves) and the
 * clearing mode as they stand — the dynamic of Edelman, Ostrovsky & Schwarz (2007) and Varian
 * (2007), with the tie-breaks of Cary et al., "Greedy bidding strategies for keyword auctions"
 * (EC 2007).
 *
 * Exact, by enumeration: with everyone else's effective bid fixed, an agent's slot and payment
 * depend on its own bid only through which of the others' bids, the reserves and its budget
 * cap lie below it, so utility is constant between consecutive such breakpoints. One clearing
 * (the real {@link Clearing}, in the given mode) per interval finds the best interval.
 *
 * Bids are conservative (never above the value: Paes Leme & Tardos 2010), so the set is
 * bounded; the best interval is an open range of equally good bids, and the rule picks one:
 *
 * - `balanced` (for GSP; Cary et al.'s balanced bidding): aiming at slot s with payment P, bid
 *   b = v − (q_s·v − P) / q_{s−1}, so the agent is indifferent between its slot at today's price
 *   and the slot above at price b. The top slot (and losing) bids the value. Balanced bidding
 *   converges to the lowest LEF equilibrium; grabbing the top of the range does not.
 * - `truthful` (for VCG and uniform): the bid in the range nearest the value (the value when
 *   the range holds it — always, under VCG).
 *
 * Inertia: the agent leaves its current interval only for a gain above `switchGain` × its
 * current utility (ties keep the current interval, then the value's).
 */
import { Clearing, type BidArrays, type ClearingMode, type SlotOffer } from './clearing.js';

export type TieRule = 'balanced' | 'truthful';

/** What a best response found. */
export interface BestResponse {
  /** The bid to place, J per unit of quality (≤ the value). */
  readonly bid: number;
  /** Slot it wins against the current bids (−1: none). */
  readonly slot: number;
  /** Its utility v·q − payment, J. */
  readonly utility: number;
  /** Utility of the agent's current bid, J. */
  readonly currentUtility: number;
}

/**
 * One agent's view of the auction, for {@link BestResponder.utilityOf}. The arrays are read, never
 * kept or written: a caller may pass its live bids and write the answer back into them.
 */
export interface BidderView {
  /** How the auction clears. */
  readonly mode: ClearingMode;
  /** The slots on sale (a plane's offer will do). */
  readonly offer: SlotOffer;
  /** Every bidder's current bid; `bids.price[self]` is the responder's own. */
  readonly bids: BidArrays;
  /** The responder's index. */
  readonly self: number;
  /** The responder's value, J per unit of quality. */
  readonly value: number;
  /** The tick the clearing breaks ties with. */
  readonly tick: number;
}

/** What {@link BestResponder.respond} takes: the agent's view and how it picks a bid. */
export interface BestResponseOptions extends BidderView {
  /** Which bid inside the best interval. */
  readonly rule: TieRule;
  /** Inertia: the relative gain over the current utility needed to move to another interval. */
  readonly switchGain: number;
}

/** Where inside an open interval a bid is placed when its rule lands on a boundary. */
const INSIDE = 0.01;

/** A range of equally good bids (lo, hi], and what a bid inside it wins, pays and earns. */
interface Interval {
  lo: number;
  hi: number;
  slot: number;
  pay: number;
  utility: number;
}

/**
 * Computes best responses with one reusable clearing and scratch arrays.
 * @example
 * const br = new BestResponder(8)
 * br.respond({ mode: 'gsp', offer: { quality: [1, 0.5], reserve: [0.1, 0.1] }, bids: { price, budget, tieKey, count: 3 }, self: 0, value: 2.0, tick, rule: 'balanced', switchGain: 0.01 })
 */
export class BestResponder {
  readonly #clearing: Clearing;
  /** The bids with the responder's own replaced by the one tried; budgets and keys are the caller's. */
  readonly #trial: { price: Float64Array; budget: ArrayLike<number>; tieKey: ArrayLike<number>; count: number };
  #points: Float64Array;
  readonly #out = new Float64Array(2);
  /** Scratch of `respond`, kept so that a response allocates no more than its answer. */
  readonly #best: Interval & { score: number } = { lo: 0, hi: 0, slot: -1, pay: 0, utility: 0, score: -1 };
  readonly #current: Interval = { lo: 0, hi: 0, slot: -1, pay: 0, utility: 0 };

  constructor(capacity = 16) {
    this.#clearing = new Clearing(capacity);
    this.#trial = { price: new Float64Array(capacity), budget: [], tieKey: [], count: 0 };
    this.#points = new Float64Array(2 * capacity + 8);
  }

  /**
   * Utility of the agent `view.self` bidding `bid` while the others bid as in `view.bids`: one
   * clearing. Returns the slot through `out` (index 0: slot, 1: payment).
   */
  utilityOf(view: BidderView, bid: number, out?: Float64Array): number {
    const { bids, self } = view;
    const { price, count } = bids;
    const trial = this.#trial;
    if (trial.price.length < count) trial.price = new Float64Array(Math.max(count, trial.price.length * 2));
    const p = trial.price;
    for (let i = 0; i < count; i++) p[i] = price[i] ?? 0;
    p[self] = bid;
    trial.budget = bids.budget;
    trial.tieKey = bids.tieKey;
    trial.count = count;
    const c = this.#clearing;
    c.clear(view.mode, view.offer, trial, view.tick);
    const slot = c.slotOf[self] ?? -1;
    const pay = slot >= 0 ? (c.payment[self] ?? 0) : 0;
    if (out !== undefined) {
      out[0] = slot;
      out[1] = pay;
    }
    return slot >= 0 ? view.value * (view.offer.quality[slot] ?? 0) - pay : 0;
  }

  /** The best response of agent `self` with value `value` (its current bid is `bids.price[self]`). */
  respond(options: BestResponseOptions): BestResponse {
    const { offer, bids, self, value } = options;
    const current = Math.min(bids.price[self] ?? 0, value);
    const out = this.#out;
    const currentUtility = this.utilityOf(options, current, out);
    if (offer.quality.length === 0 || !(value > 0)) return { bid: current, slot: out[0] ?? -1, utility: currentUtility, currentUtility };
    const candidates = this.#enumerateBreakpoints(options);
    const tolerance = 1e-12 * Math.max(1, value * (offer.quality[0] ?? 1));
    this.#evaluateIntervals(options, candidates, current, currentUtility, tolerance);
    const chosen = this.#choose(options.switchGain, tolerance);
    return { bid: placeBid(options, chosen), slot: chosen.slot, utility: chosen.utility, currentUtility };
  }

  /**
   * The bids in [0, value] where the responder's slot or payment can change: 0, the value, its
   * own budget cap, the others' effective bids and the reserves. Sorts them into the first
   * (returned) count of `#points`.
   */
  #enumerateBreakpoints(view: BidderView): number {
    const { offer, bids, self, value } = view;
    const { quality, reserve } = offer;
    const { price, budget, count } = bids;
    const slots = quality.length;
    const qMax = quality[0] ?? 1;
    if (this.#points.length < count + slots + 3) this.#points = new Float64Array(2 * (count + slots + 3));
    const pts = this.#points;
    let n = 0;
    pts[n++] = 0;
    pts[n++] = value;
    const cap = (budget[self] ?? 0) / qMax;
    if (cap > 0 && cap < value) pts[n++] = cap;
    for (let i = 0; i < count; i++) {
      if (i === self) continue;
      const e = Math.min(price[i] ?? 0, (budget[i] ?? 0) / qMax);
      if (e > 0 && e < value) pts[n++] = e;
    }
    for (let s = 0; s < slots; s++) {
      const r = reserve[s] ?? 0;
      if (r > 0 && r < value) pts[n++] = r;
    }
    pts.subarray(0, n).sort();
    return n;
  }

  /**
   * One clearing per open interval between the `n` sorted breakpoints (at its midpoint) and one
   * at the value itself: the best interval lands in `#best`, the one holding the current bid in
   * `#current` (whose slot and payment `#out` holds on entry).
   */
  #evaluateIntervals(view: BidderView, n: number, current: number, currentUtility: number, tolerance: number): void {
    const { value } = view;
    const sorted = this.#points;
    const out = this.#out;
    const best = this.#best;
    best.utility = Number.NEGATIVE_INFINITY;
    best.lo = 0;
    best.hi = 0;
    best.slot = -1;
    best.pay = 0;
    best.score = -1;
    const held = this.#current;
    held.lo = 0;
    held.hi = value;
    held.slot = out[0] ?? -1;
    held.pay = out[1] ?? 0;
    held.utility = currentUtility;
    for (let i = 0; i < n; i++) {
      const lo = sorted[i] ?? 0;
      const hi = i + 1 < n ? (sorted[i + 1] ?? 0) : lo;
      const isValuePoint = i + 1 >= n;
      if (!isValuePoint && !(hi > lo)) continue;
      const bid = isValuePoint ? lo : (lo + hi) / 2;
      const u = this.utilityOf(view, bid, out);
      const holdsCurrent = isValuePoint ? current === lo : current > lo && current <= hi;
      const holdsValue = isValuePoint || hi === value;
      if (holdsCurrent && !isValuePoint) {
        held.lo = lo;
        held.hi = hi;
      }
      // Ties: the current interval, then the value's, then the higher interval (visited later).
      const score = holdsCurrent ? 2 : holdsValue ? 1 : 0;
      if (u > best.utility + tolerance || (u > best.utility - tolerance && score >= best.score)) {
        best.utility = u;
        best.lo = isValuePoint ? (sorted[i - 1] ?? 0) : lo;
        best.hi = isValuePoint ? value : hi;
        best.slot = out[0] ?? -1;
        best.pay = out[1] ?? 0;
        best.score = score;
      }
    }
  }

  /** Inertia: the best interval only when it beats the current one by more than `switchGain`. */
  #choose(switchGain: number, tolerance: number): Interval {
    const best = this.#best;
    const held = this.#current;
    return best.utility > held.utility + switchGain * Math.abs(held.utility) + tolerance ? best : held;
  }
}

/** The bid the tie rule picks inside the chosen interval (any bid inside it earns the same). */
function placeBid(view: BestResponseOptions, chosen: Interval): number {
  const { value } = view;
  const { quality } = view.offer;
  const { lo, hi, slot, pay } = chosen;
  let bid: number;
  if (view.rule === 'balanced' && slot >= 1) {
    const above = quality[slot - 1] ?? 1;
    bid = value - (value * (quality[slot] ?? 0) - pay) / above;
  } else {
    bid = value;
  }
  const width = hi - lo;
  if (!(bid > lo)) bid = lo + INSIDE * width;
  if (bid > hi || (bid === hi && hi < value)) bid = hi - INSIDE * width;
  if (hi === value && bid > value) bid = value;
  return bid;
}
