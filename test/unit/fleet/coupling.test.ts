import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isMaxwellError } from '../../../src/errors.js';
import { createHierarchyCoupling, fleetStress, sharedLevel, DEFAULT_HIERARCHY_COUPLING } from '../../../src/fleet/coupling.js';
import type { FleetLocation } from '../../../src/fleet/messages.js';

const at = (zone: string, row: string, rack: string, chassis: string): FleetLocation => ({ zone, row, rack, chassis });
const me = at('z1', 'r1', 'k1', 'c1');

test('defaults are the midpoints of the design ranges, checked', () => {
  assert.deepEqual({ ...DEFAULT_HIERARCHY_COUPLING }, { chassis: 0.95, rack: 0.725, row: 0.425, zone: 0.175 });
  assert.throws(() => createHierarchyCoupling({ rack: 1 }), (e: unknown) => isMaxwellError(e, 'MXW_ERR_FLEET_CONFIG'));
  assert.throws(() => createHierarchyCoupling({ zone: 0.9 }), (e: unknown) => isMaxwellError(e, 'MXW_ERR_FLEET_CONFIG'));
});

test('each peer counts at the nearest level it shares', () => {
  assert.equal(sharedLevel(me, at('z1', 'r1', 'k1', 'c1')), 'chassis');
  assert.equal(sharedLevel(me, at('z1', 'r1', 'k1', 'c2')), 'rack');
  assert.equal(sharedLevel(me, at('z1', 'r1', 'k2', 'c1')), 'row');
  assert.equal(sharedLevel(me, at('z1', 'r2', 'k1', 'c1')), 'zone');
  assert.equal(sharedLevel(me, at('z2', 'r1', 'k1', 'c1')), null);
});

test('a hot rack raises its cool members\' prices first: rack > row > zone > other zones', () => {
  const hot = (loc: FleetLocation) => [{ location: loc, headroom: 0 }];
  const rack = fleetStress(me, hot(at('z1', 'r1', 'k1', 'c9')));
  const row = fleetStress(me, hot(at('z1', 'r1', 'k9', 'c1')));
  const zone = fleetStress(me, hot(at('z1', 'r9', 'k1', 'c1')));
  const far = fleetStress(me, hot(at('z9', 'r1', 'k1', 'c1')));
  assert.ok(Math.abs(rack.multiplier - 1 / (1 - 0.725)) < 1e-12);
  assert.ok(rack.multiplier > row.multiplier && row.multiplier > zone.multiplier && zone.multiplier > far.multiplier);
  assert.equal(far.multiplier, 1);
  assert.equal(fleetStress(me, []).multiplier, 1);
  // Means per level: one hot peer among ten cool ones in the rack; liars' values are clamped.
  const mixed = fleetStress(me, [...Array.from({ length: 9 }, () => ({ location: at('z1', 'r1', 'k1', 'c2'), headroom: 1 })), { location: at('z1', 'r1', 'k1', 'c3'), headroom: -50 }]);
  assert.ok(Math.abs(mixed.levels.rack.meanStress - 0.1) < 1e-12);
  assert.equal(mixed.levels.rack.peers, 10);
  // Levels combine: hot everywhere stays finite.
  const all = fleetStress(me, [at('z1', 'r1', 'k1', 'c1'), at('z1', 'r1', 'k1', 'c2'), at('z1', 'r1', 'k2', 'c1'), at('z1', 'r2', 'k1', 'c1')].map((location) => ({ location, headroom: 0 })));
  assert.ok(all.external < 1 && Number.isFinite(all.multiplier) && all.multiplier > rack.multiplier);
});
