/**
 * The fallback measured source: bpftrace on the same tracepoints, for machines where the
 * libbpf loader cannot be built but bpftrace is installed.
 *
 * One bpftrace runs for the source's whole life, with a fixed script: bpftrace cannot change
 * its filter while it runs, and compiling a new script for every agent that came or went cost
 * 5–14 % of a 2-core machine (LLVM, a second or two each time). The script's predicate keeps
 * the erasures of this process's descendants down to great-grandchildren (agents are its
 * children: the process runtime execs them from the shell that joins their cgroups), and
 * prints each with its pid, parent and cgroup; which of those belong to a watched agent is
 * decided here, in user space, from the watched set as it was when the erasure happened
 * (`nsecs`, CLOCK_MONOTONIC). An agent is seen from its `watch` on, once bpftrace has attached
 * (`settled()` resolves then).
 *
 * Costs: one printf line per event through the perf buffer, parsed as text here, for every
 * descendant, watched or not. bpftrace loses events at high rates unless its perf buffer is
 * raised (`BPFTRACE_PERF_RB_PAGES`, set here); it reports losses as "Lost N events" lines,
 * which are counted.
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
  /** Called when bpftrace fails to attach or dies. */
  readonly onFailure?: (error: Error) => void;
  /** How long to wait for the script to attach, ms. @default 30000 */
  readonly startTimeoutMs?: number;
  /** Whose descendants are traced. @default process.pid */
  readonly ancestorTgid?: number;
}

function kindOf(code: number): EraseKindName | undefined {
  switch (code) {
    case 0: return 'munmap';
    case 4: return 'madvise-dontneed';
    case 8: return 'madvise-free';
    case 9: return 'madvise-remove';
    default: return undefined;
  }
}

/** The bpftrace script: erasures by the descendants of `ancestor`, three generations deep (exported for tests). */
export function bpftraceScript(ancestor: number): string {
  const who = [
    `curtask->real_parent->tgid == ${String(ancestor)}`,
    `curtask->real_parent->real_parent->tgid == ${String(ancestor)}`,
    `curtask->real_parent->real_parent->real_parent->tgid == ${String(ancestor)}`,
  ].join(' || ');
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
/** How long an unwatched agent's records stay, for erasures it made before `unwatch` that are still in the pipe, ms. */
const LINGER_MS = 2000;

/** A watched agent, and the window of time its erasures count in (ns, CLOCK_MONOTONIC). */
interface Watch {
  readonly agentId: string;
  readonly tgid: number;
  readonly cgroups: readonly number[];
  readonly fromNs: number;
  untilNs: number;
}

export class BpftraceEntropySource implements EntropySource {
  readonly #options: BpftraceSourceOptions;
  readonly #agents = new Map<string, Watch>();
  readonly #byTgid = new Map<number, Watch>();
  readonly #byCgroup = new Map<number, Watch>();
  readonly #child: ChildProcessByStdio<null, Readable, Readable>;
  readonly #attached: Promise<void>;
  #events: EraseEvent[] = [];
  #stderr = '';
  #ready = false;
  #onReady: () => void = () => undefined;
  /** bpftrace's CPU as last read, s (kept after it exits: a reaped process leaves nothing in /proc). */
  #cpuS = 0;
  #lost = 0;
  #failure: Error | undefined;
  #closed = false;

  constructor(options: BpftraceSourceOptions = {}) {
    this.#options = options;
    this.#child = spawn(options.bpftracePath ?? 'bpftrace', ['-e', bpftraceScript(options.ancestorTgid ?? process.pid)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, BPFTRACE_PERF_RB_PAGES: String(options.perfRbPages ?? 4096) },
    });
    this.#child.stderr.on('data', (chunk: Buffer) => { this.#stderr = (this.#stderr + chunk.toString('utf8')).slice(-2000); });
    this.#child.on('error', (err) => { this.#fail(new Error(`bpftrace could not start: ${err.message}`)); });
    createInterface({ input: this.#child.stdout }).on('line', (line) => { this.#line(line); });
    this.#attached = this.#waitForAttach();
    // A failure is reported through onFailure and provenance(); settled() must not reject.
    this.#attached.catch((err: unknown) => { this.#fail(err instanceof Error ? err : new Error(String(err))); });
    this.#child.once('exit', (code, signal) => {
      if (!this.#closed && this.#ready) this.#fail(new Error(`bpftrace exited (${signal ?? `status ${String(code)}`}): ${this.#stderr.trim()}`));
    });
  }

  provenance(): EntropyProvenance {
    const base = 'bpftrace printf of sys_enter_munmap, sys_enter_madvise (no brk), one script for the daemon\'s life, filtered by agent here';
    return { source: this.#failure === undefined ? base : `${base}; failed: ${this.#failure.message}`, quality: 'measured', lostEvents: this.#lost };
  }

  watch(agent: WatchedAgent): void {
    this.unwatch(agent.agentId);
    const cgroups = (agent.cgroupDirs ?? []).map(cgroupIdOf).filter((id): id is number => id !== undefined);
    const watch: Watch = { agentId: agent.agentId, tgid: agent.pid, cgroups, fromNs: nowNs(), untilNs: Number.POSITIVE_INFINITY };
    this.#agents.set(agent.agentId, watch);
    this.#byTgid.set(agent.pid, watch);
    for (const c of cgroups) this.#byCgroup.set(c, watch);
  }

  unwatch(agentId: string): void {
    const watch = this.#agents.get(agentId);
    if (watch === undefined) return;
    this.#agents.delete(agentId);
    watch.untilNs = nowNs();
    // Erasures from before now may still be in bpftrace's buffer: the records stay a little while.
    setTimeout(() => { this.#forget(watch); }, LINGER_MS).unref();
  }

  /** Resolves once bpftrace has attached (or failed to: provenance() says so). */
  settled(): Promise<void> {
    return this.#attached.catch(() => undefined);
  }

  drain(): readonly EraseEvent[] {
    const out = this.#events;
    if (out.length === 0) return NO_EVENTS;
    this.#events = [];
    return out;
  }

  /** CPU seconds bpftrace has used (its compile at start included). */
  helperCpuS(): number {
    this.#cpuS = Math.max(this.#cpuS, processCpuS(this.#child.pid));
    return this.#cpuS;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const poll = setInterval(() => { this.helperCpuS(); }, 20);
    try {
      this.helperCpuS();
      await stop(this.#child);
    } finally {
      clearInterval(poll);
    }
  }

  #forget(watch: Watch): void {
    if (this.#byTgid.get(watch.tgid) === watch) this.#byTgid.delete(watch.tgid);
    for (const c of watch.cgroups) if (this.#byCgroup.get(c) === watch) this.#byCgroup.delete(c);
  }

  /** Resolves at bpftrace's READY line; rejects if it exits first or the timeout passes. */
  #waitForAttach(): Promise<void> {
    const timeoutMs = this.#options.startTimeoutMs ?? 30_000;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { this.#child.kill('SIGKILL'); reject(new Error(`bpftrace did not attach within ${String(timeoutMs)} ms: ${this.#stderr.trim()}`)); }, timeoutMs);
      this.#onReady = () => {
        clearTimeout(timer);
        resolve();
      };
      this.#child.once('exit', (code) => {
        clearTimeout(timer);
        if (!this.#ready) reject(new Error(`bpftrace exited with status ${String(code)} before attaching: ${this.#stderr.trim()}`));
      });
    });
  }

  #line(line: string): void {
    if (line.startsWith('E ')) {
      const f = line.split(' ');
      const tsNs = Number(f[7]);
      const tgid = Number(f[1]);
      const watch = this.#byTgid.get(tgid) ?? this.#byTgid.get(Number(f[6])) ?? this.#byCgroup.get(Number(f[3]));
      if (watch === undefined || !(tsNs >= watch.fromNs && tsNs < watch.untilNs)) return;
      const kind = kindOf(Number(f[5]));
      const len = Number(f[4]);
      if (kind === undefined || !(len > 0)) return;
      this.#events.push({ agentId: watch.agentId, pid: tgid, bytes: Math.ceil(len / PAGE) * PAGE, kind, atMs: tsNs / 1e6 });
    } else if (line === 'READY') {
      this.#ready = true;
      this.#onReady();
    } else {
      const lost = /^Lost (\d+) events/.exec(line);
      if (lost !== null) this.#lost += Number(lost[1]);
    }
  }

  #fail(error: Error): void {
    if (this.#failure !== undefined || this.#closed) return;
    this.#failure = error;
    this.#options.onFailure?.(error);
  }
}

function stop(child: ChildProcessByStdio<null, Readable, Readable>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGINT');
  });
}
