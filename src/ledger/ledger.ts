/**
 * The joule ledger (docs/DESIGN.md §2, metering and ledger): append-only, hash-chained, signed, in SQLite.
 *
 * - Every entry commits to the previous entry's hash and its own canonical encoding
 *   (entries.ts), so an edited, deleted or reordered row breaks the chain.
 * - Each tick's entries commit in one SQLite transaction together with the tick's record (its
 *   first and last entry and an Ed25519 signature over the last hash) and the updated
 *   balances: a crash leaves whole ticks or nothing of them.
 * - One signature per tick, not per entry: Ed25519 signing costs ≈ 40 µs here, and a busy tick
 *   holds one payment per agent; the chain makes the tick's signature cover every entry in it.
 *
 * WAL mode with `synchronous = NORMAL`: a killed process loses nothing committed; a power cut
 * may lose the last ticks, never half of one.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { LedgerFundsError, LedgerKeyError, LedgerOpenError, LedgerReplayError, LedgerTransferError, toError } from '../errors.js';
import {
  GENESIS_HASH,
  checkTransfer,
  entryHash,
  tickSigningPayload,
  type AccountId,
  type LedgerEntry,
  type Transfer,
} from './entries.js';
import { ZERO_MICRO_J, microJ, type MicroJoules } from '../units/money.js';
import { loadOrCreateNodeKey, signPayload, type NodeKey } from './node-key.js';

export const LEDGER_SCHEMA_VERSION = '1';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS entries (
  seq INTEGER PRIMARY KEY, tick INTEGER NOT NULL, kind TEXT NOT NULL,
  from_account TEXT NOT NULL, to_account TEXT NOT NULL, amount_uj INTEGER NOT NULL,
  memo TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS ticks (
  tick INTEGER PRIMARY KEY, first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL,
  head_hash TEXT NOT NULL, signature TEXT NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS balances (account TEXT PRIMARY KEY, balance_uj INTEGER NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS settlements (
  agent_id TEXT NOT NULL, tick INTEGER NOT NULL, final_balance_uj INTEGER NOT NULL,
  survival_ms INTEGER NOT NULL, reason TEXT NOT NULL) STRICT;
`;

/** Debits that may not overdraw: everything except a tax (erasure already happened; it is owed). */
const MAY_OVERDRAW = new Set<string>(['treasury']);

export interface LedgerOptions {
  /** The SQLite file; created with its directory when missing. */
  readonly path: string;
  /** The node key (PKCS#8 PEM, 0600); created on first start. */
  readonly keyPath: string;
}

/** How an agent's wallet ended (apoptosis or a stop). */
export interface Settlement {
  readonly agentId: string;
  /** Balance after the tick's transfers (the refund of what was left included), µJ. */
  readonly finalBalanceMicroJ: MicroJoules;
  readonly survivalMs: number;
  readonly reason: string;
}

export interface TickCommit {
  readonly tick: number;
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly headHash: string;
}

interface EntryRow {
  seq: bigint;
  tick: bigint;
  kind: string;
  from_account: string;
  to_account: string;
  amount_uj: bigint;
  memo: string;
  prev_hash: string;
  hash: string;
}

/** One commit's write, as {@link Ledger.onCommit} reports it. */
export interface CommitTiming {
  /** The SQLite transaction, ms (monotonic clock). */
  readonly durationMs: number;
  readonly entries: number;
  readonly settlements: number;
}

export function rowToEntry(row: EntryRow): LedgerEntry {
  return {
    seq: Number(row.seq),
    tick: Number(row.tick),
    kind: row.kind as LedgerEntry['kind'],
    from: row.from_account as AccountId,
    to: row.to_account as AccountId,
    amountMicroJ: microJ(row.amount_uj),
    memo: row.memo,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

/** Opens a SQLite file as a Maxwell ledger; `readonly` never creates anything. */
export function openLedgerDatabase(path: string, readonly: boolean): Database.Database {
  let db: Database.Database;
  try {
    if (!readonly) mkdirSync(dirname(path), { recursive: true });
    db = new Database(path, { readonly, fileMustExist: readonly });
    db.defaultSafeIntegers(true);
    if (!readonly) {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
    }
  } catch (err) {
    throw new LedgerOpenError(`cannot open ledger ${path}: ${toError(err).message}`, { cause: err });
  }
  try {
    const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all() as string[];
    if (tables.length > 0 && !tables.includes('meta')) throw new LedgerOpenError(`${path} is a SQLite file but not a Maxwell ledger (no meta table)`);
    if (readonly && tables.length === 0) throw new LedgerOpenError(`${path} is empty: not a Maxwell ledger`);
    if (tables.includes('meta')) {
      const version = db.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).pluck().get() as string | undefined;
      if (version !== undefined && version !== LEDGER_SCHEMA_VERSION) throw new LedgerOpenError(`${path} has ledger schema ${version}; this Maxwell reads ${LEDGER_SCHEMA_VERSION}`);
    }
    return db;
  } catch (err) {
    db.close();
    if (err instanceof LedgerOpenError) throw err;
    throw new LedgerOpenError(`cannot read ledger ${path}: ${toError(err).message}`, { cause: err });
  }
}

export class Ledger {
  readonly path: string;
  readonly key: NodeKey;
  #db: Database.Database;
  #balances = new Map<AccountId, MicroJoules>();
  #lastTick = -1;
  #lastSeq = 0;
  #headHash = GENESIS_HASH;
  #insertEntry: Database.Statement;
  #insertTick: Database.Statement;
  #upsertBalance: Database.Statement;
  #insertSettlement: Database.Statement;
  #commit: Database.Transaction<(tick: number, entries: LedgerEntry[], signature: string, touched: Map<AccountId, bigint>, settlements: readonly Settlement[]) => void>;
  readonly #commitListeners = new Set<(commit: CommitTiming) => void>();

  private constructor(path: string, key: NodeKey, db: Database.Database) {
    this.path = path;
    this.key = key;
    this.#db = db;
    this.#insertEntry = db.prepare(
      `INSERT INTO entries (seq, tick, kind, from_account, to_account, amount_uj, memo, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#insertTick = db.prepare(`INSERT INTO ticks (tick, first_seq, last_seq, head_hash, signature) VALUES (?, ?, ?, ?, ?)`);
    this.#upsertBalance = db.prepare(`INSERT INTO balances (account, balance_uj) VALUES (?, ?) ON CONFLICT(account) DO UPDATE SET balance_uj = excluded.balance_uj`);
    this.#insertSettlement = db.prepare(`INSERT INTO settlements (agent_id, tick, final_balance_uj, survival_ms, reason) VALUES (?, ?, ?, ?, ?)`);
    this.#commit = db.transaction((tick, entries, signature, touched, settlements) => {
      for (const e of entries) this.#insertEntry.run(e.seq, e.tick, e.kind, e.from, e.to, e.amountMicroJ, e.memo, e.prevHash, e.hash);
      const first = entries[0];
      const last = entries.at(-1);
      if (first !== undefined && last !== undefined) this.#insertTick.run(tick, first.seq, last.seq, last.hash, signature);
      for (const [account, balance] of touched) this.#upsertBalance.run(account, balance);
      for (const s of settlements) this.#insertSettlement.run(s.agentId, tick, s.finalBalanceMicroJ, Math.round(s.survivalMs), s.reason);
    });
  }

  /** Opens (or creates) the ledger and its node key. */
  static open(options: LedgerOptions): Ledger {
    const key = loadOrCreateNodeKey(options.keyPath);
    const db = openLedgerDatabase(options.path, false);
    try {
      db.exec(SCHEMA);
      const meta = new Map((db.prepare(`SELECT key, value FROM meta`).all() as { key: string; value: string }[]).map((r) => [r.key, r.value]));
      if (meta.size === 0) {
        const insert = db.prepare(`INSERT INTO meta (key, value) VALUES (?, ?)`);
        db.transaction(() => {
          insert.run('schema_version', LEDGER_SCHEMA_VERSION);
          insert.run('public_key', key.publicKeyBase64);
          insert.run('created_at', new Date().toISOString());
        })();
      } else if (meta.get('public_key') !== key.publicKeyBase64) {
        throw new LedgerKeyError(`ledger ${options.path} was signed by another node key than ${options.keyPath}`);
      }
      const ledger = new Ledger(options.path, key, db);
      ledger.#load();
      return ledger;
    } catch (err) {
      db.close();
      throw err;
    }
  }

  #load(): void {
    for (const row of this.#db.prepare(`SELECT account, balance_uj FROM balances`).all() as { account: AccountId; balance_uj: bigint }[]) {
      this.#balances.set(row.account, microJ(row.balance_uj));
    }
    const head = this.#db.prepare(`SELECT tick, last_seq, head_hash FROM ticks ORDER BY tick DESC LIMIT 1`).get() as
      | { tick: bigint; last_seq: bigint; head_hash: string }
      | undefined;
    if (head !== undefined) {
      this.#lastTick = Number(head.tick);
      this.#lastSeq = Number(head.last_seq);
      this.#headHash = head.head_hash;
    }
  }

  /** The last committed tick (−1 before the first). */
  get lastTick(): number {
    return this.#lastTick;
  }

  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** Hash of the last entry: publish it to detect truncation (see `verifyLedger`'s `expectHead`). */
  get headHash(): string {
    return this.#headHash;
  }

  balance(account: AccountId): MicroJoules {
    return this.#balances.get(account) ?? ZERO_MICRO_J;
  }

  balances(): ReadonlyMap<AccountId, MicroJoules> {
    return this.#balances;
  }

  /**
   * Commits one tick's transfers atomically, in order. Throws (writing nothing) when a transfer
   * is malformed (`MXW_ERR_LEDGER_TRANSFER`), overdraws its payer (`MXW_ERR_LEDGER_FUNDS`; only
   * taxes and the treasury may go below zero) or the tick is not after the last one
   * (`MXW_ERR_LEDGER_REPLAY`). A tick with no transfers and no settlements writes nothing.
   */
  commitTick(tick: number, transfers: readonly Transfer[], settlements: readonly Settlement[] = []): TickCommit {
    if (!Number.isSafeInteger(tick) || tick < 0) throw new LedgerTransferError(`tick must be a non-negative integer, got ${String(tick)}`);
    if (tick <= this.#lastTick) throw new LedgerReplayError(`tick ${String(tick)} is not after the last committed tick ${String(this.#lastTick)}`);
    const touched = new Map<AccountId, bigint>();
    const entries: LedgerEntry[] = [];
    let prevHash = this.#headHash;
    let seq = this.#lastSeq;
    for (const transfer of transfers) {
      checkTransfer(transfer);
      const fromBalance = (touched.get(transfer.from) ?? this.balance(transfer.from)) - transfer.amountMicroJ;
      if (fromBalance < 0n && transfer.kind !== 'tax' && !MAY_OVERDRAW.has(transfer.from)) {
        throw new LedgerFundsError(`${transfer.kind} of ${transfer.amountMicroJ.toString()} µJ overdraws ${transfer.from} (balance ${(fromBalance + transfer.amountMicroJ).toString()} µJ)`);
      }
      touched.set(transfer.from, fromBalance);
      touched.set(transfer.to, (touched.get(transfer.to) ?? this.balance(transfer.to)) + transfer.amountMicroJ);
      seq += 1;
      const unhashed = { seq, tick, kind: transfer.kind, from: transfer.from, to: transfer.to, amountMicroJ: transfer.amountMicroJ, memo: transfer.memo ?? '', prevHash };
      const entry: LedgerEntry = { ...unhashed, hash: entryHash(unhashed) };
      entries.push(entry);
      prevHash = entry.hash;
    }
    if (entries.length === 0 && settlements.length === 0) return { tick, firstSeq: seq + 1, lastSeq: seq, headHash: prevHash };
    const signature = entries.length > 0 ? signPayload(this.key.privateKey, tickSigningPayload(tick, seq, prevHash)).toString('base64') : '';
    const startedMs = performance.now();
    this.#commit(tick, entries, signature, touched, settlements);
    const timing: CommitTiming = { durationMs: performance.now() - startedMs, entries: entries.length, settlements: settlements.length };
    for (const [account, balance] of touched) this.#balances.set(account, microJ(balance));
    const firstSeq = this.#lastSeq + 1;
    this.#lastTick = tick;
    this.#lastSeq = seq;
    this.#headHash = prevHash;
    // Told only once the commit is the ledger's state: a listener that throws cannot make a stored tick look unwritten.
    for (const listener of this.#commitListeners) {
      try {
        listener(timing);
      } catch {
        // An observer's failure is not the ledger's.
      }
    }
    return { tick, firstSeq, lastSeq: seq, headHash: prevHash };
  }

  /** Told the duration of every commit that wrote something (the SQLite transaction alone, without hashing and signing). */
  onCommit(listener: (commit: CommitTiming) => void): () => void {
    this.#commitListeners.add(listener);
    return () => this.#commitListeners.delete(listener);
  }

  /** Entries in chain order, from `fromSeq` (default 1), at most `limit`, optionally touching `account`. */
  entries(options: { fromSeq?: number; limit?: number; account?: AccountId } = {}): LedgerEntry[] {
    const { fromSeq = 1, limit = 1000, account } = options;
    const rows = (
      account === undefined
        ? this.#db.prepare(`SELECT * FROM entries WHERE seq >= ? ORDER BY seq LIMIT ?`).all(fromSeq, limit)
        : this.#db.prepare(`SELECT * FROM entries WHERE seq >= ? AND (from_account = ? OR to_account = ?) ORDER BY seq LIMIT ?`).all(fromSeq, account, account, limit)
    ) as EntryRow[];
    return rows.map(rowToEntry);
  }

  settlements(): Settlement[] {
    return (this.#db.prepare(`SELECT * FROM settlements ORDER BY tick`).all() as { agent_id: string; final_balance_uj: bigint; survival_ms: bigint; reason: string }[]).map((r) => ({
      agentId: r.agent_id,
      finalBalanceMicroJ: microJ(r.final_balance_uj),
      survivalMs: Number(r.survival_ms),
      reason: r.reason,
    }));
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }
}
