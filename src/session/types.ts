/**
 * What the market session tells the world about its agents: their phases, the views operators
 * see and the decision log. The control API (`api/control.ts`) re-exports these.
 */
import type { AgentId } from '../agent-id.js';
import type { Plane } from '../market/order-book.js';
import type { RuntimeKind } from '../runtimes/runtime.js';

export type AgentRole = 'scientist' | 'leech' | 'other';

/** See `phase.ts` for the transitions between them. */
export type AgentPhase = 'starting' | 'running' | 'paused' | 'dying' | 'dead';

export interface AgentView {
  readonly id: AgentId;
  readonly role: AgentRole;
  readonly runtime: RuntimeKind;
  /** The process id (for a VM: its QEMU process; null for a WASM agent, which is a thread). */
  readonly pid: number | null;
  readonly phase: AgentPhase;
  readonly balanceJ: number;
  readonly bid: { readonly pricePerQuantumJ: number; readonly budgetJ: number; readonly plane: Plane } | null;
  /** Quanta won and joules paid since start. */
  readonly quantaWon: number;
  readonly paidJ: number;
  readonly incomeJ: number;
  readonly taxJ: number;
  readonly verifiedPrimes: number;
  readonly connected: boolean;
  readonly startedAtMs: number;
  /** Its claimed work class and what its trace says (null: it claims none). */
  readonly verification: VerificationView | null;
  /** Its proof-of-inference record (null: it staked nothing, so it serves no inference). */
  readonly inference: InferenceView | null;
  /** Set once dead: why, and how long it lived. */
  readonly ended: { readonly reason: string; readonly survivalMs: number; readonly finalBalanceJ: number } | null;
}

export interface VerificationView {
  /** The work class it claims, e.g. `inference`. */
  readonly claims: string;
  /** What its last judged window showed: the claim itself when consistent, else what was wrong (null before the first). */
  readonly observed: string | null;
  readonly windows: number;
  /** Windows judged inconsistent with the claim, in all. */
  readonly inconsistentWindows: number;
  readonly mismatches: number;
  /** Its trace was inconsistent with its claim for `verification.mismatchWindows` windows in a row. */
  readonly flagged: boolean;
  /** Multiplier on its audit probability (the `audit` policy raises it while flagged). */
  readonly auditRate: number;
  /** Income withheld while flagged, J. */
  readonly withheldJ: number;
}

export interface InferenceView {
  /** Its stake in escrow now, J (what a slash would burn). */
  readonly stakeJ: number;
  /** What it staked at start, J. */
  readonly stakedJ: number;
  readonly slashedJ: number;
  /** It announced `serve` for the reference model and can be sent requests. */
  readonly serving: boolean;
  readonly requests: number;
  readonly inFlight: number;
  /** Tokens verified and paid for (or withheld, or unpaid in observe mode). */
  readonly verifiedTokens: number;
  /** Requests that failed a statistical check (layer 1 or timing): no evidence, a raised audit rate. */
  readonly suspectRequests: number;
  /** Multiplier on its audit probability now. */
  readonly auditMultiplier: number;
  /** The first reason of its last failed check. */
  readonly lastFailure: string | null;
}

export interface WalletView {
  readonly agentId: AgentId;
  readonly balanceJ: number;
  readonly balanceMicroJ: string;
}

/** One line of the explainable decision log: what Maxwell did and which input made it do so. */
export interface Decision {
  readonly tick: number;
  readonly atMs: number;
  readonly action: 'pause' | 'resume' | 'throttle' | 'emergency-pause' | 'apoptosis-notice' | 'kill' | 'rescued' | 'flag' | 'unflag' | 'suspect' | 'slash' | 'migrate';
  readonly agentId: AgentId | null;
  readonly plane: Plane | null;
  /** The cause in words, naming the sensor, price, bid or balance, e.g. "outbid: 0.012 J < clearing 0.020 J on core 1". */
  readonly because: string;
}
