/**
 * The delaying UDP proxy on loopback: datagrams arrive whole, after the law's delay (both ways:
 * the target's replies go back through it to the client), lost at the law's rate, the draws
 * seeded; a bad law is named.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { after, test } from 'node:test';
import { isMaxwellError } from '../../../src/errors.js';
import { SeededRandom } from '../../../src/internal/seeded-random.js';
import { checkLaw, drawDelayMs, UdpDelayProxy, type DelayLaw } from '../../../src/research/udp-delay.js';

const closers: (() => Promise<void> | void)[] = [];
after(async () => { for (const c of closers) await c(); });

async function bound(): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  closers.push(() => { s.close(); });
  return s;
}

test('a datagram and its reply each wait the law\'s delay, arrive whole, and the reply comes from the proxy\'s address', async () => {
  const target = await bound();
  // The target echoes every datagram back to its source (as SWIM acks the source of a ping).
  target.on('message', (buf, r) => { target.send(buf, r.port, r.address); });
  const law: DelayLaw = { delayMs: 60, jitterMs: 10, distribution: 'uniform', loss: 0 };
  const proxy = await UdpDelayProxy.start({ listen: { host: '127.0.0.1', port: 0 }, forward: { host: '127.0.0.1', port: target.address().port }, law: () => law, seed: 3 });
  closers.push(() => proxy.close());
  const client = await bound();
  const payload = Buffer.alloc(1400, 7);
  payload.write('whole', 0);
  const sent = performance.now();
  const echo = new Promise<{ buf: Buffer; port: number; ms: number }>((resolve) => {
    client.once('message', (buf, r) => { resolve({ buf, port: r.port, ms: performance.now() - sent }); });
  });
  client.send(payload, proxy.address.port, '127.0.0.1');
  const got = await echo;
  assert.deepEqual(got.buf, payload, 'one datagram, unsplit and unchanged');
  assert.equal(got.port, proxy.address.port, 'the reply leaves from the listening address');
  assert.equal(proxy.delays.length, 2);
  assert.ok(proxy.delays.every((d) => d >= 50 && d <= 70), JSON.stringify(proxy.delays));
  assert.ok(got.ms >= (proxy.delays[0] ?? 0) + (proxy.delays[1] ?? 0) - 2, `round trip ${got.ms.toFixed(1)} ms`);
  assert.deepEqual([proxy.counts.forwarded, proxy.counts.replied, proxy.counts.lost], [1, 1, 0]);
});

test('loss drops the law\'s share of datagrams; the draws are seeded; bad laws are named', async () => {
  const target = await bound();
  let received = 0;
  target.on('message', () => { received++; });
  const proxy = await UdpDelayProxy.start({ listen: { host: '127.0.0.1', port: 0 }, forward: { host: '127.0.0.1', port: target.address().port }, law: () => ({ delayMs: 0, jitterMs: 0, distribution: 'uniform', loss: 0.5 }), seed: 9 });
  closers.push(() => proxy.close());
  const client = await bound();
  // Paced: a burst of 400 would overflow the proxy's receive buffer, and the kernel's drops are not the law's.
  for (let i = 0; i < 400; i++) {
    await new Promise<void>((resolve) => { client.send(Buffer.from([i & 0xff]), proxy.address.port, '127.0.0.1', () => { resolve(); }); });
    if (i % 20 === 19) await new Promise((r) => setTimeout(r, 5));
  }
  const deadline = performance.now() + 5000;
  while (proxy.counts.forwarded + proxy.counts.lost < 400 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.equal(proxy.counts.forwarded + proxy.counts.lost, 400);
  assert.ok(proxy.counts.lost > 150 && proxy.counts.lost < 250, `lost ${String(proxy.counts.lost)} of 400`);
  while (received < proxy.counts.forwarded && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.equal(received, proxy.counts.forwarded);

  const normal: DelayLaw = { delayMs: 100, jitterMs: 20, distribution: 'normal', loss: 0 };
  const draws = (seed: number) => { const r = new SeededRandom(seed); return Array.from({ length: 2000 }, () => drawDelayMs(normal, r)); };
  assert.deepEqual(draws(5), draws(5));
  const xs = draws(5);
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
  assert.ok(Math.abs(mean - 100) < 2 && Math.abs(sd - 20) < 2, `mean ${mean.toFixed(1)}, sd ${sd.toFixed(1)}`);
  assert.ok(drawDelayMs({ delayMs: 5, jitterMs: 50, distribution: 'normal', loss: 0 }, new SeededRandom(1)) >= 0);
  for (const bad of [{ ...normal, loss: 2 }, { ...normal, delayMs: -1 }, { ...normal, jitterMs: Number.NaN }]) {
    assert.throws(() => checkLaw(bad), (e: unknown) => isMaxwellError(e, 'MXW_ERR_FLEET_LAB'));
  }
});
