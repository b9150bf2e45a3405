/**
 * Wallets between ledger transactions. The auction clears every tick, but a ledger
 * transaction (SHA-256 per entry, an Ed25519 signature, an SQLite commit: ≈ 0.2 ms of CPU) every
 * 10 ms would cost 2 % of a core by itself. So the bank keeps each agent's balance exact in
 * memory at every tick — committed balance plus pending movements, checked before every
 * payment — and writes the pending movements, summed per agent and kind, as one ledger tick
 * every `settleEveryTicks`. A crash loses at most the pending movements of the last interval,
 * never half of a ledger tick.
 */
import { LedgerFundsError } from '../errors.js';
import { agentAccount, type AgentId } from '../agent-id.js';
import type { AccountId, EntryKind, Transfer } from '../ledger/entries.js';
import { ZERO_MICRO_J, microJ, toJoules, type MicroJoules } from '../units/money.js';
import type { Settlement, TickCommit } from '../ledger/ledger.js';
import type { LedgerWriter } from './ports.js';

type PendingKind = Extract<EntryKind, 'mint' | 'income' | 'stake' | 'slash' | 'payment' | 'tax'>;

interface Pending {
  readonly agentId: AgentId;
  readonly kind: PendingKind;
  microJ: bigint;
  count: number;
}

interface Wallet {
  readonly account: AccountId;
  microJ: MicroJoules;
  joules: number;
}

/** The order pending movements are written in: credits before debits, stakes before slashes, so no entry overdraws. */
const ORDER: readonly PendingKind[] = ['mint', 'income', 'stake', 'slash', 'payment', 'tax'];

export class Bank {
  readonly #ledger: LedgerWriter;
  /** Per kind, per agent (no key strings built per payment: this runs at 100 Hz). */
  readonly #pending = new Map<PendingKind, Map<string, Pending>>(ORDER.map((kind) => [kind, new Map()]));
  #pendingCount = 0;
  /** Per agent: its account and its balance (committed + pending), kept current so reads allocate nothing. */
  readonly #wallets = new Map<string, Wallet>();
  readonly #settling: { agentId: AgentId; survivalMs: number; reason: string }[] = [];
  /** Per agent: its stake in escrow (committed + pending), µJ. The escrow account is shared; this says whose part is whose. */
  readonly #escrowed = new Map<string, MicroJoules>();
  /** Agents settled or being settled: nothing moves in or out of their wallets any more. */
  readonly #closed = new Set<string>();
  #nextLedgerTick: number;

  constructor(ledger: LedgerWriter) {
    this.#ledger = ledger;
    this.#nextLedgerTick = ledger.lastTick + 1;
  }

  /** Committed balance plus everything pending, µJ. */
  balance(agentId: AgentId): MicroJoules {
    return this.#wallet(agentId).microJ;
  }

  /** The same in joules (the clearing reads it for every bid, every tick). */
  balanceJ(agentId: AgentId): number {
    return this.#wallet(agentId).joules;
  }

  /** Drops everything kept for a settled agent whose record the session dropped (its id is never used again). */
  forget(agentId: AgentId): void {
    if (!this.#closed.has(agentId) || this.#settling.some((s) => s.agentId === agentId)) return;
    this.#wallets.delete(agentId);
    this.#escrowed.delete(agentId);
    this.#closed.delete(agentId);
  }

  #wallet(agentId: AgentId): Wallet {
    let wallet = this.#wallets.get(agentId);
    if (wallet === undefined) {
      const account = agentAccount(agentId);
      const microJ = this.#ledger.balance(account);
      wallet = { account, microJ, joules: toJoules(microJ) };
      this.#wallets.set(agentId, wallet);
    }
    return wallet;
  }

  #add(agentId: AgentId, kind: PendingKind, amount: MicroJoules): void {
    if (amount <= 0n || this.#closed.has(agentId)) return;
    const ofKind = this.#pending.get(kind) as Map<string, Pending>;
    const entry = ofKind.get(agentId);
    if (entry === undefined) {
      ofKind.set(agentId, { agentId, kind, microJ: amount, count: 1 });
      this.#pendingCount++;
    } else {
      entry.microJ += amount;
      entry.count += 1;
    }
    if (kind === 'slash') return; // escrow → burn: the wallet gave it up when it staked
    const wallet = this.#wallet(agentId);
    wallet.microJ = microJ(kind === 'mint' || kind === 'income' ? wallet.microJ + amount : wallet.microJ - amount);
    wallet.joules = toJoules(wallet.microJ);
  }

  /** Moves `microJ` of the wallet into escrow as the agent's stake; refuses (`MXW_ERR_LEDGER_FUNDS`) more than the balance. */
  stake(agentId: AgentId, amount: MicroJoules): void {
    if (amount <= 0n || this.#closed.has(agentId)) return;
    if (amount > this.balance(agentId)) throw new LedgerFundsError(`${agentId} cannot stake ${amount.toString()} µJ (balance ${this.balance(agentId).toString()} µJ)`);
    this.#add(agentId, 'stake', amount);
    this.#escrowed.set(agentId, microJ(this.escrowed(agentId) + amount));
  }

  /** The agent's stake in escrow now, µJ. */
  escrowed(agentId: AgentId): MicroJoules {
    return this.#escrowed.get(agentId) ?? ZERO_MICRO_J;
  }

  /** Burns up to `microJ` (default: all) of the agent's stake; returns what was burned, µJ. */
  slash(agentId: AgentId, upTo?: MicroJoules): MicroJoules {
    const held = this.#closed.has(agentId) ? ZERO_MICRO_J : this.escrowed(agentId);
    const amount = upTo === undefined || upTo > held ? held : upTo;
    if (amount <= 0n) return ZERO_MICRO_J;
    this.#add(agentId, 'slash', amount);
    this.#escrowed.set(agentId, microJ(held - amount));
    return amount;
  }

  /** New joules into an agent's wallet (its opening balance, a top-up). */
  mint(agentId: AgentId, amount: MicroJoules): void {
    this.#wallet(agentId);
    this.#add(agentId, 'mint', amount);
  }

  income(agentId: AgentId, amount: MicroJoules): void {
    this.#add(agentId, 'income', amount);
  }

  /** Pays for compute; refuses (`MXW_ERR_LEDGER_FUNDS`) what the balance cannot cover. */
  pay(agentId: AgentId, amount: MicroJoules): void {
    if (amount > this.balance(agentId)) throw new LedgerFundsError(`${agentId} cannot pay ${amount.toString()} µJ (balance ${this.balance(agentId).toString()} µJ)`);
    this.#add(agentId, 'payment', amount);
  }

  /** The Landauer tax: owed for erasure that has happened, so it may overdraw. */
  tax(agentId: AgentId, amount: MicroJoules): void {
    this.#add(agentId, 'tax', amount);
  }

  /**
   * The agent is gone: its wallet closes now (later movements are ignored) and at the next
   * write what it has left goes back to the treasury.
   */
  settle(agentId: AgentId, survivalMs: number, reason: string): void {
    if (this.#closed.has(agentId)) return;
    this.#closed.add(agentId);
    this.#settling.push({ agentId, survivalMs, reason });
  }

  /**
   * Writes everything pending as one ledger tick; `memo` names the auction ticks it covers.
   * If the write fails nothing pending is dropped: it is retried with the next flush.
   */
  flush(memo: string): TickCommit | null {
    if (this.#pendingCount === 0 && this.#settling.length === 0) return null;
    const transfers: Transfer[] = [];
    for (const kind of ORDER) {
      for (const p of this.#pending.get(kind)?.values() ?? []) {
        const account = agentAccount(p.agentId);
        const amountMicroJ = microJ(p.microJ);
        const suffix = p.count > 1 ? ` (${String(p.count)} summed)` : '';
        if (kind === 'mint' || kind === 'income') transfers.push({ kind, from: 'treasury', to: account, amountMicroJ, memo: `${memo}${suffix}` });
        else if (kind === 'stake') transfers.push({ kind, from: account, to: 'escrow', amountMicroJ, memo: `stake of ${account}` });
        else if (kind === 'slash') transfers.push({ kind, from: 'escrow', to: 'burn', amountMicroJ, memo: `slash of ${account}'s stake` });
        else transfers.push({ kind, from: account, to: kind === 'payment' ? 'burn' : 'landauer', amountMicroJ, memo: `${memo}${suffix}` });
      }
    }
    // A settled agent's stake that was not slashed goes back to it first, so that it is settled with the rest.
    for (const s of this.#settling) {
      const stake = this.escrowed(s.agentId);
      if (stake <= 0n) continue;
      const account = agentAccount(s.agentId);
      transfers.push({ kind: 'refund', from: 'escrow', to: account, amountMicroJ: stake, memo: `stake of ${account} returned` });
    }
    // Final balances are taken now, after every pending movement of the interval.
    const settlements: Settlement[] = this.#settling.map((s) => ({ ...s, finalBalanceMicroJ: microJ(this.balance(s.agentId) + this.escrowed(s.agentId)) }));
    for (const s of settlements) {
      const left = s.finalBalanceMicroJ;
      if (left > 0n) transfers.push({ kind: 'refund', from: agentAccount(s.agentId), to: 'treasury', amountMicroJ: left, memo: `settled: ${s.reason}` });
    }
    const commit = this.#ledger.commitTick(this.#nextLedgerTick, transfers, settlements);
    this.#nextLedgerTick += 1;
    this.#settling.length = 0;
    for (const ofKind of this.#pending.values()) ofKind.clear();
    this.#pendingCount = 0;
    // Balances stay as they are: what was pending is now committed (a failed write threw above).
    for (const s of settlements) {
      this.#wallets.delete(s.agentId);
      this.#escrowed.delete(s.agentId);
    }
    return commit;
  }
}
