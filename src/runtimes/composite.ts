/**
 * One runtime in front of several: the daemon runs processes, WASM modules and VMs side by
 * side, and routes each call to the runtime that started the agent. A spec picks its runtime
 * with `spec.runtime` (default `process`). The WASM and VM runtimes are created on first use,
 * so a machine without QEMU or a built guest still runs process agents, and a VM spawn there
 * fails with the VM runtime's own `MXW_ERR_RUNTIME_SETUP` explaining what is missing.
 */
import type { AgentId } from '../agent-id.js';
import type { AbortOptions } from '../clock/clock.js';
import { AgentExistsError, AgentSpecError, AgentStateError, AgentUnknownError } from '../errors.js';
import { RUNTIME_KINDS, type AgentExit, type AgentInfo, type AgentRuntime, type AgentSpec, type AgentUsage, type ManagedCpu, type PauseOptions, type PauseResult, type RuntimeKind, type StartOptions } from './runtime.js';

/** How to make each runtime; `process` is required, the others are optional. */
export type RuntimeFactories = { readonly process: () => Promise<AgentRuntime> } & Partial<Record<Exclude<RuntimeKind, 'process'>, () => Promise<AgentRuntime>>>;

export class CompositeRuntime implements AgentRuntime {
  readonly kind = 'composite' as const;
  readonly #factories: RuntimeFactories;
  readonly #runtimes = new Map<RuntimeKind, Promise<AgentRuntime>>();
  readonly #ready = new Map<RuntimeKind, AgentRuntime>();
  /** Which runtime holds each agent; an id is claimed before its start is awaited. */
  readonly #owners = new Map<string, RuntimeKind>();
  readonly #listeners: ((exit: AgentExit) => void)[] = [];
  #closed = false;

  private constructor(factories: RuntimeFactories) {
    this.#factories = factories;
  }

  /** Creates the process runtime now (it must work); the others wait for their first agent. */
  static async create(factories: RuntimeFactories): Promise<CompositeRuntime> {
    const composite = new CompositeRuntime(factories);
    await composite.#runtime('process');
    return composite;
  }

  // Every method is async so that an unknown id is a rejected promise, never a synchronous throw.

  /** Kinds this composite can start (whether or not they have been created yet). */
  get kinds(): readonly RuntimeKind[] {
    return RUNTIME_KINDS.filter((k) => this.#factories[k] !== undefined);
  }

  /** What each runtime created so far uses, prefixed with its kind (`wasm.pause`, …). */
  get mechanisms(): Readonly<Record<string, string>> {
    const all: Record<string, string> = {};
    for (const [kind, runtime] of this.#ready) for (const [job, how] of Object.entries(runtime.mechanisms)) all[`${kind}.${job}`] = how;
    return all;
  }

  /**
   * CPU time of every agent of the runtimes created so far that can count it (processes and
   * VMs in their cgroups; WASM agents run in Maxwell's process, so their CPU is Maxwell's).
   */
  managedCpu(): ManagedCpu | null {
    let totalS = 0;
    let perCpuS: Float64Array | null = null;
    let counted = false;
    for (const runtime of this.#ready.values()) {
      const cpu = runtime.managedCpu?.() ?? null;
      if (cpu === null) continue;
      counted = true;
      totalS += cpu.totalS;
      if (cpu.perCpuS !== null) {
        if (perCpuS === null) perCpuS = new Float64Array(cpu.perCpuS.length);
        for (let c = 0; c < perCpuS.length; c++) perCpuS[c] = (perCpuS[c] ?? 0) + (cpu.perCpuS[c] ?? 0);
      }
    }
    return counted ? { totalS, perCpuS } : null;
  }

  /** The runtime kind of an agent (undefined when unknown). */
  kindOf(id: AgentId): RuntimeKind | undefined {
    return this.#owners.get(id);
  }

  async start(spec: AgentSpec, options: StartOptions = {}): Promise<AgentInfo> {
    if (this.#closed) throw new AgentStateError('the runtime is closed');
    const kind = spec.runtime ?? 'process';
    if (!RUNTIME_KINDS.includes(kind)) throw new AgentSpecError(`agent "${spec.id}": unknown runtime ${JSON.stringify(kind)} (one of ${RUNTIME_KINDS.join(', ')})`);
    if (this.#factories[kind] === undefined) throw new AgentSpecError(`agent "${spec.id}": this daemon does not run ${kind} agents`);
    if (this.#owners.has(spec.id)) throw new AgentExistsError(`agent "${spec.id}" already exists`);
    this.#owners.set(spec.id, kind);
    try {
      const runtime = await this.#runtime(kind);
      return await runtime.start(spec, options);
    } catch (err) {
      this.#owners.delete(spec.id);
      throw err;
    }
  }

  async pause(id: AgentId, options?: PauseOptions): Promise<PauseResult> {
    return await this.#of(id).pause(id, options);
  }

  async resume(id: AgentId, options?: PauseOptions): Promise<void> {
    await this.#of(id).resume(id, options);
  }

  async setCpuShare(id: AgentId, share: number | null): Promise<void> {
    await this.#of(id).setCpuShare(id, share);
  }

  async pin(id: AgentId, cores: readonly number[] | null): Promise<void> {
    await this.#of(id).pin(id, cores);
  }

  async usage(id: AgentId): Promise<AgentUsage> {
    return await this.#of(id).usage(id);
  }

  async stop(id: AgentId, options?: AbortOptions & { graceS?: number }): Promise<AgentExit> {
    return await this.#of(id).stop(id, options);
  }

  info(id: AgentId): AgentInfo {
    return this.#of(id).info(id);
  }

  list(): readonly AgentInfo[] {
    return [...this.#ready.values()].flatMap((r) => r.list());
  }

  forgetEnded(id: AgentId): void {
    // Its owner was dropped when it ended; only the runtime that has it acts.
    for (const runtime of this.#ready.values()) runtime.forgetEnded(id);
  }

  onExit(listener: (exit: AgentExit) => void): void {
    this.#listeners.push(listener);
  }

  /** Closes every runtime created, even when one of them fails to close; rethrows the first failure. */
  async close(): Promise<void> {
    this.#closed = true;
    // A runtime still being created is waited for, so that it is closed too.
    await Promise.allSettled(this.#runtimes.values());
    const results = await Promise.allSettled([...this.#ready.values()].map((r) => r.close()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  #of(id: AgentId): AgentRuntime {
    const kind = this.#owners.get(id);
    const runtime = kind === undefined ? undefined : this.#ready.get(kind);
    if (runtime === undefined) throw new AgentUnknownError(`no agent "${id}"`);
    return runtime;
  }

  #runtime(kind: RuntimeKind): Promise<AgentRuntime> {
    let pending = this.#runtimes.get(kind);
    if (pending === undefined) {
      const factory = this.#factories[kind];
      if (factory === undefined) return Promise.reject(new AgentSpecError(`this daemon does not run ${kind} agents`));
      pending = factory().then((runtime) => {
        runtime.onExit((exit) => {
          this.#owners.delete(exit.id);
          for (const listener of this.#listeners) listener(exit);
        });
        this.#ready.set(kind, runtime);
        return runtime;
      });
      this.#runtimes.set(kind, pending);
      // A failed creation is retried by the next spawn of that kind (the user may fix the cause).
      pending.catch(() => { if (this.#runtimes.get(kind) === pending) this.#runtimes.delete(kind); });
    }
    return pending;
  }
}
