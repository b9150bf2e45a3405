/**
 * The Kubernetes scheduler extender over real HTTP: the request bodies kube-scheduler sends
 * (fixtures in test/fixtures/kube-extender/, from the extender/v1 types), the answers Maxwell
 * gives from its fleet view, without a token (kube-scheduler sends none), and only when enabled.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { filterNodes, prioritizeNodes, MAX_EXTENDER_PRIORITY } from '../../../src/api/kube-extender.js';
import { startApiServer, type ApiServer } from '../../../src/api/server.js';
import type { FleetMemberSnapshot } from '../../../src/api/control.js';
import { DaemonDouble } from '../../helpers/daemon-double.js';
import { repoPath } from '../../helpers/repo.js';

const TOKEN = 'test-token-0123456789abcdef';
const fixture = (name: string): unknown => JSON.parse(readFileSync(repoPath(`test/fixtures/kube-extender/${name}`), 'utf8'));
const view = fixture('fleet-view.json') as { nodeName: string; state: 'alive' | 'suspect'; headroom: number; meanPriceJ: number }[];
const members: FleetMemberSnapshot[] = view.map((v, i) => ({ ...v, id: `n${String(i)}`, addr: `10.0.0.${String(i + 1)}:7946`, powerW: 50, location: { zone: 'z1', row: 'r1', rack: 'k1', chassis: `c${String(i)}` }, apiUrl: null, self: i === 0, trust: 1, distrusted: null }));

async function post(server: ApiServer, path: string, body: unknown, token?: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) }, body: JSON.stringify(body) });
  return { status: response.status, body: await response.json() };
}

describe('the scheduler extender, replaying what a real kube-scheduler (v1.20.2) sent', () => {
  let server: ApiServer;
  const captured = (name: string): unknown => fixture(`captured/${name}`);
  before(async () => {
    const daemon = new DaemonDouble();
    daemon.fleetMembers = (captured('fleet-view.json') as typeof view).map((v, i) => ({ ...v, id: `n${String(i)}`, addr: `10.78.0.${String(i + 1)}:7946`, powerW: 50, location: { zone: 'z1', row: 'r1', rack: `k${String(i)}`, chassis: 'c0' }, apiUrl: null, self: i === 0, trust: 1, distrusted: null }));
    server = await startApiServer({ control: daemon, token: TOKEN, kubeExtender: { enabled: true, minHeadroom: 0.05 } });
  });
  after(() => server.close());

  test('its filter request (Pod whole, NodeNames) gets the answer Maxwell gave it: the hot node refused with the reason', async () => {
    const args = captured('kube-scheduler-1.20-filter-args.json') as { Pod: { metadata: { name: string } }; NodeNames: string[] };
    assert.equal(args.Pod.metadata.name, 'pod0');
    assert.deepEqual(args.NodeNames.sort(), ['node0', 'node1', 'node2']);
    const answer = await post(server, '/v1/kube/filter', args);
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body, captured('kube-scheduler-1.20-filter-result.json'));
  });

  test('its prioritize request gets the answer Maxwell gave it: the cheaper cool node scores 10', async () => {
    const answer = await post(server, '/v1/kube/prioritize', captured('kube-scheduler-1.20-prioritize-args.json'));
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body, captured('kube-scheduler-1.20-prioritize-result.json'));
  });
});

describe('the scheduler extender, enabled', () => {
  let server: ApiServer;
  before(async () => {
    const daemon = new DaemonDouble();
    daemon.fleetMembers = members;
    server = await startApiServer({ control: daemon, token: TOKEN, kubeExtender: { enabled: true, minHeadroom: 0.05 } });
  });
  after(() => server.close());

  test('filter with node names (nodeCacheCapable) answers the recorded result: hot and suspect nodes refused with the reason, unknown nodes kept', async () => {
    const answer = await post(server, '/v1/kube/filter', fixture('filter-args-nodenames.json'));
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body, fixture('filter-result-nodenames.json'));
  });

  test('filter with a NodeList returns the kept Node objects untouched', async () => {
    const args = fixture('filter-args-nodes.json') as { Nodes: { items: { metadata: { name: string } }[] } };
    const answer = await post(server, '/v1/kube/filter', args);
    assert.equal(answer.status, 200);
    const body = answer.body as { Nodes: { metadata: unknown; items: unknown[] }; FailedNodes: Record<string, string>; Error: string };
    assert.deepEqual(body.Nodes.items, args.Nodes.items.filter((n) => n.metadata.name === 'node-a' || n.metadata.name === 'node-d'));
    assert.deepEqual(body.Nodes.metadata, { resourceVersion: '48213' });
    assert.deepEqual(Object.keys(body.FailedNodes).sort(), ['node-b', 'node-c']);
    assert.equal(body.Error, '');
  });

  test('prioritize answers the recorded HostPriorityList: the cheap, cool node first, scores within 0–10', async () => {
    const answer = await post(server, '/v1/kube/prioritize', fixture('filter-args-nodes.json'));
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body, fixture('prioritize-result.json'));
    const same = await post(server, '/v1/kube/prioritize', fixture('filter-args-nodenames.json'));
    assert.deepEqual(same.body, fixture('prioritize-result.json'));
  });

  test('the lower-case keys of the pre-1.16 types are read as Go’s case-insensitive decoder reads them; answers keep the Go names', async () => {
    const legacy = { pod: { metadata: { name: 'p' } }, nodenames: ['node-a', 'node-b', 'node-c', 'node-d'] };
    const answer = await post(server, '/v1/kube/filter', legacy);
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body, fixture('filter-result-nodenames.json'));
    assert.deepEqual((await post(server, '/v1/kube/prioritize', legacy)).body, fixture('prioritize-result.json'));
  });

  test('a malformed ExtenderArgs is 400 naming the field; the other routes still need the token', async () => {
    const bad = await post(server, '/v1/kube/filter', { NodeNames: 'node-a' });
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(bad.body), /body\.NodeNames/);
    assert.equal((await post(server, '/v1/inference', { prompt: 'x' })).status, 401);
  });
});

test('without kubeExtender.enabled the extender routes do not exist (401 before routing, as for any unknown route)', async () => {
  const server = await startApiServer({ control: new DaemonDouble(), token: TOKEN });
  try {
    assert.equal((await post(server, '/v1/kube/filter', fixture('filter-args-nodenames.json'))).status, 401);
    assert.equal((await post(server, '/v1/kube/filter', fixture('filter-args-nodenames.json'), TOKEN)).status, 404);
  } finally {
    await server.close();
  }
});

test('prioritize scales price and headroom into 0–10; filter keeps nodes Maxwell does not manage', () => {
  const names = { NodeNames: ['cheap', 'dear', 'other'] };
  const fleet = [
    { nodeName: 'cheap', state: 'alive' as const, headroom: 1, meanPriceJ: 0.01 },
    { nodeName: 'dear', state: 'alive' as const, headroom: 1, meanPriceJ: 0.04 },
  ];
  assert.deepEqual(prioritizeNodes(names, fleet), [{ Host: 'cheap', Score: MAX_EXTENDER_PRIORITY }, { Host: 'dear', Score: 3 }, { Host: 'other', Score: 0 }]);
  assert.deepEqual(filterNodes(names, fleet).NodeNames, ['cheap', 'dear', 'other']);
  assert.deepEqual(filterNodes({ NodeNames: ['dead'] }, [{ nodeName: 'dead', state: 'dead', headroom: 1, meanPriceJ: 1 }]).FailedNodes, { dead: 'maxwell: the node is dead in the fleet gossip' });
});

test('a name taken by a member that then died does not keep the real node out: an alive record of the name wins, the first one otherwise', () => {
  const real = { nodeName: 'node-b', state: 'alive' as const, headroom: 0.8, meanPriceJ: 0.02 };
  const impostor = { nodeName: 'node-b', state: 'dead' as const, headroom: 0, meanPriceJ: 1 };
  for (const view of [[real, impostor], [impostor, real]]) {
    assert.deepEqual(filterNodes({ NodeNames: ['node-b'] }, view).NodeNames, ['node-b']);
  }
});

test("deploy/'s v1 KubeSchedulerConfiguration (1.25+, not run here) says exactly what the v1beta1 one tested under kube-scheduler 1.20 says", () => {
  const body = (file: string): string[] => readFileSync(repoPath(`deploy/kubernetes/${file}`), 'utf8').split('\n').filter((line) => line.trim() !== '' && !line.trimStart().startsWith('#'));
  const v1 = body('kube-scheduler-config.yaml');
  const v1beta1 = body('kube-scheduler-config-v1beta1.yaml');
  assert.equal(v1[0], 'apiVersion: kubescheduler.config.k8s.io/v1');
  assert.equal(v1beta1[0], 'apiVersion: kubescheduler.config.k8s.io/v1beta1');
  // The extender's fields kept their names and meaning from v1beta1 to v1: only the group version differs.
  assert.deepEqual(v1.slice(1), v1beta1.slice(1));
});

test('a node whose gossiped headroom its rack contradicts (trust below 0.5) is filtered out with the reason', () => {
  const answer = filterNodes({ NodeNames: ['liar', 'doubted'] }, [
    { nodeName: 'liar', state: 'alive', headroom: 1, meanPriceJ: 0.01, trust: 0.2 },
    { nodeName: 'doubted', state: 'alive', headroom: 1, meanPriceJ: 0.01, trust: 0.7 },
  ]);
  assert.deepEqual(answer.NodeNames, ['doubted']);
  assert.match(answer.FailedNodes['liar'] ?? '', /^maxwell: the node's gossiped headroom disagrees with its rack's \(trust 0\.20/);
});
