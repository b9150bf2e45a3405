/**
 * Identifies a machine's thermal plant from step experiments (research questions 4 and 5):
 * each plane's time constant, dead time and thermal resistance, and the coupling matrix K.
 *
 * 1. Step each heat source alone from idle to full load and record every plane.
 * 2. Fit FOPDT to each source's own plane: τ_i, θ_i and gain G_ii → R_i = G_ii / ΔP_i.
 * 3. For every other plane i in that record, fit only the gain with τ_i, θ_i known:
 *    K_ij = G_ij / (R_i · ΔP_j).
 * 4. Step every source together for long enough to identify the slow chassis plane
 *    (the biggest power step gives its dead time the best signal-to-noise ratio).
 *
 * Each experiment runs `repeats` times and the records are averaged before fitting.
 */
import type { AbortOptions } from '../clock/clock.js';
import { InvalidArgumentError } from '../errors.js';
import { fitFopdt, fitGainKnownDynamics, misfitWarning, type Estimate, type FitDiagnostics, type FopdtFit, type IdentWarning } from './fopdt.js';
import type { PlaneDescriptor, StepProvenance, StepPlant, StepRequest, StepTrace } from './step-plant.js';

/** How long to record, per plane kind, and how fast. */
export interface IdentificationOptions extends AbortOptions {
  readonly sampleHz: number;
  readonly preStepS: number;
  /** Recording time after the step when stepping a core, a GPU, and all cores (for the chassis), s. */
  readonly coreStepS: number;
  readonly gpuStepS: number;
  readonly chassisStepS: number;
  /**
   * Runs of each experiment, averaged before fitting: the noise falls as 1/√repeats. One run
   * at σ = 0.5 °C, 100 Hz pins a core's 0.1 s dead time to only about ±5 % (95 %).
   */
  readonly repeats: number;
  /** Called before each experiment, for progress reporting. */
  readonly onExperiment?: (index: number, total: number, description: string) => void;
}

/** One identified plane. */
export interface IdentifiedPlane {
  readonly name: string;
  readonly kind: PlaneDescriptor['kind'];
  readonly tauS: Estimate;
  readonly deadTimeS: Estimate;
  /** Steady-state rise per watt of the plane's own heat, K/W. */
  readonly resistanceKPerW: Estimate;
  readonly residualStdC: number;
  /** Goodness of fit of the plane's own step response, with its verdict. */
  readonly diagnostics: FitDiagnostics;
}

/** The identified plant. */
export interface IdentifiedPlant {
  readonly planes: readonly IdentifiedPlane[];
  /** Coupling between sources (cores, then the GPU), with 95 % half-widths. */
  readonly coupling: readonly (readonly Estimate[])[];
  /** Power step of each source from idle to full load in its own experiment, W. */
  readonly powerStepW: readonly number[];
  readonly sampleHz: number;
  readonly provenance: StepProvenance;
  readonly source: string;
  /** One `MXW_WARN_IDENT_MISFIT` per plane whose fit is a misfit (subject: the plane's name). */
  readonly warnings: readonly IdentWarning[];
}

function averageSeries(series: readonly Float64Array[]): Float64Array {
  const out = new Float64Array(series[0]?.length ?? 0);
  for (const values of series) for (let k = 0; k < out.length; k++) out[k] = (out[k] ?? 0) + (values[k] ?? 0) / series.length;
  return out;
}

/** Averages repeated runs of one experiment sample by sample (same time base). */
export function averageTraces(runs: readonly StepTrace[]): StepTrace {
  const first = runs[0];
  if (first === undefined) throw new InvalidArgumentError('no runs to average');
  if (runs.length === 1) return first;
  for (const run of runs) {
    if (run.timesS.length !== first.timesS.length || run.stepTimeS !== first.stepTimeS) {
      throw new InvalidArgumentError('repeated runs differ in length or step time');
    }
  }
  return {
    ...first,
    temperaturesC: first.temperaturesC.map((_, plane) => averageSeries(runs.map((r) => r.temperaturesC[plane] ?? new Float64Array()))),
    powerBeforeW: averageSeries(runs.map((r) => r.powerBeforeW)),
    powerAfterW: averageSeries(runs.map((r) => r.powerAfterW)),
  };
}

function powerStep(trace: StepTrace, source: number): number {
  return (trace.powerAfterW[source] ?? Number.NaN) - (trace.powerBeforeW[source] ?? Number.NaN);
}

function record(trace: StepTrace, plane: number): { timesS: Float64Array; values: Float64Array; stepTimeS: number } {
  const values = trace.temperaturesC[plane];
  if (values === undefined) throw new InvalidArgumentError(`trace has no plane ${plane}`);
  return { timesS: trace.timesS, values, stepTimeS: trace.stepTimeS };
}

/** Ratio of two estimates with first-order propagation of their relative errors. */
function ratio(numerator: Estimate, denominator: number, denominatorRelCi = 0): Estimate {
  const value = numerator.value / denominator;
  const rel = Math.hypot(numerator.ci95 / Math.abs(numerator.value || 1), denominatorRelCi);
  return { value, ci95: Math.abs(value) * rel };
}

/** Runs the step experiments on `plant` and identifies every plane and the coupling matrix. */
export async function identifyPlant(plant: StepPlant, options: IdentificationOptions): Promise<IdentifiedPlant> {
  const sources = plant.sourceCount;
  const sourcePlane = (j: number): number => plant.planes.findIndex((p) => p.source === j);
  const chassisPlane = plant.planes.findIndex((p) => p.kind === 'chassis');
  const total = sources + (chassisPlane >= 0 ? 1 : 0);
  const base = { preStepS: options.preStepS, sampleHz: options.sampleHz };
  const signal = options.signal === undefined ? {} : { signal: options.signal };

  if (!Number.isInteger(options.repeats) || options.repeats < 1) {
    throw new InvalidArgumentError(`invalid repeats: ${String(options.repeats)} (an integer ≥ 1)`);
  }
  const runAveraged = async (request: StepRequest): Promise<StepTrace> => {
    const runs: StepTrace[] = [];
    for (let r = 0; r < options.repeats; r++) runs.push(await plant.runStep(request, signal));
    return averageTraces(runs);
  };

  const traces: StepTrace[] = [];
  for (let j = 0; j < sources; j++) {
    const plane = plant.planes[sourcePlane(j)];
    const isGpu = plane?.kind === 'gpu';
    options.onExperiment?.(j + 1, total, `step ${plane?.name ?? `source ${j}`}`);
    traces.push(await runAveraged({ ...base, source: j, stepS: isGpu ? options.gpuStepS : options.coreStepS }));
  }

  const ownFits: FopdtFit[] = [];
  const identified: IdentifiedPlane[] = [];
  const resistances: Estimate[] = [];
  for (let j = 0; j < sources; j++) {
    const trace = traces[j];
    const planeIndex = sourcePlane(j);
    const plane = plant.planes[planeIndex];
    if (trace === undefined || plane === undefined) throw new InvalidArgumentError(`source ${j} has no plane`);
    const fit = fitFopdt(record(trace, planeIndex));
    ownFits.push(fit);
    const resistance = ratio(fit.gain, powerStep(trace, j));
    resistances.push(resistance);
    identified.push({
      name: plane.name,
      kind: plane.kind,
      tauS: fit.tauS,
      deadTimeS: fit.deadTimeS,
      resistanceKPerW: resistance,
      residualStdC: fit.residualStd,
      diagnostics: fit.diagnostics,
    });
  }

  const coupling: Estimate[][] = [];
  for (let i = 0; i < sources; i++) {
    const row: Estimate[] = [];
    const own = ownFits[i];
    const resistance = resistances[i];
    if (own === undefined || resistance === undefined) throw new InvalidArgumentError(`source ${i} was not identified`);
    for (let j = 0; j < sources; j++) {
      if (i === j) {
        row.push({ value: 1, ci95: 0 });
        continue;
      }
      const trace = traces[j];
      if (trace === undefined) throw new InvalidArgumentError(`source ${j} has no trace`);
      const { gain } = fitGainKnownDynamics(record(trace, sourcePlane(i)), own.tauS.value, own.deadTimeS.value);
      row.push(ratio(gain, resistance.value * powerStep(trace, j), resistance.ci95 / Math.abs(resistance.value)));
    }
    coupling.push(row);
  }

  let source = traces[0]?.source ?? 'unknown';
  let provenance: StepProvenance = traces[0]?.provenance ?? 'modelled';
  if (chassisPlane >= 0) {
    const chassis = plant.planes[chassisPlane];
    options.onExperiment?.(total, total, 'step every source (chassis)');
    const trace = await runAveraged({ ...base, source: 'all', stepS: options.chassisStepS });
    source = trace.source;
    provenance = trace.provenance;
    const fit = fitFopdt(record(trace, chassisPlane));
    let dp = 0;
    for (let j = 0; j < sources; j++) dp += powerStep(trace, j);
    identified.push({
      name: chassis?.name ?? 'chassis',
      kind: 'chassis',
      tauS: fit.tauS,
      deadTimeS: fit.deadTimeS,
      resistanceKPerW: ratio(fit.gain, dp),
      residualStdC: fit.residualStd,
      diagnostics: fit.diagnostics,
    });
  }
  const powerStepW = traces.map((trace, j) => powerStep(trace, j));
  const warnings = identified.filter((p) => p.diagnostics.verdict === 'misfit').map((p) => misfitWarning(p.name, p.diagnostics));
  return { planes: identified, coupling, powerStepW, sampleHz: options.sampleHz, provenance, source, warnings };
}
