/**
 * The daemon: a thin shell that joins the pure market session (`session/`) to the real parts the
 * components (`components.ts`) built. Per tick it reads the thermal state, steps the session and
 * publishes the tick; between ticks it turns operators' calls into runtime and protocol calls
 * around the session's decisions. Every rule — who runs, who pays, who dies — is the session's.
 */
import { randomBytes } from 'node:crypto';
import { parseAgentId, type AgentId } from '../agent-id.js';
import type { Clock } from '../clock/clock.js';
import type { MaxwellConfig } from '../config/schema.js';
import { AgentSpecError, toError } from '../errors.js';
import type { LedgerEntry } from '../ledger/entries.js';
import type { CommitTiming, Ledger } from '../ledger/ledger.js';
import { verifyLedger, type VerifyReport } from '../ledger/verify.js';
import type { EntropySource } from '../market/entropy.js';
import type { Plane, SubmitOutcome } from '../market/order-book.js';
import type { PrimeOracle } from '../market/prime-oracle.js';
import type { ProtocolServer } from '../protocol/server.js';
import type { AgentRuntime, RuntimeKind } from '../runtimes/runtime.js';
import type { AgentRecord, DecisionLog } from '../session/records.js';
import type { MarketSession } from '../session/session.js';
import type { AgentMetersView, AgentView, DaemonControl, DaemonSnapshot, Decision, FleetSnapshot, SpawnRequest, TickEvent, WalletView } from '../api/control.js';
import type { Enforcer } from './enforcer.js';
import type { ThermalState, ThermalTick } from '../heat-price/thermal.js';
import { TickLoop } from './tick-loop.js';
import { AgentMeter } from './agent-meter.js';
import type { FleetLink } from '../fleet/fleet-link.js';
import type { MigrationHost } from './migrator.js';
import type { InferenceAnswer, InferenceAsk, InferenceService } from '../verification/service/inference-service.js';
import type { ClaimVerifier } from '../verification/service/claim-verifier.js';

export type DaemonMode = MarketSession['mode'];

export interface DaemonParts {
  readonly config: Readonly<MaxwellConfig>;
  readonly session: MarketSession;
  readonly runtime: AgentRuntime;
  readonly thermal: ThermalState;
  readonly entropy: EntropySource;
  readonly enforcer: Enforcer;
  readonly ledger: Ledger;
  readonly protocol: ProtocolServer;
  readonly clock: Clock;
  readonly verifier: ClaimVerifier;
  readonly inference: InferenceService;
  readonly fleet: FleetLink;
}

/** How often the CPU of WASM agents (threads of this process) is read, ticks. */
const HOSTED_CPU_EVERY_TICKS = 100;
/** Failed-tick messages kept for reports. */
const MAX_TICK_FAILURES_KEPT = 20;
const NO_DECISIONS: readonly Decision[] = Object.freeze([]);

export class Daemon implements DaemonControl {
  readonly ledger: Ledger;
  readonly protocol: ProtocolServer;
  readonly loop: TickLoop;
  /** The last ticks that failed (something threw; the tick was skipped), newest last. */
  readonly tickFailures: string[] = [];
  readonly #config: Readonly<MaxwellConfig>;
  readonly #session: MarketSession;
  readonly #runtime: AgentRuntime;
  readonly #thermal: ThermalState;
  readonly #entropy: EntropySource;
  readonly #enforcer: Enforcer;
  readonly #verifier: ClaimVerifier;
  readonly #inference: InferenceService;
  readonly #fleet: FleetLink;
  readonly #tickListeners = new Set<(event: TickEvent) => void>();
  /** Sockets being removed after their agent ended (awaited on shutdown). */
  readonly #exits = new Map<string, Promise<void>>();
  /** Spawns in flight (awaited on shutdown, so none starts an agent after it). */
  readonly #spawning = new Set<Promise<unknown>>();
  readonly #startedMs: number;
  readonly #cpuAtStart = process.cpuUsage();
  #lastThermal: ThermalTick | null = null;
  #onTickFailure: ((message: string) => void) | undefined;
  /** Agents placed by the fleet, with the request that started them (for migration). */
  readonly #migratable = new Map<AgentId, SpawnRequest>();
  readonly #meter: AgentMeter;
  /** Ended agents in the order they ended: the oldest are forgotten beyond `daemon.endedAgentsKept`. */
  readonly #ended: AgentId[] = [];

  constructor(parts: DaemonParts) {
    this.#config = parts.config;
    this.#session = parts.session;
    this.#runtime = parts.runtime;
    this.#thermal = parts.thermal;
    this.#entropy = parts.entropy;
    this.#enforcer = parts.enforcer;
    this.#verifier = parts.verifier;
    this.#inference = parts.inference;
    this.#fleet = parts.fleet;
    this.ledger = parts.ledger;
    this.protocol = parts.protocol;
    this.#startedMs = this.#session.nowMs();
    this.#meter = new AgentMeter({
      usage: (id) => this.#runtime.usage(id),
      liveIds: () => this.#session.liveIds(),
      packageEnergyJ: () => this.energyJ(),
      energySource: () => this.#thermal.energySource,
    });
    this.loop = new TickLoop({ clock: parts.clock, rateHz: parts.config.daemon.rateHz, step: (tick, latenessMs) => this.#step(tick, latenessMs), onTickError: (err, tick) => { this.#tickFailed(err, tick); } });
    parts.protocol.on('message', ({ agentId, message }) => {
      if (message.type === 'serve' || message.type === 'token' || message.type === 'claim' || message.type === 'reveal') this.#inference.receive(agentId, message);
      else this.#session.receive(agentId, message);
    });
    parts.protocol.on('connect', ({ agentId }) => { this.#session.connected(agentId); });
    parts.runtime.onExit((exit) => { this.#exited(exit.id, exit.reason, exit.signal ?? (exit.code === null ? '' : `code ${String(exit.code)}`)); });
  }

  get mode(): DaemonMode {
    return this.#session.mode;
  }

  get oracle(): PrimeOracle {
    return this.#session.oracle;
  }

  get decisionLog(): DecisionLog {
    return this.#session.decisionLog;
  }

  /** Ledger writes that failed (their movements stayed pending and were retried). */
  get ledgerFailures(): readonly string[] {
    return this.#session.ledgerFailures;
  }

  get clearingP99Ms(): number {
    return this.loop.stats().clearP99Ms;
  }

  get emergencyLatenciesMs(): readonly number[] {
    return this.#session.emergencyLatenciesMs;
  }

  #step(tick: number, latenessMs: number): number {
    const thermal = this.#thermal.read();
    this.#lastThermal = thermal;
    const result = this.#session.step(tick, thermal);
    this.#verifier.tick();
    if (tick % HOSTED_CPU_EVERY_TICKS === 0) {
      this.#readHostedCpu();
      void this.#meter.sample();
    }
    const decisions = this.#session.takeTickDecisions();
    if (this.#tickListeners.size > 0) {
      const event: TickEvent = {
        tick,
        atMs: this.#session.nowMs(),
        awards: result.awards.map((a) => ({ agentId: a.agentId, unit: a.unit, paymentJ: a.paymentJ })),
        temperaturesC: Array.from(thermal.temperaturesC),
        reservePerQuantumJ: Array.from(thermal.reservePerQuantumJ),
        powerW: thermal.powerW,
        energyJ: thermal.energyJ,
        clearingMs: result.costMs,
        latenessMs,
        decisions: decisions.length === 0 ? NO_DECISIONS : decisions,
      };
      for (const listener of this.#tickListeners) listener(event);
    }
    return result.costMs;
  }

  #tickFailed(err: Error, tick: number): void {
    const message = `tick ${String(tick)}: ${err.message}`;
    this.tickFailures.push(message);
    if (this.tickFailures.length > MAX_TICK_FAILURES_KEPT) this.tickFailures.shift();
    this.#onTickFailure?.(message);
  }

  /**
   * WASM agents are threads of this process, so getrusage counts their CPU as the daemon's:
   * read it, to take it out of the overhead. An ended agent keeps its last reading.
   */
  #readHostedCpu(): void {
    for (const record of this.#session.records()) {
      if (record.runtime !== 'wasm' || record.phase === 'dead' || record.phase === 'starting') continue;
      this.#runtime.usage(record.id).then(
        (usage) => { this.#session.noteHostedCpu(record.id, usage.cpuS); },
        () => undefined,
      );
    }
  }

  #exited(agentId: AgentId, reason: string, detail: string): void {
    this.#migratable.delete(agentId);
    this.#verifier.forget(agentId);
    this.#inference.forget(agentId);
    if (this.#session.exited(agentId, reason, detail)) {
      this.#exits.set(agentId, this.protocol.removeAgent(agentId).finally(() => this.#exits.delete(agentId)));
      this.#ended.push(agentId);
      this.#forgetOldEnded();
    }
  }

  /** Keeps at most `daemon.endedAgentsKept` ended agents; one whose settlement waits is kept until it is settled. */
  #forgetOldEnded(): void {
    const keep = this.#config.daemon.endedAgentsKept;
    for (let checked = 0; this.#ended.length > keep && checked < this.#ended.length; checked++) {
      const oldest = this.#ended.shift() as AgentId;
      if (this.#session.forgetEnded(oldest)) {
        this.#runtime.forgetEnded(oldest);
        this.#meter.forget(oldest);
      } else {
        this.#ended.push(oldest);
      }
    }
  }

  async spawnAgent(request: SpawnRequest): Promise<AgentView> {
    const spawn = this.#spawn(request);
    this.#spawning.add(spawn);
    try {
      return await spawn;
    } finally {
      this.#spawning.delete(spawn);
    }
  }

  async #spawn(request: SpawnRequest): Promise<AgentView> {
    const id = parseAgentId(request.id ?? `agent-${randomBytes(4).toString('hex')}`);
    const runtime = this.#runtimeKindFor(request.runtime);
    const minStakeJ = this.#config.inference.minStakeJ;
    if (request.stakeJ !== undefined && request.stakeJ > 0 && request.stakeJ < minStakeJ) throw new AgentSpecError(`a stake must be at least ${String(minStakeJ)} J (inference.minStakeJ), got ${String(request.stakeJ)}`);
    this.#session.admit({ id, role: request.role ?? 'other', runtime, walletJ: request.walletJ, bid: request.bid, claims: request.claims, stakeJ: request.stakeJ });
    let started = false;
    try {
      const endpoint = await this.protocol.addAgent(id);
      // Erasure is watched from the agent's first instruction where the source can filter by
      // cgroup; a refused watch is not fatal: the pid watch still follows the agent after start.
      const watchCgroups = this.#entropy.watchCgroups?.bind(this.#entropy);
      const beforeExec = watchCgroups === undefined ? {} : { beforeExec: (dirs: readonly string[]) => watchCgroups(id, dirs).catch(() => undefined) };
      const info = await this.#runtime.start(
        {
          id,
          runtime,
          command: request.command,
          args: request.args ?? [],
          env: { ...request.env, ...endpoint.env },
          ...(request.memoryLimitBytes === undefined ? {} : { memoryLimitBytes: request.memoryLimitBytes }),
        },
        beforeExec,
      );
      started = true;
      if (request.claims !== undefined && info.pid !== null) this.#verifier.watch(id, info.pid, request.claims);
      if (request.migratable === true && !(request.stakeJ !== undefined && request.stakeJ > 0)) this.#migratable.set(id, request);
      // Worker threads have no CPU affinity: a WASM agent is scheduled, never pinned.
      return this.#session.started(id, { pid: info.pid, pinning: runtime !== 'wasm' });
    } catch (err) {
      if (started) await this.#runtime.stop(id, { graceS: 0 }).catch(() => undefined);
      this.#session.abandon(id);
      await this.protocol.removeAgent(id).catch(() => undefined);
      throw err;
    }
  }

  /** The runtime kind a spawn gets: what it asked for, if this daemon's runtime runs that kind. */
  #runtimeKindFor(requested: RuntimeKind | undefined): RuntimeKind {
    const own = this.#runtime.kind;
    if (own !== 'composite') {
      if (requested !== undefined && requested !== own) throw new AgentSpecError(`this daemon runs only ${own} agents, not ${requested}`);
      return own;
    }
    return requested ?? 'process';
  }

  /** The fleet view: this node and the members it gossips with (this node alone without `fleet.enabled`). */
  fleet(): FleetSnapshot {
    return this.#fleet.snapshot();
  }

  /** What migration (`migrator.ts`, started by the root) may do here: the agents placed with `--fleet`, and ending and spawning them. */
  migrationHost(): MigrationHost {
    return {
      fleet: () => this.fleet(),
      migratable: () => [...this.#migratable].filter(([id]) => this.#session.agent(id).phase === 'running' || this.#session.agent(id).phase === 'paused').map(([id, request]) => ({ id, request })),
      endAgent: (id, reason) => {
        this.#session.markEnding(id, reason);
        return this.stopAgent(id);
      },
      spawnAgent: (request) => this.spawnAgent(request),
      note: (agentId, because) => { this.#session.note({ action: 'migrate', agentId, plane: null, because }); },
    };
  }

  /** Serves one inference request on a staked agent and judges it (docs/VERIFICATION.md). */
  infer(ask: InferenceAsk): Promise<InferenceAnswer> {
    return this.#inference.request(ask);
  }

  listAgents(): readonly AgentView[] {
    return this.#session.listAgents();
  }

  agent(id: AgentId): AgentView {
    return this.#session.agent(id);
  }

  /** Raw per-agent figures for reports (primes, quanta, payments). */
  records(): readonly Readonly<AgentRecord>[] {
    return this.#session.records();
  }

  async stopAgent(id: AgentId): Promise<AgentView> {
    if (this.#session.agent(id).phase !== 'dead') {
      await this.#runtime.stop(id, { graceS: this.#config.daemon.killTimeoutMs / 1000 }).catch((err: unknown) => {
        if (this.#session.agent(id).phase !== 'dead') throw toError(err);
      });
    }
    return this.#session.agent(id);
  }

  setBid(id: AgentId, bid: { readonly pricePerQuantumJ: number; readonly budgetJ?: number; readonly plane?: Plane }): SubmitOutcome {
    return this.#session.setBid(id, bid);
  }

  wallet(id: AgentId): WalletView {
    return this.#session.wallet(id);
  }

  topUp(id: AgentId, joules: number): WalletView {
    return this.#session.topUp(id, joules);
  }

  ledgerEntries(options: { readonly fromSeq?: number; readonly limit?: number; readonly agentId?: AgentId }): readonly LedgerEntry[] {
    return this.ledger.entries({
      ...(options.fromSeq === undefined ? {} : { fromSeq: options.fromSeq }),
      ...(options.limit === undefined ? {} : { limit: options.limit }),
      ...(options.agentId === undefined ? {} : { account: `agent:${parseAgentId(options.agentId)}` as const }),
    });
  }

  verifyLedger(): VerifyReport {
    return verifyLedger(this.ledger.path);
  }

  snapshot(): DaemonSnapshot {
    const thermal = this.#lastThermal;
    const stats = this.loop.stats();
    const cpu = process.cpuUsage(this.#cpuAtStart);
    const hostedCpuMs = this.#session.hostedCpuS() * 1000;
    const uptimeMs = this.#session.nowMs() - this.#startedMs;
    const foreign = this.#thermal.foreign;
    return {
      tick: this.#session.tick,
      uptimeMs,
      rateHz: this.#config.daemon.rateHz,
      planes: Array.from({ length: this.#thermal.cores }, (_, core) => ({
        plane: 'cpu' as const,
        unit: core,
        temperatureC: thermal?.temperaturesC[core] ?? Number.NaN,
        temperatureSource: this.#thermal.coreSource(core),
        multiplier: thermal?.multipliers[core] ?? Number.NaN,
        reservePerQuantumJ: thermal?.reservePerQuantumJ[core] ?? Number.NaN,
        allowance: thermal?.allowance[core] ?? Number.NaN,
        setpointC: foreign?.setpointsC[core] ?? this.#config.control.setpointC,
      })),
      agents: this.listAgents(),
      landauerTaxJ: this.#session.taxTotalJ(),
      missedTicks: this.loop.stats().missedTicks,
      powerW: thermal?.powerW ?? Number.NaN,
      energySource: this.#thermal.energySource,
      clearingP99Ms: stats.clearP99Ms,
      tickLatenessP99Ms: stats.jitterP99Ms,
      ledgerHead: this.ledger.headHash,
      ledgerHeight: this.ledger.lastSeq,
      overheadFraction: uptimeMs > 0 ? Math.max(0, (cpu.user + cpu.system) / 1000 - hostedCpuMs) / uptimeMs : 0,
      enforcement: this.#enforcer.stats,
      failedTicks: stats.failedTicks,
      energyJ: this.energyJ(),
      foreignLoad: { policy: foreign?.policy ?? (this.#config.daemon.twinDrive === 'agents' ? 'not-modelled' : 'hold-setpoint'), measured: foreign?.measured ?? false, fraction: foreign?.share ?? 0 },
      verification: { method: this.#verifier.describe(), costS: this.#verifier.costS() },
      inference: this.#inference.status(),
      fleet: this.#fleet.snapshot(),
    };
  }

  agentMeters(): AgentMetersView {
    return { energySource: this.#meter.provenance, agents: this.#meter.readings() };
  }

  /** Package energy since start, J (from the same source as temperatures). */
  energyJ(): number {
    return this.#lastThermal?.energyJ ?? 0;
  }

  decisions(limit?: number): readonly Decision[] {
    return this.#session.decisions(limit);
  }

  /** Called for every failed tick (e.g. to print it), besides counting it in the snapshot. */
  onTickFailure(listener: (message: string) => void): void {
    this.#onTickFailure = listener;
  }

  /** Called when a ledger write fails (e.g. the disk is full); the daemon goes on and retries. */
  onLedgerFailure(listener: (err: Error) => void): void {
    this.#session.onLedgerFailure(listener);
  }

  onTick(listener: (event: TickEvent) => void): () => void {
    this.#tickListeners.add(listener);
    return () => this.#tickListeners.delete(listener);
  }

  onLedgerCommit(listener: (commit: CommitTiming) => void): () => void {
    return this.ledger.onCommit(listener);
  }

  /**
   * The agents' part of shutdown (the components call it after the tick loop has stopped):
   * no more spawns, every knob restored, every agent stopped and settled, the ledger written.
   */
  async stopAgents(): Promise<void> {
    this.#session.close();
    await Promise.allSettled(this.#spawning);
    await this.#enforcer.restoreAll();
    const graceS = this.#config.daemon.killTimeoutMs / 1000;
    await Promise.all(this.#session.liveIds().map((id) => this.#runtime.stop(id, { graceS }).catch(() => undefined)));
    for (const id of this.#session.liveIds()) this.#exited(id, 'runtime-closed', '');
    // Verdicts still being reached (an audit's model run) decide whether a stake is slashed or returned.
    await this.#inference.drain(2 * this.#config.inference.requestTimeoutMs);
    this.#session.settleDeferred();
    this.#session.flush('shutdown');
    this.#verifier.close();
    await Promise.all(this.#exits.values());
  }
}
