/**
 * Price-driven placement across the fleet (docs/FLEET.md): an agent submitted with `--fleet`
 * goes to the node where its bid buys the most — the alive member with the lowest mean reserve
 * price, among those with thermal headroom left and a control API this node can reach — and the
 * spawn is forwarded there with the fleet's peer token. This node's own API takes it when it is
 * the best (or the only) one.
 */
import type { FleetMemberSnapshot, RemoteSpawner } from './control.js';
import { isMaxwellError } from '../errors.js';
import { ApiClient } from './client.js';
import { PLACEMENT_TRUST } from '../fleet/trust.js';

/** Nodes below this headroom are not placed on (about to throttle). */
export const MIN_PLACEMENT_HEADROOM = 0.05;

export interface PlacementChoice {
  readonly member: FleetMemberSnapshot;
  /** Why this node, in words: its price and headroom against the runner-up. */
  readonly because: string;
}

/** The best node for a new agent, or null when none qualifies. */
export function chooseNode(members: readonly FleetMemberSnapshot[]): PlacementChoice | null {
  // Another node must name a positive price: a reserve price is never 0, and a member that says so
  // (or less) would win every placement. A member whose headroom its rack contradicts is not believed.
  const candidates = members.filter((m) => m.state === 'alive' && (m.self || (m.apiUrl !== null && m.meanPriceJ > 0 && m.trust >= PLACEMENT_TRUST)) && m.headroom >= MIN_PLACEMENT_HEADROOM && m.headroom <= 1 && Number.isFinite(m.meanPriceJ));
  if (candidates.length === 0) return null;
  // Cheapest first; then the most headroom; then this node (no forwarding).
  const ranked = [...candidates].sort((a, b) => a.meanPriceJ - b.meanPriceJ || b.headroom - a.headroom || Number(b.self) - Number(a.self));
  const best = ranked[0] as FleetMemberSnapshot;
  const next = ranked[1];
  const price = (m: FleetMemberSnapshot): string => `${m.meanPriceJ.toFixed(4)} J/quantum, headroom ${m.headroom.toFixed(2)}`;
  const because = next === undefined ? `the only node that qualifies (${price(best)})` : `cheapest: ${price(best)}; next ${next.nodeName} at ${price(next)}`;
  return { member: best, because };
}

/** Codes that say the other node did not (or may not have) refused: its answer was lost, or the agent is already there. */
const NOT_A_REFUSAL: readonly string[] = ['MXW_ERR_DAEMON_UNREACHABLE', 'MXW_ERR_INTERNAL', 'MXW_ERR_AGENT_EXISTS'];

/** Migration's way to other nodes' control APIs, with the fleet's peer token. */
export function peerSpawner(peerToken: string): RemoteSpawner {
  const client = (url: string): ApiClient => new ApiClient({ url, token: peerToken });
  return {
    spawn: (url, request) => client(url).spawnAgent(request),
    find: async (url, id) => {
      try {
        return await client(url).agent(id);
      } catch (err) {
        if (isMaxwellError(err, 'MXW_ERR_AGENT_UNKNOWN') || isMaxwellError(err, 'MXW_ERR_API_NOT_FOUND')) return null;
        throw err;
      }
    },
    refused: (err) => isMaxwellError(err) && !NOT_A_REFUSAL.includes(err.code),
  };
}
