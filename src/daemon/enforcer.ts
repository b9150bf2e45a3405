/**
 * Enforcement (docs/DESIGN.md §2): the auction says who runs where; the enforcer makes the runtime
 * agree. Each tick sets a *desired* state per agent (running on a core, or paused); a small
 * per-agent reconciler carries out the difference one runtime call at a time, so a slow freeze
 * never blocks the tick and the latest wish always wins. Everything it changed it restores.
 */
import type { AgentId } from '../agent-id.js';
import type { AgentRuntime } from '../runtimes/runtime.js';
import type { EnforcementPort } from '../session/ports.js';

interface Target {
  run: boolean;
  core: number | null;
  /** Share of one CPU (the core's allowance), null = unlimited. */
  share: number | null;
}

/** Quota changes smaller than this are not written (each is a cgroup write). */
const SHARE_STEP = 0.05;
/**
 * At most one quota write per agent per CFS bandwidth period (100 ms): a quota cannot take
 * effect faster than its period, and writing every tick cost the experiment 3 % more CPU.
 */
const SHARE_INTERVAL_MS = 100;

function sameShare(a: number | null, b: number | null): boolean {
  if (a === null || b === null) return a === b;
  return Math.abs(a - b) < SHARE_STEP;
}

type Op = 'resume' | 'pause' | 'quota' | 'pin';

interface Slot {
  readonly pinning: boolean;
  readonly desired: Target;
  readonly actual: Target;
  shareWrittenAtMs: number;
  busy: boolean;
  gone: boolean;
}

export interface EnforcerStats {
  readonly pauses: number;
  readonly resumes: number;
  readonly pins: number;
  readonly quotas: number;
  readonly failures: number;
}

export class Enforcer implements EnforcementPort {
  readonly #runtime: AgentRuntime;
  readonly #slots = new Map<AgentId, Slot>();
  #stats = { pauses: 0, resumes: 0, pins: 0, quotas: 0, failures: 0 };
  #idle: Promise<void> = Promise.resolve();

  constructor(runtime: AgentRuntime) {
    this.#runtime = runtime;
  }

  get stats(): EnforcerStats {
    return { ...this.#stats };
  }

  /** A new agent, running unpinned; `pinning`: pin it to the core it wins (off for agents that cannot be pinned). */
  admit(agentId: AgentId, pinning: boolean): void {
    this.#slots.set(agentId, { pinning, desired: { run: true, core: null, share: null }, actual: { run: true, core: null, share: null }, shareWrittenAtMs: Number.NEGATIVE_INFINITY, busy: false, gone: false });
  }

  forget(agentId: AgentId): void {
    const slot = this.#slots.get(agentId);
    if (slot !== undefined) slot.gone = true;
    this.#slots.delete(agentId);
  }

  isRunning(agentId: AgentId): boolean {
    return this.#slots.get(agentId)?.actual.run ?? false;
  }

  /** What the agent is allowed now, as the runtime has it: 0 while paused, else its share of a core (1: all of it). */
  allowance(agentId: AgentId): number {
    const actual = this.#slots.get(agentId)?.actual;
    if (actual?.run !== true) return 0;
    return actual.share ?? 1;
  }

  /**
   * What the agent should do now: run (on `core`, within `share` of it: the controller's
   * allowance, null or ≥ 1 for all of it) or wait.
   */
  want(agentId: AgentId, run: boolean, core: number | null = null, share: number | null = null): void {
    const slot = this.#slots.get(agentId);
    if (slot === undefined) return;
    slot.desired.run = run;
    if (run && slot.pinning && core !== null) slot.desired.core = core;
    if (run) slot.desired.share = share === null || share >= 1 - SHARE_STEP ? null : Math.max(0.01, share);
    this.#reconcile(agentId, slot);
  }

  /** Pauses at once, waiting for confirmation (the emergency path); resolves to the latency, ms. */
  async pauseNow(agentId: AgentId): Promise<number> {
    const slot = this.#slots.get(agentId);
    if (slot === undefined) return Number.NaN;
    slot.desired.run = false;
    const result = await this.#runtime.pause(agentId).catch(() => null);
    if (result !== null) slot.actual.run = false;
    this.#reconcile(agentId, slot);
    return result?.latencyMs ?? Number.NaN;
  }

  /**
   * What the slot needs next, if anything. Kept free of closures: a function whose variables a
   * closure captures makes a context object on every call, and this runs per agent per tick.
   */
  #reconcile(agentId: AgentId, slot: Slot): void {
    if (slot.busy || slot.gone) return;
    const { desired, actual } = slot;
    let op: Op;
    if (desired.run && !actual.run) op = 'resume';
    else if (!desired.run && actual.run) op = 'pause';
    else if (desired.run && !sameShare(desired.share, actual.share) && (desired.share === null || performance.now() - slot.shareWrittenAtMs >= SHARE_INTERVAL_MS)) op = 'quota';
    else if (desired.run && desired.core !== actual.core && desired.core !== null) op = 'pin';
    else return;
    this.#carryOut(agentId, slot, op);
  }

  #carryOut(agentId: AgentId, slot: Slot, op: Op): void {
    const { desired, actual } = slot;
    let call: () => Promise<void>;
    if (op === 'resume') {
      call = async () => {
        await this.#runtime.resume(agentId, { confirm: false });
        actual.run = true;
        this.#stats.resumes++;
      };
    } else if (op === 'pause') {
      // Routine turn-taking: the freeze is requested, not waited for (confirmation polls the
      // kernel on the daemon's thread: 3 % of a core in the experiment). The emergency path confirms.
      call = async () => {
        await this.#runtime.pause(agentId, { confirm: false });
        actual.run = false;
        this.#stats.pauses++;
      };
    } else if (op === 'quota') {
      const share = desired.share;
      slot.shareWrittenAtMs = performance.now();
      call = async () => {
        await this.#runtime.setCpuShare(agentId, share);
        actual.share = share;
        this.#stats.quotas++;
      };
    } else {
      const core = desired.core;
      call = async () => {
        if (core !== null) await this.#runtime.pin(agentId, [core]);
        actual.core = core;
        this.#stats.pins++;
      };
    }
    slot.busy = true;
    const done = call()
      .catch(() => {
        // The agent ended between the tick and the call: nothing left to enforce.
        this.#stats.failures++;
        slot.gone = true;
      })
      .finally(() => {
        slot.busy = false;
        this.#reconcile(agentId, slot);
      });
    this.#idle = Promise.all([this.#idle, done]).then(() => undefined);
  }

  /** SIGTERM, then SIGKILL after `graceS` (the runtime thaws a paused agent first); never rejects. */
  terminate(agentId: AgentId, graceS: number): void {
    void this.#runtime.stop(agentId, { graceS }).catch(() => undefined);
  }

  /** Resumes, unthrottles and unpins every agent still here, and waits for all calls in flight. */
  async restoreAll(): Promise<void> {
    for (const [agentId, slot] of this.#slots) {
      slot.desired.run = true;
      slot.desired.core = null;
      slot.desired.share = null;
      this.#reconcile(agentId, slot);
    }
    await this.#idle;
    await Promise.all(
      [...this.#slots].filter(([, s]) => s.actual.core !== null && !s.gone).map(([id]) => this.#runtime.pin(id, null).catch(() => undefined)),
    );
    await this.#idle;
  }
}
