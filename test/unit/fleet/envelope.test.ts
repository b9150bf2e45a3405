import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { createAliveAuth, EnvelopeCodec, fleetIdentity, fleetNodeId } from '../../../src/fleet/envelope.js';
import { aliveSigningPayload, parseFleetMessage, type FleetMessage, type MemberMeta } from '../../../src/fleet/messages.js';

const identity = () => fleetIdentity(generateKeyPairSync('ed25519').privateKey);
const META: MemberMeta = { headroom: 0.4, meanPrice: 1.2, powerW: 210, location: { zone: 'z1', row: 'r2', rack: 'k3', chassis: 'c4' } };
const GOSSIP: FleetMessage = { t: 'gossip', u: [{ k: 'suspect', id: 'abc', inc: 3, from: 'def' }] };

test('an envelope round-trips: sender id derived from the key, recipient bound, sequence increasing', () => {
  const a = identity();
  const b = identity();
  let clock = 1_700_000_000_000;
  const ca = new EnvelopeCodec({ identity: a, now: () => clock });
  const cb = new EnvelopeCodec({ identity: b, now: () => clock });
  assert.equal(a.id, fleetNodeId(a.publicKey));
  assert.equal(a.id.length, 22);
  const first = cb.decode(ca.encode(GOSSIP, b.id)!);
  const second = cb.decode(ca.encode(GOSSIP, null)!);
  assert.ok(first.ok && second.ok);
  assert.equal(first.from, a.id);
  assert.deepEqual(first.message, GOSSIP);
  assert.ok(second.seq > first.seq);
  clock += 10;
  assert.equal(first.timestampMs, 1_700_000_000_000);
});

test('each way a datagram can be bad has its own drop reason', () => {
  const a = identity();
  const b = identity();
  const c = identity();
  let clock = 1_700_000_000_000;
  const ca = new EnvelopeCodec({ identity: a, now: () => clock });
  const cb = new EnvelopeCodec({ identity: b, now: () => clock });
  const good = ca.encode(GOSSIP, b.id)!;
  assert.ok(cb.decode(good).ok);
  assert.deepEqual(cb.decode(good), { ok: false, reason: 'replayed' });
  const forged = Buffer.from(ca.encode(GOSSIP, b.id)!);
  forged.writeUInt8(forged.readUInt8(forged.length - 70) ^ 1, forged.length - 70); // a body byte: the signature no longer matches
  assert.deepEqual(cb.decode(forged), { ok: false, reason: 'forged' });
  assert.deepEqual(cb.decode(Buffer.alloc(1401)), { ok: false, reason: 'oversized' });
  assert.deepEqual(cb.decode(Buffer.from('hello')), { ok: false, reason: 'malformed' });
  assert.deepEqual(cb.decode(ca.encode(GOSSIP, c.id)!), { ok: false, reason: 'misdirected' });
  const admitting = new EnvelopeCodec({ identity: b, now: () => clock, allowedIds: new Set([c.id]) });
  assert.deepEqual(admitting.decode(ca.encode(GOSSIP, b.id)!), { ok: false, reason: 'unknown-sender' });
  const old = ca.encode(GOSSIP, b.id)!;
  clock += 31_000;
  assert.deepEqual(cb.decode(old), { ok: false, reason: 'skewed' });
  // A signed body that is not a message is malformed, not forged.
  clock -= 31_000;
  assert.deepEqual(cb.decode(ca.encode({ t: 'nack', seq: -1 } as unknown as FleetMessage, b.id)!), { ok: false, reason: 'malformed' });
});

test('the replay window accepts reordering within 64 and refuses duplicates and anything older', () => {
  const a = identity();
  const b = identity();
  const ca = new EnvelopeCodec({ identity: a });
  const cb = new EnvelopeCodec({ identity: b });
  const frames = Array.from({ length: 70 }, () => ca.encode(GOSSIP, b.id)!);
  assert.ok(cb.decode(frames[69]!).ok);
  assert.ok(cb.decode(frames[10]!).ok, '59 behind: inside the window');
  assert.deepEqual(cb.decode(frames[10]!), { ok: false, reason: 'replayed' });
  assert.deepEqual(cb.decode(frames[2]!), { ok: false, reason: 'replayed' }, '67 behind: outside the window');
  assert.deepEqual(cb.decode(ca.encode(GOSSIP, b.id)!).ok, true);
  // Our own datagram reflected back to us.
  const self = new EnvelopeCodec({ identity: a });
  assert.deepEqual(self.decode(ca.encode(GOSSIP, null)!), { ok: false, reason: 'replayed' });
});

test('alive signatures: only the subject can sign its metadata and incarnation', () => {
  const a = identity();
  const auth = createAliveAuth(a);
  const other = createAliveAuth(identity());
  const payload = aliveSigningPayload(a.id, 5, '127.0.0.1:1', META);
  const sig = auth.sign(payload);
  assert.ok(other.verify(a.id, auth.key, payload, sig));
  assert.ok(!other.verify(a.id, auth.key, aliveSigningPayload(a.id, 6, '127.0.0.1:1', META), sig), 'a raised incarnation');
  assert.ok(!other.verify(a.id, other.key, payload, other.sign(payload)), 'a key that is not the id\'s');
  assert.ok(!other.verify(a.id, 'AAAA', payload, sig));
  // The API URL and node name are signed too: a relay cannot point another node's placements at itself.
  const withApi = { ...META, nodeName: 'node-a', apiUrl: 'http://10.0.0.1:7940' };
  const signedApi = auth.sign(aliveSigningPayload(a.id, 5, '127.0.0.1:1', withApi));
  assert.ok(other.verify(a.id, auth.key, aliveSigningPayload(a.id, 5, '127.0.0.1:1', withApi), signedApi));
  assert.ok(!other.verify(a.id, auth.key, aliveSigningPayload(a.id, 5, '127.0.0.1:1', { ...withApi, apiUrl: 'http://10.6.6.6:7940' }), signedApi), 'a rewritten apiUrl');
  assert.ok(!other.verify(a.id, auth.key, aliveSigningPayload(a.id, 5, '127.0.0.1:1', { ...withApi, nodeName: 'node-b' }), signedApi), 'a rewritten node name');
});

test('message bodies are parsed exactly: unknown fields, types and oversized lists are refused', () => {
  assert.deepEqual(parseFleetMessage({ t: 'ack', seq: 1, u: [] }), { t: 'ack', seq: 1, u: [] });
  assert.equal(parseFleetMessage({ t: 'ack', seq: 1, u: [], extra: 1 }), null);
  assert.equal(parseFleetMessage({ t: 'ack', seq: -1, u: [] }), null);
  assert.equal(parseFleetMessage({ t: 'ping', seq: 1, target: 'x', u: Array.from({ length: 65 }, () => ({ k: 'left', id: 'a', inc: 1 })) }), null);
  assert.equal(parseFleetMessage({ t: 'gossip', u: [{ k: 'alive', id: 'a', inc: 1, addr: 'h:1', meta: { ...META, headroom: 'x' } }] }), null);
  assert.equal(parseFleetMessage({ t: 'gossip', u: [{ k: 'alive', id: 'a', inc: 1, addr: 'h:1', meta: { ...META, location: { ...META.location, rack: 'no spaces' } } }] }), null);
  assert.notEqual(parseFleetMessage({ t: 'gossip', u: [{ k: 'alive', id: 'a', inc: 1, addr: 'h:1', meta: META }] }), null);
  assert.equal(parseFleetMessage({ t: 'push-sum', share: { epoch: 1, s: [1, 2], w: 1 } }), null);
  assert.equal(parseFleetMessage(null), null);
});

test('stream envelopes (TCP push-pull) and datagrams do not open as each other; a stream sync may carry more members', () => {
  const a = identity();
  const b = identity();
  const many = Array.from({ length: 200 }, (_, i) => ({ k: 'left' as const, id: `m${String(i)}`, inc: 1 }));
  const streamA = new EnvelopeCodec({ identity: a, channel: 'stream', maxBytes: 1024 * 1024 });
  const streamB = new EnvelopeCodec({ identity: b, channel: 'stream', maxBytes: 1024 * 1024 });
  const datagramB = new EnvelopeCodec({ identity: b });
  const big = streamA.encode({ t: 'sync', reply: true, u: many }, b.id);
  assert.ok(big !== null && big.length > 1400);
  const opened = streamB.decode(big);
  assert.ok(opened.ok && opened.message.t === 'sync' && opened.message.u.length === 200);
  const small = streamA.encode({ t: 'sync', reply: true, u: [] }, b.id);
  assert.ok(small !== null);
  assert.deepEqual(datagramB.decode(small), { ok: false, reason: 'malformed' }, 'a stream envelope is not a datagram');
  const datagram = new EnvelopeCodec({ identity: a }).encode({ t: 'sync', reply: true, u: [] }, b.id);
  assert.ok(datagram !== null);
  assert.deepEqual(streamB.decode(datagram), { ok: false, reason: 'malformed' }, 'a datagram is not a stream envelope');
  assert.equal(parseFleetMessage({ t: 'sync', reply: false, u: many }), null, 'a datagram sync keeps the 64-update limit');
  assert.throws(() => new EnvelopeCodec({ identity: a, maxBytes: 1024 * 1024 }), /invalid maxBytes/);
});

test('a push-sum share may be scoped to the zone, and to nothing else', () => {
  const share = { epoch: 3, s: [0.5, 1, 2], w: 0.5 };
  assert.deepEqual(parseFleetMessage({ t: 'push-sum', share, scope: 'zone' }), { t: 'push-sum', share, scope: 'zone' });
  assert.deepEqual(parseFleetMessage({ t: 'push-sum', share }), { t: 'push-sum', share });
  assert.equal(parseFleetMessage({ t: 'push-sum', share, scope: 'rack' }), null);
});
