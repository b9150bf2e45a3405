/**
 * Research question 2: what does capturing every memory erase cost? For a munmap-heavy
 * workload (erase-bench: mmap 4 KiB, touch, munmap, in a loop) this measures, per transport:
 * events per second captured and lost, and the cost per event (the workload's time per
 * iteration minus its time with no probe). Then the tax the attached probe puts on processes
 * nobody watches, and the overhead on a realistic agent (the churner) in %.
 *
 * Everything here is measured on the machine it runs on; nothing is assumed. Trials are
 * interleaved across configurations (round robin) so that drift on a shared machine spreads
 * over all of them, and the median is reported with the range.
 */
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { EbpfUnavailableError, InvalidArgumentError } from '../errors.js';
import { startBench, type BenchResult } from '../entropy/ebpf/bench-process.js';
import { BpftraceEntropySource } from '../entropy/ebpf/bpftrace-source.js';
import { EbpfEntropySource } from '../entropy/ebpf/ebpf-source.js';
import { benchBlocker, bpftraceBlocker, DEFAULT_BENCH_PATH, ebpfBlocker } from '../entropy/ebpf/paths.js';
import type { EntropySource } from '../market/entropy.js';
import { describeMachine, type MachineDescription } from './machine.js';

export const EBPF_CONFIGS = ['no-probe', 'ringbuf', 'ringbuf-wakeup', 'perfbuf-1', 'perfbuf-1000', 'bpftrace'] as const;
export type EbpfConfig = (typeof EBPF_CONFIGS)[number];

const LABELS: Record<EbpfConfig, string> = {
  'no-probe': 'no probe',
  ringbuf: 'ring buffer, no wakeup, consume every 10 ms',
  'ringbuf-wakeup': 'ring buffer, wakeup per event',
  'perfbuf-1': 'perf buffer, wakeup_events 1',
  'perfbuf-1000': 'perf buffer, wakeup_events 1000',
  bpftrace: 'bpftrace (printf, perf buffer)',
};

export interface EbpfResearchOptions {
  /** munmap-heavy loop iterations per trial. @default 200000 (quick: 20000) */
  readonly iterations?: number;
  /** Trials per configuration. @default 5 (quick: 1) */
  readonly trials?: number;
  readonly configs?: readonly EbpfConfig[];
  /** Seconds the churner runs per trial. @default 5 (quick: 1) */
  readonly churnerSeconds?: number;
  readonly quick?: boolean;
  /** The erase workload (native/ebpf/erase-bench.c). @default .maxwell/ebpf/erase-bench */
  readonly benchPath?: string;
  readonly onProgress?: (done: number, total: number, label: string) => void;
  readonly signal?: AbortSignal;
}

export interface TransportRow {
  readonly config: EbpfConfig;
  readonly label: string;
  readonly trials: number;
  readonly iterations: number;
  /** Median workload time per iteration, ns (measured). */
  readonly perIterationNs: number;
  readonly minPerIterationNs: number;
  readonly maxPerIterationNs: number;
  /** Median per-iteration time minus the no-probe median, ns (measured difference). */
  readonly perEventCostNs: number | undefined;
  /**
   * The same difference on the cheapest erase syscall (munmap of an unmapped page): what one
   * probe hit, record and delivery cost, with little workload noise around it, ns.
   */
  readonly probeCostNs: number | undefined;
  /** Median time per cheap munmap call, ns. */
  readonly cheapPerCallNs: number;
  /** Events delivered to Maxwell per second of workload (median trial). */
  readonly capturedPerS: number | undefined;
  /** Events lost (reported by the kernel or bpftrace, or missing from the count), over all trials of both workloads. */
  readonly lost: number | undefined;
  /** Events expected over all trials of both workloads (one per iteration). */
  readonly expected: number | undefined;
  /** The consumer's CPU time per event, ns (loader or bpftrace; median trial). */
  readonly consumerNsPerEvent: number | undefined;
}

export interface UnwatchedTax {
  readonly iterations: number;
  /** Cheap munmap (an unmapped page), no probe attached, ns per call (median). */
  readonly noProbeNs: number;
  /** The same with the ring-buffer probe attached and other processes watched, ns per call. */
  readonly attachedNs: number;
  readonly taxNs: number;
}

export interface ChurnerOverhead {
  readonly seconds: number;
  readonly trials: number;
  /** Churner CPU per MiB freed with no probe, ms (median). */
  readonly cpuMsPerMiBNoProbe: number;
  /** Churner + loader CPU per MiB freed, probe attached and watching it, ms (median). */
  readonly cpuMsPerMiBProbe: number;
  /** Of which the loader's CPU per MiB, ms (median). */
  readonly loaderMsPerMiB: number;
  /**
   * ESTIMATED, not measured: the overhead computed from measured parts — the loader's CPU per MiB
   * plus the churner's erase events per MiB × the ring buffer's measured probe cost — over the
   * no-probe CPU per MiB, %. Leaves out the slow syscall path every syscall takes while any
   * syscall tracepoint is enabled (see the unwatched tax). Undefined without a ring-buffer row.
   */
  readonly estimatedOverheadPercent: number | undefined;
  /** Trial-to-trial spread of the no-probe arm, % of its median ((max − min) / median): the noise floor. */
  readonly noiseSpreadPercent: number;
  readonly overheadPercent: number;
  /** Erase events the churner made per second while watched (median). */
  readonly eventsPerS: number;
}

export interface EbpfResearchReport {
  readonly machine: MachineDescription;
  /** 1-minute load average at the start and the end: other work on a shared machine adds noise. */
  readonly loadAverage: readonly [number, number];
  readonly rows: readonly TransportRow[];
  readonly unwatched: UnwatchedTax | undefined;
  readonly churner: ChurnerOverhead | undefined;
  readonly notMeasured: readonly { readonly what: string; readonly why: string }[];
  readonly findings: readonly string[];
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return Number.NaN;
  return n % 2 === 1 ? (s[(n - 1) / 2] ?? Number.NaN) : ((s[n / 2 - 1] ?? 0) + (s[n / 2] ?? 0)) / 2;
};

/** CPU time of a process so far, ns: the sum of its threads' schedstat (ns, updated at each switch and tick). */
function cpuNs(pid: number): number {
  try {
    let total = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // The thread ended between the listing and the read.
      }
    }
    return total;
  } catch {
    return Number.NaN;
  }
}

/** Unreachable tgid (above the kernel's PID_MAX_LIMIT): makes the probe's map non-empty without matching. */
const NOBODY = 4_194_305;

interface Trial {
  readonly perIterationNs: number;
  readonly captured: number | undefined;
  readonly lost: number | undefined;
  readonly elapsedNs: number;
  readonly consumerNs: number | undefined;
}

async function withSource(config: EbpfConfig): Promise<{ source: EntropySource | undefined; consumerPid: () => number | undefined; lost: () => number; settle: () => Promise<void> }> {
  switch (config) {
    case 'no-probe':
      return { source: undefined, consumerPid: () => undefined, lost: () => 0, settle: () => Promise.resolve() };
    case 'bpftrace': {
      const source = new BpftraceEntropySource();
      return { source, consumerPid: () => undefined, lost: () => source.provenance().lostEvents, settle: () => source.settled() };
    }
    default: {
      const transport = config === 'ringbuf' ? 'ringbuf' : config === 'ringbuf-wakeup' ? 'ringbuf-wakeup' : 'perfbuf';
      // The same memory for both transports: the perf buffers over all CPUs add up to the ring's 16 MiB.
      const perfPages = 2 ** Math.floor(Math.log2((16 * 2 ** 20) / 4096 / Math.max(1, availableParallelism())));
      const source = await EbpfEntropySource.start({ transport, wakeupEvents: config === 'perfbuf-1000' ? 1000 : 1, perfPages, brk: false, coalesce: false });
      return { source, consumerPid: () => source.loaderPid, lost: () => source.provenance().lostEvents, settle: () => Promise.resolve() };
    }
  }
}

/**
 * One trial of one configuration: the munmap-heavy loop (`mmap-munmap`) and the cheapest erase
 * syscall (`munmap-cheap`, an unmapped page: what the probe itself costs), both watched — or,
 * with `watch` false, both left unwatched while another (impossible) tgid is.
 */
async function runTrial(config: EbpfConfig, iterations: number, watch: boolean, benchPath: string): Promise<{ real: Trial; cheap: Trial }> {
  const { source, consumerPid, lost, settle } = await withSource(config);
  const cheapIterations = iterations * 5;
  try {
    const real = await startBench(['mmap-munmap', String(iterations)], benchPath);
    const cheap = await startBench(['munmap-cheap', String(cheapIterations)], benchPath);
    const agents = watch ? [{ agentId: 'real', pid: real.pid }, { agentId: 'cheap', pid: cheap.pid }] : [{ agentId: 'nobody', pid: NOBODY }];
    if (source instanceof EbpfEntropySource) await Promise.all(agents.map((a) => source.watchAsync(a)));
    else for (const a of agents) source?.watch(a);
    await settle();
    const run = async (bench: typeof real, agentId: string, n: number): Promise<Trial> => {
      const pid = consumerPid();
      const cpu0 = pid === undefined ? Number.NaN : cpuNs(pid);
      const lost0 = lost();
      const result: BenchResult = await bench.go();
      if (source instanceof EbpfEntropySource) await source.flush();
      else if (source !== undefined) await new Promise((r) => setTimeout(r, 500)); // bpftrace drains its perf buffer asynchronously
      const cpu1 = pid === undefined ? Number.NaN : cpuNs(pid);
      const captured = source === undefined ? undefined : source.drain().filter((e) => e.agentId === agentId).length;
      const lostNow = lost() - lost0;
      return {
        perIterationNs: result.elapsedNs / n,
        captured,
        lost: source === undefined ? undefined : watch && captured !== undefined ? Math.max(lostNow, n - captured) : lostNow,
        elapsedNs: result.elapsedNs,
        consumerNs: Number.isFinite(cpu1 - cpu0) ? cpu1 - cpu0 : undefined,
      };
    };
    return { real: await run(real, 'real', iterations), cheap: await run(cheap, 'cheap', cheapIterations) };
  } finally {
    await source?.close();
  }
}

const CHURNER = fileURLToPath(new URL('../agents/churner.js', import.meta.url));

async function churnerTrial(seconds: number, probe: boolean): Promise<{ cpuMsPerMiB: number; loaderMsPerMiB: number; eventsPerS: number; eventsPerMiB: number }> {
  const source = probe ? await EbpfEntropySource.start({ coalesce: false }) : undefined;
  try {
    const child = spawn(process.execPath, [CHURNER, '--mib-per-second', '0', '--chunk-mib', '1'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const pid = child.pid ?? 0;
    let freedMiB = Number.NaN;
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const m = JSON.parse(line) as { type?: string; freedMiB?: number };
        if (m.type === 'summary' && typeof m.freedMiB === 'number') freedMiB = m.freedMiB;
      } catch {
        // Not a report line.
      }
    });
    const exited = new Promise<void>((resolve) => child.once('close', () => { resolve(); }));
    if (source !== undefined) await source.watchAsync({ agentId: 'churner', pid });
    // CPU over the churner's whole life (its start-up weighs the same in both arms) per MiB it
    // freed; the loader's CPU while it watched is added to the probe arm.
    const l0 = source === undefined ? 0 : cpuNs(source.loaderPid);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const c1 = cpuNs(pid);
    const l1 = source === undefined ? 0 : cpuNs(source.loaderPid);
    const elapsedS = (performance.now() - t0) / 1000;
    child.kill('SIGTERM');
    await exited;
    if (source !== undefined) await source.flush();
    const events = source?.drain().filter((e) => e.agentId === 'churner').length ?? 0;
    return { cpuMsPerMiB: c1 / 1e6 / freedMiB, loaderMsPerMiB: (l1 - l0) / 1e6 / freedMiB, eventsPerS: events / elapsedS, eventsPerMiB: events / freedMiB };
  } finally {
    await source?.close();
  }
}

export async function runEbpfResearch(options: EbpfResearchOptions = {}): Promise<EbpfResearchReport> {
  const loadAtStart = loadavg()[0] ?? 0;
  const quick = options.quick === true;
  const iterations = options.iterations ?? (quick ? 20_000 : 200_000);
  const trials = options.trials ?? (quick ? 1 : 5);
  const churnerSeconds = options.churnerSeconds ?? (quick ? 1 : 5);
  if (!Number.isInteger(iterations) || iterations < 1000) throw new InvalidArgumentError(`iterations must be an integer ≥ 1000, got ${iterations}`);
  if (!Number.isInteger(trials) || trials < 1) throw new InvalidArgumentError(`trials must be a positive integer, got ${trials}`);
  // Every row, the no-probe baseline included, times the native erase workload: without it
  // nothing can be measured, so say what is missing instead of failing at the first spawn.
  const benchPath = options.benchPath ?? DEFAULT_BENCH_PATH;
  const benchWhy = benchBlocker(benchPath);
  if (benchWhy !== undefined) throw new EbpfUnavailableError(`maxwell research ebpf cannot run: ${benchWhy}`);
  const notMeasured: { what: string; why: string }[] = [];
  const ebpfWhy = ebpfBlocker();
  const bpftraceWhy = ebpfWhy ?? bpftraceBlocker();
  let configs = [...(options.configs ?? EBPF_CONFIGS)];
  if (!configs.includes('no-probe')) configs.unshift('no-probe');
  if (ebpfWhy !== undefined) {
    for (const c of configs.filter((c) => c !== 'no-probe' && c !== 'bpftrace')) notMeasured.push({ what: LABELS[c], why: ebpfWhy });
    configs = configs.filter((c) => c === 'no-probe' || c === 'bpftrace');
  }
  if (configs.includes('bpftrace') && bpftraceWhy !== undefined) {
    notMeasured.push({ what: LABELS.bpftrace, why: bpftraceWhy });
    configs = configs.filter((c) => c !== 'bpftrace');
  }
  const unwatchedSteps = ebpfWhy === undefined ? 2 * trials : 0;
  const churnerSteps = ebpfWhy === undefined ? 2 * trials : 0;
  const total = configs.length * trials + unwatchedSteps + churnerSteps;
  let step = 0;
  const progress = (label: string): void => {
    options.onProgress?.(++step, total, label);
    if (options.signal?.aborted === true) throw options.signal.reason;
  };

  const results = new Map<EbpfConfig, Trial[]>(configs.map((c) => [c, []]));
  const cheapResults = new Map<EbpfConfig, Trial[]>(configs.map((c) => [c, []]));
  for (let t = 0; t < trials; t++) {
    for (const config of configs) {
      progress(`${LABELS[config]}, trial ${t + 1}/${trials}`);
      const { real, cheap } = await runTrial(config, iterations, true, benchPath);
      results.get(config)?.push(real);
      cheapResults.get(config)?.push(cheap);
    }
  }
  const baseline = median((results.get('no-probe') ?? []).map((r) => r.perIterationNs));
  const cheapBaseline = median((cheapResults.get('no-probe') ?? []).map((r) => r.perIterationNs));
  const rows: TransportRow[] = configs.map((config) => {
    const rs = results.get(config) ?? [];
    const per = rs.map((r) => r.perIterationNs);
    const probed = config !== 'no-probe';
    const medianTrial = [...rs].sort((a, b) => a.perIterationNs - b.perIterationNs)[Math.floor(rs.length / 2)];
    const cheap = cheapResults.get(config) ?? [];
    const consumer = rs.map((r) => r.consumerNs).filter((v): v is number => v !== undefined).map((ns) => ns / iterations);
    return {
      config,
      label: LABELS[config],
      trials: rs.length,
      iterations,
      perIterationNs: median(per),
      minPerIterationNs: Math.min(...per),
      maxPerIterationNs: Math.max(...per),
      perEventCostNs: probed ? median(per) - baseline : undefined,
      probeCostNs: probed ? median(cheap.map((r) => r.perIterationNs)) - cheapBaseline : undefined,
      cheapPerCallNs: median(cheap.map((r) => r.perIterationNs)),
      capturedPerS: probed && medianTrial?.captured !== undefined ? medianTrial.captured / (medianTrial.elapsedNs / 1e9) : undefined,
      lost: probed ? [...rs, ...cheap].reduce((s, r) => s + (r.lost ?? 0), 0) : undefined,
      expected: probed ? iterations * rs.length + 5 * iterations * cheap.length : undefined,
      consumerNsPerEvent: consumer.length > 0 ? median(consumer) : undefined,
    };
  });

  let unwatched: UnwatchedTax | undefined;
  let churner: ChurnerOverhead | undefined;
  if (ebpfWhy === undefined) {
    const none: number[] = [];
    const attached: number[] = [];
    const cheap = iterations * 5;
    for (let t = 0; t < trials; t++) {
      progress(`unwatched munmap, no probe, trial ${t + 1}/${trials}`);
      none.push((await runTrial('no-probe', iterations, false, benchPath)).cheap.perIterationNs);
      progress(`unwatched munmap, probe attached, trial ${t + 1}/${trials}`);
      attached.push((await runTrial('ringbuf', iterations, false, benchPath)).cheap.perIterationNs);
    }
    unwatched = { iterations: cheap, noProbeNs: median(none), attachedNs: median(attached), taxNs: median(attached) - median(none) };

    const ringProbe = rows.find((r) => r.config === 'ringbuf')?.probeCostNs;
    const off: number[] = [];
    const on: number[] = [];
    const loader: number[] = [];
    const rates: number[] = [];
    const perMiB: number[] = [];
    for (let t = 0; t < trials; t++) {
      progress(`churner, no probe, trial ${t + 1}/${trials}`);
      off.push((await churnerTrial(churnerSeconds, false)).cpuMsPerMiB);
      progress(`churner, watched, trial ${t + 1}/${trials}`);
      const r = await churnerTrial(churnerSeconds, true);
      on.push(r.cpuMsPerMiB + r.loaderMsPerMiB);
      loader.push(r.loaderMsPerMiB);
      rates.push(r.eventsPerS);
      perMiB.push(r.eventsPerMiB);
    }
    churner = {
      seconds: churnerSeconds,
      trials,
      cpuMsPerMiBNoProbe: median(off),
      cpuMsPerMiBProbe: median(on),
      loaderMsPerMiB: median(loader),
      noiseSpreadPercent: (100 * (Math.max(...off) - Math.min(...off))) / median(off),
      estimatedOverheadPercent: ringProbe === undefined ? undefined : (100 * (median(loader) + (median(perMiB) * ringProbe) / 1e6)) / median(off),
      overheadPercent: (100 * (median(on) - median(off))) / median(off),
      eventsPerS: median(rates),
    };
  } else {
    notMeasured.push({ what: 'tax on unwatched processes', why: ebpfWhy }, { what: 'churner overhead', why: ebpfWhy });
  }
  return { machine: describeMachine(), loadAverage: [loadAtStart, loadavg()[0] ?? 0], rows, unwatched, churner, notMeasured, findings: ebpfFindings(rows, unwatched, churner) };
}

/** Findings computed from the data, never asserted: each claim of docs/DESIGN.md §6 question 2, tested. */
export function ebpfFindings(rows: readonly TransportRow[], unwatched: UnwatchedTax | undefined, churner: ChurnerOverhead | undefined): string[] {
  const out: string[] = [];
  const row = (c: EbpfConfig): TransportRow | undefined => rows.find((r) => r.config === c);
  const ring = row('ringbuf');
  const perf = row('perfbuf-1');
  if (ring?.probeCostNs !== undefined && perf?.probeCostNs !== undefined) {
    const ratio = perf.probeCostNs / Math.max(ring.probeCostNs, 1);
    out.push(
      ring.probeCostNs < perf.probeCostNs
        ? `per probe hit, the ring buffer (no wakeup) costs ${ring.probeCostNs.toFixed(0)} ns and the perf buffer with a wakeup per event ${perf.probeCostNs.toFixed(0)} ns (${ratio.toFixed(1)}×): the ring buffer is cheaper`
        : `the claim "ring buffer ≫ perf buffer" does not hold here: ${ring.probeCostNs.toFixed(0)} ns vs ${perf.probeCostNs.toFixed(0)} ns per probe hit`,
    );
  }
  if (ring?.probeCostNs !== undefined) {
    out.push(
      ring.probeCostNs <= 750
        ? `the ≈ 500 ns per probe claim holds (within 1.5×): ${ring.probeCostNs.toFixed(0)} ns per captured erase (ring buffer, no wakeup, cheap munmap)`
        : `the ≈ 500 ns per probe claim is missed (more than 1.5×): ${ring.probeCostNs.toFixed(0)} ns per captured erase (ring buffer, no wakeup, cheap munmap) on this machine`,
    );
  }
  if (ring?.perEventCostNs !== undefined) {
    const noise = ring.trials > 1 ? `; the loop's own spread between trials is ${(ring.maxPerIterationNs - ring.minPerIterationNs).toFixed(0)} ns` : '';
    out.push(`on the mmap+munmap loop the ring buffer adds ${ring.perEventCostNs.toFixed(0)} ns per iteration (${((100 * ring.perEventCostNs) / Math.max(1, ring.perIterationNs - ring.perEventCostNs)).toFixed(1)} %)${noise}`);
  }
  const lossy = rows.filter((r) => (r.lost ?? 0) > 0);
  const probed = rows.filter((r) => r.config !== 'no-probe');
  if (probed.length > 0) {
    out.push(
      lossy.length === 0
        ? `no configuration lost an event (${probed.map((r) => r.config).join(', ')}; ${probed.reduce((n, r) => n + (r.expected ?? 0), 0)} expected in all)`
        : `events were lost by: ${lossy.map((r) => `${r.config} (${r.lost ?? 0} of ${r.expected ?? 0})`).join('; ')}`,
    );
  }
  if (unwatched !== undefined) out.push(`a process nobody watches pays ${unwatched.taxNs.toFixed(0)} ns per munmap while the probe is attached (${unwatched.noProbeNs.toFixed(0)} → ${unwatched.attachedNs.toFixed(0)} ns)`);
  if (churner?.estimatedOverheadPercent !== undefined) {
    out.push(`computed from measured parts (an estimate): the loader's CPU plus ${churner.eventsPerS.toFixed(0)} probe hits/s cost the churner ${churner.estimatedOverheadPercent.toFixed(3)} %, ${churner.estimatedOverheadPercent < 1 ? 'within' : 'above'} the < 1 % claim`);
  }
  if (churner !== undefined) {
    out.push(
      Math.abs(churner.overheadPercent) < 1
        ? `the < 1 % overhead claim holds for the churner: ${churner.overheadPercent.toFixed(2)} % CPU per MiB freed (${churner.eventsPerS.toFixed(0)} erase events/s)`
        : `the churner's CPU per MiB freed moved by ${churner.overheadPercent.toFixed(2)} % with the probe (${churner.eventsPerS.toFixed(0)} erase events/s, the loader's share ${((100 * churner.loaderMsPerMiB) / churner.cpuMsPerMiBNoProbe).toFixed(2)} %); ${Math.abs(churner.overheadPercent) <= churner.noiseSpreadPercent ? `not distinguishable from the trial-to-trial spread without the probe (${churner.noiseSpreadPercent.toFixed(1)} %): the < 1 % claim is neither shown nor refuted here` : churner.overheadPercent > 1 ? 'the < 1 % claim is missed here' : 'below zero'}`,
    );
  }
  return out;
}
