import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { isMaxwellError } from '../../src/errors.js';
import { connectMaxwell } from '../../src/protocol/client.js';
import { FrameDecoder, encodeFrame, parseFrameBody } from '../../src/protocol/frames.js';
import { PrimeOracle } from '../../src/market/prime-oracle.js';
import { toPrimeClaim, type AgentMessage } from '../../src/protocol/messages.js';
import { ProtocolServer, type AgentEndpoint, type RejectedEvent } from '../../src/protocol/server.js';
import { repoPath } from '../helpers/repo.js';
import { until } from '../helpers/wait.js';
import { agentId } from '../helpers/agent-id.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mxw-proto-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A raw connection: write bytes, collect every frame until the daemon closes it. */
function raw(path: string): { socket: Socket; frames: Promise<unknown[]> } {
  const socket = createConnection(path);
  const decoder = new FrameDecoder(1 << 20);
  const frames: unknown[] = [];
  socket.on('error', () => undefined);
  socket.on('data', (chunk: Buffer) => {
    const r = decoder.push(chunk);
    if (r.ok) for (const body of r.frames) { const j = parseFrameBody(body); frames.push(j.ok ? j.value : null); }
  });
  return { socket, frames: new Promise((resolve) => socket.on('close', () => { resolve(frames); })) };
}

const hello = (ep: AgentEndpoint, token = ep.token): Buffer => encodeFrame({ type: 'hello', protocol: 1, agentId: ep.agentId, token });

async function setup(limits = {}): Promise<{ server: ProtocolServer; a: AgentEndpoint; b: AgentEndpoint; rejected: RejectedEvent[]; messages: { agentId: string; message: AgentMessage }[] }> {
  const server = new ProtocolServer({ runtimeDir: join(dir, `rt-${Math.random().toString(36).slice(2, 8)}`), limits });
  const rejected: RejectedEvent[] = [];
  const messages: { agentId: string; message: AgentMessage }[] = [];
  server.on('rejected', (e) => rejected.push(e));
  server.on('message', (e) => messages.push(e));
  const a = await server.addAgent(agentId('agent-a'));
  const b = await server.addAgent(agentId('agent-b'));
  return { server, a, b, rejected, messages };
}

test('round trip: hello → welcome, bid/work/ping reach the consumer with seq, notices reach the agent', async () => {
  const { server, a, messages } = await setup();
  assert.equal((await stat(a.socketPath)).mode & 0o777, 0o600);
  assert.equal((await stat(join(a.socketPath, '..'))).mode & 0o777, 0o700);
  const connected = new Promise((resolve) => server.once('connect', resolve));
  const c = await connectMaxwell({ env: a.env });
  assert.deepEqual(await connected, { agentId: 'agent-a' });
  assert.equal(c.agentId, 'agent-a');
  assert.equal(c.limits.maxFrameBytes, 65_536);
  assert.ok(server.isConnected(agentId('agent-a')));

  const grants: unknown[] = [];
  c.on('grant', (g) => grants.push(g));
  const results: unknown[] = [];
  c.on('result', (r) => results.push(r));
  const pong = new Promise((resolve) => c.once('pong', resolve));

  assert.equal(await c.bid({ pricePerQuantumJ: 0.002, plane: 'cpu' }), 1);
  assert.deepEqual(await c.reportPrimes([100n, 110n], [107n, 101n, 103n, 109n]), [2]);
  await c.ping('n1');
  assert.deepEqual(await pong, { type: 'pong', nonce: 'n1' });
  while (messages.length < 3) await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(messages.map((m) => m.message), [
    { type: 'bid', seq: 1, pricePerQuantumJ: 0.002, plane: 'cpu' },
    { type: 'work', seq: 2, kind: 'primes', range: ['100', '110'], primes: ['101', '103', '107', '109'] },
    { type: 'ping', nonce: 'n1' },
  ]);
  assert.ok(server.send(agentId('agent-a'), { type: 'grant', tick: 5, plane: 1, quanta: 2, paidJ: 0.004 }));
  assert.ok(server.send(agentId('agent-a'), { type: 'result', seq: 2, outcome: 'accepted', counts: { accepted: 4 }, incomeJ: 4 }));
  while (results.length < 1) await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(grants, [{ type: 'grant', tick: 5, plane: 1, quanta: 2, paidJ: 0.004 }]);
  assert.deepEqual(results, [{ type: 'result', seq: 2, outcome: 'accepted', counts: { accepted: 4 }, incomeJ: 4 }]);

  const disconnected = new Promise((resolve) => server.once('disconnect', resolve));
  await c.close();
  assert.deepEqual(await disconnected, { agentId: 'agent-a', code: null });
  assert.equal(server.send(agentId('agent-a'), { type: 'balance', balanceJ: 1 }), false);
  await server.close();
  await assert.rejects(stat(a.socketPath), { code: 'ENOENT' });
});

test('a large prime report is split into frames that tile its range', async () => {
  const { server, a, messages } = await setup();
  const c = await connectMaxwell({ env: a.env });
  const primes = Array.from({ length: 12_000 }, (_, i) => 10_000_000_000n + BigInt(2 * i + 1));
  const seqs = await c.reportPrimes([10_000_000_000n, 10_000_100_000n], primes);
  assert.ok(seqs.length >= 3, `${seqs.length} frames`);
  while (messages.length < seqs.length) await new Promise((r) => setTimeout(r, 5));
  const works = messages.map((m) => m.message).filter((m) => m.type === 'work');
  assert.equal(works.reduce((n, w) => n + w.primes.length, 0), 12_000);
  assert.equal(works[0]!.range[0], '10000000000');
  assert.equal(works.at(-1)!.range[1], '10000100000');
  for (let i = 1; i < works.length; i++) assert.equal(works[i]!.range[0], works[i - 1]!.range[1]);
  await c.close();
  await server.close();
});

/** Sends `bytes` on agent-a's socket, expects that connection closed with `code`, and agent-b unharmed. */
async function expectRejected(name: string, code: string, bytes: (a: AgentEndpoint) => Buffer[], opts: { end?: boolean; limits?: object } = {}): Promise<void> {
  const { server, a, b, rejected } = await setup(opts.limits);
  const other = await connectMaxwell({ env: b.env });
  const conn = raw(a.socketPath);
  for (const chunk of bytes(a)) conn.socket.write(chunk);
  if (opts.end === true) conn.socket.end();
  const frames = await conn.frames;
  const last = frames.at(-1) as { type: string; code: string } | undefined;
  assert.equal(last?.type, 'error', `${name}: ${JSON.stringify(frames)}`);
  assert.equal(last.code, code, name);
  assert.equal(rejected.length, 1, name);
  assert.equal(rejected[0]!.code, code, name);
  assert.equal(server.rejections[code as keyof typeof server.rejections], 1, name);
  assert.equal(server.rejectionsOf(agentId('agent-a'))?.[code as keyof typeof server.rejections], 1, name);
  // The other agent's connection works on.
  const pong = new Promise((resolve) => other.once('pong', resolve));
  await other.ping('still-here');
  assert.deepEqual(await pong, { type: 'pong', nonce: 'still-here' }, name);
  assert.ok(server.isConnected(agentId('agent-b')));
  await other.close();
  await server.close();
}

const prefix = (n: number): Buffer => { const h = Buffer.alloc(4); h.writeUInt32BE(n); return h; };

test('garbage bytes close that connection (malformed or oversized), not the daemon', async () => {
  await expectRejected('garbage', 'MXW_ERR_PROTOCOL_FRAME_TOO_LARGE', () => [Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')]);
  await expectRejected('garbage after hello', 'MXW_ERR_PROTOCOL_MALFORMED', (a) => [hello(a), prefix(8), Buffer.from([0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3])]);
});

test('an oversized length prefix closes the connection with MXW_ERR_PROTOCOL_FRAME_TOO_LARGE', async () => {
  await expectRejected('oversized', 'MXW_ERR_PROTOCOL_FRAME_TOO_LARGE', (a) => [hello(a), prefix(65_537)]);
});

test('a truncated frame closes the connection with MXW_ERR_PROTOCOL_TRUNCATED', async () => {
  await expectRejected('truncated', 'MXW_ERR_PROTOCOL_TRUNCATED', (a) => [hello(a), encodeFrame({ type: 'ping' }).subarray(0, 9)], { end: true });
});

test('invalid JSON closes the connection with MXW_ERR_PROTOCOL_MALFORMED', async () => {
  await expectRejected('invalid json', 'MXW_ERR_PROTOCOL_MALFORMED', (a) => [hello(a), prefix(9), Buffer.from('{"type":x')]);
});

test('a schema-invalid message closes the connection with MXW_ERR_PROTOCOL_SCHEMA', async () => {
  await expectRejected('schema', 'MXW_ERR_PROTOCOL_SCHEMA', (a) => [hello(a), encodeFrame({ type: 'bid', seq: 1, pricePerQuantumJ: 'cheap' })]);
});

test('a wrong token, or another agent\'s id, closes the connection with MXW_ERR_PROTOCOL_AUTH', async () => {
  await expectRejected('wrong token', 'MXW_ERR_PROTOCOL_AUTH', (a) => [hello(a, 'not-the-token')]);
  await expectRejected('other id', 'MXW_ERR_PROTOCOL_AUTH', (a) => [encodeFrame({ type: 'hello', protocol: 1, agentId: 'agent-b', token: a.token })]);
  await expectRejected('bad version', 'MXW_ERR_PROTOCOL_VERSION', (a) => [encodeFrame({ type: 'hello', protocol: 99, agentId: a.agentId, token: a.token })]);
});

test('no hello: a message first, or silence past the hello timeout, is MXW_ERR_PROTOCOL_UNAUTHENTICATED', async () => {
  await expectRejected('bid first', 'MXW_ERR_PROTOCOL_UNAUTHENTICATED', () => [encodeFrame({ type: 'bid', seq: 1, pricePerQuantumJ: 1 })]);
  await expectRejected('silence', 'MXW_ERR_PROTOCOL_UNAUTHENTICATED', () => [], { limits: { helloTimeoutMs: 100 } });
});

test('a flood beyond the rate limit closes the connection with MXW_ERR_PROTOCOL_RATE_LIMIT', async () => {
  const ping = encodeFrame({ type: 'ping' });
  await expectRejected('flood', 'MXW_ERR_PROTOCOL_RATE_LIMIT', (a) => [hello(a), Buffer.concat(Array.from({ length: 500 }, () => ping))]);
});

test('a second connection of a connected agent is refused with MXW_ERR_PROTOCOL_BUSY; the first keeps working', async () => {
  const { server, a } = await setup();
  const first = await connectMaxwell({ env: a.env });
  await assert.rejects(connectMaxwell({ env: a.env }), (e) => isMaxwellError(e, 'MXW_ERR_PROTOCOL_BUSY'));
  const pong = new Promise((resolve) => first.once('pong', resolve));
  await first.ping();
  await pong;
  await first.close();
  await server.close();
});

test('the client reports connect failures and the daemon\'s refusal by code', async () => {
  const { server, a } = await setup();
  await assert.rejects(connectMaxwell({ env: {} }), (e) => isMaxwellError(e, 'MXW_ERR_PROTOCOL_CONNECT'));
  await assert.rejects(connectMaxwell({ env: { ...a.env, MAXWELL_SOCKET: join(dir, 'absent.sock') } }), (e) => isMaxwellError(e, 'MXW_ERR_PROTOCOL_CONNECT'));
  await assert.rejects(connectMaxwell({ env: { ...a.env, MAXWELL_TOKEN: 'wrong' } }), (e) => isMaxwellError(e, 'MXW_ERR_PROTOCOL_AUTH'));
  await server.close();
});

test('the client paces itself below the announced rate, so bursts are never refused', async () => {
  // The client's bucket holds 90 of the 100 frames: 10 spare absorb ≈ 55 ms of the daemon's
  // reading late (one process here: a stall of either side) without a refusal.
  const { server, a, rejected, messages } = await setup({ framesPerS: 200, burstFrames: 100 });
  const c = await connectMaxwell({ env: a.env });
  assert.equal(c.limits.burstFrames, 100, 'the client reports the announced depth');
  const bids = 160;
  const started = performance.now();
  await Promise.all(Array.from({ length: bids }, (_, i) => c.bid({ pricePerQuantumJ: i })));
  const elapsedS = (performance.now() - started) / 1000;
  await until(`${String(bids)} bids received`, () => messages.length >= bids || rejected.length > 0);
  assert.deepEqual(rejected, []);
  // 89 at once (the hello took a token), then 71 at 0.9 × 200/s ≈ 0.39 s: never faster.
  assert.ok(elapsedS > 0.3, `${elapsedS} s`);
  assert.deepEqual(messages.map((m) => m.message.type === 'bid' ? m.message.seq : -1), Array.from({ length: bids }, (_, i) => i + 1));
  await c.close();
  await server.close();
});

test('an agent that stops reading is closed with MXW_ERR_PROTOCOL_SLOW_READER, and send returns false', async () => {
  const { server, a, rejected } = await setup({ maxQueuedBytes: 4096 });
  const conn = raw(a.socketPath);
  conn.socket.write(hello(a));
  while (!server.isConnected(agentId('agent-a'))) await new Promise((r) => setTimeout(r, 5));
  conn.socket.pause();
  let sent = 0;
  const price = { type: 'price', tick: 0, reservePerPlane: Array.from({ length: 200 }, () => 0.123456789) } as const;
  for (let i = 0; i < 10_000 && server.send(agentId('agent-a'), { ...price, tick: i }); i++) sent++;
  assert.ok(sent < 10_000);
  assert.equal(rejected[0]?.code, 'MXW_ERR_PROTOCOL_SLOW_READER');
  conn.socket.destroy();
  await server.close();
});

test('the scientist agent bids and reports verified primes to a real server', async () => {
  const { server, a, messages } = await setup();
  const child = spawn(process.execPath, [repoPath('dist/src/agents/scientist.js'), '--segment-kib', '16', '--bid', '0.003', '--segments-per-second', '50'], {
    env: { ...process.env, ...a.env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  while (messages.filter((m) => m.message.type === 'work').length < 3) await new Promise((r) => setTimeout(r, 10));
  const bid = messages.find((m) => m.message.type === 'bid')?.message;
  assert.deepEqual(bid, { type: 'bid', seq: 1, pricePerQuantumJ: 0.003 });
  const first = messages.find((m) => m.message.type === 'work')?.message;
  assert.ok(first?.type === 'work');
  assert.deepEqual(first.range, ['2', String(2 + 16 * 1024)]);
  assert.equal(first.primes.length, 1900); // π(16386) = 1900
  assert.equal(first.primes[0], '2');
  // What it reports is what the oracle pays for: every prime new and verified.
  const verdict = new PrimeOracle(1000n).verify('agent-a', toPrimeClaim(first));
  assert.equal(verdict.counts.accepted, 1900);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  server.send(agentId('agent-a'), { type: 'apoptosis', graceMs: 1000, balanceJ: 0 });
  assert.equal(await exited, 0);
  const last = JSON.parse(stdout.trim().split('\n').at(-1)!) as { type: string; segments: number };
  assert.equal(last.type, 'summary');
  await server.close();
});

test('the leech bids and, with --report-garbage, claims composites that the oracle rejects', async () => {
  const { server, a, messages } = await setup();
  const child = spawn(process.execPath, [repoPath('dist/src/agents/leech.js'), '--difficulty', '6', '--bid', '0.01', '--report-garbage', '--hashes-per-second', '2000'], {
    env: { ...process.env, ...a.env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  while (!messages.some((m) => m.message.type === 'work')) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(messages[0]?.message, { type: 'bid', seq: 1, pricePerQuantumJ: 0.01 });
  const work = messages.find((m) => m.message.type === 'work')?.message;
  assert.ok(work?.type === 'work');
  const verdict = new PrimeOracle(1000n).verify('agent-a', toPrimeClaim(work));
  assert.deepEqual([verdict.counts.accepted, verdict.counts.composite], [0, 4]);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await server.close(); // the daemon going away ends the agent cleanly
  assert.equal(await exited, 0);
});
