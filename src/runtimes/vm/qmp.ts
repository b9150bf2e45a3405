/**
 * A QEMU Machine Protocol client over a Unix socket: the greeting, `qmp_capabilities`, then
 * commands answered in order (QMP answers one command at a time) and asynchronous events.
 */
import { connect, type Socket } from 'node:net';
import { RuntimeSetupError } from '../../errors.js';

export interface QmpEvent {
  readonly event: string;
  readonly data?: unknown;
  readonly timestamp?: { seconds: number; microseconds: number };
}

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: Error) => void;
  readonly command: string;
}

/** Most a QMP reply line may be; anything longer is a broken peer. */
const MAX_LINE_BYTES = 1 << 20;

export class QmpClient {
  readonly #socket: Socket;
  readonly #pending: Pending[] = [];
  readonly #listeners: ((event: QmpEvent) => void)[] = [];
  #buffer = '';
  #closed = false;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.#buffer += chunk;
      if (this.#buffer.length > MAX_LINE_BYTES) {
        socket.destroy(new RuntimeSetupError('QMP peer sent an oversized message'));
        return;
      }
      let nl: number;
      while ((nl = this.#buffer.indexOf('\n')) >= 0) {
        const line = this.#buffer.slice(0, nl).trim();
        this.#buffer = this.#buffer.slice(nl + 1);
        if (line !== '') this.#onMessage(line);
      }
    });
    const fail = (err?: Error): void => {
      this.#closed = true;
      for (const p of this.#pending.splice(0)) p.reject(new RuntimeSetupError(`QMP connection closed during "${p.command}"${err === undefined ? '' : `: ${err.message}`}`));
    };
    socket.on('error', fail);
    socket.on('close', () => {
      fail();
    });
  }

  /** Connects, reads the greeting and enters command mode. */
  static async connect(path: string, timeoutMs = 5000): Promise<QmpClient> {
    const socket = connect(path);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new RuntimeSetupError(`no QMP greeting on ${path} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(new RuntimeSetupError(`cannot connect to QMP at ${path}: ${err.message}`, { cause: err }));
      });
      let seen = '';
      const onData = (chunk: Buffer): void => {
        seen += chunk.toString('utf8');
        if (seen.includes('\n')) {
          clearTimeout(timer);
          socket.off('data', onData);
          if (!seen.includes('"QMP"')) {
            reject(new RuntimeSetupError(`${path} does not speak QMP`));
            return;
          }
          resolve();
        }
      };
      socket.on('data', onData);
    });
    const client = new QmpClient(socket);
    await client.execute('qmp_capabilities');
    return client;
  }

  #onMessage(line: string): void {
    let message: { return?: unknown; error?: { class: string; desc: string }; event?: string; data?: unknown };
    try {
      message = JSON.parse(line) as typeof message;
    } catch {
      return;
    }
    if (message.event !== undefined) {
      for (const l of this.#listeners) l(message as QmpEvent);
      return;
    }
    const pending = this.#pending.shift();
    if (pending === undefined) return;
    if (message.error !== undefined) pending.reject(new RuntimeSetupError(`QMP "${pending.command}" failed: ${message.error.class}: ${message.error.desc}`));
    else pending.resolve(message.return);
  }

  /** Runs a command and resolves with its `return` value. */
  execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    if (this.#closed) return Promise.reject(new RuntimeSetupError(`QMP connection is closed ("${command}")`));
    return new Promise((resolve, reject) => {
      this.#pending.push({ resolve, reject, command });
      this.#socket.write(`${JSON.stringify(args === undefined ? { execute: command } : { execute: command, arguments: args })}\n`);
    });
  }

  onEvent(listener: (event: QmpEvent) => void): void {
    this.#listeners.push(listener);
  }

  close(): void {
    this.#closed = true;
    this.#socket.destroy();
  }
}
