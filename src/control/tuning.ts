/**
 * PID gains from an identified first-order-plus-dead-time plant, never hand-picked.
 *
 * - SIMC (Skogestad, "Simple analytic rules for model reduction and PID controller
 *   tuning", J. Process Control 13, 2003): PI with Kc = τ / (k·(τc + θ)),
 *   Ti = min(τ, 4·(τc + θ)). Default τc = θ ("tight control"), which the paper shows
 *   gives a gain margin ≈ 3 and little overshoot.
 * - IMC-PID (Rivera, Morari, Skogestad 1986, FOPDT with a first-order Padé delay):
 *   Kc = (2τ + θ) / (k·(2τc + θ)), Ti = τ + θ/2, Td = τθ / (2τ + θ).
 * - Anti-windup tracking time Tt = θ (both rules).
 */
import { PidParamsError } from '../errors.js';
import { createPidParams, type PidParams } from './pid.js';

/** An identified plant: output change per unit of controller output, time constant, dead time. */
export interface FopdtModel {
  /** Steady-state gain k, measurement units per output unit (> 0 for these rules). */
  readonly gain: number;
  readonly tauS: number;
  readonly deadTimeS: number;
}

/** Which tuning rule. */
export type TuningRule = 'simc' | 'imc';

export interface TuningOptions {
  readonly rule: TuningRule;
  /**
   * Desired closed-loop time constant τc, seconds. `null` takes the rule's default:
   * τc = θ (or τ/10 when there is no dead time, so the loop stays slower than sampling).
   */
  readonly closedLoopTauS: number | null;
  readonly sampleS: number;
  readonly outputMin: number;
  readonly outputMax: number;
}

/** The gains and the reasoning behind them, for reports. */
export interface Tuning {
  readonly rule: TuningRule;
  readonly model: FopdtModel;
  readonly closedLoopTauS: number;
  readonly params: PidParams;
}

/**
 * The derivative filter keeps its time constant Td/N at least two samples long: with
 * Td ≈ θ/2 = 50 ms at 100 Hz, the textbook N = 10 left the derivative unfiltered and, on
 * 0.5 °C sensor noise, the output jittered by ±0.4 and held the twin 5 °C below setpoint.
 */
function imcDerivativeFilterN(tdS: number, sampleS: number): number {
  return Math.min(10, Math.max(1, tdS / (2 * sampleS)));
}

/** Derives PID parameters from `model`. Throws `MXW_ERR_PID_PARAMS` for a model the rules cannot use. */
export function tunePid(model: FopdtModel, options: TuningOptions): Tuning {
  const { gain: k, tauS: tau, deadTimeS: theta } = model;
  if (!Number.isFinite(k) || k <= 0) throw new PidParamsError(`plant gain must be finite and > 0, got ${String(k)}`);
  if (!Number.isFinite(tau) || tau <= 0) throw new PidParamsError(`plant tauS must be finite and > 0, got ${String(tau)}`);
  if (!Number.isFinite(theta) || theta < 0) throw new PidParamsError(`plant deadTimeS must be finite and ≥ 0, got ${String(theta)}`);
  const tauC = options.closedLoopTauS ?? (theta > 0 ? theta : tau / 10);
  if (!Number.isFinite(tauC) || tauC <= 0) throw new PidParamsError(`closedLoopTauS must be > 0, got ${String(tauC)}`);
  // Anti-windup resets the integrator within one dead time: the plant cannot react sooner,
  // and the default √(Ti·Td) or Ti/2 left 1.5 °C of wind-up overshoot on the 4-core twin.
  const limits = {
    sampleS: options.sampleS,
    outputMin: options.outputMin,
    outputMax: options.outputMax,
    trackingTimeS: theta > 0 ? Math.max(theta, options.sampleS) : null,
  };
  const params =
    options.rule === 'simc'
      ? createPidParams({ kp: tau / (k * (tauC + theta)), tiS: Math.min(tau, 4 * (tauC + theta)), ...limits })
      : createPidParams({
          kp: (2 * tau + theta) / (k * (2 * tauC + theta)),
          tiS: tau + theta / 2,
          tdS: (tau * theta) / (2 * tau + theta),
          derivativeFilterN: imcDerivativeFilterN((tau * theta) / (2 * tau + theta), options.sampleS),
          ...limits,
        });
  return { rule: options.rule, model, closedLoopTauS: tauC, params };
}
