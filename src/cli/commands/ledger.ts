/** `maxwell ledger`: verify a ledger database offline, list balances and entries. */
import type { Command } from 'commander';
import { LedgerCorruptError } from '../../errors.js';
import { toJoules } from '../../units/money.js';
import { openLedgerDatabase, rowToEntry } from '../../ledger/ledger.js';
import { verifyLedger, type VerifyReport } from '../../ledger/verify.js';
import { fmt, formatTable, toJson, type CliIo } from '../output.js';
import { addConfigFlags, configFor, type ConfigFlag, type GlobalOptions } from './common.js';

const FLAGS: readonly ConfigFlag[] = [{ flags: '--db <file>', description: 'the ledger database', property: 'db', key: 'ledger.path' }];

function joules(microJ: bigint): string {
  return `${fmt(toJoules(microJ), 6)} J`;
}

export function formatVerify(report: VerifyReport): string {
  const t = report.totals;
  let out = `Ledger ${report.path}: ${String(report.entries)} entries in ${String(report.ticks)} signed ticks\n`;
  out += `  head        ${report.headHash}\n`;
  out += `  minted      ${joules(t.mintedMicroJ)} (net of refunds)\n`;
  out += `  = balances  ${joules(t.agentBalancesMicroJ)}\n  + burned    ${joules(t.burnedMicroJ)}\n  + taxed     ${joules(t.taxedMicroJ)}\n  + escrowed  ${joules(t.escrowedMicroJ)}\n`;
  out += report.ok
    ? 'OK: the hash chain, every tick signature, the stored balances and conservation all verify.\n'
    : `FAILED (${report.failure?.kind ?? ''}): ${report.failure?.message ?? ''}\n`;
  return out;
}

function dbPath(options: Record<string, unknown>, cmd: Command, env: Readonly<Record<string, string | undefined>>): string {
  return configFor(options, cmd.optsWithGlobals<GlobalOptions>(), FLAGS, env).ledger.path;
}

export function registerLedger(program: Command, io: CliIo, env: Readonly<Record<string, string | undefined>>): void {
  const ledger = program.command('ledger').description('the joule ledger: verify it, list balances and entries (works offline, read-only)');

  addConfigFlags(
    ledger
      .command('verify')
      .description('check the hash chain, every tick signature, the stored balances and conservation; name the first bad entry')
      .option('--expect-head <hash>', 'a head hash published earlier; fails if entries after it were removed')
      .option('--json', 'print one JSON document on stdout'),
    FLAGS,
  ).action((options: Record<string, unknown> & { expectHead?: string }, cmd: Command) => {
    const report = verifyLedger(dbPath(options, cmd, env), options.expectHead === undefined ? {} : { expectHead: options.expectHead });
    io.stdout.write(cmd.optsWithGlobals<GlobalOptions>().json === true ? `${toJson(report)}\n` : formatVerify(report));
    if (!report.ok) throw new LedgerCorruptError(`ledger verification failed at ${report.failure?.seq === null ? 'the ledger as a whole' : `entry ${String(report.failure?.seq)}`}: ${report.failure?.message ?? ''}`);
  });

  addConfigFlags(ledger.command('balances').description('every account and its balance').option('--json', 'print one JSON document on stdout'), FLAGS).action(
    (options: Record<string, unknown>, cmd: Command) => {
      const db = openLedgerDatabase(dbPath(options, cmd, env), true);
      try {
        const rows = db.prepare(`SELECT account, balance_uj FROM balances ORDER BY account`).all() as { account: string; balance_uj: bigint }[];
        if (cmd.optsWithGlobals<GlobalOptions>().json === true) io.stdout.write(`${toJson(rows.map((r) => ({ account: r.account, balanceMicroJ: r.balance_uj })))}\n`);
        else io.stdout.write(formatTable([['account', 'balance'], ...rows.map((r) => [r.account, joules(r.balance_uj)])]));
      } finally {
        db.close();
      }
    },
  );

  addConfigFlags(
    ledger
      .command('entries')
      .description('entries in chain order')
      .option('--from <seq>', 'first entry', '1')
      .option('--limit <n>', 'at most this many', '50')
      .option('--json', 'print one JSON document on stdout'),
    FLAGS,
  ).action((options: Record<string, unknown> & { from: string; limit: string }, cmd: Command) => {
    const db = openLedgerDatabase(dbPath(options, cmd, env), true);
    try {
      const rows = db.prepare(`SELECT * FROM entries WHERE seq >= ? ORDER BY seq LIMIT ?`).all(Number(options.from) || 1, Number(options.limit) || 50) as Parameters<typeof rowToEntry>[0][];
      const entries = rows.map(rowToEntry);
      if (cmd.optsWithGlobals<GlobalOptions>().json === true) io.stdout.write(`${toJson(entries)}\n`);
      else io.stdout.write(formatTable([['seq', 'tick', 'kind', 'from', 'to', 'amount', 'memo'], ...entries.map((e) => [String(e.seq), String(e.tick), e.kind, e.from, e.to, joules(e.amountMicroJ), e.memo])]));
    } finally {
      db.close();
    }
  });
}
