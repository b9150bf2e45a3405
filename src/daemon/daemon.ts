/**
 * The daemon: one composition root for the loop of DESIGN.md §2, once per tick —
 * telemetry → controller → pricing → auction → enforcement → metering → ledger → apoptosis.
 *
 * Two modes share everything but the market, so an experiment can compare them fairly:
 * - `market`: the auction decides who runs; winners pay, insolvent agents die.
 * - `observe`: plain Linux CFS schedules; the daemon only measures (same telemetry, same
 *   protocol, same prime oracle), never pauses, charges or kills.
 *
 * One class of ≈ 500 lines on purpose: the tick and the operators' calls share its private state
 * (agents, book, bank), and splitting them would expose that state to each other.
 */
import { randomBytes } from 'node:crypto';
import { createMonotonicClock, type Clock } from '../clock/clock.js';
import type { MaxwellConfig } from '../config/schema.js';
import { AgentSpecError, AgentUnknownError, InvalidArgumentError, toError } from '../errors.js';
import { toMicroJ, toJoules, type LedgerEntry } from '../ledger/entries.js';
import { Ledger } from '../ledger/ledger.js';
import { verifyLedger, type VerifyReport } from '../ledger/verify.js';
import { Apoptosis } from '../market/apoptosis.js';
import { ClearingEngine, EngineLoop, type EngineTick, type PlaneOffer } from '../market/engine.js';
import type { EntropySource } from '../market/entropy.js';
import { landauerTax } from '../market/landauer.js';
import { OrderBook, type Plane, type SubmitOutcome } from '../market/order-book.js';
import { PrimeOracle } from '../market/prime-oracle.js';
import { toPrimeClaim, type AgentMessage } from '../protocol/messages.js';
import { ProtocolServer } from '../protocol/server.js';
import type { AgentRuntime, RuntimeKind } from '../runtimes/runtime.js';
import { DecisionLog, newRecord, viewOf, type AgentRecord } from './agents.js';
import { Bank } from './bank.js';
import type { AgentView, DaemonControl, DaemonSnapshot, Decision, SpawnRequest, TickEvent, WalletView } from './control.js';
import { Enforcer } from './enforcer.js';
import type { ThermalState, ThermalTick } from './thermal.js';

export type DaemonMode = 'market' | 'observe';

export interface DaemonParts {
  readonly config: Readonly<MaxwellConfig>;
  readonly mode: DaemonMode;
  readonly runtime: AgentRuntime;
  readonly thermal: ThermalState;
  readonly entropy: EntropySource;
  readonly clock?: Clock;
}

const AGENT_ID = /^[A-Za-z0-9_-]{1,48}$/;
const MAX_WALLET_J = 1e9;
/** How long a new agent without a bid is left running so it can connect and bid, ms. */
const STARTUP_MS = 2000;
/** How often the CPU of WASM agents (threads of this process) is read, ticks. */
const HOSTED_CPU_EVERY_TICKS = 100;
/** Failed-tick messages kept for reports. */
const MAX_TICK_FAILURES_KEPT = 20;

export class Daemon implements DaemonControl {
  readonly mode: DaemonMode;
  readonly ledger: Ledger;
  readonly protocol: ProtocolServer;
  readonly oracle: PrimeOracle;
  readonly decisionLog = new DecisionLog();
  readonly #config: Readonly<MaxwellConfig>;
  readonly #runtime: AgentRuntime;
  readonly #thermal: ThermalState;
  readonly #entropy: EntropySource;
  readonly #clock: Clock;
  readonly #book = new OrderBook();
  readonly #bank: Bank;
  readonly #apoptosis: Apoptosis;
  readonly #enforcer: Enforcer;
  readonly #loop: EngineLoop;
  readonly #agents = new Map<string, AgentRecord>();
  readonly #tickListeners = new Set<(event: TickEvent) => void>();
  readonly #exits = new Map<string, Promise<void>>();
  readonly #startedMs: number;
  readonly #cpuAtStart = process.cpuUsage();
  #lastThermal: ThermalTick | null = null;
  /** Reused every tick (the 100 Hz path allocates as little as it can). */
  readonly #offerMap = new Map<Plane, PlaneOffer>();
  readonly #noOffers: ReadonlyMap<Plane, PlaneOffer> = new Map();
  #tick = 0;
  #emergencyLatenciesMs: number[] = [];
  #stopping = false;
  #onLedgerFailure: ((err: Error) => void) | undefined;
  /** Ledger writes that failed (their movements stayed pending and were retried). */
  readonly ledgerFailures: string[] = [];
  /** The last ticks that failed (something threw; the tick was skipped), newest last. */
  readonly tickFailures: string[] = [];
  #onTickFailure: ((message: string) => void) | undefined;

  private constructor(parts: DaemonParts, ledger: Ledger, protocol: ProtocolServer) {
    const { config } = parts;
    this.mode = parts.mode;
    this.#config = config;
    this.#runtime = parts.runtime;
    this.#thermal = parts.thermal;
    this.#entropy = parts.entropy;
    this.#clock = parts.clock ?? createMonotonicClock();
    this.ledger = ledger;
    this.protocol = protocol;
    this.#bank = new Bank(ledger);
    this.oracle = new PrimeOracle(toMicroJ(config.daemon.incomePerPrimeJ), { sample: config.daemon.oracleSample });
    this.#apoptosis = new Apoptosis({ graceMs: config.daemon.graceMs, rescueMarginPercent: config.daemon.rescueMarginPercent });
    this.#enforcer = new Enforcer(parts.runtime);
    const engine = new ClearingEngine({
      book: this.#book,
      mode: config.daemon.clearing,
      tieRotationTicks: config.daemon.tieRotationTicks,
      walletJ: (id) => toJoules(this.#bank.balance(id)),
    });
    this.#loop = new EngineLoop({ clock: this.#clock, engine, rateHz: config.daemon.rateHz, offers: () => this.#offers(), onTick: (r) => { this.#onTick(r); }, onTickError: (err, tick) => { this.#tickFailed(err, tick); } });
    this.#startedMs = this.#nowMs();
    protocol.on('message', ({ agentId, message }) => { this.#onMessage(agentId, message); });
    parts.runtime.onExit((exit) => { this.#onExit(exit.id, exit.reason, exit.signal ?? (exit.code === null ? '' : `code ${String(exit.code)}`)); });
  }

  /** Opens the ledger, the agents' sockets and starts ticking. */
  static async start(parts: DaemonParts): Promise<Daemon> {
    const ledger = Ledger.open(parts.config.ledger);
    const protocol = new ProtocolServer({ runtimeDir: parts.config.daemon.runtimeDir, limits: parts.config.protocol });
    const daemon = new Daemon(parts, ledger, protocol);
    await daemon.#loop.start();
    return daemon;
  }

  #tickFailed(err: Error, tick: number): void {
    const message = `tick ${String(tick)}: ${err.message}`;
    this.tickFailures.push(message);
    if (this.tickFailures.length > MAX_TICK_FAILURES_KEPT) this.tickFailures.shift();
    this.#onTickFailure?.(message);
  }

  /** Called for every failed tick (e.g. to print it), besides counting it in the snapshot. */
  onTickFailure(listener: (message: string) => void): void {
    this.#onTickFailure = listener;
  }

  #nowMs(): number {
    return this.#clock.now() * 1000;
  }

  #decide(decision: Omit<Decision, 'tick' | 'atMs'>): void {
    this.decisionLog.add({ tick: this.#tick, atMs: this.#nowMs(), ...decision });
  }

  #offers(): ReadonlyMap<Plane, PlaneOffer> {
    const thermal = this.#thermal.read();
    this.#lastThermal = thermal;
    if (this.mode === 'observe') return this.#noOffers;
    this.#emergency(thermal);
    this.#offerMap.set('cpu', thermal.offer);
    return this.#offerMap;
  }

  /** A core above the critical temperature: its agents are paused now, outside the auction. */
  #emergency(thermal: ThermalTick): void {
    const critical = this.#config.daemon.criticalC;
    for (let core = 0; core < thermal.temperaturesC.length; core++) {
      const t = thermal.temperaturesC[core] ?? 0;
      if (!(t > critical)) continue;
      const source = this.#thermal.coreSource(core);
      for (const record of this.#agents.values()) {
        // Its agents: those that won this core, and running agents not pinned anywhere yet.
        if (record.phase !== 'running' || (record.lastUnit !== core && record.lastUnit !== null)) continue;
        record.phase = 'paused';
        record.lastUnit = null;
        const started = this.#nowMs();
        void this.#enforcer.pauseNow(record.id).then((latencyMs) => {
          this.#emergencyLatenciesMs.push(latencyMs);
          this.#decide({ action: 'emergency-pause', agentId: record.id, plane: 'cpu', because: `core ${String(core)} at ${t.toFixed(1)} °C > critical ${String(critical)} °C (${source}); paused in ${latencyMs.toFixed(2)} ms (${(this.#nowMs() - started).toFixed(2)} ms from detection)` });
        });
      }
    }
  }

  #onTick(result: EngineTick): void {
    this.#tick = result.tick;
    const thermal = this.#lastThermal;
    const now = this.#nowMs();
    if (this.mode === 'market') {
      this.#enforce(result, thermal);
      this.#tax(thermal);
      this.#checkSolvency(now, thermal);
    } else {
      this.#tax(thermal);
    }
    if ((result.tick + 1) % this.#config.daemon.settleEveryTicks === 0) this.#flush(result.tick);
    if (result.tick % HOSTED_CPU_EVERY_TICKS === 0) this.#readHostedCpu();
    if (this.#tickListeners.size > 0 && thermal !== null) {
      const event: TickEvent = {
        tick: result.tick,
        atMs: now,
        awards: result.awards.map((a) => ({ agentId: a.agentId, unit: a.unit, paymentJ: a.paymentJ })),
        temperaturesC: Array.from(thermal.temperaturesC),
        reservePerQuantumJ: Array.from(thermal.reservePerQuantumJ),
        powerW: thermal.powerW,
        decisions: this.decisionLog.takeTickDecisions(),
      };
      for (const listener of this.#tickListeners) listener(event);
    } else this.decisionLog.takeTickDecisions();
  }

  /**
   * WASM agents are threads of this process, so getrusage counts their CPU as the daemon's:
   * read it, to take it out of the overhead. An ended agent keeps its last reading.
   */
  #readHostedCpu(): void {
    for (const record of this.#agents.values()) {
      if (record.runtime !== 'wasm' || record.phase === 'dead' || record.phase === 'starting') continue;
      this.#runtime.usage(record.id).then(
        (usage) => { record.hostedCpuS = usage.cpuS; },
        () => undefined,
      );
    }
  }

  #enforce(result: EngineTick, thermal: ThermalTick | null): void {
    const winners = new Map<string, number>();
    for (const award of result.awards) {
      const record = this.#agents.get(award.agentId);
      if (record === undefined || record.phase === 'dying' || record.phase === 'dead') continue;
      const microJ = toMicroJ(award.paymentJ);
      try {
        this.#bank.pay(award.agentId, microJ);
      } catch {
        continue; // Spent by a tax since the clearing read its balance: it does not run.
      }
      record.paidMicroJ += microJ;
      record.quantaWon++;
      winners.set(award.agentId, award.unit);
    }
    const now = this.#nowMs();
    for (const record of this.#agents.values()) {
      if (record.phase === 'dead' || record.phase === 'starting') continue;
      // A newcomer runs until it has had time to connect and bid: freezing it first would
      // keep it from ever bidding.
      if (this.#book.bidOf(record.id) === undefined && now - record.startedAtMs < STARTUP_MS) continue;
      const unit = winners.get(record.id);
      const running = unit !== undefined;
      if (running !== (record.phase === 'running') && record.phase !== 'dying') {
        const bid = this.#book.bidOf(record.id);
        const reserve = thermal?.offer.reserve[0] ?? 0;
        this.#decide(
          running
            ? { action: 'resume', agentId: record.id, plane: 'cpu', because: `won core ${String(unit)} at ${String(bid?.pricePerQuantumJ ?? 0)} J/quantum` }
            : {
                action: 'pause',
                agentId: record.id,
                plane: 'cpu',
                because:
                  bid === undefined
                    ? 'no standing bid'
                    : `outbid or below reserve: bid ${String(bid.pricePerQuantumJ)} J/quantum, balance ${toJoules(this.#bank.balance(record.id)).toFixed(3)} J, best reserve ${reserve.toFixed(4)} J (${this.#thermal.source})`,
              },
        );
        record.phase = running ? 'running' : 'paused';
      }
      record.lastUnit = unit ?? null;
      // The controller's allowance for the core becomes the winner's CPU quota on it.
      const allowance = unit === undefined ? null : (thermal?.allowance[unit] ?? null);
      if (record.phase !== 'dying') this.#enforcer.want(record.id, running, unit ?? null, allowance);
    }
  }

  #tax(thermal: ThermalTick | null): void {
    const events = this.#entropy.drain();
    if (events.length === 0) return;
    let meanC = 0;
    for (const t of thermal?.temperaturesC ?? []) meanC += t;
    const kelvin = 273.15 + (thermal === null || thermal.temperaturesC.length === 0 ? 27 : meanC / thermal.temperaturesC.length);
    for (const event of events) {
      const record = this.#agents.get(event.agentId);
      if (record === undefined) continue;
      const tax = landauerTax(event.bytes, kelvin, this.#config.daemon.landauerMultiplier).taxMicroJ;
      if (tax <= 0n || this.mode === 'observe') continue;
      this.#bank.tax(event.agentId, tax);
      record.taxMicroJ += tax;
    }
  }

  /**
   * Solvency is the ability to pay for one quantum: an agent whose balance is below the
   * cheapest quantum's reserve can never win again, so the apoptosis clock sees its balance
   * minus that reserve ("≤ 0" = cannot pay its rent).
   */
  #checkSolvency(nowMs: number, thermal: ThermalTick | null): void {
    // Every core's reserve, offered this tick or not: a core the controller holds back for a
    // moment must not make a broke agent look solvent.
    let cheapest = Number.POSITIVE_INFINITY;
    const reserve = thermal?.reservePerQuantumJ ?? [];
    for (let i = 0; i < reserve.length; i++) cheapest = Math.min(cheapest, reserve[i] ?? Number.POSITIVE_INFINITY);
    const rentMicroJ = Number.isFinite(cheapest) ? toMicroJ(cheapest) : 0n;
    for (const record of this.#agents.values()) {
      if (record.phase === 'dead' || record.phase === 'dying' || record.phase === 'starting') continue;
      const action = this.#apoptosis.observe(record.id, this.#bank.balance(record.id), nowMs, rentMicroJ);
      if (action === null) continue;
      const balance = `${toJoules(this.#bank.balance(record.id)).toFixed(6)} J (${toJoules(rentMicroJ).toFixed(6)} J buys the cheapest quantum)`;
      if (action.kind === 'notice') {
        this.protocol.send(record.id, { type: 'apoptosis', graceMs: action.graceMs, balanceJ: toJoules(this.#bank.balance(record.id)) });
        this.#decide({ action: 'apoptosis-notice', agentId: record.id, plane: null, because: `insolvent: balance ${balance}; SIGTERM in ${String(action.graceMs)} ms unless topped up` });
      } else if (action.kind === 'rescued') {
        this.#decide({ action: 'rescued', agentId: record.id, plane: null, because: `balance back to ${balance}, above ${String(this.#apoptosis.rescueMarginPercent)} % of the price, during the grace period` });
      } else {
        record.phase = 'dying';
        this.#decide({ action: 'kill', agentId: record.id, plane: null, because: `insolvent: balance ${balance} after a ${String(this.#config.daemon.graceMs)} ms grace period; SIGTERM, SIGKILL after ${String(this.#config.daemon.killTimeoutMs)} ms` });
        void this.#runtime.stop(record.id, { graceS: this.#config.daemon.killTimeoutMs / 1000 }).catch(() => undefined);
      }
    }
  }

  #flush(tick: number): void {
    const first = tick + 1 - this.#config.daemon.settleEveryTicks;
    try {
      this.#bank.flush(`ticks ${String(Math.max(0, first))}–${String(tick)}`);
    } catch (err) {
      // Nothing pending is dropped; the next flush retries. Said loudly, once per failure.
      this.ledgerFailures.push(`tick ${String(tick)}: ${toError(err).message}`);
      this.#onLedgerFailure?.(toError(err));
    }
    for (const record of this.#agents.values()) {
      if (record.phase === 'dead') continue;
      this.protocol.send(record.id, { type: 'balance', balanceJ: toJoules(this.#bank.balance(record.id)) });
    }
  }

  #onMessage(agentId: string, message: AgentMessage): void {
    const record = this.#agents.get(agentId);
    if (record === undefined || record.phase === 'dead') return;
    if (message.type === 'bid') {
      const outcome: SubmitOutcome | 'not-auctioned' =
        this.mode === 'observe' ? 'not-auctioned' : this.#book.submit({ agentId, seq: message.seq, pricePerQuantumJ: message.pricePerQuantumJ, budgetJ: message.budgetJ, plane: message.plane });
      this.protocol.send(agentId, { type: 'result', seq: message.seq, outcome });
    } else if (message.type === 'work') {
      const verdict = this.oracle.verify(agentId, toPrimeClaim(message));
      record.verifiedPrimes += verdict.counts.accepted;
      record.rejectedClaims += message.primes.length - verdict.counts.accepted;
      if (verdict.incomeMicroJ > 0n && this.mode === 'market') {
        this.#bank.income(agentId, verdict.incomeMicroJ);
        record.incomeMicroJ += verdict.incomeMicroJ;
      }
      const outcome = verdict.counts.accepted === message.primes.length ? 'accepted' : verdict.counts.accepted > 0 ? 'partly-accepted' : 'rejected';
      this.protocol.send(agentId, { type: 'result', seq: message.seq, outcome, counts: verdict.counts, incomeJ: this.mode === 'market' ? toJoules(verdict.incomeMicroJ) : 0 });
    }
  }

  #onExit(agentId: string, reason: string, detail: string): void {
    const record = this.#agents.get(agentId);
    if (record === undefined || record.phase === 'dead') return;
    const survivalMs = this.#nowMs() - record.startedAtMs;
    // An agent that ends itself after its notice dies of insolvency all the same.
    const why = record.phase === 'dying' || this.#apoptosis.phase(agentId) === 'grace' ? 'apoptosis' : reason;
    record.phase = 'dead';
    record.lastUnit = null;
    this.#book.retire(agentId);
    this.#enforcer.forget(agentId);
    this.#entropy.unwatch(agentId);
    this.#apoptosis.forget(agentId);
    const finalBalanceMicroJ = this.#bank.balance(agentId);
    this.#bank.settle(agentId, survivalMs, why);
    record.ended = { reason: why, survivalMs, finalBalanceMicroJ };
    this.#decide({ action: 'kill', agentId, plane: null, because: `ended (${why}${detail === '' ? '' : `, ${detail}`}) after ${(survivalMs / 1000).toFixed(2)} s; final balance ${toJoules(finalBalanceMicroJ).toFixed(6)} J settled` });
    this.#exits.set(agentId, this.protocol.removeAgent(agentId));
  }

  async spawnAgent(request: SpawnRequest): Promise<AgentView> {
    if (this.#stopping) throw new InvalidArgumentError('the daemon is stopping');
    const id = request.id ?? `agent-${randomBytes(4).toString('hex')}`;
    if (!AGENT_ID.test(id)) throw new AgentSpecError(`invalid agent id ${JSON.stringify(id)}: letters, digits, '_' and '-', at most 48`);
    if (this.#agents.has(id)) throw new AgentSpecError(`an agent named ${id} exists (ids are never reused: its ledger account stays)`);
    if (!(request.walletJ >= 0 && request.walletJ <= MAX_WALLET_J)) throw new InvalidArgumentError(`wallet must be 0–${String(MAX_WALLET_J)} J, got ${String(request.walletJ)}`);
    const runtime = this.#runtimeKindFor(request.runtime);
    const endpoint = await this.protocol.addAgent(id);
    const record = newRecord(id, request.role ?? 'other', runtime, this.#nowMs());
    this.#agents.set(id, record);
    // Everything is in place before the process starts: its first bid may arrive at once.
    this.#book.register(id);
    if (request.bid !== undefined) this.#book.place(id, request.bid.pricePerQuantumJ, request.bid.budgetJ, request.bid.plane);
    // Erasure is watched from the agent's first instruction where the source can filter by cgroup;
    // a refused watch is not fatal: the pid watch below still follows the agent after start.
    const watchCgroups = this.#entropy.watchCgroups?.bind(this.#entropy);
    const beforeExec = watchCgroups === undefined ? {} : { beforeExec: (dirs: readonly string[]) => watchCgroups(id, dirs).catch(() => undefined) };
    try {
      const info = await this.#runtime.start({
        id,
        runtime,
        command: request.command,
        args: request.args ?? [],
        env: { ...request.env, ...endpoint.env },
        ...(request.memoryLimitBytes === undefined ? {} : { memoryLimitBytes: request.memoryLimitBytes }),
      }, beforeExec);
      record.pid = info.pid;
    } catch (err) {
      this.#entropy.unwatch(id);
      this.#book.retire(id);
      this.#agents.delete(id);
      await this.protocol.removeAgent(id);
      throw err;
    }
    record.phase = 'running';
    this.#bank.mint(id, toMicroJ(request.walletJ));
    // Worker threads have no CPU affinity: a WASM agent is scheduled, never pinned.
    this.#enforcer.admit(id, runtime !== 'wasm');
    this.#apoptosis.admit(id, record.startedAtMs);
    if (record.pid !== null) this.#entropy.watch({ agentId: id, pid: record.pid });
    return this.agent(id);
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

  listAgents(): readonly AgentView[] {
    return [...this.#agents.keys()].map((id) => this.agent(id));
  }

  agent(id: string): AgentView {
    const record = this.#agents.get(id);
    if (record === undefined) throw new AgentUnknownError(`no agent ${id}`);
    return viewOf(record, this.#bank.balance(id), this.#book, this.protocol.isConnected(id));
  }

  /** Raw per-agent figures for reports (primes, quanta, payments). */
  records(): readonly Readonly<AgentRecord>[] {
    return [...this.#agents.values()];
  }

  async stopAgent(id: string): Promise<AgentView> {
    const record = this.#agents.get(id);
    if (record === undefined) throw new AgentUnknownError(`no agent ${id}`);
    if (record.phase !== 'dead') {
      await this.#runtime.stop(id, { graceS: this.#config.daemon.killTimeoutMs / 1000 }).catch((err: unknown) => {
        if (this.#agents.get(id)?.phase !== 'dead') throw toError(err);
      });
    }
    return this.agent(id);
  }

  setBid(id: string, bid: { readonly pricePerQuantumJ: number; readonly budgetJ?: number; readonly plane?: Plane }): SubmitOutcome {
    if (!this.#agents.has(id)) throw new AgentUnknownError(`no agent ${id}`);
    return this.#book.place(id, bid.pricePerQuantumJ, bid.budgetJ, bid.plane);
  }

  wallet(id: string): WalletView {
    if (!this.#agents.has(id)) throw new AgentUnknownError(`no agent ${id}`);
    const balance = this.#bank.balance(id);
    return { agentId: id, balanceJ: toJoules(balance), balanceMicroJ: balance.toString() };
  }

  topUp(id: string, joules: number): WalletView {
    const record = this.#agents.get(id);
    if (record === undefined) throw new AgentUnknownError(`no agent ${id}`);
    if (!(joules > 0 && joules <= MAX_WALLET_J)) throw new InvalidArgumentError(`top-up must be > 0 and ≤ ${String(MAX_WALLET_J)} J, got ${String(joules)}`);
    if (record.phase === 'dead' || record.phase === 'dying') throw new InvalidArgumentError(`agent ${id} is ${record.phase}: too late to top up`);
    this.#bank.mint(id, toMicroJ(joules));
    return this.wallet(id);
  }

  ledgerEntries(options: { readonly fromSeq?: number; readonly limit?: number; readonly agentId?: string }): readonly LedgerEntry[] {
    return this.ledger.entries({
      ...(options.fromSeq === undefined ? {} : { fromSeq: options.fromSeq }),
      ...(options.limit === undefined ? {} : { limit: options.limit }),
      ...(options.agentId === undefined ? {} : { account: `agent:${options.agentId}` as const }),
    });
  }

  verifyLedger(): VerifyReport {
    return verifyLedger(this.ledger.path);
  }

  snapshot(): DaemonSnapshot {
    const thermal = this.#lastThermal;
    const stats = this.#loop.stats();
    const cpu = process.cpuUsage(this.#cpuAtStart);
    let hostedCpuMs = 0;
    for (const record of this.#agents.values()) hostedCpuMs += record.hostedCpuS * 1000;
    const uptimeMs = this.#nowMs() - this.#startedMs;
    return {
      tick: this.#tick,
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
        setpointC: this.#thermal.foreign?.setpointsC[core] ?? this.#config.control.setpointC,
      })),
      agents: this.listAgents(),
      powerW: thermal?.powerW ?? Number.NaN,
      energySource: this.#thermal.energySource,
      clearingP99Ms: stats.clearP99Ms,
      ledgerHead: this.ledger.headHash,
      overheadFraction: uptimeMs > 0 ? Math.max(0, (cpu.user + cpu.system) / 1000 - hostedCpuMs) / uptimeMs : 0,
      enforcement: this.#enforcer.stats,
      failedTicks: stats.failedTicks,
      foreignLoad: {
        policy: this.#thermal.foreign?.policy ?? 'hold-setpoint',
        measured: this.#thermal.foreign?.measured ?? false,
        fraction: this.#thermal.foreign?.share ?? 0,
      },
    };
  }

  /** Package energy since start, J (from the same source as temperatures). */
  energyJ(): number {
    return this.#lastThermal?.energyJ ?? 0;
  }

  get clearingP99Ms(): number {
    return this.#loop.stats().clearP99Ms;
  }

  get emergencyLatenciesMs(): readonly number[] {
    return this.#emergencyLatenciesMs;
  }

  decisions(limit?: number): readonly Decision[] {
    return this.decisionLog.last(limit);
  }

  /** Called when a ledger write fails (e.g. the disk is full); the daemon goes on and retries. */
  onLedgerFailure(listener: (err: Error) => void): void {
    this.#onLedgerFailure = listener;
  }

  onTick(listener: (event: TickEvent) => void): () => void {
    this.#tickListeners.add(listener);
    return () => this.#tickListeners.delete(listener);
  }

  /** Stops every agent, restores every knob, writes what is pending and closes the ledger. */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    await this.#enforcer.restoreAll();
    await Promise.all(
      [...this.#agents.values()].filter((r) => r.phase !== 'dead').map((r) => this.#runtime.stop(r.id, { graceS: this.#config.daemon.killTimeoutMs / 1000 }).catch(() => undefined)),
    );
    await this.#loop.stop();
    for (const record of this.#agents.values()) if (record.phase !== 'dead') this.#onExit(record.id, 'runtime-closed', '');
    try {
      this.#bank.flush('shutdown');
    } catch (err) {
      this.ledgerFailures.push(`shutdown: ${toError(err).message}`);
      this.#onLedgerFailure?.(toError(err));
    } finally {
      await Promise.all(this.#exits.values());
      await this.protocol.close();
      await this.#entropy.close();
      this.ledger.close();
    }
  }
}
