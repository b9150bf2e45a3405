/**
 * Research question 8: can Maxwell check claimed work by the activity trace? In two parts.
 *
 * 1. **Isolated workloads** (the lab figure, kept): every workload runs alone as a real process,
 *    traced at 100 Hz from /proc; windows of 1 s become feature vectors; a random forest is
 *    trained on the EARLIER run of every workload and tested on a LATER one (the time split), and
 *    again with whole classes held out. These runs also give the claim model its passive reference
 *    (earlier runs) and calibration (later runs).
 * 2. **In the daemon** (the product figure): real agents spawned with claims into a real daemon,
 *    more agents than cores, judged by the daemon's own claim verifier. First honest inference
 *    servers alone calibrate the request timeline; then the claim model made from all of it judges
 *    fresh honest agents and cheats it never saw (claim-model.ts, verification/service/claim-verifier.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnSync } from 'node:child_process';
import type { EntropySource } from '../market/entropy.js';
import { FEATURE_NAMES, windowFeatures } from '../verification/trace/features.js';
import { WORK_CLASSES, WorkClassifier, evaluate, type Evaluation, type LabelledWindow, type WorkClass } from '../verification/trace/classifier.js';
import { TraceRecorder } from '../verification/trace/recorder.js';
import { TRACE_CHANNELS } from '../verification/trace/trace.js';
import { describeMachine, type MachineDescription } from './machine.js';
import { ClaimModel } from '../verification/trace/claim-model.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FLAG_WITHIN_S, calibrateInDaemon, evaluateClaims, type InDaemonReport } from './claims-in-daemon.js';

export interface WorkloadSpec {
  readonly name: string;
  readonly label: WorkClass;
  readonly command: string;
  readonly args: readonly string[];
  /** The adversary: labelled by what it is (mining), built to look like inference. */
  readonly adversarial?: boolean;
  /** Left out of every training set: tests how an unseen program is classified. */
  readonly unseen?: boolean;
}

const AGENT = (name: string): string => fileURLToPath(new URL(`../agents/${name}.js`, import.meta.url));
const node = process.execPath;

function available(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** The workloads this machine can run (stress-ng and openssl when installed), and those it cannot, with why. */
export function workloads(): { runnable: WorkloadSpec[]; missing: string[] } {
  const list: WorkloadSpec[] = [
    { name: 'inference (integer transformer-sized model, prefill + decode bursts)', label: 'inference', command: node, args: [AGENT('workload'), '--kind', 'infer', '--seed', '1'] },
    { name: 'inference (the tiny GPT in onnxruntime: gpt-server)', label: 'inference', command: node, args: [AGENT('gpt-server'), '--self-serve', '--seed', '1'] },
    { name: 'inference (longer prompts, faster arrivals)', label: 'inference', command: node, args: [AGENT('workload'), '--kind', 'infer', '--seed', '2', '--prompt', '48', '--gap-ms', '120'] },
    { name: 'mining sha256 (the leech)', label: 'mining', command: node, args: [AGENT('leech'), '--difficulty', '40'] },
    { name: 'mining sha3-256', label: 'mining', command: node, args: [AGENT('workload'), '--kind', 'mine', '--hash', 'sha3-256'] },
    { name: 'mining blake2b512', label: 'mining', command: node, args: [AGENT('workload'), '--kind', 'mine', '--hash', 'blake2b512'] },
    { name: 'adversarial miner (duty-cycled to mimic inference)', label: 'mining', adversarial: true, command: node, args: [AGENT('workload'), '--kind', 'adversary', '--seed', '3'] },
    { name: 'science: Miller–Rabin (the scientist)', label: 'science', command: node, args: [AGENT('scientist'), '--method', 'mr'] },
    { name: 'science: segmented sieve (the scientist)', label: 'science', command: node, args: [AGENT('scientist')] },
    { name: 'science: trial division', label: 'science', command: node, args: [AGENT('workload'), '--kind', 'trial'] },
    { name: 'memory-bound streaming', label: 'streaming', command: node, args: [AGENT('workload'), '--kind', 'stream'] },
    { name: 'allocate-touch-free churn (the churner)', label: 'streaming', command: node, args: [AGENT('churner'), '--mib-per-second', '512'] },
    { name: 'sleep/poll loop', label: 'polling', command: node, args: [AGENT('workload'), '--kind', 'poll'] },
  ];
  const missing: string[] = [];
  if (available('stress-ng')) {
    list.push({ name: 'stress-ng --cpu-method matrixprod', label: 'stress', command: 'stress-ng', args: ['--cpu', '1', '--cpu-method', 'matrixprod', '--timeout', '3600'] });
    list.push({ name: 'stress-ng --cpu-method fft', label: 'stress', command: 'stress-ng', args: ['--cpu', '1', '--cpu-method', 'fft', '--timeout', '3600'] });
    list.push({ name: 'stress-ng --vm (memory)', label: 'stress', command: 'stress-ng', args: ['--vm', '1', '--vm-bytes', '64m', '--timeout', '3600'] });
  } else missing.push('stress-ng (not installed: sudo npm run setup)');
  if (available('openssl')) list.push({ name: 'openssl speed sha256 (unseen: never trained on)', label: 'mining', unseen: true, command: 'openssl', args: ['speed', '-seconds', '3600', 'sha256'] });
  else missing.push('openssl (not installed)');
  return { runnable: list, missing };
}

export interface VerificationOptions {
  readonly quick?: boolean;
  /** Seconds traced per run of each workload. @default 20 (quick: 6) */
  readonly secondsPerRun?: number;
  /** Runs of each workload: the first trains, the later test. @default 2 */
  readonly runs?: number;
  /** Only these workloads (by index in `workloads()`), e.g. for a short test. */
  readonly only?: readonly number[];
  readonly entropy?: EntropySource;
  /**
   * The in-daemon part: seconds of the honest calibration run and of each evaluation batch
   * (default 90 and 30; quick: 45 and 20). False: isolated workloads only (no root needed).
   */
  readonly inDaemon?: { readonly calibrationSeconds?: number; readonly batchSeconds?: number } | false;
  readonly onProgress?: (done: number, total: number, label: string) => void;
}

interface TracedRun {
  readonly workload: number;
  readonly run: number;
  /** Why the run gave no usable trace (the program did not start, or ended within its first second), else null. */
  readonly failure: string | null;
  readonly windows: Float64Array[];
  readonly tracedCpuS: number;
  readonly traceCostS: number;
  /** CPU spent turning the trace into window features (part of what classifying costs). */
  readonly featureCpuS: number;
  /** The CPU channel at 100 Hz (a recording the replaying cheat can play back). */
  readonly cpu: Float64Array;
}

export interface HeldOutResult {
  readonly heldOut: WorkClass;
  readonly windows: number;
  /** Of the held-out class's windows, classified as inference (a false accept if it claimed inference). */
  readonly asInference: number;
  readonly predicted: Readonly<Partial<Record<WorkClass, number>>>;
}

export interface VerificationReport {
  readonly machine: MachineDescription;
  readonly provenance: { readonly kind: 'measured'; readonly channels: typeof TRACE_CHANNELS };
  readonly secondsPerRun: number;
  readonly windowS: number;
  readonly runs: number;
  readonly features: readonly string[];
  readonly workloads: readonly { readonly name: string; readonly label: WorkClass; readonly adversarial: boolean; readonly unseen: boolean; readonly trainWindows: number; readonly testWindows: number; readonly testAccuracy: number; readonly predicted: Partial<Record<WorkClass, number>> }[];
  readonly missing: readonly string[];
  /** Runs that gave no usable trace: their workload is missing from training or testing, and the figures say less. */
  readonly failedRuns: readonly string[];
  readonly timeSplit: Evaluation;
  readonly goals: { readonly balancedAccuracy: number; readonly inferenceFalsePositiveRate: number; readonly costFraction: number };
  /** The adversary's test windows not classified as inference. */
  readonly adversaryDetection: { readonly seenInTraining: number; readonly unseen: number; readonly windows: number };
  readonly unseenProgram: { readonly name: string; readonly windows: number; readonly asInference: number } | null;
  readonly heldOut: readonly HeldOutResult[];
  /** CPU to trace (the sampler) and to classify (features + forest), as shares of the traced work's CPU. */
  readonly cost: { readonly traceFraction: number; readonly classifyFraction: number; readonly classifyMsPerWindow: number };
  /** Claims judged by the daemon itself, under the auction; null when not run (and why in `findings`). */
  readonly inDaemon: InDaemonReport | null;
  readonly findings: readonly string[];
  /** The claim model for the daemon (save it with `toJSON`): passive reference from the isolated runs, timeline calibration from the daemon. */
  readonly model: ClaimModel;
}

const WINDOW_ROWS = 100;
const RATE_HZ = 100;

async function traceRun(spec: WorkloadSpec, seconds: number, entropy: EntropySource | undefined, workload: number, run: number): Promise<TracedRun> {
  // Its own process group, so the whole tree goes at the end (stress-ng's workers are children).
  const child: ChildProcess = spawn(spec.command, [...spec.args], { stdio: 'ignore', detached: true });
  const ended: { how: string | null } = { how: null };
  child.on('exit', (code, signal) => {
    ended.how = signal ?? `code ${String(code)}`;
  });
  child.on('error', (err) => {
    ended.how = err.message;
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${spec.name}: could not start ${spec.command}`);
  const agentId = `trace-${String(workload)}-${String(run)}`;
  entropy?.watch({ agentId, pid });
  const recorder = new TraceRecorder({ pid, rateHz: RATE_HZ, ...(entropy === undefined ? {} : { entropy: { source: entropy, agentId } }) });
  try {
    // Start-up (the runtime loading) is not the workload's shape: skip the first half second.
    await sleep(500);
    recorder.sample();
    const started = performance.now();
    let next = started;
    while (performance.now() - started < seconds * 1000) {
      next += 1000 / RATE_HZ;
      const wait = next - performance.now();
      if (wait > 0) await sleep(wait);
      if (!recorder.sample()) break;
    }
  } finally {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
    entropy?.unwatch(agentId);
    recorder.close();
  }
  const trace = recorder.trace;
  const windows: Float64Array[] = [];
  const featuresBefore = process.cpuUsage();
  for (let from = 0; from + WINDOW_ROWS <= trace.length; from += WINDOW_ROWS) windows.push(windowFeatures(trace, from, WINDOW_ROWS));
  const featureCpu = process.cpuUsage(featuresBefore);
  const cpu = trace.column(0);
  let tracedCpuS = 0;
  for (const v of cpu) tracedCpuS += v / RATE_HZ;
  const failure = windows.length >= 2 ? null : `${spec.name}, run ${String(run + 1)}: ${String(windows.length)} windows (${ended.how === null ? 'no trace' : `it ended: ${ended.how}`})`;
  return { workload, run, windows, tracedCpuS, traceCostS: recorder.costS, featureCpuS: (featureCpu.user + featureCpu.system) / 1e6, failure, cpu };
}

function counts(predicted: readonly WorkClass[]): Partial<Record<WorkClass, number>> {
  const out: Partial<Record<WorkClass, number>> = {};
  for (const p of predicted) out[p] = (out[p] ?? 0) + 1;
  return out;
}

export async function runVerificationResearch(options: VerificationOptions = {}): Promise<VerificationReport> {
  const { runnable, missing } = workloads();
  const specs = options.only === undefined ? runnable : options.only.map((i) => runnable[i]).filter((s): s is WorkloadSpec => s !== undefined);
  const seconds = options.secondsPerRun ?? (options.quick === true ? 6 : 20);
  const runs = Math.max(2, options.runs ?? 2);
  const total = specs.length * runs;
  const traced: TracedRun[] = [];
  // Run by run: every workload's first run before any second run, so "later" is later in time.
  for (let run = 0; run < runs; run++) {
    for (let w = 0; w < specs.length; w++) {
      const spec = specs[w] as WorkloadSpec;
      options.onProgress?.(traced.length + 1, total, `run ${String(run + 1)}/${String(runs)}: ${spec.name}`);
      traced.push(await traceRun(spec, seconds, options.entropy, w, run));
    }
  }
  const windowsOf = (predicate: (t: TracedRun, spec: WorkloadSpec) => boolean): LabelledWindow[] =>
    traced.filter((t) => predicate(t, specs[t.workload] as WorkloadSpec)).flatMap((t) => t.windows.map((features) => ({ features, label: (specs[t.workload] as WorkloadSpec).label })));
  const isTrain = (t: TracedRun): boolean => t.run === 0;

  // The time split: trained on the first run of every workload but the unseen program.
  const train = windowsOf((t, s) => isTrain(t) && s.unseen !== true);
  const forest = WorkClassifier.train(train);
  const test = traced.filter((t) => !isTrain(t) && (specs[t.workload] as WorkloadSpec).unseen !== true);
  // Each test window classified once; the time it takes is part of the cost below.
  const classifyBefore = process.cpuUsage();
  const testTruth: WorkClass[] = [];
  const predictedAll: WorkClass[] = [];
  const perWorkload = new Map<number, WorkClass[]>();
  for (const t of test) {
    const predicted = forest.predict(t.windows);
    perWorkload.set(t.workload, [...(perWorkload.get(t.workload) ?? []), ...predicted]);
    predictedAll.push(...predicted);
    testTruth.push(...t.windows.map(() => (specs[t.workload] as WorkloadSpec).label));
  }
  const classifyCpu = process.cpuUsage(classifyBefore);
  const timeSplit = evaluate(testTruth, predictedAll);

  const adversaryIndex = specs.findIndex((s) => s.adversarial === true);
  const adversarySeen = perWorkload.get(adversaryIndex) ?? [];
  let adversaryUnseen: WorkClass[] = [];
  if (adversaryIndex >= 0) {
    const withoutAdversary = WorkClassifier.train(windowsOf((t, s) => isTrain(t) && s.unseen !== true && s.adversarial !== true));
    adversaryUnseen = withoutAdversary.predict(traced.filter((t) => !isTrain(t) && t.workload === adversaryIndex).flatMap((t) => t.windows));
  }
  const unseenIndex = specs.findIndex((s) => s.unseen === true);
  const unseenPredicted = unseenIndex < 0 ? [] : forest.predict(traced.filter((t) => !isTrain(t) && t.workload === unseenIndex).flatMap((t) => t.windows));

  const heldOut: HeldOutResult[] = [];
  for (const cls of WORK_CLASSES) {
    if (cls === 'inference' || !specs.some((s) => s.label === cls)) continue;
    const trainWithout = windowsOf((t, s) => isTrain(t) && s.unseen !== true && s.label !== cls);
    if (trainWithout.length === 0) continue;
    const model = WorkClassifier.train(trainWithout);
    const predicted = model.predict(traced.filter((t) => !isTrain(t) && (specs[t.workload] as WorkloadSpec).label === cls && (specs[t.workload] as WorkloadSpec).unseen !== true).flatMap((t) => t.windows));
    heldOut.push({ heldOut: cls, windows: predicted.length, asInference: predicted.filter((p) => p === 'inference').length / Math.max(1, predicted.length), predicted: counts(predicted) });
  }

  // Cost of classifying the test windows (their features, then the forest) against the CPU of the work traced in them.
  const featureWindows = predictedAll.length;
  const testCpuS = test.reduce((a, t) => a + t.tracedCpuS, 0);
  const classifyS = (classifyCpu.user + classifyCpu.system) / 1e6 + test.reduce((a, t) => a + t.featureCpuS, 0);
  const traceCostS = traced.reduce((a, t) => a + t.traceCostS, 0);
  const tracedCpuS = traced.reduce((a, t) => a + t.tracedCpuS, 0);

  const report: Omit<VerificationReport, 'findings' | 'model' | 'inDaemon'> = {
    machine: describeMachine(),
    provenance: { kind: 'measured', channels: TRACE_CHANNELS },
    secondsPerRun: seconds,
    windowS: WINDOW_ROWS / RATE_HZ,
    runs,
    features: FEATURE_NAMES,
    workloads: specs.map((s, i) => {
      const predicted = s.unseen === true ? unseenPredicted : (perWorkload.get(i) ?? []);
      return {
        name: s.name,
        label: s.label,
        adversarial: s.adversarial === true,
        unseen: s.unseen === true,
        trainWindows: s.unseen === true ? 0 : traced.filter((t) => t.workload === i && isTrain(t)).reduce((a, t) => a + t.windows.length, 0),
        testWindows: predicted.length,
        testAccuracy: predicted.filter((p) => p === s.label).length / Math.max(1, predicted.length),
        predicted: counts(predicted),
      };
    }),
    missing,
    failedRuns: traced.map((t) => t.failure).filter((f): f is string => f !== null),
    timeSplit,
    goals: { balancedAccuracy: 0.97, inferenceFalsePositiveRate: 0.01, costFraction: 0.01 },
    adversaryDetection: {
      seenInTraining: adversarySeen.filter((p) => p !== 'inference').length / Math.max(1, adversarySeen.length),
      unseen: adversaryUnseen.filter((p) => p !== 'inference').length / Math.max(1, adversaryUnseen.length),
      windows: adversarySeen.length,
    },
    unseenProgram: unseenIndex < 0 ? null : { name: (specs[unseenIndex] as WorkloadSpec).name, windows: unseenPredicted.length, asInference: unseenPredicted.filter((p) => p === 'inference').length / Math.max(1, unseenPredicted.length) },
    heldOut,
    cost: {
      traceFraction: tracedCpuS > 0 ? traceCostS / tracedCpuS : Number.NaN,
      classifyFraction: testCpuS > 0 ? classifyS / testCpuS : Number.NaN,
      classifyMsPerWindow: featureWindows > 0 ? (1000 * classifyS) / featureWindows : Number.NaN,
    },
  };
  const honestRun = (run: number) => {
    const byClass = new Map<WorkClass, Float64Array[]>();
    for (const t of traced) {
      const spec = specs[t.workload] as WorkloadSpec;
      if (t.run !== run || spec.adversarial === true || spec.unseen === true) continue;
      byClass.set(spec.label, [...(byClass.get(spec.label) ?? []), ...t.windows]);
    }
    return byClass;
  };
  const madeBy = `maxwell research verification${options.quick === true ? ' --quick' : ''} on ${report.machine.cpu} (${String(report.machine.cpus)} CPUs${report.machine.virtualised ? ', a VM' : ''}), ${new Date().toISOString().slice(0, 10)}`;
  const isolatedOnly = (why: string): VerificationReport => {
    const model = ClaimModel.build({ madeBy, reference: honestRun(0), calibration: honestRun(1), timeline: null });
    const full = { ...report, inDaemon: null };
    return { ...full, findings: [...findingsOf(full), `In the daemon: not run (${why}).`], model };
  };
  if (options.inDaemon === false) return isolatedOnly('--isolated-only');
  if (process.getuid?.() !== 0) return isolatedOnly('needs root: the daemon runs agents in cgroups');
  // The replaying cheat plays back what an honest server's CPU looked like when traced alone.
  const gptIndex = specs.findIndex((s) => s.label === 'inference' && s.args.some((a) => a.endsWith('gpt-server.js')));
  const recorded = traced.find((t) => t.workload === gptIndex && t.run === 0 && t.cpu.length > 0);
  let recording: string | null = null;
  if (recorded !== undefined) {
    recording = join(mkdtempSync(join(tmpdir(), 'maxwell-replay-')), 'gpt-server-cpu.json');
    writeFileSync(recording, JSON.stringify({ rateHz: RATE_HZ, cpu: Array.from(recorded.cpu, (v) => Number(v.toFixed(3))) }));
  }
  const calibrationSeconds = options.inDaemon?.calibrationSeconds ?? (options.quick === true ? 45 : 90);
  const batchSeconds = options.inDaemon?.batchSeconds ?? (options.quick === true ? 20 : 30);
  options.onProgress?.(total, total + 1, `in the daemon: calibrating on honest agents (${String(calibrationSeconds)} s)`);
  const calibration = await calibrateInDaemon(calibrationSeconds);
  const sortedScores = [...calibration.scores].sort((a, b) => a - b);
  // Classes measured in the daemon take their references from there (the first half of their windows against the second); the rest from the isolated runs.
  const reference = honestRun(0);
  const later = honestRun(1);
  for (const [cls, windows] of calibration.passive) {
    if (windows.length < 6) continue;
    const half = Math.floor(windows.length / 2);
    reference.set(cls, windows.slice(0, half));
    later.set(cls, windows.slice(half));
  }
  const model = ClaimModel.build({
    madeBy,
    reference,
    calibration: later,
    timeline: sortedScores.length === 0 ? null : { scores: sortedScores, source: `${String(sortedScores.length)} windows of ${String(calibration.agents.length)} honest servers measured through the daemon beside CPU-bound load, ${madeBy}` },
  });
  const alpha = 0.01;
  const evaluation = await evaluateClaims({ model, recording, batchSeconds, alpha, onBatch: (i, n, label) => options.onProgress?.(total + i, total + n + 1, `in the daemon, batch ${String(i)}/${String(n)}: honest servers beside ${label}`) });
  const inDaemon: InDaemonReport = {
    calibration: {
      seconds: calibrationSeconds,
      agents: calibration.agents,
      windows: sortedScores.length,
      scores: { min: sortedScores[0] ?? Number.NaN, median: sortedScores[Math.floor(sortedScores.length / 2)] ?? Number.NaN, max: sortedScores.at(-1) ?? Number.NaN },
      passiveWindows: Object.fromEntries([...calibration.passive].map(([cls, w]) => [cls, w.length])),
    },
    ...evaluation,
  };
  const full = { ...report, inDaemon };
  return { ...full, findings: findingsOf(full), model };
}

function pct(v: number): string {
  return Number.isFinite(v) ? `${(100 * v).toFixed(1)} %` : 'n/a';
}

function findingsOf(r: Omit<VerificationReport, 'findings' | 'model'>): string[] {
  const out: string[] = [];
  const met = (ok: boolean): string => (ok ? 'MET' : 'MISSED');
  const d = r.inDaemon;
  if (d !== null) {
    out.push(`IN THE DAEMON (claims judged by the daemon's own verifier, under the auction, ${String(d.batches)} batches of ${String(d.batchSeconds)} s, more agents than cores): honest agents flagged ${String(d.honest.flagged)} of ${String(d.honest.agents)} (goal 0: ${met(d.honest.flagged === 0)}); their windows judged inconsistent ${pct(d.honest.inconsistentShare)} of ${String(d.honest.windows)} (goal ≤ 1 %: ${met(d.honest.inconsistentShare <= 0.01)}).`);
    out.push(`IN THE DAEMON: cheats flagged ${String(d.cheats.flagged)} of ${String(d.cheats.agents)}, within ${String(FLAG_WITHIN_S)} s of their spawn ${String(d.cheats.flaggedWithin10s)} (${pct(d.cheats.flaggedWithin10s / Math.max(1, d.cheats.agents))}; goal ≥ 95 %: ${met(d.cheats.flaggedWithin10s / Math.max(1, d.cheats.agents) >= 0.95)}). None of the cheats is in any reference or calibration set.`);
    out.push(`IN THE DAEMON: tracing and judging cost ${pct(d.cost.fraction)} of the traced agents' CPU (${d.cost.verifierCpuS.toFixed(2)} s beside ${d.cost.tracedCpuS.toFixed(1)} s; goal < 1 %: ${met(d.cost.fraction < 0.01)}).`);
    out.push(`The request timeline was calibrated on ${String(d.calibration.windows)} windows of honest servers (score idle − serving CPU from ${d.calibration.scores.min.toFixed(2)} to ${d.calibration.scores.max.toFixed(2)}); with α = ${String(d.alpha)} the conformal test can reject only with at least ${String(Math.ceil(1 / d.alpha) - 1)} calibration windows${d.calibration.windows + 1 < 1 / d.alpha ? ': too few here, so only the plain rules rejected' : ''}.`);
    out.push('ISOLATED WORKLOADS (each program alone, the closed-set forest; the lab figure, kept for comparison):');
  }
  if (r.failedRuns.length > 0) out.push(`WARNING: ${String(r.failedRuns.length)} runs gave no usable trace, so the figures below say less: ${r.failedRuns.join('; ')}.`);
  out.push(`Balanced accuracy on the time split (trained on the first run of every workload, tested on a later one): ${pct(r.timeSplit.balancedAccuracy)} over ${String(r.timeSplit.windows)} windows of ${String(r.windowS)} s — goal ≥ ${pct(r.goals.balancedAccuracy)}: ${met(r.timeSplit.balancedAccuracy >= r.goals.balancedAccuracy)}.`);
  out.push(`Honest inference classified as something else: ${pct(r.timeSplit.inferenceFalsePositiveRate)} of its windows — goal ≤ ${pct(r.goals.inferenceFalsePositiveRate)}: ${met(r.timeSplit.inferenceFalsePositiveRate <= r.goals.inferenceFalsePositiveRate)}.`);
  if (r.adversaryDetection.windows > 0) out.push(`The adversarial miner (duty-cycled to look like inference) was not taken for inference in ${pct(r.adversaryDetection.seenInTraining)} of its test windows when miners like it were in training, ${pct(r.adversaryDetection.unseen)} when it was held out.`);
  if (r.unseenProgram !== null) out.push(`${r.unseenProgram.name}: taken for inference in ${pct(r.unseenProgram.asInference)} of ${String(r.unseenProgram.windows)} windows.`);
  for (const h of r.heldOut) out.push(`With ${h.heldOut} held out of training, ${pct(h.asInference)} of its windows were taken for inference.`);
  const cost = r.cost.traceFraction + r.cost.classifyFraction;
  out.push(`Cost beside the traced work's CPU: tracing ${pct(r.cost.traceFraction)}, classifying ${pct(r.cost.classifyFraction)} (${r.cost.classifyMsPerWindow.toFixed(2)} ms per window) — goal < ${pct(r.goals.costFraction)}: ${met(cost < r.goals.costFraction)}.`);
  if (r.missing.length > 0) out.push(`Not run here: ${r.missing.join('; ')}.`);
  out.push('Power on this machine is MODELLED (the twin, linear in measured CPU: it adds nothing the CPU channel does not have); every other channel is measured.');
  return out;
}
