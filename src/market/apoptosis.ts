/**
 * Apoptosis (DESIGN.md §1.5): an agent that cannot pay dies gracefully.
 *
 *   alive ──balance ≤ 0──► grace (notice sent) ──deadline──► terminating (SIGTERM, SIGKILL
 *     ▲                      │                                after the kill timeout; the
 *     └──balance > 0 again───┘ (rescued: a top-up or income)   daemon settles the wallet)
 *
 * A pure state machine driven once per tick with the agent's balance and the time; the daemon
 * carries out what it returns (send the notice, stop the agent, settle the ledger).
 */
import { InvalidArgumentError } from '../errors.js';

export type ApoptosisPhase = 'alive' | 'grace' | 'terminating';

export type ApoptosisAction =
  | { readonly kind: 'notice'; readonly agentId: string; readonly balanceMicroJ: bigint; readonly graceMs: number; readonly deadlineMs: number }
  | { readonly kind: 'rescued'; readonly agentId: string; readonly balanceMicroJ: bigint }
  | { readonly kind: 'terminate'; readonly agentId: string; readonly balanceMicroJ: bigint; readonly survivalMs: number };

export interface ApoptosisOptions {
  /** From notice to SIGTERM, ms. @default 1000 */
  readonly graceMs?: number;
}

interface Life {
  readonly startedAtMs: number;
  phase: ApoptosisPhase;
  deadlineMs: number;
}

export class Apoptosis {
  readonly graceMs: number;
  readonly #lives = new Map<string, Life>();

  constructor(options: ApoptosisOptions = {}) {
    const graceMs = options.graceMs ?? 1000;
    if (!(graceMs >= 0 && Number.isFinite(graceMs))) throw new InvalidArgumentError(`invalid grace period: ${String(graceMs)} ms`);
    this.graceMs = graceMs;
  }

  admit(agentId: string, startedAtMs: number): void {
    this.#lives.set(agentId, { startedAtMs, phase: 'alive', deadlineMs: Number.POSITIVE_INFINITY });
  }

  forget(agentId: string): void {
    this.#lives.delete(agentId);
  }

  phase(agentId: string): ApoptosisPhase | undefined {
    return this.#lives.get(agentId)?.phase;
  }

  /** How long the agent has lived at `nowMs`. */
  survivalMs(agentId: string, nowMs: number): number {
    const life = this.#lives.get(agentId);
    return life === undefined ? Number.NaN : nowMs - life.startedAtMs;
  }

  /** Feeds one tick's balance; returns what the daemon must do now, if anything. */
  observe(agentId: string, balanceMicroJ: bigint, nowMs: number): ApoptosisAction | null {
    const life = this.#lives.get(agentId);
    if (life === undefined || life.phase === 'terminating') return null;
    if (life.phase === 'alive') {
      if (balanceMicroJ > 0n) return null;
      life.phase = 'grace';
      life.deadlineMs = nowMs + this.graceMs;
      return { kind: 'notice', agentId, balanceMicroJ, graceMs: this.graceMs, deadlineMs: life.deadlineMs };
    }
    if (balanceMicroJ > 0n) {
      life.phase = 'alive';
      life.deadlineMs = Number.POSITIVE_INFINITY;
      return { kind: 'rescued', agentId, balanceMicroJ };
    }
    if (nowMs < life.deadlineMs) return null;
    life.phase = 'terminating';
    return { kind: 'terminate', agentId, balanceMicroJ, survivalMs: nowMs - life.startedAtMs };
  }
}
