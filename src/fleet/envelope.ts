/**
 * The fleet's signed datagram envelope. Layout (big-endian):
 *
 *     0   4  magic "MXF" + version 1
 *     4  32  sender's Ed25519 public key (raw)
 *    36  16  recipient's node id (raw), all zero when unknown (a join to a seed)
 *    52   8  sequence number (per sender, increasing)
 *    60   8  sender's wall-clock timestamp, ms since the epoch
 *    68   …  body: one JSON message (messages.ts)
 *  −64  64  Ed25519 signature of everything before it
 *
 * A node id is derived from its key: base64url of the first 16 bytes of SHA-256(public key), so
 * a verified signature proves the sender holds the key of the id it claims (no trust on first
 * use is needed for the binding; forging an id means a 128-bit second preimage). It does not
 * prove the sender is a fleet member: anyone can make a key. Pass `allowedIds` to admit only
 * known nodes; without it the fleet is open (see docs/FLEET.md).
 *
 * {@link EnvelopeCodec.decode} never throws: it returns the message or a {@link DropReason}.
 * Replays are refused by a per-sender window (highest sequence + a 64-bit bitmap, as IPsec's
 * anti-replay window) and a clock-skew bound; binding the recipient stops a datagram captured
 * on its way to one node from being replayed to another.
 */
import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { FleetConfigError, FleetKeyError } from '../errors.js';
import { parseFleetMessage, type FleetMessage } from './messages.js';
import type { AliveAuth } from './swim.js';

export const DROP_REASONS = ['oversized', 'malformed', 'misdirected', 'unknown-sender', 'forged', 'skewed', 'replayed'] as const;
/**
 * Why a datagram was dropped: larger than the limit; not an envelope or not a valid message;
 * addressed to another node; sender not admitted; bad signature; timestamp beyond the allowed
 * clock skew; a sequence number already seen or below the window (also: our own datagram reflected).
 */
export type DropReason = (typeof DROP_REASONS)[number];

/** "MXF" + version 1 on datagrams; "MXS" + 1 on the push-pull stream, so neither can be replayed as the other. */
const MAGIC = [0x4d, 0x58, 0x46, 0x01] as const;
const STREAM_MAGIC = [0x4d, 0x58, 0x53, 0x01] as const;
/** Largest stream frame the codec accepts as a limit, bytes. */
const MAX_STREAM_BYTES = 16 * 1024 * 1024;
const KEY_OFFSET = 4;
const TO_OFFSET = 36;
const SEQ_OFFSET = 52;
const TS_OFFSET = 60;
const HEADER_BYTES = 68;
const SIG_BYTES = 64;
/** Envelope bytes around the body. */
export const ENVELOPE_OVERHEAD_BYTES = HEADER_BYTES + SIG_BYTES;
const WINDOW_BITS = 64n;

/** A node's signing identity. */
export interface FleetIdentity {
  readonly id: string;
  readonly privateKey: KeyObject;
  /** Raw 32-byte public key. */
  readonly publicKey: Buffer;
}

/** The node id of a raw Ed25519 public key. */
export function fleetNodeId(publicKey: Uint8Array): string {
  return createHash('sha256').update(publicKey).digest().subarray(0, 16).toString('base64url');
}

/** The identity of an Ed25519 private key (e.g. the node key of src/ledger/node-key.ts). */
export function fleetIdentity(privateKey: KeyObject): FleetIdentity {
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'ed25519') throw new FleetKeyError('the fleet key must be an Ed25519 private key');
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  const publicKey = Buffer.from(jwk.x ?? '', 'base64url');
  return { id: fleetNodeId(publicKey), privateKey, publicKey };
}

const keyCache = new Map<string, KeyObject>();
function publicKeyObject(raw: Buffer): KeyObject {
  const x = raw.toString('base64url');
  let k = keyCache.get(x);
  if (k === undefined) {
    k = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
    if (keyCache.size >= 4096) keyCache.clear();
    keyCache.set(x, k);
  }
  return k;
}

/** Ed25519 signatures on alive updates, for {@link Swim}: keys and signatures travel as base64url. */
export function createAliveAuth(identity: FleetIdentity): AliveAuth {
  return {
    key: identity.publicKey.toString('base64url'),
    sign: (payload) => sign(null, Buffer.from(payload), identity.privateKey).toString('base64url'),
    verify: (id, key, payload, sig) => {
      const raw = Buffer.from(key, 'base64url');
      if (raw.length !== 32 || fleetNodeId(raw) !== id) return false;
      try {
        return verify(null, Buffer.from(payload), publicKeyObject(raw), Buffer.from(sig, 'base64url'));
      } catch {
        return false;
      }
    },
  };
}

export interface EnvelopeOptions {
  readonly identity: FleetIdentity;
  /** Wall clock, ms since the epoch (timestamps and skew). @default Date.now */
  readonly now?: () => number;
  /** Largest datagram, bytes (a 1,500-byte Ethernet MTU less IP/UDP headers and margin). @default 1400 */
  readonly maxBytes?: number;
  /** Largest accepted |timestamp − now|, ms. @default 30000 */
  readonly maxSkewMs?: number;
  /** Senders whose replay windows are kept (least recently heard evicted first). @default 4096 */
  readonly windowSenders?: number;
  /** When given, only these node ids are accepted (others: `unknown-sender`). */
  readonly allowedIds?: ReadonlySet<string>;
  /** First sequence number. @default now() × 1024, so a restarted node starts above its old numbers */
  readonly firstSeq?: number;
  /**
   * `datagram` (UDP) or `stream` (the TCP push-pull: larger limits, its own magic and replay
   * window). @default 'datagram'
   */
  readonly channel?: 'datagram' | 'stream';
  /** Most member updates one message may carry. @default 64 (datagram), 8192 (stream) */
  readonly maxUpdates?: number;
}

export type Decoded =
  | { readonly ok: true; readonly from: string; readonly seq: number; readonly timestampMs: number; readonly message: FleetMessage }
  | { readonly ok: false; readonly reason: DropReason };

interface Window {
  highest: bigint;
  bitmap: bigint;
}

export class EnvelopeCodec {
  readonly maxBytes: number;
  readonly maxSkewMs: number;
  readonly #identity: FleetIdentity;
  readonly #selfRaw: Buffer;
  readonly #now: () => number;
  readonly #senders: number;
  readonly #allowed: ReadonlySet<string> | undefined;
  readonly #windows = new Map<string, Window>();
  readonly #magic: readonly number[];
  /** Most member updates one message may carry (a sender must not put more in). */
  readonly maxUpdates: number;
  #seq: number;

  constructor(o: EnvelopeOptions) {
    this.#identity = o.identity;
    this.#selfRaw = Buffer.from(o.identity.id, 'base64url');
    this.#now = o.now ?? Date.now;
    this.maxBytes = o.maxBytes ?? 1400;
    this.maxSkewMs = o.maxSkewMs ?? 30_000;
    this.#senders = o.windowSenders ?? 4096;
    this.#allowed = o.allowedIds;
    this.#seq = o.firstSeq ?? Math.floor(this.#now()) * 1024;
    const stream = o.channel === 'stream';
    this.#magic = stream ? STREAM_MAGIC : MAGIC;
    this.maxUpdates = o.maxUpdates ?? (stream ? 8192 : 64);
    const limit = stream ? MAX_STREAM_BYTES : 65_507;
    if (!Number.isInteger(this.maxBytes) || this.maxBytes < ENVELOPE_OVERHEAD_BYTES + 64 || this.maxBytes > limit) throw new FleetConfigError(`invalid maxBytes: ${this.maxBytes}`);
    if (!Number.isInteger(this.maxUpdates) || this.maxUpdates < 1) throw new FleetConfigError(`invalid maxUpdates: ${this.maxUpdates}`);
    if (!(this.maxSkewMs > 0)) throw new FleetConfigError(`invalid maxSkewMs: ${this.maxSkewMs}`);
    if (!Number.isInteger(this.#senders) || this.#senders < 1) throw new FleetConfigError(`invalid windowSenders: ${this.#senders}`);
    if (!Number.isSafeInteger(this.#seq) || this.#seq < 0) throw new FleetConfigError(`invalid firstSeq: ${this.#seq}`);
  }

  /** The largest body that fits, bytes. */
  get maxBodyBytes(): number {
    return this.maxBytes - ENVELOPE_OVERHEAD_BYTES;
  }

  /** Signs `message` for `toId` (null: unknown recipient); null when it would exceed `maxBytes`. */
  encode(message: FleetMessage, toId: string | null): Buffer | null {
    const body = Buffer.from(JSON.stringify(message));
    if (body.length > this.maxBodyBytes) return null;
    const buf = Buffer.alloc(HEADER_BYTES + body.length + SIG_BYTES);
    buf.set(this.#magic, 0);
    this.#identity.publicKey.copy(buf, KEY_OFFSET);
    if (toId !== null) Buffer.from(toId, 'base64url').copy(buf, TO_OFFSET, 0, 16);
    buf.writeBigUInt64BE(BigInt(++this.#seq), SEQ_OFFSET);
    buf.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(this.#now()))), TS_OFFSET);
    body.copy(buf, HEADER_BYTES);
    sign(null, buf.subarray(0, HEADER_BYTES + body.length), this.#identity.privateKey).copy(buf, HEADER_BYTES + body.length);
    return buf;
  }

  /** Checks and opens a datagram; never throws. */
  decode(buf: Buffer): Decoded {
    if (buf.length > this.maxBytes) return { ok: false, reason: 'oversized' };
    if (buf.length < HEADER_BYTES + SIG_BYTES + 2 || this.#magic.some((b, i) => buf[i] !== b)) return { ok: false, reason: 'malformed' };
    const to = buf.subarray(TO_OFFSET, TO_OFFSET + 16);
    if (!to.every((b) => b === 0) && !to.equals(this.#selfRaw)) return { ok: false, reason: 'misdirected' };
    const raw = buf.subarray(KEY_OFFSET, KEY_OFFSET + 32);
    const from = fleetNodeId(raw);
    if (this.#allowed !== undefined && !this.#allowed.has(from)) return { ok: false, reason: 'unknown-sender' };
    const signedEnd = buf.length - SIG_BYTES;
    let valid: boolean;
    try {
      valid = verify(null, buf.subarray(0, signedEnd), publicKeyObject(Buffer.from(raw)), buf.subarray(signedEnd));
    } catch {
      valid = false; // not a point on the curve: no key could have signed it
    }
    if (!valid) return { ok: false, reason: 'forged' };
    const timestampMs = Number(buf.readBigUInt64BE(TS_OFFSET));
    if (Math.abs(timestampMs - this.#now()) > this.maxSkewMs) return { ok: false, reason: 'skewed' };
    const seq = buf.readBigUInt64BE(SEQ_OFFSET);
    if (from === this.#identity.id || !this.#accept(from, seq)) return { ok: false, reason: 'replayed' };
    let json: unknown;
    try {
      json = JSON.parse(buf.subarray(HEADER_BYTES, signedEnd).toString('utf8'));
    } catch {
      return { ok: false, reason: 'malformed' };
    }
    const message = parseFleetMessage(json, this.maxUpdates);
    if (message === null) return { ok: false, reason: 'malformed' };
    return { ok: true, from, seq: Number(seq), timestampMs, message };
  }

  /** The anti-replay window: true (and recorded) when `seq` is new for `from`. */
  #accept(from: string, seq: bigint): boolean {
    let w = this.#windows.get(from);
    if (w === undefined) {
      if (this.#windows.size >= this.#senders) {
        const oldest = this.#windows.keys().next().value;
        if (oldest !== undefined) this.#windows.delete(oldest);
      }
      w = { highest: seq, bitmap: 1n };
    } else if (seq > w.highest) {
      const shift = seq - w.highest;
      w.bitmap = shift >= WINDOW_BITS ? 1n : ((w.bitmap << shift) | 1n) & ((1n << WINDOW_BITS) - 1n);
      w.highest = seq;
    } else {
      const back = w.highest - seq;
      if (back >= WINDOW_BITS || (w.bitmap & (1n << back)) !== 0n) return false;
      w.bitmap |= 1n << back;
    }
    // Re-insert: the Map's order is least recently heard first, for eviction.
    this.#windows.delete(from);
    this.#windows.set(from, w);
    return true;
  }
}
