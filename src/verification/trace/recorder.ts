/**
 * Records an agent's activity trace from what this machine measures: /proc/PID/{stat,status,io}
 * of its process tree (the tree is re-read once a second: children come and go) and, when an
 * entropy source watches it, its erase events. Power is modelled from the thermal twin's core
 * model and labelled so (TRACE_CHANNELS). One `sample()` appends one row; the caller keeps the
 * rate (the research job at 100 Hz, the daemon from its tick).
 */
import { readFileSync } from 'node:fs';
import { processTree } from '../../entropy/proc-estimate.js';
import type { EntropySource } from '../../market/entropy.js';
import { DEFAULT_TWIN_PARAMS } from '../../physics/twin-params.js';
import { ActivityTrace, CHANNEL_COUNT } from './trace.js';

const USER_HZ = 100;
const PAGE_BYTES = 4096;
const TREE_REFRESH_S = 1;

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

/** Adds one process's counters to `into`; false when it is gone. */
export function readProcessCounters(procRoot: string, pid: number, into: Counters, withSwitches: boolean): boolean {
  let stat: string;
  try {
    stat = readFileSync(`${procRoot}/${String(pid)}/stat`, 'latin1');
  } catch {
    return false;
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields after the name, from 0: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime … rss at 21.
  into.minorFaults += Number(fields[7] ?? 0);
  into.cpuS += (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / USER_HZ;
  into.rssBytes += Number(fields[21] ?? 0) * PAGE_BYTES;
  if (withSwitches) {
    try {
      const status = readFileSync(`${procRoot}/${String(pid)}/status`, 'latin1');
      into.ctxVoluntary += Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      into.ctxInvoluntary += Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    } catch {
      // Gone between the two reads.
    }
  }
  try {
    const io = readFileSync(`${procRoot}/${String(pid)}/io`, 'latin1');
    into.readBytes += Number(/^rchar:\s+(\d+)/m.exec(io)?.[1] ?? 0);
    into.writeBytes += Number(/^wchar:\s+(\d+)/m.exec(io)?.[1] ?? 0);
  } catch {
    // /proc/PID/io needs the same user or root; without it the channel reads 0.
  }
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
  #tree: number[] = [];
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
    if (now - this.#treeAtS >= TREE_REFRESH_S) {
      this.#tree = processTree(this.#procRoot, this.#pid);
      this.#treeAtS = now;
    }
    const counters = zero();
    let alive = false;
    for (const pid of this.#tree) alive = readProcessCounters(this.#procRoot, pid, counters, pid === this.#pid) || alive;
    let erased = 0;
    if (this.#entropy !== undefined) for (const e of this.#entropy.source.drain()) if (e.agentId === this.#entropy.agentId) erased += e.bytes;
    const last = this.#last;
    const dt = now - this.#lastS;
    if (alive && last !== null && dt > 0) {
      const row = this.#row;
      const cpu = Math.max(0, (counters.cpuS - last.cpuS) / dt);
      row[0] = cpu;
      row[1] = Math.max(0, (counters.ctxVoluntary - last.ctxVoluntary) / dt);
      row[2] = Math.max(0, (counters.ctxInvoluntary - last.ctxInvoluntary) / dt);
      row[3] = Math.max(0, (counters.minorFaults - last.minorFaults) / dt);
      row[4] = counters.rssBytes / 2 ** 20;
      row[5] = Math.max(0, (counters.readBytes - last.readBytes) / dt / 1024);
      row[6] = Math.max(0, (counters.writeBytes - last.writeBytes) / dt / 1024);
      row[7] = erased / dt / 1024;
      row[8] = this.#dynamicW * Math.min(1, cpu);
      this.trace.push(row);
    }
    if (alive) {
      this.#last = counters;
      this.#lastS = now;
    }
    const spent = process.cpuUsage(cpuBefore);
    this.costS += (spent.user + spent.system) / 1e6;
    return alive;
  }
}
