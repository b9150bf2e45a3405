/**
 * In-memory fakes of the market session's ports (session/ports.ts), for the session's unit
 * tests ONLY: a ledger that keeps balances in a map (and can be told to fail), a channel that
 * records what was sent, an enforcer that records what the session wants of each agent, and an
 * erasure feed the test fills. The real ports are tested end to end in test/integration/.
 */
import { defaultConfig } from '../../src/config/load.js';
import { parseAgentId, type AgentId } from '../../src/agent-id.js';
import { ManualClock } from '../../src/clock/clock.js';
import { seconds } from '../../src/units/units.js';
import type { AccountId, Transfer } from '../../src/ledger/entries.js';
import type { Settlement, TickCommit } from '../../src/ledger/ledger.js';
import { microJ, type MicroJoules } from '../../src/units/money.js';
import type { EraseEvent, WatchedAgent } from '../../src/market/entropy.js';
import type { DaemonMessage } from '../../src/protocol/messages.js';
import { policyFor, type SessionMode } from '../../src/session/policy.js';
import type { AgentChannel, EnforcementPort, ErasureFeed, LedgerWriter, ThermalInput } from '../../src/session/ports.js';
import { MarketSession, type SessionRules, type VerificationRules } from '../../src/session/session.js';

export class MemoryLedger implements LedgerWriter {
  lastTick = -1;
  readonly balances = new Map<AccountId, bigint>();
  readonly commits: { tick: number; transfers: readonly Transfer[]; settlements: readonly Settlement[] }[] = [];
  /** While set, every commit throws this (e.g. a full disk) and writes nothing. */
  failWith: Error | null = null;

  balance(account: AccountId): MicroJoules {
    return microJ(this.balances.get(account) ?? 0n);
  }

  commitTick(tick: number, transfers: readonly Transfer[], settlements: readonly Settlement[]): TickCommit {
    if (this.failWith !== null) throw this.failWith;
    if (tick <= this.lastTick) throw new Error(`tick ${String(tick)} after ${String(this.lastTick)}`);
    for (const t of transfers) {
      this.balances.set(t.from, this.balance(t.from) - t.amountMicroJ);
      this.balances.set(t.to, this.balance(t.to) + t.amountMicroJ);
    }
    this.lastTick = tick;
    this.commits.push({ tick, transfers, settlements });
    return { tick, firstSeq: 0, lastSeq: 0, headHash: '' };
  }

  /** Σ over every account: 0 when no joule was made or lost by a write. */
  total(): bigint {
    let sum = 0n;
    for (const v of this.balances.values()) sum += v;
    return sum;
  }
}

export class RecordingChannel implements AgentChannel {
  readonly sent: { agentId: string; message: DaemonMessage }[] = [];
  readonly connected = new Set<string>();

  send(agentId: string, message: DaemonMessage): void {
    this.sent.push({ agentId, message });
  }

  isConnected(agentId: string): boolean {
    return this.connected.has(agentId);
  }

  of(agentId: string, type: DaemonMessage['type']): DaemonMessage[] {
    return this.sent.filter((s) => s.agentId === agentId && s.message.type === type).map((s) => s.message);
  }
}

export interface Wanted {
  run: boolean;
  core: number | null;
  share: number | null;
  pinning: boolean;
}

export class RecordingEnforcer implements EnforcementPort {
  /** What the session last wanted of each agent it has not forgotten. */
  readonly wanted = new Map<string, Wanted>();
  readonly terminated = new Map<string, number>();
  readonly emergencyPauses: string[] = [];
  readonly forgotten = new Set<string>();

  admit(agentId: string, pinning: boolean): void {
    this.wanted.set(agentId, { run: true, core: null, share: null, pinning });
  }

  want(agentId: string, run: boolean, core: number | null, share: number | null): void {
    const w = this.wanted.get(agentId);
    if (w === undefined) throw new Error(`want() for ${agentId}, which was never admitted or was forgotten`);
    w.run = run;
    w.core = core;
    w.share = share;
  }

  pauseNow(agentId: string): Promise<number> {
    const w = this.wanted.get(agentId);
    if (w !== undefined) w.run = false;
    this.emergencyPauses.push(agentId);
    return Promise.resolve(0.25);
  }

  terminate(agentId: string, graceS: number): void {
    this.terminated.set(agentId, graceS);
  }

  forget(agentId: string): void {
    this.wanted.delete(agentId);
    this.forgotten.add(agentId);
  }
}

export class QueuedErasure implements ErasureFeed {
  readonly watched = new Map<string, WatchedAgent>();
  #queue: EraseEvent[] = [];

  watch(agent: WatchedAgent): void {
    this.watched.set(agent.agentId, agent);
  }

  unwatch(agentId: string): void {
    this.watched.delete(agentId);
  }

  erase(agentId: string, bytes: number): void {
    this.#queue.push({ agentId, pid: 0, bytes, kind: 'munmap', atMs: 0 });
  }

  drain(): readonly EraseEvent[] {
    const out = this.#queue;
    this.#queue = [];
    return out;
  }
}

/** One tick's heat on `cores` cores: every core on sale at `reserveJ`, at `temperatureC`. */
export function thermalInput(cores: number, options: { temperatureC?: number | readonly number[]; reserveJ?: number; allowance?: number } = {}): ThermalInput {
  const t = options.temperatureC ?? 50;
  const reserve = options.reserveJ ?? 0.001;
  return {
    temperaturesC: Float64Array.from({ length: cores }, (_, c) => (typeof t === 'number' ? t : (t[c] ?? 50))),
    reservePerQuantumJ: new Float64Array(cores).fill(reserve),
    allowance: new Float64Array(cores).fill(options.allowance ?? 1),
    offer: { quality: new Float64Array(cores).fill(1), reserve: new Float64Array(cores).fill(reserve), unit: Int32Array.from({ length: cores }, (_, c) => c) },
  };
}

export interface SessionRig {
  readonly session: MarketSession;
  readonly clock: ManualClock;
  readonly ledger: MemoryLedger;
  readonly channel: RecordingChannel;
  readonly enforcer: RecordingEnforcer;
  readonly erasure: QueuedErasure;
  /** Admits and starts an agent (as the daemon does once its process runs). */
  spawn(id: string, walletJ: number, bidJ?: number): AgentId;
  /** Advances the clock one tick and steps the session. */
  tick(thermal?: ThermalInput): void;
}

export function sessionRig(options: { mode?: SessionMode; rules?: Partial<SessionRules>; cores?: number; verification?: VerificationRules } = {}): SessionRig {
  const clock = new ManualClock();
  const ledger = new MemoryLedger();
  const channel = new RecordingChannel();
  const enforcer = new RecordingEnforcer();
  const erasure = new QueuedErasure();
  const daemon = defaultConfig().daemon;
  const rules: SessionRules = { ...daemon, ...options.rules };
  const session = new MarketSession({ rules, ...(options.verification === undefined ? {} : { verification: options.verification }), policy: policyFor(options.mode ?? 'market'), clock, ledger, channel, enforcer, entropy: erasure, thermal: { source: 'modelled: test', coreSource: (c) => `modelled: core ${String(c)}` }, costClockMs: () => 0 });
  const cores = options.cores ?? 2;
  let tick = 0;
  return {
    session,
    clock,
    ledger,
    channel,
    enforcer,
    erasure,
    spawn(id, walletJ, bidJ) {
      const agentId = parseAgentId(id);
      session.admit({ id: agentId, role: 'other', runtime: 'process', walletJ, bid: bidJ === undefined ? undefined : { pricePerQuantumJ: bidJ } });
      session.started(agentId, { pid: 1000 + tick, pinning: true });
      return agentId;
    },
    tick(thermal = thermalInput(cores)) {
      clock.advance(seconds(1 / daemon.rateHz));
      session.step(tick++, thermal);
    },
  };
}
