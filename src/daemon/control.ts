/**
 * What the daemon lets its operators do: the contract between the daemon (`daemon.ts`) and the
 * control API (`src/api/`). The API validates requests and maps them onto these calls; the
 * daemon owns every decision. Amounts cross this boundary in joules (numbers) for humans and
 * µJ (decimal strings) where exactness matters.
 */
import type { VerifyReport } from '../ledger/verify.js';
import type { LedgerEntry } from '../ledger/entries.js';
import type { SubmitOutcome, Plane } from '../market/order-book.js';
import type { RuntimeKind } from '../runtimes/runtime.js';
import type { WorkClass } from '../verification/trace/classes.js';

export type { AgentPhase, AgentRole, AgentView, Decision, WalletView } from '../session/types.js';
import type { AgentRole, AgentView, Decision, WalletView } from '../session/types.js';

export interface SpawnRequest {
  /** Letters, digits, `_`, `-`; generated when absent. */
  readonly id?: string;
  /**
   * What runs it: a process (`command` is the program), a WASM module (`command` is the .wasm
   * path) or a VM (`command` is the guest program). @default 'process'
   */
  readonly runtime?: RuntimeKind;
  readonly command: string;
  readonly args?: readonly string[];
  /** Joules minted into the agent's wallet at start. */
  readonly walletJ: number;
  /** The agent's opening bid (it may change it over its socket). */
  readonly bid?: { readonly pricePerQuantumJ: number; readonly budgetJ?: number; readonly plane?: Plane };
  readonly role?: AgentRole;
  readonly memoryLimitBytes?: number;
  readonly env?: Readonly<Record<string, string>>;
  /** The work class it claims (`inference`, `mining`, `science`, …): its activity trace is judged against it. */
  readonly claims?: WorkClass;
}

export interface PlaneSnapshot {
  readonly plane: Plane;
  readonly unit: number;
  readonly temperatureC: number;
  /** How the temperature was obtained, e.g. `modelled: thermal twin driven by /proc/stat`. */
  readonly temperatureSource: string;
  readonly multiplier: number;
  readonly reservePerQuantumJ: number;
  /** The controller's allowed fraction of the unit (1 = full). */
  readonly allowance: number;
  /** The temperature its controller holds now, °C (above the configured setpoint when compensating foreign heat). */
  readonly setpointC: number;
}

export interface DaemonSnapshot {
  readonly tick: number;
  readonly uptimeMs: number;
  readonly rateHz: number;
  readonly planes: readonly PlaneSnapshot[];
  readonly agents: readonly AgentView[];
  readonly powerW: number;
  readonly energySource: string;
  readonly clearingP99Ms: number;
  readonly ledgerHead: string;
  /** Maxwell's own CPU use since start, fraction of one core (WASM agents, threads of its process, excluded). */
  readonly overheadFraction: number;
  /** Runtime calls the enforcer made since start (each is a kernel write or a QMP/fuel command). */
  /** Ticks skipped because something threw (`Daemon.tickFailures` has the last messages); 0 when healthy. */
  readonly failedTicks: number;
  /** CPU of processes that are neither agents nor Maxwell (measured, smoothed), and what the controllers do about its heat. */
  readonly foreignLoad: { readonly policy: string; readonly measured: boolean; readonly fraction: number };
  /** What judges claimed work classes (the trained classifier, or why none), and the CPU tracing and judging cost so far, s. */
  readonly verification: { readonly classifier: string; readonly costS: number };
  readonly enforcement: { readonly pauses: number; readonly resumes: number; readonly pins: number; readonly quotas: number; readonly failures: number };
}

/** Published after every tick (the API streams these over WebSocket). */
export interface TickEvent {
  readonly tick: number;
  readonly atMs: number;
  readonly awards: readonly { readonly agentId: string; readonly unit: number; readonly paymentJ: number }[];
  readonly temperaturesC: readonly number[];
  readonly reservePerQuantumJ: readonly number[];
  readonly powerW: number;
  readonly decisions: readonly Decision[];
}

export interface DaemonControl {
  spawnAgent(request: SpawnRequest): Promise<AgentView>;
  listAgents(): readonly AgentView[];
  /** Throws `MXW_ERR_AGENT_UNKNOWN` for an unknown id. */
  agent(id: string): AgentView;
  stopAgent(id: string): Promise<AgentView>;
  setBid(id: string, bid: { readonly pricePerQuantumJ: number; readonly budgetJ?: number; readonly plane?: Plane }): SubmitOutcome;
  wallet(id: string): WalletView;
  /** Mints `joules` into the agent's wallet (rescues an agent in its grace period). */
  topUp(id: string, joules: number): WalletView;
  ledgerEntries(options: { readonly fromSeq?: number; readonly limit?: number; readonly agentId?: string }): readonly LedgerEntry[];
  verifyLedger(): VerifyReport;
  snapshot(): DaemonSnapshot;
  decisions(limit?: number): readonly Decision[];
  /** Returns an unsubscribe function. */
  onTick(listener: (event: TickEvent) => void): () => void;
}
