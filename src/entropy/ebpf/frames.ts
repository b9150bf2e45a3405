/**
 * The binary frames the eBPF loader (`native/ebpf/erase-loader.c`) writes on its stdout, and a
 * streaming decoder for them that allocates nothing per record.
 *
 * A frame is a 16-byte header `{u32 magic 'MXWE', u16 protocol, u16 type, u32 count, u32 bytes}`
 * and `bytes` of payload, little-endian. EVENTS frames carry `count` records of 40 bytes
 * (`native/ebpf/erase.h`, `struct erase_event`):
 *
 * ```
 * offset  0  u64 ts_ns      CLOCK_MONOTONIC, ns
 *         8  u64 cgroup_id  the cgroup2 directory's inode
 *        16  u64 bytes      page-rounded length erased
 *        24  u32 pid        thread id
 *        28  u32 tgid       process id
 *        32  u16 kind       1 munmap, 2 madvise DONTNEED, 3 FREE, 4 REMOVE, 5 brk shrink
 *        34  u16 flags      bit 0: matched by cgroup
 *        36  u32 tag        the watch entry's tag (Maxwell's slot for the agent)
 * ```
 *
 * Records are copied straight from the pipe's chunks into a columnar {@link EraseLog} (typed
 * arrays that grow by doubling); only a frame that straddles two pipe chunks is copied once
 * more, into a reused carry buffer.
 */
import { EbpfProtocolError } from '../../errors.js';

export const FRAME_MAGIC = 0x4557584d;
export const PROTOCOL_VERSION = 1;
export const FRAME_HEADER_BYTES = 16;
export const RECORD_BYTES = 40;
/** Decode limit (STYLE C5): no loader frame is bigger (4096 records × 40 bytes = 160 KiB). */
export const MAX_FRAME_PAYLOAD_BYTES = 1 << 20;

export const FRAME_TYPES = { hello: 1, events: 2, stats: 3, reply: 4, log: 5 } as const;

/** Erase kinds by their code in the record. */
export const ERASE_KINDS = ['unknown', 'munmap', 'madvise-dontneed', 'madvise-free', 'madvise-remove', 'brk-shrink'] as const;
export type EraseKindName = (typeof ERASE_KINDS)[number];

export function eraseKindName(code: number): EraseKindName {
  return ERASE_KINDS[code] ?? 'unknown';
}

export type Transport = 'ringbuf' | 'ringbuf-wakeup' | 'perfbuf';
const TRANSPORTS: readonly Transport[] = ['ringbuf', 'ringbuf-wakeup', 'perfbuf'];

/** What the loader says when it is attached. */
export interface LoaderHello {
  readonly protocol: number;
  readonly recordBytes: number;
  readonly transport: Transport;
  readonly wakeupEvents: number;
  /** Ring buffer bytes, or the perf buffers' total over all CPUs. */
  readonly bufferBytes: number;
  readonly pid: number;
  readonly intervalMs: number;
}

/** Kernel and loader counters, cumulative since the loader attached. */
export interface LoaderStats {
  /** Records the probe put into the buffer. */
  readonly submitted: number;
  /** Records the probe had no room for (ring or perf buffer full). */
  readonly dropped: number;
  /** Probe hits by processes nobody watches: they paid the filter, no record was made. */
  readonly unwatched: number;
  /** Children added to the watch map because their parent was watched. */
  readonly forks: number;
  /** Records the loader wrote to its stdout. */
  readonly delivered: number;
  /** Records the perf buffer reported lost (perf transport only). */
  readonly perfLost: number;
  /** Loader's CLOCK_MONOTONIC when it read the counters, ns. */
  readonly atNs: number;
}

export interface FrameHandlers {
  onHello(hello: LoaderHello): void;
  onStats(stats: LoaderStats): void;
  /** The loader's answer to its `seq`-th command line: 0 or a negative errno. */
  onReply(result: number, seq: number): void;
  onLog(text: string): void;
}

const TWO_32 = 2 ** 32;

function u64(view: DataView, at: number): number {
  // Two 32-bit reads instead of getBigUint64: no BigInt per field. Exact below 2^53
  // (ns since boot, bytes, cgroup inode numbers all are).
  return view.getUint32(at, true) + view.getUint32(at + 4, true) * TWO_32;
}

/**
 * Erase records in columns. `push` copies a record in, `clear` forgets them all without freeing
 * the columns, so a steady stream costs no allocation once the columns have grown to fit a tick.
 */
export class EraseLog {
  #capacity: number;
  length = 0;
  tsNs: Float64Array;
  cgroupId: Float64Array;
  bytes: Float64Array;
  pid: Uint32Array;
  tgid: Uint32Array;
  kind: Uint16Array;
  flags: Uint16Array;
  tag: Uint32Array;

  constructor(initialCapacity = 4096) {
    this.#capacity = Math.max(16, initialCapacity);
    this.tsNs = new Float64Array(this.#capacity);
    this.cgroupId = new Float64Array(this.#capacity);
    this.bytes = new Float64Array(this.#capacity);
    this.pid = new Uint32Array(this.#capacity);
    this.tgid = new Uint32Array(this.#capacity);
    this.kind = new Uint16Array(this.#capacity);
    this.flags = new Uint16Array(this.#capacity);
    this.tag = new Uint32Array(this.#capacity);
  }

  get capacity(): number {
    return this.#capacity;
  }

  /** Copies one record from `view` at byte `at`. */
  push(view: DataView, at: number): void {
    if (this.length === this.#capacity) this.#grow();
    const i = this.length++;
    this.tsNs[i] = u64(view, at);
    this.cgroupId[i] = u64(view, at + 8);
    this.bytes[i] = u64(view, at + 16);
    this.pid[i] = view.getUint32(at + 24, true);
    this.tgid[i] = view.getUint32(at + 28, true);
    this.kind[i] = view.getUint16(at + 32, true);
    this.flags[i] = view.getUint16(at + 34, true);
    this.tag[i] = view.getUint32(at + 36, true);
  }

  clear(): void {
    this.length = 0;
  }

  #grow(): void {
    const n = this.#capacity * 2;
    const grow = <T extends Float64Array | Uint32Array | Uint16Array>(old: T, make: (n: number) => T): T => {
      const next = make(n);
      next.set(old);
      return next;
    };
    this.tsNs = grow(this.tsNs, (k) => new Float64Array(k));
    this.cgroupId = grow(this.cgroupId, (k) => new Float64Array(k));
    this.bytes = grow(this.bytes, (k) => new Float64Array(k));
    this.pid = grow(this.pid, (k) => new Uint32Array(k));
    this.tgid = grow(this.tgid, (k) => new Uint32Array(k));
    this.kind = grow(this.kind, (k) => new Uint16Array(k));
    this.flags = grow(this.flags, (k) => new Uint16Array(k));
    this.tag = grow(this.tag, (k) => new Uint32Array(k));
    this.#capacity = n;
  }
}

/**
 * Turns the loader's byte stream into records (appended to `log`) and control frames (passed to
 * `handlers`). Throws `MXW_ERR_EBPF_PROTOCOL` on a bad magic, protocol or size: the stream
 * cannot be resynchronised, so the caller treats it as a dead loader.
 */
export class FrameDecoder {
  readonly #log: EraseLog;
  readonly #handlers: FrameHandlers;
  #carry = new Uint8Array(64 * 1024);
  #carryLength = 0;
  #frames = 0;
  #records = 0;

  constructor(log: EraseLog, handlers: FrameHandlers) {
    this.#log = log;
    this.#handlers = handlers;
  }

  /** Frames decoded so far. */
  get frames(): number {
    return this.#frames;
  }

  /** Event records decoded so far. */
  get records(): number {
    return this.#records;
  }

  /** Bytes held back waiting for the rest of a frame. */
  get pending(): number {
    return this.#carryLength;
  }

  push(chunk: Uint8Array): void {
    let offset = 0;
    if (this.#carryLength > 0) {
      // Complete the one frame that straddles chunks, copying only its own bytes.
      if (this.#carryLength < FRAME_HEADER_BYTES) {
        const take = Math.min(FRAME_HEADER_BYTES - this.#carryLength, chunk.length);
        this.#keep(chunk.subarray(0, take));
        offset = take;
        if (this.#carryLength < FRAME_HEADER_BYTES) return;
      }
      const header = new DataView(this.#carry.buffer, 0, FRAME_HEADER_BYTES);
      const size = header.getUint32(12, true);
      if (header.getUint32(0, true) !== FRAME_MAGIC || size > MAX_FRAME_PAYLOAD_BYTES) {
        this.#parse(this.#carry.subarray(0, FRAME_HEADER_BYTES)); // throws the precise error
      }
      const total = FRAME_HEADER_BYTES + size;
      const take = Math.min(total - this.#carryLength, chunk.length - offset);
      this.#keep(chunk.subarray(offset, offset + take));
      offset += take;
      if (this.#carryLength < total) return;
      this.#parse(this.#carry.subarray(0, total));
      this.#carryLength = 0;
    }
    const rest = offset === 0 ? chunk : chunk.subarray(offset);
    const used = this.#parse(rest);
    if (used < rest.length) this.#keep(rest.subarray(used));
  }

  #keep(bytes: Uint8Array): void {
    const need = this.#carryLength + bytes.length;
    if (need > this.#carry.length) {
      let size = this.#carry.length;
      while (size < need) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.#carry.subarray(0, this.#carryLength));
      this.#carry = next;
    }
    this.#carry.set(bytes, this.#carryLength);
    this.#carryLength = need;
  }

  /** Parses whole frames from `bytes`; returns how many bytes they used. */
  #parse(bytes: Uint8Array): number {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let at = 0;
    while (bytes.length - at >= FRAME_HEADER_BYTES) {
      const magic = view.getUint32(at, true);
      const protocol = view.getUint16(at + 4, true);
      const type = view.getUint16(at + 6, true);
      const count = view.getUint32(at + 8, true);
      const size = view.getUint32(at + 12, true);
      if (magic !== FRAME_MAGIC) throw new EbpfProtocolError(`bad frame magic 0x${magic.toString(16)} after ${this.#frames} frames`);
      if (protocol !== PROTOCOL_VERSION) throw new EbpfProtocolError(`loader speaks protocol ${protocol}, Maxwell ${PROTOCOL_VERSION}: rebuild it with npm run build`);
      if (size > MAX_FRAME_PAYLOAD_BYTES) throw new EbpfProtocolError(`frame of ${size} bytes exceeds the ${MAX_FRAME_PAYLOAD_BYTES}-byte limit`);
      if (bytes.length - at < FRAME_HEADER_BYTES + size) break;
      const body = at + FRAME_HEADER_BYTES;
      this.#frame(view, bytes, type, count, body, size);
      this.#frames++;
      at = body + size;
    }
    return at;
  }

  #frame(view: DataView, bytes: Uint8Array, type: number, count: number, at: number, size: number): void {
    switch (type) {
      case FRAME_TYPES.events: {
        if (size !== count * RECORD_BYTES) throw new EbpfProtocolError(`events frame of ${count} records has ${size} bytes`);
        for (let i = 0; i < count; i++) this.#log.push(view, at + i * RECORD_BYTES);
        this.#records += count;
        return;
      }
      case FRAME_TYPES.hello: {
        if (size < 32) throw new EbpfProtocolError(`hello frame of ${size} bytes`);
        const recordBytes = view.getUint32(at + 4, true);
        if (recordBytes !== RECORD_BYTES) throw new EbpfProtocolError(`loader records are ${recordBytes} bytes, Maxwell expects ${RECORD_BYTES}`);
        this.#handlers.onHello({
          protocol: view.getUint32(at, true),
          recordBytes,
          transport: TRANSPORTS[view.getUint32(at + 8, true)] ?? 'ringbuf',
          wakeupEvents: view.getUint32(at + 12, true),
          bufferBytes: u64(view, at + 16),
          pid: view.getUint32(at + 24, true),
          intervalMs: view.getUint32(at + 28, true),
        });
        return;
      }
      case FRAME_TYPES.stats: {
        if (size < 56) throw new EbpfProtocolError(`stats frame of ${size} bytes`);
        this.#handlers.onStats({
          submitted: u64(view, at),
          dropped: u64(view, at + 8),
          unwatched: u64(view, at + 16),
          forks: u64(view, at + 24),
          delivered: u64(view, at + 32),
          perfLost: u64(view, at + 40),
          atNs: u64(view, at + 48),
        });
        return;
      }
      case FRAME_TYPES.reply: {
        if (size < 8) throw new EbpfProtocolError(`reply frame of ${size} bytes`);
        this.#handlers.onReply(view.getInt32(at, true), view.getUint32(at + 4, true));
        return;
      }
      case FRAME_TYPES.log:
        this.#handlers.onLog(new TextDecoder().decode(bytes.subarray(at, at + size)));
        return;
      default:
        // A newer loader may add frame types; skipping them keeps the stream in step.
        return;
    }
  }
}

/** Encodes a frame (tests and fixtures; the loader writes the real ones). */
export function encodeFrame(type: number, count: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_BYTES + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, FRAME_MAGIC, true);
  view.setUint16(4, PROTOCOL_VERSION, true);
  view.setUint16(6, type, true);
  view.setUint32(8, count, true);
  view.setUint32(12, payload.length, true);
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

/** One record as the probe writes it (tests). */
export interface RawEraseRecord {
  readonly tsNs: number;
  readonly cgroupId: number;
  readonly bytes: number;
  readonly pid: number;
  readonly tgid: number;
  readonly kind: number;
  readonly flags: number;
  readonly tag: number;
}

/** Encodes records as an EVENTS frame (tests and fixtures). */
export function encodeEvents(records: readonly RawEraseRecord[]): Uint8Array {
  const payload = new Uint8Array(records.length * RECORD_BYTES);
  const view = new DataView(payload.buffer);
  records.forEach((r, i) => {
    const at = i * RECORD_BYTES;
    view.setBigUint64(at, BigInt(r.tsNs), true);
    view.setBigUint64(at + 8, BigInt(r.cgroupId), true);
    view.setBigUint64(at + 16, BigInt(r.bytes), true);
    view.setUint32(at + 24, r.pid, true);
    view.setUint32(at + 28, r.tgid, true);
    view.setUint16(at + 32, r.kind, true);
    view.setUint16(at + 34, r.flags, true);
    view.setUint32(at + 36, r.tag, true);
  });
  return encodeFrame(FRAME_TYPES.events, records.length, payload);
}
