/**
 * Per-core utilisation from `/proc/stat`: the change of busy time over the change of total
 * time between two samples. The kernel counts in USER_HZ ticks (10 ms), so a 10 ms window
 * resolves a core only as busy or idle: the error bound says so, and longer windows (or
 * the thermal twin's τ) average it out.
 */
import { ReaderNotStartedError, SensorsUnavailableError } from '../../errors.js';
import type { ChannelInfo, ProbeResult, Reading, TelemetryReader } from '../reader.js';
import { AttributeFile, ByteCursor } from '../sysfs/attribute.js';
import { join } from 'node:path';
import { existsSync } from 'node:fs';

/** USER_HZ on Linux/x86 (`getconf CLK_TCK`): the unit of /proc/stat. */
export const USER_HZ = 100;
const BYTES_PER_CPU_LINE = 128;

/** Busy and total ticks per CPU, aggregate first (index 0 = "cpu", i + 1 = "cpuI"). */
export interface CpuTicks {
  readonly busy: Float64Array;
  readonly total: Float64Array;
  /** Number of entries filled (aggregate + CPUs). */
  count: number;
}

export function createCpuTicks(cpus: number): CpuTicks {
  return { busy: new Float64Array(cpus + 1), total: new Float64Array(cpus + 1), count: 0 };
}

/**
 * Parses the `cpu` lines of /proc/stat into `out` without allocating: fields are user nice
 * system idle iowait irq softirq steal (guest time is already inside user). Busy = all but
 * idle and iowait.
 */
export function parseProcStat(bytes: Uint8Array, length: number, out: CpuTicks): void {
  const cursor = new ByteCursor(bytes, length);
  let slot = 0;
  while (!cursor.done && slot < out.busy.length) {
    // Lines of interest start with "cpu".
    const at = cursor.pos;
    if (bytes[at] !== 99 || bytes[at + 1] !== 112 || bytes[at + 2] !== 117) break;
    cursor.skipTo(32);
    let busy = 0;
    let total = 0;
    let field = 0;
    for (;;) {
      cursor.skipBlanks();
      const value = cursor.decimal();
      if (Number.isNaN(value)) break;
      if (field < 8) {
        total += value;
        if (field !== 3 && field !== 4) busy += value;
      }
      field++;
    }
    out.busy[slot] = busy;
    out.total[slot] = total;
    slot++;
    cursor.skipTo(10);
    cursor.pos++;
  }
  out.count = slot;
}

export interface ProcReaderOptions {
  /** Filesystem root (tests pass a captured tree). @default '/' */
  readonly root?: string;
}

export class ProcStatReader implements TelemetryReader {
  readonly name = 'procfs-stat';
  readonly source = 'procfs' as const;
  readonly #path: string;
  #file: AttributeFile | null = null;
  #previous = createCpuTicks(0);
  #current = createCpuTicks(0);
  #readings: Reading[] = [];
  #latest: readonly Reading[] = [];

  constructor(options: ProcReaderOptions = {}) {
    this.#path = join(options.root ?? '/', 'proc/stat');
  }

  #countCpus(): number {
    const file = new AttributeFile(this.#path, 1 << 20);
    try {
      file.open();
      const ticks = createCpuTicks(4096);
      const bytes = file.readBytes();
      parseProcStat(bytes, bytes.length, ticks);
      return Math.max(0, ticks.count - 1);
    } finally {
      file.close();
    }
  }

  #channels(cpus: number): ChannelInfo[] {
    return ['all', ...Array.from({ length: cpus }, (_, i) => String(i))].map((cpu) => ({
      id: `cpu/${cpu}`,
      quantity: 'utilisation',
      description: cpu === 'all' ? 'utilisation of all CPUs' : `utilisation of CPU ${cpu}`,
      resolution: 1 / USER_HZ,
      updateHz: USER_HZ,
      provenance: { kind: 'measured', source: 'procfs', sensor: this.#path, windowS: 0, errorBound: 1 },
    }));
  }

  probe(): Promise<ProbeResult> {
    if (!existsSync(this.#path)) return Promise.resolve({ state: 'absent', reason: `no ${this.#path}` });
    const cpus = this.#countCpus();
    if (cpus === 0) return Promise.resolve({ state: 'absent', reason: `${this.#path} lists no CPU` });
    return Promise.resolve({ state: 'present', channels: this.#channels(cpus) });
  }

  /** Number of CPUs being read (0 before start). */
  get cpuCount(): number {
    return Math.max(0, this.#current.count - 1);
  }

  async start(): Promise<void> {
    if (this.#file !== null) return;
    const probe = await this.probe();
    if (probe.state !== 'present') throw new SensorsUnavailableError(`/proc/stat: ${probe.reason}`);
    const cpus = probe.channels.length - 1;
    this.#file = new AttributeFile(this.#path, 4096 + (cpus + 1) * BYTES_PER_CPU_LINE);
    this.#file.open();
    this.#previous = createCpuTicks(cpus);
    this.#current = createCpuTicks(cpus);
    const bytes = this.#file.readBytes();
    parseProcStat(bytes, bytes.length, this.#previous);
    this.#current.count = this.#previous.count;
    this.#readings = this.#channels(cpus).map((c) => ({ channel: c.id, quantity: 'utilisation', value: 0, trusted: false, provenance: c.provenance }));
  }

  /**
   * Utilisation of every CPU since the previous sample (the first sample covers the time
   * since start). Untrusted when no tick elapsed.
   */
  sample(): readonly Reading[] {
    const file = this.#file;
    if (file === null) throw new ReaderNotStartedError(`${this.name}: sample() before start()`);
    const bytes = file.readBytes();
    parseProcStat(bytes, bytes.length, this.#current);
    const prev = this.#previous;
    const curr = this.#current;
    const out: Reading[] = [];
    for (let i = 0; i < curr.count; i++) {
      const dTotal = (curr.total[i] ?? 0) - (prev.total[i] ?? 0);
      const dBusy = (curr.busy[i] ?? 0) - (prev.busy[i] ?? 0);
      const template = this.#readings[i];
      if (template === undefined) continue;
      const value = dTotal > 0 ? Math.min(1, Math.max(0, dBusy / dTotal)) : 0;
      out.push({
        channel: template.channel,
        quantity: 'utilisation',
        value,
        trusted: dTotal > 0 && dBusy >= 0,
        // One tick of the window is the resolution; the window is dTotal ticks of this CPU.
        provenance: { ...template.provenance, windowS: dTotal / USER_HZ / (i === 0 ? Math.max(1, curr.count - 1) : 1), errorBound: dTotal > 0 ? 1 / dTotal : 1 },
      });
    }
    this.#previous = curr;
    this.#current = prev;
    this.#latest = out;
    return out;
  }

  /**
   * The 100 Hz path: each CPU's utilisation since the previous call into `into[cpu]` (CPU 0 at
   * index 0; the all-CPUs line is left out), keeping the old value where no tick elapsed.
   * Builds no readings and allocates nothing; `sample()` and this share one window.
   */
  sampleUtilisation(into: Float64Array): void {
    const file = this.#file;
    if (file === null) throw new ReaderNotStartedError(`${this.name}: sampleUtilisation() before start()`);
    parseProcStat(file.buffer, file.readIntoBuffer(), this.#current);
    const prev = this.#previous;
    const curr = this.#current;
    for (let i = 1; i < curr.count && i - 1 < into.length; i++) {
      const dTotal = (curr.total[i] ?? 0) - (prev.total[i] ?? 0);
      const dBusy = (curr.busy[i] ?? 0) - (prev.busy[i] ?? 0);
      if (dTotal > 0 && dBusy >= 0) into[i - 1] = Math.min(1, dBusy / dTotal);
    }
    this.#previous = curr;
    this.#current = prev;
  }

  /** The readings of the last `sample()`, for consumers in the same tick (e.g. the twin). */
  get latest(): readonly Reading[] {
    return this.#latest;
  }

  stop(): Promise<void> {
    this.#file?.close();
    this.#file = null;
    return Promise.resolve();
  }
}
