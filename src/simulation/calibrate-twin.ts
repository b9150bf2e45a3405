/**
 * `maxwell calibrate --twin`: the step experiments run on the thermal twin, and the
 * identified values set beside the twin's true ones.
 */
import type { AbortOptions } from '../clock/clock.js';
import type { MaxwellConfig } from '../config/schema.js';
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
}

export interface PlaneComparison {
  readonly name: string;
  readonly kind: string;
  readonly tauS: Comparison;
  readonly deadTimeS: Comparison;
  readonly resistanceKPerW: Comparison;
}

/** Identification on the twin, compared with the twin's own parameters. */
export interface TwinCalibrationReport {
  readonly identified: IdentifiedPlant;
  readonly planes: readonly PlaneComparison[];
  readonly sourceNames: readonly string[];
  /** K[i][j] between sources (cores, then the GPU). */
  readonly coupling: readonly (readonly Comparison[])[];
  /** Largest |error| over all τ, θ and core-to-core K entries, percent. */
  readonly worstErrorPct: { readonly tau: number; readonly deadTime: number; readonly coreCoupling: number; readonly gpuCoupling: number };
  readonly experiment: {
    readonly sampleHz: number;
    readonly noiseC: number;
    readonly quantumC: number;
    readonly repeats: number;
    readonly simulatedS: number;
  };
}

function compare(truth: number, identified: number, ci95: number): Comparison {
  return { truth, identified, ci95, errorPct: truth === 0 ? Number.NaN : (100 * (identified - truth)) / truth };
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

  const planes = identified.planes.map((plane, i): PlaneComparison => {
    const truth = twin.planes[i];
    return {
      name: plane.name,
      kind: plane.kind,
      tauS: compare(truth?.tauS ?? Number.NaN, plane.tauS.value, plane.tauS.ci95),
      deadTimeS: compare(truth?.deadTimeS ?? Number.NaN, plane.deadTimeS.value, plane.deadTimeS.ci95),
      resistanceKPerW: compare(truth?.resistanceKPerW ?? Number.NaN, plane.resistanceKPerW.value, plane.resistanceKPerW.ci95),
    };
  });
  const coupling = identified.coupling.map((row, i) =>
    row.map((estimate, j) => compare(twin.params.coupling[i]?.[j] ?? Number.NaN, estimate.value, estimate.ci95)),
  );
  const cores = twin.coreCount;
  const worst = (values: number[]): number => values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const coreEntries = coupling.slice(0, cores).flatMap((row) => row.slice(0, cores).map((c) => c.errorPct));
  const gpuEntries = coupling.flatMap((row, i) => row.filter((_, j) => (i >= cores) !== (j >= cores)).map((c) => c.errorPct));
  const sources = twin.sourceCount;
  const experiments = sources * (cal.preStepS + cal.coreStepS) + (config.twin.gpu ? cal.gpuStepS - cal.coreStepS : 0) + cal.preStepS + cal.chassisStepS;
  return {
    identified,
    planes,
    sourceNames: twin.planes.slice(0, sources).map((p) => p.name),
    coupling,
    worstErrorPct: {
      tau: worst(planes.map((p) => p.tauS.errorPct)),
      deadTime: worst(planes.map((p) => p.deadTimeS.errorPct)),
      coreCoupling: worst(coreEntries),
      gpuCoupling: worst(gpuEntries),
    },
    experiment: {
      sampleHz: cal.sampleHz,
      noiseC: config.twin.sensor.noiseC,
      quantumC: config.twin.sensor.quantumC,
      repeats: cal.repeats,
      simulatedS: experiments * cal.repeats,
    },
  };
}
