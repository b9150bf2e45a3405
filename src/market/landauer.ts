/**
 * The Landauer tax (docs/DESIGN.md §1.4): erasing a bit costs at least k_B·T·ln 2 of energy. At
 * 300 K that is 2.87·10⁻²¹ J — a gigabyte erased costs 2.5·10⁻¹¹ J, nothing next to a quantum.
 * So the tax charged is the physical bound times a policy multiplier, and both parts are
 * reported separately: the physics is a fact, the multiplier a choice.
 *
 * Default multiplier 10¹⁰: erasing 1 GiB (2.47·10⁻¹¹ J at 300 K) is taxed 0.25 J, so freeing memory at
 * 1 GiB/s costs as much as 0.25 W — 2.5 % of a 10 W core: noticeable to a churner that frees
 * memory all the time, negligible to an agent that frees what it used once. It is configurable.
 */
import { InvalidArgumentError } from '../errors.js';

/** Boltzmann constant, J/K (exact since the 2019 SI redefinition). */
export const BOLTZMANN_J_PER_K = 1.380649e-23;
export const DEFAULT_LANDAUER_MULTIPLIER = 1e10;

export interface LandauerCharge {
  /** The physical minimum for erasing these bytes at this temperature, J. */
  readonly physicalJ: number;
  /** The multiplier applied (policy). */
  readonly multiplier: number;
  /** What is charged: physicalJ × multiplier, in integer microjoules. */
  readonly taxMicroJ: bigint;
}

/** The tax for erasing `bytes` at `temperatureK`. Throws `MXW_ERR_INVALID_ARG` for garbage. */
export function landauerTax(bytes: number, temperatureK: number, multiplier = DEFAULT_LANDAUER_MULTIPLIER): LandauerCharge {
  if (!Number.isFinite(bytes) || bytes < 0) throw new InvalidArgumentError(`invalid erased bytes: ${String(bytes)}`);
  if (!(temperatureK > 0) || !Number.isFinite(temperatureK)) throw new InvalidArgumentError(`invalid temperature: ${String(temperatureK)} K`);
  if (!(multiplier >= 0) || !Number.isFinite(multiplier)) throw new InvalidArgumentError(`invalid multiplier: ${String(multiplier)}`);
  const physicalJ = BOLTZMANN_J_PER_K * temperatureK * Math.LN2 * 8 * bytes;
  return { physicalJ, multiplier, taxMicroJ: BigInt(Math.round(physicalJ * multiplier * 1e6)) };
}
