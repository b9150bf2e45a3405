/**
 * How Maxwell runs agents: one interface, implemented for processes (cgroups), and later
 * WASM modules (worker threads) and VMs (QMP). The auction decides; a runtime enforces —
 * start, pause, resume, share of CPU, pinning, usage, stop — and leaves nothing behind.
 */
import type { AgentId } from '../agent-id.js';
import type { AbortOptions } from '../clock/clock.js';

/** The kinds of agent Maxwell runs. */
export const RUNTIME_KINDS = ['process', 'wasm', 'vm'] as const;
export type RuntimeKind = (typeof RUNTIME_KINDS)[number];

/** What to run. */
export interface AgentSpec {
  /** Unique within the runtime: letters, digits, `-`, `_` (it names cgroups). */
  readonly id: AgentId;
  /**
   * Which runtime runs it, for a runtime that fronts several (`CompositeRuntime`); single
   * runtimes ignore it. @default 'process'
   */
  readonly runtime?: RuntimeKind;
  readonly command: string;
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** Memory cap, bytes (undefined: none). */
  readonly memoryLimitBytes?: number;
  /** CPUs the agent may run on (undefined: all). */
  readonly cores?: readonly number[];
  /** Share of one CPU, e.g. 0.5 or 2 (undefined: unlimited). */
  readonly cpuShare?: number;
  /**
   * Run as this user and group (after joining the agent's cgroups). An unprivileged agent
   * cannot move itself out of its cgroups; an agent running as root can, and is then killed.
   * Undefined: Maxwell's own user.
   */
  readonly runAs?: { readonly uid: number; readonly gid: number };
}

/** How an agent ended. */
export interface AgentExit {
  readonly id: AgentId;
  /** Exit code, or null when killed by a signal. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Why, in Maxwell's terms. */
  readonly reason: 'exited' | 'stopped' | 'killed-after-grace' | 'failed-to-start' | 'runtime-closed' | 'escaped-cgroup' | 'out-of-memory';
}

/** Resource use so far. */
export interface AgentUsage {
  /** CPU time of the agent and all its descendants, s. */
  readonly cpuS: number;
  /** Resident memory of the agent's group, bytes (NaN when unknown). */
  readonly memoryBytes: number;
  readonly minorFaults: number;
  readonly majorFaults: number;
  /** Where the CPU time came from, e.g. `cgroup v1 cpuacct.usage`. */
  readonly cpuSource: string;
}

/** A completed pause: how long from the request to confirmed-paused, and how it was done. */
export interface PauseResult {
  readonly latencyMs: number;
  readonly mechanism: PauseMechanism;
  /** True when the runtime saw the pause take effect (not just asked for it). */
  readonly confirmed: boolean;
}

export type PauseMechanism = 'cgroup2-freeze' | 'cgroup1-freezer' | 'sigstop' | 'qmp-stop' | 'fuel';

export type AgentState = 'running' | 'paused' | 'exited';

export interface AgentInfo {
  readonly id: AgentId;
  readonly pid: number | null;
  readonly state: AgentState;
}

export interface PauseOptions extends AbortOptions {
  /**
   * Wait until the pause (or resume) is seen to take effect, falling back to SIGSTOP when a
   * freeze is not confirmed in time. Default true. The market's routine turn-taking passes
   * false: it only needs the request made (confirmation polls the kernel and costs CPU on the
   * daemon's thread); the emergency path always confirms. Runtimes whose pause is already
   * synchronous ignore it.
   */
  readonly confirm?: boolean;
}

export interface StartOptions extends AbortOptions {
  /**
   * Called with the agent's cgroup directories once they exist and before the agent's program
   * runs; its start waits for the promise (a rejection fails the start). The daemon uses it to
   * watch the groups for memory erasure from the first instruction, where watching a pid after
   * start would miss the first milliseconds. Runtimes without cgroups (WASM) do not call it.
   */
  readonly beforeExec?: (cgroupDirs: readonly string[]) => Promise<void>;
}

/** Cumulative CPU time of a runtime's agents together. */
export interface ManagedCpu {
  readonly totalS: number;
  /** Per CPU, where the counter has it (cgroup v1 cpuacct.usage_percpu); else null. */
  readonly perCpuS: Float64Array | null;
}

/** One runtime. Every method takes an optional abort signal. */
export interface AgentRuntime {
  /** `composite` routes each agent to one of the others. */
  readonly kind: RuntimeKind | 'composite';
  /** Which mechanisms this runtime found and uses, in words. */
  readonly mechanisms: Readonly<Record<string, string>>;
  start(spec: AgentSpec, options?: StartOptions): Promise<AgentInfo>;
  pause(id: AgentId, options?: PauseOptions): Promise<PauseResult>;
  resume(id: AgentId, options?: PauseOptions): Promise<void>;
  setCpuShare(id: AgentId, share: number | null): Promise<void>;
  pin(id: AgentId, cores: readonly number[] | null): Promise<void>;
  usage(id: AgentId): Promise<AgentUsage>;
  /**
   * CPU time all of this runtime's agents have used since it was created, the ended ones
   * included (their parent cgroup's counter), or null where it cannot tell (no such counter,
   * or agents that run inside Maxwell's own process, whose CPU is Maxwell's).
   */
  managedCpu?(): ManagedCpu | null;
  /** SIGTERM (after thawing), then after `graceS` everything left is killed. */
  stop(id: AgentId, options?: AbortOptions & { graceS?: number }): Promise<AgentExit>;
  info(id: AgentId): AgentInfo;
  list(): readonly AgentInfo[];
  /** Drops what the runtime keeps of an agent that has ended (its `info` then throws); a live or unknown id is left alone. */
  forgetEnded(id: AgentId): void;
  /** Called once per agent when it ends, for whatever reason. */
  onExit(listener: (exit: AgentExit) => void): void;
  /** Stops every agent and removes everything the runtime created. Idempotent. */
  close(): Promise<void>;
}
