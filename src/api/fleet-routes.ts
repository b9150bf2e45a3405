/**
 * The fleet's routes on the control API: the fleet view (`GET /v1/fleet`), price-driven placement
 * (`POST /v1/fleet/agents`, forwarded with the fleet's peer token), and the Kubernetes scheduler
 * extender (`POST /v1/kube/filter`, `/v1/kube/prioritize`; tokenless, only when enabled).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { DaemonControl, SpawnRequest } from './control.js';
import { FleetPlacementError } from '../errors.js';
import { extenderArgsSchema, filterNodes, normaliseExtenderArgs, prioritizeNodes, type ExtenderFilterResult, type ExtenderNode, type HostPriority } from './kube-extender.js';
import { chooseNode, peerSpawner } from './placement.js';
import { routeSchema } from './openapi.js';
import { emptyQuerySchema, parseRequest, spawnSchema, type FleetBody, type PlacedBody } from './wire.js';

/** Largest extender request, bytes: a NodeList of a few thousand nodes (use nodeCacheCapable to send names only). */
const EXTENDER_BODY_LIMIT_BYTES = 16 * 1_048_576;

export interface FleetRouteOptions {
  readonly control: DaemonControl;
  readonly prefix: string;
  readonly peerToken: string;
  readonly kubeExtender?: { readonly enabled: boolean; readonly minHeadroom: number };
  readonly noQuery: (request: FastifyRequest) => void;
  readonly toSpawnRequest: (body: z.output<typeof spawnSchema>) => SpawnRequest;
}

export function registerFleetRoutes(app: FastifyInstance, options: FleetRouteOptions): void {
  const { control, prefix: p, peerToken, noQuery, toSpawnRequest } = options;
  app.get(`${p}/fleet`, { schema: routeSchema({ summary: 'The fleet as this node knows it: members, heat, prices, the stress on this node', tags: ['fleet'], read: true, querystring: emptyQuerySchema }) }, (request): FleetBody => {
    noQuery(request);
    return { fleet: control.fleet() };
  });

  app.post(`${p}/fleet/agents`, { schema: routeSchema({ summary: 'Spawn an agent on the fleet node where its bid buys most (forwarded with the peer token)', tags: ['fleet'], body: spawnSchema, querystring: emptyQuerySchema }) }, async (request, reply): Promise<PlacedBody> => {
    noQuery(request);
    const spawn: SpawnRequest = { ...toSpawnRequest(parseRequest(spawnSchema, request.body, 'body')), migratable: true };
    // Without a peer token no other node would accept the spawn: placement is among this node alone.
    const members = control.fleet().members.filter((m) => m.self || peerToken !== '');
    const choice = chooseNode(members);
    if (choice === null) throw new FleetPlacementError('no fleet node qualifies for the agent (none alive with headroom and a reachable control API)');
    const agent = choice.member.self || choice.member.apiUrl === null ? await control.spawnAgent(spawn) : await peerSpawner(peerToken).spawn(choice.member.apiUrl, spawn);
    void reply.code(201);
    return { agent, node: choice.member.nodeName, because: choice.because };
  });

  if (options.kubeExtender?.enabled === true) {
    const policy = { minHeadroom: options.kubeExtender.minHeadroom };
    const view = (): ExtenderNode[] => control.fleet().members.map((m) => ({ nodeName: m.nodeName, state: m.state, headroom: m.headroom, meanPriceJ: m.meanPriceJ, trust: m.trust }));
    // kube-scheduler cannot present a token; these answer reads of prices and headroom only. NodeLists are large.
    const extender = { config: { public: true }, bodyLimit: EXTENDER_BODY_LIMIT_BYTES } as const;
    const docs = (summary: string) => ({ ...extender, schema: routeSchema({ summary, tags: ['kubernetes'], public: true, body: extenderArgsSchema }) });
    app.post(`${p}/kube/filter`, docs('kube-scheduler extender filter: drop nodes without headroom'), (request): ExtenderFilterResult => filterNodes(parseRequest(extenderArgsSchema, normaliseExtenderArgs(request.body), 'body'), view(), policy));
    app.post(`${p}/kube/prioritize`, docs('kube-scheduler extender prioritize: score nodes 0–10 by price and headroom'), (request): HostPriority[] => prioritizeNodes(parseRequest(extenderArgsSchema, normaliseExtenderArgs(request.body), 'body'), view()));
  }

}
