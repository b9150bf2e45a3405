/**
 * The clearing engine (DESIGN.md §2): each tick takes the order book as it stands, clears every
 * plane's quanta, and returns who won which slot and what each pays — timing itself.
 *
 * Per plane the offer is a list of slots (one per quantum the controller allows this tick),
 * best first: cooler, unthrottled cores have higher quality and lower reserve. Budgets are
 * the smaller of the bid's own budget and what the agent's wallet holds (`walletJ`), so no
 * award can exceed a balance. Arrays are reused between ticks; a tick allocates only its awards.
 */
import type { Clock } from '../clock/clock.js';
import { toError } from '../errors.js';
import { LatencyHistogram, Sampler, type WaitUntil } from '../telemetry/sampler.js';
import { Clearing, BID_OUTCOMES, type BidOutcome, type ClearingMode } from './clearing.js';
import { PLANES, type OrderBook, type Plane, type StandingBid } from './order-book.js';

/** What one plane offers this tick. */
export interface PlaneOffer {
  /** Quality per slot, > 0, best first (e.g. relative speed × (1 − throttle)). */
  readonly quality: ArrayLike<number>;
  /** Reserve per unit of quality per slot, J (energy cost × thermal multiplier). */
  readonly reserve: ArrayLike<number>;
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

class PlaneArrays {
  price = new Float64Array(64);
  budget = new Float64Array(64);
  tieKey = new Float64Array(64);
  bidders: StandingBid[] = [];
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

  /** Clears `offers` (planes with no offer sell nothing) against the standing bids. */
  clearTick(tick: number, offers: ReadonlyMap<Plane, PlaneOffer>): EngineTick {
    const started = this.#nowMs();
    for (const arrays of this.#planes.values()) arrays.bidders.length = 0;
    for (const bid of this.#book.bids()) this.#planes.get(bid.plane)?.bidders.push(bid);
    const outcomes = Object.fromEntries(BID_OUTCOMES.map((o) => [o, 0])) as Record<BidOutcome, number>;
    const awards: Award[] = [];
    for (const [plane, arrays] of this.#planes) {
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
      c.clear(this.#mode, offer.quality, offer.reserve, arrays.price, arrays.budget, arrays.tieKey, n, Math.floor(tick / this.#tieRotation));
      for (let i = 0; i < n; i++) {
        const outcome = BID_OUTCOMES[c.outcome[i] ?? 4] ?? 'invalid';
        outcomes[outcome] += 1;
        const slot = c.slotOf[i] ?? -1;
        if (slot >= 0) {
          const bid = arrays.bidders[i] as StandingBid;
          awards.push({ agentId: bid.agentId, plane, slot, unit: offer.unit[slot] ?? slot, paymentJ: c.payment[i] ?? 0 });
        }
      }
    }
    return { tick, awards, outcomes, costMs: this.#nowMs() - started };
  }
}

export interface EngineLoopOptions {
  readonly clock: Clock;
  readonly engine: ClearingEngine;
  /** @default 100 */
  readonly rateHz?: number;
  /** What each plane offers at this tick (from the controllers and pricing). */
  readonly offers: (tick: number) => ReadonlyMap<Plane, PlaneOffer>;
  /** Receives every cleared tick (enforcement, metering, the ledger). */
  readonly onTick: (result: EngineTick) => void;
  /**
   * Called when a tick failed (the offer, the clearing or `onTick` threw): the tick is skipped,
   * the loop goes on, and the failure is counted in `stats().failedTicks`.
   */
  readonly onTickError?: (error: Error, tick: number) => void;
  readonly waitUntil?: WaitUntil;
}

export interface EngineLoopStats {
  readonly ticks: number;
  readonly missedTicks: number;
  readonly jitterP99Ms: number;
  /** Clearing cost per tick, ms (10 µs bins). */
  readonly clearP50Ms: number;
  readonly clearP99Ms: number;
  readonly clearMaxMs: number;
  readonly rateHz: number;
  /** Ticks skipped because something threw (see `onTickError`). */
  readonly failedTicks: number;
}

/**
 * The engine on a clock: ticks on an absolute grid (the sampler's loop, with no readers), so
 * lateness never accumulates and missed ticks are counted, not queued.
 */
export class EngineLoop {
  readonly #loop: Sampler;
  readonly #cost = new LatencyHistogram();
  #tick = 0;
  #failedTicks = 0;

  constructor(options: EngineLoopOptions) {
    this.#loop = new Sampler({
      clock: options.clock,
      rateHz: options.rateHz ?? 100,
      readers: [],
      ...(options.waitUntil === undefined ? {} : { waitUntil: options.waitUntil }),
      onTick: () => {
        const tick = this.#tick++;
        // Caught here, not by the sampler (which would only warn): a failed tick must be seen.
        try {
          const result = options.engine.clearTick(tick, options.offers(tick));
          this.#cost.record(result.costMs);
          options.onTick(result);
        } catch (err) {
          this.#failedTicks++;
          options.onTickError?.(toError(err), tick);
        }
      },
    });
  }

  start(): Promise<void> {
    return this.#loop.start();
  }

  async stop(): Promise<EngineLoopStats> {
    await this.#loop.stop();
    return this.stats();
  }

  stats(): EngineLoopStats {
    const loop = this.#loop.stats();
    return {
      ticks: loop.ticks,
      missedTicks: loop.missedTicks,
      jitterP99Ms: loop.jitterP99Ms,
      clearP50Ms: this.#cost.quantile(0.5),
      clearP99Ms: this.#cost.quantile(0.99),
      clearMaxMs: this.#cost.max,
      rateHz: loop.rateHz,
      failedTicks: this.#failedTicks,
    };
  }
}
