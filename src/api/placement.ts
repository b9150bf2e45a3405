/**
 * Price-driven placement across the fleet (docs/FLEET.md): an agent submitted with `--fleet`
 * goes to the node where its bid buys the most — the alive member with the lowest mean reserve
 * price, among those with thermal headroom left and a control API this node can reach — and the
 * spawn is forwarded there with the fleet's peer token. This node's own API takes it when it is
 * the best (or the only) one.
 */
import type { FleetMemberSnapshot } from '../daemon/control.js';

/** Nodes below this headroom are not placed on (about to throttle). */
export const MIN_PLACEMENT_HEADROOM = 0.05;

export interface PlacementChoice {
  readonly member: FleetMemberSnapshot;
  /** Why this node, in words: its price and headroom against the runner-up. */
  readonly because: string;
}

/** The best node for a new agent, or null when none qualifies. */
export function chooseNode(members: readonly FleetMemberSnapshot[]): PlacementChoice | null {
  const candidates = members.filter((m) => m.state === 'alive' && (m.self || m.apiUrl !== null) && m.headroom >= MIN_PLACEMENT_HEADROOM && Number.isFinite(m.meanPriceJ));
  if (candidates.length === 0) return null;
  // Cheapest first; then the most headroom; then this node (no forwarding).
  const ranked = [...candidates].sort((a, b) => a.meanPriceJ - b.meanPriceJ || b.headroom - a.headroom || Number(b.self) - Number(a.self));
  const best = ranked[0] as FleetMemberSnapshot;
  const next = ranked[1];
  const price = (m: FleetMemberSnapshot): string => `${m.meanPriceJ.toFixed(4)} J/quantum, headroom ${m.headroom.toFixed(2)}`;
  const because = next === undefined ? `the only node that qualifies (${price(best)})` : `cheapest: ${price(best)}; next ${next.nodeName} at ${price(next)}`;
  return { member: best, because };
}
