/**
 * Physical quantities as branded numbers — one, `Seconds`, because it is the one unit whose
 * mix-up the code's naming does not already catch.
 *
 * Durations cross module boundaries in two units: the configuration, the runtimes and the
 * protocol count milliseconds (`startupGraceMs`, `graceMs`), while the `Clock` counts seconds.
 * A `Seconds` can be made only by {@link seconds}, which checks the value, so `clock.sleep(graceMs)`
 * fails to compile instead of sleeping a thousand times too long.
 *
 * Temperatures, powers, energies, frequencies, thermal resistances and fractions had brands too;
 * they were removed unused. Their values travel in `Float64Array`s (the twin, the clearing, the
 * PID loops), where a brand cannot follow, and at the boundaries each is one parameter whose name
 * carries its unit (`temperatureC`, `powerW`, `resistanceKPerW`); the one signature that takes two
 * of them side by side (`loopMetrics`: a setpoint in °C, a step time in s) is called only inside
 * its own folder. A CPU share is not a fraction either: it counts cores and may exceed 1. Money is
 * exact integer µJ, in `money.ts`.
 */
import { UnitRangeError } from '../errors.js';

declare const kUnit: unique symbol;

/** A number carrying a compile-time unit tag. */
export type Quantity<U extends string> = number & { readonly [kUnit]: U };

/** Duration in seconds (≥ 0). */
export type Seconds = Quantity<'Seconds'>;

/** Makes a {@link Seconds}. Throws `MXW_ERR_UNIT_RANGE` when negative or not finite. @example seconds(0.01) */
export function seconds(value: number): Seconds {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new UnitRangeError(`Seconds must be a finite number, got ${String(value)}`);
  if (value < 0) throw new UnitRangeError(`duration must be ≥ 0 s, got ${value} s`);
  return value as Seconds;
}
