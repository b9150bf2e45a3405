/**
 * Closed-loop thermal control on the twin: one PID per core reads its (noisy) sensor and
 * asks for a share of heat; {@link CoupledAllocation} turns the requests into the fraction of
 * compute allowed on each core; the core runs `demand × allowed`.
 */
import { InvalidArgumentError } from '../errors.js';
import { CoupledAllocation } from '../control/allocation.js';
import { PidController, type PidParams } from '../control/pid.js';
import type { Matrix } from '../physics/coupling.js';
import type { ThermalTwin } from '../physics/thermal-twin.js';

/** Demand of a core at a time: the utilisation it would use if allowed everything. */
export type DemandProfile = (timeS: number, core: number) => number;

export interface ClosedLoopOptions {
  readonly twin: ThermalTwin;
  /** PID parameters per core; `sampleS` must equal the twin's step. */
  readonly pid: readonly PidParams[];
  readonly setpointC: number;
  readonly durationS: number;
  readonly demand: DemandProfile;
  /** Core-to-core coupling the controllers believe in (identified), for {@link CoupledAllocation}. */
  readonly coupling: Matrix;
  /** Record every this many steps. @default 1 */
  readonly recordEvery?: number;
}

/** What the loop did, sampled. All temperatures and powers are modelled by the twin. */
export interface ClosedLoopTimeline {
  readonly timesS: Float64Array;
  /** True (noise-free) temperature per core, °C. */
  readonly coreTrueC: readonly Float64Array[];
  /** What the controllers read, per core, °C. */
  readonly coreMeasuredC: readonly Float64Array[];
  /** Fraction of compute allowed per core (after coupled allocation). */
  readonly allowed: readonly Float64Array[];
  /** CPU package power, W. */
  readonly packagePowerW: Float64Array;
  /** Energy of all sources over the run, J. */
  readonly energyJ: number;
}

/** Runs the loop from the twin's current state. */
export function runClosedLoop(options: ClosedLoopOptions): ClosedLoopTimeline {
  const { twin, setpointC, durationS, demand } = options;
  const cores = twin.coreCount;
  if (options.pid.length !== cores) throw new InvalidArgumentError(`need ${cores} PID parameter sets, got ${options.pid.length}`);
  for (const p of options.pid) {
    if (Math.abs(p.sampleS - twin.stepS) > 1e-12) {
      throw new InvalidArgumentError(`PID sampleS ${p.sampleS} s must equal the twin step ${twin.stepS} s`);
    }
  }
  const recordEvery = options.recordEvery ?? 1;
  if (!Number.isInteger(recordEvery) || recordEvery < 1) throw new InvalidArgumentError(`invalid recordEvery: ${String(recordEvery)}`);
  const steps = Math.round(durationS / twin.stepS);
  const records = Math.floor(steps / recordEvery);

  const controllers = options.pid.map((params) => new PidController(params, setpointC));
  const allocation = new CoupledAllocation(options.coupling);
  const requested = new Float64Array(cores);
  const allowedNow = new Float64Array(cores);
  const reading = new Float64Array(twin.planes.length);
  twin.readSensors(reading);
  // Start from "everything allowed", as a machine with no throttling would.
  controllers.forEach((pid, i) => { pid.track(params(pid).outputMax, reading[i] ?? setpointC); });

  const timesS = new Float64Array(records);
  const coreTrueC = Array.from({ length: cores }, () => new Float64Array(records));
  const coreMeasuredC = Array.from({ length: cores }, () => new Float64Array(records));
  const allowed = Array.from({ length: cores }, () => new Float64Array(records));
  const packagePowerW = new Float64Array(records);
  const energyBefore = totalEnergy(twin);

  let record = 0;
  for (let k = 1; k <= steps; k++) {
    const time = twin.timeS;
    for (let i = 0; i < cores; i++) requested[i] = controllers[i]?.output ?? 1;
    allocation.allocate(requested, allowedNow);
    for (let i = 0; i < cores; i++) twin.setUtilisation(i, demand(time, i) * (allowedNow[i] ?? 0));
    twin.step();
    twin.readSensors(reading);
    for (let i = 0; i < cores; i++) controllers[i]?.update(reading[i] ?? Number.NaN);
    if (k % recordEvery === 0 && record < records) {
      timesS[record] = twin.timeS;
      for (let i = 0; i < cores; i++) {
        (coreTrueC[i] as Float64Array)[record] = twin.trueTemperature(i);
        (coreMeasuredC[i] as Float64Array)[record] = reading[i] ?? Number.NaN;
        (allowed[i] as Float64Array)[record] = allowedNow[i] ?? Number.NaN;
      }
      packagePowerW[record] = twin.packagePower();
      record++;
    }
  }
  return { timesS, coreTrueC, coreMeasuredC, allowed, packagePowerW, energyJ: totalEnergy(twin) - energyBefore };
}

function params(pid: PidController): PidParams {
  return pid.params;
}

function totalEnergy(twin: ThermalTwin): number {
  let total = 0;
  for (let j = 0; j < twin.sourceCount; j++) total += twin.sourceEnergy(j);
  return total;
}

/** Overshoot and settling of the hottest core after a load step. */
export interface LoopMetrics {
  /** Highest true core temperature after the step minus the setpoint, K (≤ 0: none). */
  readonly overshootC: number;
  /**
   * Time from the step until the hottest core's true temperature stays within `bandC` of
   * the setpoint, s; `null` if it has not settled by the end of the timeline.
   */
  readonly settlingTimeS: number | null;
  readonly bandC: number;
}

/**
 * Computes overshoot and settling time for a load step at `stepTimeS`. The setpoint is a
 * limit, so what must settle is the hottest core: cooler cores may run unthrottled below it.
 */
export function loopMetrics(timeline: ClosedLoopTimeline, setpointC: number, stepTimeS: number, bandC = 1): LoopMetrics {
  const { timesS, coreTrueC } = timeline;
  let overshoot = Number.NEGATIVE_INFINITY;
  let lastOutside = -1;
  let first = -1;
  for (let k = 0; k < timesS.length; k++) {
    if ((timesS[k] ?? 0) < stepTimeS) continue;
    if (first < 0) first = k;
    let hottest = Number.NEGATIVE_INFINITY;
    for (const series of coreTrueC) hottest = Math.max(hottest, series[k] ?? Number.NaN);
    overshoot = Math.max(overshoot, hottest - setpointC);
    if (!(Math.abs(hottest - setpointC) <= bandC)) lastOutside = k;
  }
  const settledIndex = Math.max(lastOutside + 1, first);
  const settledAt = first >= 0 && settledIndex < timesS.length ? (timesS[settledIndex] ?? Number.NaN) : Number.NaN;
  return {
    overshootC: overshoot,
    settlingTimeS: Number.isFinite(settledAt) ? Math.max(0, settledAt - stepTimeS) : null,
    bandC,
  };
}
