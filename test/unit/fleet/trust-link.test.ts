/**
 * A liar in this node's rack, end to end over real UDP on loopback: its claimed heat first raises
 * this node's prices, then, as this node stays cool, it is damped, the prices fall back, and
 * `maxwell fleet` says why. An honest rack neighbour a little warmer keeps its trust.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { formatFleet } from '../../../src/cli/commands/daemon-api.js';
import { loadConfig } from '../../../src/config/load.js';
import { FleetLink } from '../../../src/fleet/fleet-link.js';
import { FleetNode } from '../../../src/fleet/transport.js';
import { until } from '../../helpers/wait.js';

test('a rack neighbour claiming the throttle point while this node stays cool is damped: prices fall back and `maxwell fleet` explains', { timeout: 60_000 }, async (t) => {
  const rack = { zone: 'z0', row: 'r0', rack: 'k0' };
  const config = (overrides: Record<string, unknown>) =>
    loadConfig({ flags: [{ fleet: { enabled: true, host: '127.0.0.1', port: 0, trust: { windowS: 3 }, ...overrides } }] }).fleet;
  const factors: number[] = [];
  const cool = new FleetLink({ config: config({ nodeName: 'cool', location: { ...rack, chassis: 'c0' } }), key: generateKeyPairSync('ed25519').privateKey, local: () => ({ headroom: 1, meanPriceJ: 0.1, powerW: 10 }), onPriceMultiplier: (m) => factors.push(m) });
  await cool.start();
  t.after(() => cool.stop());
  const seed = cool.snapshot().address ?? '';
  const warm = new FleetLink({ config: config({ nodeName: 'warm', seeds: [seed], location: { ...rack, chassis: 'c1' } }), key: generateKeyPairSync('ed25519').privateKey, local: () => ({ headroom: 0.85, meanPriceJ: 0.12, powerW: 12 }) });
  await warm.start();
  t.after(() => warm.stop());
  const liar = new FleetNode({ key: generateKeyPairSync('ed25519').privateKey, seeds: [seed], localMetadata: () => ({ headroom: 0, meanPrice: 0.05, powerW: 1e4, location: { ...rack, chassis: 'c2' }, nodeName: 'liar' }) });
  await liar.start();
  t.after(() => liar.stop());

  await until('the liar to raise the price factor above 1.5', () => factors.some((f) => f > 1.5), 20_000);
  const peak = Math.max(...factors);
  await until('the liar to be damped', () => (cool.snapshot().members.find((m) => m.nodeName === 'liar')?.trust ?? 1) <= 0.15, 30_000);
  await until(`the price factor to fall back (now ${String(cool.priceMultiplier())})`, () => cool.priceMultiplier() < 1.3, 10_000);

  const snapshot = cool.snapshot();
  const seen = (name: string) => snapshot.members.find((m) => m.nodeName === name);
  assert.ok(peak > 1.5, `the liar was believed at first: factor ${String(peak)}`);
  assert.equal(seen('warm')?.trust, 1, 'an honest neighbour 0.15 warmer keeps its trust');
  assert.equal(seen('warm')?.distrusted, null);
  assert.match(seen('liar')?.distrusted ?? '', /headroom 0\.00 vs 1\.00 here \(same rack\), disagreeing for \d+ s; mean gap 0\.\d\d > tolerance 0\.30/);
  const shown = formatFleet(snapshot);
  assert.match(shown, /damped \(their stress and push-sum shares count × trust; below 0\.5 nothing is placed on them\):\n {2}liar: trust 0\.1\d: headroom 0\.00 vs 1\.00/);
});
