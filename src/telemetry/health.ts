/**
 * Sanity checks on sensor values. A value that fails is flagged untrusted, and a coded
 * warning names the sensor once per problem (not once per sample): −274 °C, a counter that
 * runs backwards without wrapping, a sensor stuck on one value while the machine's load moves.
 */
import type { ReadingQuantity } from './reader.js';

/** Warning codes of telemetry; never reused. Listed in docs/ERRORS.md. */
export const TELEMETRY_WARNING_CODES = [
  'MXW_WARN_SENSOR_OUT_OF_RANGE',
  'MXW_WARN_SENSOR_BACKWARDS',
  'MXW_WARN_SENSOR_STUCK',
  'MXW_WARN_READER_FAILED',
] as const;

export type TelemetryWarningCode = (typeof TELEMETRY_WARNING_CODES)[number];

/** A warning about one sensor or reader. */
export interface TelemetryWarning {
  readonly code: TelemetryWarningCode;
  /** The channel or reader concerned. */
  readonly subject: string;
  readonly message: string;
}

export type WarningSink = (warning: TelemetryWarning) => void;

/** Physically plausible ranges per quantity. */
const PLAUSIBLE: Readonly<Record<ReadingQuantity, readonly [number, number]>> = {
  temperature: [-40, 150],
  power: [0, 20_000],
  energy: [0, Number.POSITIVE_INFINITY],
  utilisation: [0, 1],
  'cpu-time': [0, Number.POSITIVE_INFINITY],
};

/** How long a value may stay identical while the load moves before it counts as stuck. */
export const STUCK_AFTER_S = 30;
/** Change in machine utilisation (fraction of all cores) that a live temperature sensor must follow. */
export const STUCK_ACTIVITY_DELTA = 0.3;

/** Tracks one channel. */
export class SensorHealth {
  readonly #channel: string;
  readonly #quantity: ReadingQuantity;
  readonly #warn: WarningSink;
  readonly #reported = new Set<TelemetryWarningCode>();
  #last = Number.NaN;
  #unchangedSinceS = Number.NaN;
  #activityMin = Number.POSITIVE_INFINITY;
  #activityMax = Number.NEGATIVE_INFINITY;

  constructor(channel: string, quantity: ReadingQuantity, warn: WarningSink) {
    this.#channel = channel;
    this.#quantity = quantity;
    this.#warn = warn;
  }

  #report(code: TelemetryWarningCode, message: string): void {
    if (this.#reported.has(code)) return;
    this.#reported.add(code);
    this.#warn({ code, subject: this.#channel, message: `${this.#channel}: ${message}` });
  }

  /**
   * Checks a value. `nowS` and `activity` (machine utilisation, 0–1, when known) feed the
   * stuck-sensor check for temperatures. Returns whether the value can be trusted.
   */
  check(value: number, nowS: number, activity?: number): boolean {
    const [lo, hi] = PLAUSIBLE[this.#quantity];
    if (!Number.isFinite(value) || value < lo || value > hi) {
      this.#report('MXW_WARN_SENSOR_OUT_OF_RANGE', `value ${String(value)} is outside the plausible range [${lo}, ${hi}]; not trusted`);
      return false;
    }
    if (this.#quantity === 'temperature') return this.#checkStuck(value, nowS, activity);
    return true;
  }

  /** Records that a cumulative counter went backwards without a plausible wrap. */
  backwards(previous: number, current: number): void {
    this.#report('MXW_WARN_SENSOR_BACKWARDS', `counter went backwards (${previous} → ${current}) without wrapping; not trusted`);
  }

  #checkStuck(value: number, nowS: number, activity: number | undefined): boolean {
    if (value !== this.#last || !Number.isFinite(this.#unchangedSinceS)) {
      this.#last = value;
      this.#unchangedSinceS = nowS;
      this.#activityMin = Number.POSITIVE_INFINITY;
      this.#activityMax = Number.NEGATIVE_INFINITY;
    }
    if (activity !== undefined && Number.isFinite(activity)) {
      this.#activityMin = Math.min(this.#activityMin, activity);
      this.#activityMax = Math.max(this.#activityMax, activity);
    }
    const stuck = nowS - this.#unchangedSinceS >= STUCK_AFTER_S && this.#activityMax - this.#activityMin >= STUCK_ACTIVITY_DELTA;
    if (stuck) {
      this.#report(
        'MXW_WARN_SENSOR_STUCK',
        `reads ${value} unchanged for ${(nowS - this.#unchangedSinceS).toFixed(0)} s while load moved by ${(100 * (this.#activityMax - this.#activityMin)).toFixed(0)} %; not trusted`,
      );
    }
    return !stuck;
  }
}
