/**
 * A Kubernetes scheduler extender (the kube-scheduler's HTTP `filter` and `prioritize` calls,
 * k8s.io/kube-scheduler/extender/v1): kube-scheduler asks Maxwell which candidate nodes a pod may
 * go to and how good each is; Maxwell answers from its fleet view (the prices and thermal
 * headroom nodes gossip). Kubernetes stays the orchestrator; Maxwell only scores.
 *
 * - filter: a node Maxwell knows is refused when it is dead or suspect in the gossip, or its
 *   headroom is below `minHeadroom` (it is about to throttle); a node Maxwell does not know passes
 *   (Maxwell never blocks what it does not manage).
 * - prioritize: score 0–10 (MaxExtenderPriority) = 10 × cheapest price ÷ the node's price, times
 *   its headroom: where the pod's bid buys the most quanta and the node has room to heat. Unknown
 *   nodes score 0, so that managed, priced nodes win ties against unmanaged ones.
 *
 * Wire shapes: the extender/v1 Go types have no json tags, so kube-scheduler sends and expects
 * the Go field names: ExtenderArgs `{Pod, Nodes?: NodeList, NodeNames?: string[]}` in;
 * ExtenderFilterResult `{Nodes?|NodeNames?, FailedNodes, FailedAndUnresolvableNodes?, Error}` and
 * HostPriorityList `[{Host, Score}]` out. Go's decoder matches keys case-insensitively, so the
 * lower-case names of the pre-1.16 `pkg/scheduler/api/v1` types (`pod`, `nodes`, `nodenames`) are
 * accepted too ({@link normaliseExtenderArgs}). The pod and node objects are passed through
 * untouched: only `metadata.name` is read.
 */
import { PLACEMENT_TRUST } from '../fleet/trust.js';
import { z } from 'zod';

/** The extender API's largest score (extenderv1.MaxExtenderPriority). */
export const MAX_EXTENDER_PRIORITY = 10;

/** One node as the fleet view knows it. */
export interface ExtenderNode {
  /** The Kubernetes node name it runs on. */
  readonly nodeName: string;
  readonly state: 'alive' | 'suspect' | 'dead' | 'left';
  /** Thermal headroom in [0, 1]. */
  readonly headroom: number;
  /** Mean reserve price, J per quantum (> 0). */
  readonly meanPriceJ: number;
  /** How far the answering node believes its figures (src/fleet/trust.ts); below 0.5 it is filtered out. @default 1 */
  readonly trust?: number;
}

export interface ExtenderPolicy {
  /** Nodes below this headroom are filtered out. @default 0.05 */
  readonly minHeadroom?: number;
}

const named = z.looseObject({ metadata: z.looseObject({ name: z.string().min(1).max(253) }) });

/** ExtenderArgs, checked only as far as it is read; everything else passes through. */
export const extenderArgsSchema = z.looseObject({
  Pod: z.looseObject({}).nullable().optional(),
  Nodes: z.looseObject({ items: z.array(named).max(100_000).nullable().optional() }).nullable().optional(),
  NodeNames: z.array(z.string().min(1).max(253)).max(100_000).nullable().optional(),
});
export type ExtenderArgs = z.infer<typeof extenderArgsSchema>;

const GO_FIELD_NAMES: Readonly<Record<string, string>> = { pod: 'Pod', nodes: 'Nodes', nodenames: 'NodeNames' };

/**
 * The body with its top-level keys spelt as the Go fields (`nodenames` → `NodeNames`), as Go's
 * case-insensitive decoder would read them; anything that is not an object is returned as it is
 * (the schema refuses it).
 */
export function normaliseExtenderArgs(body: unknown): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    const go = GO_FIELD_NAMES[key.toLowerCase()];
    // The exact Go spelling wins over another casing of the same field.
    if (go === undefined) out[key] = value;
    else if (key === go || !(go in out)) out[go] = value;
  }
  return out;
}

export interface ExtenderFilterResult {
  readonly Nodes?: { readonly [key: string]: unknown; readonly items: readonly unknown[] };
  readonly NodeNames?: readonly string[];
  readonly FailedNodes: Readonly<Record<string, string>>;
  readonly FailedAndUnresolvableNodes?: Readonly<Record<string, string>>;
  readonly Error: string;
}

export interface HostPriority {
  readonly Host: string;
  readonly Score: number;
}

/** The candidate node names of a call, from `Nodes.items` or `NodeNames` (nodeCacheCapable). */
export function candidateNames(args: ExtenderArgs): string[] {
  if (args.Nodes?.items != null) return args.Nodes.items.map((n) => n.metadata.name);
  return args.NodeNames ?? [];
}

/**
 * The view by node name. Names are gossiped, not unique: the first record of a name wins (this
 * node's own comes first) unless a later one is alive and it is not, so a member that once took
 * another's name and left cannot keep that node refused.
 */
function byName(view: readonly ExtenderNode[]): Map<string, ExtenderNode> {
  const out = new Map<string, ExtenderNode>();
  for (const n of view) {
    const seen = out.get(n.nodeName);
    if (seen === undefined || (seen.state !== 'alive' && n.state === 'alive')) out.set(n.nodeName, n);
  }
  return out;
}

/** Why Maxwell refuses `node`, or null when it may take the pod. */
function refusal(node: ExtenderNode | undefined, minHeadroom: number): string | null {
  if (node === undefined) return null;
  if (node.state !== 'alive') return `maxwell: the node is ${node.state} in the fleet gossip`;
  if (!(node.headroom >= minHeadroom)) return `maxwell: thermal headroom ${node.headroom.toFixed(3)} below ${String(minHeadroom)} (about to throttle)`;
  if ((node.trust ?? 1) < PLACEMENT_TRUST) return `maxwell: the node's gossiped headroom disagrees with its rack's (trust ${(node.trust ?? 1).toFixed(2)}; maxwell fleet says why)`;
  return null;
}

export function filterNodes(args: ExtenderArgs, view: readonly ExtenderNode[], policy: ExtenderPolicy = {}): ExtenderFilterResult {
  const known = byName(view);
  const minHeadroom = policy.minHeadroom ?? 0.05;
  const failedNodes: Record<string, string> = {};
  const keep = (name: string): boolean => {
    const why = refusal(known.get(name), minHeadroom);
    if (why !== null) failedNodes[name] = why;
    return why === null;
  };
  if (args.Nodes?.items != null) {
    const items = args.Nodes.items.filter((n) => keep(n.metadata.name));
    return { Nodes: { ...args.Nodes, items }, FailedNodes: failedNodes, Error: '' };
  }
  return { NodeNames: (args.NodeNames ?? []).filter(keep), FailedNodes: failedNodes, Error: '' };
}

export function prioritizeNodes(args: ExtenderArgs, view: readonly ExtenderNode[]): HostPriority[] {
  const known = byName(view);
  const names = candidateNames(args);
  let cheapest = Number.POSITIVE_INFINITY;
  for (const name of names) {
    const node = known.get(name);
    if (node !== undefined && node.state === 'alive' && node.meanPriceJ > 0) cheapest = Math.min(cheapest, node.meanPriceJ);
  }
  return names.map((host) => {
    const node = known.get(host);
    if (node === undefined || node.state !== 'alive' || !(node.meanPriceJ > 0) || !Number.isFinite(cheapest)) return { Host: host, Score: 0 };
    const headroom = Math.min(1, Math.max(0, node.headroom));
    return { Host: host, Score: Math.round(MAX_EXTENDER_PRIORITY * (cheapest / node.meanPriceJ) * headroom) };
  });
}
