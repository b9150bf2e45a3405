/**
 * The host ABI of WASM agents: the functions a module may import, their signatures, the
 * status codes of the protocol imports, and the shared block through which the runtime's main
 * thread tells the worker what the daemon said (docs/RUNTIMES.md, "WASM agents").
 *
 * The protocol reaches a module through the runtime, not a socket of its own: the worker
 * builds frames for `maxwell.bid` and `maxwell.work` and posts their bytes over a
 * `MessagePort`; the main thread (protocol-bridge.ts) writes them unchanged to the agent's
 * Unix socket, so the daemon's `ProtocolServer` authenticates, sizes and rate-limits a WASM
 * agent exactly as it does a process. Notices come back the other way, decoded by the main
 * thread into the {@link LinkBlock} that the synchronous imports read.
 */
import { AgentSpecError } from '../../errors.js';
import type { ModuleImport, WasmValueType } from './fuel.js';

/** A host function's signature. */
export interface HostFunctionType {
  readonly params: readonly WasmValueType[];
  readonly results: readonly WasmValueType[];
}

/**
 * Every function a WASM agent may import, by module and name. Anything else — another name,
 * another signature, a non-function import — is refused at start with `MXW_ERR_AGENT_SPEC`.
 *
 * - `env.elapsed_ms(): f64` — milliseconds since the agent started.
 * - `env.block(ms: f64)` — sleeps without using fuel (a host call: the agent cannot be paused in it).
 * - `env.report(value: i32)` — a number for the host (`WasmRuntime.reports`).
 * - `env.arg_f64(index: i32): f64` — `spec.args[index]` as a number; NaN when absent or not a number.
 * - `maxwell.bid(pricePerQuantumJ: f64): i32` — a `bid` frame (CPU plane, no budget). Status.
 * - `maxwell.work(lo: i64, hi: i64, primesPtr: i32, count: i32): i32` — a `work` frame claiming
 *   that the `count` little-endian u64 values at `primesPtr` are the primes in `[lo, hi)`
 *   (`lo`, `hi` unsigned). Status.
 * - `maxwell.state(): i32` — the connection, {@link WASM_LINK_STATE}.
 * - `maxwell.balance_j(): f64` — the last `balance` (or `apoptosis`) notice's balance, J; NaN before one.
 * - `maxwell.price_j(plane: i32): f64` — the last `price` notice's reserve for `plane`, J; NaN before one.
 * - `maxwell.apoptosis_ms(): f64` — the grace period of the `apoptosis` notice the agent got, ms; NaN
 *   while it has none. An agent that sees a number should end (return from `run`) within it: it
 *   cannot pay, and after the grace period the runtime stops it.
 */
export const HOST_IMPORTS = {
  env: {
    elapsed_ms: { params: [], results: ['f64'] },
    block: { params: ['f64'], results: [] },
    report: { params: ['i32'], results: [] },
    arg_f64: { params: ['i32'], results: ['f64'] },
  },
  maxwell: {
    bid: { params: ['f64'], results: ['i32'] },
    work: { params: ['i64', 'i64', 'i32', 'i32'], results: ['i32'] },
    state: { params: [], results: ['i32'] },
    balance_j: { params: [], results: ['f64'] },
    price_j: { params: ['i32'], results: ['f64'] },
    apoptosis_ms: { params: [], results: ['f64'] },
  },
} as const satisfies Readonly<Record<string, Readonly<Record<string, HostFunctionType>>>>;

/**
 * What `maxwell.bid` and `maxwell.work` return: 0 when the frame was handed to the bridge,
 * else the first of these that applies, in this order. 0 means sent, not accepted: the
 * daemon's verdict comes back as a `result` notice. A bad call never traps the module and never
 * reaches the daemon.
 */
export const WASM_STATUS = {
  /** The frame was queued for the daemon. */
  OK: 0,
  /** The agent was started without `MAXWELL_SOCKET`, `MAXWELL_TOKEN` and `MAXWELL_AGENT_ID`. */
  NO_ENDPOINT: -1,
  /** A bad argument: a price that is not a finite number in [0, 1e15] J, a negative count, or `lo >= hi`. */
  INVALID: -2,
  /** `primesPtr + 8 × count` lies outside the module's exported memory (or it exports none). */
  OUT_OF_BOUNDS: -3,
  /** The frame would exceed the daemon's `maxFrameBytes` (64 KiB by default): send fewer primes per call. */
  TOO_LARGE: -4,
  /** The connection is closed: refused by the daemon (wrong token, flooding, …), ended, or never made. */
  CLOSED: -5,
  /** More than the backlog (1 MiB by default) is waiting to be written to the socket: try again later. */
  BUSY: -6,
} as const;

/** A status of the protocol imports. */
export type WasmStatus = (typeof WASM_STATUS)[keyof typeof WASM_STATUS];

/** What `maxwell.state()` returns. */
export const WASM_LINK_STATE = {
  /** No endpoint in the agent's environment: the protocol is off. */
  NONE: 0,
  /** `hello` sent, no `welcome` yet. */
  CONNECTING: 1,
  /** Welcomed: frames are being accepted. */
  OPEN: 2,
  /** Closed for good (by the daemon, the socket, or the agent's exit). */
  CLOSED: 3,
} as const;

/** Slots of the link's Int32Array (shared by the worker and the main thread). */
export const LINK_STATE = 0;
/** Frame bytes posted by the worker and not yet flushed to the socket (worker adds, main subtracts). */
export const LINK_BACKLOG = 1;
/** `maxFrameBytes` announced in `welcome`; 0 before it. */
export const LINK_MAX_FRAME = 2;
const LINK_INTS = 4;

/** Slot of the balance in the link's BigInt64Array (f64 bit patterns, so reads never tear). */
export const NOTE_BALANCE = 0;
/** Slot of plane 0's reserve price; plane `p` is at `NOTE_PRICE + p`. */
export const NOTE_PRICE = 1;
/** Planes whose reserve price is kept (one plane per CPU core today); higher planes read NaN. */
export const MAX_PRICED_PLANES = 256;
/** Slot of the last apoptosis notice's grace period, ms. */
export const NOTE_APOPTOSIS = NOTE_PRICE + MAX_PRICED_PLANES;

/** The shared block of one agent's protocol link. */
export interface LinkBlock {
  readonly ints: Int32Array;
  readonly notes: BigInt64Array;
}

const scratch = new Float64Array(1);
const scratchBits = new BigInt64Array(scratch.buffer);
const NAN_BITS = ((): bigint => {
  scratch[0] = Number.NaN;
  return scratchBits[0] ?? 0n;
})();

/** A fresh block: state NONE, every note NaN. */
export function createLinkBlock(): LinkBlock {
  const ints = new Int32Array(new SharedArrayBuffer(LINK_INTS * 4));
  const notes = new BigInt64Array(new SharedArrayBuffer((NOTE_APOPTOSIS + 1) * 8));
  notes.fill(NAN_BITS);
  return { ints, notes };
}

/** Stores a number in a notes slot. */
export function storeNote(notes: BigInt64Array, slot: number, value: number): void {
  scratch[0] = value;
  Atomics.store(notes, slot, scratchBits[0] ?? NAN_BITS);
}

/** Loads a number from a notes slot (NaN for a slot out of range). */
export function loadNote(notes: BigInt64Array, slot: number): number {
  if (!(slot >= 0 && slot < notes.length)) return Number.NaN;
  scratchBits[0] = Atomics.load(notes, slot);
  return scratch[0] ?? Number.NaN;
}

/** A plain decimal number (what `Number` accepts, less the empty string, hex, `Infinity` and the like). */
const NUMBER_ARG = /^\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i;

/** `env.arg_f64`: `args[index]` as a number, NaN when absent or not a number. */
export function argAsNumber(args: readonly string[], index: number): number {
  const arg = index >= 0 ? args[index] : undefined;
  return arg !== undefined && NUMBER_ARG.test(arg) ? Number(arg) : Number.NaN;
}

const same = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((t, i) => t === b[i]);
const signature = (t: HostFunctionType): string => `(${t.params.join(', ')}) -> (${t.results.join(', ')})`;

/**
 * Checks a module's imports against {@link HOST_IMPORTS}; throws `MXW_ERR_AGENT_SPEC` naming
 * the first that the host does not provide. Returns whether it imports any `maxwell.*`
 * protocol function (only then does the runtime connect on its behalf).
 */
export function checkHostImports(imports: readonly ModuleImport[]): { readonly usesProtocol: boolean } {
  let usesProtocol = false;
  for (const imp of imports) {
    const table: Readonly<Record<string, HostFunctionType>> | undefined = imp.module === 'env' ? HOST_IMPORTS.env : imp.module === 'maxwell' ? HOST_IMPORTS.maxwell : undefined;
    const expected = table?.[imp.name];
    if (expected === undefined) {
      const known = Object.entries(HOST_IMPORTS).flatMap(([m, fns]) => Object.keys(fns).map((n) => `${m}.${n}`)).join(', ');
      throw new AgentSpecError(`the module imports ${imp.module}.${imp.name}, which Maxwell does not provide (it provides ${known})`);
    }
    if (imp.kind !== 'function' || !same(imp.params, expected.params) || !same(imp.results, expected.results)) {
      const got = imp.kind === 'function' ? signature(imp) : `a ${imp.kind}`;
      throw new AgentSpecError(`the module imports ${imp.module}.${imp.name} as ${got}; Maxwell provides ${signature(expected)}`);
    }
    if (imp.module === 'maxwell') usesProtocol = true;
  }
  return { usesProtocol };
}
