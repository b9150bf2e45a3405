/**
 * The market session: every rule of docs/DESIGN.md §2 that decides who runs and who pays, once per
 * tick — emergency → clearing → enforcement → Landauer tax → solvency → ledger — and the
 * operators' and agents' calls between ticks. Pure: no I/O, synchronous, its time from an
 * injected clock; the world is reached only through the ports (`ports.ts`) and the mode is a
 * policy object (`policy.ts`). So its rules are unit-tested with a manual clock and fakes,
 * without root, processes or sleeps; the daemon (`daemon/`) wires it to the real parts.
 *
 * Every change of an agent's phase goes through the state machine of `phase.ts`.
 *
 * One class of ≈ 500 lines on purpose: the tick's rules, the agents' messages and the operators'
 * calls all read and change the same agent table, book and bank, and splitting them would hand
 * that state around instead of keeping it in one place.
 */
import type { AgentId } from '../agent-id.js';
import type { MaxwellConfig } from '../config/schema.js';
import { AgentExistsError, AgentUnknownError, InvalidArgumentError, toError } from '../errors.js';
import { microJ, toJoules, toMicroJ } from '../units/money.js';
import { Apoptosis } from '../market/apoptosis.js';
import { ClearingEngine, type EngineTick, type PlaneOffer } from '../market/engine.js';
import { landauerTax } from '../market/landauer.js';
import { OrderBook, type Plane, type SubmitOutcome } from '../market/order-book.js';
import { PrimeOracle } from '../market/prime-oracle.js';
import { toPrimeClaim, type AgentMessage } from '../protocol/messages.js';
import type { RuntimeKind } from '../runtimes/runtime.js';
import { Bank } from './bank.js';
import { transition } from './phase.js';
import type { ModePolicy, TickRules } from './policy.js';
import type { AgentChannel, Clock, EnforcementPort, ErasureFeed, LedgerWriter, ThermalInput, ThermalProvenance } from './ports.js';
import { DecisionLog, newRecord, viewOf, type AgentRecord } from './records.js';
import type { AgentRole, AgentView, Decision, WalletView } from './types.js';

/** The daemon settings the session's rules read. */
export type SessionRules = Pick<
  MaxwellConfig['daemon'],
  'incomePerPrimeJ' | 'oracleSample' | 'graceMs' | 'rescueMarginPercent' | 'clearing' | 'tieRotationTicks' | 'criticalC' | 'landauerMultiplier' | 'settleEveryTicks' | 'killTimeoutMs'
>;

/** What a flagged agent's trace verdicts lead to (config `verification`). */
export interface VerificationRules {
  /** Consecutive windows that disagree with the claim before the agent is flagged. */
  readonly mismatchWindows: number;
  readonly onMismatch: 'withhold-income' | 'audit' | 'log';
}

/** How much the `audit` policy multiplies a flagged agent's audit probability. */
export const FLAGGED_AUDIT_RATE = 10;

export interface MarketSessionOptions {
  readonly rules: Readonly<SessionRules>;
  /** @default 3 windows, withhold-income */
  readonly verification?: VerificationRules;
  readonly policy: ModePolicy;
  readonly clock: Clock;
  readonly ledger: LedgerWriter;
  readonly channel: AgentChannel;
  readonly enforcer: EnforcementPort;
  readonly entropy: ErasureFeed;
  readonly thermal: ThermalProvenance;
  /** Where the clearing's cost is timed, ms. @default performance.now */
  readonly costClockMs?: () => number;
}

/** What `admit` needs: an agent about to be started. */
export interface Admission {
  readonly id: AgentId;
  readonly role: AgentRole;
  readonly runtime: RuntimeKind;
  /** Joules minted into its wallet once it has started. */
  readonly walletJ: number;
  readonly bid?: { readonly pricePerQuantumJ: number; readonly budgetJ?: number; readonly plane?: Plane } | undefined;
  /** The work class it claims (its trace is judged against it), e.g. `inference`. */
  readonly claims?: string | undefined;
  /** Joules of its wallet put in escrow at start: what serving inference risks (a slash burns it). */
  readonly stakeJ?: number | undefined;
}

/** The verifier's judgement of one inference request (from the daemon's inference service). */
export interface InferenceJudgement {
  readonly requestId: number;
  /** Tokens whose income is due if nothing failed. */
  readonly tokens: number;
  readonly incomeMicroJ: bigint;
  /** Proof of cheating (a failed commitment, spot check or audit): the stake is slashed. */
  readonly evidence: { readonly layer: number; readonly reason: string } | null;
  /** Statistical failures (layer 1, timing, a timeout): no income when `unpaid`, a raised audit rate. */
  readonly suspicions: readonly string[];
  /** Pay nothing for this request (it timed out or its answer was unusable). */
  readonly unpaid?: boolean;
}

export interface InferenceSettlement {
  readonly outcome: 'paid' | 'withheld' | 'unpaid' | 'slashed';
  readonly incomeMicroJ: bigint;
  readonly slashedMicroJ: bigint;
}

/** Requests judged with a raised audit probability after a statistical failure, and by how much. */
export const SUSPECT_AUDIT_REQUESTS = 10;
export const SUSPECT_AUDIT_RATE = 10;

export const MAX_WALLET_J = 1e9;
/** How long a new agent without a bid is left running so it can connect and bid, ms. */
export const STARTUP_MS = 2000;

export class MarketSession {
  readonly policy: ModePolicy;
  readonly oracle: PrimeOracle;
  readonly decisionLog = new DecisionLog();
  /** Ledger writes that failed (their movements stayed pending and were retried). */
  readonly ledgerFailures: string[] = [];
  readonly #rules: Readonly<SessionRules>;
  readonly #verification: VerificationRules;
  readonly #clock: Clock;
  readonly #channel: AgentChannel;
  readonly #enforcer: EnforcementPort;
  readonly #entropy: ErasureFeed;
  readonly #thermal: ThermalProvenance;
  readonly #book = new OrderBook();
  readonly #bank: Bank;
  readonly #apoptosis: Apoptosis;
  readonly #engine: ClearingEngine;
  readonly #agents = new Map<string, AgentRecord>();
  /** Ended agents whose records were dropped (`forgetEnded`): their ids stay taken, as their ledger accounts stay. */
  readonly #forgotten = new Set<string>();
  /** What the dropped records had counted, so that totals never go backwards. */
  #forgottenHostedCpuS = 0;
  #forgottenTaxMicroJ = 0n;
  /** The agents not dead, in admission order: the tick walks this array (no iterator per tick). */
  readonly #live: AgentRecord[] = [];
  readonly #offers = new Map<Plane, PlaneOffer>();
  readonly #emergencyLatenciesMs: number[] = [];
  readonly #tickRules: TickRules;
  /** Opening wallets of admitted agents, minted once they have started. */
  readonly #pendingWallets = new Map<string, number>();
  #tick = 0;
  #closed = false;
  #onLedgerFailure: ((err: Error) => void) | undefined;

  constructor(options: MarketSessionOptions) {
    const { rules } = options;
    this.policy = options.policy;
    this.#rules = rules;
    this.#verification = options.verification ?? { mismatchWindows: 3, onMismatch: 'withhold-income' };
    this.#clock = options.clock;
    this.#channel = options.channel;
    this.#enforcer = options.enforcer;
    this.#entropy = options.entropy;
    this.#thermal = options.thermal;
    this.#bank = new Bank(options.ledger);
    this.oracle = new PrimeOracle(toMicroJ(rules.incomePerPrimeJ), { sample: rules.oracleSample });
    this.#apoptosis = new Apoptosis({ graceMs: rules.graceMs, rescueMarginPercent: rules.rescueMarginPercent });
    this.#engine = new ClearingEngine({
      book: this.#book,
      mode: rules.clearing,
      tieRotationTicks: rules.tieRotationTicks,
      // The book's ids are the session's own (registered from an AgentId in `admit`).
      walletJ: (id) => this.#bank.balanceJ(id as AgentId),
      ...(options.costClockMs === undefined ? {} : { nowMs: options.costClockMs }),
    });
    this.#tickRules = {
      emergency: (thermal) => { this.#emergency(thermal); },
      enforce: (result, thermal) => { this.#enforce(result, thermal); },
      rent: (thermal) => { this.#rent(thermal); },
      tax: (thermal, charge) => { this.#tax(thermal, charge); },
      solvency: (thermal) => { this.#solvency(thermal); },
    };
  }

  get mode(): ModePolicy['mode'] {
    return this.policy.mode;
  }

  /** The last tick stepped. */
  get tick(): number {
    return this.#tick;
  }

  get emergencyLatenciesMs(): readonly number[] {
    return this.#emergencyLatenciesMs;
  }

  nowMs(): number {
    return this.#clock.now() * 1000;
  }

  /** Called when a ledger write fails (e.g. the disk is full); the session goes on and retries. */
  onLedgerFailure(listener: (err: Error) => void): void {
    this.#onLedgerFailure = listener;
  }

  #decide(decision: Omit<Decision, 'tick' | 'atMs'>): void {
    this.decisionLog.add({ tick: this.#tick, atMs: this.nowMs(), ...decision });
  }

  // ── Agents' lives ────────────────────────────────────────────────────────────────────────

  /**
   * Takes an agent about to start: it can bid at once (its first bid may arrive before the
   * start returns), but has no wallet until `started`. Refuses a used id, a bad wallet, and
   * everything once the session is closing.
   */
  admit(admission: Admission): void {
    if (this.#closed) throw new InvalidArgumentError('the daemon is stopping');
    const { id } = admission;
    if (this.#agents.has(id) || this.#forgotten.has(id)) throw new AgentExistsError(`an agent named ${id} exists or existed (ids are never reused: its ledger account stays)`);
    if (!(admission.walletJ >= 0 && admission.walletJ <= MAX_WALLET_J)) throw new InvalidArgumentError(`wallet must be 0–${String(MAX_WALLET_J)} J, got ${String(admission.walletJ)}`);
    const stakeJ = admission.stakeJ ?? 0;
    if (!(stakeJ >= 0 && stakeJ <= admission.walletJ)) throw new InvalidArgumentError(`stake must be 0–${String(admission.walletJ)} J (it comes out of the wallet), got ${String(stakeJ)}`);
    const record = newRecord(id, admission.role, admission.runtime, this.nowMs());
    if (stakeJ > 0) record.inference = { stakedMicroJ: toMicroJ(stakeJ), slashedMicroJ: 0n, serving: false, requests: 0, inFlight: 0, verifiedTokens: 0, suspectRequests: 0, auditBoostLeft: 0, lastFailure: null };
    if (admission.claims !== undefined) record.verification = { claims: admission.claims, observed: null, windows: 0, inconsistentWindows: 0, mismatches: 0, flagged: false, auditRate: 1, withheldMicroJ: 0n };
    this.#agents.set(id, record);
    this.#live.push(record);
    this.#book.register(id);
    const bid = admission.bid;
    if (bid !== undefined) this.#book.place(id, bid.pricePerQuantumJ, bid.budgetJ, bid.plane);
    this.#pendingWallets.set(id, admission.walletJ);
  }

  /** The agent's process (or thread, or VM) runs: its wallet opens and enforcement begins. */
  started(id: AgentId, info: { readonly pid: number | null; readonly pinning: boolean }): AgentView {
    const record = this.#record(id);
    record.pid = info.pid;
    transition(record, 'started');
    this.#bank.mint(id, toMicroJ(this.#pendingWallets.get(id) ?? 0));
    if (record.inference !== null) this.#bank.stake(id, record.inference.stakedMicroJ);
    this.#pendingWallets.delete(id);
    this.#enforcer.admit(id, info.pinning);
    this.#apoptosis.admit(id, record.startedAtMs);
    if (record.pid !== null) this.#entropy.watch({ agentId: id, pid: record.pid });
    return this.agent(id);
  }

  /** The start failed: the agent never existed (no wallet was opened, the id is free again). */
  abandon(id: AgentId): void {
    const record = this.#agents.get(id);
    if (record?.phase !== 'starting') return;
    this.#entropy.unwatch(id);
    this.#book.retire(id);
    this.#agents.delete(id);
    this.#pendingWallets.delete(id);
    this.#removeLive(record);
  }

  /**
   * The agent ended (its own exit, a kill, the runtime closing): its bid is withdrawn, its
   * wallet settled at the next ledger write. Returns false for an unknown or dead agent.
   */
  exited(id: AgentId, reason: string, detail = ''): boolean {
    const record = this.#agents.get(id);
    if (record === undefined || record.phase === 'dead') return false;
    const survivalMs = this.nowMs() - record.startedAtMs;
    // An agent that ends itself after its notice dies of insolvency all the same.
    const why = record.endingBecause ?? (record.phase === 'dying' || this.#apoptosis.phase(id) === 'grace' ? 'apoptosis' : reason);
    transition(record, 'exited');
    record.lastUnit = null;
    this.#removeLive(record);
    this.#book.retire(id);
    this.#enforcer.forget(id);
    this.#entropy.unwatch(id);
    this.#apoptosis.forget(id);
    this.#pendingWallets.delete(id);
    const finalBalanceMicroJ = this.#bank.balance(id);
    const pending = record.inference?.inFlight ?? 0;
    // Its stake stays in escrow until the verdicts on its last requests are in: exiting must not save a cheater's stake.
    if (pending > 0) record.deferredSettlement = { survivalMs, reason: why };
    else this.#bank.settle(id, survivalMs, why);
    record.ended = { reason: why, survivalMs, finalBalanceMicroJ };
    const settled = pending > 0 ? `settled once the verdicts on its ${String(pending)} pending request(s) are in` : 'settled';
    this.#decide({ action: 'kill', agentId: id, plane: null, because: `ended (${why}${detail === '' ? '' : `, ${detail}`}) after ${(survivalMs / 1000).toFixed(2)} s; final balance ${toJoules(finalBalanceMicroJ).toFixed(6)} J ${settled}` });
    return true;
  }

  // ── Proof of inference (the daemon's inference service judges; the session pays, slashes, ends) ──

  /** The agent says it serves inference: allowed when it has a stake in escrow. */
  serveInference(agentId: AgentId): 'serving' | 'no-stake' | 'not-running' {
    const record = this.#agents.get(agentId);
    if (record === undefined || (record.phase !== 'running' && record.phase !== 'paused')) return 'not-running';
    if (record.inference === null || this.#bank.escrowed(agentId) <= 0n) return 'no-stake';
    record.inference.serving = true;
    return 'serving';
  }

  /** Agents that can be sent an inference request now: serving, staked, alive and not being ended. */
  inferenceServers(): AgentId[] {
    return this.#live.filter((r) => this.#servesInference(r)).map((r) => r.id);
  }

  /** Whether this one agent is among `inferenceServers()` (without building the list: the claim verifier asks every tick). */
  servesInference(agentId: AgentId): boolean {
    const record = this.#agents.get(agentId);
    return record !== undefined && this.#servesInference(record);
  }

  #servesInference(r: AgentRecord): boolean {
    return r.inference?.serving === true && (r.phase === 'running' || r.phase === 'paused') && this.#bank.escrowed(r.id) > 0n;
  }

  /** Its stake in escrow now, µJ. */
  stakeOf(agentId: AgentId): bigint {
    return this.#bank.escrowed(agentId);
  }

  /** Multiplier on the agent's audit probability: raised while its trace is flagged (`audit` policy) or after a statistical failure. */
  auditMultiplier(agentId: AgentId): number {
    const record = this.#agents.get(agentId);
    const trace = record?.verification?.auditRate ?? 1;
    return Math.max(trace, (record?.inference?.auditBoostLeft ?? 0) > 0 ? SUSPECT_AUDIT_RATE : 1);
  }

  /** A request is sent to the agent (its settlement waits for the verdict). */
  inferenceSent(agentId: AgentId): void {
    const v = this.#record(agentId).inference;
    if (v === null) throw new InvalidArgumentError(`${agentId} has no stake: it cannot serve inference`);
    v.requests++;
    v.inFlight++;
  }

  /**
   * The verdict on one request: evidence slashes the whole stake and ends the agent; otherwise its
   * tokens earn income (unless its trace is flagged under `withhold-income`, or in observe mode),
   * and a statistical failure raises its audit rate for the next requests.
   */
  judgeInference(agentId: AgentId, judgement: InferenceJudgement): InferenceSettlement {
    const record = this.#record(agentId);
    const v = record.inference;
    if (v === null) throw new InvalidArgumentError(`${agentId} has no stake: it cannot serve inference`);
    v.inFlight = Math.max(0, v.inFlight - 1);
    if (v.auditBoostLeft > 0) v.auditBoostLeft--;
    let settlement: InferenceSettlement;
    if (judgement.evidence !== null) {
      const slashed = this.#bank.slash(agentId);
      v.slashedMicroJ += slashed;
      v.serving = false;
      v.lastFailure = judgement.evidence.reason;
      this.#decide({ action: 'slash', agentId, plane: null, because: `request ${String(judgement.requestId)} failed layer ${String(judgement.evidence.layer)}: ${judgement.evidence.reason}; stake of ${toJoules(slashed).toFixed(6)} J burned` });
      if (record.phase === 'running' || record.phase === 'paused') {
        transition(record, 'slashed');
        record.endingBecause = 'slashed';
        this.#decide({ action: 'kill', agentId, plane: null, because: `slashed for cheating at inference (request ${String(judgement.requestId)}); SIGTERM, SIGKILL after ${String(this.#rules.killTimeoutMs)} ms` });
        this.#enforcer.terminate(agentId, this.#rules.killTimeoutMs / 1000);
      }
      settlement = { outcome: 'slashed', incomeMicroJ: 0n, slashedMicroJ: slashed };
    } else {
      if (judgement.suspicions.length > 0) {
        v.suspectRequests++;
        v.auditBoostLeft = SUSPECT_AUDIT_REQUESTS;
        v.lastFailure = judgement.suspicions[0] ?? null;
        this.#decide({ action: 'suspect', agentId, plane: null, because: `request ${String(judgement.requestId)}: ${judgement.suspicions.join('; ')}; audit probability ×${String(SUSPECT_AUDIT_RATE)} for its next ${String(SUSPECT_AUDIT_REQUESTS)} requests` });
      }
      const withheld = record.verification?.flagged === true && this.#verification.onMismatch === 'withhold-income';
      const dead = record.phase === 'dead' || record.phase === 'dying';
      if (judgement.unpaid === true || !this.policy.paysIncome || dead || judgement.incomeMicroJ <= 0n) settlement = { outcome: 'unpaid', incomeMicroJ: 0n, slashedMicroJ: 0n };
      else if (withheld) {
        if (record.verification !== null) record.verification.withheldMicroJ += judgement.incomeMicroJ;
        settlement = { outcome: 'withheld', incomeMicroJ: 0n, slashedMicroJ: 0n };
      } else {
        this.#bank.income(agentId, microJ(judgement.incomeMicroJ));
        record.incomeMicroJ += judgement.incomeMicroJ;
        settlement = { outcome: 'paid', incomeMicroJ: judgement.incomeMicroJ, slashedMicroJ: 0n };
      }
      if (judgement.unpaid !== true) v.verifiedTokens += judgement.tokens;
    }
    const deferred = record.deferredSettlement;
    if (deferred !== null && v.inFlight === 0) {
      record.deferredSettlement = null;
      this.#bank.settle(agentId, deferred.survivalMs, deferred.reason);
    }
    return settlement;
  }

  #removeLive(record: AgentRecord): void {
    const at = this.#live.indexOf(record);
    if (at >= 0) this.#live.splice(at, 1);
  }

  /** The agent is about to be stopped for `reason` (e.g. `migrated`): its exit is recorded with that reason. */
  markEnding(id: AgentId, reason: string): void {
    const record = this.#agents.get(id);
    if (record !== undefined && record.phase !== 'dead') record.endingBecause = reason;
  }

  /** Adds a decision made outside the tick (e.g. a migration), at the current tick. */
  note(decision: Omit<Decision, 'tick' | 'atMs'>): void {
    this.#decide(decision);
  }

  /** No more admissions (the daemon is stopping); the agents still here end by `exited`. */
  close(): void {
    this.#closed = true;
  }

  /**
   * Settles agents whose settlement waits for verdicts that will not come now (shutdown): their
   * stakes go back with their balances, so nothing is left in escrow when the ledger is closed.
   */
  settleDeferred(): void {
    for (const record of this.#agents.values()) {
      const deferred = record.deferredSettlement;
      if (deferred === null) continue;
      record.deferredSettlement = null;
      if (record.inference !== null) record.inference.inFlight = 0;
      this.#bank.settle(record.id, deferred.survivalMs, deferred.reason);
    }
  }

  /** Ids of the agents not dead yet. */
  liveIds(): readonly AgentId[] {
    return this.#live.map((r) => r.id);
  }

  // ── What agents send ─────────────────────────────────────────────────────────────────────

  /** A checked message from an agent's socket; its answer goes back through the channel. */
  receive(agentId: AgentId, message: AgentMessage): void {
    const record = this.#agents.get(agentId);
    if (record === undefined || record.phase === 'dead') return;
    if (message.type === 'bid') {
      const outcome = this.policy.bid(() => this.#book.submit({ agentId, seq: message.seq, pricePerQuantumJ: message.pricePerQuantumJ, budgetJ: message.budgetJ, plane: message.plane }));
      this.#channel.send(agentId, { type: 'result', seq: message.seq, outcome });
    } else if (message.type === 'work') {
      const verdict = this.oracle.verify(agentId, toPrimeClaim(message));
      record.verifiedPrimes += verdict.counts.accepted;
      record.rejectedClaims += message.primes.length - verdict.counts.accepted;
      const withheld = record.verification?.flagged === true && this.#verification.onMismatch === 'withhold-income';
      const paid = this.policy.paysIncome && verdict.incomeMicroJ > 0n && !withheld;
      if (paid) {
        this.#bank.income(agentId, microJ(verdict.incomeMicroJ));
        record.incomeMicroJ += verdict.incomeMicroJ;
      } else if (withheld && record.verification !== null) record.verification.withheldMicroJ += verdict.incomeMicroJ;
      const outcome = withheld && verdict.incomeMicroJ > 0n ? 'withheld' : verdict.counts.accepted === message.primes.length ? 'accepted' : verdict.counts.accepted > 0 ? 'partly-accepted' : 'rejected';
      this.#channel.send(agentId, { type: 'result', seq: message.seq, outcome, counts: verdict.counts, incomeJ: paid ? toJoules(verdict.incomeMicroJ) : 0 });
    }
  }

  /**
   * One window's verdict on an agent's trace (from the daemon's claim verifier): consistent with
   * its claim or not, with what was seen (`observed`: the claim itself when consistent) and what
   * judged it (`why`). Flags the agent after `verification.mismatchWindows` inconsistent windows in
   * a row, unflags it after as many consistent ones; each change is a decision with its reason.
   */
  noteClaimVerdict(agentId: AgentId, verdict: { readonly consistent: boolean; readonly observed: string; readonly why: string }): void {
    const record = this.#agents.get(agentId);
    const v = record?.verification;
    if (record === undefined || v === null || v === undefined || record.phase === 'dead') return;
    v.observed = verdict.observed;
    v.windows++;
    const needed = this.#verification.mismatchWindows;
    if (!verdict.consistent) {
      v.inconsistentWindows++;
      v.mismatches = v.flagged ? needed : v.mismatches + 1;
    } else v.mismatches = v.flagged ? v.mismatches - 1 : 0;
    if (!v.flagged && v.mismatches >= needed) {
      v.flagged = true;
      if (this.#verification.onMismatch === 'audit') v.auditRate = FLAGGED_AUDIT_RATE;
      const effect = { 'withhold-income': 'its verified work earns nothing while flagged', audit: `its audit rate is raised ${String(FLAGGED_AUDIT_RATE)}×`, log: 'logged only' }[this.#verification.onMismatch];
      this.#decide({ action: 'flag', agentId, plane: null, because: `claims ${v.claims}, but its trace was inconsistent with it in ${String(needed)} windows in a row (last: ${verdict.observed}; ${verdict.why}); ${effect}` });
    } else if (v.flagged && v.mismatches <= 0) {
      v.flagged = false;
      v.mismatches = 0;
      v.auditRate = 1;
      this.#decide({ action: 'unflag', agentId, plane: null, because: `its trace was consistent with its claim (${v.claims}) in ${String(needed)} windows in a row (${verdict.why})` });
    }
  }

  // ── The tick ─────────────────────────────────────────────────────────────────────────────

  /**
   * One tick: the policy's rules around the clearing, then the ledger every `settleEveryTicks`.
   * The result's awards are reused by the next step (copy what you keep).
   */
  step(tick: number, thermal: ThermalInput): EngineTick {
    this.#tick = tick;
    this.policy.beforeClearing(this.#tickRules, thermal);
    const result = this.#engine.clearTick(tick, this.policy.offers(thermal, this.#offers));
    this.policy.afterClearing(this.#tickRules, result, thermal);
    if ((tick + 1) % this.#rules.settleEveryTicks === 0) this.flush(`ticks ${String(Math.max(0, tick + 1 - this.#rules.settleEveryTicks))}–${String(tick)}`);
    return result;
  }

  /** Decisions since the last call (for the tick event). */
  takeTickDecisions(): Decision[] {
    return this.decisionLog.takeTickDecisions();
  }

  /** A core above the critical temperature: its agents are paused now, outside the auction. */
  #emergency(thermal: ThermalInput): void {
    const critical = this.#rules.criticalC;
    const temperatures = thermal.temperaturesC;
    for (let core = 0; core < temperatures.length; core++) {
      const t = temperatures[core] ?? 0;
      if (!(t > critical)) continue;
      const source = this.#thermal.coreSource(core);
      for (let i = 0; i < this.#live.length; i++) {
        const record = this.#live[i] as AgentRecord;
        // Its agents: those that won this core, and running agents not pinned anywhere yet.
        if (record.phase !== 'running' || (record.lastUnit !== core && record.lastUnit !== null)) continue;
        this.#pauseForHeat(record, core, t, source);
      }
    }
  }

  /** Apart from `#emergency` so that its closure makes no context on the ticks without an emergency. */
  #pauseForHeat(record: AgentRecord, core: number, temperatureC: number, source: string): void {
    transition(record, 'emergency');
    record.lastUnit = null;
    const detected = this.nowMs();
    const critical = this.#rules.criticalC;
    void this.#enforcer.pauseNow(record.id).then((latencyMs) => {
      this.#emergencyLatenciesMs.push(latencyMs);
      this.#decide({ action: 'emergency-pause', agentId: record.id, plane: 'cpu', because: `core ${String(core)} at ${temperatureC.toFixed(1)} °C > critical ${String(critical)} °C (${source}); paused in ${latencyMs.toFixed(2)} ms (${(this.nowMs() - detected).toFixed(2)} ms from detection)` });
    });
  }

  #enforce(result: EngineTick, thermal: ThermalInput): void {
    const live = this.#live;
    for (let i = 0; i < live.length; i++) (live[i] as AgentRecord).wonUnit = -1;
    for (let a = 0; a < result.awards.length; a++) {
      const award = result.awards[a];
      if (award === undefined) continue;
      const record = this.#agents.get(award.agentId);
      if (record === undefined || record.phase === 'dying' || record.phase === 'dead') continue;
      const microJ = toMicroJ(award.paymentJ);
      // Spent by a tax since the clearing read its balance: it does not run.
      if (microJ > this.#bank.balance(record.id)) continue;
      this.#bank.pay(record.id, microJ);
      record.paidMicroJ += microJ;
      record.quantaWon++;
      record.wonUnit = award.unit;
    }
    const now = this.nowMs();
    for (let i = 0; i < live.length; i++) {
      const record = live[i] as AgentRecord;
      if (record.phase === 'starting' || record.phase === 'dying') continue;
      // A newcomer runs until it has had time to connect and bid: freezing it first would
      // keep it from ever bidding.
      const bid = this.#book.bidOf(record.id);
      if (bid === undefined && now - record.startedAtMs < STARTUP_MS) continue;
      const unit = record.wonUnit;
      const running = unit >= 0;
      if (running && record.phase === 'paused') {
        transition(record, 'won');
        this.#decide({ action: 'resume', agentId: record.id, plane: 'cpu', because: `won core ${String(unit)} at ${String(bid?.pricePerQuantumJ ?? 0)} J/quantum` });
      } else if (!running && record.phase === 'running') {
        transition(record, 'lost');
        this.#decide({
          action: 'pause',
          agentId: record.id,
          plane: 'cpu',
          because:
            bid === undefined
              ? 'no standing bid'
              : `outbid or below reserve: bid ${String(bid.pricePerQuantumJ)} J/quantum, balance ${toJoules(this.#bank.balance(record.id)).toFixed(3)} J, best reserve ${(thermal.offer.reserve[0] ?? 0).toFixed(4)} J (${this.#thermal.source})`,
        });
      }
      record.lastUnit = running ? unit : null;
      // The controller's allowance for the core becomes the winner's CPU quota on it.
      this.#enforcer.want(record.id, running, running ? unit : null, running ? (thermal.allowance[unit] ?? null) : null);
    }
  }

  /** This tick's rent under the admission policy (null in the others): what solvency means there. */
  #rentMicroJ: bigint | null = null;

  #rent(thermal: ThermalInput): void {
    const reserve = thermal.reservePerQuantumJ;
    if (reserve.length === 0) return;
    let meanJ = 0;
    for (let i = 0; i < reserve.length; i++) meanJ += reserve[i] ?? 0;
    meanJ /= reserve.length;
    let running = 0;
    for (let i = 0; i < this.#live.length; i++) if ((this.#live[i] as AgentRecord).phase === 'running') running++;
    if (running === 0) return;
    const rentMicroJ = toMicroJ(meanJ * Math.min(1, reserve.length / running));
    this.#rentMicroJ = rentMicroJ;
    for (let i = 0; i < this.#live.length; i++) {
      const record = this.#live[i] as AgentRecord;
      if (record.phase !== 'running') continue;
      // What it can still pay: the rest is owed by an agent apoptosis is about to end.
      const balance = this.#bank.balance(record.id);
      const paid = rentMicroJ > balance ? balance : rentMicroJ;
      if (paid <= 0n) continue;
      this.#bank.pay(record.id, paid);
      record.paidMicroJ += paid;
    }
  }

  #tax(thermal: ThermalInput, charge: boolean): void {
    const events = this.#entropy.drain();
    if (events.length === 0 || !charge) return;
    const temperatures = thermal.temperaturesC;
    let meanC = 0;
    for (let i = 0; i < temperatures.length; i++) meanC += temperatures[i] ?? 0;
    const kelvin = 273.15 + (temperatures.length === 0 ? 27 : meanC / temperatures.length);
    for (const event of events) {
      const record = this.#agents.get(event.agentId);
      if (record === undefined || record.phase === 'dead') continue;
      const tax = landauerTax(event.bytes, kelvin, this.#rules.landauerMultiplier).taxMicroJ;
      if (tax <= 0n) continue;
      this.#bank.tax(record.id, microJ(tax));
      record.taxMicroJ += tax;
    }
  }

  /**
   * Solvency is the ability to pay for one quantum: an agent whose balance is below the
   * cheapest quantum's reserve can never win again, so the apoptosis clock sees its balance
   * minus that reserve ("≤ 0" = cannot pay its rent).
   */
  #solvency(thermal: ThermalInput): void {
    // Every core's reserve, offered this tick or not: a core the controller holds back for a
    // moment must not make a broke agent look solvent.
    let cheapest = Number.POSITIVE_INFINITY;
    const reserve = thermal.reservePerQuantumJ;
    for (let i = 0; i < reserve.length; i++) cheapest = Math.min(cheapest, reserve[i] ?? Number.POSITIVE_INFINITY);
    // Without an auction (admission) an agent can pay its way as long as it can pay the tick's rent.
    const rentMicroJ = this.#rentMicroJ ?? (Number.isFinite(cheapest) ? toMicroJ(cheapest) : 0n);
    const buys = this.#rentMicroJ === null ? 'buys the cheapest quantum' : "pays this tick's rent";
    const now = this.nowMs();
    for (let i = 0; i < this.#live.length; i++) {
      const record = this.#live[i] as AgentRecord;
      if (record.phase === 'dying' || record.phase === 'starting') continue;
      const balanceMicroJ = this.#bank.balance(record.id);
      const action = this.#apoptosis.observe(record.id, balanceMicroJ, now, rentMicroJ);
      if (action === null) continue;
      const balance = `${toJoules(balanceMicroJ).toFixed(6)} J (${toJoules(rentMicroJ).toFixed(6)} J ${buys})`;
      if (action.kind === 'notice') {
        this.#channel.send(record.id, { type: 'apoptosis', graceMs: action.graceMs, balanceJ: toJoules(balanceMicroJ) });
        this.#decide({ action: 'apoptosis-notice', agentId: record.id, plane: null, because: `insolvent: balance ${balance}; SIGTERM in ${String(action.graceMs)} ms unless topped up` });
      } else if (action.kind === 'rescued') {
        this.#decide({ action: 'rescued', agentId: record.id, plane: null, because: `balance back to ${balance}, above ${String(this.#apoptosis.rescueMarginPercent)} % of the price, during the grace period` });
      } else {
        transition(record, 'insolvent');
        this.#decide({ action: 'kill', agentId: record.id, plane: null, because: `insolvent: balance ${balance} after a ${String(this.#rules.graceMs)} ms grace period; SIGTERM, SIGKILL after ${String(this.#rules.killTimeoutMs)} ms` });
        this.#enforcer.terminate(record.id, this.#rules.killTimeoutMs / 1000);
      }
    }
  }

  /**
   * Writes what is pending as one ledger tick and tells every connected live agent whose balance
   * changed its balance. A failed write drops nothing: it is retried with the next flush, and
   * reported once per failure. Only changes are sent because a paused agent (frozen, not reading)
   * would otherwise have a notice queued for it every flush, without bound in count, for as long
   * as it waits (the soak found the daemon's heap growing by megabytes a second with a thousand agents).
   */
  flush(memo: string): void {
    try {
      this.#bank.flush(memo);
    } catch (err) {
      this.ledgerFailures.push(`${memo}: ${toError(err).message}`);
      this.#onLedgerFailure?.(toError(err));
    }
    for (let i = 0; i < this.#live.length; i++) {
      const record = this.#live[i] as AgentRecord;
      const balance = this.#bank.balance(record.id);
      if (balance === record.toldBalanceMicroJ || !this.#channel.isConnected(record.id)) continue;
      record.toldBalanceMicroJ = balance;
      this.#channel.send(record.id, { type: 'balance', balanceJ: toJoules(balance) });
    }
  }

  // ── Operators' calls ─────────────────────────────────────────────────────────────────────

  #record(id: AgentId): AgentRecord {
    const record = this.#agents.get(id);
    if (record === undefined) {
      throw new AgentUnknownError(this.#forgotten.has(id) ? `agent ${id} ended and its record was dropped (daemon.endedAgentsKept); its history is on the ledger` : `no agent ${id}`);
    }
    return record;
  }

  /**
   * Drops the record of an agent that has ended and is settled, so that a daemon that sees
   * thousands of agents come and go keeps a bounded number of them. Returns false (and keeps it)
   * for one that is live or whose settlement is still deferred.
   */
  forgetEnded(id: AgentId): boolean {
    const record = this.#agents.get(id);
    if (record?.phase !== 'dead' || record.deferredSettlement !== null) return false;
    this.#agents.delete(id);
    this.#book.forget(id);
    this.#bank.forget(id);
    this.#forgotten.add(id);
    this.#forgottenHostedCpuS += record.hostedCpuS;
    this.#forgottenTaxMicroJ += record.taxMicroJ;
    return true;
  }

  has(id: AgentId): boolean {
    return this.#agents.has(id);
  }

  agent(id: AgentId): AgentView {
    const record = this.#record(id);
    return viewOf(record, this.#bank.balance(id), this.#book, this.#channel.isConnected(id), { escrowedMicroJ: this.#bank.escrowed(id), auditMultiplier: this.auditMultiplier(id) });
  }

  listAgents(): readonly AgentView[] {
    return [...this.#agents.values()].map((record) => this.agent(record.id));
  }

  /** Raw per-agent figures for reports (primes, quanta, payments). */
  records(): readonly Readonly<AgentRecord>[] {
    return [...this.#agents.values()];
  }

  setBid(id: AgentId, bid: { readonly pricePerQuantumJ: number; readonly budgetJ?: number | undefined; readonly plane?: Plane | undefined }): SubmitOutcome {
    this.#record(id);
    return this.#book.place(id, bid.pricePerQuantumJ, bid.budgetJ, bid.plane);
  }

  wallet(id: AgentId): WalletView {
    this.#record(id);
    const balance = this.#bank.balance(id);
    return { agentId: id, balanceJ: toJoules(balance), balanceMicroJ: balance.toString() };
  }

  /** Mints `joules` into the agent's wallet (rescues an agent in its grace period). */
  topUp(id: AgentId, joules: number): WalletView {
    const record = this.#record(id);
    if (!(joules > 0 && joules <= MAX_WALLET_J)) throw new InvalidArgumentError(`top-up must be > 0 and ≤ ${String(MAX_WALLET_J)} J, got ${String(joules)}`);
    if (record.phase === 'dead' || record.phase === 'dying' || record.phase === 'starting') throw new InvalidArgumentError(`agent ${id} is ${record.phase}: ${record.phase === 'starting' ? 'its wallet opens once it has started' : 'too late to top up'}`);
    this.#bank.mint(id, toMicroJ(joules));
    return this.wallet(id);
  }

  /** CPU seconds of an agent that runs as a thread of the daemon's process (WASM), last read. */
  noteHostedCpu(id: AgentId, cpuS: number): void {
    const record = this.#agents.get(id);
    if (record !== undefined) record.hostedCpuS = cpuS;
  }

  /** Σ hosted CPU, s (WASM agents count in the daemon's getrusage). */
  hostedCpuS(): number {
    let total = this.#forgottenHostedCpuS;
    for (const record of this.#agents.values()) total += record.hostedCpuS;
    return total;
  }

  /** Landauer tax paid by every agent since start (dropped records included), J. */
  taxTotalJ(): number {
    let total = this.#forgottenTaxMicroJ;
    for (const record of this.#agents.values()) total += record.taxMicroJ;
    return toJoules(total);
  }

  /** The agent (re)connected: it is told its balance at the next ledger write, changed or not. */
  connected(id: AgentId): void {
    const record = this.#agents.get(id);
    if (record !== undefined) record.toldBalanceMicroJ = null;
  }

  decisions(limit?: number): readonly Decision[] {
    return this.decisionLog.last(limit);
  }
}
