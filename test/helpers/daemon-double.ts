/**
 * A second, in-memory implementation of `DaemonControl`, for the control API's tests ONLY. It
 * runs no processes, no auction and no ledger: it keeps agents in a map, fabricates ledger
 * entries for mints, and publishes tick events when a test calls `emitTick()`. The real daemon
 * (src/daemon/) is tested end to end separately.
 */
import type { CommitTiming } from '../../src/ledger/ledger.js';
import type { AgentMetersView, AgentView, DaemonControl, DaemonSnapshot, Decision, FleetMemberSnapshot, FleetSnapshot, SpawnRequest, TickEvent, WalletView } from '../../src/api/control.js';
import type { InferenceAnswer, InferenceAsk } from '../../src/verification/service/inference-service.js';
import { AgentExistsError, AgentStartError, AgentUnknownError, InferenceNoServerError } from '../../src/errors.js';
import type { LedgerEntry } from '../../src/ledger/entries.js';
import type { VerifyReport } from '../../src/ledger/verify.js';
import type { Plane, SubmitOutcome } from '../../src/market/order-book.js';
import { toMicroJ } from '../../src/units/money.js';
import { agentId } from './agent-id.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export class DaemonDouble implements DaemonControl {
  readonly agents = new Map<string, Mutable<AgentView>>();
  readonly entries: LedgerEntry[] = [];
  readonly decisionLog: Decision[] = [];
  readonly spawned: SpawnRequest[] = [];
  /** Inference requests received (the double serves none: it echoes the prompt's first tokens). */
  readonly asks: InferenceAsk[] = [];
  readonly #listeners = new Set<(event: TickEvent) => void>();
  #tick = 0;
  #next = 1;

  /** Forgets every agent, entry, decision, spawn and ask (the API fuzz target keeps the double small with it). */
  reset(): void {
    this.agents.clear();
    this.entries.length = 0;
    this.decisionLog.length = 0;
    this.spawned.length = 0;
    this.asks.length = 0;
  }

  get listenerCount(): number {
    return this.#listeners.size;
  }

  async spawnAgent(request: SpawnRequest): Promise<AgentView> {
    await Promise.resolve();
    if (request.command === 'no-such-command') throw new AgentStartError('command not found: no-such-command');
    const id = request.id ?? `agent-${String(this.#next++)}`;
    if (this.agents.has(id)) throw new AgentExistsError(`agent "${id}" exists`);
    this.spawned.push(request);
    const agent: Mutable<AgentView> = {
      id: agentId(id),
      role: request.role ?? 'other',
      runtime: request.runtime ?? 'process',
      pid: 10_000 + this.agents.size,
      phase: 'running',
      balanceJ: request.walletJ,
      bid: request.bid === undefined ? null : { pricePerQuantumJ: request.bid.pricePerQuantumJ, budgetJ: request.bid.budgetJ ?? request.walletJ, plane: request.bid.plane ?? 'cpu' },
      quantaWon: 0,
      paidJ: 0,
      incomeJ: 0,
      taxJ: 0,
      verifiedPrimes: 0,
      connected: false,
      startedAtMs: 1_000,
      verification: request.claims === undefined ? null : { claims: request.claims, observed: null, windows: 0, inconsistentWindows: 0, mismatches: 0, flagged: false, auditRate: 1, withheldJ: 0 },
      inference: request.stakeJ === undefined ? null : { stakeJ: request.stakeJ, stakedJ: request.stakeJ, slashedJ: 0, serving: true, requests: 0, inFlight: 0, verifiedTokens: 0, suspectRequests: 0, auditMultiplier: 1, lastFailure: null },
      ended: null,
    };
    this.agents.set(id, agent);
    this.#mint(id, request.walletJ, 'wallet at spawn');
    return { ...agent };
  }

  /** The fleet view the extender scores: settable by a test. */
  fleetMembers: FleetMemberSnapshot[] = [];

  fleet(): FleetSnapshot {
    return { enabled: this.fleetMembers.length > 0, id: null, address: null, members: this.fleetMembers, aggregate: null, stress: { external: 0, multiplier: 1, applied: 1 }, drops: {}, pushPulls: { stream: 0, failed: 0 } };
  }

  async infer(ask: InferenceAsk): Promise<InferenceAnswer> {
    await Promise.resolve();
    const server = ask.agentId ?? [...this.agents.values()].find((a) => a.inference !== null)?.id;
    if (server === undefined || this.agents.get(server)?.inference == null) throw new InferenceNoServerError('no agent serves inference');
    this.asks.push(ask);
    const tokens = typeof ask.prompt === 'string' ? Array.from(ask.prompt, (c) => c.charCodeAt(0) % 64) : [...ask.prompt];
    return { requestId: this.asks.length, agentId: server, tokens, text: 'double', outcome: 'paid', incomeJ: 0, slashedJ: 0, auditProbability: 0, layers: [], observed: { prefillMs: 0, decodeMeanMs: 0, cpuMsPerToken: 0, cpuSource: 'none: the double' } };
  }

  listAgents(): readonly AgentView[] {
    return [...this.agents.values()].map((a) => ({ ...a }));
  }

  agent(id: string): AgentView {
    return { ...this.#get(id) };
  }

  async stopAgent(id: string): Promise<AgentView> {
    await Promise.resolve();
    const agent = this.#get(id);
    agent.phase = 'dead';
    agent.pid = null;
    agent.bid = null;
    agent.ended = { reason: 'stopped by operator', survivalMs: 5_000, finalBalanceJ: agent.balanceJ };
    return { ...agent };
  }

  setBid(id: string, bid: { readonly pricePerQuantumJ: number; readonly budgetJ?: number; readonly plane?: Plane }): SubmitOutcome {
    const agent = this.agents.get(id);
    if (agent === undefined) return 'unknown-agent';
    if (agent.phase === 'dead') return 'dead-agent';
    // Mirrors the order book: a price above the balance is absurd.
    if (bid.pricePerQuantumJ > agent.balanceJ) return 'absurd';
    agent.bid = { pricePerQuantumJ: bid.pricePerQuantumJ, budgetJ: bid.budgetJ ?? agent.balanceJ, plane: bid.plane ?? 'cpu' };
    return 'accepted';
  }

  wallet(id: string): WalletView {
    const agent = this.#get(id);
    return { agentId: agentId(id), balanceJ: agent.balanceJ, balanceMicroJ: BigInt(Math.round(agent.balanceJ * 1e6)).toString() };
  }

  topUp(id: string, joules: number): WalletView {
    const agent = this.#get(id);
    agent.balanceJ += joules;
    this.#mint(id, joules, 'top-up');
    return this.wallet(id);
  }

  ledgerEntries(options: { readonly fromSeq?: number; readonly limit?: number; readonly agentId?: string }): readonly LedgerEntry[] {
    const account = options.agentId === undefined ? undefined : `agent:${options.agentId}`;
    return this.entries
      .filter((e) => e.seq >= (options.fromSeq ?? 1) && (account === undefined || e.from === account || e.to === account))
      .slice(0, options.limit ?? 100);
  }

  verifyLedger(): VerifyReport {
    const minted = this.entries.reduce((sum, e) => sum + e.amountMicroJ, 0n);
    return {
      ok: true,
      path: '/double/ledger.sqlite',
      entries: this.entries.length,
      ticks: this.#tick,
      headHash: this.entries.at(-1)?.hash ?? '0'.repeat(64),
      publicKey: 'double-public-key',
      totals: { mintedMicroJ: minted, agentBalancesMicroJ: minted, burnedMicroJ: 0n, taxedMicroJ: 0n, escrowedMicroJ: 0n },
      failure: null,
    };
  }

  snapshot(): DaemonSnapshot {
    return {
      tick: this.#tick,
      uptimeMs: 12_345,
      rateHz: 100,
      planes: [0, 1].map((unit) => ({
        plane: 'cpu' as const,
        unit,
        temperatureC: 55 + unit,
        temperatureSource: 'modelled: thermal twin driven by /proc/stat',
        multiplier: 1.25,
        reservePerQuantumJ: 0.01,
        allowance: 1,
        setpointC: 80,
      })),
      agents: this.listAgents(),
      powerW: 42.5,
      energyJ: 1234.5,
      energySource: 'modelled: twin',
      clearingP99Ms: 0.12,
      tickLatenessP99Ms: 0.4,
      ledgerHead: this.entries.at(-1)?.hash ?? '0'.repeat(64),
      ledgerHeight: this.entries.length,
      overheadFraction: 0.031,
      landauerTaxJ: 0,
      missedTicks: 0,
      failedTicks: 0,
      foreignLoad: { policy: 'sell-remaining', measured: true, fraction: 0.052 },
      verification: { method: 'not judged: the double has none', costS: 0 },
      fleet: this.fleet(),
      inference: { model: 'tiny-gpt.onnx', profile: 'none: the double runs no model', servers: [...this.agents.values()].filter((a) => a.inference !== null).map((a) => a.id), unverifiedServers: [], probes: 0, requests: this.asks.length, slashes: 0, verifierCpuS: 0 },
      enforcement: { pauses: 3, resumes: 2, pins: 1, quotas: 4, failures: 0 },
    };
  }

  decisions(limit = 100): readonly Decision[] {
    return this.decisionLog.slice(-limit);
  }

  agentMeters(): AgentMetersView {
    return { energySource: 'double: fixed numbers', agents: [...this.agents.values()].map((a) => ({ agentId: a.id, cpuS: 1.5, cpuSource: 'double', energyJ: 12.5 })) };
  }

  onTick(listener: (event: TickEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  readonly #commitListeners = new Set<(commit: CommitTiming) => void>();

  onLedgerCommit(listener: (commit: CommitTiming) => void): () => void {
    this.#commitListeners.add(listener);
    return () => this.#commitListeners.delete(listener);
  }

  /** Publishes one ledger commit of `durationMs` to every listener. */
  commitLedger(durationMs: number): void {
    for (const listener of this.#commitListeners) listener({ durationMs, entries: 1, settlements: 0 });
  }

  /** Publishes one tick to every listener (with one decision when `agentId` is given). */
  emitTick(id?: string): TickEvent {
    this.#tick += 1;
    const decisions: Decision[] =
      id === undefined ? [] : [{ tick: this.#tick, atMs: this.#tick * 10, action: 'pause', agentId: agentId(id), plane: 'cpu', because: 'outbid: 0.012 J < clearing 0.020 J on core 1' }];
    this.decisionLog.push(...decisions);
    const event: TickEvent = {
      tick: this.#tick,
      atMs: this.#tick * 10,
      awards: id === undefined ? [] : [{ agentId: id, unit: 0, paymentJ: 0.02 }],
      temperaturesC: [55, 56],
      reservePerQuantumJ: [0.01, 0.011],
      powerW: 42.5,
      energyJ: this.#tick * 0.425,
      clearingMs: 0.05,
      latenessMs: 0.2,
      decisions,
    };
    for (const listener of this.#listeners) listener(event);
    return event;
  }

  #get(id: string): Mutable<AgentView> {
    const agent = this.agents.get(id);
    if (agent === undefined) throw new AgentUnknownError(`no agent "${id}"`);
    return agent;
  }

  #mint(id: string, joules: number, memo: string): void {
    const seq = this.entries.length + 1;
    this.entries.push({
      seq,
      tick: this.#tick,
      kind: 'mint',
      from: 'treasury',
      to: `agent:${id}`,
      amountMicroJ: toMicroJ(joules),
      memo,
      prevHash: this.entries.at(-1)?.hash ?? '0'.repeat(64),
      hash: seq.toString(16).padStart(64, '0'),
    });
  }
}
