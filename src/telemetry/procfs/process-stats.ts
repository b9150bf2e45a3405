/**
 * Per-process CPU time, faults and context switches from `/proc/PID/stat`, `schedstat` and
 * `status`, and per-cgroup CPU time from cgroup v1 `cpuacct.usage` or v2 `cpu.stat`.
 *
 * CPU time prefers `schedstat` (nanoseconds) and falls back to `stat`'s utime + stime (10 ms
 * ticks) when schedstat reads zero: without CONFIG_SCHEDSTATS (as on the development VMs)
 * the kernel leaves it at "0 0 1". Cgroup CPU time is exact nanoseconds either way.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError, ReaderNotStartedError, SensorsUnavailableError } from '../../errors.js';
import type { ChannelInfo, ProbeResult, Reading, TelemetryReader } from '../reader.js';
import { AttributeFile, ByteCursor, parseLeadingInt, readText } from '../sysfs/attribute.js';
import { USER_HZ, type ProcReaderOptions } from './proc-stat.js';

/** What one read of a process gives. */
export interface ProcessSample {
  readonly cpuS: number;
  /** Whether `cpuS` came from schedstat (ns) or from stat (USER_HZ ticks). */
  readonly cpuSource: 'schedstat' | 'stat';
  readonly minorFaults: number;
  readonly majorFaults: number;
  readonly voluntarySwitches: number;
  readonly involuntarySwitches: number;
}

/**
 * Fields of /proc/PID/stat after the command (which may contain spaces and parentheses, so
 * parsing starts after the last ')'): 3 state … 10 minflt, 12 majflt, 14 utime, 15 stime.
 */
export function parsePidStat(text: string): { minorFaults: number; majorFaults: number; cpuTicks: number } | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const fields = text.slice(close + 2).split(' ');
  // fields[0] is field 3 (state).
  const at = (n: number): number => Number(fields[n - 3]);
  const minorFaults = at(10);
  const majorFaults = at(12);
  const cpuTicks = at(14) + at(15);
  if (![minorFaults, majorFaults, cpuTicks].every(Number.isFinite)) return undefined;
  return { minorFaults, majorFaults, cpuTicks };
}

/**
 * utime + stime (fields 14 and 15) of /proc/PID/stat straight from its bytes: the fields
 * after the last ')' are space-separated numbers. NaN when malformed.
 */
export function parsePidStatCpuTicks(bytes: Uint8Array, length: number): number {
  let close = -1;
  for (let i = length - 1; i >= 0; i--) {
    if (bytes[i] === 41) {
      close = i;
      break;
    }
  }
  if (close < 0) return Number.NaN;
  const cursor = new ByteCursor(bytes, length);
  // After ") " comes field 3; skip to field 14.
  cursor.pos = close + 2;
  for (let field = 3; field < 14; field++) {
    cursor.skipTo(32);
    cursor.pos++;
  }
  const utime = cursor.decimal();
  cursor.pos++;
  const stime = cursor.decimal();
  return utime + stime;
}

/** Whether this kernel fills /proc/PID/schedstat (CONFIG_SCHED_INFO with accounting on). */
function schedstatWorks(proc: string): boolean {
  const text = readText(join(proc, 'self', 'schedstat'));
  // This very process has certainly run, so a zero run time means "not collected".
  return text !== undefined && Number(text.split(' ')[0]) > 0;
}

function statusField(status: string, name: string): number {
  const match = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status);
  return match?.[1] === undefined ? Number.NaN : Number(match[1]);
}

interface Watched {
  readonly pid: number;
  readonly channel: string;
  readonly schedstat: AttributeFile | null;
  readonly stat: AttributeFile;
  /** Last value read, returned between reads when reads are spread over ticks. */
  last: Reading | null;
}

export interface ProcessCpuReaderOptions extends ProcReaderOptions {
  /**
   * Read each process every `spread` samples, round-robin, and return its last value in
   * between. /proc/PID/stat counts in 10 ms ticks, so at a 100 Hz sampler `spread` = 10
   * still sees every process at 10 Hz for a tenth of the reads. @default 1
   */
  readonly spread?: number;
}

/** Reads the CPU time of watched processes every sample; faults and switches on demand. */
export class ProcessCpuReader implements TelemetryReader {
  readonly name = 'procfs-processes';
  readonly source = 'procfs' as const;
  readonly #proc: string;
  readonly #watched = new Map<number, Watched>();
  readonly #spread: number;
  readonly #useSchedstat: boolean;
  #cursor = 0;
  #started = false;

  constructor(options: ProcessCpuReaderOptions = {}) {
    this.#proc = join(options.root ?? '/', 'proc');
    this.#spread = Math.max(1, Math.floor(options.spread ?? 1));
    this.#useSchedstat = schedstatWorks(this.#proc);
  }

  probe(): Promise<ProbeResult> {
    if (!existsSync(join(this.#proc, 'self', 'stat')) && !existsSync(join(this.#proc, '1', 'stat'))) {
      return Promise.resolve({ state: 'absent', reason: `no ${this.#proc}/<pid>/stat (procfs not mounted?)` });
    }
    const channels: ChannelInfo[] = [...this.#watched.values()].map((w) => this.#channel(w));
    return Promise.resolve({ state: 'present', channels });
  }

  #channel(w: Watched): ChannelInfo {
    return {
      id: w.channel,
      quantity: 'cpu-time',
      description: `CPU time of process ${w.pid}, cumulative`,
      resolution: 1 / USER_HZ,
      updateHz: USER_HZ,
      provenance: { kind: 'measured', source: 'procfs', sensor: `${this.#proc}/${w.pid}/stat`, windowS: 0, errorBound: 1 / USER_HZ },
    };
  }

  /** Starts watching a process. Throws `MXW_ERR_INVALID_ARG` for a pid that does not exist. */
  watch(pid: number): void {
    if (!Number.isInteger(pid) || pid <= 0) throw new InvalidArgumentError(`invalid pid: ${String(pid)}`);
    if (this.#watched.has(pid)) return;
    const dir = join(this.#proc, String(pid));
    const watched: Watched = {
      pid,
      channel: `proc/${pid}/cpu`,
      schedstat: this.#useSchedstat ? new AttributeFile(join(dir, 'schedstat'), 128) : null,
      stat: new AttributeFile(join(dir, 'stat'), 1024),
      last: null,
    };
    try {
      watched.stat.open();
    } catch (err) {
      throw new InvalidArgumentError(`cannot watch process ${pid}: ${String(err)}`, { cause: err });
    }
    try {
      watched.schedstat?.open();
    } catch {
      // schedstat is optional (CONFIG_SCHED_INFO); stat is the fallback.
    }
    this.#watched.set(pid, watched);
  }

  unwatch(pid: number): void {
    const w = this.#watched.get(pid);
    if (w === undefined) return;
    w.schedstat?.close();
    w.stat.close();
    this.#watched.delete(pid);
  }

  async start(): Promise<void> {
    const probe = await this.probe();
    if (probe.state !== 'present') throw new SensorsUnavailableError(`process accounting: ${probe.reason}`);
    this.#started = true;
  }

  /** Reads one watched (or any) process fully; `undefined` when it has exited. */
  read(pid: number): ProcessSample | undefined {
    const dir = join(this.#proc, String(pid));
    const stat = readText(join(dir, 'stat'));
    const parsed = stat === undefined ? undefined : parsePidStat(stat);
    if (parsed === undefined) return undefined;
    const status = readText(join(dir, 'status')) ?? '';
    const schedNs = Number((readText(join(dir, 'schedstat')) ?? '0').split(' ')[0]);
    const useSched = schedNs > 0;
    return {
      cpuS: useSched ? schedNs / 1e9 : parsed.cpuTicks / USER_HZ,
      cpuSource: useSched ? 'schedstat' : 'stat',
      minorFaults: parsed.minorFaults,
      majorFaults: parsed.majorFaults,
      voluntarySwitches: statusField(status, 'voluntary_ctxt_switches'),
      involuntarySwitches: statusField(status, 'nonvoluntary_ctxt_switches'),
    };
  }

  /**
   * Cumulative CPU seconds of every watched process (with `spread` > 1, a share of them is
   * read afresh and the rest repeat their last value); an exited one reads NaN, untrusted.
   */
  sample(): readonly Reading[] {
    if (!this.#started) throw new ReaderNotStartedError(`${this.name}: sample() before start()`);
    const out: Reading[] = [];
    const spread = this.#spread;
    const turn = this.#cursor++ % spread;
    let i = 0;
    for (const w of this.#watched.values()) {
      if (w.last === null || i % spread === turn) w.last = this.#read(w);
      out.push(w.last);
      i++;
    }
    return out;
  }

  #read(w: Watched): Reading {
    let cpuS: number;
    let errorBound = 1 / USER_HZ;
    const sched = w.schedstat?.readBytes();
    const ns = sched !== undefined && sched.length > 0 ? parseLeadingInt(sched, sched.length) : 0;
    if (ns > 0) {
      cpuS = ns / 1e9;
      errorBound = 1e-9;
    } else {
      const bytes = w.stat.readBytes();
      cpuS = parsePidStatCpuTicks(bytes, bytes.length) / USER_HZ;
    }
    return {
      channel: w.channel,
      quantity: 'cpu-time',
      value: cpuS,
      trusted: Number.isFinite(cpuS),
      provenance: { kind: 'measured', source: 'procfs', sensor: `${this.#proc}/${w.pid}/${errorBound === 1e-9 ? 'schedstat' : 'stat'}`, windowS: 0, errorBound },
    };
  }

  stop(): Promise<void> {
    for (const pid of [...this.#watched.keys()]) this.unwatch(pid);
    this.#started = false;
    return Promise.resolve();
  }
}

interface WatchedGroup {
  readonly path: string;
  readonly channel: string;
  readonly file: AttributeFile;
  readonly version: 1 | 2;
}

/**
 * CPU time of cgroups: v1 `cpuacct.usage` (ns) or v2 `cpu.stat` `usage_usec`. Pass the
 * group's directory; the version is detected from the files it holds.
 */
export class CgroupCpuReader implements TelemetryReader {
  readonly name = 'cgroup-cpu';
  readonly source = 'cgroup' as const;
  readonly #groups = new Map<string, WatchedGroup>();
  #started = false;

  probe(): Promise<ProbeResult> {
    return Promise.resolve({
      state: 'present',
      channels: [...this.#groups.values()].map((g) => ({
        id: g.channel,
        quantity: 'cpu-time',
        description: `CPU time of cgroup ${g.path} (v${g.version}), cumulative`,
        resolution: g.version === 1 ? 1e-9 : 1e-6,
        updateHz: 1000,
        provenance: { kind: 'measured', source: 'cgroup', sensor: g.file.path, windowS: 0, errorBound: g.version === 1 ? 1e-9 : 1e-6 },
      })),
    });
  }

  /** Watches a cgroup directory. Throws `MXW_ERR_INVALID_ARG` when it has no CPU accounting. */
  watch(groupDir: string): void {
    if (this.#groups.has(groupDir)) return;
    const v1 = join(groupDir, 'cpuacct.usage');
    const v2 = join(groupDir, 'cpu.stat');
    const version = existsSync(v1) ? 1 : existsSync(v2) ? 2 : undefined;
    if (version === undefined) throw new InvalidArgumentError(`${groupDir} has neither cpuacct.usage (v1) nor cpu.stat (v2)`);
    const file = new AttributeFile(version === 1 ? v1 : v2, 512);
    file.open();
    this.#groups.set(groupDir, { path: groupDir, channel: `cgroup/${groupDir}/cpu`, file, version });
  }

  unwatch(groupDir: string): void {
    this.#groups.get(groupDir)?.file.close();
    this.#groups.delete(groupDir);
  }

  start(): Promise<void> {
    this.#started = true;
    return Promise.resolve();
  }

  sample(): readonly Reading[] {
    if (!this.#started) throw new ReaderNotStartedError(`${this.name}: sample() before start()`);
    return [...this.#groups.values()].map((g): Reading => {
      const bytes = g.file.readBytes();
      let seconds: number;
      if (g.version === 1) {
        seconds = parseLeadingInt(bytes, bytes.length) / 1e9;
      } else {
        // "usage_usec N" is the first line of cpu.stat.
        const text = Buffer.from(bytes).toString('latin1');
        const match = /usage_usec (\d+)/.exec(text);
        seconds = match?.[1] === undefined ? Number.NaN : Number(match[1]) / 1e6;
      }
      return {
        channel: g.channel,
        quantity: 'cpu-time',
        value: seconds,
        trusted: Number.isFinite(seconds),
        provenance: { kind: 'measured', source: 'cgroup', sensor: g.file.path, windowS: 0, errorBound: g.version === 1 ? 1e-9 : 1e-6 },
      };
    });
  }

  stop(): Promise<void> {
    for (const path of [...this.#groups.keys()]) this.unwatch(path);
    this.#started = false;
    return Promise.resolve();
  }
}
