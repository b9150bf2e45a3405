import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isMaxwellError } from '../../../src/errors.js';
import { SeededRandom } from '../../../src/internal/seeded-random.js';
import { simulateSwim } from '../../../src/fleet/simulation.js';
import { createSwimConfig, dynamicSuspicionMs, pushPullIntervalMs, retransmitLimit, suspicionTimeoutMs } from '../../../src/fleet/swim-config.js';
import { Swim } from '../../../src/fleet/swim.js';
import type { MemberMeta } from '../../../src/fleet/messages.js';

const META: MemberMeta = { headroom: 0.5, meanPrice: 1, powerW: 200, location: { zone: 'z', row: 'r', rack: 'k', chassis: 'c' } };

/** A lossless in-memory network of Swims on one manual clock, stepped 1 ms at a time. */
function network(n: number, lifeguard = true) {
  let now = 0;
  const nodes = Array.from({ length: n }, (_, i) => new Swim({ id: `n${i}`, addr: `a${i}`, meta: META, now: () => now, random: new SeededRandom(i + 1), config: { lifeguard } }));
  const down = new Set<number>();
  const deaf = new Set<number>();
  const inflight: { at: number; to: number; from: number; m: ReturnType<Swim['drain']>[number]['message'] }[] = [];
  const step = (ms: number) => {
    for (let t = 0; t < ms; t++) {
      now++;
      nodes.forEach((s, i) => {
        if (down.has(i)) return;
        if (s.nextDeadlineMs() <= now) s.tick();
      });
      const due = inflight.filter((d) => d.at <= now);
      const later = inflight.filter((d) => d.at > now);
      inflight.length = 0;
      inflight.push(...later);
      for (const d of due) if (!down.has(d.to) && !deaf.has(d.to)) nodes[d.to]!.receive(`n${d.from}`, `a${d.from}`, d.m);
      nodes.forEach((s, i) => {
        for (const o of s.drain()) inflight.push({ at: now + 2, to: Number(o.to.slice(1)), from: i, m: o.message });
      });
    }
  };
  return { nodes, down, deaf, step };
}

test('defaults are memberlist\'s LAN defaults, and every bad option is named in a coded error', () => {
  const c = createSwimConfig();
  assert.deepEqual([c.probeIntervalMs, c.probeTimeoutMs, c.indirectChecks, c.retransmitMult, c.suspicionMult, c.suspicionMaxTimeoutMult, c.pushPullIntervalMs, c.awarenessMaxMultiplier, c.gossipIntervalMs, c.gossipNodes], [1000, 500, 3, 4, 4, 6, 30_000, 8, 200, 3]);
  assert.equal(suspicionTimeoutMs(c, 1000), 12_000);
  assert.equal(retransmitLimit(c, 1000), 16);
  assert.equal(pushPullIntervalMs(c, 1000), 30_000 * 6);
  assert.equal(dynamicSuspicionMs(12_000, 72_000, 2, 0), 72_000);
  assert.equal(dynamicSuspicionMs(12_000, 72_000, 2, 2), 12_000);
  for (const bad of [{ probeTimeoutMs: 1000 }, { indirectChecks: 1.5 }, { gossipNodes: 0 }, { maxPayloadBytes: 10 }]) {
    assert.throws(() => createSwimConfig(bad), (e: unknown) => isMaxwellError(e, 'MXW_ERR_FLEET_CONFIG'));
  }
});

test('five nodes join through one seed, learn each other, and declare a silent one dead', () => {
  const { nodes, down, step } = network(5);
  for (const s of nodes.slice(1)) s.join(['a0']);
  step(3000);
  for (const s of nodes) assert.equal(s.members().filter((m) => m.state === 'alive').length, 4, `${s.id} sees everyone`);
  down.add(4);
  let periods = 0;
  while (!nodes.slice(0, 4).every((s) => s.member('n4')?.state === 'dead') && periods < 60) {
    step(1000);
    periods++;
  }
  assert.ok(periods < 60, 'n4 declared dead by all');
  const events = nodes[0]!.drainEvents().filter((e) => e.id === 'n4').map((e) => e.state);
  assert.deepEqual(events.slice(-2), ['suspect', 'dead']);
});

test('a live node refutes a suspicion about it with a higher incarnation, and Lifeguard counts it', () => {
  const { nodes, step } = network(3);
  for (const s of nodes.slice(1)) s.join(['a0']);
  step(2000);
  const before = nodes[2]!.incarnation;
  nodes[0]!.learn({ k: 'suspect', id: 'n2', inc: before, from: 'n1' });
  assert.equal(nodes[0]!.member('n2')?.state, 'suspect');
  step(3000);
  assert.ok(nodes[2]!.incarnation > before);
  assert.equal(nodes[0]!.member('n2')?.state, 'alive');
  // A liar's inflated incarnation is clamped: the subject's next refutation still outranks it.
  nodes[0]!.learn({ k: 'dead', id: 'n1', inc: 2 ** 40, from: 'n2' });
  assert.equal(nodes[0]!.member('n1')?.incarnation, nodes[1]!.incarnation);
  step(3000);
  assert.equal(nodes[0]!.member('n1')?.state, 'alive');
  assert.ok(nodes[1]!.incarnation < 100);
});

test('Lifeguard: a node that hears no acks raises its awareness score, and lowers it again', () => {
  const { nodes, deaf, step } = network(4);
  for (const s of nodes.slice(1)) s.join(['a0']);
  step(2000);
  assert.equal(nodes[0]!.awareness.valueOf(), 0, "healthy");
  // Node 0 loses all its inbound traffic: its probes fail and the helpers' nacks never come.
  deaf.add(0);
  step(6000);
  const peak = nodes[0]!.awareness;
  assert.ok(peak >= 3 && peak <= 7, `awareness ${peak}`);
  deaf.delete(0);
  step(60_000);
  assert.ok(nodes[0]!.awareness < peak, `awareness ${nodes[0]!.awareness} after recovery`);
});

test('the simulation is deterministic, finds the crashed node, and Lifeguard cuts false accusations by slow nodes', () => {
  const run = (lifeguard: boolean) => simulateSwim({ n: 60, seed: 3, loss: 0.05, lifeguard, warmupMs: 5000, afterCrashMs: 40_000 });
  const a = run(true);
  assert.deepEqual(run(true), a);
  assert.equal(a.undetected, 0);
  assert.ok(a.firstSuspectPeriods >= 0 && a.firstSuspectPeriods < 10);
  const off = run(false);
  assert.ok(a.healthyRefutationsPerNodeMinute < off.healthyRefutationsPerNodeMinute, `${a.healthyRefutationsPerNodeMinute} vs ${off.healthyRefutationsPerNodeMinute}`);
});

test('a node whose join was lost asks its seeds again, every probe period, until it knows a live member', () => {
  let now = 0;
  const lonely = new Swim({ id: 'late', addr: 'b0', meta: META, now: () => now, random: new SeededRandom(7) });
  lonely.join(['seed0']);
  assert.deepEqual(lonely.drain().map((o) => [o.to, o.message.t]), [['seed0', 'sync']]);
  // The seed was not up: the sync is lost. A probe period later the node asks again.
  let asked = 0;
  for (let t = 0; t < 3500; t += 10) {
    now = t;
    if (lonely.nextDeadlineMs() <= now) lonely.tick();
    asked += lonely.drain().filter((o) => o.to === 'seed0' && o.message.t === 'sync').length;
  }
  assert.ok(asked >= 3, `asked the seed again ${String(asked)} times in 3.5 s`);
  // Once it knows a live member it stops asking.
  lonely.learn({ k: 'alive', id: 'seed0id', inc: 1, addr: 'seed0', meta: META });
  lonely.drain();
  let after = 0;
  for (let t = 3500; t < 7000; t += 10) {
    now = t;
    if (lonely.nextDeadlineMs() <= now) lonely.tick();
    after += lonely.drain().filter((o) => o.message.t === 'sync').length;
  }
  assert.equal(after, 0);
});

test('the member table is capped and, with an admission rule, holds only admitted ids; refusals are counted and known members still update', () => {
  const now = 0;
  const capped = new Swim({ id: 'self', addr: 'a', meta: META, now: () => now, random: new SeededRandom(3), config: { maxMembers: 10 } });
  // A flood of new ids, as one push-pull from anyone with keys could bring.
  for (let i = 0; i < 500; i++) capped.learn({ k: 'alive', id: `x${String(i)}`, inc: 1, addr: `b${String(i)}`, meta: META });
  assert.equal(capped.members().length, 9, 'nine others: with this node, the table holds 10');
  assert.equal(capped.refusedMembers, 491);
  // A member already known still refutes and updates: the cap is on new records only.
  capped.learn({ k: 'alive', id: 'x0', inc: 2, addr: 'moved', meta: META });
  assert.equal(capped.member('x0')?.addr, 'moved');
  assert.equal(capped.refusedMembers, 491);

  const admitted = new Set(['self', 'friend']);
  const closed = new Swim({ id: 'self', addr: 'a', meta: META, now: () => now, random: new SeededRandom(4), admit: (id) => admitted.has(id) });
  closed.learn({ k: 'alive', id: 'stranger', inc: 1, addr: 's', meta: META });
  closed.learn({ k: 'alive', id: 'friend', inc: 1, addr: 'f', meta: META });
  assert.deepEqual(closed.members().map((m) => m.id), ['friend']);
  assert.equal(closed.refusedMembers, 1);
  assert.throws(() => createSwimConfig({ maxMembers: 1 }), (e: unknown) => isMaxwellError(e, 'MXW_ERR_FLEET_CONFIG'));
});

test('dead and left members are reaped after gossipToTheDeadMs, which frees their places in a capped table', () => {
  let now = 0;
  const s = new Swim({ id: 'self', addr: 'a', meta: META, now: () => now, random: new SeededRandom(5), config: { maxMembers: 4, gossipToTheDeadMs: 5000 } });
  for (const id of ['x', 'y', 'z']) s.learn({ k: 'alive', id, inc: 1, addr: `addr-${id}`, meta: META });
  s.learn({ k: 'alive', id: 'w', inc: 1, addr: 'addr-w', meta: META });
  assert.equal(s.refusedMembers, 1, 'the table is full');
  s.learn({ k: 'dead', id: 'x', inc: 1, from: 'y' });
  s.learn({ k: 'left', id: 'y', inc: 1 });
  const advance = (ms: number) => {
    for (const end = now + ms; now < end; now += 10) if (s.nextDeadlineMs() <= now) s.tick();
  };
  advance(4000);
  // z answers no pings here (there is no network), so it is suspect by now; it is not dead, and stays.
  assert.deepEqual(s.members().map((m) => [m.id, m.state === 'suspect' ? 'alive' : m.state]).sort(), [['x', 'dead'], ['y', 'left'], ['z', 'alive']], 'still gossiped to, so they can learn and refute');
  advance(2000);
  assert.deepEqual(s.members().map((m) => m.id), ['z']);
  assert.equal(s.reapedMembers, 2);
  s.learn({ k: 'alive', id: 'w', inc: 1, addr: 'addr-w', meta: META });
  assert.equal(s.member('w')?.state, 'alive', 'a newcomer takes a reaped place');
  s.learn({ k: 'alive', id: 'x', inc: 1, addr: 'addr-x', meta: META });
  assert.equal(s.member('x'), undefined, 'an old alive update (a delayed sync, a replay) does not bring a reaped member back');
  s.learn({ k: 'alive', id: 'x', inc: 2, addr: 'addr-x', meta: META });
  assert.equal(s.member('x')?.state, 'alive', 'a reaped member that comes back with a newer incarnation joins as new');
});

test('a ping-req is relayed only to a member this node knows, at the address it knows', () => {
  const now = 0;
  const s = new Swim({ id: 'self', addr: 'a', meta: META, now: () => now, random: new SeededRandom(6) });
  s.learn({ k: 'alive', id: 'known', inc: 1, addr: 'addr-known', meta: META });
  s.learn({ k: 'alive', id: 'gone', inc: 1, addr: 'addr-gone', meta: META });
  s.learn({ k: 'dead', id: 'gone', inc: 1, from: 'known' });
  s.drain();
  s.receive('known', 'addr-known', { t: 'ping-req', seq: 1, target: 'known', addr: '198.51.100.7:9', nack: false, u: [] });
  const relayed = s.drain().filter((o) => o.message.t === 'ping');
  assert.deepEqual(relayed.map((o) => [o.to, o.toId]), [['addr-known', 'known']], 'to the address it knows, not the one in the request');
  s.receive('known', 'addr-known', { t: 'ping-req', seq: 2, target: 'gone', addr: '198.51.100.7:9', nack: false, u: [] });
  assert.deepEqual(s.drain().filter((o) => o.message.t === 'ping').map((o) => o.to), ['addr-gone'], 'a member held dead is still known: relayed, at its known address');
  for (const target of ['stranger', 'self']) s.receive('known', 'addr-known', { t: 'ping-req', seq: 3, target, addr: '198.51.100.7:9', nack: true, u: [] });
  const answers = s.drain();
  assert.deepEqual(answers.filter((o) => o.message.t === 'ping'), []);
  assert.equal(s.refusedRelays, 2);
  // Lifeguard: the prober hears a nack, not silence, so its own health score does not suffer.
  assert.deepEqual(answers.map((o) => [o.to, o.message.t]), [['addr-known', 'nack'], ['addr-known', 'nack']]);
});

test('Lifeguard: probing a crashed node through healthy helpers leaves the prober\'s awareness at 0 (their nacks arrive before the probe period ends)', () => {
  const { nodes, down, step } = network(5);
  for (const s of nodes.slice(1)) s.join(['a0']);
  step(3000);
  for (const s of nodes) assert.equal(s.members().filter((m) => m.state === 'alive').length, 4);
  down.add(4);
  let peak = 0;
  for (let ms = 0; ms < 30_000 && !nodes.slice(0, 4).every((s) => s.member('n4')?.state === 'dead'); ms += 10) {
    step(10);
    peak = Math.max(peak, ...nodes.slice(0, 4).map((s) => s.awareness));
  }
  assert.ok(nodes.slice(0, 4).every((s) => s.member('n4')?.state === 'dead'), 'n4 declared dead by all');
  // A helper that heard nothing from the target nacks: the silence is the target's, not the prober's.
  assert.equal(peak, 0, `a healthy prober's awareness rose to ${String(peak)}`);
});
