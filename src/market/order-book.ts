/**
 * The standing bids (docs/DESIGN.md §2): a bid persists until its agent changes or withdraws it, so
 * each tick clears the book as it stands. Everything an agent sends is untrusted: every
 * submission gets a result code, garbage is counted and never stored, and nothing here throws
 * for bad input.
 *
 * Replay protection: each agent's messages carry a sequence number that must increase. A
 * repeated number is `replayed`, a smaller one `out-of-order`; neither changes the book.
 */
import { MAX_BID_J } from './clearing.js';

export const PLANES = ['cpu', 'gpu'] as const;
export type Plane = (typeof PLANES)[number];

export const SUBMIT_OUTCOMES = ['accepted', 'invalid', 'absurd', 'unknown-agent', 'dead-agent', 'replayed', 'out-of-order'] as const;
export type SubmitOutcome = (typeof SUBMIT_OUTCOMES)[number];

/** A bid as an agent sends it (fields unchecked). */
export interface BidMessage {
  readonly agentId: string;
  /** Per-agent message number, strictly increasing. */
  readonly seq: number;
  /** Price per quantum of the best slot (per unit of quality), J. */
  readonly pricePerQuantumJ: number;
  /** Most the agent will spend per tick, J (undefined: its whole balance). */
  readonly budgetJ?: number | undefined;
  readonly plane?: Plane | undefined;
}

export interface StandingBid {
  readonly agentId: string;
  /** Dense index of the agent: a stable tie-break key and array slot. */
  readonly index: number;
  readonly plane: Plane;
  pricePerQuantumJ: number;
  budgetJ: number;
}

interface AgentEntry {
  readonly index: number;
  lastSeq: number;
  alive: boolean;
}

function checkBid(price: unknown, budget: unknown, plane: unknown): SubmitOutcome {
  const b = budget ?? MAX_BID_J;
  if (typeof price !== 'number' || typeof b !== 'number' || !Number.isFinite(price) || !Number.isFinite(b)) return 'invalid';
  if (price < 0 || b < 0 || !PLANES.includes((plane ?? 'cpu') as Plane)) return 'invalid';
  if (price > MAX_BID_J || b > MAX_BID_J) return 'absurd';
  return 'accepted';
}

export class OrderBook {
  readonly #agents = new Map<string, AgentEntry>();
  readonly #bids = new Map<string, StandingBid>();
  readonly #counts = new Map<SubmitOutcome, number>(SUBMIT_OUTCOMES.map((o) => [o, 0]));
  #nextIndex = 0;

  /** Makes `agentId` able to bid. Idempotent for a live agent. */
  register(agentId: string): void {
    const known = this.#agents.get(agentId);
    if (known?.alive === true) return;
    this.#agents.set(agentId, { index: known?.index ?? this.#nextIndex++, lastSeq: known?.lastSeq ?? -Infinity, alive: true });
  }

  /** The agent died or left: its bid is withdrawn and later bids are `dead-agent`. */
  retire(agentId: string): void {
    const agent = this.#agents.get(agentId);
    if (agent === undefined) return;
    agent.alive = false;
    this.#bids.delete(agentId);
  }

  /** Drops a retired agent's entry altogether (its messages can no longer arrive: its socket is gone). */
  forget(agentId: string): void {
    if (this.#agents.get(agentId)?.alive === false) this.#agents.delete(agentId);
  }

  isAlive(agentId: string): boolean {
    return this.#agents.get(agentId)?.alive === true;
  }

  submit(bid: BidMessage): SubmitOutcome {
    const outcome = this.#submit(bid);
    this.#counts.set(outcome, (this.#counts.get(outcome) ?? 0) + 1);
    return outcome;
  }

  #submit(bid: BidMessage): SubmitOutcome {
    const agent = typeof bid.agentId === 'string' ? this.#agents.get(bid.agentId) : undefined;
    if (agent === undefined) return 'unknown-agent';
    if (!agent.alive) return 'dead-agent';
    if (!Number.isSafeInteger(bid.seq)) return 'invalid';
    if (bid.seq === agent.lastSeq) return 'replayed';
    if (bid.seq < agent.lastSeq) return 'out-of-order';
    const checked = checkBid(bid.pricePerQuantumJ, bid.budgetJ, bid.plane);
    if (checked !== 'accepted') return checked;
    // Only a well-formed message advances the sequence: garbage cannot burn future numbers.
    agent.lastSeq = bid.seq;
    this.#store(bid.agentId, agent.index, bid.pricePerQuantumJ, bid.budgetJ ?? MAX_BID_J, bid.plane ?? 'cpu');
    return 'accepted';
  }

  /**
   * The operator's path (the control API, an opening bid): same checks, no sequence number —
   * the agent's own numbering is left alone. Counted like any submission.
   */
  place(agentId: string, pricePerQuantumJ: number, budgetJ?: number, plane?: Plane): SubmitOutcome {
    const agent = this.#agents.get(agentId);
    let outcome: SubmitOutcome;
    if (agent === undefined) outcome = 'unknown-agent';
    else if (!agent.alive) outcome = 'dead-agent';
    else {
      outcome = checkBid(pricePerQuantumJ, budgetJ, plane);
      if (outcome === 'accepted') this.#store(agentId, agent.index, pricePerQuantumJ, budgetJ ?? MAX_BID_J, plane ?? 'cpu');
    }
    this.#counts.set(outcome, (this.#counts.get(outcome) ?? 0) + 1);
    return outcome;
  }

  /** The standing bid of an agent, if any. */
  bidOf(agentId: string): StandingBid | undefined {
    return this.#bids.get(agentId);
  }

  #store(agentId: string, index: number, price: number, budget: number, plane: Plane): void {
    const standing = this.#bids.get(agentId);
    if (standing?.plane === plane) {
      standing.pricePerQuantumJ = price;
      standing.budgetJ = budget;
    } else {
      this.#bids.set(agentId, { agentId, index, plane, pricePerQuantumJ: price, budgetJ: budget });
    }
  }

  /** Withdraws the agent's bid (it keeps its sequence numbers). */
  withdraw(agentId: string): void {
    this.#bids.delete(agentId);
  }

  bids(): IterableIterator<StandingBid> {
    return this.#bids.values();
  }

  /** Calls `visit` for every standing bid (no iterator object: the clearing runs at 100 Hz). */
  forEachBid(visit: (bid: StandingBid) => void): void {
    this.#bids.forEach(visit);
  }

  get size(): number {
    return this.#bids.size;
  }

  /** How many submissions ended with each outcome. */
  counts(): Readonly<Record<SubmitOutcome, number>> {
    return Object.fromEntries(SUBMIT_OUTCOMES.map((o) => [o, this.#counts.get(o) ?? 0])) as Record<SubmitOutcome, number>;
  }
}
