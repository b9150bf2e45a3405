/**
 * The main thread's end of a WASM agent's protocol link: a plain client connection to the
 * agent's Unix socket (`MAXWELL_SOCKET`), fed with the frame bytes the worker posts over a
 * `MessagePort` (protocol-imports.ts), written unchanged and in order. The daemon's
 * `ProtocolServer` therefore sees a WASM agent exactly as it sees a process: the same `hello`,
 * token check, frame limit, rate limit and coded rejections.
 *
 * The other way, it decodes the daemon's frames and publishes what a module can ask about —
 * the connection state, the announced frame limit, the last balance and reserve prices — in
 * the shared {@link LinkBlock}, which the worker reads without a message round trip (the
 * module runs synchronously, so the worker cannot take messages while it runs).
 */
import { connect, type Socket } from 'node:net';
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { FrameDecoder, parseFrameBody } from '../../protocol/frames.js';
import { LINK_BACKLOG, LINK_MAX_FRAME, LINK_STATE, MAX_PRICED_PLANES, NOTE_APOPTOSIS, NOTE_BALANCE, NOTE_PRICE, WASM_LINK_STATE, storeNote, type LinkBlock } from './host-abi.js';

/** Largest frame accepted from the daemon, bytes (the daemon is trusted, but bounded; as the client). */
const MAX_INCOMING_FRAME_BYTES = 16 * 1_048_576;
/** Time the daemon gets to read the last frames after the agent ended, ms. */
const END_LINGER_MS = 1_000;

/** What the runtime reports about an agent's link. */
export interface LinkInfo {
  readonly state: 'none' | 'connecting' | 'open' | 'closed';
  /** The code of the daemon's `error` frame that closed it (e.g. `MXW_ERR_PROTOCOL_AUTH`), else null. */
  readonly closeCode: string | null;
  /** Frames written to the socket (hello included). */
  readonly framesSent: number;
  /** Frames received from the daemon (welcome included). */
  readonly framesReceived: number;
}

const STATE_NAMES = ['none', 'connecting', 'open', 'closed'] as const;

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

export class ProtocolBridge {
  readonly #port: MessagePort;
  readonly #block: LinkBlock;
  readonly #socket: Socket;
  readonly #decoder = new FrameDecoder(MAX_INCOMING_FRAME_BYTES);
  #closeCode: string | null = null;
  #framesSent = 0;
  #framesReceived = 0;
  #ended = false;

  constructor(socketPath: string, port: MessagePort, block: LinkBlock) {
    this.#port = port;
    this.#block = block;
    Atomics.store(block.ints, LINK_STATE, WASM_LINK_STATE.CONNECTING);
    this.#socket = connect(socketPath);
    // Connection errors (ENOENT, ECONNREFUSED, EPIPE) all end in 'close'.
    this.#socket.on('error', () => undefined);
    this.#socket.on('close', () => { this.#markClosed(); });
    this.#socket.on('data', (chunk: Buffer) => { this.#onData(chunk); });
    port.on('message', (frame: unknown) => { this.#relay(frame); });
  }

  get info(): LinkInfo {
    return {
      state: STATE_NAMES[Atomics.load(this.#block.ints, LINK_STATE)] ?? 'closed',
      closeCode: this.#closeCode,
      framesSent: this.#framesSent,
      framesReceived: this.#framesReceived,
    };
  }

  /**
   * The agent has ended: relays the frames it posted before that (still queued on the port),
   * then ends the connection, which the daemon sees as a clean close.
   */
  end(): void {
    if (this.#ended) return;
    for (let m = receiveMessageOnPort(this.#port); m !== undefined; m = receiveMessageOnPort(this.#port)) this.#relay(m.message);
    this.#ended = true;
    this.#port.close();
    this.#socket.end();
    setTimeout(() => this.#socket.destroy(), END_LINGER_MS).unref();
    this.#markClosed();
  }

  #relay(frame: unknown): void {
    if (!(frame instanceof Uint8Array)) return;
    const done = (): void => { Atomics.sub(this.#block.ints, LINK_BACKLOG, frame.byteLength); };
    if (this.#ended || this.#socket.destroyed || !this.#socket.writable || Atomics.load(this.#block.ints, LINK_STATE) === WASM_LINK_STATE.CLOSED) {
      done();
      return;
    }
    this.#framesSent++;
    // The callback runs once the bytes are flushed to the kernel, or with an error when the
    // socket dies first: either way they no longer count against the backlog.
    this.#socket.write(frame, done);
  }

  #onData(chunk: Buffer): void {
    const decoded = this.#decoder.push(chunk);
    if (!decoded.ok) {
      this.#socket.destroy();
      return;
    }
    for (const body of decoded.frames) {
      this.#framesReceived++;
      const parsed = parseFrameBody(body);
      if (parsed.ok && typeof parsed.value === 'object' && parsed.value !== null) this.#notice(parsed.value as Record<string, unknown>);
    }
  }

  /** Publishes what a module may read; other notices (grant, pause, result, …) are not exposed yet. */
  #notice(m: Record<string, unknown>): void {
    const { ints, notes } = this.#block;
    switch (m['type']) {
      case 'welcome':
        if (isNumber(m['maxFrameBytes'])) Atomics.store(ints, LINK_MAX_FRAME, Math.min(m['maxFrameBytes'], 0x7fff_ffff));
        if (Atomics.load(ints, LINK_STATE) === WASM_LINK_STATE.CONNECTING) Atomics.store(ints, LINK_STATE, WASM_LINK_STATE.OPEN);
        break;
      case 'balance':
        if (isNumber(m['balanceJ'])) storeNote(notes, NOTE_BALANCE, m['balanceJ']);
        break;
      case 'apoptosis':
        if (isNumber(m['balanceJ'])) storeNote(notes, NOTE_BALANCE, m['balanceJ']);
        storeNote(notes, NOTE_APOPTOSIS, isNumber(m['graceMs']) ? m['graceMs'] : 0);
        break;
      case 'price': {
        const reserves = m['reservePerPlane'];
        if (!Array.isArray(reserves)) break;
        for (let p = 0; p < Math.min(reserves.length, MAX_PRICED_PLANES); p++) {
          const v: unknown = reserves[p];
          storeNote(notes, NOTE_PRICE + p, isNumber(v) ? v : Number.NaN);
        }
        break;
      }
      case 'error':
        // The daemon closes the connection after this frame; calls fail from now on.
        this.#closeCode = typeof m['code'] === 'string' ? m['code'] : 'unknown';
        this.#markClosed();
        break;
      default:
        break;
    }
  }

  #markClosed(): void {
    Atomics.store(this.#block.ints, LINK_STATE, WASM_LINK_STATE.CLOSED);
  }
}
