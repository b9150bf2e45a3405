/**
 * Apoptosis (docs/DESIGN.md §1.5): an agent that cannot pay dies gracefully.
 *
 *   alive ──balance ≤ price──► grace (notice sent) ──deadline──► terminating (SIGTERM, SIGKILL
 *     ▲                          │                                after the kill timeout; the
 *     └─balance > margin × price─┘ (rescued: a top-up or income)   daemon settles the wallet)
 *
 * `price` is what the cheapest quantum costs now. Leaving grace takes a margin above it
 * (hysteresis): a balance near one quantum's price, with the price jittering tick to tick,
 * otherwise flipped an agent between notice and rescue for ever.
 *
 * A pure state machine driven once per tick with the agent's balance, the price and the time;
 * the daemon carries out what it returns (send the notice, stop the agent, settle the ledger).
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
  /** Balance, as a percentage of the price, that ends a grace period. @default 150 */
  readonly rescueMarginPercent?: number;
}

interface Life {
  readonly startedAtMs: number;
  phase: ApoptosisPhase;
  deadlineMs: number;
}

export class Apoptosis {
  readonly graceMs: number;
  readonly rescueMarginPercent: number;
  readonly #lives = new Map<string, Life>();

  constructor(options: ApoptosisOptions = {}) {
    const graceMs = options.graceMs ?? 1000;
    if (!(graceMs >= 0 && Number.isFinite(graceMs))) throw new InvalidArgumentError(`invalid grace period: ${String(graceMs)} ms`);
    this.graceMs = graceMs;
    const margin = options.rescueMarginPercent ?? 150;
    if (!(Number.isInteger(margin) && margin >= 100 && margin <= 10_000)) throw new InvalidArgumentError(`invalid rescue margin: ${String(margin)} % (an integer, 100–10000)`);
    this.rescueMarginPercent = margin;
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

  /**
   * Feeds one tick's balance and the price of the cheapest quantum (0 when nothing is sold);
   * returns what the daemon must do now, if anything.
   */
  observe(agentId: string, balanceMicroJ: bigint, nowMs: number, priceMicroJ = 0n): ApoptosisAction | null {
    const life = this.#lives.get(agentId);
    if (life === undefined || life.phase === 'terminating') return null;
    if (life.phase === 'alive') {
      if (balanceMicroJ > priceMicroJ) return null;
      life.phase = 'grace';
      life.deadlineMs = nowMs + this.graceMs;
      return { kind: 'notice', agentId, balanceMicroJ, graceMs: this.graceMs, deadlineMs: life.deadlineMs };
    }
    if (balanceMicroJ > (priceMicroJ * BigInt(this.rescueMarginPercent)) / 100n) {
      life.phase = 'alive';
      life.deadlineMs = Number.POSITIVE_INFINITY;
      return { kind: 'rescued', agentId, balanceMicroJ };
    }
    if (nowMs < life.deadlineMs) return null;
    life.phase = 'terminating';
    return { kind: 'terminate', agentId, balanceMicroJ, survivalMs: nowMs - life.startedAtMs };
  }
}
