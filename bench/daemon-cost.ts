/**
 * Maxwell's own cost against Node's floor (docs/DAEMON.md): a real `maxwell run` (as
 * the README starts it, with whatever entropy source this machine gives it) and, beside it in the
 * same windows, the floor: an empty Node loop that wakes 100 times a second (`setTimeout`, 10 ms).
 * Two windows: no agents, then 8 scientists on this machine's cores. CPU is MEASURED from
 * /proc/<pid>/stat (user + system, every thread of the process; the eBPF loader or bpftrace, a
 * child process, is reported beside it). Goal: the daemon ≤ 2× the floor in both windows. Needs
 * root (cgroups); says why not otherwise.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiClient } from '../src/api/client.js';
import { readDaemonFile } from '../src/api/discovery.js';
import { processCpuS } from '../src/telemetry/procfs/machine-load.js';

const BIN = fileURLToPath(new URL('../src/cli/bin.js', import.meta.url));
const SCIENTIST = fileURLToPath(new URL('../src/agents/scientist.js', import.meta.url));
const GOAL_RATIO = 2;
const FLOOR_LOOP = 'const next = () => { setTimeout(next, 10); }; next();';

export interface CostWindow {
  readonly label: string;
  readonly agents: number;
  /** % of one core, over the window. */
  readonly daemonPercent: number;
  readonly floorPercent: number;
  /** The entropy helper (eBPF loader or bpftrace), % of one core; 0 when there is none. */
  readonly helperPercent: number;
  readonly ratio: number;
  readonly verdict: 'PASS' | 'MISS';
}

export interface DaemonCostBench {
  readonly skipped: string | null;
  readonly seconds: number;
  readonly entropy: string;
  readonly windows: readonly CostWindow[];
  /** Tick lateness p99 since start, read at the end of each window, ms. */
  readonly tickLatenessP99Ms: readonly number[];
}

/** The daemon's child processes that are not agents (the eBPF loader, bpftrace). */
function helperPids(daemonPid: number): number[] {
  const out: number[] = [];
  for (const task of readdirSync(`/proc/${String(daemonPid)}/task`)) {
    const children = readFileSync(`/proc/${String(daemonPid)}/task/${task}/children`, 'utf8').trim();
    for (const pid of children === '' ? [] : children.split(' ').map(Number)) {
      const comm = readFileSync(`/proc/${String(pid)}/comm`, 'utf8').trim();
      if (comm.includes('loader') || comm.includes('bpftrace')) out.push(pid);
    }
  }
  return out;
}

async function window(label: string, agents: number, seconds: number, daemon: number, floor: number): Promise<CostWindow> {
  const helpers = helperPids(daemon);
  const helperCpu = (): number => helpers.reduce((sum, pid) => sum + processCpuS(pid), 0);
  const start = { daemon: processCpuS(daemon), floor: processCpuS(floor), helper: helperCpu(), at: performance.now() };
  await sleep(seconds * 1000);
  const wall = (performance.now() - start.at) / 1000;
  const percent = (cpu: number, from: number): number => (100 * (cpu - from)) / wall;
  const daemonPercent = percent(processCpuS(daemon), start.daemon);
  const floorPercent = percent(processCpuS(floor), start.floor);
  const ratio = daemonPercent / floorPercent;
  return { label, agents, daemonPercent, floorPercent, helperPercent: percent(helperCpu(), start.helper), ratio, verdict: ratio <= GOAL_RATIO ? 'PASS' : 'MISS' };
}

/**
 * `entropy`: the daemon's `daemon.entropy` (auto: what this machine gives it). A third window
 * replaces one scientist every 2 s: what agents coming and going cost (bpftrace once recompiled
 * its script for each).
 */
export async function benchDaemonCost(seconds = 20, scientists = 8, entropy = 'auto'): Promise<DaemonCostBench> {
  if (process.getuid?.() !== 0) return { skipped: 'needs root (maxwell run puts agents in cgroups)', seconds, entropy, windows: [], tickLatenessP99Ms: [] };
  const dir = mkdtempSync(join(tmpdir(), 'maxwell-cost-'));
  const env = {
    PATH: process.env['PATH'] ?? '',
    MAXWELL_STATE__DIR: join(dir, 'state'),
    MAXWELL_LEDGER__PATH: join(dir, 'ledger.sqlite'),
    MAXWELL_LEDGER__KEY_PATH: join(dir, 'node-key.pem'),
    MAXWELL_DAEMON__RUNTIME_DIR: join(dir, 'run'),
    MAXWELL_DAEMON__ENTROPY: entropy,
  };
  const children: ChildProcess[] = [];
  try {
    const floor = spawn(process.execPath, ['-e', FLOOR_LOOP], { stdio: 'ignore' });
    children.push(floor);
    const daemon = spawn(process.execPath, [BIN, 'run', '--port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(daemon);
    let out = '';
    daemon.stdout.on('data', (c: Buffer) => (out += c.toString()));
    daemon.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const deadline = performance.now() + 60_000;
    while (!out.includes('Spawn an agent')) {
      if (performance.now() > deadline || daemon.exitCode !== null) throw new Error(`maxwell run did not start:\n${out.slice(-2000)}`);
      await sleep(100);
    }
    const info = readDaemonFile(env.MAXWELL_STATE__DIR);
    if (info === null || daemon.pid === undefined || floor.pid === undefined) throw new Error('maxwell run wrote no daemon.json');
    const client = new ApiClient({ url: info.url, token: info.token });
    const entropy = /entropy\s+(.*)/.exec(out)?.[1]?.trim() ?? 'unknown';
    await sleep(5000); // start-up (module loading, the API's schemas) is not the steady state
    const windows = [await window('no agents', 0, seconds, daemon.pid, floor.pid)];
    const lateness = [(await client.snapshot()).tickLatenessP99Ms];
    const spawnScientist = (id: string) => client.spawnAgent({ id, command: process.execPath, args: [SCIENTIST, '--method', 'mr'], role: 'scientist', walletJ: 100_000, bid: { pricePerQuantumJ: 1 } });
    for (let i = 0; i < scientists; i++) await spawnScientist(`sci${String(i)}`);
    await sleep(3000);
    windows.push(await window(`${String(scientists)} scientists`, scientists, seconds, daemon.pid, floor.pid));
    lateness.push((await client.snapshot()).tickLatenessP99Ms);
    // Churn: one scientist stopped and a new one spawned every 2 s, through the window.
    let next = scientists;
    const churn = setInterval(() => {
      const old = `sci${String(next - scientists)}`;
      const fresh = `sci${String(next++)}`;
      void client.stopAgent(old).then(() => spawnScientist(fresh)).catch(() => undefined);
    }, 2000);
    try {
      windows.push(await window(`${String(scientists)}, 1 new / 2 s`, scientists, seconds, daemon.pid, floor.pid));
    } finally {
      clearInterval(churn);
    }
    lateness.push((await client.snapshot()).tickLatenessP99Ms);
    return { skipped: null, seconds, entropy, windows, tickLatenessP99Ms: lateness };
  } finally {
    for (const child of children.reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGINT');
      await Promise.race([gone, sleep(20_000)]);
      child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatDaemonCost(b: DaemonCostBench): string {
  if (b.skipped !== null) return `\nDaemon cost: skipped (${b.skipped})\n`;
  let out = `\nDaemon cost against the floor (an empty Node 100 Hz setTimeout loop, run beside it in the same windows), ${String(b.seconds)} s each, MEASURED from /proc/<pid>/stat; entropy: ${b.entropy}\n`;
  out += '(1 new / 2 s: one scientist stopped and another spawned every 2 s)\n';
  out += 'window           daemon %core   floor %core   ratio   entropy helper %core   verdict (≤ 2×)\n';
  for (const w of b.windows) {
    out += `${w.label.padEnd(16)} ${w.daemonPercent.toFixed(2).padStart(12)}   ${w.floorPercent.toFixed(2).padStart(11)}   ${w.ratio.toFixed(2).padStart(5)}   ${w.helperPercent.toFixed(2).padStart(20)}   ${w.verdict}\n`;
  }
  out += `tick lateness p99 since start, at the end of each window: ${b.tickLatenessP99Ms.map((x) => `${x.toFixed(2)} ms`).join(', ')}\n`;
  return out;
}
