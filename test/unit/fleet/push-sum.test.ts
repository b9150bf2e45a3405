import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isMaxwellError } from '../../../src/errors.js';
import { PushSum, createPushSumConfig, relativeError } from '../../../src/fleet/push-sum.js';
import { simulatePushSum } from '../../../src/fleet/simulation.js';

test('push-sum conserves mass and converges to the mean; the simulation is deterministic', () => {
  const a = simulatePushSum({ n: 500, seed: 1, loss: 0 });
  assert.deepEqual(simulatePushSum({ n: 500, seed: 1, loss: 0 }), a);
  assert.ok(a.roundsToEpsilon !== null && a.roundsToEpsilon <= 40, `rounds ${a.roundsToEpsilon}`);
  assert.ok(a.finalError < 1e-3);
  const liar = simulatePushSum({ n: 500, seed: 1, loss: 0, liars: 1 });
  assert.ok(liar.headroomBias > a.headroomBias, 'a liar biases the estimate');
  assert.ok(liar.headroomBias <= 0.5, 'but by at most half the range with the caps');
});

test('a share is clamped to the physical ranges and the weight caps; stale and future epochs are told apart', () => {
  const p = new PushSum({ ranges: [[0, 1], [0, 10], [0, 1000]], epochRounds: 10, maxShareWeight: 1 });
  p.begin(5, [0.5, 2, 100], 1001);
  assert.equal(p.receive('x', { epoch: 4, s: [1, 1, 1], w: 1 }), 'stale');
  assert.equal(p.receive('x', { epoch: 6, s: [1, 1, 1], w: 1 }), 'future');
  assert.equal(p.receive('x', { epoch: 5, s: [1, 1, 1], w: 0 }), 'rejected');
  // A liar claims headroom 50 with a weight of 100: counted as headroom 1 at weight 1.
  assert.equal(p.receive('liar', { epoch: 5, s: [5000, 0, 0], w: 100 }), 'clamped');
  assert.deepEqual(p.estimate(), [0.75, 1, 50]);
  assert.equal(p.receive('liar', { epoch: 5, s: [1, 0, 0], w: 1 }), 'clamped', 'its weight for the epoch is spent');
  assert.equal(p.weight, 2);
  const half = p.share();
  assert.equal(p.weight, 1);
  p.keep(half);
  assert.equal(p.weight, 2);
  p.begin(6, [0, 0, 0], 11);
  assert.deepEqual(p.last(), { epoch: 5, estimate: [0.75, 1, 50] });
  assert.throws(() => createPushSumConfig({ epochRounds: 0 }), (e: unknown) => isMaxwellError(e, 'MXW_ERR_FLEET_CONFIG'));
  assert.equal(relativeError([1.001, 0, 2], [1, 0, 2]), 0.0009999999999998899);
});

test('a damped sender\'s share counts × its trust: its weight shrinks, the value it implies does not move', () => {
  const believed = new PushSum();
  const damped = new PushSum();
  for (const p of [believed, damped]) p.begin(1, [1, 1, 100], 2);
  const share = { epoch: 1, s: [0, 0, 0] as const, w: 0.5 };
  assert.equal(believed.receive('liar', share), 'accepted');
  assert.equal(damped.receive('liar', share, 0.1), 'damped');
  assert.equal(damped.clamped, 0, 'damping is not clamping');
  assert.ok(Math.abs(damped.weight - 1.05) < 1e-12, String(damped.weight));
  assert.ok(Math.abs((believed.estimate()?.[0] ?? 0) - 1 / 1.5) < 1e-12);
  assert.ok(Math.abs((damped.estimate()?.[0] ?? 0) - 1 / 1.05) < 1e-12, 'the liar pulls the estimate 10 × less');
});

test('a sender trusted not at all adds nothing', () => {
  const p = new PushSum();
  p.begin(1, [1, 1, 100], 2);
  assert.equal(p.receive('liar', { epoch: 1, s: [0, 0, 0], w: 0.5 }, 0), 'clamped');
  assert.equal(p.weight, 1);
});
