/**
 * Scientist vs Leech (docs/DESIGN.md §5): the same agents under plain Linux CFS (the control arm)
 * and under the Maxwell daemon (the treatment arm), arms alternated over repetitions.
 *
 * Both arms run inside the same daemon code, in different modes (`observe` for CFS: it never
 * pauses, charges or kills), so they share everything that measures: the energy and
 * temperature source, the agent protocol and the prime oracle that counts verified primes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, hostname, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAgentId, type AgentId } from '../agent-id.js';
import type { MaxwellConfig } from '../config/schema.js';
import { assembleDaemon, type Assembled } from '../daemon/components.js';
import type { SessionMode } from '../session/policy.js';
import type { ThermalState } from '../heat-price/thermal.js';
import { DEFAULT_PRICING } from '../market/pricing.js';
import { attributeTick, type TickAttribution } from '../telemetry/attribution.js';
import { BUSY_WARNING_FRACTION, loadShares, readMachineCpu, samplePreflightLoad, type LoadShares, type MachineCpu } from '../telemetry/procfs/machine-load.js';
import type { AgentRole, Arm, ArmRun, CoreThermal, DeathEvent, ExperimentMetadata, FigureSource, ExperimentResults, PreflightSample, Repetition, StoppingRule, WalletSeries } from './results.js';
import { LANDAUER_NOTE_PREFIX, LANDAUER_NOTE_SEPARATOR, RESULTS_SCHEMA_VERSION, THESIS_RATIO, buildResults, summarise } from './results.js';

export interface ExperimentOptions {
  readonly config: Readonly<MaxwellConfig>;
  readonly scientists: number;
  readonly leeches: number;
  readonly durationS: number;
  /**
   * How many repetitions: a fixed number, or a precision rule (at least `min`, then stop once
   * the ratio's interval is within ± `targetHalfWidth`, at most `max`).
   */
  readonly repetitions: number | { readonly min: number; readonly max: number; readonly targetHalfWidth: number };
  readonly quick: boolean;
  /**
   * argv of a scientist: `{i}` in an argument becomes the agent's number, `{start}` a first
   * number to search that keeps scientists apart (2⁶² + i·2⁵⁰).
   */
  readonly scientistCommand: readonly string[];
  readonly leechCommand: readonly string[];
  readonly scientistWalletJ: number;
  readonly leechWalletJ: number;
  /** Opening bids placed for each agent (agents may bid themselves too). */
  readonly scientistBidJ: number;
  readonly leechBidJ: number;
  /** Where the ledgers go (one per arm and repetition). */
  readonly stateDir: string;
  readonly version: string;
  /** Seconds between samples of the time series. @default 0.1 */
  readonly sampleS?: number;
  readonly onProgress?: (fraction: number, label: string) => void;
  /** Sample the machine for this long before the first arm (0: skip). @default 1000 */
  readonly preflightMs?: number;
  /** Told what the pre-flight sample saw, before the first arm starts. */
  readonly onPreflight?: (sample: PreflightSample) => void;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** argv with `{i}` → the agent's number and `{start}` → a first number to search that keeps scientists apart. */
export function commandFor(argv: readonly string[], index: number): { command: string; args: string[] } {
  const start = (2n ** 62n + BigInt(index) * 2n ** 50n).toString();
  const [command = 'true', ...args] = argv.map((a) => a.replaceAll('{i}', String(index)).replaceAll('{start}', start));
  return { command, args };
}

interface Tracked {
  readonly id: AgentId;
  readonly role: AgentRole;
  cpuS: number;
  diedAtS: number | null;
  cause: DeathEvent['cause'] | null;
}

/** Where an arm's figures came from, as the daemon's thermal state says. */
export interface ArmSources {
  temperature: string;
  energy: string;
  energyMeasured: boolean;
  /** The temperature sensor family (null: the twin for every core) and how many cores it covers. */
  temperatureSensor: string | null;
  measuredCores: number;
  cores: number;
}

function armSources(thermal: ThermalState): ArmSources {
  return {
    temperature: thermal.source,
    energy: thermal.energySource,
    energyMeasured: thermal.energyMeasured,
    temperatureSensor: thermal.temperatureSensor,
    measuredCores: thermal.measuredCores,
    cores: thermal.cores,
  };
}

/**
 * The report's origin of core temperatures: measured only when a sensor covers every core; a
 * partly measured machine is labelled modelled, its source naming both.
 */
export function temperatureOrigin(s: ArmSources): FigureSource {
  if (s.temperatureSensor === null || s.measuredCores === 0) return { provenance: 'modelled', source: 'thermal-twin', note: s.temperature };
  if (s.measuredCores === s.cores) return { provenance: 'measured', source: s.temperatureSensor, note: s.temperature };
  return { provenance: 'modelled', source: `${s.temperatureSensor} for ${String(s.measuredCores)} of ${String(s.cores)} cores, thermal-twin for the rest`, note: s.temperature };
}

/** How an arm's daemon runs: its session mode and its pricing (the ablation varies both). */
export interface ArmVariant {
  /** How its figures are reported: `cfs` where nothing is auctioned, `maxwell` where the auction runs. */
  readonly arm: Arm;
  /** In the ledger's file name; its first letter tags the daemon's cgroups, so variants differ in it. */
  readonly name: string;
  readonly mode: SessionMode;
  readonly pricing: 'thermal' | 'flat';
}

export const CFS_VARIANT: ArmVariant = { arm: 'cfs', name: 'cfs', mode: 'observe', pricing: 'thermal' };
export const MAXWELL_VARIANT: ArmVariant = { arm: 'maxwell', name: 'maxwell', mode: 'market', pricing: 'thermal' };

/** One arm of one repetition, and the run-wide collectors it reports into. */
export interface ArmRunOptions {
  readonly experiment: ExperimentOptions;
  readonly variant: ArmVariant;
  /** The repetition, from 0. */
  readonly rep: number;
  /** Called with the fraction of this arm done, 0–1. */
  readonly progress: (armFraction: number) => void;
  /** Called with where the arm's figures come from, when it starts and again when it ends. */
  readonly sources: (s: ArmSources) => void;
  /** The run's warnings: failed ticks, foreign load. */
  readonly failures: string[];
  /** Entropy sources the Maxwell arms drew on. */
  readonly entropySources: Set<string>;
}

/** Runs one arm: a daemon of its variant, the agents, the samples, the figures; the daemon is closed after. */
export async function runArm(armRun: ArmRunOptions): Promise<ArmRun> {
  const { assembled, sockets } = await startArmDaemon(armRun);
  armRun.sources(armSources(assembled.thermal));
  const startedAt = new Date().toISOString();
  try {
    const tracked = await spawnAgents(assembled.daemon, armRun.experiment);
    const samples = await sampleArm(assembled, tracked, armRun);
    // Again at the end: the temperature source now counts the sensor reads rejected during the arm.
    armRun.sources(armSources(assembled.thermal));
    return collectFigures(armRun, assembled, tracked, samples, startedAt);
  } finally {
    await assembled.close();
    rmSync(sockets, { recursive: true, force: true });
  }
}

/** A daemon of the arm's mode, with its own ledger and a throwaway runtime directory (`sockets`). */
async function startArmDaemon(armRun: ArmRunOptions): Promise<{ readonly assembled: Assembled; readonly sockets: string }> {
  const { experiment: options, variant, rep } = armRun;
  const sockets = mkdtempSync(join(tmpdir(), 'maxwell-exp-'));
  const config: Readonly<MaxwellConfig> = {
    ...options.config,
    ledger: { path: join(options.stateDir, `rep${String(rep)}-${variant.name}.sqlite`), keyPath: join(options.stateDir, 'node-key.pem') },
    daemon: { ...options.config.daemon, runtimeDir: join(sockets, 'run') },
  };
  const assembled = await assembleDaemon(config, { mode: variant.mode, pricing: variant.pricing, tag: `x${String(rep)}${variant.name.charAt(0)}` });
  return { assembled, sockets };
}

/** Spawns the scientists and leeches with their wallets and opening bids. */
async function spawnAgents(daemon: Assembled['daemon'], options: ExperimentOptions): Promise<Tracked[]> {
  const tracked: Tracked[] = [];
  const spawn = async (role: AgentRole, i: number): Promise<void> => {
    const scientist = role === 'scientist';
    const { command, args } = commandFor(scientist ? options.scientistCommand : options.leechCommand, i);
    const id = parseAgentId(`${role}-${String(i)}`);
    await daemon.spawnAgent({
      id,
      role,
      command,
      args,
      walletJ: scientist ? options.scientistWalletJ : options.leechWalletJ,
      bid: { pricePerQuantumJ: scientist ? options.scientistBidJ : options.leechBidJ },
    });
    tracked.push({ id, role, cpuS: 0, diedAtS: null, cause: null });
  };
  // Interleaved, so neither role gets a head start.
  for (let i = 0; i < Math.max(options.scientists, options.leeches); i++) {
    if (i < options.scientists) await spawn('scientist', i);
    if (i < options.leeches) await spawn('leech', i);
  }
  return tracked;
}

/** The arm's time series, and the counters read when sampling began and ended. */
interface ArmSamples {
  readonly series: { t: number[]; coreC: number[][]; packageW: number[]; corePrice: number[][] };
  readonly wallets: Map<string, number[]>;
  readonly cores: number;
  readonly sampleS: number;
  readonly wallS: number;
  readonly energy0: number;
  readonly cpu0: number;
  readonly machine0: MachineCpu;
  readonly machine1: MachineCpu;
  readonly managed0: number | null;
  readonly managed1: number | null;
}

/**
 * Samples the daemon every `sampleS` for the arm's duration: temperatures, prices, power,
 * wallets, and each agent's CPU time and death.
 */
async function sampleArm(assembled: Assembled, tracked: Tracked[], armRun: ArmRunOptions): Promise<ArmSamples> {
  const { experiment: options, progress } = armRun;
  const { daemon, runtime } = assembled;
  const cores = assembled.thermal.cores;
  const sampleS = options.sampleS ?? 0.1;
  const series = { t: [] as number[], coreC: Array.from({ length: cores }, () => [] as number[]), packageW: [] as number[], corePrice: Array.from({ length: cores }, () => [] as number[]) };
  const wallets = new Map<string, number[]>(tracked.map((a) => [a.id, []]));
  const energy0 = daemon.energyJ();
  const cpu0 = assembled.maxwellCpuS();
  const machine0 = readMachineCpu();
  const managed0 = runtime.managedCpu()?.totalS ?? null;
  const t0 = performance.now();
  for (;;) {
    const t = (performance.now() - t0) / 1000;
    const snapshot = daemon.snapshot();
    series.t.push(Number(t.toFixed(3)));
    snapshot.planes.forEach((p, c) => {
      series.coreC[c]?.push(Number(p.temperatureC.toFixed(2)));
      series.corePrice[c]?.push(Number(p.reservePerQuantumJ.toFixed(5)));
    });
    series.packageW.push(Number(snapshot.powerW.toFixed(2)));
    for (const agent of snapshot.agents) wallets.get(agent.id)?.push(Number(agent.balanceJ.toFixed(4)));
    for (const a of tracked) {
      const view = snapshot.agents.find((v) => v.id === a.id);
      if (view?.phase === 'dead' && a.diedAtS === null) {
        a.diedAtS = t;
        a.cause = view.ended?.reason === 'apoptosis' ? 'apoptosis' : view.ended?.reason === 'exited' ? 'exited' : 'killed';
      }
      if (a.diedAtS === null) a.cpuS = (await runtime.usage(a.id).catch(() => null))?.cpuS ?? a.cpuS;
    }
    progress(Math.min(1, t / options.durationS));
    if (t >= options.durationS) break;
    await sleep(sampleS * 1000);
  }
  const wallS = (performance.now() - t0) / 1000;
  const machine1 = readMachineCpu();
  const managed1 = runtime.managedCpu()?.totalS ?? null;
  return { series, wallets, cores, sampleS, wallS, energy0, cpu0, machine0, machine1, managed0, managed1 };
}

/** The arm's figures: energy split among the agents, Maxwell and the rest, primes, temperatures, warnings. */
function collectFigures(armRun: ArmRunOptions, assembled: Assembled, tracked: readonly Tracked[], samples: ArmSamples, startedAt: string): ArmRun {
  const { rep, failures, entropySources } = armRun;
  const { arm } = armRun.variant;
  const { daemon } = assembled;
  const { series, wallets, cores, sampleS, wallS } = samples;
  const cpuS = assembled.maxwellCpuS() - samples.cpu0;
  const packageJ = daemon.energyJ() - samples.energy0;
  // Wherever the tax is charged (the Maxwell arm; the ablation's admission arm too).
  if (armRun.variant.mode !== 'observe') entropySources.add(assembled.entropySource);
  const failed = daemon.snapshot().failedTicks;
  if (failed > 0) failures.push(`repetition ${String(rep + 1)}, ${armRun.variant.name}: ${String(failed)} daemon ticks failed and were skipped (last: ${daemon.tickFailures.at(-1) ?? '?'})`);
  const records = new Map(daemon.records().map((r) => [r.id, r]));
  const { load, split } = splitArmEnergy(tracked, samples, cpuS, packageJ);
  if (load.foreignFraction > BUSY_WARNING_FRACTION) {
    failures.push(`repetition ${String(rep + 1)}, ${armRun.variant.name}: other processes used ${(load.foreignFraction * 100).toFixed(1)} % of the machine (foreign load); the ratio is not an idle machine's`);
  }
  const verifiedPrimes = tracked.reduce((sum, a) => sum + (records.get(a.id)?.verifiedPrimes ?? 0), 0);
  const coreStats = coreThermals(series.coreC, sampleS);
  const walletSeries: WalletSeries[] = tracked.map((a) => ({ agent: a.id, role: a.role, balanceJ: wallets.get(a.id) ?? [] }));
  return {
    arm,
    startedAt,
    durationS: wallS,
    verifiedPrimes,
    packageJ,
    primesPerJ: packageJ > 0 ? verifiedPrimes / packageJ : 0,
    agents: tracked.map((a) => ({
      id: a.id,
      role: a.role,
      verifiedPrimes: records.get(a.id)?.verifiedPrimes ?? 0,
      joules: split.perAgentJ.get(a.id) ?? 0,
      survivalS: a.diedAtS,
    })),
    cores: coreStats,
    aboveThrottleS: coreStats.reduce((s, c) => s + c.aboveThrottleS, 0),
    overhead: { cpuS, fraction: cpuS / (wallS * cores) },
    load: { foreignFraction: load.foreignFraction, stealFraction: load.stealFraction, busyFraction: load.busyS / (wallS * load.cpus) },
    energyAccounts: { agentsJ: Math.max(0, packageJ - split.otherJ), maxwellJ: split.maxwellJ, unmanagedJ: split.unmanagedJ },
    clearingP99Ms: arm === 'maxwell' ? daemon.clearingP99Ms : null,
    series: {
      t: series.t,
      coreC: series.coreC,
      packageW: series.packageW,
      corePrice: arm === 'maxwell' ? series.corePrice : null,
      wallets: arm === 'maxwell' ? walletSeries : [],
      deaths: tracked.flatMap((a) => (a.diedAtS === null || a.cause === null ? [] : [{ agent: a.id, t: Number(a.diedAtS.toFixed(3)), cause: a.cause }])),
    },
  };
}

/**
 * The machine's load over the arm, and the package energy split by share of all the CPU time
 * used on it: other processes' share goes to the unmanaged account, Maxwell's (`cpuS`) to its
 * own, never to the agents.
 */
function splitArmEnergy(tracked: readonly Tracked[], samples: ArmSamples, cpuS: number, packageJ: number): { readonly load: LoadShares; readonly split: TickAttribution } {
  const { wallS } = samples;
  const totalCpu = tracked.reduce((sum, a) => sum + a.cpuS, 0);
  // The agents' parent cgroup counts the CPU of agents that ended between two samples too.
  const agentsCpuS = samples.managed0 !== null && samples.managed1 !== null ? samples.managed1 - samples.managed0 : totalCpu;
  const load = loadShares(samples.machine0, samples.machine1, wallS, agentsCpuS, cpuS);
  const split = attributeTick({
    packageEnergyJ: Math.max(0, packageJ),
    idlePowerW: 0,
    dtS: wallS,
    agentCpuS: new Map(tracked.map((a) => [a.id, a.cpuS * (totalCpu > 0 ? agentsCpuS / totalCpu : 1)])),
    totalCpuS: load.busyS,
    maxwellCpuS: cpuS,
    provenance: { kind: 'modelled', source: 'cgroup', sensor: 'package energy by CPU-time share (cgroup cpuacct ÷ /proc/stat)', windowS: wallS, errorBound: Number.POSITIVE_INFINITY },
  });
  return { load, split };
}

/** Per core: peak and mean of the sampled temperatures, and the time above the throttle point. */
function coreThermals(coreC: readonly (readonly number[])[], sampleS: number): CoreThermal[] {
  const throttle = DEFAULT_PRICING.throttleC;
  return coreC.map((temps, core) => ({
    core,
    peakC: Math.max(...temps),
    meanC: temps.reduce((s, x) => s + x, 0) / Math.max(1, temps.length),
    aboveThrottleS: temps.filter((x) => x > throttle).length * sampleS,
  }));
}

/** Whether the precision rule may stop after `repetitions`: the ratio's interval within ± `targetHalfWidth` (null: unbounded or too few). */
export function ratioPrecision(repetitions: readonly Repetition[], targetHalfWidth: number, level: number): { done: boolean; halfWidth: number | null } {
  if (repetitions.length < 2) return { done: false, halfWidth: null };
  const { ratio } = summarise(repetitions, { level });
  const halfWidth = ratio.low !== null && ratio.high !== null && ratio.bounded ? (ratio.high - ratio.low) / 2 : null;
  return { done: halfWidth !== null && halfWidth <= targetHalfWidth, halfWidth };
}

/** Runs every repetition (arms alternated) and summarises. */
export async function runExperiment(options: ExperimentOptions): Promise<ExperimentResults> {
  const startedAt = new Date().toISOString();
  let preflight: PreflightSample | null = null;
  const preflightMs = options.preflightMs ?? 1000;
  if (preflightMs > 0) {
    const sample = await samplePreflightLoad(preflightMs);
    preflight = { sampleS: sample.sampleS, busyFraction: sample.busyFraction, stealFraction: sample.stealFraction, top: sample.top };
    options.onPreflight?.(preflight);
  }
  const fixed = typeof options.repetitions === 'number';
  const rule = typeof options.repetitions === 'number' ? { min: options.repetitions, max: options.repetitions, targetHalfWidth: Number.NaN } : options.repetitions;
  const repetitions: Repetition[] = [];
  let planned = rule.min;
  let done = 0;
  let stoppedBecause = fixed ? `a fixed ${String(rule.max)} repetitions` : '';
  const seen: { value: ArmSources | null } = { value: null };
  const tickFailures: string[] = [];
  const entropySources = new Set<string>();
  for (let rep = 0; rep < planned; rep++) {
    const order: [Arm, Arm] = rep % 2 === 0 ? ['cfs', 'maxwell'] : ['maxwell', 'cfs'];
    const runs: Partial<Record<Arm, ArmRun>> = {};
    for (const arm of order) {
      const label = `repetition ${String(rep + 1)}/${String(planned)}${fixed ? '' : ` (up to ${String(rule.max)})`}, ${arm === 'cfs' ? 'Linux CFS' : 'Maxwell'}`;
      runs[arm] = await runArm({
        experiment: options,
        variant: arm === 'cfs' ? CFS_VARIANT : MAXWELL_VARIANT,
        rep,
        progress: (f) => options.onProgress?.((done + f) / (planned * 2), label),
        sources: (s) => (seen.value = s),
        failures: tickFailures,
        entropySources,
      });
      done++;
    }
    const cfs = runs.cfs;
    const maxwell = runs.maxwell;
    if (cfs === undefined || maxwell === undefined) throw new Error('an arm did not run');
    repetitions.push({ index: rep, order, cfs, maxwell });
    if (!fixed && rep + 1 >= rule.min) {
      const check = ratioPrecision(repetitions, rule.targetHalfWidth, 0.95);
      const width = check.halfWidth === null ? 'unbounded' : `± ${check.halfWidth.toFixed(3)}×`;
      if (check.done) stoppedBecause = `the ratio's 95 % interval reached ${width} (target ± ${String(rule.targetHalfWidth)}×) after ${String(rep + 1)} repetitions`;
      else if (rep + 1 >= rule.max) stoppedBecause = `the ${String(rule.max)}-repetition limit, with the interval at ${width} (target ± ${String(rule.targetHalfWidth)}×)`;
      else planned = rep + 2;
    }
  }
  const stopping: StoppingRule = {
    rule: fixed ? 'fixed' : 'precision',
    minRepetitions: rule.min,
    maxRepetitions: rule.max,
    targetHalfWidth: fixed ? null : rule.targetHalfWidth,
    stoppedBecause,
  };
  const seenSources: ArmSources = seen.value ?? { temperature: 'unknown', energy: 'unknown', energyMeasured: false, temperatureSensor: null, measuredCores: 0, cores: 0 };
  const temperature = temperatureOrigin(seenSources);
  const energy = seenSources.energyMeasured
    ? { provenance: 'measured' as const, source: 'powercap-rapl', note: seenSources.energy }
    : { provenance: 'modelled' as const, source: 'thermal-twin', note: `no RAPL on this machine: ${seenSources.energy}` };
  const metadata: ExperimentMetadata = {
    schemaVersion: RESULTS_SCHEMA_VERSION,
    experiment: 'scientist-vs-leech',
    maxwellVersion: options.version,
    machine: { hostname: hostname(), cpuModel: cpus()[0]?.model ?? 'unknown', cores: cpus().length, kernel: release(), node: process.version },
    startedAt,
    finishedAt: new Date().toISOString(),
    armDurationS: options.durationS,
    repetitions: repetitions.length,
    quick: options.quick,
    scientists: { count: options.scientists, command: options.scientistCommand.join(' ') },
    leeches: { count: options.leeches, command: options.leechCommand.join(' ') },
    sources: {
      energy,
      temperature,
      agentEnergy: { provenance: 'modelled', source: 'package energy split by measured CPU time', note: 'per-agent joules = package joules × the agent’s share of all CPU time used on the machine (cgroup cpuacct ÷ /proc/stat busy); Maxwell’s process and everything else (“unmanaged”: other processes, the kernel) keep their own accounts; idle power is shared in proportion' },
      foreignLoad: { provenance: 'measured', source: '/proc/stat busy − the agents’ cgroup CPU − Maxwell’s (getrusage and its entropy helper)', note: 'CPU time of processes that are neither agents nor Maxwell, as a share of all cores over the arm; interrupts and softirqs count here' },
      overhead: { provenance: 'measured', source: 'getrusage of the daemon process + /proc of its entropy helper', note: 'CPU time of the process hosting the daemon (and this runner) and of its entropy helper process (eBPF loader or bpftrace) over the arm, as a share of all cores' },
    },
    preflight,
    stopping,
    throttlePointC: DEFAULT_PRICING.throttleC,
    priceUnit: 'J per 10 ms quantum',
    thesisRatio: THESIS_RATIO,
    confidenceLevel: 0.95,
  };
  const busyBefore =
    preflight !== null && preflight.busyFraction > BUSY_WARNING_FRACTION
      ? [`WARNING: the machine was busy before the experiment started: ${(preflight.busyFraction * 100).toFixed(1)} % of its CPU used by other processes (${preflight.top.map((p) => `${p.name} ${(p.cpuFraction * 100).toFixed(0)} %`).join(', ') || 'no single process'}).`]
      : [];
  const notes = [
    ...busyBefore,
    ...tickFailures.map((w) => `WARNING: ${w}.`),
    `Repetitions: ${stopping.stoppedBecause}.`,
    `Energy: ${seenSources.energy}. Temperatures: ${seenSources.temperature}. Both arms use the same sources.`,
    `Verified primes are counted by the prime oracle (Miller–Rabin on ${String(options.config.daemon.oracleSample)} sampled primes per report; a failed sample forfeits the report) in both arms.`,
    'Control arm: plain Linux CFS with every agent in its own cgroup (equal shares); the daemon only observes. Treatment arm: the daemon’s auction decides who runs; winners pay, insolvent agents die.',
    `${LANDAUER_NOTE_PREFIX}${[...entropySources].join(LANDAUER_NOTE_SEPARATOR) || 'unknown'}.`,
  ];
  return buildResults(metadata, repetitions, notes);
}
