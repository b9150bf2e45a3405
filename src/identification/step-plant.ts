/**
 * What system identification needs from a machine: apply a load step to one heat source
 * (or all of them) and record every plane's temperature. The thermal twin implements it
 * now (src/simulation/twin-step-plant.ts); real sensors will implement it once telemetry
 * exists, and `maxwell calibrate` will run unchanged on them.
 */
import type { AbortOptions } from '../clock/clock.js';

/** Where the numbers of a trace come from. */
export type StepProvenance = 'measured' | 'modelled';

/** A thermal plane as identification sees it. */
export interface PlaneDescriptor {
  readonly name: string;
  readonly kind: 'core' | 'gpu' | 'chassis';
  /** Index of the heat source on this plane, or -1 (chassis). */
  readonly source: number;
}

/** One step experiment. */
export interface StepRequest {
  /** Source to step from idle to full load, or `'all'` for every source at once. */
  readonly source: number | 'all';
  /** Idle time recorded before the step, seconds. */
  readonly preStepS: number;
  /** Time recorded after the step, seconds. */
  readonly stepS: number;
  /** Sampling rate, Hz. */
  readonly sampleHz: number;
}

/** What a step experiment recorded. */
export interface StepTrace {
  readonly timesS: Float64Array;
  readonly stepTimeS: number;
  /** One series per plane, same order as {@link StepPlant.planes}. */
  readonly temperaturesC: readonly Float64Array[];
  /** Power of each source just before the step and at the end, W. */
  readonly powerBeforeW: Float64Array;
  readonly powerAfterW: Float64Array;
  readonly provenance: StepProvenance;
  /** Which sensor or model produced the numbers, in words. */
  readonly source: string;
}

/** A machine on which step experiments can be run. */
export interface StepPlant {
  readonly planes: readonly PlaneDescriptor[];
  /** Number of heat sources (cores, then the GPU if any). */
  readonly sourceCount: number;
  /** Brings the machine to idle steady state, runs the step, records it. */
  runStep(request: StepRequest, options?: AbortOptions): Promise<StepTrace>;
}
