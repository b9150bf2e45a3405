/**
 * The part of a runtime that does not depend on what runs: which agents it has, how an ended
 * agent is reported, and how one is stopped (ask, wait out the grace period, kill). Each
 * runtime keeps an {@link AgentTable} of its own records and supplies only how to ask its kind
 * of agent to stop and how to kill it, so the three runtimes cannot drift apart on the rest.
 */
import type { AbortOptions, Clock } from '../clock/clock.js';
import { parseAgentId, type AgentId } from '../agent-id.js';
import { AgentExistsError, AgentSpecError, AgentStateError, AgentUnknownError } from '../errors.js';
import { seconds } from '../units/units.js';
import type { AgentExit, AgentInfo, AgentSpec, AgentState } from './runtime.js';

/** What the table keeps of every agent; a runtime's record adds its own fields. */
export interface TableEntry {
  readonly spec: AgentSpec;
  state: AgentState;
  /** Set once, when the agent has ended. */
  exit: AgentExit | null;
  /** Resolves with {@link TableEntry.exit} once the agent has ended. */
  readonly exited: Promise<AgentExit>;
  /** Why Maxwell ended it, when it did: this wins over how the agent itself ended. */
  stopReason: AgentExit['reason'] | null;
}

/** What only the runtime knows about its agents. */
export interface AgentControl<A extends TableEntry> {
  /** The agent's process while it runs, or null where it has none of its own. */
  pid(agent: A): number | null;
  /** Asks the agent to end by itself (a pause must not keep it from hearing). */
  askToStop(agent: A): Promise<void>;
  /** Ends an agent that did not end within its grace period. */
  kill(agent: A): Promise<void>;
}

export interface StopOptions extends AbortOptions {
  /** How long the agent has to end by itself, s. @default 5 */
  readonly graceS?: number;
}

/** One runtime's agents by id. */
export class AgentTable<A extends TableEntry> {
  readonly #clock: Clock;
  readonly #control: AgentControl<A>;
  readonly #agents = new Map<AgentId, A>();
  readonly #listeners: ((exit: AgentExit) => void)[] = [];
  // Kept beside the record, not in it, so that only end() can settle `exited`.
  readonly #settle = new WeakMap<TableEntry, (exit: AgentExit) => void>();
  #closed = false;

  constructor(clock: Clock, control: AgentControl<A>) {
    this.#clock = clock;
    this.#control = control;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Checks what every spec needs: an open runtime, a usable and unused id, a command. */
  checkSpec(spec: AgentSpec, commandMeaning = 'command'): void {
    if (this.#closed) throw new AgentStateError('the runtime is closed');
    // Checked again although typed: a cast can skip the edge, and the id names a cgroup directory.
    parseAgentId(spec.id);
    if (this.#agents.has(spec.id)) throw new AgentExistsError(`agent "${spec.id}" already exists`);
    if (typeof spec.command !== 'string' || spec.command.trim() === '') throw new AgentSpecError(`agent "${spec.id}": ${commandMeaning} is empty`);
  }

  /** A running agent's record, not yet in the table (see {@link AgentTable.add}). */
  entry(spec: AgentSpec, own: Omit<A, keyof TableEntry>): A {
    let settle: (exit: AgentExit) => void = () => undefined;
    const exited = new Promise<AgentExit>((resolve) => {
      settle = resolve;
    });
    const base: TableEntry = { spec, state: 'running', exit: null, exited, stopReason: null };
    this.#settle.set(base, settle);
    return Object.assign(base, own) as A;
  }

  add(agent: A): void {
    this.#agents.set(agent.spec.id, agent);
  }

  /** Drops an agent whose start failed; it was reported as ended all the same. */
  forget(id: AgentId): void {
    this.#agents.delete(id);
  }

  /** Drops an agent that has ended; a live or unknown id is left alone. */
  forgetEnded(id: AgentId): void {
    if (this.#agents.get(id)?.exit != null) this.#agents.delete(id);
  }

  /** Throws `MXW_ERR_AGENT_UNKNOWN` for an id the table does not have. */
  get(id: AgentId): A {
    const agent = this.#agents.get(id);
    if (agent === undefined) throw new AgentUnknownError(`no agent "${id}"`);
    return agent;
  }

  /** Like {@link AgentTable.get}, and throws `MXW_ERR_AGENT_STATE` for an agent that has ended. */
  live(id: AgentId): A {
    const agent = this.get(id);
    if (agent.state === 'exited') throw new AgentStateError(`agent "${id}" has exited`);
    return agent;
  }

  values(): Iterable<A> {
    return this.#agents.values();
  }

  info(id: AgentId): AgentInfo {
    const agent = this.get(id);
    return { id, pid: agent.state === 'exited' ? null : this.#control.pid(agent), state: agent.state };
  }

  list(): readonly AgentInfo[] {
    return [...this.#agents.keys()].map((id) => this.info(id));
  }

  onExit(listener: (exit: AgentExit) => void): void {
    this.#listeners.push(listener);
  }

  /**
   * Records that the agent has ended and tells the listeners; `reason` is how it ended by
   * itself, which a stop reason overrides. Only the first call counts.
   */
  end(agent: A, code: number | null, signal: NodeJS.Signals | null, reason: AgentExit['reason']): AgentExit {
    if (agent.exit !== null) return agent.exit;
    const exit: AgentExit = { id: agent.spec.id, code, signal, reason: agent.stopReason ?? reason };
    agent.state = 'exited';
    agent.exit = exit;
    this.#settle.get(agent)?.(exit);
    for (const listener of this.#listeners) listener(exit);
    return exit;
  }

  /** Asks the agent to stop, and kills it if it has not ended after `graceS`; resolves once it has ended. */
  async stop(id: AgentId, options: StopOptions = {}): Promise<AgentExit> {
    const agent = this.get(id);
    if (agent.exit !== null) return agent.exit;
    agent.stopReason ??= 'stopped';
    await this.#control.askToStop(agent);
    const timedOut = await graceRanOut(agent.exited, options.graceS ?? 5, this.#clock);
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set by end() while we waited
    if (timedOut && agent.exit === null) {
      agent.stopReason = 'killed-after-grace';
      await this.#control.kill(agent);
    }
    return agent.exited;
  }

  /** Refuses new agents and stops the running ones, each with `graceS`. Idempotent. */
  async close(graceS: number): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#agents.values()].filter((a) => a.exit === null).map(async (a) => {
      a.stopReason = 'runtime-closed';
      await this.stop(a.spec.id, { graceS });
    }));
  }
}

/**
 * Waits for `exited` for at most `graceS`; resolves true when the grace period ran out first.
 * The grace timer is cancelled when the agent exits, so it never keeps the process alive.
 */
async function graceRanOut(exited: Promise<AgentExit>, graceS: number, clock: Clock): Promise<boolean> {
  const cancel = new AbortController();
  const wait = clock.sleep(seconds(graceS), { signal: cancel.signal }).then(
    () => true,
    () => false,
  );
  try {
    return await Promise.race([exited.then(() => false), wait]);
  } finally {
    cancel.abort();
  }
}
