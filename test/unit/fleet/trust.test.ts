/** Damping liars: a member whose headroom its rack contradicts for long loses trust; honest neighbours keep theirs. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTrustConfig, MAX_RECORDS, NeighbourTrust, type JudgedMember } from '../../../src/fleet/trust.js';
import { stressFromMembers } from '../../../src/fleet/fleet-link.js';
import { isMaxwellError } from '../../../src/errors.js';

const rack = (name: string, chassis = 'c0') => ({ zone: 'z0', row: 'r0', rack: name, chassis });
const member = (id: string, headroom: number, location = rack('k0', `c-${id}`), state = 'alive'): JudgedMember => ({ id, state, meta: { location, headroom } });
const me = { id: 'me', location: rack('k0'), headroom: 1 };

/** Runs `seconds` of once-a-second updates. */
function run(trust: NeighbourTrust, seconds: number, members: readonly JudgedMember[], self = me, startS = 0): number {
  for (let s = startS; s <= startS + seconds; s++) trust.update(s * 1000, self, members);
  return startS + seconds;
}

test('a rack neighbour claiming the throttle point while this node stays cool loses trust down to the floor; an honest one keeps it', () => {
  const trust = new NeighbourTrust({ windowS: 60 });
  const members = [member('me', 1, me.location), member('liar', 0), member('honest', 0.85)];
  run(trust, 20, members);
  assert.equal(trust.trust('liar'), 1, 'twenty seconds is far inside the window: not yet');
  run(trust, 400, members, me, 21);
  assert.equal(trust.trust('liar'), 0.1);
  assert.equal(trust.trust('honest'), 1, 'a gap of 0.15 is inside the tolerance');
  assert.equal(trust.trust('me'), 1, 'this node never judges itself');
  assert.equal(trust.trust('stranger'), 1);
  const why = trust.explain('liar', 421_000) ?? '';
  assert.match(why, /headroom 0\.00 vs 1\.00 here \(same rack\)/);
  assert.match(why, /disagreeing for 420 s/);
  assert.equal(trust.explain('honest', 421_000), null);
});

test('trust falls with the persistence of the gap and comes back when the member agrees again', () => {
  const trust = new NeighbourTrust({ windowS: 60, tolerance: 0.3 });
  let t = run(trust, 300, [member('x', 0)]);
  const low = trust.trust('x');
  assert.ok(low < 0.2, String(low));
  t = run(trust, 120, [member('x', 1)], me, t + 1);
  assert.ok(trust.trust('x') > low, 'agreeing again raises it');
  run(trust, 600, [member('x', 1)], me, t + 1);
  assert.equal(trust.trust('x'), 1);
});

test('in another rack the median of the member\'s rack-mates judges it, with at least two of them reporting; with one, nobody can tell who lies', () => {
  const far = (id: string, h: number) => member(id, h, rack('k9', `c-${id}`));
  const three = new NeighbourTrust({ windowS: 30 });
  run(three, 300, [far('a', 1), far('b', 0.95), far('liar', 0)]);
  assert.equal(three.trust('liar'), 0.1);
  assert.equal(three.trust('a'), 1);
  assert.equal(three.trust('b'), 1);
  assert.match(three.explain('liar', 300_000) ?? '', /its rack's median \(2 others\)/);
  const two = new NeighbourTrust({ windowS: 30 });
  run(two, 300, [far('a', 1), far('liar', 0)]);
  assert.equal(two.trust('liar'), 1);
  assert.equal(two.trust('a'), 1);
  assert.equal(two.view('liar')?.reference, null);
});

test('a member alone in a rack this node does not share is not judged; the dead neither are judged nor witness', () => {
  const trust = new NeighbourTrust({ windowS: 10 });
  const otherRow = member('row', 0, { zone: 'z0', row: 'r1', rack: 'k0', chassis: 'c0' });
  const deadWitnesses = [member('d1', 1, rack('k9', 'c1'), 'dead'), member('d2', 1, rack('k9', 'c2'), 'dead')];
  run(trust, 200, [otherRow, member('ghost', 0, rack('k0'), 'dead'), member('far', 0, rack('k9', 'c3')), ...deadWitnesses]);
  assert.equal(trust.trust('row'), 1, 'nothing witnesses its claim');
  assert.equal(trust.trust('far'), 1, 'dead members are no witnesses');
  assert.equal(trust.view('ghost'), null);
});

test('a hot node does not come to distrust its cool neighbour: only claimed heat is judged', () => {
  const trust = new NeighbourTrust({ windowS: 10 });
  const hot = { ...me, headroom: 0.05 };
  run(trust, 300, [member('cool', 0.9)], hot);
  assert.equal(trust.trust('cool'), 1);
  assert.equal(trust.view('cool')?.gap, 0);
});

test('a liar keeps its record when it leaves and rejoins, and a missing reference does not wash its gap away', () => {
  const trust = new NeighbourTrust({ windowS: 10 });
  let t = run(trust, 200, [member('liar', 0)]);
  const low = trust.trust('liar');
  assert.ok(low < 0.2, String(low));
  t = run(trust, 300, [], me, t + 1);
  assert.equal(trust.trust('liar'), low, 'gone from the member table, still remembered');
  // It comes back in a rack nobody can judge: no evidence either way, so nothing changes.
  run(trust, 300, [member('liar', 0, rack('k7', 'c1'))], me, t + 1);
  assert.equal(trust.trust('liar'), low);
  assert.match(trust.explain('liar', (t + 301) * 1000) ?? '', /nothing to judge it against now/);
});

test('records are bounded: the least recently judged go first', () => {
  const trust = new NeighbourTrust();
  const many = Array.from({ length: MAX_RECORDS + 10 }, (_, i) => member(`m${String(i)}`, 1, rack(`k${String(i)}`)));
  trust.update(0, me, many);
  assert.equal(trust.view('m0'), null);
  assert.ok(trust.view(`m${String(MAX_RECORDS + 9)}`) !== null);
});

test('disabled, every member keeps trust 1; bad settings are coded config errors', () => {
  const trust = new NeighbourTrust({ enabled: false, windowS: 10 });
  run(trust, 300, [member('liar', 0)]);
  assert.equal(trust.trust('liar'), 1);
  assert.equal(trust.explain('liar', 300_000), null);
  for (const bad of [{ tolerance: 1 }, { tolerance: -0.1 }, { windowS: 0 }, { windowS: Number.NaN }, { floor: 2 }]) {
    assert.throws(() => createTrustConfig(bad), (e: unknown) => isMaxwellError(e, 'MXW_ERR_FLEET_CONFIG'), JSON.stringify(bad));
  }
});

test('the coupling counts a member\'s stress × its trust', () => {
  const here = rack('k0');
  const hot = [{ id: 'liar', state: 'alive', meta: { location: rack('k0', 'c1'), headroom: 0 } }];
  const believed = stressFromMembers(here, 'me', hot);
  const damped = stressFromMembers(here, 'me', hot, undefined, () => 0.1);
  assert.ok(believed.multiplier > 3, String(believed.multiplier));
  assert.ok(Math.abs(damped.levels.rack.meanStress - 0.1) < 1e-12, JSON.stringify(damped.levels.rack));
  assert.ok(damped.multiplier < 1.1, String(damped.multiplier));
});
