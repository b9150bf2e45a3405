/**
 * The control API: HTTP + JSON (fastify) and a WebSocket stream of ticks, in front of a
 * {@link DaemonControl}. It validates and maps; the daemon decides. See docs/API.md.
 *
 * Security model:
 * - It listens on 127.0.0.1 unless `host` says otherwise; any other host prints the warning
 *   `MXW_WARN_API_NOT_LOOPBACK`, because the API then answers whoever can reach that address.
 * - Every route but `GET /v1/health` needs `Authorization: Bearer <token>`, reads included:
 *   wallets, the ledger and agent command lines are nobody else's business on a shared machine,
 *   and the one client (the CLI) always has the token from `daemon.json` anyway. Only the tick
 *   stream also takes `?token=` (browsers cannot set headers on a WebSocket); plain routes do
 *   not, so that tokens do not end up in URLs and logs.
 * - A second, read-only token (`readToken`) opens every GET (state, metrics, the tick stream) and
 *   nothing else (`MXW_ERR_API_FORBIDDEN`): for Prometheus and the dashboard's viewers. The
 *   OpenAPI description and the dashboard's files are public; they hold no data.
 * - Tokens are compared in constant time (SHA-256 of both sides, then `timingSafeEqual`).
 * - Bodies are JSON objects of at most `bodyLimitBytes`, nested at most 64 levels; every field is
 *   checked by schema and an unknown field is an error. Every refusal, the router's own included
 *   (a bad percent-encoding, an over-long parameter), is `{error: {code, message}}` with a 4xx.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import websocket from '@fastify/websocket';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { parseAgentId, type AgentId } from '../agent-id.js';
import type { DaemonControl, SpawnRequest } from './control.js';
import { ApiAuthError, ApiForbiddenError, ApiBidRejectedError, ApiNotFoundError, ApiOptionsError, ApiValidationError, AgentStateError, InternalError, AgentUnknownError, isMaxwellError, toError, type MaxwellErrorCode } from '../errors.js';
import type { LedgerEntry } from '../ledger/entries.js';
import type { VerifyReport } from '../ledger/verify.js';
import type { SubmitOutcome } from '../market/order-book.js';
import {
  API_PREFIX,
  DEFAULT_PAGE,
  MAX_BODY_DEPTH,
  agentParamsSchema,
  bidSchema,
  decisionsQuerySchema,
  emptyQuerySchema,
  entriesQuerySchema,
  inferenceSchema,
  nestsDeeperThan,
  parseRequest,
  serialise,
  spawnSchema,
  topUpSchema,
  type AgentBody,
  type AgentsBody,
  type BidBody,
  type DecisionsBody,
  type EntriesBody,
  type ErrorBody,
  type HealthBody,
  type InferenceBody,
  type SnapshotBody,
  type VerifyBody,
  type WalletBody,
} from './wire.js';
import { isLoopbackHost } from './addresses.js';
import { registerFleetRoutes } from './fleet-routes.js';
import { recordRoutes, registerOpenApi, routeSchema } from './openapi.js';
import { registerOperatorRoutes } from './operator-routes.js';
import { registerTickStream } from './tick-stream.js';

/** Warning codes of the API (documented in docs/ERRORS.md, never reused). */
export const API_WARNING_CODES = ['MXW_WARN_API_NOT_LOOPBACK'] as const;

/** Shortest token the server accepts: 16 characters (the daemon generates 43, 256 bits). */
export const MIN_TOKEN_LENGTH = 16;
/** Default largest request body, bytes (config `api.bodyLimitBytes`). */
export const DEFAULT_BODY_LIMIT_BYTES = 65_536;
/** The tick stream takes nothing from clients but close frames; anything larger is refused. */
const MAX_WS_PAYLOAD_BYTES = 1024;

/**
 * HTTP status of each error code. Codes not named here are 500: anything unexpected is the
 * daemon's fault, not the caller's.
 */
export const STATUS_OF_CODE: Readonly<Partial<Record<MaxwellErrorCode, number>>> = {
  MXW_ERR_API_AUTH: 401,
  MXW_ERR_API_FORBIDDEN: 403,
  MXW_ERR_API_VALIDATION: 400,
  MXW_ERR_API_NOT_FOUND: 404,
  MXW_ERR_API_BID_REJECTED: 400,
  MXW_ERR_INVALID_ARG: 400,
  MXW_ERR_UNIT_RANGE: 400,
  MXW_ERR_AGENT_SPEC: 400,
  MXW_ERR_AGENT_ID: 400,
  MXW_ERR_LEDGER_TRANSFER: 400,
  MXW_ERR_AGENT_UNKNOWN: 404,
  MXW_ERR_AGENT_EXISTS: 409,
  MXW_ERR_AGENT_STATE: 409,
  MXW_ERR_LEDGER_FUNDS: 409,
  MXW_ERR_AGENT_START: 422,
  MXW_ERR_AGENT_UNSUPPORTED: 422,
  MXW_ERR_ABORTED: 503,
  MXW_ERR_INFERENCE_NO_SERVER: 503,
  MXW_ERR_FLEET_PLACEMENT: 503,
  MXW_ERR_INFERENCE_TIMEOUT: 504,
  MXW_ERR_INFERENCE_AGENT_GONE: 502,
};

/** What the server needs. */
export interface ApiServerOptions {
  readonly control: DaemonControl;
  /** The bearer token clients must present; at least {@link MIN_TOKEN_LENGTH} characters. */
  readonly token: string;
  /** Listening address. @default '127.0.0.1' */
  readonly host?: string;
  /** TCP port; 0 picks an ephemeral one (read it from {@link ApiServer.url}). @default 0 */
  readonly port?: number;
  /** Largest request body, bytes. @default 65536 */
  readonly bodyLimitBytes?: number;
  /** The Kubernetes scheduler extender routes (`POST /v1/kube/filter`, `/v1/kube/prioritize`), tokenless: kube-scheduler sends none. @default off */
  readonly kubeExtender?: { readonly enabled: boolean; readonly minHeadroom: number };
  /**
   * A read-only token (at least {@link MIN_TOKEN_LENGTH} characters): GET routes (state, metrics,
   * the tick stream, the dashboard's data) accept it; anything that changes state refuses it with
   * `MXW_ERR_API_FORBIDDEN`. Absent: only the write token is accepted.
   */
  readonly readToken?: string;
  /** Receives every route as it is added (method and URL; the OpenAPI test holds the description to them). */
  readonly routes?: { method: string; url: string }[];
  /** The fleet's shared peer token (`fleet.peerToken`): also accepted as a bearer, and sent with spawns forwarded by placement. Empty: placement stays on this node. */
  readonly peerToken?: string;
  /** The daemon's version, for the OpenAPI description. @default '0.0.0' */
  readonly version?: string;
  /** Receives warnings; default `process.emitWarning`. */
  readonly onWarning?: (message: string, code: (typeof API_WARNING_CODES)[number]) => void;
}

/** A listening control API. */
export interface ApiServer {
  /** Base URL, e.g. `http://127.0.0.1:43121` (no trailing slash). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Stops listening, closes tick streams, and waits for in-flight requests. */
  close(): Promise<void>;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

function bearer(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

function statusOf(code: MaxwellErrorCode): number {
  return STATUS_OF_CODE[code] ?? 500;
}

function errorBody(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}

/** A fastify error (body parsing, size, media type) becomes an API validation error with its status. */
function isFastifyError(value: Error): value is FastifyError {
  return typeof (value as Partial<FastifyError>).code === 'string' && (value as Partial<FastifyError>).code?.startsWith('FST_') === true;
}

function validateOptions(options: ApiServerOptions): void {
  if (typeof options.token !== 'string' || options.token.length < MIN_TOKEN_LENGTH) {
    throw new ApiOptionsError(`invalid token: at least ${MIN_TOKEN_LENGTH} characters are required`);
  }
  if (options.readToken !== undefined && (typeof options.readToken !== 'string' || options.readToken.length < MIN_TOKEN_LENGTH)) {
    throw new ApiOptionsError(`invalid read token: at least ${MIN_TOKEN_LENGTH} characters are required`);
  }
  if (options.readToken !== undefined && options.readToken === options.token) throw new ApiOptionsError('the read token must differ from the write token');
  if (options.host !== undefined && (typeof options.host !== 'string' || options.host.length === 0)) throw new ApiOptionsError('invalid host: an address or name is required');
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new ApiOptionsError(`invalid port ${String(port)}: an integer in 0–65535 is required`);
  const limit = options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  if (!Number.isInteger(limit) || limit < 1024) throw new ApiOptionsError(`invalid bodyLimitBytes ${String(limit)}: an integer ≥ 1024 is required`);
}

function entryJson(entry: LedgerEntry): EntriesBody['entries'][number] {
  return { ...entry, amountMicroJ: entry.amountMicroJ.toString() };
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Route needs no token (only the health check). */
    readonly public?: boolean;
    /** Route also takes the token as `?token=` (only the tick stream). */
    readonly tokenInQuery?: boolean;
  }
  interface FastifyRequest {
    /** What the presented token allows: `read` (the read-only token) or `write`; null on public routes. */
    access: 'read' | 'write' | null;
  }
}

/** SHA-256 digests of the tokens the server accepts; null where that token is not configured. */
interface TokenDigests {
  readonly write: Buffer;
  readonly peer: Buffer | null;
  readonly read: Buffer | null;
}

function tokenDigests(options: ApiServerOptions): TokenDigests {
  const peerToken = options.peerToken ?? '';
  return {
    write: digest(options.token),
    peer: peerToken === '' ? null : digest(peerToken),
    read: options.readToken === undefined ? null : digest(options.readToken),
  };
}

/** What each group of routes is given. */
interface RouteContext {
  readonly control: DaemonControl;
  readonly prefix: string;
}

/**
 * Builds the fastify application without listening (tests may `inject` into it).
 * Prefer {@link startApiServer}.
 */
export async function createApiApp(options: ApiServerOptions): Promise<FastifyInstance> {
  validateOptions(options);
  const app = createFastify(options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES);
  app.setErrorHandler(sendError);
  app.setNotFoundHandler(sendNotFound);
  // Before the auth hook: the plugin's own onRequest hook marks upgrade requests, so that a refused
  // upgrade's socket is destroyed after the 401 is written.
  await app.register(websocket, { options: { maxPayload: MAX_WS_PAYLOAD_BYTES } });
  if (options.routes !== undefined) recordRoutes(app, options.routes);
  await registerOpenApi(app, options.version ?? '0.0.0');
  app.decorateRequest('access', null);
  app.addHook('onRequest', bearerAuth(tokenDigests(options)));
  // Before any handler sees the body: the extender echoes its nodes back, and serialising a deep answer overflows the stack.
  app.addHook('preValidation', (request, _reply, done) => {
    done(nestsDeeperThan(request.body, MAX_BODY_DEPTH) ? new ApiValidationError(`body: nested deeper than ${String(MAX_BODY_DEPTH)} levels`) : undefined);
  });
  registerRoutes(app, options);
  return app;
}

function createFastify(bodyLimit: number): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit,
    // Routes are matched exactly; `/v1/agents/` is not `/v1/agents`.
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 128 },
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // A path that is not valid percent-encoding, or a parameter above maxParamLength, is refused
    // by the router before any hook: answer it in the API's shape too.
    frameworkErrors: (err, request, reply) => {
      sendError(err, request, reply);
    },
  });
  app.setReplySerializer((payload) => serialise(payload));
  // JSON only: fastify's default text/plain parser would let a string body reach the schemas.
  app.removeContentTypeParser('text/plain');
  return app;
}

function sendError(raw: unknown, _request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const err = toError(raw);
  if (isMaxwellError(err)) return reply.code(statusOf(err.code)).send(errorBody(err.code, err.message));
  if (isFastifyError(err) && err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
    return reply.code(err.statusCode).send(errorBody('MXW_ERR_API_VALIDATION', err.message));
  }
  return reply.code(500).send(errorBody('MXW_ERR_INTERNAL', `internal error: ${err.message}`));
}

function sendNotFound(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const err = new ApiNotFoundError(`no route ${request.method} ${request.url.split('?')[0] ?? ''}`);
  return reply.code(404).send(errorBody(err.code, err.message));
}

/** The bearer token, or `?token=` on a route that takes it there; undefined when neither is given. */
function presentedToken(request: FastifyRequest): string | undefined {
  const presented = bearer(request.headers.authorization);
  if (presented !== undefined || request.routeOptions.config.tokenInQuery !== true) return presented;
  const query = request.query as Record<string, unknown> | undefined;
  const fromQuery = query?.['token'];
  return typeof fromQuery === 'string' ? fromQuery : undefined;
}

/** The onRequest hook: refuses a request without a token that allows it, and records what it allows. */
function bearerAuth(tokens: TokenDigests): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  return async (request, reply) => {
    if (request.routeOptions.config.public === true) return;
    const presented = presentedToken(request);
    if (presented === undefined) {
      reply.header('www-authenticate', 'Bearer realm="maxwell"');
      throw new ApiAuthError('a bearer token is required (Authorization: Bearer <token>; the token is in daemon.json)');
    }
    const presentedDigest = digest(presented);
    if (timingSafeEqual(presentedDigest, tokens.write) || (tokens.peer !== null && timingSafeEqual(presentedDigest, tokens.peer))) {
      request.access = 'write';
      return;
    }
    if (tokens.read !== null && timingSafeEqual(presentedDigest, tokens.read)) {
      // Reads only: every route that changes something is a POST, PUT or DELETE.
      if (request.method !== 'GET' && request.method !== 'HEAD') throw new ApiForbiddenError(`the read-only token cannot ${request.method} ${request.routeOptions.url ?? request.url}: use the write token from daemon.json`);
      request.access = 'read';
      return;
    }
    reply.header('www-authenticate', 'Bearer realm="maxwell", error="invalid_token"');
    throw new ApiAuthError('the bearer token is wrong');
  };
}

function registerRoutes(app: FastifyInstance, options: ApiServerOptions): void {
  const context: RouteContext = { control: options.control, prefix: API_PREFIX };
  // Registration order is the order of the OpenAPI description's paths.
  registerHealthRoute(app, context);
  registerAgentRoutes(app, context);
  registerInferenceRoute(app, context);
  registerOperatorRoutes(app, context);
  registerFleetRoutes(app, { ...context, peerToken: options.peerToken ?? '', ...(options.kubeExtender === undefined ? {} : { kubeExtender: options.kubeExtender }), noQuery, toSpawnRequest });
  registerLedgerRoutes(app, context);
  registerDaemonRoutes(app, context);
  registerTickStream(app, context);
}

/** The route's `:id`: the schema checked it against the one rule, and the brand says so from here inward. */
function agentId(request: FastifyRequest): AgentId {
  return parseAgentId(parseRequest(agentParamsSchema, request.params, 'params').id);
}

function noQuery(request: FastifyRequest): void {
  parseRequest(emptyQuerySchema, request.query, 'query');
}

function registerHealthRoute(app: FastifyInstance, { prefix: p }: RouteContext): void {
  app.get(`${p}/health`, { config: { public: true }, schema: routeSchema({ summary: 'Liveness: the daemon answers (no token)', tags: ['daemon'], public: true, querystring: emptyQuerySchema }) }, (request): HealthBody => {
    noQuery(request);
    return { ok: true, pid: process.pid };
  });
}

function registerAgentRoutes(app: FastifyInstance, { control, prefix: p }: RouteContext): void {
  app.post(`${p}/agents`, { schema: routeSchema({ summary: 'Spawn an agent (process, WASM module or VM) with a wallet and an opening bid', tags: ['agents'], body: spawnSchema, querystring: emptyQuerySchema }) }, async (request, reply): Promise<AgentBody> => {
    noQuery(request);
    const body = parseRequest(spawnSchema, request.body, 'body');
    const agent = await control.spawnAgent(toSpawnRequest(body));
    void reply.code(201);
    return { agent };
  });

  app.get(`${p}/agents`, { schema: routeSchema({ summary: 'Every agent, living and ended', tags: ['agents'], read: true, querystring: emptyQuerySchema }) }, (request): AgentsBody => {
    noQuery(request);
    return { agents: control.listAgents() };
  });

  app.get(`${p}/agents/:id`, { schema: routeSchema({ summary: 'One agent', tags: ['agents'], read: true, params: agentParamsSchema, querystring: emptyQuerySchema }) }, (request): AgentBody => {
    noQuery(request);
    return { agent: control.agent(agentId(request)) };
  });

  app.delete(`${p}/agents/:id`, { schema: routeSchema({ summary: 'Stop an agent (SIGTERM, then SIGKILL after the grace period); its wallet is settled', tags: ['agents'], params: agentParamsSchema, querystring: emptyQuerySchema }) }, async (request): Promise<AgentBody> => {
    noQuery(request);
    return { agent: await control.stopAgent(agentId(request)) };
  });

  app.put(`${p}/agents/:id/bid`, { schema: routeSchema({ summary: 'Replace an agent’s bid', tags: ['agents'], params: agentParamsSchema, body: bidSchema, querystring: emptyQuerySchema }) }, (request): BidBody => {
    noQuery(request);
    const id = agentId(request);
    const bid = parseRequest(bidSchema, request.body, 'body');
    return bidAnswer(control, id, control.setBid(id, toBid(bid)));
  });
}

/** The agent when its bid was accepted; otherwise the error that says why not. */
function bidAnswer(control: DaemonControl, id: AgentId, outcome: SubmitOutcome): BidBody {
  switch (outcome) {
    case 'accepted':
      return { outcome, agent: control.agent(id) };
    case 'unknown-agent':
      throw new AgentUnknownError(`no agent "${id}"`);
    case 'dead-agent':
      throw new AgentStateError(`agent "${id}" has ended; it cannot bid`);
    case 'invalid':
    case 'absurd':
      throw new ApiBidRejectedError(`the bid was refused as ${outcome}`);
    case 'replayed':
    case 'out-of-order':
      // The daemon numbers API bids itself, so these mean a bug on its side.
      throw new Error(`the order book answered ${outcome} to an API bid`);
  }
}

function registerInferenceRoute(app: FastifyInstance, { control, prefix: p }: RouteContext): void {
  app.post(`${p}/inference`, { schema: routeSchema({ summary: 'Serve one inference request on a staked agent and judge it (docs/VERIFICATION.md)', tags: ['inference'], body: inferenceSchema, querystring: emptyQuerySchema }) }, async (request): Promise<InferenceBody> => {
    noQuery(request);
    const body = parseRequest(inferenceSchema, request.body, 'body');
    return { answer: await control.infer(stripUndefined(body)) };
  });
}

/** Wallets and the ledger. */
function registerLedgerRoutes(app: FastifyInstance, { control, prefix: p }: RouteContext): void {
  app.get(`${p}/wallets/:id`, { schema: routeSchema({ summary: 'An agent’s wallet balance', tags: ['ledger'], read: true, params: agentParamsSchema, querystring: emptyQuerySchema }) }, (request): WalletBody => {
    noQuery(request);
    return { wallet: control.wallet(agentId(request)) };
  });

  app.post(`${p}/wallets/:id/top-up`, { schema: routeSchema({ summary: 'Mint joules into an agent’s wallet (rescues one in its grace period)', tags: ['ledger'], params: agentParamsSchema, body: topUpSchema, querystring: emptyQuerySchema }) }, (request): WalletBody => {
    noQuery(request);
    const id = agentId(request);
    const { joules } = parseRequest(topUpSchema, request.body, 'body');
    return { wallet: control.topUp(id, joules) };
  });

  app.get(`${p}/ledger/entries`, { schema: routeSchema({ summary: 'Ledger entries, oldest first, a page at a time', tags: ['ledger'], read: true, querystring: entriesQuerySchema }) }, (request): EntriesBody => {
    const query = parseRequest(entriesQuerySchema, request.query, 'query');
    const limit = query.limit ?? DEFAULT_PAGE;
    const entries = control.ledgerEntries(stripUndefined({ ...query, limit })).map(entryJson);
    const last = entries.at(-1);
    return { entries, nextSeq: entries.length === limit && last !== undefined ? last.seq + 1 : null };
  });

  app.get(`${p}/ledger/verify`, { schema: routeSchema({ summary: 'Verify the ledger’s hash chain, signatures and conservation', tags: ['ledger'], read: true, querystring: emptyQuerySchema }) }, (request): VerifyBody => {
    noQuery(request);
    return { report: verifyJson(control.verifyLedger()) };
  });
}

/** JSON has no bigint: the µJ totals travel as decimal strings. */
function verifyJson(report: VerifyReport): VerifyBody['report'] {
  const t = report.totals;
  return {
    ...report,
    totals: {
      mintedMicroJ: t.mintedMicroJ.toString(),
      agentBalancesMicroJ: t.agentBalancesMicroJ.toString(),
      burnedMicroJ: t.burnedMicroJ.toString(),
      taxedMicroJ: t.taxedMicroJ.toString(),
      escrowedMicroJ: t.escrowedMicroJ.toString(),
    },
  };
}

/** The daemon's snapshot and its decision log. */
function registerDaemonRoutes(app: FastifyInstance, { control, prefix: p }: RouteContext): void {
  app.get(`${p}/state`, { schema: routeSchema({ summary: 'The daemon’s snapshot: cores, prices, agents, power and where each figure comes from', tags: ['daemon'], read: true, querystring: emptyQuerySchema }) }, (request): SnapshotBody => {
    noQuery(request);
    return { snapshot: control.snapshot() };
  });

  app.get(`${p}/decisions`, { schema: routeSchema({ summary: 'The decision log: what Maxwell did and why', tags: ['daemon'], read: true, querystring: decisionsQuerySchema }) }, (request): DecisionsBody => {
    const query = parseRequest(decisionsQuerySchema, request.query, 'query');
    return { decisions: control.decisions(query.limit ?? DEFAULT_PAGE) };
  });
}

/** Starts the control API and resolves once it listens. */
export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const app = await createApiApp(options);
  const host = options.host ?? '127.0.0.1';
  if (!isLoopbackHost(host)) {
    const message = `the control API listens on ${host}, not only on loopback: anyone who can reach it and holds the token controls this daemon`;
    if (options.onWarning !== undefined) options.onWarning(message, 'MXW_WARN_API_NOT_LOOPBACK');
    else process.emitWarning(message, { code: 'MXW_WARN_API_NOT_LOOPBACK' });
  }
  await app.listen({ host, port: options.port ?? 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') {
    await app.close();
    throw new InternalError('the control API did not get a TCP address');
  }
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${urlHost}:${String(address.port)}`,
    host: address.address,
    port: address.port,
    close: () => app.close(),
  };
}

/** The contract's optional fields are exact (absent, never `undefined`); zod's output allows both. */
function toBid(bid: z.output<typeof bidSchema>): NonNullable<SpawnRequest['bid']> {
  return stripUndefined(bid);
}

export function toSpawnRequest(body: z.output<typeof spawnSchema>): SpawnRequest {
  const { bid, ...rest } = body;
  return { ...stripUndefined(rest), ...(bid === undefined ? {} : { bid: toBid(bid) }) };
}

/** Drops keys whose value is undefined. */
type Defined<T> = { [K in keyof T]: Exclude<T[K], undefined> };
function stripUndefined<T extends object>(value: T): Defined<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Defined<T>;
}
