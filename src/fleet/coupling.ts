/**
 * Thermal coupling through the data-centre hierarchy (docs/DESIGN.md §4): how much of its peers'
 * stress a node should feel, so that a hot rack raises the reserve prices of its cool members
 * before the shared cooling throttles them, and work drifts to other racks. Pure.
 *
 * A peer's stress is s_j = 1 − h_j ∈ [0, 1] (h_j its gossiped headroom, clamped to [0, 1], so one
 * lying peer moves the result by at most c_L / (peers at that level)). Each peer counts once, at
 * the nearest level it shares with this node (chassis, then rack, row, zone; other zones not at
 * all), and each level L contributes its mean peer stress s̄_L times its coupling c_L:
 *
 *     external stress   e = 1 − Π_L (1 − c_L · s̄_L)         ∈ [0, 1)
 *     effective headroom  h_eff = h_self · (1 − e)
 *
 * The core pricing (src/market/pricing.ts) prices a core at 1 + σ = 1 / h with σ = 1/h − 1, so
 * pricing on h_eff instead of h multiplies the node's reserve prices by exactly
 *
 *     fleet multiplier  m = h_self / h_eff = 1 / (1 − e)
 *
 * 1 with cool or no neighbours; a cold node whose rack peers are all at the throttle point
 * (s̄_rack = 1, c_rack = 0.725) gets m = 3.6; the same heat one row away gives 1.7.
 */
import { FleetConfigError } from '../errors.js';
import type { FleetLocation } from './messages.js';

export const COUPLING_LEVELS = ['chassis', 'rack', 'row', 'zone'] as const;
export type CouplingLevel = (typeof COUPLING_LEVELS)[number];

/** Coupling per level, in [0, 1): the midpoints of docs/DESIGN.md's ranges by default. */
export type HierarchyCoupling = Readonly<Record<CouplingLevel, number>>;

export const DEFAULT_HIERARCHY_COUPLING: HierarchyCoupling = Object.freeze({ chassis: 0.95, rack: 0.725, row: 0.425, zone: 0.175 });

/** Largest external stress used, so the multiplier stays finite (≤ 1000). */
const MAX_EXTERNAL_STRESS = 0.999;

export interface PeerStress {
  readonly location: FleetLocation;
  /** The peer's headroom fraction; clamped to [0, 1]. */
  readonly headroom: number;
}

export interface FleetStress {
  /** e above: the stress this node feels from its peers, in [0, 1). */
  readonly external: number;
  /** 1 / (1 − e): the factor on this node's reserve prices. */
  readonly multiplier: number;
  /** Mean peer stress and peer count per level. */
  readonly levels: Readonly<Record<CouplingLevel, { readonly meanStress: number; readonly peers: number }>>;
}

/** Fills defaults and checks each coefficient is in [0, 1) and that they do not grow outwards. */
export function createHierarchyCoupling(partial: Partial<HierarchyCoupling> = {}): HierarchyCoupling {
  const c = { ...DEFAULT_HIERARCHY_COUPLING, ...partial };
  for (const level of COUPLING_LEVELS) {
    const v = c[level];
    if (!Number.isFinite(v) || v < 0 || v >= 1) throw new FleetConfigError(`invalid coupling.${level}: ${v} (expected [0, 1))`);
  }
  if (!(c.chassis >= c.rack && c.rack >= c.row && c.row >= c.zone)) throw new FleetConfigError('invalid coupling: expected chassis ≥ rack ≥ row ≥ zone');
  return Object.freeze(c);
}

/** The nearest level two locations share, or null when they are in different zones. */
export function sharedLevel(a: FleetLocation, b: FleetLocation): CouplingLevel | null {
  if (a.zone !== b.zone) return null;
  if (a.row !== b.row) return 'zone';
  if (a.rack !== b.rack) return 'row';
  return a.chassis === b.chassis ? 'chassis' : 'rack';
}

/** v clamped to [0, 1]; NaN becomes 0. */
export const clamp01 = (v: number): number => (v > 1 ? 1 : v > 0 ? v : 0);

/** The stress this node at `self` feels from `peers` (itself excluded by the caller), and its price multiplier. */
export function fleetStress(self: FleetLocation, peers: readonly PeerStress[], coupling: HierarchyCoupling = DEFAULT_HIERARCHY_COUPLING): FleetStress {
  const sum = { chassis: 0, rack: 0, row: 0, zone: 0 };
  const count = { chassis: 0, rack: 0, row: 0, zone: 0 };
  for (const p of peers) {
    const level = sharedLevel(self, p.location);
    if (level === null) continue;
    // NaN headroom (cannot come off the wire, but a local caller might pass it) counts as cool.
    sum[level] += 1 - clamp01(Number.isNaN(p.headroom) ? 1 : p.headroom);
    count[level]++;
  }
  let keep = 1;
  const levels = {} as Record<CouplingLevel, { meanStress: number; peers: number }>;
  for (const level of COUPLING_LEVELS) {
    const meanStress = count[level] === 0 ? 0 : sum[level] / count[level];
    levels[level] = { meanStress, peers: count[level] };
    keep *= 1 - coupling[level] * meanStress;
  }
  const external = Math.min(MAX_EXTERNAL_STRESS, 1 - keep);
  return { external, multiplier: 1 / (1 - external), levels };
}
