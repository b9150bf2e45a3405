/**
 * What the ledger records (docs/DESIGN.md §2, metering and ledger): double-entry transfers of integer microjoules
 * between accounts. Every entry moves `amount` from one account to another, so the sum of all
 * balances is always zero: the treasury's balance is minus everything minted (net of refunds),
 * and conservation reads `minted = Σ agent balances + burned + taxed + escrowed`.
 *
 * Each kind allows one shape of transfer; anything else is a bug in the caller and is refused.
 */
import { createHash } from 'node:crypto';
import { AGENT_ID_PATTERN, type AgentAccount } from '../agent-id.js';
import { LedgerTransferError } from '../errors.js';
import type { MicroJoules } from '../units/money.js';

/** The system accounts; agents' accounts are `agent:<id>`. */
export const SYSTEM_ACCOUNTS = ['treasury', 'burn', 'landauer', 'escrow'] as const;
export type SystemAccount = (typeof SYSTEM_ACCOUNTS)[number];
export type AccountId = SystemAccount | AgentAccount;

export const ENTRY_KINDS = ['mint', 'payment', 'tax', 'income', 'refund', 'stake', 'slash'] as const;
export type EntryKind = (typeof ENTRY_KINDS)[number];

/** One requested movement of joules, before it is chained. */
export interface Transfer {
  readonly kind: EntryKind;
  readonly from: AccountId;
  readonly to: AccountId;
  /** Integer microjoules, > 0. */
  readonly amountMicroJ: MicroJoules;
  /** Why, in a few words (the auction tick, the prime count, the erased bytes). ≤ 200 characters. */
  readonly memo?: string;
}

/** A committed entry: a transfer with its place in the chain. */
export interface LedgerEntry extends Transfer {
  readonly seq: number;
  readonly tick: number;
  readonly memo: string;
  /** SHA-256 of the previous entry (32 zero bytes before the first), hex. */
  readonly prevHash: string;
  /** SHA-256 of this entry's canonical encoding, hex. */
  readonly hash: string;
}

const AGENT_ACCOUNT = new RegExp(`^agent:${AGENT_ID_PATTERN.source.slice(1)}`);
export const MAX_MEMO_LENGTH = 200;
/** SQLite INTEGER is a signed 64-bit value; no single amount may come near it. */
export const MAX_AMOUNT_MICRO_J = 2n ** 62n;
export const GENESIS_HASH = '0'.repeat(64);

type Side = 'agent' | SystemAccount;
/** Kind → allowed [from, to] shapes. */
const SHAPES: Readonly<Record<EntryKind, readonly (readonly [Side, Side])[]>> = {
  mint: [['treasury', 'agent']],
  income: [['treasury', 'agent']],
  payment: [['agent', 'burn']],
  tax: [['agent', 'landauer']],
  stake: [['agent', 'escrow']],
  slash: [['escrow', 'burn']],
  // Refunds return escrowed stakes to their agent, or an ended agent's balance to the treasury.
  refund: [
    ['escrow', 'agent'],
    ['agent', 'treasury'],
  ],
};

export function isAccountId(value: string): value is AccountId {
  return (SYSTEM_ACCOUNTS as readonly string[]).includes(value) || AGENT_ACCOUNT.test(value);
}

function sideOf(account: AccountId): Side {
  return account.startsWith('agent:') ? 'agent' : (account as SystemAccount);
}

/** Throws `MXW_ERR_LEDGER_TRANSFER` unless `transfer` is well formed. */
export function checkTransfer(transfer: Transfer): void {
  const { kind, from, to, amountMicroJ } = transfer;
  if (!(ENTRY_KINDS as readonly string[]).includes(kind)) throw new LedgerTransferError(`unknown entry kind: ${JSON.stringify(kind)}`);
  if (!isAccountId(from) || !isAccountId(to)) throw new LedgerTransferError(`unknown account in ${kind}: ${JSON.stringify(from)} → ${JSON.stringify(to)}`);
  if (typeof amountMicroJ !== 'bigint' || amountMicroJ <= 0n || amountMicroJ > MAX_AMOUNT_MICRO_J) {
    throw new LedgerTransferError(`${kind} amount must be a positive integer of µJ below 2^62, got ${String(amountMicroJ)}`);
  }
  if (from === to) throw new LedgerTransferError(`${kind} from an account to itself: ${from}`);
  const shape = [sideOf(from), sideOf(to)];
  if (!SHAPES[kind].some(([f, t]) => f === shape[0] && t === shape[1])) {
    throw new LedgerTransferError(`a ${kind} cannot move joules ${from} → ${to}`);
  }
  if ((transfer.memo?.length ?? 0) > MAX_MEMO_LENGTH) throw new LedgerTransferError(`memo longer than ${String(MAX_MEMO_LENGTH)} characters`);
}

/**
 * The canonical encoding an entry's hash commits to: a JSON array in a fixed field order with
 * the amount as a decimal string (JSON has no 64-bit integers). Version 1.
 */
export function canonicalEncoding(entry: Omit<LedgerEntry, 'hash'>): string {
  return JSON.stringify([1, entry.seq, entry.tick, entry.kind, entry.from, entry.to, entry.amountMicroJ.toString(), entry.memo, entry.prevHash]);
}

export function entryHash(entry: Omit<LedgerEntry, 'hash'>): string {
  return createHash('sha256').update(canonicalEncoding(entry)).digest('hex');
}

/** What a tick's signature covers: the tick, its last entry and that entry's hash. */
export function tickSigningPayload(tick: number, lastSeq: number, headHash: string): Buffer {
  return Buffer.from(JSON.stringify([1, 'tick', tick, lastSeq, headHash]));
}
