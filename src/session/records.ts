/** What the session remembers of each agent, and the explainable decision log. */
import type { AgentId } from '../agent-id.js';
import { toJoules, type MicroJoules } from '../units/money.js';
import type { OrderBook } from '../market/order-book.js';
import type { RuntimeKind } from '../runtimes/runtime.js';
import type { AgentPhase, AgentRole, AgentView, Decision, InferenceView, VerificationView } from './types.js';

export interface AgentRecord {
  readonly id: AgentId;
  readonly role: AgentRole;
  readonly runtime: RuntimeKind;
  pid: number | null;
  phase: AgentPhase;
  quantaWon: number;
  paidMicroJ: bigint;
  incomeMicroJ: bigint;
  taxMicroJ: bigint;
  verifiedPrimes: number;
  rejectedClaims: number;
  readonly startedAtMs: number;
  /** The core it won last tick (null: none). */
  lastUnit: number | null;
  /** The core it won in the tick being enforced (−1: none); set and read within one tick. */
  wonUnit: number;
  ended: { reason: string; survivalMs: number; finalBalanceMicroJ: bigint } | null;
  /** CPU seconds of an agent that runs as a thread of the daemon's own process (WASM), last read. */
  hostedCpuS: number;
  /** Its claimed work class and the trace's verdicts; null when it claims none. */
  verification: VerificationState | null;
  /** Its proof-of-inference record; null when it staked nothing (it cannot serve inference). */
  inference: InferenceState | null;
  /** Why the session is ending it, when that is not insolvency (e.g. `slashed`). */
  endingBecause: string | null;
  /** Its exit, held back while verdicts on its requests are pending (its stake can still be slashed). */
  deferredSettlement: { readonly survivalMs: number; readonly reason: string } | null;
  /** The balance last sent to it in a `balance` notice, µJ; null before the first. */
  toldBalanceMicroJ: bigint | null;
}

export interface InferenceState {
  /** What it staked at start, µJ. */
  readonly stakedMicroJ: MicroJoules;
  slashedMicroJ: bigint;
  /** It said `serve` for the reference model. */
  serving: boolean;
  requests: number;
  /** Requests sent and not judged yet. */
  inFlight: number;
  verifiedTokens: number;
  /** Requests that failed a statistical check (layer 1 or timing). */
  suspectRequests: number;
  /** Requests left with a raised audit probability after a statistical failure. */
  auditBoostLeft: number;
  lastFailure: string | null;
}

export interface VerificationState {
  readonly claims: string;
  observed: string | null;
  windows: number;
  /** Windows judged inconsistent with the claim, in all. */
  inconsistentWindows: number;
  /** Consecutive windows judged inconsistent with the claim. */
  mismatches: number;
  flagged: boolean;
  auditRate: number;
  withheldMicroJ: bigint;
}

export function newRecord(id: AgentId, role: AgentRole, runtime: RuntimeKind, startedAtMs: number): AgentRecord {
  return { id, role, runtime, pid: null, phase: 'starting', quantaWon: 0, paidMicroJ: 0n, incomeMicroJ: 0n, taxMicroJ: 0n, verifiedPrimes: 0, rejectedClaims: 0, startedAtMs, lastUnit: null, wonUnit: -1, ended: null, hostedCpuS: 0, verification: null, inference: null, endingBecause: null, deferredSettlement: null, toldBalanceMicroJ: null };
}

function verificationView(v: VerificationState | null): VerificationView | null {
  if (v === null) return null;
  return { claims: v.claims, observed: v.observed, windows: v.windows, inconsistentWindows: v.inconsistentWindows, mismatches: v.mismatches, flagged: v.flagged, auditRate: v.auditRate, withheldJ: toJoules(v.withheldMicroJ) };
}

function inferenceView(v: InferenceState | null, escrowedMicroJ: bigint, auditMultiplier: number): InferenceView | null {
  if (v === null) return null;
  return { stakeJ: toJoules(escrowedMicroJ), stakedJ: toJoules(v.stakedMicroJ), slashedJ: toJoules(v.slashedMicroJ), serving: v.serving, requests: v.requests, inFlight: v.inFlight, verifiedTokens: v.verifiedTokens, suspectRequests: v.suspectRequests, auditMultiplier, lastFailure: v.lastFailure };
}

/** What the session's bank and rules add to a record's view. */
export interface ViewExtras {
  readonly escrowedMicroJ: bigint;
  readonly auditMultiplier: number;
}

export function viewOf(record: AgentRecord, balanceMicroJ: bigint, book: OrderBook, connected: boolean, extras: ViewExtras = { escrowedMicroJ: 0n, auditMultiplier: 1 }): AgentView {
  const bid = book.bidOf(record.id);
  return {
    id: record.id,
    role: record.role,
    runtime: record.runtime,
    pid: record.pid,
    phase: record.phase,
    balanceJ: toJoules(record.ended?.finalBalanceMicroJ ?? balanceMicroJ),
    bid: bid === undefined ? null : { pricePerQuantumJ: bid.pricePerQuantumJ, budgetJ: bid.budgetJ, plane: bid.plane },
    quantaWon: record.quantaWon,
    paidJ: toJoules(record.paidMicroJ),
    incomeJ: toJoules(record.incomeMicroJ),
    taxJ: toJoules(record.taxMicroJ),
    verifiedPrimes: record.verifiedPrimes,
    connected,
    startedAtMs: record.startedAtMs,
    verification: verificationView(record.verification),
    inference: inferenceView(record.inference, extras.escrowedMicroJ, extras.auditMultiplier),
    ended: record.ended === null ? null : { reason: record.ended.reason, survivalMs: record.ended.survivalMs, finalBalanceJ: toJoules(record.ended.finalBalanceMicroJ) },
  };
}

/** The last `capacity` decisions, oldest first; `onDecision` sees every one (e.g. a log file). */
export class DecisionLog {
  readonly #items: Decision[] = [];
  readonly #capacity: number;
  readonly #listeners: ((d: Decision) => void)[] = [];
  #pendingForTick: Decision[] = [];

  constructor(capacity = 10_000) {
    this.#capacity = capacity;
  }

  onDecision(listener: (d: Decision) => void): void {
    this.#listeners.push(listener);
  }

  add(decision: Decision): void {
    this.#items.push(decision);
    if (this.#items.length > this.#capacity) this.#items.splice(0, this.#items.length - this.#capacity);
    this.#pendingForTick.push(decision);
    for (const listener of this.#listeners) listener(decision);
  }

  /** Decisions since the last call (for the tick event). */
  takeTickDecisions(): Decision[] {
    const out = this.#pendingForTick;
    // Most ticks decide nothing: they keep the empty array rather than make a new one.
    if (out.length > 0) this.#pendingForTick = [];
    return out;
  }

  last(limit = 100): readonly Decision[] {
    return this.#items.slice(-limit);
  }
}
