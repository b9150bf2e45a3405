/**
 * `maxwell ledger verify`: re-derives everything the ledger claims from its entries alone —
 * the hash chain, each tick's signature, the stored balances and conservation — and names the
 * first entry where that fails. Opens the database read-only; never needs the private key.
 */
import type Database from 'better-sqlite3';
import { toError } from '../errors.js';
import { GENESIS_HASH, checkTransfer, entryHash, tickSigningPayload, type AccountId } from './entries.js';
import { openLedgerDatabase, rowToEntry } from './ledger.js';
import { publicKeyFromBase64, verifyPayload } from './node-key.js';

export const VERIFY_FAILURES = [
  'missing-entry',
  'broken-chain',
  'bad-hash',
  'bad-transfer',
  'tick-order',
  'tick-gap',
  'bad-signature',
  'unsigned-entries',
  'balance-mismatch',
  'not-conserved',
  'head-mismatch',
] as const;
export type VerifyFailureKind = (typeof VERIFY_FAILURES)[number];

export interface VerifyFailure {
  readonly kind: VerifyFailureKind;
  /** The first bad entry's sequence number (null when the failure is not one entry's). */
  readonly seq: number | null;
  readonly message: string;
}

export interface LedgerTotals {
  /** Net minted: minus the treasury's balance, µJ. */
  readonly mintedMicroJ: bigint;
  readonly agentBalancesMicroJ: bigint;
  readonly burnedMicroJ: bigint;
  readonly taxedMicroJ: bigint;
  readonly escrowedMicroJ: bigint;
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly path: string;
  readonly entries: number;
  readonly ticks: number;
  readonly headHash: string;
  readonly publicKey: string;
  readonly totals: LedgerTotals;
  /** The first failure found (verification stops at the first broken entry). */
  readonly failure: VerifyFailure | null;
}

export interface VerifyOptions {
  /** A head hash published earlier: the ledger must still contain it (detects truncated tails). */
  readonly expectHead?: string;
}

interface TickRow {
  tick: bigint;
  first_seq: bigint;
  last_seq: bigint;
  head_hash: string;
  signature: string;
}

function fail(kind: VerifyFailureKind, seq: number | null, message: string): VerifyFailure {
  return { kind, seq, message };
}

export function verifyLedger(path: string, options: VerifyOptions = {}): VerifyReport {
  const db = openLedgerDatabase(path, true);
  try {
    // One read transaction: a daemon writing meanwhile must not show entries without their tick, or the reverse.
    return db.transaction(() => verifyOpen(db, path, options))();
  } finally {
    db.close();
  }
}

function verifyOpen(db: Database.Database, path: string, options: VerifyOptions): VerifyReport {
  const publicKey = (db.prepare(`SELECT value FROM meta WHERE key = 'public_key'`).pluck().get() as string | undefined) ?? '';
  const balances = new Map<AccountId, bigint>();
  const hashes = new Map<number, { hash: string; tick: number }>();
  let failure: VerifyFailure | null = null;
  let entries = 0;
  let prevHash = GENESIS_HASH;
  let lastTick = -1;
  let expectedSeq = 1;

  for (const row of db.prepare(`SELECT * FROM entries ORDER BY seq`).iterate() as IterableIterator<Parameters<typeof rowToEntry>[0]>) {
    const entry = rowToEntry(row);
    entries += 1;
    if (entry.seq !== expectedSeq) {
      failure = fail('missing-entry', expectedSeq, `entry ${String(expectedSeq)} is missing (the next stored entry is ${String(entry.seq)})`);
      break;
    }
    if (entry.prevHash !== prevHash) {
      failure = fail('broken-chain', entry.seq, `entry ${String(entry.seq)} does not follow entry ${String(entry.seq - 1)}: its previous hash differs (deleted, inserted or reordered rows)`);
      break;
    }
    if (entryHash(entry) !== entry.hash) {
      failure = fail('bad-hash', entry.seq, `entry ${String(entry.seq)} was altered after it was written: its contents do not match its hash`);
      break;
    }
    try {
      checkTransfer(entry);
    } catch (err) {
      failure = fail('bad-transfer', entry.seq, `entry ${String(entry.seq)}: ${toError(err).message}`);
      break;
    }
    if (entry.tick < lastTick) {
      failure = fail('tick-order', entry.seq, `entry ${String(entry.seq)} has tick ${String(entry.tick)} after tick ${String(lastTick)}`);
      break;
    }
    lastTick = entry.tick;
    balances.set(entry.from, (balances.get(entry.from) ?? 0n) - entry.amountMicroJ);
    balances.set(entry.to, (balances.get(entry.to) ?? 0n) + entry.amountMicroJ);
    hashes.set(entry.seq, { hash: entry.hash, tick: entry.tick });
    prevHash = entry.hash;
    expectedSeq += 1;
  }

  const tickRows = db.prepare(`SELECT * FROM ticks ORDER BY tick`).all() as TickRow[];
  if (failure === null) failure = checkTicks(tickRows, hashes, expectedSeq - 1, publicKey);
  if (failure === null) failure = checkBalances(db, balances);
  const totals = totalsOf(balances);
  if (failure === null) {
    const sum = [...balances.values()].reduce((a, b) => a + b, 0n);
    if (sum !== 0n) failure = fail('not-conserved', null, `balances sum to ${sum.toString()} µJ, not 0: joules were created or destroyed`);
  }
  if (failure === null && options.expectHead !== undefined && ![...hashes.values()].some((h) => h.hash === options.expectHead)) {
    failure = fail('head-mismatch', null, `the published head ${options.expectHead} is not in the ledger: entries were removed from its end`);
  }
  return { ok: failure === null, path, entries, ticks: tickRows.length, headHash: prevHash, publicKey, totals, failure };
}

function checkTicks(rows: readonly TickRow[], hashes: ReadonlyMap<number, { hash: string; tick: number }>, lastSeq: number, publicKeyBase64: string): VerifyFailure | null {
  let key;
  try {
    key = publicKeyFromBase64(publicKeyBase64);
  } catch {
    return fail('bad-signature', null, 'the ledger has no valid public key in its meta table');
  }
  let covered = 0;
  for (const row of rows) {
    const [tick, first, last] = [Number(row.tick), Number(row.first_seq), Number(row.last_seq)];
    if (first !== covered + 1 || last < first) return fail('tick-gap', covered + 1, `tick ${String(tick)} covers entries ${String(first)}–${String(last)}, expected to start at ${String(covered + 1)}`);
    const head = hashes.get(last);
    if (head === undefined) return fail('missing-entry', last, `tick ${String(tick)} ends at entry ${String(last)}, which is missing`);
    for (let seq = first; seq <= last; seq += 1) {
      if (hashes.get(seq)?.tick !== tick) return fail('tick-gap', seq, `entry ${String(seq)} is not in tick ${String(tick)} as its tick record says`);
    }
    if (head.hash !== row.head_hash || !verifyPayload(key, tickSigningPayload(tick, last, row.head_hash), Buffer.from(row.signature, 'base64'))) {
      return fail('bad-signature', last, `the signature of tick ${String(tick)} (entries ${String(first)}–${String(last)}) does not verify`);
    }
    covered = last;
  }
  if (covered !== lastSeq) return fail('unsigned-entries', covered + 1, `entries ${String(covered + 1)}–${String(lastSeq)} belong to no signed tick`);
  return null;
}

function checkBalances(db: Database.Database, derived: ReadonlyMap<AccountId, bigint>): VerifyFailure | null {
  const stored = new Map((db.prepare(`SELECT account, balance_uj FROM balances`).all() as { account: AccountId; balance_uj: bigint }[]).map((r) => [r.account, r.balance_uj]));
  for (const account of new Set([...stored.keys(), ...derived.keys()])) {
    const want = derived.get(account) ?? 0n;
    const have = stored.get(account) ?? 0n;
    if (want !== have) return fail('balance-mismatch', null, `stored balance of ${account} is ${have.toString()} µJ; its entries give ${want.toString()} µJ`);
  }
  return null;
}

function totalsOf(balances: ReadonlyMap<AccountId, bigint>): LedgerTotals {
  let agents = 0n;
  for (const [account, balance] of balances) if (account.startsWith('agent:')) agents += balance;
  return {
    mintedMicroJ: -(balances.get('treasury') ?? 0n),
    agentBalancesMicroJ: agents,
    burnedMicroJ: balances.get('burn') ?? 0n,
    taxedMicroJ: balances.get('landauer') ?? 0n,
    escrowedMicroJ: balances.get('escrow') ?? 0n,
  };
}
