/**
 * Parameters of the thermal twin, their defaults and their validation.
 *
 * Every default here is an *assumption* (docs/DESIGN.md §2: τ ≈ 1 s / 2 s / 30 s for core,
 * GPU and chassis). Maxwell measures the real values with `maxwell calibrate`.
 */
import { TwinParamsError } from '../errors.js';
import { defaultCoreCoupling, defaultGpuToCoreCoupling, meanRowSum, validateCoupling, type Matrix } from './coupling.js';

/** One thermal plane: first order with dead time. */
export interface PlaneParams {
  /** Time constant, seconds. */
  readonly tauS: number;
  /** Dead time (transport delay) between power and temperature, seconds. */
  readonly deadTimeS: number;
  /** Thermal resistance to ambient, K/W. `null` on cores: derived (see {@link resolveCoreResistance}). */
  readonly resistanceKPerW: number | null;
}

/** The power model of a heat source. */
export interface SourcePowerParams {
  /** Power at zero utilisation, excluding leakage, W. */
  readonly idleW: number;
  /** Extra power at full utilisation, W. */
  readonly dynamicW: number;
  /** Leakage power at 25 °C, W. */
  readonly leakageW: number;
  /** Temperature rise that doubles the leakage power, K. */
  readonly leakageDoublingK: number;
}

/** A simulated temperature sensor. */
export interface SensorParams {
  /** Standard deviation of additive Gaussian noise, °C. */
  readonly noiseC: number;
  /** Quantisation step of readings, °C (0 = none; k10temp reads in 0.125 °C, coretemp in 1 °C). */
  readonly quantumC: number;
}

/** Everything the thermal twin needs. */
export interface ThermalTwinParams {
  /** Number of CPU cores (thermal planes that are also heat sources). */
  readonly cores: number;
  /** Whether a GPU plane exists. */
  readonly gpu: boolean;
  /** Ambient (inlet air) temperature, °C. */
  readonly ambientC: number;
  readonly core: PlaneParams & SourcePowerParams;
  readonly gpuPlane: PlaneParams & SourcePowerParams;
  readonly chassis: PlaneParams;
  /**
   * Coupling between heat sources, cores first then the GPU; `null` takes the default
   * ({@link defaultCoreCoupling}; GPU column {@link defaultGpuToCoreCoupling}, GPU row by
   * reciprocity `R_i K_ij = R_j K_ji`).
   */
  readonly coupling: Matrix | null;
  readonly sensor: SensorParams;
  /** Seed of the sensor-noise generator: the same seed gives a bit-identical run. */
  readonly seed: number;
}

/** Reference thermal resistance of a core in the 4-core docs/DESIGN.md layout, K/W (assumed). */
export const REFERENCE_CORE_RESISTANCE_K_PER_W = 2;
/** Mean row sum of the docs/DESIGN.md 4-core coupling matrix; the reference for scaling R. */
const REFERENCE_MEAN_ROW_SUM = 2.875;

/** The assumed defaults (docs/DESIGN.md §2). */
export const DEFAULT_TWIN_PARAMS: ThermalTwinParams = {
  cores: 4,
  gpu: true,
  ambientC: 25,
  core: {
    tauS: 1,
    deadTimeS: 0.1,
    resistanceKPerW: null,
    idleW: 1.5,
    dynamicW: 10,
    leakageW: 0.1,
    leakageDoublingK: 50,
  },
  gpuPlane: {
    tauS: 2,
    deadTimeS: 0.2,
    resistanceKPerW: 0.25,
    idleW: 15,
    dynamicW: 235,
    leakageW: 1.5,
    leakageDoublingK: 50,
  },
  chassis: { tauS: 30, deadTimeS: 1, resistanceKPerW: 0.3 },
  coupling: null,
  sensor: { noiseC: 0.5, quantumC: 0.125 },
  seed: 1,
};

/** Twin parameters with every derived value filled in. */
export interface ResolvedTwinParams extends ThermalTwinParams {
  /** Cores then (if present) the GPU. */
  readonly sources: number;
  readonly coupling: Matrix;
  readonly coreResistanceKPerW: number;
  readonly gpuResistanceKPerW: number;
  readonly chassisResistanceKPerW: number;
}

/**
 * When `core.resistanceKPerW` is `null`, scales the reference resistance so that all
 * cores at full load reach the same temperature as the 4-core reference layout, whatever
 * the core count (a 64-core grid sees far more neighbour heat than 4 cores).
 */
export function resolveCoreResistance(params: ThermalTwinParams, coreCoupling: Matrix): number {
  if (params.core.resistanceKPerW !== null) return params.core.resistanceKPerW;
  return (REFERENCE_CORE_RESISTANCE_K_PER_W * REFERENCE_MEAN_ROW_SUM) / meanRowSum(coreCoupling);
}

function checkPositive(value: number, name: string): void {
  if (!Number.isFinite(value) || value <= 0) throw new TwinParamsError(`${name} must be a finite number > 0, got ${String(value)}`);
}

function checkNonNegative(value: number, name: string): void {
  if (!Number.isFinite(value) || value < 0) throw new TwinParamsError(`${name} must be a finite number ≥ 0, got ${String(value)}`);
}

function validatePlane(plane: PlaneParams, name: string): void {
  checkPositive(plane.tauS, `${name}.tauS`);
  checkNonNegative(plane.deadTimeS, `${name}.deadTimeS`);
  if (plane.resistanceKPerW !== null) checkPositive(plane.resistanceKPerW, `${name}.resistanceKPerW`);
}

function validateSource(source: SourcePowerParams, name: string): void {
  checkNonNegative(source.idleW, `${name}.idleW`);
  checkNonNegative(source.dynamicW, `${name}.dynamicW`);
  checkNonNegative(source.leakageW, `${name}.leakageW`);
  checkPositive(source.leakageDoublingK, `${name}.leakageDoublingK`);
}

/** Objects `resolveTwinParams` returned (compared by identity: a copy is resolved again). */
const RESOLVED = new WeakSet<object>();

/**
 * Validates `params` and fills in derived values. Throws `MXW_ERR_TWIN_PARAMS` or
 * `MXW_ERR_TWIN_COUPLING` naming the offending field.
 */
export function resolveTwinParams(params: ThermalTwinParams): ResolvedTwinParams {
  // Resolved once, where the parts are put together, then handed down: a resolved object passes as it is.
  if (RESOLVED.has(params)) return params as ResolvedTwinParams;
  if (!Number.isInteger(params.cores) || params.cores < 1 || params.cores > 4096) {
    throw new TwinParamsError(`cores must be an integer in [1, 4096], got ${String(params.cores)}`);
  }
  if (!Number.isFinite(params.ambientC) || params.ambientC < -50 || params.ambientC > 80) {
    throw new TwinParamsError(`ambientC must be in [-50, 80] °C, got ${String(params.ambientC)}`);
  }
  validatePlane(params.core, 'core');
  validateSource(params.core, 'core');
  validatePlane(params.gpuPlane, 'gpuPlane');
  validateSource(params.gpuPlane, 'gpuPlane');
  validatePlane(params.chassis, 'chassis');
  checkNonNegative(params.sensor.noiseC, 'sensor.noiseC');
  checkNonNegative(params.sensor.quantumC, 'sensor.quantumC');
  if (!Number.isSafeInteger(params.seed)) throw new TwinParamsError(`seed must be an integer, got ${String(params.seed)}`);

  const sources = params.cores + (params.gpu ? 1 : 0);
  const coreCoupling = defaultCoreCoupling(params.cores);
  const coreResistance = resolveCoreResistance(
    params,
    params.coupling === null ? coreCoupling : params.coupling.slice(0, params.cores).map((row) => row.slice(0, params.cores)),
  );
  const gpuResistance = params.gpuPlane.resistanceKPerW ?? 0.25;
  const chassisResistance = params.chassis.resistanceKPerW ?? 0.3;

  let coupling: Matrix;
  if (params.coupling !== null) {
    validateCoupling(params.coupling, sources);
    coupling = params.coupling;
  } else if (!params.gpu) {
    coupling = coreCoupling;
  } else {
    const gpuToCore = defaultGpuToCoreCoupling(params.cores);
    coupling = [
      ...coreCoupling.map((row, i) => [...row, gpuToCore[i] ?? 0]),
      // Reciprocity of a passive thermal network: mutual resistance R_i·K_ij = R_j·K_ji.
      [...gpuToCore.map((k) => Math.min(1, (coreResistance * k) / gpuResistance)), 1],
    ];
  }
  const resolved: ResolvedTwinParams = {
    ...params,
    sources,
    coupling,
    coreResistanceKPerW: coreResistance,
    gpuResistanceKPerW: gpuResistance,
    chassisResistanceKPerW: chassisResistance,
  };
  RESOLVED.add(resolved);
  return resolved;
}
