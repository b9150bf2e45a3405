/**
 * Cumulative energy counters that wrap: RAPL's `energy_uj` wraps at `max_energy_range_uj`,
 * the MSR energy status registers at 2³². A counter read at least once per wrap period is
 * unambiguous; a decrease is a wrap only if the implied increment is plausible.
 */
import type { SensorHealth } from './health.js';

export class WrappingCounter {
  readonly #range: number;
  readonly #maxPlausibleStep: number;
  #last = Number.NaN;
  #total = 0;
  #lastTrusted = true;

  /**
   * @param range the counter counts 0 … range − 1 and then wraps
   * @param maxPlausibleStep the largest increase possible between two reads (raw units)
   */
  constructor(range: number, maxPlausibleStep: number) {
    this.#range = range;
    this.#maxPlausibleStep = maxPlausibleStep;
  }

  /** Feeds a raw reading; returns the total increase since the first reading (raw units). */
  update(raw: number, health?: SensorHealth): number {
    if (Number.isNaN(this.#last)) {
      this.#last = raw;
      this.#lastTrusted = true;
      return 0;
    }
    let step = raw - this.#last;
    if (step < 0) {
      const wrapped = step + this.#range;
      if (wrapped >= 0 && wrapped <= this.#maxPlausibleStep) {
        step = wrapped;
      } else {
        health?.backwards(this.#last, raw);
        this.#lastTrusted = false;
        this.#last = raw;
        return this.#total;
      }
    }
    this.#last = raw;
    this.#total += step;
    this.#lastTrusted = true;
    return this.#total;
  }

  /**
   * False when the last update went backwards without a plausible wrap: that step is left
   * out of the total (nothing is invented) and the reading is not trusted.
   */
  get lastTrusted(): boolean {
    return this.#lastTrusted;
  }
}
