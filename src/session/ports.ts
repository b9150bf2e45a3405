/**
 * How the market session talks to the world. The session is pure (no I/O, synchronous, its
 * time from an injected clock); everything it does outside itself goes through these ports.
 * The daemon's components implement them with the real ledger, protocol server and runtimes;
 * the session's unit tests with small in-memory fakes.
 */
import type { AgentId } from '../agent-id.js';
import type { AccountId, Transfer } from '../ledger/entries.js';
import type { Settlement, TickCommit } from '../ledger/ledger.js';
import type { MicroJoules } from '../units/money.js';
import type { PlaneOffer } from '../market/engine.js';
import type { EntropySource } from '../market/entropy.js';
import type { DaemonMessage } from '../protocol/messages.js';

export type { Clock } from '../clock/clock.js';

/** The signed ledger as the bank writes it (the real one: `ledger/ledger.ts`). */
export interface LedgerWriter {
  /** The last ledger tick committed (−1 for a new ledger). */
  readonly lastTick: number;
  /** Committed balance of an account, µJ. */
  balance(account: AccountId): MicroJoules;
  /** Writes one ledger tick atomically, or throws and writes nothing. */
  commitTick(tick: number, transfers: readonly Transfer[], settlements: readonly Settlement[]): TickCommit;
}

/** The agents' side of the protocol (the real one: `protocol/server.ts`). */
export interface AgentChannel {
  /** Sends a notice or result if the agent is connected; never throws. */
  send(agentId: AgentId, message: DaemonMessage): void;
  isConnected(agentId: AgentId): boolean;
}

/** Carries the auction's verdicts out on the runtime (the real one: `daemon/enforcer.ts`). */
export interface EnforcementPort {
  /** A new agent, running unpinned; `pinning`: it may be pinned to the core it wins. */
  admit(agentId: AgentId, pinning: boolean): void;
  /** Run (on `core`, within `share` of it) or wait; carried out in the background. */
  want(agentId: AgentId, run: boolean, core: number | null, share: number | null): void;
  /** Pauses at once (the emergency path); resolves to the latency, ms (NaN when it failed). */
  pauseNow(agentId: AgentId): Promise<number>;
  /** SIGTERM, then SIGKILL after `graceS` (a paused agent is thawed first); never rejects. */
  terminate(agentId: AgentId, graceS: number): void;
  forget(agentId: AgentId): void;
}

/** Where erase events come from; the session drains it once per tick. */
export type ErasureFeed = Pick<EntropySource, 'drain' | 'watch' | 'unwatch'>;

/** One tick's heat, as the thermal state computes it (`heat-price/thermal.ts`). */
export interface ThermalInput {
  readonly temperaturesC: ArrayLike<number>;
  /** Per core, the reserve for a full quantum, J. */
  readonly reservePerQuantumJ: ArrayLike<number>;
  /** Per core, the controller's allowed fraction of it. */
  readonly allowance: ArrayLike<number>;
  /** The cores on sale, best first. */
  readonly offer: PlaneOffer;
}

/** Where temperatures come from, in words, for the decision log. */
export interface ThermalProvenance {
  readonly source: string;
  coreSource(core: number): string;
}
