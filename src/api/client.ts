/**
 * A small client of the control API (global `fetch`, and `ws` for the tick stream), used by the
 * CLI. Errors come back as the same `MXW_ERR_*` codes the daemon raised; a daemon that does not
 * answer is `MXW_ERR_DAEMON_UNREACHABLE`, with what to do about it.
 */
import WebSocket from 'ws';
import type { AgentView, DaemonSnapshot, Decision, FleetSnapshot, InferenceAnswer, InferenceAsk, SpawnRequest, TickEvent, WalletView } from './control.js';
import { DaemonUnreachableError, ERROR_CODES, InternalError, MaxwellError, toError, type MaxwellErrorCode } from '../errors.js';
import type { Plane, SubmitOutcome } from '../market/order-book.js';
import { daemonFilePath, isProcessAlive, readDaemonFile } from './discovery.js';
import type { AgentBody, AgentsBody, BidBody, DecisionsBody, EntriesBody, ErrorBody, FleetBody, InferenceBody, PlacedBody, SnapshotBody, VerifyBody, VerifyReportJson, WalletBody } from './wire.js';
import { API_PREFIX } from './wire.js';

/** Environment variables that point the CLI at a daemon (they win over daemon.json). */
export const API_URL_ENV = 'MAXWELL_API_URL';
export const API_TOKEN_ENV = 'MAXWELL_API_TOKEN';

/** Where to reach the API and how to authenticate. */
export interface ApiEndpoint {
  readonly url: string;
  readonly token: string;
  /** Where the URL came from, for messages. */
  readonly source: 'flag' | 'env' | 'daemon.json';
}

/** Inputs of {@link resolveApiEndpoint}. */
export interface EndpointSources {
  readonly url?: string | undefined;
  readonly token?: string | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The state folder holding daemon.json (config `state.dir`). */
  readonly stateDir: string;
}

/**
 * Finds the daemon: `--url`/`--token` flags, else `MAXWELL_API_URL`/`MAXWELL_API_TOKEN`, else
 * `<stateDir>/daemon.json` (each field separately). Throws `MXW_ERR_DAEMON_UNREACHABLE` when
 * nothing names a daemon or daemon.json belongs to a process that has gone.
 */
export function resolveApiEndpoint(sources: EndpointSources): ApiEndpoint {
  const url = sources.url ?? nonEmpty(sources.env[API_URL_ENV]);
  const token = sources.token ?? nonEmpty(sources.env[API_TOKEN_ENV]);
  const urlSource = sources.url !== undefined ? 'flag' : 'env';
  if (url !== undefined && token !== undefined) return { url: trimSlash(url), token, source: urlSource };
  const file = readDaemonFile(sources.stateDir);
  if (file === null) {
    throw new DaemonUnreachableError(
      `no daemon is running here (no ${daemonFilePath(sources.stateDir)}): start one with \`maxwell run\`, or pass --url and --token (${API_URL_ENV}, ${API_TOKEN_ENV})`,
    );
  }
  if (url === undefined && !isProcessAlive(file.pid)) {
    throw new DaemonUnreachableError(`${daemonFilePath(sources.stateDir)} is stale (process ${String(file.pid)} has exited): start the daemon with \`maxwell run\``);
  }
  return { url: trimSlash(url ?? file.url), token: token ?? file.token, source: url === undefined ? 'daemon.json' : urlSource };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

function isErrorBody(value: unknown): value is ErrorBody {
  if (typeof value !== 'object' || value === null) return false;
  const error = (value as { error?: unknown }).error;
  return typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string' && typeof (error as { message?: unknown }).message === 'string';
}

/** The daemon's error, re-raised here with its code (an unknown code from a newer daemon is kept in the message). */
function remoteError(body: ErrorBody, status: number): MaxwellError {
  const { code, message } = body.error;
  if ((ERROR_CODES as readonly string[]).includes(code)) return new MaxwellError(code as MaxwellErrorCode, message);
  return new InternalError(`the daemon answered HTTP ${String(status)} ${code}: ${message}`);
}

/** Options of {@link ApiClient}. */
export interface ApiClientOptions extends Omit<ApiEndpoint, 'source'> {
  /** Per-request time limit, ms. @default 30000 (spawning waits for the agent to start) */
  readonly timeoutMs?: number;
}

/** Options of {@link ApiClient.streamTicks}. */
export interface TickStreamOptions {
  /** Deliver one tick in `every`. @default 1 */
  readonly every?: number;
  /** Ends the stream (the promise then resolves). */
  readonly signal?: AbortSignal;
}

/** A bid as the API takes it. */
export interface ApiBid {
  readonly pricePerQuantumJ: number;
  readonly budgetJ?: number;
  readonly plane?: Plane;
}

export class ApiClient {
  readonly url: string;
  readonly #token: string;
  readonly #timeoutMs: number;

  constructor(options: ApiClientOptions) {
    this.url = trimSlash(options.url);
    this.#token = options.token;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  async #request<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
    const target = `${this.url}${API_PREFIX}${path}`;
    let response: Response;
    try {
      response = await fetch(target, {
        method,
        headers: { authorization: `Bearer ${this.#token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (err) {
      const error = toError(err);
      if (error.name === 'TimeoutError') throw new DaemonUnreachableError(`the daemon at ${this.url} did not answer within ${String(this.#timeoutMs)} ms`, { cause: err });
      const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
      const why = typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : error.message;
      throw new DaemonUnreachableError(
        `nothing answers at ${this.url} (${why}): is the daemon running? Start it with \`maxwell run\``,
        { cause: err },
      );
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new InternalError(`${method} ${target} answered HTTP ${String(response.status)} with a body that is not JSON: is this a Maxwell daemon?`);
    }
    if (!response.ok) {
      if (isErrorBody(json)) throw remoteError(json, response.status);
      throw new InternalError(`${method} ${target} answered HTTP ${String(response.status)} without an error code`);
    }
    return json as T;
  }

  async spawnAgent(request: SpawnRequest): Promise<AgentView> {
    return (await this.#request<AgentBody>('POST', '/agents', request)).agent;
  }

  async listAgents(): Promise<readonly AgentView[]> {
    return (await this.#request<AgentsBody>('GET', '/agents')).agents;
  }

  async agent(id: string): Promise<AgentView> {
    return (await this.#request<AgentBody>('GET', `/agents/${encodeURIComponent(id)}`)).agent;
  }

  async stopAgent(id: string): Promise<AgentView> {
    return (await this.#request<AgentBody>('DELETE', `/agents/${encodeURIComponent(id)}`)).agent;
  }

  async setBid(id: string, bid: ApiBid): Promise<{ readonly outcome: SubmitOutcome; readonly agent: AgentView }> {
    return this.#request<BidBody>('PUT', `/agents/${encodeURIComponent(id)}/bid`, bid);
  }

  async wallet(id: string): Promise<WalletView> {
    return (await this.#request<WalletBody>('GET', `/wallets/${encodeURIComponent(id)}`)).wallet;
  }

  /** The fleet view (`GET /v1/fleet`). */
  async fleet(): Promise<FleetSnapshot> {
    return (await this.#request<FleetBody>('GET', '/fleet')).fleet;
  }

  /** Spawns on the fleet node where the bid buys the most (`POST /v1/fleet/agents`). */
  async spawnOnFleet(request: SpawnRequest): Promise<PlacedBody> {
    return this.#request<PlacedBody>('POST', '/fleet/agents', request);
  }

  /** Serves one inference request on a staked agent (`POST /v1/inference`). */
  async infer(ask: InferenceAsk): Promise<InferenceAnswer> {
    return (await this.#request<InferenceBody>('POST', '/inference', ask)).answer;
  }

  async topUp(id: string, joules: number): Promise<WalletView> {
    return (await this.#request<WalletBody>('POST', `/wallets/${encodeURIComponent(id)}/top-up`, { joules })).wallet;
  }

  async ledgerEntries(options: { readonly fromSeq?: number; readonly limit?: number; readonly agentId?: string } = {}): Promise<EntriesBody> {
    const query = new URLSearchParams();
    if (options.fromSeq !== undefined) query.set('fromSeq', String(options.fromSeq));
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    if (options.agentId !== undefined) query.set('agentId', options.agentId);
    const qs = query.toString();
    return this.#request<EntriesBody>('GET', `/ledger/entries${qs === '' ? '' : `?${qs}`}`);
  }

  async verifyLedger(): Promise<VerifyReportJson> {
    return (await this.#request<VerifyBody>('GET', '/ledger/verify')).report;
  }

  async snapshot(): Promise<DaemonSnapshot> {
    return (await this.#request<SnapshotBody>('GET', '/state')).snapshot;
  }

  async decisions(limit?: number): Promise<readonly Decision[]> {
    return (await this.#request<DecisionsBody>('GET', `/decisions${limit === undefined ? '' : `?limit=${String(limit)}`}`)).decisions;
  }

  /**
   * Streams tick events to `listener` until `signal` aborts (resolves) or the connection fails
   * or the daemon closes it (rejects with `MXW_ERR_DAEMON_UNREACHABLE`, or the daemon's code
   * when it refused the upgrade, e.g. `MXW_ERR_API_AUTH`).
   */
  streamTicks(listener: (event: TickEvent) => void, options: TickStreamOptions = {}): Promise<void> {
    const wsUrl = `${this.url.replace(/^http/, 'ws')}${API_PREFIX}/ticks${options.every === undefined ? '' : `?every=${String(options.every)}`}`;
    return new Promise<void>((resolve, reject) => {
      if (options.signal?.aborted === true) {
        resolve();
        return;
      }
      const socket = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${this.#token}` }, handshakeTimeout: this.#timeoutMs });
      let settled = false;
      const finish = (err?: Error): void => {
        if (settled) return;
        settled = true;
        options.signal?.removeEventListener('abort', onAbort);
        if (err === undefined) resolve();
        else reject(err);
      };
      const onAbort = (): void => {
        socket.close(1000);
        finish();
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      socket.on('message', (data: WebSocket.RawData) => {
        const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
        listener(JSON.parse(text) as TickEvent);
      });
      socket.on('unexpected-response', (request, response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          let body: unknown;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            body = undefined;
          }
          finish(isErrorBody(body) ? remoteError(body, response.statusCode ?? 0) : new InternalError(`the tick stream answered HTTP ${String(response.statusCode)}`));
          request.destroy();
        });
      });
      socket.on('error', (err) => {
        const code = (err as NodeJS.ErrnoException).code;
        finish(new DaemonUnreachableError(`the tick stream at ${this.url} failed${code === undefined ? `: ${err.message}` : ` (${code})`}: is the daemon running? Start it with \`maxwell run\``, { cause: err }));
      });
      socket.on('close', (code, reason) => {
        finish(new DaemonUnreachableError(`the daemon closed the tick stream (${String(code)}${reason.length > 0 ? ` ${reason.toString('utf8')}` : ''})`));
      });
    });
  }
}
