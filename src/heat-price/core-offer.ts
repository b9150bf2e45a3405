/**
 * From core temperatures to the auction's offer, once per tick: one PID per core turns
 * temperature error into how much of the core may be sold (its allowance), the thermal pricing
 * turns temperatures into reserve prices, and the cores are packed best first as slots.
 *
 * Pure (no I/O, no clock): the daemon's ThermalState feeds it the tick's temperatures,
 * and the GSP-stability research (`src/research/gsp-stability.ts`) feeds it the twin's, so
 * both sell cores by the same rules.
 *
 * The PID gains come from the twin's model of a core (τ, θ, and the gain R·ΣK²·ΔP), the same
 * derivation `maxwell calibrate` uses on identified parameters.
 */
import { PidController } from '../control/pid.js';
import { tunePid } from '../control/tuning.js';
import type { PlaneOffer } from '../market/engine.js';
import { ThermalPricing, DEFAULT_PRICING, reservePrice, type PricingParams } from '../market/pricing.js';
import { resolveTwinParams, type ThermalTwinParams } from '../physics/twin-params.js';
import { fillOffer, reorderOffer, type OfferArrays } from './offer-order.js';

/** A core offering less than this fraction of a quantum is not offered at all. */
export const MIN_ALLOWANCE = 0.05;

export interface CoreOfferOptions {
  readonly twin: ThermalTwinParams;
  /** Temperature the per-core controllers hold, °C. */
  readonly setpointC: number;
  /** A core above this is not offered at all (the daemon's emergency path pauses its agents), °C. */
  readonly criticalC: number;
  /** Ticks per second (a quantum is 1/rateHz s). */
  readonly rateHz: number;
  /** @default DEFAULT_PRICING */
  readonly pricing?: PricingParams;
  /**
   * Every core at the price of a quantum at ambient (multiplier 1), however hot: the ablation's
   * "flat price" arm. The controllers still set the allowance. @default false
   */
  readonly flatPrice?: boolean;
}

/**
 * Per-core controllers, pricing and the offer order, with every array allocated once.
 * @example
 * const offer = new CoreOffer({ twin: DEFAULT_TWIN_PARAMS, setpointC: 80, criticalC: 95, rateHz: 100 })
 * const slots = offer.update(temperaturesC) // slots.quality, slots.reserve, slots.unit
 */
export class CoreOffer {
  readonly cores: number;
  /** Per core, after `update`: the share of a quantum it may sell (0 above the critical temperature). */
  readonly allowance: Float64Array;
  /** Per core, after `update`: the thermal multiplier. */
  readonly multipliers: Float64Array;
  /** Per core, after `update`: the reserve for a full quantum, J. */
  readonly reservePerQuantumJ: Float64Array;
  readonly #pids: PidController[];
  readonly #pricing: ThermalPricing;
  readonly #quantumS: number;
  readonly #fullCoreW: number;
  readonly #criticalC: number;
  readonly #flatPrice: boolean;
  readonly #order: number[];
  /** The offer's arrays, filled in place each tick. */
  readonly #slots: OfferArrays;
  /** Per number of slots on sale, the offer's views of `#slots`. */
  readonly #views: (PlaneOffer | undefined)[] = [];

  constructor(options: CoreOfferOptions) {
    const params = resolveTwinParams(options.twin);
    const cores = params.cores;
    this.cores = cores;
    this.#quantumS = 1 / options.rateHz;
    this.#fullCoreW = params.core.idleW + params.core.dynamicW;
    this.#criticalC = options.criticalC;
    this.#flatPrice = options.flatPrice ?? false;
    const coupling = params.coupling.slice(0, cores).map((row) => row.slice(0, cores));
    const models = coupling.map((row) => ({
      gain: params.coreResistanceKPerW * row.reduce((sum, k) => sum + k * k * params.core.dynamicW, 0),
      tauS: params.core.tauS,
      deadTimeS: params.core.deadTimeS,
    }));
    this.#pids = models.map((model) =>
      new PidController(tunePid(model, { rule: 'simc', closedLoopTauS: null, sampleS: this.#quantumS, outputMin: 0, outputMax: 1 }).params, options.setpointC),
    );
    this.#pricing = new ThermalPricing(coupling, options.pricing ?? DEFAULT_PRICING);
    this.#order = Array.from({ length: cores }, (_, i) => i);
    this.#slots = { quality: new Float64Array(cores), reserve: new Float64Array(cores), unit: new Int32Array(cores) };
    this.allowance = new Float64Array(cores).fill(1);
    this.multipliers = new Float64Array(cores).fill(1);
    this.reservePerQuantumJ = new Float64Array(cores);
  }

  #externalFactor = 1;

  /** Multiplies every reserve price from the next update on (the fleet's stress from coupled neighbours; 1: none). */
  setExternalFactor(factor: number): void {
    this.#externalFactor = Number.isFinite(factor) && factor >= 1 ? factor : 1;
  }

  /** Moves each core's setpoint (°C, one per core) without a jump in its allowance (bumpless). */
  setSetpoints(setpointsC: ArrayLike<number>): void {
    for (let c = 0; c < this.cores; c++) this.#pids[c]?.setSetpoint(setpointsC[c] ?? 0);
  }

  /**
   * Steps the controllers on this tick's core temperatures, prices every core and returns the
   * offer: the cores on sale, best first (views of arrays reused by the next call).
   */
  update(temperaturesC: ArrayLike<number>): PlaneOffer {
    for (let c = 0; c < this.cores; c++) {
      const t = temperaturesC[c] ?? Number.NaN;
      const allowed = this.#pids[c]?.update(t) ?? 1;
      this.allowance[c] = t > this.#criticalC ? 0 : allowed;
    }
    if (!this.#flatPrice) this.#pricing.multipliers(temperaturesC, 0, this.multipliers);
    for (let c = 0; c < this.cores; c++) this.reservePerQuantumJ[c] = reservePrice(this.#fullCoreW, this.#quantumS, this.multipliers[c] ?? 1) * this.#externalFactor;
    // Best slot first: most allowance, then the cheapest (coolest) core; stable against noise.
    reorderOffer(this.#order, this.allowance, this.reservePerQuantumJ);
    const slots = fillOffer(this.#order, this.allowance, this.reservePerQuantumJ, MIN_ALLOWANCE, this.#slots);
    // One set of views per slot count, made the first time it is needed (not three per tick).
    let offer = this.#views[slots];
    if (offer === undefined) {
      const { quality, reserve, unit } = this.#slots;
      offer = { quality: quality.subarray(0, slots), reserve: reserve.subarray(0, slots), unit: unit.subarray(0, slots) };
      this.#views[slots] = offer;
    }
    return offer;
  }
}
