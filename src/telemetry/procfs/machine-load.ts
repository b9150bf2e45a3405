/**
 * The machine's CPU use beyond what Maxwell manages: "foreign load" is CPU time used by
 * processes that are neither agents nor Maxwell, measured as /proc/stat's busy time minus the
 * agents' cgroup CPU time minus the daemon's own. On a shared machine it is what makes two runs
 * of the same experiment differ, so the experiment measures it per arm, the daemon per tick
 * window (its heat warms the die like the agents' does), and a pre-flight check before
 * anything starts.
 *
 * Not on the 100 Hz path: /proc/stat is read whole, at most a few times a second.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { USER_HZ } from './proc-stat.js';

/** Cumulative CPU time of the machine since boot, s (from /proc/stat). */
export interface MachineCpu {
  /** Busy (all but idle, iowait and steal) summed over CPUs. */
  readonly busyS: number;
  /** Everything counted, steal included, summed over CPUs. */
  readonly totalS: number;
  /** Time the hypervisor ran something else while this VM's CPUs wanted to run. */
  readonly stealS: number;
  /** Busy time per CPU. */
  readonly perCpuBusyS: Float64Array;
}

/** Parses the `cpu` lines of /proc/stat (fields: user nice system idle iowait irq softirq steal). */
export function parseMachineCpu(text: string): MachineCpu {
  let busyS = 0;
  let totalS = 0;
  let stealS = 0;
  const perCpu: number[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('cpu')) continue;
    const [name = '', ...fields] = line.trim().split(/\s+/);
    const v = fields.slice(0, 8).map(Number);
    if (v.length < 4 || v.some((x) => !Number.isFinite(x))) continue;
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = v;
    const busy = (user + nice + system + irq + softirq) / USER_HZ;
    if (name === 'cpu') {
      busyS = busy;
      stealS = steal / USER_HZ;
      totalS = (user + nice + system + idle + iowait + irq + softirq + steal) / USER_HZ;
    } else {
      perCpu.push(busy);
    }
  }
  return { busyS, totalS, stealS, perCpuBusyS: Float64Array.from(perCpu) };
}

/** Reads /proc/stat under `root`. */
export function readMachineCpu(root = '/'): MachineCpu {
  return parseMachineCpu(readFileSync(join(root, 'proc/stat'), 'utf8'));
}

/** The machine's load over a window, as shares of all its CPUs' time. */
export interface LoadShares {
  readonly wallS: number;
  readonly cpus: number;
  /** Busy CPU time of the whole machine, s. */
  readonly busyS: number;
  /** CPU time of processes that are neither agents nor Maxwell, s (never below 0). */
  readonly foreignS: number;
  /** foreignS ÷ (wallS × cpus). */
  readonly foreignFraction: number;
  /** Steal time ÷ (wallS × cpus): CPU the hypervisor gave to other guests. */
  readonly stealFraction: number;
}

/**
 * Foreign load between two readings of /proc/stat, given the CPU time the agents (their
 * cgroups) and Maxwell (its process) used in between. Kernel work done for the agents outside
 * their cgroups (interrupts, softirqs) counts as foreign, so an idle machine shows a few tenths
 * of a per cent.
 */
export function loadShares(before: MachineCpu, after: MachineCpu, wallS: number, agentsCpuS: number, maxwellCpuS: number): LoadShares {
  const cpus = Math.max(1, after.perCpuBusyS.length);
  const busyS = Math.max(0, after.busyS - before.busyS);
  const capacity = Math.max(1e-9, wallS * cpus);
  const foreignS = Math.max(0, busyS - agentsCpuS - maxwellCpuS);
  return { wallS, cpus, busyS, foreignS, foreignFraction: foreignS / capacity, stealFraction: Math.max(0, after.stealS - before.stealS) / capacity };
}

/** Name and CPU time (utime + stime, s) from the text of /proc/PID/stat (the name may hold spaces and parentheses). */
export function parseProcessStat(text: string): { name: string; cpuS: number } {
  const close = text.lastIndexOf(')');
  const fields = text.slice(close + 2).split(' ');
  const cpuS = (Number(fields[11]) + Number(fields[12])) / USER_HZ;
  return { name: text.slice(text.indexOf('(') + 1, close), cpuS: Number.isFinite(cpuS) ? cpuS : 0 };
}

/** CPU time (utime + stime, s) of one process, or 0 when it is gone. */
export function processCpuS(pid: number | undefined, root = '/'): number {
  if (pid === undefined || !(pid > 0)) return 0;
  try {
    return parseProcessStat(readFileSync(join(root, 'proc', String(pid), 'stat'), 'utf8')).cpuS;
  } catch {
    return 0;
  }
}

/** CPU time (utime + stime, s) and name of every process, from /proc/PID/stat. */
export function readProcessCpu(root = '/'): Map<number, { name: string; cpuS: number }> {
  const out = new Map<number, { name: string; cpuS: number }>();
  let entries: string[];
  try {
    entries = readdirSync(join(root, 'proc'));
  } catch {
    return out;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      out.set(Number(entry), parseProcessStat(readFileSync(join(root, 'proc', entry, 'stat'), 'utf8')));
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return out;
}

/** What a pre-flight sample saw. */
export interface PreflightLoad {
  readonly sampleS: number;
  readonly cpus: number;
  /** Busy share of the whole machine, this process excluded. */
  readonly busyFraction: number;
  readonly stealFraction: number;
  /** The busiest other processes, as shares of one CPU. */
  readonly top: readonly { readonly pid: number; readonly name: string; readonly cpuFraction: number }[];
}

/** Share of the machine above which the pre-flight check and the experiment warn. */
export const BUSY_WARNING_FRACTION = 0.03;

/**
 * Samples the machine for `sampleMs` before an experiment: how busy it is without us, and who
 * keeps it busy. Reads /proc only.
 */
export async function samplePreflightLoad(sampleMs = 1000, root = '/'): Promise<PreflightLoad> {
  const cpu0 = readMachineCpu(root);
  const procs0 = readProcessCpu(root);
  const self0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((resolve) => setTimeout(resolve, sampleMs));
  const cpu1 = readMachineCpu(root);
  const procs1 = readProcessCpu(root);
  const selfCpu = process.cpuUsage(self0);
  const wallS = (performance.now() - t0) / 1000;
  const shares = loadShares(cpu0, cpu1, wallS, 0, (selfCpu.user + selfCpu.system) / 1e6);
  const top: { pid: number; name: string; cpuFraction: number }[] = [];
  for (const [pid, after] of procs1) {
    if (pid === process.pid) continue;
    // A process that started during the sample used all its CPU time within it.
    const used = after.cpuS - (procs0.get(pid)?.cpuS ?? 0);
    if (used > 0) top.push({ pid, name: after.name, cpuFraction: used / wallS });
  }
  top.sort((a, b) => b.cpuFraction - a.cpuFraction);
  return { sampleS: wallS, cpus: shares.cpus, busyFraction: shares.foreignFraction, stealFraction: shares.stealFraction, top: top.slice(0, 3) };
}
