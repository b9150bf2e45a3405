/**
 * What crosses the control API's wire: the request schemas (zod, strict: an unknown field is an
 * error), the response shapes, and the limits on what a request may ask for. The server validates
 * with these; the client and the CLI use the same types, so both ends agree by construction.
 *
 * JSON has no bigint: ledger amounts travel as decimal strings of µJ (`amountMicroJ`), and the
 * serialiser writes any bigint as its decimal string and any non-finite number as `null`.
 */
import { z } from 'zod';
import { AGENT_ID_PATTERN, AGENT_ID_RULE } from '../agent-id.js';
import { AgentIdError, ApiValidationError } from '../errors.js';
import { toJson } from '../internal/format.js';
import type { LedgerEntry } from '../ledger/entries.js';
import type { LedgerTotals, VerifyReport } from '../ledger/verify.js';
import { MAX_BID_J } from '../market/clearing.js';
import { PLANES, type SubmitOutcome } from '../market/order-book.js';
import { RUNTIME_KINDS } from '../runtimes/runtime.js';
import { WORK_CLASSES } from '../verification/trace/classes.js';
import type { AgentView, DaemonSnapshot, Decision, FleetSnapshot, InferenceAnswer, WalletView } from './control.js';

/** The API's version prefix: every route starts with it. */
export const API_PREFIX = '/v1';

/** Most joules one request may mint into a wallet (spawn or top-up): 1 GJ, far above any experiment. */
export const MAX_WALLET_J = 1e9;
/** Most entries or decisions one read returns. */
export const MAX_PAGE = 1000;
/** Entries or decisions returned when the request names no limit. */
export const DEFAULT_PAGE = 100;
const MAX_ARGS = 256;
const MAX_ARG_LENGTH = 4096;
const MAX_ENV = 64;
/** Memory caps an agent may be given, bytes: 1 MiB to 1 TiB. */
const MIN_MEMORY_BYTES = 1024 * 1024;
const MAX_MEMORY_BYTES = 2 ** 40;

/** Variables the daemon sets for every agent; a spawn request may not override them. */
const RESERVED_ENV = new Set(['MAXWELL_SOCKET', 'MAXWELL_TOKEN', 'MAXWELL_AGENT_ID']);

/** Agent ids: the one rule (agent-id.ts); a bad one is `MXW_ERR_AGENT_ID`, as deeper down (see parseRequest). */
const agentId = z.string().regex(AGENT_ID_PATTERN, AGENT_ID_RULE);
const ID_FIELDS: ReadonlySet<string> = new Set(['id', 'agentId']);
const joules = (max: number) => z.number().positive().max(max);

/** A bid as the API takes it (`PUT /v1/agents/:id/bid`, and the opening bid of a spawn). */
export const bidSchema = z.strictObject({
  pricePerQuantumJ: z.number().nonnegative().max(MAX_BID_J),
  budgetJ: joules(MAX_WALLET_J).optional(),
  plane: z.enum(PLANES).optional(),
});

/** `POST /v1/agents`. */
export const spawnSchema = z.strictObject({
  id: agentId.optional(),
  runtime: z.enum(RUNTIME_KINDS).optional(),
  command: z.string().min(1).max(MAX_ARG_LENGTH),
  args: z.array(z.string().max(MAX_ARG_LENGTH)).max(MAX_ARGS).optional(),
  walletJ: joules(MAX_WALLET_J),
  bid: bidSchema.optional(),
  role: z.enum(['scientist', 'leech', 'other']).optional(),
  memoryLimitBytes: z.number().int().min(MIN_MEMORY_BYTES).max(MAX_MEMORY_BYTES).optional(),
  claims: z.enum(WORK_CLASSES).optional(),
  stakeJ: joules(MAX_WALLET_J).optional(),
  migratable: z.boolean().optional(),
  env: z
    .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'an environment variable name'), z.string().max(MAX_ARG_LENGTH))
    .refine((env) => Object.keys(env).length <= MAX_ENV, `at most ${MAX_ENV} environment variables`)
    .refine((env) => Object.keys(env).every((k) => !RESERVED_ENV.has(k)), 'MAXWELL_SOCKET, MAXWELL_TOKEN and MAXWELL_AGENT_ID are set by the daemon')
    .optional(),
});

/** `POST /v1/inference`: a prompt as text (the model's symbols) or token ids. */
export const inferenceSchema = z.strictObject({
  prompt: z.union([z.string().min(1).max(4096), z.array(z.number().int().min(0).max(65_535)).min(1).max(4096)]),
  maxNewTokens: z.number().int().min(1).max(256).optional(),
  bidJ: z.number().nonnegative().max(MAX_WALLET_J).optional(),
  agentId: agentId.optional(),
});

/** `POST /v1/wallets/:id/top-up`. */
export const topUpSchema = z.strictObject({ joules: joules(MAX_WALLET_J) });

/** Route parameters naming an agent. */
export const agentParamsSchema = z.strictObject({ id: agentId });

/** A non-negative decimal integer in a query string (no signs, no exponents, no blanks). */
const queryInt = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,15}$/, 'a decimal integer')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

/** `GET /v1/ledger/entries`. */
export const entriesQuerySchema = z.strictObject({
  fromSeq: queryInt(1, Number.MAX_SAFE_INTEGER).optional(),
  limit: queryInt(1, MAX_PAGE).optional(),
  agentId: agentId.optional(),
});

/** `GET /v1/decisions`. */
export const decisionsQuerySchema = z.strictObject({ limit: queryInt(1, MAX_PAGE).optional() });

/** `GET /v1/ticks` (WebSocket): `every` sends one tick in N (100 Hz is a lot for a terminal). */
export const ticksQuerySchema = z.strictObject({
  token: z.string().max(512).optional(),
  every: queryInt(1, 100_000).optional(),
});

/** Routes without input take no query string either. */
export const emptyQuerySchema = z.strictObject({});

/**
 * Deepest nesting a request body may have. A Kubernetes object, the deepest thing the API is sent,
 * nests about twenty levels; the answer's `JSON.stringify` overflows the stack a few thousand
 * levels down, and the extender echoes its `Nodes` back.
 */
export const MAX_BODY_DEPTH = 64;

/** True when `value` nests deeper than `limit` arrays and objects; counted without recursion, so any depth is safe. */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [node, depth] = top;
    if (typeof node !== 'object' || node === null) continue;
    if (depth >= limit) return true;
    for (const child of Object.values(node)) if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
  }
  return false;
}

/**
 * Parses `value` with `schema`, or throws `MXW_ERR_API_VALIDATION` naming the first bad field
 * (`body.walletJ: …`, `query.limit: …`).
 */
export function parseRequest<S extends z.ZodType>(schema: S, value: unknown, where: 'body' | 'query' | 'params'): z.output<S> {
  const result = schema.safeParse(value ?? (where === 'body' ? undefined : {}));
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = [where, ...(issue?.path ?? []).map(String)].join('.');
  if (issue?.path.length === 1 && ID_FIELDS.has(String(issue.path[0]))) throw new AgentIdError(`${path}: ${issue.message}`);
  throw new ApiValidationError(`${path}: ${issue?.message ?? 'invalid'}`);
}

/** A ledger entry on the wire: `amountMicroJ` as a decimal string. */
export type LedgerEntryJson = Omit<LedgerEntry, 'amountMicroJ'> & { readonly amountMicroJ: string };
/** A verification report on the wire: totals as decimal strings of µJ. */
export type VerifyReportJson = Omit<VerifyReport, 'totals'> & { readonly totals: { readonly [K in keyof LedgerTotals]: string } };

/** Response bodies, route by route. Errors are always {@link ErrorBody}. */
export interface AgentBody { readonly agent: AgentView }
export interface InferenceBody { readonly answer: InferenceAnswer }
export interface FleetBody { readonly fleet: FleetSnapshot }
/** A spawn placed on a fleet node: the agent (as that node reports it), the node, and why it. */
export interface PlacedBody { readonly agent: AgentView; readonly node: string; readonly because: string }
export interface AgentsBody { readonly agents: readonly AgentView[] }
export interface BidBody { readonly outcome: SubmitOutcome; readonly agent: AgentView }
export interface WalletBody { readonly wallet: WalletView }
export interface EntriesBody {
  readonly entries: readonly LedgerEntryJson[];
  /** Where the next page starts (`fromSeq`), or null when this page was not full. */
  readonly nextSeq: number | null;
}
export interface VerifyBody { readonly report: VerifyReportJson }
export interface SnapshotBody { readonly snapshot: DaemonSnapshot }
export interface DecisionsBody { readonly decisions: readonly Decision[] }
export interface HealthBody { readonly ok: true; readonly pid: number }
export interface ErrorBody { readonly error: { readonly code: string; readonly message: string } }

/** JSON text of a response: bigints as decimal strings, NaN and ±Infinity as null. */
export function serialise(value: unknown): string {
  return toJson(value, 0);
}
