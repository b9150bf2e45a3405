/**
 * Records an agent's activity trace from what this machine measures: /proc/PID/{stat,status,io}
 * of its process tree (the tree is re-read once a second: children come and go) and, when an
 * entropy source watches it, its erase events. Power is modelled from the thermal twin's core
 * model and labelled so (TRACE_CHANNELS). One `sample()` appends one row; the caller keeps the
 * rate (the research job at 100 Hz, the daemon from its tick).
 */
import { processTree } from '../../entropy/proc-estimate.js';
import type { EntropySource } from '../../market/entropy.js';
import { DEFAULT_TWIN_PARAMS } from '../../physics/twin-params.js';
import { AttributeFile } from '../../telemetry/sysfs/attribute.js';
import { ActivityTrace, CHANNEL_COUNT } from './trace.js';

const USER_HZ = 100;
const PAGE_BYTES = 4096;
const TREE_REFRESH_S = 1;
/** Switches and I/O are read every this many samples (10 Hz at 100 Hz): their window means and spreads need no more, and they cost the most to read. */
const SLOW_EVERY = 10;

interface Counters {
  cpuS: number;
  ctxVoluntary: number;
  ctxInvoluntary: number;
  minorFaults: number;
  rssBytes: number;
  readBytes: number;
  writeBytes: number;
}

function zero(): Counters {
  return { cpuS: 0, ctxVoluntary: 0, ctxInvoluntary: 0, minorFaults: 0, rssBytes: 0, readBytes: 0, writeBytes: 0 };
}

/** A process's /proc files, kept open between samples (one pread each instead of open/read/close). */
class ProcessFiles {
  readonly stat: AttributeFile;
  readonly status: AttributeFile;
  readonly io: AttributeFile;
  readonly #decoder = new TextDecoder('latin1');

  constructor(procRoot: string, pid: number) {
    this.stat = new AttributeFile(`${procRoot}/${String(pid)}/stat`, 1024);
    this.status = new AttributeFile(`${procRoot}/${String(pid)}/status`, 4096);
    this.io = new AttributeFile(`${procRoot}/${String(pid)}/io`, 512);
    this.stat.open();
    for (const f of [this.status, this.io]) {
      try {
        f.open();
      } catch {
        // /proc/PID/io needs the same user or root; without it the channel reads 0.
      }
    }
  }

  text(file: AttributeFile): string {
    const n = file.readIntoBuffer();
    return n === 0 ? '' : this.#decoder.decode(file.buffer.subarray(0, n));
  }

  close(): void {
    for (const f of [this.stat, this.status, this.io]) f.close();
  }
}

/** Adds one process's counters to `into` (the slow ones, switches and I/O, only when `slow`); false when it is gone. */
function readCounters(files: ProcessFiles, into: Counters, slow: boolean, withSwitches: boolean): boolean {
  const stat = files.text(files.stat);
  if (stat === '') return false;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields after the name, from 0: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime … rss at 21.
  into.minorFaults += Number(fields[7] ?? 0);
  into.cpuS += (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / USER_HZ;
  into.rssBytes += Number(fields[21] ?? 0) * PAGE_BYTES;
  if (!slow) return true;
  if (withSwitches) {
    const status = files.text(files.status);
    into.ctxVoluntary += Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    into.ctxInvoluntary += Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0);
  }
  const io = files.text(files.io);
  into.readBytes += Number(/^rchar:\s+(\d+)/m.exec(io)?.[1] ?? 0);
  into.writeBytes += Number(/^wchar:\s+(\d+)/m.exec(io)?.[1] ?? 0);
  return true;
}

export interface TraceRecorderOptions {
  readonly pid: number;
  /** Samples per second the caller will keep (for the trace's rate). @default 100 */
  readonly rateHz?: number;
  /** An entropy source already watching this agent under `agentId`, drained by `sample()`. */
  readonly entropy?: { readonly source: EntropySource; readonly agentId: string };
  readonly procRoot?: string;
  readonly now?: () => number;
}

export class TraceRecorder {
  readonly trace: ActivityTrace;
  readonly #pid: number;
  readonly #procRoot: string;
  readonly #now: () => number;
  readonly #entropy: TraceRecorderOptions['entropy'];
  readonly #row = new Float64Array(CHANNEL_COUNT);
  readonly #dynamicW: number;
  readonly #files = new Map<number, ProcessFiles>();
  #samples = 0;
  #lastSlow: Counters | null = null;
  #lastSlowS = 0;
  #treeAtS = Number.NEGATIVE_INFINITY;
  #last: Counters | null = null;
  #lastS = 0;
  /** CPU seconds spent sampling (the cost of tracing, beside the traced work). */
  costS = 0;

  constructor(options: TraceRecorderOptions) {
    this.#pid = options.pid;
    this.#procRoot = options.procRoot ?? '/proc';
    this.#now = options.now ?? (() => performance.now() / 1000);
    this.#entropy = options.entropy;
    this.trace = new ActivityTrace(options.rateHz ?? 100);
    this.#dynamicW = DEFAULT_TWIN_PARAMS.core.dynamicW;
  }

  /** Reads the counters now; from the second call on appends a row of rates. False once the agent is gone. */
  sample(): boolean {
    const cpuBefore = process.cpuUsage();
    const now = this.#now();
    if (now - this.#treeAtS >= TREE_REFRESH_S) this.#refreshTree(now);
    const slow = this.#samples++ % SLOW_EVERY === 0;
    const counters = zero();
    let alive = false;
    for (const [pid, files] of this.#files) alive = readCounters(files, counters, slow, pid === this.#pid) || alive;
    let erased = 0;
    if (this.#entropy !== undefined) for (const e of this.#entropy.source.drain()) if (e.agentId === this.#entropy.agentId) erased += e.bytes;
    const last = this.#last;
    const dt = now - this.#lastS;
    if (alive && last !== null && dt > 0) {
      const row = this.#row;
      const cpu = Math.max(0, (counters.cpuS - last.cpuS) / dt);
      row[0] = cpu;
      row[3] = Math.max(0, (counters.minorFaults - last.minorFaults) / dt);
      row[4] = counters.rssBytes / 2 ** 20;
      row[7] = erased / dt / 1024;
      row[8] = this.#dynamicW * Math.min(1, cpu);
      if (slow && this.#lastSlow !== null) {
        // Rates over the slow interval; held in the rows until the next slow read.
        const slowDt = now - this.#lastSlowS;
        const ls = this.#lastSlow;
        row[1] = Math.max(0, (counters.ctxVoluntary - ls.ctxVoluntary) / slowDt);
        row[2] = Math.max(0, (counters.ctxInvoluntary - ls.ctxInvoluntary) / slowDt);
        row[5] = Math.max(0, (counters.readBytes - ls.readBytes) / slowDt / 1024);
        row[6] = Math.max(0, (counters.writeBytes - ls.writeBytes) / slowDt / 1024);
      }
      this.trace.push(row);
    }
    if (alive) {
      this.#last = counters;
      this.#lastS = now;
      if (slow) {
        this.#lastSlow = counters;
        this.#lastSlowS = now;
      }
    }
    const spent = process.cpuUsage(cpuBefore);
    this.costS += (spent.user + spent.system) / 1e6;
    return alive;
  }

  #refreshTree(now: number): void {
    const tree = processTree(this.#procRoot, this.#pid);
    let changed = false;
    for (const [pid, files] of this.#files) {
      if (tree.includes(pid)) continue;
      files.close();
      this.#files.delete(pid);
      changed = true;
    }
    for (const pid of tree) {
      if (this.#files.has(pid)) continue;
      try {
        this.#files.set(pid, new ProcessFiles(this.#procRoot, pid));
        changed = true;
      } catch {
        // Gone since the tree was read.
      }
    }
    this.#treeAtS = now;
    if (!changed) return;
    // A process that joined or left changes the sums: rates start afresh from the next sample.
    this.#lastSlow = null;
    this.#last = null;
  }

  /** Closes the files kept open. */
  close(): void {
    for (const files of this.#files.values()) files.close();
    this.#files.clear();
  }
}
