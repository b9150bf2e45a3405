/**
 * The fallback measured source: bpftrace on the same tracepoints, for machines where the
 * libbpf loader cannot be built but bpftrace is installed.
 *
 * bpftrace cannot change its filter while it runs, so the watched set is baked into the
 * script's predicate (tgids, their direct children, cgroup ids) and a new bpftrace replaces
 * the old one when the set changes. The hand-over is exact: both share CLOCK_MONOTONIC
 * (`nsecs`), so once the new one is attached at time T the old one's records before T and the
 * new one's from T on are kept, and the old one is stopped a moment later. Erasures in the
 * second or two bpftrace takes to compile and attach a new script are seen only if the old
 * script already covered the process; a newly watched agent is seen from when its script is
 * attached (`settled()` resolves then).
 *
 * Costs: one printf line per event through the perf buffer, parsed as text here. bpftrace
 * loses events at high rates unless its perf buffer is raised (`BPFTRACE_PERF_RB_PAGES`, set
 * here); it reports losses as "Lost N events" lines, which are counted.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { NO_EVENTS, type EntropyProvenance, type EntropySource, type EraseEvent, type WatchedAgent } from '../../market/entropy.js';
import { processCpuS } from '../../telemetry/procfs/machine-load.js';
import { cgroupIdOf } from './ebpf-source.js';
import type { EraseKindName } from './frames.js';

export interface BpftraceSourceOptions {
  /** @default 'bpftrace' */
  readonly bpftracePath?: string;
  /** Perf buffer pages per CPU for bpftrace's output. @default 4096 (16 MiB per CPU) */
  readonly perfRbPages?: number;
  /** Called when a bpftrace run fails to attach or dies. */
  readonly onFailure?: (error: Error) => void;
  /** How long to wait for a script to attach, ms. @default 30000 */
  readonly startTimeoutMs?: number;
}

type Run = {
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  /** Records from this run count from this time (ns, CLOCK_MONOTONIC) on… */
  fromNs: number;
  /** …until this one. */
  untilNs: number;
  ready: boolean;
  stderr: string;
};

function kindOf(code: number): EraseKindName | undefined {
  switch (code) {
    case 0: return 'munmap';
    case 4: return 'madvise-dontneed';
    case 8: return 'madvise-free';
    case 9: return 'madvise-remove';
    default: return undefined;
  }
}

/** The bpftrace script for a watched set (exported for tests). */
export function bpftraceScript(tgids: readonly number[], cgroupIds: readonly number[]): string {
  const terms = [
    ...tgids.map((t) => `pid == ${t}`),
    ...tgids.map((t) => `curtask->real_parent->tgid == ${t}`),
    ...cgroupIds.map((c) => `cgroup == ${c}`),
  ];
  const who = terms.length === 0 ? '0' : terms.join(' || ');
  const fields = 'pid, tid, cgroup';
  return [
    'BEGIN { printf("READY\\n"); }',
    `tracepoint:syscalls:sys_enter_munmap /${who}/ { printf("E %d %d %llu %lu 0 %d %llu\\n", ${fields}, args->len, curtask->real_parent->tgid, nsecs); }`,
    `tracepoint:syscalls:sys_enter_madvise /(args->behavior == 4 || args->behavior == 8 || args->behavior == 9) && (${who})/ { printf("E %d %d %llu %lu %d %d %llu\\n", ${fields}, args->len_in, args->behavior, curtask->real_parent->tgid, nsecs); }`,
    '',
  ].join('\n');
}

const PAGE = 4096;
const nowNs = (): number => Number(process.hrtime.bigint());

export class BpftraceEntropySource implements EntropySource {
  readonly #options: BpftraceSourceOptions;
  readonly #agents = new Map<string, { tgid: number; cgroups: number[] }>();
  readonly #byTgid = new Map<number, string>();
  readonly #byCgroup = new Map<number, string>();
  #events: EraseEvent[] = [];
  /** CPU of bpftrace runs already replaced or stopped, s (read just before each was stopped). */
  #retiredCpuS = 0;
  /** Runs being stopped, with their CPU as last read. */
  readonly #stopping = new Set<{ cpuS: number }>();
  #current: Run | undefined;
  #lost = 0;
  #failure: Error | undefined;
  #restart: NodeJS.Timeout | undefined;
  #waiters: (() => void)[] = [];
  #chain: Promise<void> = Promise.resolve();
  #restartPending = false;
  #closed = false;

  constructor(options: BpftraceSourceOptions = {}) {
    this.#options = options;
  }

  provenance(): EntropyProvenance {
    const base = 'bpftrace printf of sys_enter_munmap, sys_enter_madvise (no brk)';
    return { source: this.#failure === undefined ? base : `${base}; failed: ${this.#failure.message}`, quality: 'measured', lostEvents: this.#lost };
  }

  watch(agent: WatchedAgent): void {
    const cgroups = (agent.cgroupDirs ?? []).map(cgroupIdOf).filter((id): id is number => id !== undefined);
    this.#agents.set(agent.agentId, { tgid: agent.pid, cgroups });
    this.#byTgid.set(agent.pid, agent.agentId);
    for (const c of cgroups) this.#byCgroup.set(c, agent.agentId);
    this.#schedule();
  }

  unwatch(agentId: string): void {
    const agent = this.#agents.get(agentId);
    if (agent === undefined) return;
    this.#agents.delete(agentId);
    // Attribution maps keep the agent until the script without it is attached.
    this.#schedule();
  }

  /** Resolves when the running script covers the watched set as it is now. */
  settled(): Promise<void> {
    if (!this.#restartPending) return this.#chain;
    return new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  drain(): readonly EraseEvent[] {
    const out = this.#events;
    if (out.length === 0) return NO_EVENTS;
    this.#events = [];
    return out;
  }

  /** CPU seconds of every bpftrace run so far: live and stopping ones from /proc, ended ones as last read. */
  helperCpuS(): number {
    let cpu = this.#retiredCpuS + processCpuS(this.#current?.child.pid);
    for (const run of this.#stopping) cpu += run.cpuS;
    return cpu;
  }

  /** Stops a run, reading its CPU until it has exited (a reaped process leaves nothing in /proc). */
  async #retire(run: Run): Promise<void> {
    const stopping = { cpuS: processCpuS(run.child.pid) };
    this.#stopping.add(stopping);
    const poll = setInterval(() => { stopping.cpuS = Math.max(stopping.cpuS, processCpuS(run.child.pid)); }, 20);
    try {
      await stop(run);
    } finally {
      clearInterval(poll);
      this.#stopping.delete(stopping);
      this.#retiredCpuS += stopping.cpuS;
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#restart);
    this.#restartPending = false;
    for (const w of this.#waiters.splice(0)) w();
    await this.#chain;
    const run = this.#current;
    this.#current = undefined;
    if (run !== undefined) await this.#retire(run);
  }

  #schedule(): void {
    if (this.#closed) return;
    clearTimeout(this.#restart);
    this.#restartPending = true;
    // Coalesce a burst of watch changes into one restart; restarts run one at a time.
    this.#restart = setTimeout(() => {
      this.#restartPending = false;
      const waiters = this.#waiters.splice(0);
      this.#chain = this.#chain.then(() => this.#replace()).finally(() => { for (const w of waiters) w(); });
    }, 20);
  }

  async #replace(): Promise<void> {
    const tgids = [...this.#agents.values()].map((a) => a.tgid);
    const cgroups = [...this.#agents.values()].flatMap((a) => a.cgroups);
    const old = this.#current;
    if (tgids.length === 0 && cgroups.length === 0) {
      this.#current = undefined;
      if (old !== undefined) await this.#retire(old);
      this.#prune();
      return;
    }
    const next = this.#spawn(bpftraceScript(tgids, cgroups));
    try {
      await this.#ready(next);
    } catch (err) {
      this.#fail(err as Error);
      return;
    }
    const switchNs = nowNs();
    next.fromNs = switchNs;
    if (old !== undefined) {
      old.untilNs = switchNs;
      // Let the old run's last lines (before the switch) arrive, then stop it.
      setTimeout(() => { void this.#retire(old); }, 250);
    }
    this.#current = next;
    this.#prune();
  }

  #prune(): void {
    const live = new Set(this.#agents.keys());
    for (const [tgid, id] of this.#byTgid) if (!live.has(id)) this.#byTgid.delete(tgid);
    for (const [cg, id] of this.#byCgroup) if (!live.has(id)) this.#byCgroup.delete(cg);
  }

  #spawn(script: string): Run {
    const child = spawn(this.#options.bpftracePath ?? 'bpftrace', ['-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, BPFTRACE_PERF_RB_PAGES: String(this.#options.perfRbPages ?? 4096) },
    });
    const run: Run = { child, fromNs: Number.POSITIVE_INFINITY, untilNs: Number.POSITIVE_INFINITY, ready: false, stderr: '' };
    child.stderr.on('data', (chunk: Buffer) => { run.stderr = (run.stderr + chunk.toString('utf8')).slice(-2000); });
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => { this.#line(run, line); });
    child.once('exit', (code, signal) => {
      if (this.#current === run && !this.#closed) this.#fail(new Error(`bpftrace exited (${signal ?? `status ${String(code)}`}): ${run.stderr.trim()}`));
    });
    return run;
  }

  #ready(run: Run): Promise<void> {
    const timeoutMs = this.#options.startTimeoutMs ?? 30_000;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { run.child.kill('SIGKILL'); reject(new Error(`bpftrace did not attach within ${timeoutMs} ms: ${run.stderr.trim()}`)); }, timeoutMs);
      const check = setInterval(() => {
        if (run.ready) {
          clearInterval(check);
          clearTimeout(timer);
          resolve();
        }
      }, 5);
      run.child.once('exit', (code) => {
        clearInterval(check);
        clearTimeout(timer);
        if (!run.ready) reject(new Error(`bpftrace exited with status ${String(code)} before attaching: ${run.stderr.trim()}`));
      });
    });
  }

  #line(run: Run, line: string): void {
    if (line.startsWith('E ')) {
      const f = line.split(' ');
      const tsNs = Number(f[7]);
      if (!(tsNs >= run.fromNs && tsNs < run.untilNs)) return;
      const tgid = Number(f[1]);
      const kind = kindOf(Number(f[5]));
      if (kind === undefined) return;
      const agentId = this.#byTgid.get(tgid) ?? this.#byTgid.get(Number(f[6])) ?? this.#byCgroup.get(Number(f[3]));
      if (agentId === undefined) return;
      const len = Number(f[4]);
      if (!(len > 0)) return;
      this.#events.push({ agentId, pid: tgid, bytes: Math.ceil(len / PAGE) * PAGE, kind, atMs: tsNs / 1e6 });
    } else if (line === 'READY') {
      run.ready = true;
    } else {
      const lost = /^Lost (\d+) events/.exec(line);
      if (lost !== null) this.#lost += Number(lost[1]);
    }
  }

  #fail(error: Error): void {
    if (this.#failure !== undefined) return;
    this.#failure = error;
    this.#options.onFailure?.(error);
  }
}

function stop(run: Run): Promise<void> {
  if (run.child.exitCode !== null || run.child.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => run.child.kill('SIGKILL'), 3000);
    run.child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    run.child.kill('SIGINT');
  });
}
