/**
 * `maxwell twin`: identify the twin, tune one PID per core from what was identified,
 * step every core to full demand and let the controllers hold the setpoint.
 */
import type { AbortOptions } from '../clock/clock.js';
import type { MaxwellConfig } from '../config/schema.js';
import { InvalidArgumentError } from '../errors.js';
import { coreCoupling, coreLoopModels } from '../control/thermal-loop.js';
import { tunePid, type Tuning } from '../control/tuning.js';
import { identifyPlant } from '../identification/identify-plant.js';
import { createTwinFromConfig } from './calibrate-twin.js';
import { loopMetrics, runClosedLoop, type LoopMetrics } from './closed-loop.js';
import { createTwinStepPlant } from './twin-step-plant.js';

/** One row of the printed timeline. */
export interface TimelineRow {
  readonly timeS: number;
  readonly hottestCoreC: number;
  readonly meanCoreC: number;
  readonly meanAllowed: number;
  readonly packagePowerW: number;
}

export interface TwinDemoReport {
  readonly tunings: readonly Tuning[];
  readonly timeline: readonly TimelineRow[];
  readonly metrics: LoopMetrics;
  /** The plant's time constant the settling target refers to (3τ), s. */
  readonly plantTauS: number;
  readonly setpointC: number;
  readonly loadStepAtS: number;
  readonly energyJ: number;
  readonly cores: number;
}

/** Runs the twin demo described by `config`. */
export async function runTwinDemo(
  config: Readonly<MaxwellConfig>,
  options: AbortOptions & { onPhase?: (phase: string) => void; allowMisfit?: boolean } = {},
): Promise<TwinDemoReport> {
  const { control, demo } = config;
  const sampleS = 1 / control.rateHz;
  if (Math.abs(sampleS - config.twin.stepS) > 1e-12) {
    throw new InvalidArgumentError(
      `control.rateHz (${control.rateHz} Hz) must match the twin step (twin.stepS = ${config.twin.stepS} s)`,
    );
  }
  const twin = createTwinFromConfig(config);
  options.onPhase?.('identifying the twin (step experiments)');
  const identified = await identifyPlant(createTwinStepPlant(twin), {
    ...config.calibration,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  const tunings = coreLoopModels(identified, { allowMisfit: options.allowMisfit === true }).map((model) =>
    tunePid(model, { rule: control.rule, closedLoopTauS: control.closedLoopTauS, sampleS, outputMin: control.outputMin, outputMax: control.outputMax }),
  );

  options.onPhase?.('running the closed loop');
  twin.reset();
  const recordEvery = Math.max(1, Math.round(demo.printEveryS / twin.stepS));
  const loop = runClosedLoop({
    twin,
    pid: tunings.map((t) => t.params),
    setpointC: control.setpointC,
    durationS: demo.durationS,
    demand: (timeS) => (timeS >= demo.loadStepAtS ? 1 : 0),
    coupling: coreCoupling(identified),
    recordEvery: 1,
  });
  const timeline: TimelineRow[] = [];
  for (let k = recordEvery - 1; k < loop.timesS.length; k += recordEvery) {
    let hottest = Number.NEGATIVE_INFINITY;
    let sumC = 0;
    let sumAllowed = 0;
    for (let i = 0; i < twin.coreCount; i++) {
      const t = loop.coreTrueC[i]?.[k] ?? Number.NaN;
      hottest = Math.max(hottest, t);
      sumC += t;
      sumAllowed += loop.allowed[i]?.[k] ?? Number.NaN;
    }
    timeline.push({
      timeS: loop.timesS[k] ?? Number.NaN,
      hottestCoreC: hottest,
      meanCoreC: sumC / twin.coreCount,
      meanAllowed: sumAllowed / twin.coreCount,
      packagePowerW: loop.packagePowerW[k] ?? Number.NaN,
    });
  }
  const coreTau = identified.planes.filter((p) => p.kind === 'core').reduce((m, p) => Math.max(m, p.tauS.value), 0);
  return {
    tunings,
    timeline,
    metrics: loopMetrics(loop, control.setpointC, demo.loadStepAtS),
    plantTauS: coreTau,
    setpointC: control.setpointC,
    loadStepAtS: demo.loadStepAtS,
    energyJ: loop.energyJ,
    cores: twin.coreCount,
  };
}
