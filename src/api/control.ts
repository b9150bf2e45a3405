/**
 * What the daemon lets its operators do: the contract between the daemon (`src/daemon/daemon.ts`
 * implements it) and the control API. It lives with the API, as the port the API drives, so the
 * API depends on no daemon file and the daemon's composition root can start the API server. The
 * API validates requests and maps them onto these calls; the daemon owns every decision. Amounts cross this boundary in joules (numbers) for humans and
 * µJ (decimal strings) where exactness matters.
 */
import type { AgentId } from '../agent-id.js';
import type { VerifyReport } from '../ledger/verify.js';
import type { LedgerEntry } from '../ledger/entries.js';
import type { CommitTiming } from '../ledger/ledger.js';
import type { SubmitOutcome, Plane } from '../market/order-book.js';
import type { RuntimeKind } from '../runtimes/runtime.js';
import type { WorkClass } from '../verification/trace/classes.js';
import type { InferenceAnswer, InferenceAsk, InferenceStatus } from '../verification/service/inference-service.js';

export type { InferenceAnswer, InferenceAsk, InferenceStatus };

export type { AgentPhase, AgentRole, AgentView, Decision, WalletView } from '../session/types.js';
import type { AgentRole, AgentView, Decision, WalletView } from '../session/types.js';
import type { FleetSnapshot } from '../fleet/snapshot.js';

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
  /** Placed by the fleet (`--fleet`): it may be stopped here and respawned on a cheaper node (docs/FLEET.md). */
  readonly migratable?: boolean;
  /** Joules of the wallet put in escrow at start; needed to serve inference (`inference.minStakeJ`), burned by a slash. */
  readonly stakeJ?: number;
}

export type { FleetMemberSnapshot, FleetSnapshot } from '../fleet/snapshot.js';

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
  /** Package energy since the daemon started, J (from `energySource`: measured or modelled). */
  readonly energyJ: number;
  readonly energySource: string;
  readonly clearingP99Ms: number;
  /** How late ticks started against their 10 ms grid since start, p99, ms (the tick jitter; monotonic clock). */
  readonly tickLatenessP99Ms: number;
  readonly ledgerHead: string;
  /** Entries on the ledger (its last sequence number). */
  readonly ledgerHeight: number;
  /** Maxwell's own CPU use since start, fraction of one core (WASM agents, threads of its process, excluded). */
  readonly overheadFraction: number;
  /** Landauer tax paid by every agent since start, J (agents whose records were dropped included). */
  readonly landauerTaxJ: number;
  /** Grid points the tick loop skipped because the one before ran past them (not in the lateness histogram). */
  readonly missedTicks: number;
  /** Runtime calls the enforcer made since start (each is a kernel write or a QMP/fuel command). */
  /** Ticks skipped because something threw (`Daemon.tickFailures` has the last messages); 0 when healthy. */
  readonly failedTicks: number;
  /** CPU of processes that are neither agents nor Maxwell (measured, smoothed), and what the controllers do about its heat. */
  readonly foreignLoad: { readonly policy: string; readonly measured: boolean; readonly fraction: number };
  /** How claimed work is checked (the claim model, its calibration, or why there is none), and the CPU tracing and judging cost so far, s. */
  readonly verification: { readonly method: string; readonly costS: number };
  /** The fleet: who gossips with this node, their heat and prices, and what that does to this node's prices. */
  readonly fleet: FleetSnapshot;
  /** The proof of inference: the reference model, its profile's provenance, who serves, how many requests and slashes. */
  readonly inference: InferenceStatus;
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
  /** Package energy since start, J (from the same source as the temperatures). */
  readonly energyJ: number;
  /** What this tick's clearing cost, ms (monotonic clock). */
  readonly clearingMs: number;
  /** How late this tick started against its 10 ms grid, ms (the tick jitter). */
  readonly latenessMs: number;
  readonly decisions: readonly Decision[];
}

/** Per-agent CPU and energy since start (`agent-meter.ts`), and how the energy was split. */
export interface AgentMetersView {
  readonly energySource: string;
  readonly agents: readonly { readonly agentId: string; readonly cpuS: number; readonly cpuSource: string; readonly energyJ: number }[];
}

export interface DaemonControl {
  /** Each agent's CPU time and share of the package energy (read every second). */
  agentMeters(): AgentMetersView;
  spawnAgent(request: SpawnRequest): Promise<AgentView>;
  /** The fleet view (this node alone without `fleet.enabled`). */
  fleet(): FleetSnapshot;
  /** Serves one inference request on a staked agent and judges it: income per verified token, or a slash. */
  infer(ask: InferenceAsk): Promise<InferenceAnswer>;
  listAgents(): readonly AgentView[];
  /** Throws `MXW_ERR_AGENT_UNKNOWN` for an unknown id. */
  agent(id: AgentId): AgentView;
  stopAgent(id: AgentId): Promise<AgentView>;
  setBid(id: AgentId, bid: { readonly pricePerQuantumJ: number; readonly budgetJ?: number; readonly plane?: Plane }): SubmitOutcome;
  wallet(id: AgentId): WalletView;
  /** Mints `joules` into the agent's wallet (rescues an agent in its grace period). */
  topUp(id: AgentId, joules: number): WalletView;
  ledgerEntries(options: { readonly fromSeq?: number; readonly limit?: number; readonly agentId?: string }): readonly LedgerEntry[];
  verifyLedger(): VerifyReport;
  snapshot(): DaemonSnapshot;
  decisions(limit?: number): readonly Decision[];
  /** Returns an unsubscribe function. */
  onTick(listener: (event: TickEvent) => void): () => void;
  /** Told how long each ledger write took (the SQLite transaction); returns an unsubscribe function. */
  onLedgerCommit(listener: (commit: CommitTiming) => void): () => void;
}

/** Another node's control API (built by the caller: the daemon does not import the API client). */
export interface RemoteSpawner {
  spawn(apiUrl: string, request: SpawnRequest): Promise<AgentView>;
  /** The agent's view there, or null when that node answers that it has no such agent; throws when it does not answer. */
  find(apiUrl: string, id: string): Promise<AgentView | null>;
  /** True when the error is that node's coded answer (it refused), not a lost answer. */
  refused(err: unknown): boolean;
}
