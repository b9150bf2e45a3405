/**
 * Push-pull over TCP on the gossip port (stream-sync.ts), with real sockets on 127.0.0.1: ten
 * nodes converge with their periodic push-pulls over TCP; one exchange carries every member
 * (more than a datagram holds); a peer without TCP gets the datagram sync instead; and what a
 * hostile TCP client sends (an oversized length, garbage, a datagram envelope, a signed message
 * that is not a sync request) is dropped and counted.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { connect } from 'node:net';
import { after, test } from 'node:test';
import { EnvelopeCodec, fleetIdentity } from '../../src/fleet/envelope.js';
import type { MemberMeta } from '../../src/fleet/messages.js';
import { requestStreamSync, StreamSyncServer } from '../../src/fleet/stream-sync.js';
import { FleetNode } from '../../src/fleet/transport.js';
import { until } from '../helpers/wait.js';

const swim = { probeIntervalMs: 100, probeTimeoutMs: 50, gossipIntervalMs: 20, pushPullIntervalMs: 300 };
const meta = (i: number): MemberMeta => ({ headroom: 0.5, meanPrice: 1 + i, powerW: 100, location: { zone: 'z1', row: 'r1', rack: `k${String(i)}`, chassis: `c${String(i)}` } });
const nodes: FleetNode[] = [];
const make = (i: number, seeds: string[], pushPullOverTcp = true): FleetNode => {
  const node = new FleetNode({ key: generateKeyPairSync('ed25519').privateKey, seeds, swim, localMetadata: () => meta(i), seed: i + 1, pushPullOverTcp });
  nodes.push(node);
  return node;
};
after(async () => { await Promise.all(nodes.map((n) => n.stop())); });
const hostPort = (addr: string): [string, number] => [addr.split(':')[0] ?? '', Number(addr.split(':')[1])];

test('ten nodes push-pull over TCP: they converge, every exchange completes, and one reply carries all ten members', async () => {
  const seed = make(0, []);
  await seed.start();
  const others = Array.from({ length: 9 }, (_, i) => make(i + 1, [seed.address]));
  await Promise.all(others.map((n) => n.start()));
  const all = [seed, ...others];
  await until('membership converges', () => all.every((n) => n.members().filter((m) => m.state === 'alive').length === 9), 15_000);
  await until('push-pulls over TCP on every node', () => all.every((n) => n.pushPulls.stream >= 2), 15_000);
  for (const n of all) assert.equal(n.pushPulls.failed, 0, 'no push-pull fell back');
  assert.equal(Object.values(seed.drops).reduce((a, b) => a + b, 0), 0, 'nothing honest was dropped');

  // A raw request with a fresh identity: the reply is the seed's whole view, larger than a datagram.
  const codec = new EnvelopeCodec({ identity: fleetIdentity(generateKeyPairSync('ed25519').privateKey), channel: 'stream', maxBytes: 1024 * 1024 });
  const request = codec.encode({ t: 'sync', reply: true, u: [] }, seed.id);
  assert.ok(request !== null);
  const [host, port] = hostPort(seed.address);
  const reply = await requestStreamSync(host, port, request, codec, 5000);
  assert.ok(reply.ok, JSON.stringify(reply));
  const message = reply.message;
  assert.ok(message.t === 'sync', message.t);
  assert.equal(message.u.length, 10, 'itself and its nine members');
  assert.ok(JSON.stringify(message).length > 1400, 'more than one datagram could carry');
});

test('a peer without TCP gets the datagram sync: the push-pull falls back and the two still converge', async () => {
  const a = make(20, []);
  await a.start();
  const b = make(21, [a.address], false);
  await b.start();
  await until('a and b see each other', () => a.members().some((m) => m.id === b.id && m.state === 'alive') && b.members().some((m) => m.id === a.id && m.state === 'alive'), 10_000);
  await until('a tried TCP and fell back', () => a.pushPulls.failed >= 1, 10_000);
  assert.equal(a.members().find((m) => m.id === b.id)?.state, 'alive');
});

test('hostile TCP input on the gossip port is dropped and counted: oversized, garbage, a datagram envelope, a signed non-sync', async () => {
  const target = make(30, []);
  await target.start();
  const [host, port] = hostPort(target.address);
  const send = async (bytes: Buffer): Promise<void> => {
    const socket = connect({ host, port });
    socket.on('error', () => {});
    await once(socket, 'connect');
    socket.write(bytes);
    await once(socket, 'close');
  };
  const framed = (body: Buffer): Buffer => {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(body.length, 0);
    return Buffer.concat([head, body]);
  };
  const before = { ...target.drops };
  // A length far above the 1 MiB limit: closed at once, before any body is read.
  await send(Buffer.from([0x7f, 0xff, 0xff, 0xff]));
  await until('oversized counted', () => target.drops.oversized === before.oversized + 1, 5000);
  await send(framed(Buffer.from('not an envelope, not even close')));
  await until('garbage counted as malformed', () => target.drops.malformed === before.malformed + 1, 5000);
  // A valid, signed datagram envelope (the UDP magic) replayed over TCP: not a stream envelope.
  const identity = fleetIdentity(generateKeyPairSync('ed25519').privateKey);
  const datagram = new EnvelopeCodec({ identity }).encode({ t: 'sync', reply: true, u: [] }, target.id);
  assert.ok(datagram !== null);
  await send(framed(datagram));
  await until('a datagram envelope over TCP counted as malformed', () => target.drops.malformed === before.malformed + 2, 5000);
  // A signed stream envelope that is not a sync request.
  const stream = new EnvelopeCodec({ identity, channel: 'stream', maxBytes: 65_536 }).encode({ t: 'gossip', u: [] }, target.id);
  assert.ok(stream !== null);
  await send(framed(stream));
  await until('a non-sync over TCP counted as malformed', () => target.drops.malformed === before.malformed + 3, 5000);
  assert.equal(target.members().length, 0, 'none of it made a member');
});

test('a peer that trickles bytes is cut at the deadline, and close() does not wait for an open connection', async () => {
  const identity = fleetIdentity(generateKeyPairSync('ed25519').privateKey);
  const codec = new EnvelopeCodec({ identity, channel: 'stream', maxBytes: 65_536 });
  const drops: string[] = [];
  const server = await StreamSyncServer.listen('127.0.0.1', 0, codec, 400, { onRequest: () => ({ t: 'sync', reply: false, u: [] }), onDrop: (r) => drops.push(r) });
  const port = server.port;
  const slow = connect({ host: '127.0.0.1', port });
  slow.on('error', () => {});
  await once(slow, 'connect');
  // A length of 1,000 bytes, then one byte every 100 ms: never idle for long, never done.
  slow.write(Buffer.from([0, 0, 3, 232]));
  const trickle = setInterval(() => { slow.write(Buffer.from([1])); }, 100);
  const t0 = performance.now();
  await once(slow, 'close');
  clearInterval(trickle);
  const cutMs = performance.now() - t0;
  assert.ok(cutMs < 3000, `cut after ${cutMs.toFixed(0)} ms (deadline 400 ms)`);
  const idle = connect({ host: '127.0.0.1', port });
  idle.on('error', () => {});
  await once(idle, 'connect');
  const closing = performance.now();
  await server.close();
  assert.ok(performance.now() - closing < 2000, 'close() cut the idle connection instead of waiting for it');
  idle.destroy();
});
