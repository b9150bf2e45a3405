/**
 * The clearing engine (docs/DESIGN.md §2): each tick takes the order book as it stands, clears every
 * plane's quanta, and returns who won which slot and what each pays — timing itself.
 *
 * Per plane the offer is a list of slots (one per quantum the controller allows this tick),
 * best first: cooler, unthrottled cores have higher quality and lower reserve. Budgets are
 * the smaller of the bid's own budget and what the agent's wallet holds (`walletJ`), so no
 * award can exceed a balance. Everything is reused between ticks, the result too (its awards
 * and counts are valid until the next `clearTick`): the 100 Hz path allocates nothing here.
 */
import { Clearing, BID_OUTCOMES, type BidArrays, type BidOutcome, type ClearingMode, type SlotOffer } from './clearing.js';
import { PLANES, type OrderBook, type Plane, type StandingBid } from './order-book.js';

/**
 * What one plane offers this tick: quality per slot (e.g. relative speed × (1 − throttle)) and
 * reserve per unit of quality (energy cost × thermal multiplier), as the clearing takes them.
 */
export interface PlaneOffer extends SlotOffer {
  /** The core (or device) each slot runs on, for enforcement. */
  readonly unit: ArrayLike<number>;
}

export interface Award {
  readonly agentId: string;
  readonly plane: Plane;
  readonly slot: number;
  readonly unit: number;
  readonly paymentJ: number;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export interface EngineTick {
  readonly tick: number;
  readonly awards: readonly Award[];
  /** Bids per outcome this tick, summed over planes. */
  readonly outcomes: Readonly<Record<BidOutcome, number>>;
  /** Wall time the clearing took, ms (performance.now()). */
  readonly costMs: number;
}

export interface ClearingEngineOptions {
  readonly book: OrderBook;
  readonly mode?: ClearingMode;
  /** Spendable balance of an agent, J (≤ 0: cannot buy). */
  readonly walletJ: (agentId: string) => number;
  /** Where costs are timed; default `performance.now`. */
  readonly nowMs?: () => number;
  /** Ticks between turns of the tie-break (equal bids share slots in turns this long). @default 1 */
  readonly tieRotationTicks?: number;
}

/** One plane's bids, refilled in place each tick: the clearing reads it as its {@link BidArrays}. */
class PlaneArrays implements BidArrays {
  price = new Float64Array(64);
  budget = new Float64Array(64);
  tieKey = new Float64Array(64);
  bidders: StandingBid[] = [];
  /**
   * Bidders collected so far this tick, so the bids the clearing reads once they are collected
   * (`bidders` is filled by index: emptying it would free it).
   */
  count = 0;
  readonly clearing = new Clearing(64);

  ensure(n: number): void {
    if (n <= this.price.length) return;
    const size = Math.max(n, this.price.length * 2);
    this.price = new Float64Array(size);
    this.budget = new Float64Array(size);
    this.tieKey = new Float64Array(size);
  }
}

export class ClearingEngine {
  readonly #book: OrderBook;
  readonly #mode: ClearingMode;
  readonly #walletJ: (agentId: string) => number;
  readonly #nowMs: () => number;
  readonly #tieRotation: number;
  readonly #planes = new Map<Plane, PlaneArrays>(PLANES.map((p) => [p, new PlaneArrays()]));
  /** The same, as an array: the tick walks it by index (no iterator objects at 100 Hz). */
  readonly #planeList: readonly (readonly [Plane, PlaneArrays])[] = [...this.#planes];
  readonly #collect = (bid: StandingBid): void => {
    const arrays = this.#planes.get(bid.plane);
    if (arrays !== undefined) arrays.bidders[arrays.count++] = bid;
  };
  #awardCount = 0;
  readonly #outcomes = Object.fromEntries(BID_OUTCOMES.map((o) => [o, 0])) as Record<BidOutcome, number>;
  /** Award objects, kept between ticks; `#awards` holds this tick's first `length` of them. */
  readonly #pool: Mutable<Award>[] = [];
  readonly #awards: Award[] = [];
  readonly #result: Mutable<EngineTick> = { tick: 0, awards: this.#awards, outcomes: this.#outcomes, costMs: 0 };

  constructor(options: ClearingEngineOptions) {
    this.#book = options.book;
    this.#mode = options.mode ?? 'gsp';
    this.#walletJ = options.walletJ;
    this.#nowMs = options.nowMs ?? (() => performance.now());
    this.#tieRotation = Math.max(1, Math.floor(options.tieRotationTicks ?? 1));
  }

  get mode(): ClearingMode {
    return this.#mode;
  }

  /**
   * Clears `offers` (planes with no offer sell nothing) against the standing bids. The result
   * is reused by the next call: copy what must outlive the tick.
   */
  clearTick(tick: number, offers: ReadonlyMap<Plane, PlaneOffer>): EngineTick {
    const started = this.#nowMs();
    const planes = this.#planeList;
    for (let p = 0; p < planes.length; p++) (planes[p] as readonly [Plane, PlaneArrays])[1].count = 0;
    this.#book.forEachBid(this.#collect);
    // Shrinking a little keeps the backing store (emptying an array frees it, and the next push allocates).
    for (let p = 0; p < planes.length; p++) {
      const arrays = (planes[p] as readonly [Plane, PlaneArrays])[1];
      if (arrays.bidders.length !== arrays.count) arrays.bidders.length = arrays.count;
    }
    const outcomes = this.#outcomes;
    for (let o = 0; o < BID_OUTCOMES.length; o++) outcomes[BID_OUTCOMES[o] as BidOutcome] = 0;
    this.#awardCount = 0;
    for (let p = 0; p < planes.length; p++) {
      const [plane, arrays] = planes[p] as readonly [Plane, PlaneArrays];
      const offer = offers.get(plane);
      const n = arrays.bidders.length;
      if (n === 0) continue;
      if (offer === undefined || offer.quality.length === 0) {
        outcomes.outbid += n;
        continue;
      }
      arrays.ensure(n);
      for (let i = 0; i < n; i++) {
        const bid = arrays.bidders[i] as StandingBid;
        arrays.price[i] = bid.pricePerQuantumJ;
        arrays.budget[i] = Math.max(0, Math.min(bid.budgetJ, this.#walletJ(bid.agentId)));
        arrays.tieKey[i] = bid.index;
      }
      const c = arrays.clearing;
      c.clear(this.#mode, offer, arrays, Math.floor(tick / this.#tieRotation));
      for (let i = 0; i < n; i++) {
        const outcome = BID_OUTCOMES[c.outcome[i] ?? 4] ?? 'invalid';
        outcomes[outcome] += 1;
        const slot = c.slotOf[i] ?? -1;
        if (slot >= 0) {
          const bid = arrays.bidders[i] as StandingBid;
          this.#award(bid.agentId, plane, slot, offer.unit[slot] ?? slot, c.payment[i] ?? 0);
        }
      }
    }
    if (this.#awards.length !== this.#awardCount) this.#awards.length = this.#awardCount;
    const result = this.#result;
    result.tick = tick;
    result.costMs = this.#nowMs() - started;
    return result;
  }

  #award(agentId: string, plane: Plane, slot: number, unit: number, paymentJ: number): void {
    const n = this.#awardCount++;
    let award = this.#pool[n];
    if (award === undefined) {
      award = { agentId, plane, slot, unit, paymentJ };
      this.#pool.push(award);
    } else {
      award.agentId = agentId;
      award.plane = plane;
      award.slot = slot;
      award.unit = unit;
      award.paymentJ = paymentJ;
    }
    this.#awards[n] = award;
  }
}
