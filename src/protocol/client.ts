/**
 * The agent side of the agent protocol: a small client so that an agent is a few lines.
 *
 * It loads only Node built-ins, `frames.ts` and the error catalogue (no zod, no daemon code),
 * paces itself to the limits the daemon announces in `welcome` so that it is never closed
 * for flooding, and splits prime reports into frames that fit.
 *
 * Events: one per daemon notice, named by its type — `grant`, `pause`, `resume`, `price`,
 * `apoptosis`, `balance`, `result`, `pong`, and for inference servers `infer`, `challenge`, `verdict` — and `close` `{ error }` once, when the connection
 * ends (`error` is the daemon's coded `error` frame as a `MaxwellError`, or null). No event is
 * called `error`, so an agent that listens to nothing is never crashed by one.
 *
 * @example
 * const c = await connectMaxwell() // MAXWELL_SOCKET, MAXWELL_TOKEN, MAXWELL_AGENT_ID
 * c.on('grant', (g) => console.log('won', g.quanta, 'quanta on plane', g.plane))
 * c.on('apoptosis', () => process.exit(0))
 * await c.bid({ pricePerQuantumJ: 0.002 })
 * await c.reportPrimes([100n, 200n], [101n, 103n, 107n])
 */
import { EventEmitter } from 'node:events';
import { createConnection, type Socket } from 'node:net';
import { ERROR_CODES, MaxwellError, ProtocolClosedError, ProtocolConnectError, ProtocolSchemaError, type MaxwellErrorCode } from '../errors.js';
import { FrameDecoder, PROTOCOL_VERSION, TokenBucket, encodeFrame, float32ToBase64, isU64Decimal, parseFrameBody } from './frames.js';
import type {
  ApoptosisMessage,
  BalanceMessage,
  ChallengeMessage,
  InferMessage,
  VerdictMessage,
  DaemonMessage,
  GrantMessage,
  PauseMessage,
  PingMessage,
  PongMessage,
  PriceMessage,
  ResultMessage,
  ResumeMessage,
  WelcomeMessage,
} from './messages.js';
import type { InferenceClaim } from '../verification/inference/claim.js';

/** Default time to wait for `welcome`, ms. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
/**
 * The client sends at this fraction of the announced rate, so that timer jitter and the
 * transit of frames never make it look faster than the limit to the daemon, and bursts at most
 * this fraction of the announced depth (rounded down, at least 1 frame). The second half matters
 * when the daemon reads late (its loop stalled): frames the client sent apart then reach its
 * bucket together, and a bucket that was full wasted the refill meanwhile. The spare tenth of
 * the depth covers `burstFrames` × 0.1 ÷ the paced rate of such lag: 0.22 s at the defaults.
 */
const RATE_MARGIN = 0.9;
/** Largest frame the client accepts from the daemon, bytes (the daemon is trusted, but bounded). */
const MAX_INCOMING_FRAME_BYTES = 16 * 1_048_576;
/** Frame bytes kept free for everything in a `work` frame but its primes. */
const WORK_OVERHEAD_BYTES = 160;

export interface ConnectOptions {
  /** @default env.MAXWELL_SOCKET */
  readonly socketPath?: string;
  /** @default env.MAXWELL_TOKEN */
  readonly token?: string;
  /** @default env.MAXWELL_AGENT_ID */
  readonly agentId?: string;
  /** Where the defaults come from. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Time to wait for `welcome`, ms. @default 5000 */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** What an agent bids (the client adds `type` and `seq`). */
export interface BidRequest {
  /** Price offered per 10 ms quantum, J. */
  readonly pricePerQuantumJ: number;
  /** Most the agent will spend, J (undefined: its whole wallet). */
  readonly budgetJ?: number;
  /** The market: `cpu` (default) or `gpu`. */
  readonly plane?: 'cpu' | 'gpu';
}

/** What {@link MaxwellClient.claim} sends: a proof-of-inference claim (docs/VERIFICATION.md). */
export type InferenceClaimFrame = InferenceClaim;

/** An integer as bigint, safe-integer number, or decimal string. */
export type IntegerLike = bigint | number | string;

/** The client's events and their payloads. */
export interface MaxwellClientEvents {
  grant: [GrantMessage];
  pause: [PauseMessage];
  resume: [ResumeMessage];
  price: [PriceMessage];
  apoptosis: [ApoptosisMessage];
  balance: [BalanceMessage];
  result: [ResultMessage];
  pong: [PongMessage];
  infer: [InferMessage];
  challenge: [ChallengeMessage];
  verdict: [VerdictMessage];
  close: [{ readonly error: MaxwellError | null }];
}

interface Outgoing {
  readonly frame: Buffer;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

/** A connected, authenticated agent. Create it with {@link connectMaxwell}. */
export class MaxwellClient extends EventEmitter<MaxwellClientEvents> {
  /** This agent's id, as the daemon welcomed it. */
  readonly agentId: string;
  /** The limits the daemon announced. */
  readonly limits: { readonly maxFrameBytes: number; readonly framesPerS: number; readonly burstFrames: number };
  readonly #socket: Socket;
  readonly #bucket: TokenBucket;
  readonly #queue: Outgoing[] = [];
  #seq = 0;
  #pumping = false;
  #idleWaiters: (() => void)[] = [];
  #closed = false;

  /** @internal Use {@link connectMaxwell}; `early` are frames that came with the welcome. */
  constructor(socket: Socket, decoder: FrameDecoder, welcome: WelcomeMessage, bucket: TokenBucket, early: readonly Buffer[]) {
    super();
    this.#socket = socket;
    this.#bucket = bucket;
    this.agentId = welcome.agentId;
    this.limits = { maxFrameBytes: welcome.maxFrameBytes, framesPerS: welcome.framesPerS, burstFrames: welcome.burstFrames };
    socket.on('data', (chunk: Buffer) => { this.#onData(decoder, chunk); });
    socket.on('error', () => undefined);
    socket.on('close', () => { this.#finish(null); });
    // Delivered after the caller of connectMaxwell has had a chance to add listeners.
    if (early.length > 0) setImmediate(() => { this.#deliver(early); });
  }

  /** True once the connection has ended. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The last sequence number used (0 before the first `bid` or `work`). */
  get seq(): number {
    return this.#seq;
  }

  /** Sends a bid; resolves with its `seq` once written (the outcome comes as a `result` event). */
  async bid(request: BidRequest): Promise<number> {
    const seq = ++this.#seq;
    const message: Record<string, unknown> = { type: 'bid', seq, pricePerQuantumJ: request.pricePerQuantumJ };
    if (request.budgetJ !== undefined) message['budgetJ'] = request.budgetJ;
    if (request.plane !== undefined) message['plane'] = request.plane;
    await this.#send(message);
    return seq;
  }

  /**
   * Reports the primes found in `[range[0], range[1])`. Primes are sorted, written as decimal
   * strings, and split into as many `work` frames as the frame limit needs; each frame claims
   * the sub-range its primes cover, so the pieces tile the range. Resolves with the frames'
   * seqs once all are written (outcomes come as `result` events).
   */
  async reportPrimes(range: readonly [IntegerLike, IntegerLike], primes: Iterable<IntegerLike>): Promise<number[]> {
    const lo = decimal(range[0], 'range[0]');
    const hi = decimal(range[1], 'range[1]');
    const sorted = Array.from(primes, (p) => decimal(p, 'prime')).sort(compareDecimal);
    // Sub-ranges tile [lo, hi) only when the primes are distinct and inside it; otherwise every
    // piece claims the whole range and the oracle sorts out what is wrong with the claim.
    let exact = sorted.length === 0 || (compareDecimal(lo, sorted[0] as string) <= 0 && compareDecimal(sorted[sorted.length - 1] as string, hi) < 0);
    for (let i = 1; exact && i < sorted.length; i++) if (compareDecimal(sorted[i - 1] as string, sorted[i] as string) >= 0) exact = false;
    const budget = this.limits.maxFrameBytes - WORK_OVERHEAD_BYTES - 2 * hi.length;
    const pieces: string[][] = [];
    let piece: string[] = [];
    let bytes = 0;
    for (const p of sorted) {
      if (bytes + p.length + 3 > budget && piece.length > 0) {
        pieces.push(piece);
        piece = [];
        bytes = 0;
      }
      piece.push(p);
      bytes += p.length + 3;
    }
    pieces.push(piece);
    const sends: Promise<void>[] = [];
    const seqs: number[] = [];
    for (let i = 0; i < pieces.length; i++) {
      const from = !exact || i === 0 ? lo : (pieces[i]?.[0] as string);
      const to = !exact || i === pieces.length - 1 ? hi : (pieces[i + 1]?.[0] as string);
      const seq = ++this.#seq;
      seqs.push(seq);
      sends.push(this.#send({ type: 'work', seq, kind: 'primes', range: [from, to], primes: pieces[i] }));
    }
    await Promise.all(sends);
    return seqs;
  }

  /** Says this agent serves inference for the model with this SHA-256 (the answer is a `result` for the seq returned). */
  async serve(modelSha256: string): Promise<number> {
    const seq = ++this.#seq;
    await this.#send({ type: 'serve', seq, modelSha256 });
    return seq;
  }

  /** Token `index` of request `requestId` is out (send it as each token is produced: the daemon times them). */
  async token(requestId: number, index: number): Promise<void> {
    await this.#send({ type: 'token', requestId, index });
  }

  /** The claim for a request: its commitments, tokens and the logits of every step (float32, `vocab` values a row). */
  async claim(claim: InferenceClaimFrame): Promise<void> {
    const rows = claim.logits;
    const width = rows[0]?.length ?? 0;
    const all = new Float32Array(rows.length * width);
    rows.forEach((row, i) => { all.set(row, i * width); });
    await this.#send({ type: 'claim', requestId: claim.requestId, modelSha256: claim.modelSha256, inputCommitment: claim.inputCommitment, tokens: claim.tokens, logits: float32ToBase64(all), outputCommitment: claim.outputCommitment, spotCommitments: claim.spotCommitments });
  }

  /** Opens one committed tensor after a `challenge`; `null` says the agent cannot open it. */
  async reveal(requestId: number, name: string, tensor: { readonly rows: number; readonly cols: number; readonly data: Float32Array } | null): Promise<void> {
    await this.#send(tensor === null ? { type: 'reveal', requestId, name, rows: 0, cols: 0, data: '' } : { type: 'reveal', requestId, name, rows: tensor.rows, cols: tensor.cols, data: float32ToBase64(tensor.data) });
  }

  /** Sends `ping`; the daemon answers with a `pong` event carrying the same nonce. */
  async ping(nonce?: string): Promise<void> {
    const message: PingMessage = nonce === undefined ? { type: 'ping' } : { type: 'ping', nonce };
    await this.#send(message);
  }

  /** Ends the connection after queued frames are written; resolves when it is closed. */
  async close(): Promise<void> {
    if (this.#closed) return;
    const closed = new Promise<void>((resolve) => this.once('close', () => { resolve(); }));
    if (this.#pumping || this.#queue.length > 0) await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
    this.#socket.end();
    await closed;
  }

  #send(message: object): Promise<void> {
    if (this.#closed) return Promise.reject(new ProtocolClosedError('the connection to Maxwell is closed'));
    const frame = encodeFrame(message, this.limits.maxFrameBytes);
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ frame, resolve, reject });
      void this.#pump();
    });
  }

  /** Writes queued frames in order, waiting for tokens and for the socket to drain. */
  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        const wait = this.#bucket.waitS();
        if (wait > 0) {
          await new Promise((r) => setTimeout(r, Math.ceil(wait * 1000)));
          continue;
        }
        const out = this.#queue.shift() as Outgoing;
        this.#bucket.take();
        const flushed = this.#socket.write(out.frame);
        out.resolve();
        if (!flushed && !this.closed) await this.#drained();
      }
    } finally {
      this.#pumping = false;
      for (const wake of this.#idleWaiters.splice(0)) wake();
    }
  }

  /** Resolves on `drain` or `close`, removing both listeners either way. */
  #drained(): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        this.#socket.off('drain', done);
        this.#socket.off('close', done);
        resolve();
      };
      this.#socket.on('drain', done);
      this.#socket.on('close', done);
    });
  }

  #onData(decoder: FrameDecoder, chunk: Buffer): void {
    const decoded = decoder.push(chunk);
    if (!decoded.ok) {
      this.#fail(new ProtocolSchemaError(`from the daemon: ${decoded.fault.message}`));
      return;
    }
    this.#deliver(decoded.frames);
  }

  #deliver(frames: readonly Buffer[]): void {
    for (const body of frames) {
      if (this.#closed) return;
      const json = parseFrameBody(body);
      const message = json.ok ? checkDaemonMessage(json.value) : null;
      if (message === null) {
        this.#fail(new ProtocolSchemaError('the daemon sent a message this client does not understand'));
        return;
      }
      switch (message.type) {
        case 'error':
          this.#fail(remoteError(message.code, message.message));
          return;
        case 'welcome':
          break; // only once, during connect
        case 'grant':
          this.emit('grant', message);
          break;
        case 'pause':
          this.emit('pause', message);
          break;
        case 'resume':
          this.emit('resume', message);
          break;
        case 'price':
          this.emit('price', message);
          break;
        case 'apoptosis':
          this.emit('apoptosis', message);
          break;
        case 'balance':
          this.emit('balance', message);
          break;
        case 'result':
          this.emit('result', message);
          break;
        case 'pong':
          this.emit('pong', message);
          break;
        case 'infer':
          this.emit('infer', message);
          break;
        case 'challenge':
          this.emit('challenge', message);
          break;
        case 'verdict':
          this.emit('verdict', message);
          break;
      }
    }
  }

  #fail(error: MaxwellError): void {
    this.#socket.destroy();
    this.#finish(error);
  }

  #finish(error: MaxwellError | null): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const wake of this.#idleWaiters.splice(0)) wake();
    for (const out of this.#queue.splice(0)) out.reject(new ProtocolClosedError('the connection to Maxwell closed before this frame was sent', { cause: error ?? undefined }));
    this.emit('close', { error });
  }
}

/**
 * Connects to Maxwell and authenticates; resolves once the daemon has welcomed the agent.
 * Rejects with `MXW_ERR_PROTOCOL_CONNECT` when the socket is unset, missing or refused, and
 * with the daemon's code (e.g. `MXW_ERR_PROTOCOL_AUTH`) when it refuses the `hello`.
 */
export function connectMaxwell(options: ConnectOptions = {}): Promise<MaxwellClient> {
  const env = options.env ?? process.env;
  const socketPath = options.socketPath ?? env['MAXWELL_SOCKET'];
  const token = options.token ?? env['MAXWELL_TOKEN'];
  const agentId = options.agentId ?? env['MAXWELL_AGENT_ID'];
  if (socketPath === undefined || socketPath === '') return Promise.reject(new ProtocolConnectError('MAXWELL_SOCKET is not set: not running under Maxwell'));
  if (token === undefined || token === '' || agentId === undefined || agentId === '') return Promise.reject(new ProtocolConnectError('MAXWELL_TOKEN and MAXWELL_AGENT_ID must be set along with MAXWELL_SOCKET'));
  const timeoutMs = options.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  return new Promise<MaxwellClient>((resolve, reject) => {
    const socket = createConnection(socketPath);
    const decoder = new FrameDecoder(MAX_INCOMING_FRAME_BYTES);
    let settled = false;
    const fail = (err: MaxwellError): void => {
      if (settled) return;
      settled = true;
      cleanup();
      socket.destroy();
      reject(err);
    };
    const timer = setTimeout(() => { fail(new ProtocolConnectError(`no welcome from ${socketPath} within ${timeoutMs} ms`)); }, timeoutMs);
    const onAbort = (): void => { fail(new ProtocolConnectError('connect aborted', { cause: options.signal?.reason })); };
    const onError = (err: Error): void => { fail(new ProtocolConnectError(`cannot connect to ${socketPath}: ${err.message}`, { cause: err })); };
    const onClose = (): void => { fail(new ProtocolConnectError(`${socketPath} closed the connection before welcome`)); };
    const onData = (chunk: Buffer): void => {
      const decoded = decoder.push(chunk);
      if (!decoded.ok) {
        fail(new ProtocolConnectError(`bad frame from the daemon: ${decoded.fault.message}`));
        return;
      }
      const first = decoded.frames[0];
      if (first === undefined) return;
      const json = parseFrameBody(first);
      const message = json.ok ? checkDaemonMessage(json.value) : null;
      if (message?.type === 'error') {
        fail(remoteError(message.code, message.message));
        return;
      }
      if (message?.type !== 'welcome') {
        fail(new ProtocolConnectError('the daemon did not answer hello with welcome'));
        return;
      }
      settled = true;
      cleanup();
      const bucket = new TokenBucket(message.framesPerS * RATE_MARGIN, Math.max(1, Math.floor(message.burstFrames * RATE_MARGIN)), () => performance.now() / 1000);
      bucket.take(); // the hello
      // The same decoder goes on: it may hold the start of the next frame.
      resolve(new MaxwellClient(socket, decoder, message, bucket, decoded.frames.slice(1)));
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      socket.off('error', onError);
      socket.off('close', onClose);
      socket.off('data', onData);
    };
    if (options.signal?.aborted === true) {
      onAbort();
      return;
    }
    options.signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.on('data', onData);
    socket.once('connect', () => {
      socket.write(encodeFrame({ type: 'hello', protocol: PROTOCOL_VERSION, agentId, token }));
    });
  });
}

function remoteError(code: string, message: string): MaxwellError {
  const known = (ERROR_CODES as readonly string[]).includes(code);
  return known ? new MaxwellError(code as MaxwellErrorCode, `Maxwell closed the connection: ${message}`) : new ProtocolClosedError(`Maxwell closed the connection: ${code}: ${message}`);
}

function decimal(value: IntegerLike, name: string): string {
  let s: string;
  if (typeof value === 'bigint') s = value.toString();
  else if (typeof value === 'number') s = Number.isSafeInteger(value) ? String(value) : '';
  else s = value;
  if (!isU64Decimal(s)) throw new ProtocolSchemaError(`${name} must be an unsigned 64-bit integer, got ${String(value)}`);
  return s;
}

/** Numeric order of canonical decimal strings without bigint: shorter is smaller. */
function compareDecimal(a: string, b: string): number {
  return a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0;
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const optNum = (v: unknown): boolean => v === undefined || isNum(v);

/** A light check of what the daemon sends (the daemon is trusted; this catches version skew). */
export function checkDaemonMessage(value: unknown): DaemonMessage | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const m = value as Record<string, unknown>;
  let ok: boolean;
  switch (m['type']) {
    case 'welcome':
      ok = isNum(m['protocol']) && typeof m['agentId'] === 'string' && isNum(m['maxFrameBytes']) && m['maxFrameBytes'] > 0 && isNum(m['framesPerS']) && m['framesPerS'] > 0 && isNum(m['burstFrames']) && m['burstFrames'] >= 1;
      break;
    case 'grant':
      ok = isNum(m['tick']) && isNum(m['plane']) && isNum(m['quanta']) && isNum(m['paidJ']);
      break;
    case 'pause':
      ok = optNum(m['tick']) && (m['reason'] === undefined || typeof m['reason'] === 'string');
      break;
    case 'resume':
      ok = optNum(m['tick']);
      break;
    case 'price':
      ok = isNum(m['tick']) && Array.isArray(m['reservePerPlane']) && m['reservePerPlane'].every(isNum);
      break;
    case 'apoptosis':
      ok = isNum(m['graceMs']) && isNum(m['balanceJ']);
      break;
    case 'balance':
      ok = isNum(m['balanceJ']);
      break;
    case 'result':
      ok = isNum(m['seq']) && typeof m['outcome'] === 'string' && optNum(m['incomeJ']) && (m['counts'] === undefined || (typeof m['counts'] === 'object' && m['counts'] !== null));
      break;
    case 'error':
      ok = typeof m['code'] === 'string' && typeof m['message'] === 'string';
      break;
    case 'pong':
      ok = m['nonce'] === undefined || typeof m['nonce'] === 'string';
      break;
    case 'infer':
      ok = isNum(m['requestId']) && isNum(m['maxNewTokens']) && Array.isArray(m['prompt']) && m['prompt'].every(isNum);
      break;
    case 'challenge':
      ok = isNum(m['requestId']) && Array.isArray(m['names']) && m['names'].every((n) => typeof n === 'string');
      break;
    case 'verdict':
      ok = isNum(m['requestId']) && typeof m['outcome'] === 'string' && isNum(m['incomeJ']) && Array.isArray(m['failedLayers']);
      break;
    default:
      ok = false;
  }
  return ok ? (value as DaemonMessage) : null;
}
