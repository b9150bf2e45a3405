/**
 * Framing of the agent protocol (docs/PROTOCOL.md).
 *
 * A frame is a 4-byte big-endian unsigned length `n` followed by `n` bytes of UTF-8 JSON:
 *
 * ```
 * +--------+--------+--------+--------+-------------------------------+
 * |        length n (uint32, big-endian)  |  n bytes: one JSON object  |
 * +--------+--------+--------+--------+-------------------------------+
 * ```
 *
 * There is no version byte per frame: the version is negotiated once, in `hello`
 * ({@link PROTOCOL_VERSION}). This file has no dependency beyond `node:buffer` and the error
 * catalogue so that agents can import the client cheaply; the message schemas (zod) live in
 * `messages.ts` and are loaded by the daemon side only.
 */
import { Buffer } from 'node:buffer';
import { InvalidArgumentError, ProtocolFrameTooLargeError, type MaxwellErrorCode } from '../errors.js';

/** The protocol version this code speaks, sent in `hello` and `welcome`. */
export const PROTOCOL_VERSION = 1;

/** Bytes of the length prefix. */
export const FRAME_HEADER_BYTES = 4;

/** Default largest frame body, bytes (64 KiB). */
export const DEFAULT_MAX_FRAME_BYTES = 65_536;
/** Default sustained rate of frames an agent may send, frames/s. */
export const DEFAULT_FRAMES_PER_S = 200;
/** Default burst of frames an agent may send at once (token bucket depth), frames. */
export const DEFAULT_BURST_FRAMES = 400;
/** Default time a connection has to authenticate with `hello`, ms. */
export const DEFAULT_HELLO_TIMEOUT_MS = 5_000;
/** Default bytes of notices that may queue for an agent that does not read, bytes (1 MiB). */
export const DEFAULT_MAX_QUEUED_BYTES = 1_048_576;

/** The codes a connection can be closed with for what its peer sent (a subset of the catalogue). */
export const PROTOCOL_REJECTION_CODES = [
  'MXW_ERR_PROTOCOL_FRAME_TOO_LARGE',
  'MXW_ERR_PROTOCOL_MALFORMED',
  'MXW_ERR_PROTOCOL_TRUNCATED',
  'MXW_ERR_PROTOCOL_SCHEMA',
  'MXW_ERR_PROTOCOL_UNAUTHENTICATED',
  'MXW_ERR_PROTOCOL_AUTH',
  'MXW_ERR_PROTOCOL_VERSION',
  'MXW_ERR_PROTOCOL_RATE_LIMIT',
  'MXW_ERR_PROTOCOL_BUSY',
  'MXW_ERR_PROTOCOL_SLOW_READER',
] as const satisfies readonly MaxwellErrorCode[];

/** Why a connection was closed by the side that received bad input. */
export type ProtocolRejectionCode = (typeof PROTOCOL_REJECTION_CODES)[number];

/** A decoding failure: a value, not an exception (the caller closes the connection with it). */
export interface FrameFault {
  readonly code: ProtocolRejectionCode;
  readonly message: string;
}

/** Limits of one agent connection. Every field is validated by {@link createProtocolLimits}. */
export interface ProtocolLimits {
  /** Largest frame body, bytes. @default 65536 */
  readonly maxFrameBytes: number;
  /** Sustained frames per second an agent may send. @default 200 */
  readonly framesPerS: number;
  /** Token bucket depth: frames an agent may send at once. @default 400 */
  readonly burstFrames: number;
  /** Time to authenticate with `hello`, ms. @default 5000 */
  readonly helloTimeoutMs: number;
  /** Notices that may queue unread for one agent before its connection is closed, bytes. @default 1048576 */
  readonly maxQueuedBytes: number;
}

/**
 * Fills defaults and validates each limit, naming the bad one.
 * @example
 * createProtocolLimits({ framesPerS: 50 })
 */
export function createProtocolLimits(partial: Partial<ProtocolLimits> = {}): ProtocolLimits {
  const limits: ProtocolLimits = {
    maxFrameBytes: partial.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
    framesPerS: partial.framesPerS ?? DEFAULT_FRAMES_PER_S,
    burstFrames: partial.burstFrames ?? DEFAULT_BURST_FRAMES,
    helloTimeoutMs: partial.helloTimeoutMs ?? DEFAULT_HELLO_TIMEOUT_MS,
    maxQueuedBytes: partial.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES,
  };
  const check = (name: keyof ProtocolLimits, min: number, max: number, integer: boolean): void => {
    const v = limits[name];
    if (typeof v !== 'number' || !(v >= min && v <= max) || (integer && !Number.isInteger(v))) {
      throw new InvalidArgumentError(`invalid protocol limit ${name}: ${String(v)} (expected ${integer ? 'an integer' : 'a number'} in [${min}, ${max}])`);
    }
  };
  // 256 bytes is enough for any hello; 2^32 − 1 is what the prefix can say.
  check('maxFrameBytes', 256, 0xffff_ffff, true);
  check('framesPerS', 0.001, 1e6, false);
  check('burstFrames', 1, 1e9, true);
  check('helloTimeoutMs', 1, 3_600_000, true);
  check('maxQueuedBytes', 1024, 2 ** 40, true);
  return Object.freeze(limits);
}

/**
 * Encodes one message as a frame (header and body in one buffer, one write).
 * Throws `MXW_ERR_PROTOCOL_FRAME_TOO_LARGE` when the body exceeds `maxFrameBytes`: the sender
 * is at fault, not the peer.
 */
export function encodeFrame(message: object, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): Buffer {
  const json = JSON.stringify(message);
  const length = Buffer.byteLength(json, 'utf8');
  if (length > maxFrameBytes) throw new ProtocolFrameTooLargeError(`frame of ${length} bytes exceeds the limit of ${maxFrameBytes}`);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + length);
  frame.writeUInt32BE(length, 0);
  frame.write(json, FRAME_HEADER_BYTES, 'utf8');
  return frame;
}

/** An unsigned 64-bit integer as a decimal string without leading zeros. */
const U64_DECIMAL = /^(0|[1-9][0-9]{0,19})$/;
const U64_MAX_DECIMAL = '18446744073709551615';

/** True when `s` is a decimal string of an integer in [0, 2⁶⁴ − 1] (no bigint needed). */
export function isU64Decimal(s: string): boolean {
  if (!U64_DECIMAL.test(s)) return false;
  // Same length and no leading zeros: lexicographic order is numeric order.
  return s.length < 20 || s <= U64_MAX_DECIMAL;
}

/** UTF-8 decoding that fails on invalid sequences instead of inventing U+FFFD. */
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** Parses a frame body as UTF-8 JSON. Shape is not checked here (see `messages.ts`). */
export function parseFrameBody(body: Uint8Array): { ok: true; value: unknown } | { ok: false; fault: FrameFault } {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    return { ok: false, fault: { code: 'MXW_ERR_PROTOCOL_MALFORMED', message: 'frame body is not valid UTF-8' } };
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, fault: { code: 'MXW_ERR_PROTOCOL_MALFORMED', message: 'frame body is not valid JSON' } };
  }
}

/**
 * Streaming frame decoder: feed it socket chunks as they come, get whole frame bodies out.
 *
 * Chunks are kept in a list, not concatenated, so a frame that arrives in k pieces costs one
 * copy of its bytes (into its own buffer) instead of k growing concatenations; a frame that
 * lies inside one chunk is returned as a view with no copy at all. A length prefix above
 * `maxFrameBytes` is rejected as soon as its 4 bytes are in, before any body is buffered, so
 * at most `maxFrameBytes + FRAME_HEADER_BYTES` plus one chunk is ever held.
 *
 * After a fault the decoder stays failed and returns the same fault; the caller closes the
 * connection.
 */
export class FrameDecoder {
  readonly #maxFrameBytes: number;
  readonly #chunks: Buffer[] = [];
  /** Bytes of `#chunks[0]` already consumed. */
  #offset = 0;
  #buffered = 0;
  /** Body length of the frame being assembled, or -1 while its header is incomplete. */
  #need = -1;
  #fault: FrameFault | null = null;

  constructor(maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {
    if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 1 || maxFrameBytes > 0xffff_ffff) {
      throw new InvalidArgumentError(`invalid maxFrameBytes: ${String(maxFrameBytes)}`);
    }
    this.#maxFrameBytes = maxFrameBytes;
  }

  /** Bytes received but not yet returned as frames. */
  get buffered(): number {
    return this.#buffered;
  }

  /** The fault that stopped this decoder, or null. */
  get fault(): FrameFault | null {
    return this.#fault;
  }

  /** Adds a chunk; returns the frame bodies it completed, in order, or the fault. */
  push(chunk: Uint8Array): { ok: true; frames: Buffer[] } | { ok: false; fault: FrameFault } {
    if (this.#fault !== null) return { ok: false, fault: this.#fault };
    if (chunk.byteLength > 0) {
      this.#chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      this.#buffered += chunk.byteLength;
    }
    const frames: Buffer[] = [];
    for (;;) {
      if (this.#need < 0) {
        if (this.#buffered < FRAME_HEADER_BYTES) break;
        const length = this.#take(FRAME_HEADER_BYTES).readUInt32BE(0);
        if (length === 0) return this.#fail({ code: 'MXW_ERR_PROTOCOL_MALFORMED', message: 'frame of length 0' });
        if (length > this.#maxFrameBytes) {
          return this.#fail({ code: 'MXW_ERR_PROTOCOL_FRAME_TOO_LARGE', message: `length prefix ${length} exceeds the frame limit of ${this.#maxFrameBytes} bytes` });
        }
        this.#need = length;
      }
      if (this.#buffered < this.#need) break;
      frames.push(this.#take(this.#need));
      this.#need = -1;
    }
    return { ok: true, frames };
  }

  /** Call when the stream ends: a fault if it ended inside a frame, else null. */
  end(): FrameFault | null {
    if (this.#fault !== null) return this.#fault;
    if (this.#need >= 0 || this.#buffered > 0) {
      const have = this.#buffered;
      const message = this.#need >= 0 ? `stream ended with ${have} of ${this.#need} body bytes` : `stream ended inside a length prefix (${have} of ${FRAME_HEADER_BYTES} bytes)`;
      return this.#fail({ code: 'MXW_ERR_PROTOCOL_TRUNCATED', message }).fault;
    }
    return null;
  }

  #fail(fault: FrameFault): { ok: false; fault: FrameFault } {
    this.#fault = fault;
    this.#chunks.length = 0;
    this.#buffered = 0;
    return { ok: false, fault };
  }

  /** Removes `n ≤ buffered` bytes from the front: a view when they lie in one chunk, else one copy. */
  #take(n: number): Buffer {
    this.#buffered -= n;
    const head = this.#chunks[0];
    if (head === undefined) throw new Error('Maxwell internal invariant violated: FrameDecoder has no chunk');
    if (head.length - this.#offset >= n) {
      const view = head.subarray(this.#offset, this.#offset + n);
      this.#offset += n;
      if (this.#offset === head.length) this.#shift();
      return view;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.#chunks[0];
      if (chunk === undefined) throw new Error('Maxwell internal invariant violated: FrameDecoder ran out of chunks');
      const copied = chunk.copy(out, filled, this.#offset, Math.min(chunk.length, this.#offset + n - filled));
      filled += copied;
      this.#offset += copied;
      if (this.#offset === chunk.length) this.#shift();
    }
    return out;
  }

  #shift(): void {
    // Array#shift is O(length), but the list holds only the chunks of one partial frame.
    this.#chunks.shift();
    this.#offset = 0;
  }
}

/**
 * A token bucket: `ratePerS` tokens per second, at most `burst` saved. Time comes from `now`
 * (seconds, monotonic) so tests can drive it by hand.
 * @example
 * const bucket = new TokenBucket(200, 400, () => performance.now() / 1000)
 * if (!bucket.take()) closeForFlooding()
 */
export class TokenBucket {
  readonly #ratePerS: number;
  readonly #burst: number;
  readonly #now: () => number;
  #tokens: number;
  #at: number;

  constructor(ratePerS: number, burst: number, now: () => number) {
    if (!(ratePerS > 0) || !Number.isFinite(ratePerS)) throw new InvalidArgumentError(`invalid ratePerS: ${String(ratePerS)}`);
    if (!(burst >= 1) || !Number.isFinite(burst)) throw new InvalidArgumentError(`invalid burst: ${String(burst)}`);
    this.#ratePerS = ratePerS;
    this.#burst = burst;
    this.#now = now;
    this.#tokens = burst;
    this.#at = now();
  }

  #refill(): void {
    const t = this.#now();
    if (t > this.#at) {
      this.#tokens = Math.min(this.#burst, this.#tokens + (t - this.#at) * this.#ratePerS);
      this.#at = t;
    }
  }

  /** Takes one token if there is one. */
  take(): boolean {
    this.#refill();
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Seconds until a token is available (0 when one is). */
  waitS(): number {
    this.#refill();
    return this.#tokens >= 1 ? 0 : (1 - this.#tokens) / this.#ratePerS;
  }
}

/** Float32 values as little-endian bytes in base64 (the wire form of logits and tensors). */
export function float32ToBase64(values: Float32Array): string {
  const bytes = Buffer.alloc(values.length * 4);
  for (let i = 0; i < values.length; i++) bytes.writeFloatLE(values[i] ?? 0, i * 4);
  return bytes.toString('base64');
}

/** The inverse of {@link float32ToBase64}; null when the bytes are not a whole number of floats. */
export function base64ToFloat32(text: string): Float32Array | null {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length % 4 !== 0) return null;
  const out = new Float32Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4);
  return out;
}
