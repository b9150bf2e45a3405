/**
 * The daemon side of the agent protocol: one Unix socket per agent (mode 0600, in a runtime
 * directory of mode 0700), authenticated by a per-agent token, delivering typed events to the
 * daemon and notices to the agent (docs/PROTOCOL.md).
 *
 * Events (a typed `EventEmitter`; none is called `error`, so an unhandled one never throws):
 * - `connect` `{ agentId }`: an agent said a good `hello` and was welcomed.
 * - `message` `{ agentId, message }`: a checked `bid`, `work` or `ping` (seq kept as sent;
 *   replay and ordering are the order book's business).
 * - `rejected` `{ agentId, code, message, authenticated }`: a connection was closed for what it
 *   sent; it got an `error` frame with `code` first.
 * - `disconnect` `{ agentId, code }`: an authenticated connection ended (`code` null when it
 *   ended cleanly).
 *
 * Nothing an agent sends can throw into the daemon: every fault closes that one connection
 * with a coded `error` frame and is counted in {@link ProtocolServer.rejections}.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { createMonotonicClock, type Clock } from '../clock/clock.js';
import { InvalidArgumentError, ProtocolClosedError, RuntimeSetupError, toError } from '../errors.js';
import {
  FrameDecoder,
  PROTOCOL_REJECTION_CODES,
  PROTOCOL_VERSION,
  TokenBucket,
  createProtocolLimits,
  encodeFrame,
  parseFrameBody,
  type FrameFault,
  type ProtocolLimits,
  type ProtocolRejectionCode,
} from './frames.js';
import { parseAgentId, type AgentId } from '../agent-id.js';
import { parseAgentMessage, parseHello, type AgentMessage, type Notice, type WelcomeMessage } from './messages.js';

/** Environment variables an agent reads to find and authenticate to its socket. */
export const AGENT_ENV = { socket: 'MAXWELL_SOCKET', token: 'MAXWELL_TOKEN', agentId: 'MAXWELL_AGENT_ID' } as const;

/** Connections per agent that may wait for `hello` at once; more are refused as busy. */
export const MAX_PENDING_CONNECTIONS = 4;
/** Time a rejected connection gets to read its `error` frame before it is destroyed, ms. */
export const REJECT_LINGER_MS = 1_000;
/** Longest Unix socket path Linux accepts (sun_path is 108 bytes with the NUL). */
const MAX_SOCKET_PATH_BYTES = 107;

/** What the daemon gives an agent process: where its socket is and how to authenticate. */
export interface AgentEndpoint {
  readonly agentId: AgentId;
  readonly socketPath: string;
  /** The per-agent secret; pass it only through the agent's environment. */
  readonly token: string;
  /** `MAXWELL_SOCKET`, `MAXWELL_TOKEN`, `MAXWELL_AGENT_ID`, ready to merge into a spawn env. */
  readonly env: Readonly<Record<string, string>>;
}

export interface ConnectEvent {
  readonly agentId: AgentId;
}
export interface MessageEvent {
  readonly agentId: AgentId;
  readonly message: AgentMessage;
}
export interface RejectedEvent {
  readonly agentId: AgentId;
  readonly code: ProtocolRejectionCode;
  readonly message: string;
  /** Whether the connection had authenticated before the fault. */
  readonly authenticated: boolean;
}
export interface DisconnectEvent {
  readonly agentId: AgentId;
  /** The rejection that closed it, or null for a clean close (either side). */
  readonly code: ProtocolRejectionCode | null;
}

/** The server's events and their payloads. */
export interface ProtocolServerEvents {
  connect: [ConnectEvent];
  message: [MessageEvent];
  rejected: [RejectedEvent];
  disconnect: [DisconnectEvent];
}

export interface ProtocolServerInit {
  /** Directory for the sockets; created with mode 0700 when absent, refused when group or others can enter it. */
  readonly runtimeDir: string;
  /** Frame, rate and queue limits (defaults in `frames.ts`). */
  readonly limits?: Partial<ProtocolLimits>;
  /** Time source of the rate limiter. @default the monotonic clock */
  readonly clock?: Clock;
}

type Counts = Record<ProtocolRejectionCode, number>;

function zeroCounts(): Counts {
  return Object.fromEntries(PROTOCOL_REJECTION_CODES.map((c) => [c, 0])) as Counts;
}

interface Connection {
  readonly socket: Socket;
  readonly decoder: FrameDecoder;
  readonly bucket: TokenBucket;
  state: 'pending' | 'open' | 'closing';
  rejectedWith: ProtocolRejectionCode | null;
  helloTimer: NodeJS.Timeout | undefined;
}

interface AgentSocket {
  readonly agentId: AgentId;
  readonly socketPath: string;
  readonly tokenDigest: Buffer;
  readonly server: Server;
  readonly connections: Set<Connection>;
  readonly rejections: Counts;
  session: Connection | null;
}

/** Re-reads the state (listeners may have changed it since the compiler last looked). */
const isOpen = (conn: Connection): boolean => conn.state === 'open';

const digest = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

/**
 * Unix-socket server of the agent protocol, one socket per agent.
 * @example
 * const server = new ProtocolServer({ runtimeDir: '/run/maxwell' })
 * server.on('message', ({ agentId, message }) => { if (message.type === 'bid') book.add(agentId, message) })
 * const endpoint = await server.addAgent('scientist-1')
 * spawn('node', ['scientist.js'], { env: { ...process.env, ...endpoint.env } })
 * server.send('scientist-1', { type: 'balance', balanceJ: 5000 })
 */
export class ProtocolServer extends EventEmitter<ProtocolServerEvents> {
  /** The limits every connection gets. */
  readonly limits: ProtocolLimits;
  readonly #runtimeDir: string;
  readonly #clock: Clock;
  readonly #agents = new Map<AgentId, AgentSocket>();
  readonly #rejections: Counts = zeroCounts();
  #dirReady: Promise<void> | undefined;
  #closed = false;

  constructor(init: ProtocolServerInit) {
    super();
    if (typeof init.runtimeDir !== 'string' || init.runtimeDir === '') throw new InvalidArgumentError('invalid runtimeDir: expected a directory path');
    this.#runtimeDir = init.runtimeDir;
    this.limits = createProtocolLimits(init.limits);
    this.#clock = init.clock ?? createMonotonicClock();
  }

  /** Connections closed for what they sent, by code, over all agents (removed agents included). */
  get rejections(): Readonly<Counts> {
    return { ...this.#rejections };
  }

  /** Rejections of one agent's connections, by code (undefined for an unknown agent). */
  rejectionsOf(agentId: AgentId): Readonly<Counts> | undefined {
    const agent = this.#agents.get(agentId);
    return agent === undefined ? undefined : { ...agent.rejections };
  }

  /** Agents with a socket. */
  get agents(): readonly string[] {
    return [...this.#agents.keys()];
  }

  /** Whether the agent has an authenticated connection now. */
  isConnected(agentId: AgentId): boolean {
    const session = this.#agents.get(agentId)?.session;
    return session !== undefined && session !== null && session.state === 'open';
  }

  /**
   * Opens the agent's socket (`<runtimeDir>/<agentId>.sock`, mode 0600) and returns what its
   * process needs. `token` defaults to 32 random bytes (base64url). A stale socket file left
   * by a crash is replaced; any other file at that path is refused.
   */
  async addAgent(agentId: AgentId, options: { token?: string } = {}): Promise<AgentEndpoint> {
    if (this.#closed) throw new ProtocolClosedError('the protocol server is closed');
    // Checked again although typed: a cast can skip the edge, and the id becomes a file name.
    parseAgentId(agentId);
    if (this.#agents.has(agentId)) throw new InvalidArgumentError(`agent ${agentId} already has a socket`);
    const token = options.token ?? randomBytes(32).toString('base64url');
    if (token.length === 0 || token.length > 256) throw new InvalidArgumentError('invalid token: 1 to 256 characters');
    const socketPath = join(this.#runtimeDir, `${agentId}.sock`);
    if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
      throw new InvalidArgumentError(`socket path ${socketPath} is longer than ${MAX_SOCKET_PATH_BYTES} bytes; use a shorter runtimeDir`);
    }
    this.#dirReady ??= this.#prepareDir();
    await this.#dirReady;
    await removeStaleSocket(socketPath);

    const server = createServer({ allowHalfOpen: true, pauseOnConnect: false });
    const agent: AgentSocket = { agentId, socketPath, tokenDigest: digest(token), server, connections: new Set(), rejections: zeroCounts(), session: null };
    // Reserve the id before awaiting, so a concurrent addAgent with the same id fails.
    this.#agents.set(agentId, agent);
    server.on('connection', (socket) => { this.#accept(agent, socket); });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(socketPath, () => {
          server.off('error', reject);
          resolve();
        });
      });
      // The directory is 0700, so the moment between listen and chmod exposes nothing.
      await chmod(socketPath, 0o600);
    } catch (err) {
      this.#agents.delete(agentId);
      server.close();
      throw new RuntimeSetupError(`cannot listen on ${socketPath}: ${toError(err).message}`, { cause: err });
    }
    // A listener error after start (rare: the fd is gone) must not crash the daemon.
    server.on('error', () => undefined);
    const env = { [AGENT_ENV.socket]: socketPath, [AGENT_ENV.token]: token, [AGENT_ENV.agentId]: agentId };
    return { agentId, socketPath, token, env };
  }

  /**
   * Sends a notice to the agent. Returns false when the agent has no open connection, or when
   * it has stopped reading (its connection is then closed with `MXW_ERR_PROTOCOL_SLOW_READER`).
   * Throws `MXW_ERR_PROTOCOL_FRAME_TOO_LARGE` for a notice above the frame limit (a daemon bug).
   */
  send(agentId: AgentId, notice: Notice): boolean {
    const session = this.#agents.get(agentId)?.session;
    if (session === undefined || session === null || session.state !== 'open') return false;
    return this.#write(this.#agents.get(agentId) as AgentSocket, session, encodeFrame(notice, this.limits.maxFrameBytes));
  }

  /** Closes the agent's connection and socket and removes the socket file. */
  async removeAgent(agentId: AgentId): Promise<void> {
    const agent = this.#agents.get(agentId);
    if (agent === undefined) return;
    this.#agents.delete(agentId);
    const closed = new Promise<void>((resolve) => agent.server.close(() => { resolve(); }));
    for (const conn of agent.connections) {
      conn.state = 'closing';
      clearTimeout(conn.helloTimer);
      conn.socket.end();
      // The agent may not close its side; do not let it hold the daemon's shutdown.
      setTimeout(() => conn.socket.destroy(), 100).unref();
    }
    await closed;
    await unlink(agent.socketPath).catch(() => undefined);
  }

  /** Removes every agent; later `addAgent` calls fail. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#agents.keys()].map((id) => this.removeAgent(id)));
  }

  async #prepareDir(): Promise<void> {
    try {
      await mkdir(this.#runtimeDir, { recursive: true, mode: 0o700 });
      const st = await lstat(this.#runtimeDir);
      if (!st.isDirectory()) throw new InvalidArgumentError(`runtimeDir ${this.#runtimeDir} is not a directory`);
      if ((st.mode & 0o077) !== 0) throw new InvalidArgumentError(`runtimeDir ${this.#runtimeDir} is open to group or others (mode ${(st.mode & 0o777).toString(8)}); use a directory of mode 0700`);
    } catch (err) {
      this.#dirReady = undefined;
      if (err instanceof InvalidArgumentError) throw err;
      throw new RuntimeSetupError(`cannot prepare runtimeDir ${this.#runtimeDir}: ${toError(err).message}`, { cause: err });
    }
  }

  #accept(agent: AgentSocket, socket: Socket): void {
    const conn: Connection = {
      socket,
      decoder: new FrameDecoder(this.limits.maxFrameBytes),
      bucket: new TokenBucket(this.limits.framesPerS, this.limits.burstFrames, () => this.#clock.now()),
      state: 'pending',
      rejectedWith: null,
      helloTimer: undefined,
    };
    // Errors (EPIPE, ECONNRESET) end in 'close', which does the bookkeeping.
    socket.on('error', () => undefined);
    socket.on('close', () => { this.#closedConnection(agent, conn); });
    agent.connections.add(conn);
    let pending = 0;
    for (const c of agent.connections) if (c.state === 'pending') pending++;
    if (!agent.server.listening || pending > MAX_PENDING_CONNECTIONS) {
      this.#reject(agent, conn, { code: 'MXW_ERR_PROTOCOL_BUSY', message: `more than ${MAX_PENDING_CONNECTIONS} connections are waiting for hello` });
      return;
    }
    conn.helloTimer = setTimeout(() => {
      this.#reject(agent, conn, { code: 'MXW_ERR_PROTOCOL_UNAUTHENTICATED', message: `no hello within ${this.limits.helloTimeoutMs} ms` });
    }, this.limits.helloTimeoutMs);
    conn.helloTimer.unref();
    socket.on('data', (chunk: Buffer) => { this.#onData(agent, conn, chunk); });
    socket.on('end', () => {
      if (conn.state === 'closing') return;
      const fault = conn.decoder.end();
      if (fault !== null) this.#reject(agent, conn, fault);
      else {
        conn.state = 'closing';
        socket.end();
      }
    });
  }

  #onData(agent: AgentSocket, conn: Connection, chunk: Buffer): void {
    if (conn.state === 'closing') return;
    const decoded = conn.decoder.push(chunk);
    if (!decoded.ok) {
      this.#reject(agent, conn, decoded.fault);
      return;
    }
    for (const body of decoded.frames) {
      // Rate first: a flood is refused before any of it is parsed.
      if (!conn.bucket.take()) {
        this.#reject(agent, conn, { code: 'MXW_ERR_PROTOCOL_RATE_LIMIT', message: `more than ${this.limits.framesPerS} frames/s (burst ${this.limits.burstFrames})` });
        return;
      }
      const json = parseFrameBody(body);
      if (!json.ok) {
        this.#reject(agent, conn, json.fault);
        return;
      }
      if (conn.state === 'pending') {
        if (!this.#hello(agent, conn, json.value)) return;
        continue;
      }
      const parsed = parseAgentMessage(json.value);
      if (!parsed.ok) {
        this.#reject(agent, conn, parsed.fault);
        return;
      }
      const message = parsed.message;
      if (message.type === 'ping') {
        this.#write(agent, conn, encodeFrame(message.nonce === undefined ? { type: 'pong' } : { type: 'pong', nonce: message.nonce }, this.limits.maxFrameBytes));
      }
      this.emit('message', { agentId: agent.agentId, message });
      // A listener may have removed the agent or the connection may have been closed.
      if (!isOpen(conn)) return;
    }
  }

  /** Handles the first frame; false when the connection was rejected. */
  #hello(agent: AgentSocket, conn: Connection, value: unknown): boolean {
    const hello = parseHello(value);
    if (!hello.ok) {
      this.#reject(agent, conn, hello.fault);
      return false;
    }
    const { protocol, agentId, token } = hello.message;
    if (protocol !== PROTOCOL_VERSION) {
      this.#reject(agent, conn, { code: 'MXW_ERR_PROTOCOL_VERSION', message: `protocol ${protocol} is not spoken here; this daemon speaks ${PROTOCOL_VERSION}` });
      return false;
    }
    // Digests have equal length, so the comparison time does not depend on the token's length either.
    const tokenOk = timingSafeEqual(digest(token), agent.tokenDigest);
    if (!tokenOk || agentId !== agent.agentId) {
      this.#reject(agent, conn, { code: 'MXW_ERR_PROTOCOL_AUTH', message: 'wrong agent id or token' });
      return false;
    }
    if (agent.session !== null) {
      this.#reject(agent, conn, { code: 'MXW_ERR_PROTOCOL_BUSY', message: `agent ${agent.agentId} is already connected` });
      return false;
    }
    clearTimeout(conn.helloTimer);
    conn.state = 'open';
    agent.session = conn;
    const welcome: WelcomeMessage = {
      type: 'welcome',
      protocol: PROTOCOL_VERSION,
      agentId: agent.agentId,
      maxFrameBytes: this.limits.maxFrameBytes,
      framesPerS: this.limits.framesPerS,
      burstFrames: this.limits.burstFrames,
    };
    if (!this.#write(agent, conn, encodeFrame(welcome, this.limits.maxFrameBytes))) return false;
    this.emit('connect', { agentId: agent.agentId });
    return isOpen(conn);
  }

  #write(agent: AgentSocket, conn: Connection, frame: Buffer): boolean {
    if (conn.socket.writableLength + frame.length > this.limits.maxQueuedBytes) {
      this.#reject(agent, conn, { code: 'MXW_ERR_PROTOCOL_SLOW_READER', message: `more than ${this.limits.maxQueuedBytes} bytes of notices unread` });
      return false;
    }
    conn.socket.write(frame);
    return true;
  }

  /** Closes one connection for what it sent: count, tell the consumer, send the coded error, end. */
  #reject(agent: AgentSocket, conn: Connection, fault: FrameFault): void {
    if (conn.state === 'closing') return;
    const authenticated = conn.state === 'open';
    conn.state = 'closing';
    conn.rejectedWith = fault.code;
    clearTimeout(conn.helloTimer);
    this.#rejections[fault.code]++;
    agent.rejections[fault.code]++;
    // Whatever else the peer sends is read and dropped until the socket goes.
    conn.socket.removeAllListeners('data');
    conn.socket.resume();
    conn.socket.end(encodeFrame({ type: 'error', code: fault.code, message: fault.message }, this.limits.maxFrameBytes));
    setTimeout(() => conn.socket.destroy(), REJECT_LINGER_MS).unref();
    this.emit('rejected', { agentId: agent.agentId, code: fault.code, message: fault.message, authenticated });
  }

  #closedConnection(agent: AgentSocket, conn: Connection): void {
    clearTimeout(conn.helloTimer);
    agent.connections.delete(conn);
    conn.state = 'closing';
    if (agent.session === conn) {
      agent.session = null;
      this.emit('disconnect', { agentId: agent.agentId, code: conn.rejectedWith });
    }
  }
}

async function removeStaleSocket(path: string): Promise<void> {
  let st;
  try {
    st = await lstat(path);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new InvalidArgumentError(`${path} exists and is not a socket; refusing to replace it`);
  await unlink(path);
}
