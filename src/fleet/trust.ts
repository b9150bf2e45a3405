/**
 * Damping liars (docs/FLEET.md, "A liar is damped"). The coupling raises this node's prices when a
 * rack neighbour says it is hot, because shared cooling will carry that heat here. So a claim of
 * heat can be held against what it predicts: a member that claims, for much longer than any
 * thermal time constant, to be hotter than its own rack shows is not believed in full.
 *
 * Each member's headroom h_j is compared every update with a reference:
 * - this node's own headroom, when it shares j's rack or chassis: the one measurement it knows
 *   to be true;
 * - otherwise the median headroom of the other members of j's rack, when at least two others
 *   report (j's own claim never makes its reference).
 * Only claimed heat is judged: the gap is max(0, reference − h_j). A member cooler than its
 * reference raises nobody's prices, and a hot node must not come to distrust the cool neighbour
 * it would place or migrate work on. The gap is averaged with time constant `windowS` (an
 * exponential moving average over wall-clock time; with no reference it stays where it was), and
 * trust falls linearly once the mean gap passes `tolerance`, to `floor` at a gap of 1:
 *
 *     trust = max(floor, 1 − max(0, gap − tolerance) / (1 − tolerance))
 *
 * A distrusted member is damped, not silenced: its stress counts × trust in the coupling, its
 * push-sum shares × trust, and below {@link PLACEMENT_TRUST} nothing is placed on it. Records
 * outlive membership (a liar that leaves and rejoins finds its record), bounded by {@link MAX_RECORDS}.
 *
 * The plant's rate limit (headroom cannot move faster than τ allows) is not used: headroom is the
 * controllers' allowance, which an honest node changes within a tick (an emergency pause takes it
 * to zero), so a rate bound would damp honest nodes exactly when their heat matters most.
 * Pure: the caller supplies the clock.
 */
import { FleetConfigError } from '../errors.js';
import { clamp01, sharedLevel } from './coupling.js';
import type { FleetLocation } from './messages.js';

export interface TrustConfig {
  /** Damp members at all (false: every member's trust stays 1). @default true */
  readonly enabled: boolean;
  /** Mean headroom gap tolerated before trust falls (honest rack neighbours differ by their load). @default 0.3 */
  readonly tolerance: number;
  /** Time constant of the mean gap, s: a disagreement must last about this long to count. @default 120 */
  readonly windowS: number;
  /** Least trust a member keeps. @default 0.1 */
  readonly floor: number;
}

export const DEFAULT_TRUST_CONFIG: TrustConfig = Object.freeze({ enabled: true, tolerance: 0.3, windowS: 120, floor: 0.1 });

/** Members trusted less than this are not placed on. */
export const PLACEMENT_TRUST = 0.5;

/** Records kept, listed members or not (the member table's default cap): the least recently judged go first. */
export const MAX_RECORDS = 4096;

export function createTrustConfig(partial: Partial<TrustConfig> = {}): TrustConfig {
  const c = { ...DEFAULT_TRUST_CONFIG, ...partial };
  if (!(c.tolerance >= 0 && c.tolerance <= 0.95)) throw new FleetConfigError(`invalid trust tolerance: ${c.tolerance} (expected [0, 0.95])`);
  if (!(c.windowS > 0 && c.windowS <= 86_400)) throw new FleetConfigError(`invalid trust windowS: ${c.windowS} (expected (0, 86400])`);
  if (!(c.floor >= 0 && c.floor <= 1)) throw new FleetConfigError(`invalid trust floor: ${c.floor} (expected [0, 1])`);
  return Object.freeze(c);
}

/** What a member's headroom was held against. */
export interface TrustReference {
  /** `this-node`: this node's own headroom (same rack or chassis); `rack-median`: the median of the others in the member's rack. */
  readonly by: 'this-node' | 'rack-median';
  readonly headroom: number;
  /** Members whose headroom made the reference (this node counts as one). */
  readonly witnesses: number;
}

export interface MemberTrust {
  readonly trust: number;
  /** The time-averaged max(0, reference − headroom): heat claimed beyond the reference. */
  readonly gap: number;
  /** The reference of the last update, or null when nothing could judge the member. */
  readonly reference: TrustReference | null;
  /** Its headroom at the last update. */
  readonly headroom: number;
  /** Since when (ms, the caller's clock) its gap has been above the tolerance, or null. */
  readonly disagreeingSinceMs: number | null;
}

/** A member as the trust sees it: only alive and suspect members are judged or witness. */
export interface JudgedMember {
  readonly id: string;
  readonly state: string;
  readonly meta: { readonly location: FleetLocation; readonly headroom: number };
}

interface Record_ {
  gap: number;
  atMs: number;
  reference: TrustReference | null;
  headroom: number;
  disagreeingSinceMs: number | null;
}

const live = (m: JudgedMember): boolean => m.state === 'alive' || m.state === 'suspect';
const sameRack = (a: FleetLocation, b: FleetLocation): boolean => {
  const level = sharedLevel(a, b);
  return level === 'rack' || level === 'chassis';
};
const rackKey = (l: FleetLocation): string => `${l.zone}\u0000${l.row}\u0000${l.rack}`;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

export class NeighbourTrust {
  readonly config: TrustConfig;
  readonly #records = new Map<string, Record_>();

  constructor(config: Partial<TrustConfig> = {}) {
    this.config = createTrustConfig(config);
  }

  /** Compares every live member with its reference at `nowMs`. */
  update(nowMs: number, self: { readonly id: string; readonly location: FleetLocation; readonly headroom: number }, members: readonly JudgedMember[]): void {
    const others = members.filter((m) => m.id !== self.id && live(m));
    // Each rack's reported headrooms, once per update (not once per member: fleets are large).
    const racks = new Map<string, number[]>();
    for (const m of others) {
      const key = rackKey(m.meta.location);
      const list = racks.get(key);
      if (list === undefined) racks.set(key, [clamp01(m.meta.headroom)]);
      else list.push(clamp01(m.meta.headroom));
    }
    for (const m of others) {
      const h = clamp01(m.meta.headroom);
      const reference = this.#reference(m, h, self, racks);
      const r = this.#records.get(m.id);
      if (r === undefined) {
        // The first sight starts the clock; evidence counts from the next update.
        this.#remember(m.id, { gap: 0, atMs: nowMs, reference, headroom: h, disagreeingSinceMs: null });
        continue;
      }
      const gapNow = reference === null ? null : Math.max(0, reference.headroom - h);
      if (gapNow !== null) {
        const alpha = 1 - Math.exp(-Math.max(0, nowMs - r.atMs) / (this.config.windowS * 1000));
        r.gap += alpha * (gapNow - r.gap);
        if (gapNow > this.config.tolerance) r.disagreeingSinceMs ??= nowMs;
        else r.disagreeingSinceMs = null;
      }
      r.atMs = nowMs;
      r.reference = reference;
      r.headroom = h;
      this.#remember(m.id, r);
    }
  }

  /** Keeps `record` as the most recently judged; drops the least recently judged beyond MAX_RECORDS. */
  #remember(id: string, record: Record_): void {
    this.#records.delete(id);
    this.#records.set(id, record);
    if (this.#records.size > MAX_RECORDS) {
      const oldest = this.#records.keys().next().value;
      if (oldest !== undefined) this.#records.delete(oldest);
    }
  }

  #reference(m: JudgedMember, h: number, self: { readonly location: FleetLocation; readonly headroom: number }, racks: ReadonlyMap<string, readonly number[]>): TrustReference | null {
    if (sameRack(self.location, m.meta.location)) return { by: 'this-node', headroom: clamp01(self.headroom), witnesses: 1 };
    const rack = [...(racks.get(rackKey(m.meta.location)) ?? [])];
    rack.splice(rack.indexOf(h), 1); // the member's own claim is not its reference
    if (rack.length < 2) return null;
    return { by: 'rack-median', headroom: median(rack), witnesses: rack.length };
  }

  /** Trust in [floor, 1]; 1 for a member never judged. */
  trust(id: string): number {
    const r = this.#records.get(id);
    if (r === undefined || !this.config.enabled) return 1;
    const { tolerance, floor } = this.config;
    return Math.max(floor, Math.min(1, 1 - Math.max(0, r.gap - tolerance) / (1 - tolerance)));
  }

  view(id: string): MemberTrust | null {
    const r = this.#records.get(id);
    if (r === undefined) return null;
    return { trust: this.trust(id), gap: r.gap, reference: r.reference, headroom: r.headroom, disagreeingSinceMs: r.disagreeingSinceMs };
  }

  /** Why a member is trusted less than fully, in words; null when it is trusted fully. */
  explain(id: string, nowMs: number): string | null {
    const v = this.view(id);
    if (v === null || v.trust >= 1) return null;
    const ref = v.reference;
    const against = ref === null ? `${v.headroom.toFixed(2)}, nothing to judge it against now` : `${v.headroom.toFixed(2)} vs ${ref.headroom.toFixed(2)} ${ref.by === 'this-node' ? 'here (same rack)' : `its rack's median (${String(ref.witnesses)} others)`}`;
    const since = v.disagreeingSinceMs === null ? '' : `, disagreeing for ${((nowMs - v.disagreeingSinceMs) / 1000).toFixed(0)} s`;
    return `headroom ${against}${since}; mean gap ${v.gap.toFixed(2)} > tolerance ${this.config.tolerance.toFixed(2)} (over ~${String(this.config.windowS)} s)`;
  }
}
