/**
 * Physical quantities as branded numbers.
 *
 * A `Celsius` is a `number` at run time, but the compiler only lets one be made by
 * {@link celsius}, which checks the value. Mixing watts and joules, or passing a
 * raw number where a temperature is expected, fails to compile.
 *
 * Hot loops work on plain `Float64Array`s; brands are applied at module boundaries.
 */
import { UnitRangeError } from '../errors.js';

declare const kUnit: unique symbol;

/** A number carrying a compile-time unit tag. */
export type Quantity<U extends string> = number & { readonly [kUnit]: U };

/** Temperature in degrees Celsius (absolute, ≥ −273.15). */
export type Celsius = Quantity<'Celsius'>;
/** Temperature difference in kelvin (may be negative). */
export type Kelvin = Quantity<'Kelvin'>;
/** Power in watts (≥ 0). */
export type Watts = Quantity<'Watts'>;
/** Energy in joules (≥ 0). */
export type Joules = Quantity<'Joules'>;
/** Duration in seconds (≥ 0). */
export type Seconds = Quantity<'Seconds'>;
/** Frequency in hertz (> 0). */
export type Hertz = Quantity<'Hertz'>;
/** Thermal resistance in kelvin per watt (> 0). */
export type KelvinPerWatt = Quantity<'KelvinPerWatt'>;
/** A dimensionless fraction in [0, 1] (utilisation, share of compute allowed). */
export type Fraction = Quantity<'Fraction'>;

/** Absolute zero in degrees Celsius. */
export const ABSOLUTE_ZERO_C = -273.15;

function checkFinite(value: number, unit: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new UnitRangeError(`${unit} must be a finite number, got ${String(value)}`);
  }
}

/**
 * Makes a {@link Celsius}. Throws `MXW_ERR_UNIT_RANGE` below absolute zero.
 * @example celsius(80)
 */
export function celsius(value: number): Celsius {
  checkFinite(value, 'Celsius');
  if (value < ABSOLUTE_ZERO_C) throw new UnitRangeError(`${value} °C is below absolute zero (${ABSOLUTE_ZERO_C} °C)`);
  return value as Celsius;
}

/** Makes a {@link Kelvin} temperature difference. @example kelvin(2.5) */
export function kelvin(value: number): Kelvin {
  checkFinite(value, 'Kelvin');
  return value as Kelvin;
}

/** Makes a {@link Watts}. Throws `MXW_ERR_UNIT_RANGE` when negative. @example watts(12) */
export function watts(value: number): Watts {
  checkFinite(value, 'Watts');
  if (value < 0) throw new UnitRangeError(`power must be ≥ 0 W, got ${value} W`);
  return value as Watts;
}

/** Makes a {@link Joules}. Throws `MXW_ERR_UNIT_RANGE` when negative. @example joules(5000) */
export function joules(value: number): Joules {
  checkFinite(value, 'Joules');
  if (value < 0) throw new UnitRangeError(`energy must be ≥ 0 J, got ${value} J`);
  return value as Joules;
}

/** Makes a {@link Seconds}. Throws `MXW_ERR_UNIT_RANGE` when negative. @example seconds(0.01) */
export function seconds(value: number): Seconds {
  checkFinite(value, 'Seconds');
  if (value < 0) throw new UnitRangeError(`duration must be ≥ 0 s, got ${value} s`);
  return value as Seconds;
}

/** Makes a {@link Hertz}. Throws `MXW_ERR_UNIT_RANGE` unless strictly positive. @example hertz(100) */
export function hertz(value: number): Hertz {
  checkFinite(value, 'Hertz');
  if (value <= 0) throw new UnitRangeError(`frequency must be > 0 Hz, got ${value} Hz`);
  return value as Hertz;
}

/** Makes a {@link KelvinPerWatt}. Throws `MXW_ERR_UNIT_RANGE` unless strictly positive. */
export function kelvinPerWatt(value: number): KelvinPerWatt {
  checkFinite(value, 'KelvinPerWatt');
  if (value <= 0) throw new UnitRangeError(`thermal resistance must be > 0 K/W, got ${value} K/W`);
  return value as KelvinPerWatt;
}

/** Makes a {@link Fraction}. Throws `MXW_ERR_UNIT_RANGE` outside [0, 1]. @example fraction(0.5) */
export function fraction(value: number): Fraction {
  checkFinite(value, 'Fraction');
  if (value < 0 || value > 1) throw new UnitRangeError(`fraction must be in [0, 1], got ${value}`);
  return value as Fraction;
}

/** Energy from constant power over a duration. */
export function energy(power: Watts, duration: Seconds): Joules {
  return (power * duration) as Joules;
}

/** The period of a frequency. */
export function periodOf(frequency: Hertz): Seconds {
  return (1 / frequency) as Seconds;
}
