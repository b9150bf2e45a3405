/**
 * The messages of the agent protocol (docs/PROTOCOL.md), as zod schemas and the types derived
 * from them. Agent → daemon messages are untrusted and checked strictly here: unknown types,
 * unknown fields and out-of-range values are rejected. Daemon → agent types are exported for
 * the daemon to build and for the client to read (the client checks them by hand, so that
 * agents do not load zod).
 */
import { z } from 'zod';
import { AGENT_ID_PATTERN } from '../agent-id.js';
import { isU64Decimal, type FrameFault } from './frames.js';
import type { PrimeClaim } from '../market/prime-oracle.js';

const u64 = z.string().max(20).refine(isU64Decimal, { message: 'expected an unsigned 64-bit integer as a decimal string' });
/** Per-agent sequence numbers: JSON numbers, exact up to 2⁵³ − 1. */
const seq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const joules = z.number().min(0).max(1e15);
/** Which market a bid is for: the CPU cores or the GPU (the daemon picks the core). */
const plane = z.enum(['cpu', 'gpu']);
/** Result and reason codes: short kebab-case words, chosen by the daemon. */
const outcomeCode = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/);

/** `hello`: the first frame of every connection. */
export const helloSchema = z.strictObject({
  type: z.literal('hello'),
  protocol: z.number().int().min(1).max(65_535),
  agentId: z.string().regex(AGENT_ID_PATTERN),
  token: z.string().min(1).max(256),
});

/** `bid`: the price the agent offers per quantum from now on (replaces its previous bid). */
export const bidSchema = z.strictObject({
  type: z.literal('bid'),
  seq,
  pricePerQuantumJ: joules,
  budgetJ: joules.optional(),
  plane: plane.optional(),
});

/** `work`: primes the agent found in `[range[0], range[1])`, for the prime oracle. */
export const workSchema = z
  .strictObject({
    type: z.literal('work'),
    seq,
    kind: z.literal('primes'),
    range: z.tuple([u64, u64]),
    primes: z.array(u64),
  })
  .refine((w) => BigInt(w.range[0]) < BigInt(w.range[1]), { message: 'range must be [lo, hi) with lo < hi', path: ['range'] });

const requestId = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);
/** Float32 little-endian values in base64 (the frame limit bounds their number). */
const float32Base64 = z.string().max(16_777_216).regex(/^[A-Za-z0-9+/]*={0,2}$/);
/** Names of the model's committed tensors, e.g. `b0.attn_in`. */
const tensorName = z.string().regex(/^[a-z0-9_.:-]{1,64}$/i);

/** `serve`: the agent is ready to serve inference requests for the model with this SHA-256 (answered with `result`). */
export const serveSchema = z.strictObject({ type: z.literal('serve'), seq, modelSha256: sha256Hex });

/** `token`: token `index` of request `requestId` is out (the daemon timestamps it: layer 2's timing). */
export const tokenSchema = z.strictObject({ type: z.literal('token'), requestId, index: z.number().int().min(0).max(4096) });

/** `claim`: what the agent says it computed for a request (proof of inference, layer 2). */
export const claimSchema = z.strictObject({
  type: z.literal('claim'),
  requestId,
  modelSha256: sha256Hex,
  inputCommitment: sha256Hex,
  tokens: z.array(z.number().int().min(0).max(65_535)).max(4096),
  /** Every step's last-position logits, rows of `vocab` float32 values, concatenated. */
  logits: float32Base64,
  outputCommitment: sha256Hex,
  spotCommitments: z.record(tensorName, sha256Hex).refine((r) => Object.keys(r).length <= 64, { message: 'at most 64 commitments' }),
});

/** `reveal`: the opening of one committed tensor after a `challenge` (rows 0: the agent cannot open it). */
export const revealSchema = z.strictObject({
  type: z.literal('reveal'),
  requestId,
  name: tensorName,
  rows: z.number().int().min(0).max(65_536),
  cols: z.number().int().min(0).max(65_536),
  data: float32Base64,
});

/** `ping`: liveness; answered with `pong` by the protocol layer itself. */
export const pingSchema = z.strictObject({ type: z.literal('ping'), nonce: z.string().max(64).optional() });

/** Every message an agent may send after `hello`. */
export const agentMessageSchema = z.discriminatedUnion('type', [bidSchema, workSchema, pingSchema, serveSchema, tokenSchema, claimSchema, revealSchema]);

export type HelloMessage = z.infer<typeof helloSchema>;
export type BidMessage = z.infer<typeof bidSchema>;
export type WorkMessage = z.infer<typeof workSchema>;
export type PingMessage = z.infer<typeof pingSchema>;
export type ServeMessage = z.infer<typeof serveSchema>;
export type TokenMessage = z.infer<typeof tokenSchema>;
export type ClaimMessage = z.infer<typeof claimSchema>;
export type RevealMessage = z.infer<typeof revealSchema>;
/** The agent messages of the proof of inference (handled by the daemon's inference service, not the session). */
export type InferenceMessage = ServeMessage | TokenMessage | ClaimMessage | RevealMessage;
/** A message from an agent, after authentication (discriminated on `type`). */
export type AgentMessage = z.infer<typeof agentMessageSchema>;

/** `welcome`: the answer to a good `hello`, with the limits the agent must respect. */
export interface WelcomeMessage {
  readonly type: 'welcome';
  readonly protocol: number;
  readonly agentId: string;
  readonly maxFrameBytes: number;
  readonly framesPerS: number;
  readonly burstFrames: number;
}
/** `grant`: the agent won `quanta` quanta of `plane` for `tick` and paid `paidJ`. */
export interface GrantMessage {
  readonly type: 'grant';
  readonly tick: number;
  readonly plane: number;
  readonly quanta: number;
  readonly paidJ: number;
}
/** `pause`: the agent is being paused (an emergency, or it lost every auction). */
export interface PauseMessage {
  readonly type: 'pause';
  readonly tick?: number;
  readonly reason?: string;
}
/** `resume`: the agent runs again. */
export interface ResumeMessage {
  readonly type: 'resume';
  readonly tick?: number;
}
/** `price`: reserve price per quantum of each plane for `tick`, J; index = plane. */
export interface PriceMessage {
  readonly type: 'price';
  readonly tick: number;
  readonly reservePerPlane: readonly number[];
}
/** `apoptosis`: the agent cannot pay; it is terminated after `graceMs`. */
export interface ApoptosisMessage {
  readonly type: 'apoptosis';
  readonly graceMs: number;
  readonly balanceJ: number;
}
/** `balance`: the agent's wallet. */
export interface BalanceMessage {
  readonly type: 'balance';
  readonly balanceJ: number;
}
/** `result`: the outcome of the agent's `bid` or `work` numbered `seq`. */
export interface ResultMessage {
  readonly type: 'result';
  readonly seq: number;
  /** A kebab-case code chosen by the daemon, e.g. `accepted`, `stale-seq`, `no-budget`, `composite`. */
  readonly outcome: string;
  /** For work: primes per oracle outcome (`accepted`, `composite`, `duplicate`, `out-of-range`, `invalid`). */
  readonly counts?: Readonly<Record<string, number>>;
  /** For work: income credited, J. */
  readonly incomeJ?: number;
}
/** `error`: why the daemon is closing this connection; the connection ends after it. */
export interface ErrorMessage {
  readonly type: 'error';
  readonly code: string;
  readonly message: string;
}
/** `pong`: the answer to `ping`, echoing its nonce. */
export interface PongMessage {
  readonly type: 'pong';
  readonly nonce?: string;
}

/** `infer`: serve this request (a prompt of token ids; greedy decoding of `maxNewTokens` tokens). */
export interface InferMessage {
  readonly type: 'infer';
  readonly requestId: number;
  readonly prompt: readonly number[];
  readonly maxNewTokens: number;
}
/** `challenge`: open these committed tensors of request `requestId` (layer 3's spot check). */
export interface ChallengeMessage {
  readonly type: 'challenge';
  readonly requestId: number;
  readonly names: readonly string[];
}
/** `verdict`: what the layered verifier decided about request `requestId`. */
export interface VerdictMessage {
  readonly type: 'verdict';
  readonly requestId: number;
  /** `paid`, `withheld` (flagged agent), `unpaid` (observe mode), `slashed`, `timeout`. */
  readonly outcome: string;
  readonly incomeJ: number;
  /** Layers that ran and failed (1–4). */
  readonly failedLayers: readonly number[];
}

/** A message from the daemon (discriminated on `type`). */
export type DaemonMessage =
  | WelcomeMessage
  | GrantMessage
  | PauseMessage
  | ResumeMessage
  | PriceMessage
  | ApoptosisMessage
  | BalanceMessage
  | ResultMessage
  | ErrorMessage
  | PongMessage
  | InferMessage
  | ChallengeMessage
  | VerdictMessage;

/** A notice the daemon's consumer may send (welcome, error and pong belong to the protocol layer). */
export type Notice = GrantMessage | PauseMessage | ResumeMessage | PriceMessage | ApoptosisMessage | BalanceMessage | ResultMessage | InferMessage | ChallengeMessage | VerdictMessage;

/** Daemon message types, for the client's checks. */
export const DAEMON_MESSAGE_TYPES = ['welcome', 'grant', 'pause', 'resume', 'price', 'apoptosis', 'balance', 'result', 'error', 'pong', 'infer', 'challenge', 'verdict'] as const satisfies readonly DaemonMessage['type'][];

/** Validates a result or reason code (kebab-case, ≤ 32 characters). */
export function isOutcomeCode(value: string): boolean {
  return outcomeCode.safeParse(value).success;
}

function describe(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return 'invalid message';
  const path = issue.path.length > 0 ? issue.path.map(String).join('.') : '(message)';
  return `${path}: ${issue.message}`;
}

/** Checks a parsed `hello`; a fault names the first bad field. */
export function parseHello(value: unknown): { ok: true; message: HelloMessage } | { ok: false; fault: FrameFault } {
  const parsed = helloSchema.safeParse(value);
  if (parsed.success) return { ok: true, message: parsed.data };
  if (isObjectWithType(value) && value.type !== 'hello') {
    return { ok: false, fault: { code: 'MXW_ERR_PROTOCOL_UNAUTHENTICATED', message: `expected hello first, got ${JSON.stringify(value.type).slice(0, 40)}` } };
  }
  return { ok: false, fault: { code: 'MXW_ERR_PROTOCOL_SCHEMA', message: `invalid hello: ${describe(parsed.error)}` } };
}

/** Checks a parsed message sent after `hello`; a fault names the first bad field. */
export function parseAgentMessage(value: unknown): { ok: true; message: AgentMessage } | { ok: false; fault: FrameFault } {
  const parsed = agentMessageSchema.safeParse(value);
  if (parsed.success) return { ok: true, message: parsed.data };
  if (isObjectWithType(value) && value.type === 'hello') return { ok: false, fault: { code: 'MXW_ERR_PROTOCOL_UNAUTHENTICATED', message: 'hello sent twice' } };
  return { ok: false, fault: { code: 'MXW_ERR_PROTOCOL_SCHEMA', message: `invalid message: ${describe(parsed.error)}` } };
}

function isObjectWithType(value: unknown): value is { type: unknown } {
  return typeof value === 'object' && value !== null && 'type' in value;
}

/** The prime oracle's claim for a `work` message (decimal strings → bigint). */
export function toPrimeClaim(work: WorkMessage): PrimeClaim {
  return { from: BigInt(work.range[0]), to: BigInt(work.range[1]), primes: work.primes.map((p) => BigInt(p)) };
}
