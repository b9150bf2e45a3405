/**
 * Research question 1: how long from "pause this agent" to the agent confirmed paused, for
 * every pause mechanism this machine has, against CPU-bound and I/O-bound agents with small
 * and large resident memory. The claim under test: < 10 ms p99, growing with active I/O and
 * not with memory size.
 */
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseAgentId } from '../agent-id.js';
import { InvalidArgumentError } from '../errors.js';
import { detectCgroups } from '../runtimes/process/cgroups.js';
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { ProcessRuntime } from '../runtimes/process/process-runtime.js';
import type { AgentRuntime, AgentSpec, PauseMechanism } from '../runtimes/runtime.js';
import { DEFAULT_VM_GUEST, VmRuntime } from '../runtimes/vm/vm-runtime.js';
import { LatencyHistogram } from '../telemetry/sampler.js';
import { describeMachine, type MachineDescription } from './machine.js';

export type Workload = 'cpu' | 'io';
export type ProcessPauseMechanism = Exclude<PauseMechanism, 'fuel'>;

export interface PauseResearchOptions {
  /** @default 1000 */
  readonly trials?: number;
  readonly mechanisms?: readonly ProcessPauseMechanism[];
  /** @default ['cpu', 'io'] */
  readonly workloads?: readonly Workload[];
  /** Resident memory of the agent, MiB. @default [256, 3072] */
  readonly memoryMiB?: readonly number[];
  readonly onProgress?: (done: number, total: number, label: string) => void;
  readonly signal?: AbortSignal;
}

export interface PauseRow {
  readonly mechanism: PauseMechanism;
  readonly workload: Workload;
  readonly memoryMiB: number;
  readonly trials: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Pauses the kernel confirmed, of all trials. */
  readonly confirmed: number;
  /** Pauses that fell back to SIGSTOP because a freeze was not confirmed in time. */
  readonly fallbacks: number;
}

export interface PauseResearchReport {
  readonly machine: MachineDescription;
  readonly rows: readonly PauseRow[];
  /** Mechanisms not measured, with why. */
  readonly notMeasured: readonly { readonly mechanism: string; readonly why: string }[];
  readonly findings: readonly string[];
}

const SUBJECT = parseAgentId('subject');

const AGENT = (name: string): string => fileURLToPath(new URL(`../agents/${name}.js`, import.meta.url));

function agentFor(workload: Workload, memoryMiB: number, mechanism: PauseMechanism): AgentSpec {
  // A VM's program runs inside the guest; its memory is the guest's RAM (-m).
  if (mechanism === 'qmp-stop') return { id: SUBJECT, command: workload === 'cpu' ? 'busy' : 'io' };
  return workload === 'cpu'
    ? { id: SUBJECT, command: process.execPath, args: [AGENT('leech'), '--hold-mb', String(memoryMiB)] }
    : { id: SUBJECT, command: process.execPath, args: [AGENT('churner'), '--io', '--hold-mb', String(memoryMiB)] };
}

/** Mechanisms this machine offers for processes. */
export function availablePauseMechanisms(): ProcessPauseMechanism[] {
  const layout = detectCgroups();
  const out: ProcessPauseMechanism[] = [];
  if (layout.v2 !== undefined) out.push('cgroup2-freeze');
  if (layout.freezer !== undefined) out.push('cgroup1-freezer');
  out.push('sigstop');
  if (vmAvailable()) out.push('qmp-stop');
  return out;
}

const GUEST = DEFAULT_VM_GUEST;

function vmAvailable(): boolean {
  if (!existsSync(GUEST.kernel) || !existsSync(GUEST.initrd)) return false;
  try {
    execFileSync('qemu-system-x86_64', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function waitForMemory(runtime: AgentRuntime, bytes: number, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    signal?.throwIfAborted();
    const usage = await runtime.usage(SUBJECT);
    // Without a memory cgroup the size is unknown: give the allocation a moment instead.
    if (!Number.isFinite(usage.memoryBytes)) return sleep(Math.min(10_000, 500 + bytes / 2 ** 20));
    if (usage.memoryBytes >= bytes * 0.9) return undefined;
    await sleep(50);
  }
  return undefined;
}

export async function runPauseResearch(options: PauseResearchOptions = {}): Promise<PauseResearchReport> {
  const trials = options.trials ?? 1000;
  if (!Number.isInteger(trials) || trials < 1) throw new InvalidArgumentError(`invalid trials: ${String(trials)}`);
  const mechanisms = options.mechanisms ?? availablePauseMechanisms();
  const workloads = options.workloads ?? ['cpu', 'io'];
  const memories = options.memoryMiB ?? [256, 3072];
  const total = mechanisms.length * workloads.length * memories.length;
  const rows: PauseRow[] = [];
  let done = 0;
  for (const mechanism of mechanisms) {
    for (const workload of workloads) {
      for (const memoryMiB of memories) {
        options.onProgress?.(++done, total, `${mechanism}, ${workload}-bound, ${memoryMiB} MiB`);
        const runtime: AgentRuntime =
          mechanism === 'qmp-stop'
            ? await VmRuntime.create({ ...GUEST, memoryMiB: Math.max(128, memoryMiB), tag: 'pausevm' })
            : await ProcessRuntime.create({ pauseMechanism: mechanism, tag: 'pause' });
        try {
          await runtime.start(agentFor(workload, memoryMiB, mechanism));
          if (mechanism !== 'qmp-stop') await waitForMemory(runtime, memoryMiB * 2 ** 20, options.signal);
          const histogram = new LatencyHistogram();
          let confirmed = 0;
          let fallbacks = 0;
          for (let k = 0; k < trials; k++) {
            options.signal?.throwIfAborted();
            const result = await runtime.pause(SUBJECT);
            histogram.record(result.latencyMs);
            if (result.confirmed) confirmed++;
            if (result.mechanism !== mechanism) fallbacks++;
            await sleep(1);
            await runtime.resume(SUBJECT);
            // Let it run (and, if I/O-bound, get I/O in flight) before the next pause.
            await sleep(3);
          }
          rows.push({ mechanism, workload, memoryMiB, trials, p50Ms: histogram.quantile(0.5), p99Ms: histogram.quantile(0.99), maxMs: histogram.max, confirmed, fallbacks });
        } finally {
          await runtime.close();
        }
      }
    }
  }
  return {
    machine: describeMachine(),
    rows,
    notMeasured: mechanisms.includes('qmp-stop') ? [] : [{ mechanism: 'qmp-stop', why: vmAvailable() ? 'not selected' : 'no QEMU or no guest image (scripts/build-vm-guest.sh)' }],
    findings: findings(rows),
  };
}

/** Plain statements the data supports, computed from it. */
export function findings(rows: readonly PauseRow[]): string[] {
  const out: string[] = [];
  const worst = rows.reduce<PauseRow | undefined>((w, r) => (w === undefined || r.p99Ms > w.p99Ms ? r : w), undefined);
  if (worst !== undefined) {
    out.push(
      worst.p99Ms < 10
        ? `every configuration pauses in under 10 ms at p99 (worst ${worst.p99Ms.toFixed(2)} ms: ${worst.mechanism}, ${worst.workload}-bound, ${worst.memoryMiB} MiB)`
        : `the 10 ms p99 target is missed by ${worst.mechanism}, ${worst.workload}-bound, ${worst.memoryMiB} MiB (${worst.p99Ms.toFixed(2)} ms)`,
    );
  }
  const ratio = (pick: (r: PauseRow) => boolean, other: (r: PauseRow) => boolean): number | undefined => {
    const a = rows.filter(pick);
    const b = rows.filter(other);
    if (a.length === 0 || b.length === 0) return undefined;
    const mean = (xs: PauseRow[]): number => xs.reduce((s, r) => s + r.p50Ms, 0) / xs.length;
    return mean(a) / mean(b);
  };
  const io = ratio((r) => r.workload === 'io', (r) => r.workload === 'cpu');
  if (io !== undefined) out.push(`I/O-bound agents take ${io.toFixed(2)}× the median pause latency of CPU-bound ones`);
  const sizes = [...new Set(rows.map((r) => r.memoryMiB))].sort((a, b) => a - b);
  const small = sizes[0];
  const large = sizes.at(-1);
  if (small !== undefined && large !== undefined && small !== large) {
    const mem = ratio((r) => r.memoryMiB === large, (r) => r.memoryMiB === small);
    if (mem !== undefined) out.push(`${large} MiB agents take ${mem.toFixed(2)}× the median pause latency of ${small} MiB ones`);
  }
  return out;
}
