/**
 * An agent's activity trace: what this machine measures of it, one row per sample (100 Hz by
 * default), as columns. Every channel says where it comes from (`TRACE_CHANNELS`): measured
 * from /proc and the eBPF erase events, or modelled (power, from the thermal twin's core model:
 * on a machine without RAPL it is a linear function of the measured CPU, and says so).
 */

export const TRACE_CHANNELS = [
  { name: 'cpu', unit: 'fraction of one core', source: 'measured: /proc/PID/stat utime+stime of the process tree' },
  { name: 'ctxVoluntary', unit: 'switches/s', source: 'measured: /proc/PID/status voluntary_ctxt_switches (the main thread)' },
  { name: 'ctxInvoluntary', unit: 'switches/s', source: 'measured: /proc/PID/status nonvoluntary_ctxt_switches (the main thread)' },
  { name: 'minorFaults', unit: 'faults/s', source: 'measured: /proc/PID/stat minflt of the process tree' },
  { name: 'rssMiB', unit: 'MiB', source: 'measured: /proc/PID/stat rss of the process tree' },
  { name: 'ioReadKiB', unit: 'KiB/s', source: 'measured: /proc/PID/io rchar (every read syscall: files, pipes, sockets)' },
  { name: 'ioWriteKiB', unit: 'KiB/s', source: 'measured: /proc/PID/io wchar' },
  { name: 'erasedKiB', unit: 'KiB/s', source: 'measured: erase events (eBPF ring buffer, else the /proc estimate)' },
  { name: 'powerW', unit: 'W', source: 'modelled: the thermal twin’s core (dynamic power × CPU)' },
] as const;

export type TraceChannel = (typeof TRACE_CHANNELS)[number]['name'];
export const CHANNEL_COUNT = TRACE_CHANNELS.length;

/** Rows of samples; `column(name)` views one channel. Grows by doubling; no row is ever an object. */
export class ActivityTrace {
  readonly rateHz: number;
  #data: Float64Array;
  #length = 0;

  constructor(rateHz: number, capacityRows = 1024) {
    this.rateHz = rateHz;
    this.#data = new Float64Array(capacityRows * CHANNEL_COUNT);
  }

  get length(): number {
    return this.#length;
  }

  /** Appends one row (values in `TRACE_CHANNELS` order). */
  push(row: ArrayLike<number>): void {
    if ((this.#length + 1) * CHANNEL_COUNT > this.#data.length) {
      const bigger = new Float64Array(this.#data.length * 2);
      bigger.set(this.#data);
      this.#data = bigger;
    }
    const at = this.#length * CHANNEL_COUNT;
    for (let c = 0; c < CHANNEL_COUNT; c++) this.#data[at + c] = row[c] ?? 0;
    this.#length++;
  }

  /** One channel's values for rows [from, from + count). */
  column(channel: number, from = 0, count = this.#length - from, out = new Float64Array(count)): Float64Array {
    for (let i = 0; i < count; i++) out[i] = this.#data[(from + i) * CHANNEL_COUNT + channel] ?? 0;
    return out;
  }

  /** Row `index`'s values, in `TRACE_CHANNELS` order. */
  row(index: number): Float64Array {
    return this.#data.subarray(index * CHANNEL_COUNT, (index + 1) * CHANNEL_COUNT);
  }

  /** Drops all but the last `rows` rows (a daemon keeps a bounded window per agent). */
  keepLast(rows: number): void {
    if (this.#length <= rows) return;
    const from = (this.#length - rows) * CHANNEL_COUNT;
    this.#data.copyWithin(0, from, this.#length * CHANNEL_COUNT);
    this.#length = rows;
  }

  toJSON(): { rateHz: number; channels: readonly string[]; rows: number[][] } {
    const rows: number[][] = [];
    for (let r = 0; r < this.#length; r++) rows.push(Array.from(this.#data.subarray(r * CHANNEL_COUNT, (r + 1) * CHANNEL_COUNT)));
    return { rateHz: this.rateHz, channels: TRACE_CHANNELS.map((c) => c.name), rows };
  }
}
