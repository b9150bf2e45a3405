/**
 * Thermal pricing (docs/DESIGN.md §2): each core's reserve price is the energy cost of a quantum
 * there times a thermal multiplier.
 *
 *     headroom   h_i = clamp((T_throttle − T_i) / (T_throttle − T_ambient), ε, 1)
 *     stress     σ_i = 1/h_i − 1                    (0 at ambient, → ∞ at the throttle point)
 *     GPU stress σ_g = u_g / (1 − u_g)              (0 idle, → ∞ at full utilisation)
 *     multiplier m_i = 1 + σ_i + β · Σ_{j≠i} K_ij σ_j + β_g · κ_i · σ_g
 *
 * K is the (identified) core coupling; κ_i is how close core i sits to the GPU,
 * κ_i = exp(−d_i / λ) with d_i the core's distance (in core pitches) from the GPU-side core.
 * m_i is 1 at ambient with an idle GPU and grows without bound as any headroom it depends on
 * goes to zero. The defaults (β = 1, β_g = 7/19, λ = 3 / ln 14) are calibrated to the
 * design's example: cores at ambient, GPU at 95 % → core 0 ≈ 8×, core 3 ≈ 1.5×.
 */
import { InvalidArgumentError } from '../errors.js';
import type { Matrix } from '../physics/coupling.js';

export interface PricingParams {
  /** Temperature at which the hardware throttles, °C. @default 95 */
  readonly throttleC: number;
  /** Ambient temperature, °C (multiplier 1 there). @default 25 */
  readonly ambientC: number;
  /** Weight of coupled cores' stress. @default 1 */
  readonly neighbourWeight: number;
  /** Weight of the GPU's stress on the GPU-side core. @default 7/19 */
  readonly gpuWeight: number;
  /** Decay length of GPU proximity, core pitches. @default 3 / ln 14 */
  readonly gpuDecayPitches: number;
  /** Smallest headroom used, so a core at or above the throttle point has a finite (huge) price. @default 1e-3 */
  readonly minHeadroom: number;
}

export const DEFAULT_PRICING: PricingParams = {
  throttleC: 95,
  ambientC: 25,
  neighbourWeight: 1,
  // Calibration: 1 + β_g·κ_0·19 = 8 with κ_0 = 1 → β_g = 7/19; 1 + β_g·κ_3·19 = 1.5 → κ_3 = 1/14 = e^(−3/λ).
  gpuWeight: 7 / 19,
  gpuDecayPitches: 3 / Math.log(14),
  minHeadroom: 1e-3,
};

/** Validates pricing parameters. Throws `MXW_ERR_INVALID_ARG` naming the field. */
export function validatePricing(p: PricingParams): void {
  if (!(p.throttleC > p.ambientC)) throw new InvalidArgumentError('throttleC must be above ambientC');
  for (const [name, v] of [['neighbourWeight', p.neighbourWeight], ['gpuWeight', p.gpuWeight]] as const) {
    if (!(v >= 0) || !Number.isFinite(v)) throw new InvalidArgumentError(`invalid ${name}: ${String(v)}`);
  }
  if (!(p.gpuDecayPitches > 0)) throw new InvalidArgumentError(`invalid gpuDecayPitches: ${String(p.gpuDecayPitches)}`);
  if (!(p.minHeadroom > 0 && p.minHeadroom < 1)) throw new InvalidArgumentError(`invalid minHeadroom: ${String(p.minHeadroom)}`);
}

/** GPU proximity of `cores` cores in a row with core 0 beside the GPU. */
export function gpuProximity(cores: number, p: PricingParams = DEFAULT_PRICING): Float64Array {
  return Float64Array.from({ length: cores }, (_, i) => Math.exp(-i / p.gpuDecayPitches));
}

/** Computes every core's thermal multiplier into `out` (no allocation). */
export class ThermalPricing {
  readonly #p: PricingParams;
  readonly #k: Float64Array;
  readonly #proximity: Float64Array;
  readonly #stress: Float64Array;
  readonly cores: number;

  constructor(coupling: Matrix, params: PricingParams = DEFAULT_PRICING, proximity?: Float64Array) {
    validatePricing(params);
    const n = coupling.length;
    this.cores = n;
    this.#p = params;
    this.#k = new Float64Array(n * n);
    coupling.forEach((row, i) => {
      if (row.length < n) throw new InvalidArgumentError(`coupling row ${i} is short`);
      for (let j = 0; j < n; j++) this.#k[i * n + j] = row[j] ?? 0;
    });
    this.#proximity = proximity ?? gpuProximity(n, params);
    if (this.#proximity.length !== n) throw new InvalidArgumentError(`need ${n} GPU proximities, got ${this.#proximity.length}`);
    this.#stress = new Float64Array(n);
  }

  /** Stress of one temperature: 0 at ambient, unbounded at the throttle point. */
  stress(temperatureC: number): number {
    const p = this.#p;
    if (!Number.isFinite(temperatureC)) throw new InvalidArgumentError(`invalid temperature: ${String(temperatureC)}`);
    const h = Math.min(1, Math.max(p.minHeadroom, (p.throttleC - temperatureC) / (p.throttleC - p.ambientC)));
    return 1 / h - 1;
  }

  /**
   * Multipliers for core temperatures `temperaturesC` and GPU utilisation `gpuUtilisation`
   * (0–1; 0 when there is no GPU), written into `out`.
   */
  multipliers(temperaturesC: ArrayLike<number>, gpuUtilisation: number, out: Float64Array): void {
    const n = this.cores;
    if (temperaturesC.length !== n || out.length < n) throw new InvalidArgumentError(`need ${n} temperatures and room for ${n} multipliers`);
    if (!(gpuUtilisation >= 0 && gpuUtilisation <= 1)) throw new InvalidArgumentError(`invalid GPU utilisation: ${String(gpuUtilisation)}`);
    const stress = this.#stress;
    for (let i = 0; i < n; i++) stress[i] = this.stress(temperaturesC[i] ?? Number.NaN);
    const u = Math.min(gpuUtilisation, 1 - this.#p.minHeadroom);
    const gpuStress = u / (1 - u);
    const k = this.#k;
    const { neighbourWeight, gpuWeight } = this.#p;
    for (let i = 0; i < n; i++) {
      let neighbours = 0;
      for (let j = 0; j < n; j++) if (j !== i) neighbours += (k[i * n + j] ?? 0) * (stress[j] ?? 0);
      out[i] = 1 + (stress[i] ?? 0) + neighbourWeight * neighbours + gpuWeight * (this.#proximity[i] ?? 0) * gpuStress;
    }
  }
}

/** Reserve price of a quantum, J: its energy cost times the multiplier. */
export function reservePrice(powerW: number, quantumS: number, multiplier: number): number {
  if (!(powerW >= 0) || !(quantumS > 0) || !(multiplier >= 1)) {
    throw new InvalidArgumentError(`invalid reserve inputs: power ${String(powerW)} W, quantum ${String(quantumS)} s, multiplier ${String(multiplier)}`);
  }
  return powerW * quantumS * multiplier;
}
