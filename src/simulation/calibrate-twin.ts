/**
 * `maxwell calibrate --twin`: the step experiments run on the thermal twin, and the
 * identified values set beside the twin's true ones.
 *
 * Two truths. The twin's *nominal* parameters are the τ, θ, R and K in its equations. Its
 * *effective* plant is what those equations do once leakage power, which rises with
 * temperature, feeds back: a little slower and a little hotter than nominal (≈ 1 % on the
 * defaults, docs/PHYSICS.md). The effective values are the limit the identification tends to
 * as noise vanishes: the same experiments run on a noise-free, unquantised copy of the twin
 * and fitted the same way (the least-squares projection of the twin's exact response onto
 * FOPDT). The 95 % intervals state sampling uncertainty, so they are judged against the
 * effective values; the leakage bias is reported beside them.
 */
import type { AbortOptions } from '../clock/clock.js';
import type { MaxwellConfig } from '../config/schema.js';
import type { Estimate } from '../identification/fopdt.js';
import { identifyPlant, type IdentifiedPlant } from '../identification/identify-plant.js';
import { ThermalTwin } from '../physics/thermal-twin.js';
import { createTwinStepPlant } from './twin-step-plant.js';

/** A true value, what was identified, and how far apart they are. */
export interface Comparison {
  readonly truth: number;
  readonly identified: number;
  readonly ci95: number;
  /** (identified − truth) / truth, in percent. */
  readonly errorPct: number;
  /** The twin's effective value (leakage included; see the module comment). */
  readonly effective: number;
  /** (identified − effective) / effective, in percent. */
  readonly effectiveErrorPct: number;
  /** Whether identified ± ci95 holds the effective value. */
  readonly covered: boolean;
}

export interface PlaneComparison {
  readonly name: string;
  readonly kind: string;
  readonly tauS: Comparison;
  readonly deadTimeS: Comparison;
  readonly resistanceKPerW: Comparison;
}

export interface WorstErrors {
  readonly tau: number;
  readonly deadTime: number;
  readonly coreCoupling: number;
  readonly gpuCoupling: number;
}

/** Identification on the twin, compared with the twin's own parameters. */
export interface TwinCalibrationReport {
  readonly identified: IdentifiedPlant;
  readonly planes: readonly PlaneComparison[];
  readonly sourceNames: readonly string[];
  /** K[i][j] between sources (cores, then the GPU). */
  readonly coupling: readonly (readonly Comparison[])[];
  /** Largest |error| against the nominal truth over all τ, θ and core-to-core K entries, percent. */
  readonly worstErrorPct: WorstErrors;
  /** The same against the effective plant. */
  readonly worstEffectiveErrorPct: WorstErrors;
  /** How many of the τ, θ and R intervals hold the effective value, and how many there are. */
  readonly intervalsCovering: { readonly covered: number; readonly total: number };
  readonly experiment: {
    readonly sampleHz: number;
    readonly noiseC: number;
    readonly quantumC: number;
    readonly repeats: number;
    readonly simulatedS: number;
  };
}

function percent(value: number, reference: number): number {
  return reference === 0 ? Number.NaN : (100 * (value - reference)) / reference;
}

function compare(truth: number, identified: Estimate, effective: number): Comparison {
  const { value, ci95 } = identified;
  return {
    truth,
    identified: value,
    ci95,
    errorPct: percent(value, truth),
    effective,
    effectiveErrorPct: percent(value, effective),
    covered: Math.abs(value - effective) <= ci95,
  };
}

/**
 * The twin's effective plant for the experiments in `config`: the same identification on a
 * noise-free, unquantised copy of the twin (one run each; it is deterministic).
 */
export async function effectiveTwinPlant(config: Readonly<MaxwellConfig>, options: AbortOptions = {}): Promise<IdentifiedPlant> {
  const exact = new ThermalTwin({ ...config.twin, sensor: { noiseC: 0, quantumC: 0 } }, config.twin.stepS);
  return identifyPlant(createTwinStepPlant(exact), { ...config.calibration, repeats: 1, ...options });
}

/** Builds a twin from the configuration. */
export function createTwinFromConfig(config: Readonly<MaxwellConfig>): ThermalTwin {
  return new ThermalTwin(config.twin, config.twin.stepS);
}

/** Runs the calibration experiments on a twin made from `config` and compares with truth. */
export async function calibrateTwin(
  config: Readonly<MaxwellConfig>,
  options: AbortOptions & { onExperiment?: (index: number, total: number, description: string) => void } = {},
): Promise<TwinCalibrationReport> {
  const twin = createTwinFromConfig(config);
  const cal = config.calibration;
  const identified = await identifyPlant(createTwinStepPlant(twin), { ...cal, ...options });
  const effective = await effectiveTwinPlant(config, options.signal === undefined ? {} : { signal: options.signal });

  const planes = identified.planes.map((plane, i): PlaneComparison => {
    const truth = twin.planes[i];
    const exact = effective.planes[i];
    return {
      name: plane.name,
      kind: plane.kind,
      tauS: compare(truth?.tauS ?? Number.NaN, plane.tauS, exact?.tauS.value ?? Number.NaN),
      deadTimeS: compare(truth?.deadTimeS ?? Number.NaN, plane.deadTimeS, exact?.deadTimeS.value ?? Number.NaN),
      resistanceKPerW: compare(truth?.resistanceKPerW ?? Number.NaN, plane.resistanceKPerW, exact?.resistanceKPerW.value ?? Number.NaN),
    };
  });
  const coupling = identified.coupling.map((row, i) =>
    row.map((estimate, j) => compare(twin.params.coupling[i]?.[j] ?? Number.NaN, estimate, effective.coupling[i]?.[j]?.value ?? Number.NaN)),
  );
  const cores = twin.coreCount;
  const worstOf = (error: (c: Comparison) => number): WorstErrors => {
    const worst = (values: number[]): number => values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    return {
      tau: worst(planes.map((p) => error(p.tauS))),
      deadTime: worst(planes.map((p) => error(p.deadTimeS))),
      coreCoupling: worst(coupling.slice(0, cores).flatMap((row) => row.slice(0, cores).map(error))),
      gpuCoupling: worst(coupling.flatMap((row, i) => row.filter((_, j) => (i >= cores) !== (j >= cores)).map(error))),
    };
  };
  const intervals = planes.flatMap((p) => [p.tauS, p.deadTimeS, p.resistanceKPerW]);
  const sources = twin.sourceCount;
  const experiments = sources * (cal.preStepS + cal.coreStepS) + (config.twin.gpu ? cal.gpuStepS - cal.coreStepS : 0) + cal.preStepS + cal.chassisStepS;
  return {
    identified,
    planes,
    sourceNames: twin.planes.slice(0, sources).map((p) => p.name),
    coupling,
    worstErrorPct: worstOf((c) => c.errorPct),
    worstEffectiveErrorPct: worstOf((c) => c.effectiveErrorPct),
    intervalsCovering: { covered: intervals.filter((c) => c.covered).length, total: intervals.length },
    experiment: {
      sampleHz: cal.sampleHz,
      noiseC: config.twin.sensor.noiseC,
      quantumC: config.twin.sensor.quantumC,
      repeats: cal.repeats,
      simulatedS: experiments * cal.repeats,
    },
  };
}
