/** Price-driven placement: which fleet node a new agent goes to, and the routes that do it. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseNode } from '../../../src/api/placement.js';
import { startApiServer } from '../../../src/api/server.js';
import type { FleetMemberSnapshot } from '../../../src/api/control.js';
import { DaemonDouble } from '../../helpers/daemon-double.js';

const member = (nodeName: string, meanPriceJ: number, extra: Partial<FleetMemberSnapshot> = {}): FleetMemberSnapshot => ({
  id: nodeName,
  nodeName,
  addr: '10.0.0.1:7946',
  state: 'alive',
  headroom: 1,
  meanPriceJ,
  powerW: 10,
  location: { zone: 'z', row: 'r', rack: 'k', chassis: 'c' },
  apiUrl: `http://${nodeName}:7940`,
  self: false,
  trust: 1,
  distrusted: null,
  ...extra,
});

test('the cheapest alive node with headroom and a reachable API wins; ties go to more headroom, then to this node', () => {
  const self = member('here', 0.02, { self: true, apiUrl: null });
  assert.equal(chooseNode([self, member('cheap', 0.01), member('dear', 0.05)])?.member.nodeName, 'cheap');
  assert.match(chooseNode([self, member('cheap', 0.01)])?.because ?? '', /cheapest: 0\.0100 J\/quantum.*next here at 0\.0200/);
  assert.equal(chooseNode([self, member('cheap', 0.01, { state: 'suspect' })])?.member.nodeName, 'here', 'suspect nodes are skipped');
  assert.equal(chooseNode([self, member('cheap', 0.01, { headroom: 0.01 })])?.member.nodeName, 'here', 'nodes about to throttle are skipped');
  assert.equal(chooseNode([self, member('cheap', 0.01, { apiUrl: null })])?.member.nodeName, 'here', 'a node without a reachable API cannot take a spawn');
  assert.equal(chooseNode([member('a', 0.02, { headroom: 0.5 }), member('b', 0.02, { headroom: 0.9 })])?.member.nodeName, 'b');
  // A member that names a price of 0 or less (no reserve price is) or a headroom above 1 is lying: it would win every placement.
  assert.equal(chooseNode([self, member('free', 0)])?.member.nodeName, 'here');
  assert.equal(chooseNode([self, member('negative', -1)])?.member.nodeName, 'here');
  assert.equal(chooseNode([self, member('roomy', 0.01, { headroom: 5 })])?.member.nodeName, 'here');
  assert.equal(chooseNode([self, member('same', 0.02)])?.member.nodeName, 'here');
  assert.equal(chooseNode([member('dead', 0.01, { state: 'dead' })]), null);
});

test('GET /v1/fleet and POST /v1/fleet/agents: without a peer token the agent stays on this node; no qualifying node is 503', async () => {
  const daemon = new DaemonDouble();
  const server = await startApiServer({ control: daemon, token: 'test-token-0123456789abcdef' });
  const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> => {
    const response = await fetch(`${server.url}${path}`, { method, headers: { authorization: 'Bearer test-token-0123456789abcdef', ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  try {
    assert.equal((await call('POST', '/v1/fleet/agents', { command: 'node', walletJ: 5 })).status, 503, 'the double has no members: nothing qualifies');
    daemon.fleetMembers = [member('here', 0.02, { self: true, apiUrl: null }), member('cheap', 0.01)];
    const fleet = await call('GET', '/v1/fleet');
    assert.equal((fleet.body['fleet'] as { members: unknown[] }).members.length, 2);
    const placed = await call('POST', '/v1/fleet/agents', { id: 'p1', command: 'node', walletJ: 5 });
    assert.equal(placed.status, 201);
    assert.equal(placed.body['node'], 'here', 'the cheaper node is not used without fleet.peerToken');
    assert.equal(daemon.spawned.at(-1)?.id, 'p1');
  } finally {
    await server.close();
  }
});

test('a member its rack contradicts (trust below 0.5) is not placed on, however cheap it says it is', () => {
  const self = member('here', 0.02, { self: true, apiUrl: null });
  assert.equal(chooseNode([self, member('liar', 0.001, { trust: 0.4, distrusted: 'headroom 0.00 vs 1.00 here (same rack)' })])?.member.nodeName, 'here');
  assert.equal(chooseNode([self, member('doubted', 0.001, { trust: 0.6 })])?.member.nodeName, 'doubted', 'damped a little, still placed on');
});
