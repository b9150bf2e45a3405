/**
 * The soak (docs/RELIABILITY.md): `maxwell run` as a user starts it, a population of real agents
 * held at a target size for a long time with churn (agents spawned, going broke, stopped by the
 * operator, topped up), and the daemon watched from outside as a monitoring system would: its
 * RSS and open descriptors from /proc, its heap and tick timings from `/metrics`, its ledger from
 * the file. At the end the daemon is stopped and checked: the ledger verifies and conserves
 * joules, every agent that ever ran is settled, nothing is left frozen or running.
 *
 * The agents are `soak-agent` processes (native/agents/soak-agent.c, about 1 MiB each: scientists
 * reporting primes found by trial division, leeches burning CPU) and a share of WASM scientists.
 */
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AgentView, SpawnRequest } from '../api/control.js';
import { SoakError, toError } from '../errors.js';
import { counterIncrease, histogramBuckets, parseScrape, sampleSum, seriesWith, windowOf, type Scrape } from '../telemetry/prometheus-text.js';
import { processCpuS } from '../telemetry/procfs/machine-load.js';
import { MAXWELL_BIN, stopDaemonChild, tailOf, waitForDaemon } from './daemon-child.js';
import { cpuBursts, type CpuBursts } from './soak-bursts.js';
import { checkAfterStop, type AfterStop } from './soak-checks.js';

export interface SoakOptions {
  /** Agents kept alive (the population the churn refills). */
  readonly agents: number;
  readonly durationS: number;
  /** Seconds after the ramp that the flatness goals ignore (allocator and JIT warm-up). */
  readonly warmupS: number;
  readonly sampleS: number;
  /** Seconds between the operator's rounds: refill, one stop, two top-ups. */
  readonly churnEveryS: number;
  /** Share of leeches among new agents (0–1). */
  readonly leechShare: number;
  /** Share of WASM scientists among new agents (0–1). */
  readonly wasmShare: number;
  readonly agentBinary: string;
  readonly wasmModule: string;
  /** Holds the daemon's state, ledger and sockets. */
  readonly workDir: string;
  /** The daemon's environment (its configuration through MAXWELL_* variables). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Spawn requests in flight at once. @default 4 */
  readonly spawnConcurrency?: number;
  readonly onProgress?: (index: number, total: number, label: string) => void;
  readonly signal?: AbortSignal;
}

/** One sample of the daemon, taken from outside it. */
export interface SoakSample {
  /** Seconds since the daemon answered. */
  readonly tS: number;
  readonly rssMiB: number;
  readonly heapUsedMiB: number;
  /** Memory V8 tracks outside its heap (Buffers, ArrayBuffers), MiB. */
  readonly externalMiB: number;
  readonly fds: number;
  /** The daemon's CPU since the last sample, fraction of one core (WASM agents, its threads, included). */
  readonly cpu: number;
  readonly agentsAlive: number;
  /** Agents in phase running at the scrape (the rest are paused, starting or dying). */
  readonly agentsRunning: number;
  /** Quanta the auction sold, and primes the oracle verified, since the last sample. */
  readonly quantaSold: number;
  readonly primesVerified: number;
  readonly spawnedTotal: number;
  readonly deadTotal: number;
  /** Of the ticks since the last sample: bucket upper edges at p50 and p99, ms. */
  readonly latenessP50Ms: number;
  readonly latenessP99Ms: number;
  readonly clearingP99Ms: number;
  readonly ledgerCommitP99Ms: number;
  readonly ledgerEntries: number;
  /** The ledger file and its write-ahead log, MiB. */
  readonly ledgerMiB: number;
  readonly failedTicks: number;
  /** Grid points the tick loop skipped since the last sample (a tick that ran past them): counted as late. */
  readonly missedTicks: number;
  /** How long `/metrics` took to answer, ms. */
  readonly scrapeMs: number;
}

export interface SoakVerdict {
  readonly goal: string;
  readonly measured: string;
  readonly pass: boolean;
}

export interface SoakReport {
  readonly generatedAt: string;
  readonly options: Pick<SoakOptions, 'agents' | 'durationS' | 'warmupS' | 'sampleS' | 'churnEveryS' | 'leechShare' | 'wasmShare'>;
  readonly cores: number;
  readonly provenance: string;
  readonly rampS: number;
  readonly stoppedEarly: boolean;
  readonly samples: readonly SoakSample[];
  readonly counts: { readonly spawned: number; readonly spawnFailures: number; readonly died: Readonly<Record<string, number>>; readonly stoppedByOperator: number; readonly toppedUp: number; readonly peakAlive: number };
  /** After warm-up: windows whose daemon CPU is above twice the median, against the others (what the daemon was doing). */
  readonly cpuBursts: CpuBursts;
  readonly afterWarmup: { readonly ticks: number; readonly missedTicks: number; readonly latenessP99Ms: number; readonly atMost5Ms: number; readonly atMost10Ms: number; readonly rssGrowth: number; readonly fdsGrowth: number; readonly heapGrowth: number };
  readonly afterStop: AfterStop;
  readonly verdicts: readonly SoakVerdict[];
  readonly warnings: readonly string[];
}

interface Population {
  alive: Map<string, AgentView>;
  readonly dead: Set<string>;
  readonly diedBy: Map<string, number>;
  spawned: number;
  spawnFailures: number;
  pending: number;
  stopped: number;
  toppedUp: number;
  peakAlive: number;
  next: number;
}

const GOLDEN = 0.618_033_988_749_895;

/** The spawn request of agent `index`: its role, runtime, wallet and bid follow from the index alone. */
export function soakAgentRequest(index: number, options: Pick<SoakOptions, 'leechShare' | 'wasmShare' | 'agentBinary' | 'wasmModule'>): SpawnRequest {
  // Low-discrepancy shares and bids: reproducible, and spread without a random generator.
  const leech = (index * GOLDEN) % 1 < options.leechShare;
  const wasm = !leech && ((index * GOLDEN * GOLDEN) % 1) < options.wasmShare;
  // Bids around the reserve price of a quantum (the experiment's scientists bid 2 J, its leeches 3 J).
  const bid = { pricePerQuantumJ: Math.round((0.5 + 2.5 * ((index * Math.SQRT2) % 1)) * 100) / 100 };
  const id = `soak-${leech ? 'l' : wasm ? 'w' : 's'}${String(index)}`;
  // Scientists search apart: 2⁴⁰ + index·2³⁰ (the WASM module takes f64 numbers, exact below 2⁵³).
  const start = String(2 ** 40 + index * 2 ** 30);
  if (leech) return { id, role: 'leech', command: options.agentBinary, args: ['leech'], walletJ: 200, bid };
  if (wasm) return { id, role: 'scientist', runtime: 'wasm', command: options.wasmModule, args: ['', start], walletJ: 2000, bid };
  return { id, role: 'scientist', command: options.agentBinary, args: ['scientist', start], walletJ: 2000, bid };
}

/** Least-squares growth of `values` over `t`: the fitted line's rise over the span ÷ its value at the start. */
export function linearGrowth(t: readonly number[], values: readonly number[]): number {
  const n = Math.min(t.length, values.length);
  if (n < 2) return Number.NaN;
  let mt = 0;
  let mv = 0;
  for (let i = 0; i < n; i++) {
    mt += (t[i] as number) / n;
    mv += (values[i] as number) / n;
  }
  let cov = 0;
  let varT = 0;
  for (let i = 0; i < n; i++) {
    cov += ((t[i] as number) - mt) * ((values[i] as number) - mv);
    varT += ((t[i] as number) - mt) ** 2;
  }
  if (varT === 0) return Number.NaN;
  const slope = cov / varT;
  const t0 = t[0] as number;
  const start = mv + slope * (t0 - mt);
  return start === 0 ? Number.NaN : (slope * ((t[n - 1] as number) - t0)) / start;
}

function procStatus(pid: number): { rssMiB: number; fds: number; cpuS: number } {
  const status = readFileSync(`/proc/${String(pid)}/status`, 'utf8');
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return { rssMiB: rssKiB / 1024, fds: readdirSync(`/proc/${String(pid)}/fd`).length, cpuS: processCpuS(pid) };
}

function fileMiB(path: string): number {
  let bytes = 0;
  for (const p of [path, `${path}-wal`]) {
    try {
      bytes += statSync(p).size;
    } catch {
      // No WAL yet.
    }
  }
  return bytes / 2 ** 20;
}

const ms = (seconds: number): number => seconds * 1000;

/** A fraction as a percentage with one decimal, or n/a. */
export function percentText(x: number): string {
  return Number.isFinite(x) ? `${(x * 100).toFixed(1)} %` : 'n/a';
}

/** Runs the soak; the daemon is stopped and checked before this returns, also when aborted. */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const stateDir = join(options.workDir, 'state');
  const ledgerPath = join(options.workDir, 'ledger.sqlite');
  const child = spawn(process.execPath, [MAXWELL_BIN, 'run', '--port', '0', '--state-dir', stateDir, '--db', ledgerPath], {
    env: { ...options.env, MAXWELL_DAEMON__RUNTIME_DIR: join(options.workDir, 'run'), MAXWELL_LEDGER__KEY_PATH: join(options.workDir, 'node-key.pem') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = tailOf(child);
  const warnings: string[] = [];
  const population: Population = { alive: new Map(), dead: new Set(), diedBy: new Map(), spawned: 0, spawnFailures: 0, pending: 0, stopped: 0, toppedUp: 0, peakAlive: 0, next: 0 };
  const samples: SoakSample[] = [];
  let stoppedEarly = false;
  let rampS: number;
  let warmScrape: Scrape | null = null;
  let lastScrape: Scrape | null;
  try {
    const { client, url, token } = await waitForDaemon(join(stateDir, 'daemon.json'), child, { timeoutMs: 60_000, log, fail: (why) => new SoakError(`the daemon did not start: ${why}`) });
    const pid = child.pid as number;
    const scrape = async (): Promise<{ scrape: Scrape; ms: number }> => {
      const started = performance.now();
      const response = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      if (!response.ok) throw new SoakError(`/metrics answered ${String(response.status)}`);
      return { scrape: parseScrape(await response.text()), ms: performance.now() - started };
    };
    const t0 = performance.now();
    const elapsedS = (): number => (performance.now() - t0) / 1000;
    const limit = options.spawnConcurrency ?? 4;

    const spawnOne = async (): Promise<void> => {
      const request = soakAgentRequest(population.next++, options);
      population.pending++;
      try {
        const view = await client.spawnAgent(request);
        population.spawned++;
        if (!population.dead.has(view.id)) population.alive.set(view.id, view);
      } catch (err) {
        population.spawnFailures++;
        if (population.spawnFailures <= 5) warnings.push(`spawn of ${request.id ?? '?'} failed: ${toError(err).message}`);
      } finally {
        population.pending--;
      }
    };
    const refill = async (max: number): Promise<void> => {
      const wanted = Math.min(max, options.agents - population.alive.size - population.pending);
      const queue = Array.from({ length: Math.max(0, wanted) }, () => spawnOne);
      await Promise.all(Array.from({ length: Math.min(limit, queue.length) }, async () => {
        for (let job = queue.pop(); job !== undefined; job = queue.pop()) await job();
      }));
    };
    const census = async (): Promise<void> => {
      const agents = await client.listAgents();
      const alive = new Map<string, AgentView>();
      for (const a of agents) {
        if (a.phase !== 'dead') alive.set(a.id, a);
        else if (!population.dead.has(a.id)) {
          population.dead.add(a.id);
          const cause = a.ended?.reason ?? 'unknown';
          population.diedBy.set(cause, (population.diedBy.get(cause) ?? 0) + 1);
        }
      }
      population.alive = alive;
      population.peakAlive = Math.max(population.peakAlive, alive.size);
    };
    /** The operator's round: stop one agent, top up the two poorest scientists by 100 J, refill. */
    const churn = async (round: number): Promise<void> => {
      await census();
      const ids = [...population.alive.keys()];
      const victim = ids[(round * 7919) % Math.max(1, ids.length)];
      if (victim !== undefined) {
        await client.stopAgent(victim).then(() => { population.stopped++; }, () => undefined);
      }
      const poorest = [...population.alive.values()].filter((a) => a.role === 'scientist' && a.id !== victim).sort((a, b) => a.balanceJ - b.balanceJ).slice(0, 2);
      for (const a of poorest) await client.topUp(a.id, 100).then(() => { population.toppedUp++; }, () => undefined);
      await refill(Math.max(8, Math.ceil(options.agents / 50)));
    };

    // The ramp: the whole population, `limit` spawns at a time.
    options.onProgress?.(0, options.agents, `spawning ${String(options.agents)} agents`);
    const ramp = refill(options.agents);
    while (population.spawned + population.spawnFailures < options.agents && !options.signal?.aborted) {
      await Promise.race([ramp, sleep(1000)]);
      options.onProgress?.(population.spawned + population.spawnFailures, options.agents, `spawning: ${String(population.spawned)} of ${String(options.agents)} started`);
      if (population.spawnFailures > options.agents / 2) throw new SoakError(`most spawns failed; the first: ${warnings.join('; ')}`);
    }
    await ramp;
    rampS = elapsedS();

    // The soak itself, timed from the end of the ramp.
    const soakStart = performance.now();
    const soakS = (): number => (performance.now() - soakStart) / 1000;
    let nextSample = 0;
    let nextChurn = options.churnEveryS;
    let round = 0;
    let cpuBefore = procStatus(pid).cpuS;
    let cpuAt = performance.now();
    lastScrape = (await scrape()).scrape;
    while (soakS() < options.durationS) {
      if (options.signal?.aborted === true) {
        stoppedEarly = true;
        break;
      }
      await sleep(Math.max(10, ms(Math.min(nextSample, nextChurn) - soakS())));
      if (soakS() >= nextChurn) {
        nextChurn += options.churnEveryS;
        await churn(round++);
      }
      if (soakS() >= nextSample) {
        nextSample += options.sampleS;
        const { scrape: now, ms: scrapeMs } = await scrape();
        const proc = procStatus(pid);
        const cpuNow = performance.now();
        const lateness = windowOf(lastScrape, now, 'maxwell_tick_lateness_seconds');
        samples.push({
          tS: soakS(),
          rssMiB: proc.rssMiB,
          heapUsedMiB: sampleSum(now, 'nodejs_heap_size_used_bytes') / 2 ** 20,
          externalMiB: sampleSum(now, 'nodejs_external_memory_bytes') / 2 ** 20,
          fds: proc.fds,
          cpu: (proc.cpuS - cpuBefore) / ((cpuNow - cpuAt) / 1000),
          agentsAlive: population.alive.size,
          agentsRunning: seriesWith(now, 'maxwell_agent_phase', 'phase="running"'),
          quantaSold: counterIncrease(lastScrape, now, 'maxwell_quanta_sold_total'),
          primesVerified: counterIncrease(lastScrape, now, 'maxwell_agent_verified_primes_total'),
          spawnedTotal: population.spawned,
          deadTotal: population.dead.size,
          latenessP50Ms: lateness.quantile(0.5) * 1000,
          latenessP99Ms: lateness.quantile(0.99) * 1000,
          clearingP99Ms: windowOf(lastScrape, now, 'maxwell_clearing_duration_seconds').quantile(0.99) * 1000,
          ledgerCommitP99Ms: windowOf(lastScrape, now, 'maxwell_ledger_commit_duration_seconds').quantile(0.99) * 1000,
          ledgerEntries: sampleSum(now, 'maxwell_ledger_entries'),
          ledgerMiB: fileMiB(ledgerPath),
          failedTicks: sampleSum(now, 'maxwell_failed_ticks_total'),
          missedTicks: sampleSum(now, 'maxwell_missed_ticks_total') - sampleSum(lastScrape, 'maxwell_missed_ticks_total'),
          scrapeMs,
        });
        cpuBefore = proc.cpuS;
        cpuAt = cpuNow;
        lastScrape = now;
        if (warmScrape === null && soakS() >= options.warmupS) warmScrape = now;
        options.onProgress?.(Math.min(options.durationS, Math.round(soakS())), options.durationS, `soak: ${String(population.alive.size)} agents alive, RSS ${proc.rssMiB.toFixed(0)} MiB, tick p99 ≤ ${(lateness.quantile(0.99) * 1000).toFixed(1)} ms`);
      }
    }
    await census();
  } finally {
    await stopDaemonChild(child, 60_000);
  }
  if (child.exitCode !== 0) warnings.push(`the daemon exited with ${String(child.exitCode ?? child.signalCode)}: ${log().slice(-500)}`);
  const afterStop = checkAfterStop({ ledgerPath, daemonPid: child.pid ?? -1, agentIds: [...population.alive.keys(), ...population.dead], bin: MAXWELL_BIN, agentBinary: options.agentBinary, workDir: options.workDir });
  return buildReport(options, { samples, population, warmScrape, lastScrape, rampS, stoppedEarly, afterStop, warnings });
}

function buildReport(
  options: SoakOptions,
  run: { samples: SoakSample[]; population: Population; warmScrape: Scrape | null; lastScrape: Scrape | null; rampS: number; stoppedEarly: boolean; afterStop: AfterStop; warnings: string[] },
): SoakReport {
  const warm = run.samples.filter((s) => s.tS >= options.warmupS);
  const growth = (pick: (s: SoakSample) => number): number => linearGrowth(warm.map((s) => s.tS), warm.map(pick));
  const lateness = run.lastScrape === null ? null : windowOf(run.warmScrape, run.lastScrape, 'maxwell_tick_lateness_seconds');
  const hasEdge = (edge: number): boolean => run.lastScrape !== null && histogramBuckets(run.lastScrape, 'maxwell_tick_lateness_seconds').some((b) => b.le === edge);
  // A skipped grid point is a tick later than any bucket: it counts against the fractions on time.
  const missed = warm.reduce((n, s) => n + (Number.isFinite(s.missedTicks) ? s.missedTicks : 0), 0);
  const onTime = (edge: number): number => (lateness !== null && hasEdge(edge) ? (lateness.fractionAtMost(edge) * lateness.count) / (lateness.count + missed) : Number.NaN);
  const afterWarmup = {
    ticks: lateness?.count ?? 0,
    missedTicks: missed,
    latenessP99Ms: (lateness?.quantile(0.99) ?? Number.NaN) * 1000,
    atMost5Ms: onTime(0.005),
    atMost10Ms: onTime(0.01),
    rssGrowth: growth((s) => s.rssMiB),
    fdsGrowth: growth((s) => s.fds),
    heapGrowth: growth((s) => s.heapUsedMiB),
  };
  const pct = percentText;
  const last = run.samples.at(-1);
  const verdicts: SoakVerdict[] = [
    { goal: 'RSS flat after warm-up: growth < 5 %', measured: `${pct(afterWarmup.rssGrowth)} (least-squares line over ${String(warm.length)} samples)`, pass: afterWarmup.rssGrowth < 0.05 },
    { goal: 'open file descriptors flat after warm-up: growth < 5 %', measured: pct(afterWarmup.fdsGrowth), pass: afterWarmup.fdsGrowth < 0.05 },
    { goal: 'tick lateness p99 ≤ 5 ms after warm-up', measured: `${pct(afterWarmup.atMost5Ms)} of ${String(afterWarmup.ticks + afterWarmup.missedTicks)} ticks ≤ 5 ms (${String(afterWarmup.missedTicks)} skipped grid points counted as late); p99 in the bucket up to ${afterWarmup.latenessP99Ms.toFixed(1)} ms`, pass: afterWarmup.atMost5Ms >= 0.99 },
    { goal: 'no tick failed', measured: String(last?.failedTicks ?? Number.NaN), pass: last?.failedTicks === 0 },
    { goal: 'ledger verifies and conserves joules after stop (maxwell ledger verify)', measured: run.afterStop.verify, pass: run.afterStop.verifyOk },
    { goal: 'every agent that ran is settled: a settlement row, and a zero balance', measured: `${String(run.afterStop.settled)} of ${String(run.afterStop.agents)} settled${run.afterStop.unsettled.length > 0 ? `; not: ${run.afterStop.unsettled.slice(0, 5).join(', ')}` : ''}`, pass: run.afterStop.unsettled.length === 0 && run.afterStop.agents > 0 },
    { goal: 'nothing left frozen or running after stop', measured: run.afterStop.leftovers.length === 0 ? 'none' : run.afterStop.leftovers.slice(0, 5).join('; '), pass: run.afterStop.leftovers.length === 0 },
  ];
  return {
    generatedAt: new Date().toISOString(),
    options: { agents: options.agents, durationS: options.durationS, warmupS: options.warmupS, sampleS: options.sampleS, churnEveryS: options.churnEveryS, leechShare: options.leechShare, wasmShare: options.wasmShare },
    cores: availableParallelism(),
    provenance: 'MEASURED: RSS, descriptors and CPU from /proc/<daemon pid>; heap, tick lateness, clearing and ledger commit times from the daemon\'s /metrics (histogram buckets: a quantile is the upper edge of its bucket); ledger size from the file',
    rampS: run.rampS,
    stoppedEarly: run.stoppedEarly,
    samples: run.samples,
    counts: {
      spawned: run.population.spawned,
      spawnFailures: run.population.spawnFailures,
      died: Object.fromEntries(run.population.diedBy),
      stoppedByOperator: run.population.stopped,
      toppedUp: run.population.toppedUp,
      peakAlive: run.population.peakAlive,
    },
    cpuBursts: cpuBursts(warm),
    afterWarmup,
    afterStop: run.afterStop,
    verdicts,
    warnings: run.warnings,
  };
}

