/**
 * What the soak checks once its daemon has stopped, each from the outside: the ledger with the
 * CLI a user would run (`maxwell ledger verify`), the settlements and balances from the ledger
 * file, and the cgroup hierarchies and /proc for anything of that daemon left frozen or running.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { agentAccount } from '../agent-id.js';
import { openLedgerDatabase } from '../ledger/ledger.js';
import { detectCgroups, instanceGroups, type CgroupLayout } from '../runtimes/process/cgroups.js';
import { delegatedParentOfSelf } from '../runtimes/process/delegation.js';

export interface AfterStop {
  readonly verifyOk: boolean;
  /** What `maxwell ledger verify --json` said, in words. */
  readonly verify: string;
  /** Agents the daemon listed over the run, and every agent account on the ledger. */
  readonly agents: number;
  readonly settled: number;
  /** Agents with no settlement row or a non-zero balance, with why. */
  readonly unsettled: readonly string[];
  /** Cgroups of the stopped daemon still present, and agent processes still alive. */
  readonly leftovers: readonly string[];
}

interface VerifyJson {
  readonly ok: boolean;
  readonly entries: number;
  readonly ticks: number;
  readonly totals: Readonly<Record<string, string | number>>;
  readonly failure: { readonly kind: string; readonly message: string } | null;
}

function verifyWithCli(bin: string, ledgerPath: string): { ok: boolean; text: string } {
  const run = spawnSync(process.execPath, [bin, 'ledger', 'verify', '--db', ledgerPath, '--json'], { encoding: 'utf8', timeout: 600_000, maxBuffer: 16 * 2 ** 20 });
  try {
    const report = JSON.parse(run.stdout) as VerifyJson;
    if (report.failure !== null) return { ok: false, text: `${report.failure.kind}: ${report.failure.message}` };
    const t = report.totals;
    return { ok: report.ok && run.status === 0, text: `ok: ${String(report.entries)} entries in ${String(report.ticks)} ticks, balances sum to zero (minted ${String(t['mintedMicroJ'])} µJ = agents ${String(t['agentBalancesMicroJ'])} + burned ${String(t['burnedMicroJ'])} + taxed ${String(t['taxedMicroJ'])} + escrowed ${String(t['escrowedMicroJ'])})` };
  } catch {
    return { ok: false, text: `maxwell ledger verify exited ${String(run.status ?? run.signal)}: ${(run.stderr || run.stdout).slice(0, 500)}` };
  }
}

/**
 * The cgroups of daemon `pid` (`maxwell/p<pid>-…` in any hierarchy, and under the delegated cgroup
 * of the systemd unit this process runs in, if any) that still exist, with their frozen state.
 */
export function cgroupsLeftBy(pid: number, layout: CgroupLayout = detectCgroups()): string[] {
  const unit = delegatedParentOfSelf(layout);
  return instanceGroups(layout, unit === undefined ? [] : [unit])
    .filter((g) => g.ownerPid === pid)
    .map(({ hierarchy, dir }) => {
      const frozen = hierarchy === 'v2' ? readOr(join(dir, 'cgroup.freeze')) === '1' : hierarchy === 'freezer' ? readOr(join(dir, 'freezer.state')) === 'FROZEN' : false;
      return `${dir}${frozen ? ' (frozen)' : ''}`;
    });
}

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

/** Processes whose command line holds `needle`, other than this one. */
function processesRunning(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    if (readOr(join('/proc', entry, 'cmdline')).includes(needle)) pids.push(Number(entry));
  }
  return pids;
}

export function checkAfterStop(input: { readonly ledgerPath: string; readonly daemonPid: number; readonly agentIds: readonly string[]; readonly bin: string; readonly agentBinary: string; readonly workDir: string }): AfterStop {
  const verify = verifyWithCli(input.bin, input.ledgerPath);
  const db = openLedgerDatabase(input.ledgerPath, true);
  let settledIds: Set<string>;
  let balances: Map<string, bigint>;
  try {
    settledIds = new Set((db.prepare('SELECT agent_id FROM settlements').all() as { agent_id: string }[]).map((r) => r.agent_id));
    balances = new Map((db.prepare('SELECT account, balance_uj FROM balances').all() as { account: string; balance_uj: bigint }[]).map((r) => [r.account, r.balance_uj]));
  } finally {
    db.close();
  }
  // Every agent that ever had a wallet has an account: the census may have missed one that came and went between two looks.
  const ids = new Set(input.agentIds);
  for (const account of balances.keys()) if (account.startsWith('agent:')) ids.add(account.slice('agent:'.length));
  const unsettled: string[] = [];
  for (const id of ids) {
    const balance = balances.get(agentAccount(id)) ?? 0n;
    if (!settledIds.has(id)) unsettled.push(`${id}: no settlement`);
    else if (balance !== 0n) unsettled.push(`${id}: ${balance.toString()} µJ left in its wallet`);
  }
  // Agents are found by their command line: the soak's binary, or a WASM module (threads of the daemon, gone with it).
  const running = processesRunning(input.agentBinary).filter((pid) => readOr(join('/proc', String(pid), 'environ')).includes(input.workDir));
  return {
    verifyOk: verify.ok,
    verify: verify.text,
    agents: ids.size,
    settled: ids.size - unsettled.length,
    unsettled,
    leftovers: [...cgroupsLeftBy(input.daemonPid), ...running.map((pid) => `agent process ${String(pid)} still running`)],
  };
}
