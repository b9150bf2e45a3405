/**
 * The daemon's clock: one step per tick on an absolute grid (the sampler's loop, with no
 * readers), so lateness never accumulates and missed ticks are counted, not queued. A step that
 * throws is counted and reported, and the loop goes on.
 */
import type { Clock } from '../clock/clock.js';
import { toError } from '../errors.js';
import { LatencyHistogram, Sampler, type WaitUntil } from '../telemetry/sampler.js';

export interface TickLoopOptions {
  readonly clock: Clock;
  /** @default 100 */
  readonly rateHz?: number;
  /** One tick's work, told how late it started, ms; returns what the clearing cost, ms (the loop keeps its histogram). */
  readonly step: (tick: number, latenessMs: number) => number;
  /**
   * Called when a step threw: the tick is skipped, the loop goes on, and the failure is counted
   * in `stats().failedTicks`.
   */
  readonly onTickError?: (error: Error, tick: number) => void;
  readonly waitUntil?: WaitUntil;
}

export interface TickLoopStats {
  readonly ticks: number;
  readonly missedTicks: number;
  readonly jitterP99Ms: number;
  /** Clearing cost per tick, ms (10 µs bins). */
  readonly clearP50Ms: number;
  readonly clearP99Ms: number;
  readonly clearMaxMs: number;
  readonly rateHz: number;
  /** Ticks skipped because the step threw (see `onTickError`). */
  readonly failedTicks: number;
}

export class TickLoop {
  readonly #loop: Sampler;
  readonly #cost = new LatencyHistogram();
  #tick = 0;
  #failedTicks = 0;

  constructor(options: TickLoopOptions) {
    this.#loop = new Sampler({
      clock: options.clock,
      rateHz: options.rateHz ?? 100,
      readers: [],
      ...(options.waitUntil === undefined ? {} : { waitUntil: options.waitUntil }),
      onTick: (sampled) => {
        const tick = this.#tick++;
        // Caught here, not by the sampler (which would only warn): a failed tick must be seen.
        try {
          this.#cost.record(options.step(tick, (sampled.startedS - sampled.scheduledS) * 1000));
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

  async stop(): Promise<TickLoopStats> {
    await this.#loop.stop();
    return this.stats();
  }

  stats(): TickLoopStats {
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
