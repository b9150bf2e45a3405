/**
 * The control API as a fuzz target: every route in its OpenAPI description (`app.swagger()`,
 * what `GET /openapi.json` serves), driven through fastify's `inject` (no sockets) in front of a
 * {@link DaemonDouble}. For each path and method it generates requests from the description:
 *
 * - bodies that fit the route's JSON Schema or sit at its edges, bodies with one thing broken
 *   (fuzz-schema.ts), raw bytes and text under assorted content types, and bodies sent where none
 *   is taken;
 * - query strings with the declared parameters (valid, at their bounds, odd), unknown and
 *   repeated keys, and raw garbage;
 * - path parameters that name seeded agents (live, staked, ended), fit the schema, or are garbage,
 *   percent-encoded or raw;
 * - the write token mostly, and also the read token, none, a wrong one, a garbled header, and now
 *   and then another method on the same path.
 *
 * What must hold: an answer within 2 s; no 5xx but the ones the API maps on purpose (a 503 when no
 * agent serves inference, say), never a 500; every status ≥ 400 a JSON `{error: {code, message}}`
 * whose code is an `MXW_ERR_*` with the status the server maps it to; JSON that parses whenever the
 * content type says JSON; 401 without a token or with a wrong one, 403 for
 * the read token on a write; nothing thrown outside a request (fuzz-targets.ts watches for that).
 * The outcome is the status and the code (`200`, `400 MXW_ERR_API_VALIDATION`).
 *
 * The double is reset and reseeded whenever it holds more than a few dozen agents or a thousand
 * entries, or a seeded live agent was stopped, so a million inputs cost the same each. The API has
 * no route that stops the daemon, and a stop (DELETE of an agent) reaches only the double.
 */
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import fc from 'fast-check';
import type { FleetMemberSnapshot } from '../src/api/control.js';
import { createApiApp, STATUS_OF_CODE } from '../src/api/server.js';
import { DaemonDouble } from '../test/helpers/daemon-double.js';
import { mutatedText, oddJsonText, oddString, validish, type JsonSchema } from './fuzz-schema.js';
import type { AsyncFuzzTarget } from './fuzz-targets.js';

export const API_TARGET_NAME = "control API: every route's body and query (from OpenAPI)";
const WRITE_TOKEN = 'fuzz-write-token-0123456789';
const READ_TOKEN = 'fuzz-read-token-0123456789';
const INJECT_TIMEOUT_MS = 2000;
/** Statuses of MXW_ERR_API_VALIDATION: fastify's own refusals keep theirs (too large, URI too long, media type, upgrade). */
const VALIDATION_STATUSES = new Set([400, 413, 414, 415, 426]);
const LIVE_AGENTS = ['fuzz-live', 'fuzz-staked'];
const SEEDED_AGENTS = [...LIVE_AGENTS, 'fuzz-ended'];
/** Values a path parameter of that name has in this app: the seeded agents, the dashboard's files. */
const KNOWN_PARAMS: Readonly<Record<string, readonly string[]>> = { id: SEEDED_AGENTS, file: ['dashboard.js', 'dashboard.css', 'index.html'] };
type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE' | 'PATCH' | 'OPTIONS';
const OTHER_METHODS: readonly Method[] = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];

interface Parameter {
  readonly name: string;
  readonly in: string;
  readonly schema?: JsonSchema;
}

interface Operation {
  readonly method: Method;
  readonly path: string;
  /** No token needed (the description's `security: []`). */
  readonly public: boolean;
  readonly params: readonly Parameter[];
  readonly query: readonly Parameter[];
  readonly body: JsonSchema | null;
}

interface OpenApiOperation {
  readonly security?: readonly unknown[];
  readonly parameters?: readonly Parameter[];
  readonly requestBody?: { readonly content?: Readonly<Record<string, { readonly schema?: JsonSchema }>> };
}

/** Every path and method of the description. */
export function operations(doc: { readonly paths?: Readonly<Record<string, Readonly<Record<string, OpenApiOperation>>>> }): Operation[] {
  return Object.entries(doc.paths ?? {}).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({
      method: method.toUpperCase() as Method,
      path,
      public: op.security?.length === 0,
      params: (op.parameters ?? []).filter((p) => p.in === 'path'),
      query: (op.parameters ?? []).filter((p) => p.in === 'query'),
      body: op.requestBody?.content?.['application/json']?.schema ?? null,
    })),
  );
}

type Auth = 'write' | 'read' | 'none' | 'wrong' | 'garbled';

interface FuzzRequest {
  /** The operation it was made for, `POST /v1/agents`. */
  readonly op: string;
  readonly method: Method;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly payload?: string | Buffer;
  readonly auth: Auth;
  /** Its path parameters were percent-encoded, so it reaches the route it was made for. */
  readonly routed: boolean;
}

const printable = fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 24 });

const authArb: fc.Arbitrary<{ auth: Auth; header: string | null }> = fc.oneof(
  { weight: 16, arbitrary: fc.constant({ auth: 'write' as const, header: `Bearer ${WRITE_TOKEN}` }) },
  { weight: 2, arbitrary: fc.constant({ auth: 'read' as const, header: `Bearer ${READ_TOKEN}` }) },
  { weight: 1, arbitrary: fc.constant({ auth: 'none' as const, header: null }) },
  { weight: 1, arbitrary: fc.oneof(printable, fc.constant(`${WRITE_TOKEN}x`)).map((t) => ({ auth: 'wrong' as const, header: `Bearer ${t}` })) },
  { weight: 1, arbitrary: fc.oneof(fc.constantFrom('Bearer', 'Bearer ', 'Basic Zm9vOmJhcg==', `bearer ${WRITE_TOKEN}`, `Bearer ${WRITE_TOKEN} extra`, `Bearer\t${WRITE_TOKEN}`), printable).map((h) => ({ auth: 'garbled' as const, header: h })) },
);

/** Percent-encodes `text` as UTF-8 (a lone surrogate, which encodeURIComponent refuses, as U+FFFD). */
function encode(text: string): string {
  return Array.from(Buffer.from(text, 'utf8'), (b) => (/[A-Za-z0-9_.~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('');
}

function paramArb(p: Parameter): fc.Arbitrary<{ value: string; encoded: boolean }> {
  const known = KNOWN_PARAMS[p.name] ?? [];
  const value = fc.oneof(
    { weight: known.length > 0 ? 4 : 0, arbitrary: fc.constantFrom(...(known.length > 0 ? known : [''])) },
    { weight: 3, arbitrary: validish(p.schema ?? { type: 'string' }).map(String) },
    { weight: 2, arbitrary: oddString },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(48, 49, 128, 129, 300), fc.constantFrom('a', 'é')).map(([n, c]) => c.repeat(n)) },
  );
  return fc.oneof({ weight: 6, arbitrary: value.map((v) => ({ value: encode(v), encoded: true })) }, { weight: 1, arbitrary: printable.map((v) => ({ value: v, encoded: false })) });
}

function queryArb(op: Operation): fc.Arbitrary<string> {
  const declared = op.query.map((q) => fc.tuple(fc.constant(q.name), fc.oneof(validish(q.schema ?? { type: 'string' }).map(String), fc.nat(1500).map(String), oddString)));
  const keys = fc.oneof(fc.constantFrom('token', 'limit', 'every', 'fromSeq', 'agentId', '__proto__', 'constructor', 'a[b]', ''), fc.string({ maxLength: 8 }));
  const extra = fc.array(fc.tuple(keys, fc.oneof(oddString, fc.nat(1500).map(String))), { maxLength: 2 });
  const structured = fc.tuple(declared.length > 0 ? fc.tuple(...declared).chain((pairs) => fc.subarray(pairs)) : fc.constant([]), extra, fc.boolean()).map(([pairs, more, repeat]) => {
    const all = [...pairs, ...more, ...(repeat && pairs[0] !== undefined ? [pairs[0]] : [])];
    return new URLSearchParams(all).toString();
  });
  return fc.oneof({ weight: op.query.length > 0 ? 2 : 6, arbitrary: fc.constant('') }, { weight: 3, arbitrary: structured }, { weight: 1, arbitrary: printable });
}

const JSON_TYPES = ['application/json', 'application/json; charset=utf-8', 'Application/JSON', 'application/json; charset=utf-16', 'application/json;;'];
const OTHER_TYPES = ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/octet-stream', 'application/vnd.api+json', 'text/json', '*/*', ''];

/** A body with its content type (null: no content-type header). */
type Body = { payload: string | Buffer; type: string | null } | null;

const rawBody: fc.Arbitrary<Body> = fc.tuple(
  fc.oneof(fc.constantFrom<string | null>(...JSON_TYPES, ...OTHER_TYPES, null)),
  fc.oneof(
    fc.uint8Array({ maxLength: 256 }).map((b) => Buffer.from(b)),
    fc.string({ maxLength: 64, unit: 'grapheme' }),
    oddJsonText,
    // Above the 64 KiB body limit.
    fc.tuple(fc.constantFrom('a', '{', '[', '😀'), fc.integer({ min: 16_000, max: 70_000 })).map(([c, n]) => c.repeat(n)),
  ),
).map(([type, payload]) => ({ payload, type }));

function bodyArb(op: Operation): fc.Arbitrary<Body> {
  const json = (text: fc.Arbitrary<string>) => fc.tuple(text, fc.constantFrom(...JSON_TYPES.slice(0, 3))).map(([payload, type]) => ({ payload, type }));
  if (op.body === null) return fc.oneof({ weight: 8, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: rawBody }, { weight: 1, arbitrary: json(fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v))) });
  return fc.oneof(
    { weight: 5, arbitrary: json(validish(op.body).map((v) => JSON.stringify(v))) },
    { weight: 4, arbitrary: json(mutatedText(op.body)) },
    { weight: 2, arbitrary: rawBody },
    { weight: 1, arbitrary: fc.constant(null) },
  );
}

function requestArb(op: Operation): fc.Arbitrary<FuzzRequest> {
  const params = op.params.length > 0 ? fc.tuple(...op.params.map(paramArb)) : fc.constant([]);
  const method = fc.oneof({ weight: 12, arbitrary: fc.constant(op.method) }, { weight: 1, arbitrary: fc.constantFrom(...OTHER_METHODS) });
  return fc.tuple(params, queryArb(op), bodyArb(op), authArb, method).map(([values, query, body, auth, m]) => {
    let path = op.path;
    op.params.forEach((p, i) => (path = path.replace(`{${p.name}}`, values[i]?.value ?? '')));
    const headers: Record<string, string> = {};
    if (auth.header !== null) headers['authorization'] = auth.header;
    if (body?.type != null) headers['content-type'] = body.type;
    return {
      op: `${op.method} ${op.path}`,
      method: m,
      url: query === '' ? path : `${path}?${query}`,
      headers,
      ...(body === null ? {} : { payload: body.payload }),
      auth: auth.auth,
      routed: values.every((v) => v.encoded),
    };
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`${what}: no answer within ${String(ms)} ms (a hang)`));
    }, ms);
  });
  return Promise.race([promise, late]).finally(() => {
    clearTimeout(timer);
  });
}

/** The outcome label of one answer; throws when the answer breaks a rule above. */
export function judge(request: FuzzRequest, response: LightMyRequestResponse): string {
  const status = response.statusCode;
  const where = `${request.method} ${request.url.slice(0, 160)} → ${String(status)}`;
  const [opMethod] = request.op.split(' ');
  if (request.method === 'HEAD') {
    // No body to judge: Node drops whatever is written for a HEAD (inject does not, so a 404's shows here).
    if (status >= 500) throw new Error(`${where}: a server error`);
    return `${String(status)} (HEAD)`;
  }
  const type = String(response.headers['content-type'] ?? '');
  let parsed: unknown;
  if (type.startsWith('application/json')) {
    try {
      parsed = JSON.parse(response.body);
    } catch {
      throw new Error(`${where}: content-type ${type} but the body is not JSON: ${response.body.slice(0, 200)}`);
    }
  }
  let code: string | null = null;
  if (status >= 400) {
    const error = (parsed as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    if (typeof error?.code !== 'string' || typeof error.message !== 'string') throw new Error(`${where}: not {error: {code, message}} (content-type "${type}"): ${response.body.slice(0, 200)}`);
    code = error.code;
    if (!/^MXW_ERR_[A-Z0-9_]+$/.test(code)) throw new Error(`${where}: code ${code} is not an MXW_ERR_* code`);
    if (status === 500) throw new Error(`${where}: a server error: ${code}: ${error.message}`);
    const mapped = (STATUS_OF_CODE as Readonly<Record<string, number>>)[code];
    const fits = code === 'MXW_ERR_API_VALIDATION' ? VALIDATION_STATUSES.has(status) : mapped === status;
    if (!fits) throw new Error(`${where}: ${code} should be ${mapped === undefined ? 'a 4xx (unmapped, so it became an internal error)' : String(mapped)}: ${error.message}`);
  }
  if (status >= 500 && (code === null || (STATUS_OF_CODE as Readonly<Record<string, number>>)[code] === undefined)) throw new Error(`${where}: a server error: ${response.body.slice(0, 200)}`);
  if (request.method === opMethod && request.routed && status !== 414) {
    const isPublic = request.op.endsWith(' (public)');
    if (!isPublic && (request.auth === 'none' || request.auth === 'wrong') && status !== 401) throw new Error(`${where}: no valid token, yet not 401`);
    if (!isPublic && request.auth === 'read' && request.method !== 'GET' && status !== 403) throw new Error(`${where}: the read token on a ${request.method}, yet not 403`);
    if (request.auth === 'write' && (status === 401 || status === 403)) throw new Error(`${where}: the write token refused`);
  }
  return code === null ? String(status) : `${String(status)} ${code}`;
}

const FLEET_MEMBERS: readonly FleetMemberSnapshot[] = [
  { id: 'self', nodeName: 'node-a', addr: '127.0.0.1:7946', state: 'alive', headroom: 0.8, meanPriceJ: 0.02, powerW: 40, location: { zone: 'z', row: 'r', rack: 'k', chassis: 'c' }, apiUrl: null, self: true, trust: 1, distrusted: null },
  { id: 'peer', nodeName: 'node-b', addr: '127.0.0.2:7946', state: 'suspect', headroom: 0.01, meanPriceJ: 0.05, powerW: 60, location: { zone: 'z', row: 'r', rack: 'k', chassis: 'd' }, apiUrl: null, self: false, trust: 1, distrusted: null },
];

/** Empties the double and gives it the agents the generated paths name. */
async function reseed(daemon: DaemonDouble): Promise<void> {
  daemon.reset();
  daemon.fleetMembers = [...FLEET_MEMBERS];
  await daemon.spawnAgent({ id: 'fuzz-live', command: 'node', walletJ: 1e6, bid: { pricePerQuantumJ: 0.02 } });
  await daemon.spawnAgent({ id: 'fuzz-staked', command: 'node', walletJ: 1e4, claims: 'inference', stakeJ: 100 });
  await daemon.spawnAgent({ id: 'fuzz-ended', command: 'node', walletJ: 10 });
  await daemon.stopAgent('fuzz-ended');
}

export interface ApiFuzzTarget extends AsyncFuzzTarget {
  /** The operations fuzzed, `POST /v1/agents` (a public one ends ` (public)`). */
  readonly operations: readonly string[];
  /** Outcomes by operation. */
  readonly coverage: ReadonlyMap<string, Readonly<Record<string, number>>>;
}

/** Builds the app (kube extender on, a read token), reads its description, and returns the target. */
export async function apiFuzzTarget(): Promise<ApiFuzzTarget> {
  const daemon = new DaemonDouble();
  await reseed(daemon);
  const app: FastifyInstance = await createApiApp({ control: daemon, token: WRITE_TOKEN, readToken: READ_TOKEN, kubeExtender: { enabled: true, minHeadroom: 0.05 } });
  await app.ready();
  const ops = operations(app.swagger() as Parameters<typeof operations>[0]);
  const names = ops.map((op) => `${op.method} ${op.path}${op.public ? ' (public)' : ''}`);
  const coverage = new Map<string, Record<string, number>>(names.map((n) => [n, {}]));
  // Routes that take input (a body, path or declared query parameters) get three times the share
  // of those that take none, where only the token, the method and a stray query string vary.
  const arbitrary = fc.oneof(
    ...ops.map((op, i) => ({ weight: op.body !== null || op.params.length > 0 || op.query.length > 0 ? 3 : 1, arbitrary: requestArb(op).map((r) => ({ ...r, op: names[i] ?? r.op })) })),
  );
  return {
    name: API_TARGET_NAME,
    arbitrary,
    operations: names,
    coverage,
    async run(input) {
      const request = input as FuzzRequest;
      if (daemon.agents.size > 48 || daemon.entries.length > 1000 || daemon.asks.length > 1000 || !LIVE_AGENTS.every((id) => daemon.agents.get(id)?.phase === 'running')) await reseed(daemon);
      const response = await withTimeout(
        app.inject({ method: request.method, url: request.url, headers: request.headers, ...(request.payload === undefined ? {} : { payload: request.payload }) }),
        INJECT_TIMEOUT_MS,
        `${request.method} ${request.url.slice(0, 160)}`,
      );
      const outcome = judge(request, response);
      const counts = coverage.get(request.op);
      if (counts !== undefined) counts[outcome] = (counts[outcome] ?? 0) + 1;
      return outcome;
    },
    close: () => app.close(),
  };
}
