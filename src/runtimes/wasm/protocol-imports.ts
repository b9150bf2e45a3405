/**
 * The worker's end of a WASM agent's protocol link: the `maxwell.*` imports (host-abi.ts).
 *
 * They build frames with the protocol's own encoder — `hello` first, as soon as the link is
 * made, then `bid` and `work` with one increasing `seq` — and post each frame's bytes, in a
 * buffer of its own that is transferred rather than copied, to the main thread, which writes
 * them to the agent's socket unchanged. Nothing here paces or filters what the module sends
 * beyond checking the call itself: rate and content are the daemon's to judge, as for a
 * process. What the daemon said comes back through the shared {@link LinkBlock}.
 *
 * Every import returns a status instead of throwing, so no call can trap the module or
 * reach the host's event loop with an exception.
 */
import { DEFAULT_MAX_FRAME_BYTES, PROTOCOL_VERSION, encodeFrame } from '../../protocol/frames.js';
import { LINK_BACKLOG, LINK_MAX_FRAME, LINK_STATE, NOTE_APOPTOSIS, NOTE_BALANCE, NOTE_PRICE, WASM_LINK_STATE, WASM_STATUS, loadNote, type LinkBlock, type WasmStatus } from './host-abi.js';

/** Where frames go: a `MessagePort` in the worker, anything with `postMessage` in tests. */
export interface FrameSink {
  postMessage(frame: Uint8Array, transfer: ArrayBuffer[]): void;
}

/** What the worker is given to speak for its agent. */
export interface LinkInit {
  readonly agentId: string;
  readonly token: string;
  readonly block: LinkBlock;
  /** Most frame bytes that may wait unflushed before calls return BUSY. */
  readonly backlogBytes: number;
}

/** The `maxwell.*` import object of one module. */
export interface ProtocolImports {
  bid(pricePerQuantumJ: number): WasmStatus;
  work(lo: bigint, hi: bigint, primesPtr: number, count: number): WasmStatus;
  state(): number;
  balance_j(): number;
  price_j(plane: number): number;
  apoptosis_ms(): number;
}

/** The largest price a `bid` may carry, J (the schema's bound). */
const MAX_JOULES = 1e15;
/** The shortest a prime can be in a `work` frame: `"2",`. */
const MIN_PRIME_JSON_BYTES = 4;
const U64_MASK = (1n << 64n) - 1n;

/** Imports for a module started without an endpoint: every call says so. */
export function createOfflineImports(): ProtocolImports {
  return {
    bid: () => WASM_STATUS.NO_ENDPOINT,
    work: () => WASM_STATUS.NO_ENDPOINT,
    state: () => WASM_LINK_STATE.NONE,
    balance_j: () => Number.NaN,
    price_j: () => Number.NaN,
    apoptosis_ms: () => Number.NaN,
  };
}

/**
 * Sends `hello` and returns the imports. `memory` gives the module's exported memory once it
 * is instantiated (undefined before, or when it exports none).
 */
export function createProtocolImports(sink: FrameSink, init: LinkInit, memory: () => WebAssembly.Memory | undefined): ProtocolImports {
  const { ints, notes } = init.block;
  let seq = 0;
  // One DataView per memory buffer: rebuilt only when `memory.grow` replaced the buffer.
  let view: DataView | undefined;

  const post = (message: object): WasmStatus => {
    const maxFrameBytes = Atomics.load(ints, LINK_MAX_FRAME) || DEFAULT_MAX_FRAME_BYTES;
    let frame: Uint8Array;
    try {
      frame = encodeFrame(message, maxFrameBytes);
    } catch {
      return WASM_STATUS.TOO_LARGE;
    }
    if (Atomics.load(ints, LINK_STATE) === WASM_LINK_STATE.CLOSED) return WASM_STATUS.CLOSED;
    if (Atomics.load(ints, LINK_BACKLOG) + frame.byteLength > init.backlogBytes) return WASM_STATUS.BUSY;
    // encodeFrame may return a slice of Buffer's shared pool, which cannot be transferred.
    const owned = new Uint8Array(frame.byteLength);
    owned.set(frame);
    Atomics.add(ints, LINK_BACKLOG, owned.byteLength);
    sink.postMessage(owned, [owned.buffer]);
    return WASM_STATUS.OK;
  };

  // The state is the main thread's to write (it may already have seen the socket fail).
  const hello = encodeFrame({ type: 'hello', protocol: PROTOCOL_VERSION, agentId: init.agentId, token: init.token });
  const helloBytes = Uint8Array.from(hello);
  Atomics.add(ints, LINK_BACKLOG, helloBytes.byteLength);
  sink.postMessage(helloBytes, [helloBytes.buffer]);

  return {
    bid(pricePerQuantumJ: number): WasmStatus {
      if (!(pricePerQuantumJ >= 0 && pricePerQuantumJ <= MAX_JOULES)) return WASM_STATUS.INVALID;
      const status = post({ type: 'bid', seq: seq + 1, pricePerQuantumJ });
      if (status === WASM_STATUS.OK) seq++;
      return status;
    },
    work(lo: bigint, hi: bigint, primesPtr: number, count: number): WasmStatus {
      // i64 and i32 arrive signed; the ABI reads them as unsigned (u64 bounds, u32 address).
      const from = lo & U64_MASK;
      const to = hi & U64_MASK;
      if (count < 0 || from >= to) return WASM_STATUS.INVALID;
      const address = primesPtr >>> 0;
      const buffer = memory()?.buffer;
      if (count > 0 && (buffer === undefined || address + 8 * count > buffer.byteLength)) return WASM_STATUS.OUT_OF_BOUNDS;
      const maxFrameBytes = Atomics.load(ints, LINK_MAX_FRAME) || DEFAULT_MAX_FRAME_BYTES;
      // Refuse a hopeless count before reading it all.
      if (count * MIN_PRIME_JSON_BYTES > maxFrameBytes) return WASM_STATUS.TOO_LARGE;
      const primes: string[] = [];
      if (count > 0 && buffer !== undefined) {
        if (view?.buffer !== buffer) view = new DataView(buffer);
        for (let i = 0; i < count; i++) primes.push(view.getBigUint64(address + 8 * i, true).toString());
      }
      const status = post({ type: 'work', seq: seq + 1, kind: 'primes', range: [from.toString(), to.toString()], primes });
      if (status === WASM_STATUS.OK) seq++;
      return status;
    },
    state: () => Atomics.load(ints, LINK_STATE),
    balance_j: () => loadNote(notes, NOTE_BALANCE),
    price_j: (plane: number) => (plane >= 0 ? loadNote(notes, NOTE_PRICE + plane) : Number.NaN),
    apoptosis_ms: () => loadNote(notes, NOTE_APOPTOSIS),
  };
}
