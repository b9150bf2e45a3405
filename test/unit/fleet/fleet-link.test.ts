/** The daemon's fleet link refuses the one configuration that would hand its write access out: a peer token in an open fleet. */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { reachableApiUrl } from '../../../src/api/addresses.js';
import { loadConfig } from '../../../src/config/load.js';
import { FleetLink, stressFromMembers } from '../../../src/fleet/fleet-link.js';
import { isMaxwellError } from '../../../src/errors.js';

const key = generateKeyPairSync('ed25519').privateKey;
const local = () => ({ headroom: 1, meanPriceJ: 0.1, powerW: 10 });

test('fleet.peerToken without fleet.allowedIds is MXW_ERR_FLEET_CONFIG; with them, or without a token, the link is made', () => {
  const open = loadConfig({ flags: [{ fleet: { enabled: true, peerToken: 'a-shared-secret-0123' } }] });
  assert.throws(() => new FleetLink({ config: open.fleet, key, local }), (e: unknown) => isMaxwellError(e, 'MXW_ERR_FLEET_CONFIG') && /fleet\.allowedIds/.test(e.message));
  const closed = loadConfig({ flags: [{ fleet: { enabled: true, peerToken: 'a-shared-secret-0123', allowedIds: ['CM7qFvmWk6tyFEZRihQOfQ'] } }] });
  assert.doesNotThrow(() => new FleetLink({ config: closed.fleet, key, local }));
  const tokenless = loadConfig({ flags: [{ fleet: { enabled: true } }] });
  assert.doesNotThrow(() => new FleetLink({ config: tokenless.fleet, key, local }));
});

test('a wildcard API listener is published under the gossip address, or not at all', () => {
  assert.equal(reachableApiUrl('http://10.0.0.5:7940', '10.0.0.5', '10.0.0.5'), 'http://10.0.0.5:7940');
  assert.equal(reachableApiUrl('http://0.0.0.0:7940', '0.0.0.0', '10.0.0.5'), 'http://10.0.0.5:7940');
  assert.equal(reachableApiUrl('http://[::]:7940', '::', 'fd00::5'), 'http://[fd00::5]:7940');
  assert.equal(reachableApiUrl('http://0.0.0.0:7940', '0.0.0.0', '0.0.0.0'), null, 'other nodes dialling 0.0.0.0 would reach themselves');
  assert.equal(reachableApiUrl('http://0.0.0.0:7940', '0.0.0.0', '127.0.0.1'), null);
});

test('a suspect peer keeps its heat in the stress; the dead, the departed and this node itself do not', () => {
  const here = { zone: 'z0', row: 'r0', rack: 'k0', chassis: 'c0' };
  const hot = (id: string, state: string) => ({ id, state, meta: { location: { ...here, chassis: `c-${id}` }, headroom: 0 } });
  const alone = stressFromMembers(here, 'me', [{ id: 'me', state: 'alive', meta: { location: here, headroom: 0 } }]);
  assert.equal(alone.multiplier, 1, 'a node does not stress itself');
  const alive = stressFromMembers(here, 'me', [hot('a', 'alive')]);
  assert.ok(alive.multiplier > 1);
  assert.equal(stressFromMembers(here, 'me', [hot('a', 'suspect')]).multiplier, alive.multiplier, 'a suspicion does not drop the heat');
  assert.equal(stressFromMembers(here, 'me', [hot('a', 'dead')]).multiplier, 1);
  assert.equal(stressFromMembers(here, 'me', [hot('a', 'left')]).multiplier, 1);
});

test('the link tells the thermal state its price factor when a neighbour heats up, and again when that neighbour leaves (real UDP on loopback)', { timeout: 60_000 }, async (t) => {
  const here = { zone: 'z0', row: 'r0', rack: 'k0', chassis: 'c0' };
  const factors: number[] = [];
  const config = (overrides: Record<string, unknown>) => loadConfig({ flags: [{ fleet: { enabled: true, host: '127.0.0.1', port: 0, location: here, ...overrides } }] }).fleet;
  const cool = new FleetLink({ config: config({ nodeName: 'cool' }), key, local: () => ({ headroom: 1, meanPriceJ: 0.1, powerW: 10 }), onPriceMultiplier: (m) => factors.push(m) });
  await cool.start();
  t.after(() => cool.stop());
  const address = cool.snapshot().address;
  assert.ok(address !== null);
  const hot = new FleetLink({ config: config({ nodeName: 'hot', seeds: [address], location: { ...here, chassis: 'c1' } }), key: generateKeyPairSync('ed25519').privateKey, local: () => ({ headroom: 0, meanPriceJ: 0.4, powerW: 40 }) });
  await hot.start();
  const until = async (what: string, ok: () => boolean): Promise<void> => {
    const end = Date.now() + 30_000;
    while (!ok()) {
      if (Date.now() > end) assert.fail(`timed out waiting for ${what}; factors so far ${JSON.stringify(factors)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  await until('the hot neighbour to raise the factor', () => factors.some((f) => f > 1));
  assert.equal(factors.at(-1), cool.priceMultiplier(), 'the last factor told is the one in force');
  assert.ok(cool.priceMultiplier() <= 4, 'capped by fleet.maxPriceMultiplier');
  await hot.stop();
  await until('the factor to fall back to 1 once the neighbour left', () => factors.at(-1) === 1);
});
