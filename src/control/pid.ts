/**
 * A discrete PID controller for positive-gain plants (more output → more measurement),
 * in the form of Åström & Hägglund, "Advanced PID Control" (2006), §3.5 and §13:
 *
 *     P = Kp · (b·r − y)                                        setpoint weight b
 *     D = Td/(Td + N·h) · D − Kp·Td·N/(Td + N·h) · (y − y_prev)  filtered, on measurement
 *     v = P + I + D,   u = clamp(v, min, max)
 *     I = I + Kp·h/Ti · (r − y) + h/Tt · (u − v)                back-calculation anti-windup
 *
 * The derivative acts on the measurement, so a setpoint step gives no derivative kick.
 * Changes of setpoint, weight or gains move I so that the output does not jump
 * (bumpless transfer); the integral then drives the error to zero.
 */
import { PidMeasurementError, PidParamsError } from '../errors.js';

/** PID parameters (units: output per measurement unit, seconds). */
export interface PidParams {
  /** Proportional gain Kp, output units per measurement unit (> 0). */
  readonly kp: number;
  /** Integral time Ti, seconds; `Infinity` disables integral action. */
  readonly tiS: number;
  /** Derivative time Td, seconds; 0 disables derivative action. @default 0 */
  readonly tdS: number;
  /** Derivative filter: the derivative is low-passed with time constant Td/N. @default 10 */
  readonly derivativeFilterN: number;
  /** Setpoint weight b in [0, 1] on the proportional term. @default 1 */
  readonly setpointWeight: number;
  /** Anti-windup tracking time Tt, seconds; `null` takes √(Ti·Td), or Ti/2 without D. @default null */
  readonly trackingTimeS: number | null;
  /** Lower output limit. */
  readonly outputMin: number;
  /** Upper output limit. */
  readonly outputMax: number;
  /** Sample period h, seconds (> 0). */
  readonly sampleS: number;
}

/** Defaults for the optional parameters. */
export const DEFAULT_PID_OPTIONS = {
  tdS: 0,
  derivativeFilterN: 10,
  setpointWeight: 1,
  trackingTimeS: null,
  outputMin: 0,
  outputMax: 1,
} as const satisfies Partial<PidParams>;

/** Required parameters plus any optional ones. */
export type PidInit = Pick<PidParams, 'kp' | 'tiS' | 'sampleS'> & Partial<PidParams>;

/** Fills defaults and validates. Throws `MXW_ERR_PID_PARAMS` naming the bad field. */
export function createPidParams(init: PidInit): PidParams {
  const params: PidParams = { ...DEFAULT_PID_OPTIONS, ...init };
  validatePidParams(params);
  return params;
}

/** Validates cross-field rules. Throws `MXW_ERR_PID_PARAMS`. */
export function validatePidParams(p: PidParams): void {
  const positive = (value: number, name: string): void => {
    if (!(value > 0) || Number.isNaN(value)) throw new PidParamsError(`invalid ${name}: must be > 0, got ${String(value)}`);
  };
  positive(p.kp, 'kp');
  positive(p.tiS, 'tiS');
  positive(p.sampleS, 'sampleS');
  positive(p.derivativeFilterN, 'derivativeFilterN');
  if (!Number.isFinite(p.sampleS)) throw new PidParamsError('invalid sampleS: must be finite');
  if (!(p.tdS >= 0) || !Number.isFinite(p.tdS)) throw new PidParamsError(`invalid tdS: must be ≥ 0, got ${String(p.tdS)}`);
  if (!(p.setpointWeight >= 0 && p.setpointWeight <= 1)) {
    throw new PidParamsError(`invalid setpointWeight: must be in [0, 1], got ${String(p.setpointWeight)}`);
  }
  if (p.trackingTimeS !== null) positive(p.trackingTimeS, 'trackingTimeS');
  if (!Number.isFinite(p.outputMin) || !Number.isFinite(p.outputMax) || p.outputMin >= p.outputMax) {
    throw new PidParamsError(`invalid output limits: need finite outputMin < outputMax, got [${p.outputMin}, ${p.outputMax}]`);
  }
}

/**
 * One PID loop. Call {@link PidController.update} once per sample period.
 * @example
 * const pid = new PidController(createPidParams({ kp: 0.09, tiS: 0.8, sampleS: 0.01 }), 80)
 * const allowed = pid.update(measuredTemperature)
 */
export class PidController {
  #params: PidParams;
  #setpoint: number;
  #integral = 0;
  #derivative = 0;
  #lastMeasurement = Number.NaN;
  #lastOutput: number;
  #tracking = 0;
  #derivativeDecay = 0;
  #derivativeGain = 0;

  constructor(params: PidParams, setpoint: number) {
    validatePidParams(params);
    if (!Number.isFinite(setpoint)) throw new PidParamsError(`invalid setpoint: ${String(setpoint)}`);
    this.#params = params;
    this.#setpoint = setpoint;
    this.#lastOutput = params.outputMin;
    this.#precompute();
  }

  /** Current parameters. */
  get params(): PidParams {
    return this.#params;
  }

  get setpoint(): number {
    return this.#setpoint;
  }

  /** The last output (the initial output before the first update: `outputMin`). */
  get output(): number {
    return this.#lastOutput;
  }

  /** The integral term (for inspection and tests). */
  get integral(): number {
    return this.#integral;
  }

  /**
   * Initialises the controller so that its next output, for measurement `y`, is `output`
   * (bumpless start from a known actuator position).
   */
  track(output: number, measurement: number): void {
    this.#checkMeasurement(measurement);
    const { outputMin, outputMax } = this.#params;
    const clamped = Math.min(outputMax, Math.max(outputMin, output));
    this.#integral = clamped - this.#proportional(measurement);
    this.#derivative = 0;
    this.#lastMeasurement = measurement;
    this.#lastOutput = clamped;
  }

  /** Changes the setpoint without a jump in output. */
  setSetpoint(setpoint: number): void {
    if (!Number.isFinite(setpoint)) throw new PidParamsError(`invalid setpoint: ${String(setpoint)}`);
    const y = this.#lastMeasurement;
    if (Number.isFinite(y)) {
      const before = this.#proportional(y);
      this.#setpoint = setpoint;
      this.#integral += before - this.#proportional(y);
    } else {
      this.#setpoint = setpoint;
    }
  }

  /** Changes gains or limits without a jump in output. Throws `MXW_ERR_PID_PARAMS`. */
  setParams(next: PidParams): void {
    validatePidParams(next);
    const y = this.#lastMeasurement;
    const before = Number.isFinite(y) ? this.#proportional(y) : 0;
    this.#params = next;
    if (Number.isFinite(y)) this.#integral += before - this.#proportional(y);
    this.#precompute();
  }

  /**
   * Takes one measurement and returns the new output, within the limits.
   * Throws `MXW_ERR_PID_MEASUREMENT` when `measurement` is not finite: a garbage sensor
   * value must not move the actuator.
   */
  update(measurement: number): number {
    this.#checkMeasurement(measurement);
    const p = this.#params;
    const previous = Number.isFinite(this.#lastMeasurement) ? this.#lastMeasurement : measurement;
    this.#derivative = this.#derivativeDecay * this.#derivative - this.#derivativeGain * (measurement - previous);
    const v = this.#proportional(measurement) + this.#integral + this.#derivative;
    const u = Math.min(p.outputMax, Math.max(p.outputMin, v));
    const integralStep = Number.isFinite(p.tiS) ? (p.kp * p.sampleS * (this.#setpoint - measurement)) / p.tiS : 0;
    this.#integral += integralStep + this.#tracking * (u - v);
    this.#lastMeasurement = measurement;
    this.#lastOutput = u;
    return u;
  }

  #proportional(measurement: number): number {
    return this.#params.kp * (this.#params.setpointWeight * this.#setpoint - measurement);
  }

  #checkMeasurement(measurement: number): void {
    if (typeof measurement !== 'number' || !Number.isFinite(measurement)) {
      throw new PidMeasurementError(`measurement must be a finite number, got ${String(measurement)}`);
    }
  }

  #precompute(): void {
    const { tdS, derivativeFilterN: n, sampleS: h, kp, tiS, trackingTimeS } = this.#params;
    this.#derivativeDecay = tdS > 0 ? tdS / (tdS + n * h) : 0;
    this.#derivativeGain = tdS > 0 ? (kp * tdS * n) / (tdS + n * h) : 0;
    if (!Number.isFinite(tiS)) {
      // Without integral action there is nothing to wind up.
      this.#tracking = 0;
      return;
    }
    const tt = trackingTimeS ?? (tdS > 0 ? Math.sqrt(tiS * tdS) : tiS / 2);
    // h/Tt above 1 would over-correct in one step.
    this.#tracking = Math.min(1, h / tt);
  }
}
