/**
 * The fleet's message bodies (what travels inside a signed envelope, `envelope.ts`) and their
 * validation. Pure: no I/O. Every body is a JSON object with a `t` field; {@link parseFleetMessage}
 * accepts exactly the shapes below and returns `null` for anything else (the caller counts it
 * as `malformed`).
 */

/** Where a node sits in the data centre; each field is a short ASCII name (`[A-Za-z0-9._-]`, ≤ 32). */
export interface FleetLocation {
  readonly zone: string;
  readonly row: string;
  readonly rack: string;
  readonly chassis: string;
}

/** A node's application metadata, gossiped with its membership (small: ~150 bytes of JSON). */
export interface MemberMeta {
  /** Thermal headroom, fraction in [0, 1] (1 = cold, 0 = at the throttle point). */
  readonly headroom: number;
  /** Mean clearing price, J per quantum, ≥ 0. */
  readonly meanPrice: number;
  /** Power drawn, W, ≥ 0. */
  readonly powerW: number;
  readonly location: FleetLocation;
  /** Its name in the orchestrator (the Kubernetes node name), when it has one: `[A-Za-z0-9._-]`, ≤ 63. */
  readonly nodeName?: string;
  /** Its control API, for placement (`http://ip:port`), when it publishes one. */
  readonly apiUrl?: string;
}

/** Membership states (SWIM + memberlist's `left` for a graceful leave). */
export type MemberState = 'alive' | 'suspect' | 'dead' | 'left';

/**
 * A membership update, piggybacked on pings, acks and gossip. `alive` is the only one that
 * carries metadata, and with a signing fleet it carries the subject's own signature
 * (`key`, `sig`) so that a relay cannot forge another node's metadata or incarnation.
 */
export type MemberUpdate =
  | { readonly k: 'alive'; readonly id: string; readonly inc: number; readonly addr: string; readonly meta: MemberMeta; readonly key?: string; readonly sig?: string }
  | { readonly k: 'suspect'; readonly id: string; readonly inc: number; readonly from: string }
  | { readonly k: 'dead'; readonly id: string; readonly inc: number; readonly from: string }
  | { readonly k: 'left'; readonly id: string; readonly inc: number };

/** Push-sum share: half of the sender's (sum vector, weight) for an epoch. */
export interface PushSumShare {
  readonly epoch: number;
  /** Sums of (headroom, mean price, power W), weighted. */
  readonly s: readonly [number, number, number];
  readonly w: number;
}

/** SWIM's messages, plus gossip, push-pull sync and push-sum (a discriminated union on `t`). */
export type FleetMessage =
  | { readonly t: 'ping'; readonly seq: number; readonly target: string; readonly nack?: boolean; readonly u: readonly MemberUpdate[] }
  | { readonly t: 'ack'; readonly seq: number; readonly u: readonly MemberUpdate[] }
  | { readonly t: 'nack'; readonly seq: number }
  | { readonly t: 'ping-req'; readonly seq: number; readonly target: string; readonly addr: string; readonly nack: boolean; readonly u: readonly MemberUpdate[] }
  | { readonly t: 'gossip'; readonly u: readonly MemberUpdate[] }
  | { readonly t: 'sync'; readonly reply: boolean; readonly u: readonly MemberUpdate[] }
  | { readonly t: 'push-sum'; readonly share: PushSumShare; readonly scope?: 'zone' };

/** Largest incarnation or sequence accepted: leaves room to count up without losing integer precision. */
export const MAX_COUNTER = 2 ** 48;
const NAME = /^[A-Za-z0-9._-]{1,32}$/;
const ID = /^[A-Za-z0-9_-]{1,64}$/;
const NODE_NAME = /^[A-Za-z0-9._-]{1,63}$/;
const API_URL = /^https?:\/\/[A-Za-z0-9.:[\]-]{1,64}$/;
const ADDR = /^[A-Za-z0-9.:[\]_-]{1,64}$/;
const B64 = /^[A-Za-z0-9+/=_-]{1,128}$/;
/** Most member updates one datagram message may carry. */
export const MAX_UPDATES = 64;

type Obj = Readonly<Record<string, unknown>>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCounter = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v <= MAX_COUNTER;
const isStr = (v: unknown, re: RegExp): v is string => typeof v === 'string' && re.test(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const hasOnly = (o: Obj, keys: readonly string[]): boolean => Object.keys(o).every((k) => keys.includes(k));

/** Metadata from the wire, or null. Numbers must be finite; ranges are clamped by the users (push-sum, coupling). */
export function parseMeta(v: unknown): MemberMeta | null {
  if (!isObj(v) || !hasOnly(v, ['headroom', 'meanPrice', 'powerW', 'location', 'nodeName', 'apiUrl'])) return null;
  const nodeName = v['nodeName'];
  if (nodeName !== undefined && !isStr(nodeName, NODE_NAME)) return null;
  const apiUrl = v['apiUrl'];
  if (apiUrl !== undefined && !isStr(apiUrl, API_URL)) return null;
  const l = v['location'];
  if (!isNum(v['headroom']) || !isNum(v['meanPrice']) || !isNum(v['powerW']) || !isObj(l) || !hasOnly(l, ['zone', 'row', 'rack', 'chassis'])) return null;
  if (!isStr(l['zone'], NAME) || !isStr(l['row'], NAME) || !isStr(l['rack'], NAME) || !isStr(l['chassis'], NAME)) return null;
  const meta = { headroom: v['headroom'], meanPrice: v['meanPrice'], powerW: v['powerW'], location: { zone: l['zone'], row: l['row'], rack: l['rack'], chassis: l['chassis'] } };
  return { ...meta, ...(nodeName === undefined ? {} : { nodeName }), ...(apiUrl === undefined ? {} : { apiUrl }) };
}

/** True when `meta` would pass {@link parseMeta} (used to check local metadata before it is sent). */
export function isValidMeta(meta: MemberMeta): boolean {
  return parseMeta(meta) !== null;
}

function parseUpdate(v: unknown): MemberUpdate | null {
  if (!isObj(v) || !isStr(v['id'], ID) || !isCounter(v['inc'])) return null;
  const id = v['id'];
  const inc = v['inc'];
  switch (v['k']) {
    case 'alive': {
      if (!hasOnly(v, ['k', 'id', 'inc', 'addr', 'meta', 'key', 'sig']) || !isStr(v['addr'], ADDR)) return null;
      const meta = parseMeta(v['meta']);
      if (meta === null) return null;
      const key = v['key'];
      const sig = v['sig'];
      if ((key === undefined) !== (sig === undefined)) return null;
      if (key === undefined || sig === undefined) return { k: 'alive', id, inc, addr: v['addr'], meta };
      if (!isStr(key, B64) || !isStr(sig, B64)) return null;
      return { k: 'alive', id, inc, addr: v['addr'], meta, key, sig };
    }
    case 'suspect':
    case 'dead': {
      if (!hasOnly(v, ['k', 'id', 'inc', 'from']) || !isStr(v['from'], ID)) return null;
      return { k: v['k'], id, inc, from: v['from'] };
    }
    case 'left':
      return hasOnly(v, ['k', 'id', 'inc']) ? { k: 'left', id, inc } : null;
    default:
      return null;
  }
}

function parseUpdates(v: unknown, max = MAX_UPDATES): MemberUpdate[] | null {
  if (!Array.isArray(v) || v.length > max) return null;
  const out: MemberUpdate[] = [];
  for (const item of v) {
    const u = parseUpdate(item);
    if (u === null) return null;
    out.push(u);
  }
  return out;
}

/**
 * A message body from decoded JSON, or null when it is not exactly one of {@link FleetMessage}.
 * `maxUpdates` bounds a sync's member list (larger on the push-pull stream); the others keep 64.
 */
export function parseFleetMessage(v: unknown, maxUpdates = MAX_UPDATES): FleetMessage | null {
  if (!isObj(v)) return null;
  switch (v['t']) {
    case 'ping': {
      if (!hasOnly(v, ['t', 'seq', 'target', 'nack', 'u']) || !isCounter(v['seq']) || !isStr(v['target'], ID)) return null;
      const nack = v['nack'];
      if (nack !== undefined && typeof nack !== 'boolean') return null;
      const u = parseUpdates(v['u']);
      if (u === null) return null;
      return nack === undefined ? { t: 'ping', seq: v['seq'], target: v['target'], u } : { t: 'ping', seq: v['seq'], target: v['target'], nack, u };
    }
    case 'ack': {
      const u = parseUpdates(v['u']);
      return hasOnly(v, ['t', 'seq', 'u']) && isCounter(v['seq']) && u !== null ? { t: 'ack', seq: v['seq'], u } : null;
    }
    case 'nack':
      return hasOnly(v, ['t', 'seq']) && isCounter(v['seq']) ? { t: 'nack', seq: v['seq'] } : null;
    case 'ping-req': {
      if (!hasOnly(v, ['t', 'seq', 'target', 'addr', 'nack', 'u']) || !isCounter(v['seq']) || !isStr(v['target'], ID) || !isStr(v['addr'], ADDR) || typeof v['nack'] !== 'boolean') return null;
      const u = parseUpdates(v['u']);
      return u === null ? null : { t: 'ping-req', seq: v['seq'], target: v['target'], addr: v['addr'], nack: v['nack'], u };
    }
    case 'gossip': {
      const u = parseUpdates(v['u']);
      return hasOnly(v, ['t', 'u']) && u !== null ? { t: 'gossip', u } : null;
    }
    case 'sync': {
      const u = parseUpdates(v['u'], maxUpdates);
      return hasOnly(v, ['t', 'reply', 'u']) && typeof v['reply'] === 'boolean' && u !== null ? { t: 'sync', reply: v['reply'], u } : null;
    }
    case 'push-sum': {
      const share = v['share'];
      if (!hasOnly(v, ['t', 'share', 'scope']) || !isObj(share) || !hasOnly(share, ['epoch', 's', 'w']) || !isCounter(share['epoch']) || !isNum(share['w'])) return null;
      const scope = v['scope'];
      if (scope !== undefined && scope !== 'zone') return null;
      const s = share['s'];
      if (!Array.isArray(s) || s.length !== 3 || !s.every(isNum)) return null;
      const parsed = { epoch: share['epoch'], s: [s[0] as number, s[1] as number, s[2] as number] as const, w: share['w'] };
      return scope === undefined ? { t: 'push-sum', share: parsed } : { t: 'push-sum', share: parsed, scope };
    }
    default:
      return null;
  }
}

/** The bytes an alive update's subject signs: id, incarnation, address and metadata, in a fixed order. */
export function aliveSigningPayload(id: string, inc: number, addr: string, meta: MemberMeta): string {
  const l = meta.location;
  // v2 signs the node name and API URL too (v1 left them to any relay to rewrite: a liar could point
  // an honest node's apiUrl at itself and receive the placements, and the peer token, meant for it).
  // The URL goes last: it is the only field that may contain the separator.
  return `mxw-alive-v2|${id}|${inc}|${addr}|${meta.headroom}|${meta.meanPrice}|${meta.powerW}|${l.zone}|${l.row}|${l.rack}|${l.chassis}|${meta.nodeName ?? ''}|${meta.apiUrl ?? ''}`;
}
