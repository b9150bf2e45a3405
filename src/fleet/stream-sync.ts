/**
 * Push-pull over TCP, as memberlist does it: a datagram holds only a few signed member records,
 * so the periodic full-state exchange goes over a short TCP connection on the gossip port. One
 * request frame, one reply frame, then the connection closes. A frame is a 4-byte big-endian
 * length and a stream envelope (envelope.ts, channel `stream`: signed, its own magic and replay
 * window, a larger size limit). Frames above the limit, slow peers and anything but a sync
 * request are dropped and counted like datagrams.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { DropReason, EnvelopeCodec } from './envelope.js';
import type { FleetMessage } from './messages.js';
import { FleetBindError, toError } from '../errors.js';

const LENGTH_BYTES = 4;
/** Connections served at once (the exchange takes milliseconds; more is a flood). */
const MAX_CONNECTIONS = 32;

export interface StreamSyncHandler {
  /** A signed sync request from `from`; returns the reply (this node's full state). */
  readonly onRequest: (from: string, message: Extract<FleetMessage, { t: 'sync' }>) => FleetMessage;
  readonly onDrop: (reason: DropReason) => void;
}

/**
 * Reads one length-prefixed frame from `socket`, at most `maxBytes`; resolves null when the peer
 * sends more (oversized) or closes early.
 */
function readFrame(socket: Socket, maxBytes: number): Promise<Buffer | 'oversized' | null> {
  return new Promise((resolve) => {
    let chunks: Buffer[] = [];
    let have = 0;
    let need = -1;
    const done = (value: Buffer | 'oversized' | null): void => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      resolve(value);
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      have += chunk.length;
      if (need < 0 && have >= LENGTH_BYTES) {
        const all = Buffer.concat(chunks);
        need = all.readUInt32BE(0);
        if (need > maxBytes) {
          done('oversized');
          return;
        }
        chunks = [all];
      }
      if (need >= 0 && have >= LENGTH_BYTES + need) done(Buffer.concat(chunks).subarray(LENGTH_BYTES, LENGTH_BYTES + need));
    };
    const onEnd = (): void => { done(null); };
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
  });
}

function frame(envelope: Buffer): Buffer {
  const head = Buffer.alloc(LENGTH_BYTES);
  head.writeUInt32BE(envelope.length, 0);
  return Buffer.concat([head, envelope]);
}

/** The TCP side of a fleet node's gossip port. */
export class StreamSyncServer {
  readonly #server: Server;
  /** Open connections, so that close() need not wait for a slow peer. */
  readonly #sockets: Set<Socket>;

  private constructor(server: Server, sockets: Set<Socket>) {
    this.#server = server;
    this.#sockets = sockets;
  }

  /** Listens on host:port (the UDP socket's). Throws `MXW_ERR_FLEET_BIND` when it cannot. */
  static async listen(host: string, port: number, codec: EnvelopeCodec, timeoutMs: number, handler: StreamSyncHandler): Promise<StreamSyncServer> {
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      void serve(socket, codec, timeoutMs, handler);
    });
    server.maxConnections = MAX_CONNECTIONS;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      throw new FleetBindError(`cannot listen for push-pull on TCP ${host}:${String(port)}: ${toError(err).message}`, { cause: err });
    }
    server.on('error', () => { /* a failed accept concerns one peer only */ });
    return new StreamSyncServer(server, sockets);
  }

  /** The TCP port listened on (the one asked for, or the one port 0 got). */
  get port(): number {
    const address = this.#server.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  }

  /** Stops listening and cuts every open connection. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => { resolve(); });
      for (const socket of this.#sockets) socket.destroy();
    });
  }
}

/**
 * One connection: one request, one reply, within a fixed deadline from accept (an idle timeout
 * alone would let a peer trickle a byte every few seconds and hold a slot for ever).
 */
async function serve(socket: Socket, codec: EnvelopeCodec, timeoutMs: number, handler: StreamSyncHandler): Promise<void> {
  const deadline = setTimeout(() => socket.destroy(), timeoutMs);
  socket.once('close', () => { clearTimeout(deadline); });
  socket.on('error', () => { /* the peer went away: nothing to answer */ });
  try {
    const request = await readFrame(socket, codec.maxBytes);
    if (request === null || request === 'oversized') {
      if (request === 'oversized') handler.onDrop('oversized');
      socket.destroy();
      return;
    }
    const decoded = codec.decode(request);
    if (!decoded.ok) {
      handler.onDrop(decoded.reason);
      socket.destroy();
      return;
    }
    if (decoded.message.t !== 'sync' || !decoded.message.reply) {
      handler.onDrop('malformed');
      socket.destroy();
      return;
    }
    const reply = codec.encode(handler.onRequest(decoded.from, decoded.message), decoded.from);
    if (reply === null) {
      socket.destroy();
      return;
    }
    socket.end(frame(reply));
  } catch {
    // The handler threw (its state machine's bug, not the peer's): no answer, and the daemon goes on.
    socket.destroy();
  }
}

/**
 * Sends one sync request over TCP to host:port and returns the decoded reply (its drop reason when
 * it is not a valid sync). Rejects when the connection fails, the peer does not answer in time, or
 * `signal` aborts (the node stops).
 */
export function requestStreamSync(host: string, port: number, envelope: Buffer, codec: EnvelopeCodec, timeoutMs: number, signal?: AbortSignal): Promise<ReturnType<EnvelopeCodec['decode']>> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(new Error('push-pull aborted'));
      return;
    }
    const socket = connect({ host, port });
    const fail = (err: Error): void => {
      socket.destroy();
      reject(err);
    };
    const onAbort = (): void => { fail(new Error('push-pull aborted')); };
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('close', () => { signal?.removeEventListener('abort', onAbort); });
    // A fixed deadline for the whole exchange, not an idle timeout (a peer could trickle bytes).
    const deadline = setTimeout(() => { fail(new Error(`push-pull with ${host}:${String(port)} took longer than ${String(timeoutMs)} ms`)); }, timeoutMs);
    socket.once('close', () => { clearTimeout(deadline); });
    socket.once('error', fail);
    socket.once('connect', () => {
      socket.write(frame(envelope));
      void readFrame(socket, codec.maxBytes).then((reply) => {
        socket.destroy();
        if (reply === null) reject(new Error(`push-pull with ${host}:${String(port)}: closed without a reply`));
        else if (reply === 'oversized') resolve({ ok: false, reason: 'oversized' });
        else resolve(codec.decode(reply));
      });
    });
  });
}
