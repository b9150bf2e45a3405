import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { isLoopbackHost } from '../../../src/api/addresses.js';
import { startApiServer, type ApiServer } from '../../../src/api/server.js';
import type { TickEvent } from '../../../src/api/control.js';
import { DaemonDouble } from '../../helpers/daemon-double.js';

const TOKEN = 'test-token-0123456789abcdef';
/** The /metrics histograms follow every tick from the start. */
const METRICS_LISTENERS = 1;

interface Answer {
  status: number;
  body: Record<string, unknown> & { error?: { code: string; message: string } };
  headers: Headers;
}

function client(server: () => ApiServer) {
  return async (method: string, path: string, options: { body?: string | object; token?: string | null; contentType?: string } = {}): Promise<Answer> => {
    const headers: Record<string, string> = {};
    const token = options.token === undefined ? TOKEN : options.token;
    if (token !== null) headers['authorization'] = `Bearer ${token}`;
    let body: string | undefined;
    if (options.body !== undefined) {
      body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
      headers['content-type'] = options.contentType ?? 'application/json';
    }
    const response = await fetch(`${server().url}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
    return { status: response.status, body: (await response.json()) as Answer['body'], headers: response.headers };
  };
}

describe('control API over real HTTP on 127.0.0.1', () => {
  let server: ApiServer;
  let daemon: DaemonDouble;
  const call = client(() => server);

  before(async () => {
    daemon = new DaemonDouble();
    server = await startApiServer({ control: daemon, token: TOKEN });
  });
  after(() => server.close());

  test('listens on loopback, on an ephemeral port', () => {
    assert.equal(server.host, '127.0.0.1');
    assert.ok(server.port > 0);
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  test('a missing or wrong token is 401 MXW_ERR_API_AUTH, on reads and writes alike', async () => {
    for (const [method, path] of [['GET', '/v1/agents'], ['GET', '/v1/state'], ['POST', '/v1/agents'], ['DELETE', '/v1/agents/a'], ['GET', '/v1/nope']] as const) {
      const missing = await call(method, path, { token: null });
      assert.equal(missing.status, 401, `${method} ${path}`);
      assert.equal(missing.body.error?.code, 'MXW_ERR_API_AUTH');
      assert.match(missing.headers.get('www-authenticate') ?? '', /^Bearer/);
      const wrong = await call(method, path, { token: `${TOKEN}x` });
      assert.equal(wrong.status, 401);
      assert.equal(wrong.body.error?.code, 'MXW_ERR_API_AUTH');
    }
    // The token is not taken from the query string on plain routes.
    const inQuery = await call('GET', `/v1/agents?token=${TOKEN}`, { token: null });
    assert.equal(inQuery.status, 401);
  });

  test('health needs no token and says nothing but that it is up', async () => {
    const health = await call('GET', '/v1/health', { token: null });
    assert.equal(health.status, 200);
    assert.deepEqual(health.body, { ok: true, pid: process.pid });
  });

  test('spawn, list, show, bid, wallet, top-up, stop', async () => {
    const spawned = await call('POST', '/v1/agents', { body: { id: 'sci-1', command: 'node', args: ['a.js'], walletJ: 5000, bid: { pricePerQuantumJ: 0.02 }, role: 'scientist' } });
    assert.equal(spawned.status, 201);
    assert.equal((spawned.body['agent'] as { id: string }).id, 'sci-1');
    assert.deepEqual(daemon.spawned.at(-1), { id: 'sci-1', command: 'node', args: ['a.js'], walletJ: 5000, bid: { pricePerQuantumJ: 0.02 }, role: 'scientist' });

    const list = await call('GET', '/v1/agents');
    assert.deepEqual((list.body['agents'] as { id: string }[]).map((a) => a.id), ['sci-1']);
    assert.equal(((await call('GET', '/v1/agents/sci-1')).body['agent'] as { balanceJ: number }).balanceJ, 5000);

    const bid = await call('PUT', '/v1/agents/sci-1/bid', { body: { pricePerQuantumJ: 0.05, budgetJ: 1, plane: 'cpu' } });
    assert.equal(bid.status, 200);
    assert.equal(bid.body['outcome'], 'accepted');

    const topped = await call('POST', '/v1/wallets/sci-1/top-up', { body: { joules: 250 } });
    assert.equal(topped.status, 200);
    assert.deepEqual(topped.body['wallet'], { agentId: 'sci-1', balanceJ: 5250, balanceMicroJ: '5250000000' });
    assert.equal(((await call('GET', '/v1/wallets/sci-1')).body['wallet'] as { balanceJ: number }).balanceJ, 5250);

    const stopped = await call('DELETE', '/v1/agents/sci-1');
    assert.equal(stopped.status, 200);
    assert.equal((stopped.body['agent'] as { phase: string }).phase, 'dead');
    const late = await call('PUT', '/v1/agents/sci-1/bid', { body: { pricePerQuantumJ: 0.05 } });
    assert.equal(late.status, 409);
    assert.equal(late.body.error?.code, 'MXW_ERR_AGENT_STATE');
  });

  test('inference: a request without a server is 503 with its code; with a staked agent the answer comes back; bad asks are 400', async () => {
    const none = await call('POST', '/v1/inference', { body: { prompt: 'hello' } });
    assert.equal(none.status, 503);
    assert.equal(none.body.error?.code, 'MXW_ERR_INFERENCE_NO_SERVER');
    await call('POST', '/v1/agents', { body: { id: 'gpt-1', command: 'node', walletJ: 100, stakeJ: 10, claims: 'inference' } });
    assert.equal(daemon.spawned.at(-1)?.stakeJ, 10);
    const answered = await call('POST', '/v1/inference', { body: { prompt: [1, 2, 3], maxNewTokens: 3, bidJ: 0.5, agentId: 'gpt-1' } });
    assert.equal(answered.status, 200);
    assert.equal((answered.body['answer'] as { agentId: string }).agentId, 'gpt-1');
    assert.deepEqual(daemon.asks.at(-1), { prompt: [1, 2, 3], maxNewTokens: 3, bidJ: 0.5, agentId: 'gpt-1' });
    for (const [body, field] of [[{ prompt: '' }, 'body.prompt'], [{ prompt: 'x', maxNewTokens: 0 }, 'body.maxNewTokens'], [{ prompt: 'x', bidJ: -1 }, 'body.bidJ'], [{ prompt: 'x', extra: 1 }, 'body']] as const) {
      const bad = await call('POST', '/v1/inference', { body });
      assert.equal(bad.status, 400, JSON.stringify(body));
      assert.match(bad.body.error?.message ?? '', new RegExp(field.replace('.', '\\.')));
    }
    await call('DELETE', '/v1/agents/gpt-1');
  });

  test('unknown agents are 404 MXW_ERR_AGENT_UNKNOWN on every agent route', async () => {
    for (const [method, path, body] of [
      ['GET', '/v1/agents/ghost', undefined],
      ['DELETE', '/v1/agents/ghost', undefined],
      ['PUT', '/v1/agents/ghost/bid', { pricePerQuantumJ: 1 }],
      ['GET', '/v1/wallets/ghost', undefined],
      ['POST', '/v1/wallets/ghost/top-up', { joules: 1 }],
    ] as const) {
      const answer = await call(method, path, body === undefined ? {} : { body });
      assert.equal(answer.status, 404, `${method} ${path}`);
      assert.equal(answer.body.error?.code, 'MXW_ERR_AGENT_UNKNOWN');
    }
  });

  test('unknown routes are 404 MXW_ERR_API_NOT_FOUND', async () => {
    const answer = await call('GET', '/v1/nothing');
    assert.equal(answer.status, 404);
    assert.equal(answer.body.error?.code, 'MXW_ERR_API_NOT_FOUND');
  });

  test('garbage JSON, a non-object body, a wrong media type and an oversized body are refused with codes', async () => {
    const garbage = await call('POST', '/v1/agents', { body: '{"command": "x", walletJ: }' });
    assert.equal(garbage.status, 400);
    assert.equal(garbage.body.error?.code, 'MXW_ERR_API_VALIDATION');
    const array = await call('POST', '/v1/agents', { body: '[1,2]' });
    assert.equal(array.status, 400);
    assert.equal(array.body.error?.code, 'MXW_ERR_API_VALIDATION');
    const empty = await call('POST', '/v1/agents', { body: '' });
    assert.equal(empty.status, 400);
    assert.equal(empty.body.error?.code, 'MXW_ERR_API_VALIDATION');
    const text = await call('POST', '/v1/agents', { body: 'hello', contentType: 'text/plain' });
    assert.equal(text.status, 415);
    assert.equal(text.body.error?.code, 'MXW_ERR_API_VALIDATION');
    const huge = await call('POST', '/v1/agents', { body: { command: 'x', walletJ: 1, args: ['a'.repeat(70_000)] } });
    assert.equal(huge.status, 413);
    assert.equal(huge.body.error?.code, 'MXW_ERR_API_VALIDATION');
    const poisoned = await call('POST', '/v1/agents', { body: '{"command":"x","walletJ":1,"__proto__":{"admin":true}}' });
    assert.equal(poisoned.status, 400);
    assert.equal(poisoned.body.error?.code, 'MXW_ERR_API_VALIDATION');
  });

  test('unknown fields are refused, naming the field', async () => {
    const answer = await call('POST', '/v1/agents', { body: { command: 'x', walletJ: 1, wallet: 5 } });
    assert.equal(answer.status, 400);
    assert.equal(answer.body.error?.code, 'MXW_ERR_API_VALIDATION');
    assert.match(answer.body.error.message, /wallet/);
    const runtime = await call('POST', '/v1/agents', { body: { command: 'x', walletJ: 1, runtime: 'docker' } });
    assert.equal(runtime.status, 400);
    assert.match(runtime.body.error?.message ?? '', /runtime/);
    const nested = await call('POST', '/v1/agents', { body: { command: 'x', walletJ: 1, bid: { pricePerQuantumJ: 1, max: 2 } } });
    assert.equal(nested.status, 400);
    const bid = await call('PUT', '/v1/agents/a/bid', { body: { pricePerQuantumJ: 1, seq: 3 } });
    assert.equal(bid.status, 400);
    const query = await call('GET', '/v1/agents?verbose=1');
    assert.equal(query.status, 400);
    assert.equal(query.body.error?.code, 'MXW_ERR_API_VALIDATION');
  });

  test('negative, NaN, infinite, huge or mistyped amounts are 400 with the field named', async () => {
    const bad: [string, string, string][] = [
      ['POST', '/v1/agents', '{"command":"x","walletJ":-5}'],
      ['POST', '/v1/agents', '{"command":"x","walletJ":0}'],
      ['POST', '/v1/agents', '{"command":"x","walletJ":"NaN"}'],
      ['POST', '/v1/agents', '{"command":"x","walletJ":1e400}'],
      ['POST', '/v1/agents', '{"command":"x","walletJ":1e12}'],
      ['POST', '/v1/agents', '{"command":"x","walletJ":"5000"}'],
      ['POST', '/v1/agents', '{"command":"","walletJ":5}'],
      ['POST', '/v1/agents', '{"command":"x","walletJ":5,"env":{"MAXWELL_TOKEN":"t"}}'],
      ['POST', '/v1/agents', '{"command":"x","walletJ":5,"bid":{"pricePerQuantumJ":-0.01}}'],
      ['PUT', '/v1/agents/a/bid', '{"pricePerQuantumJ":-1}'],
      ['PUT', '/v1/agents/a/bid', '{"pricePerQuantumJ":1e300}'],
      ['PUT', '/v1/agents/a/bid', '{"pricePerQuantumJ":1,"plane":"tpu"}'],
      ['PUT', '/v1/agents/a/bid', '{}'],
      ['POST', '/v1/wallets/a/top-up', '{"joules":-1}'],
      ['POST', '/v1/wallets/a/top-up', '{"joules":1e10}'],
    ];
    for (const [method, path, body] of bad) {
      const answer = await call(method, path, { body });
      assert.equal(answer.status, 400, `${method} ${path} ${body}: ${JSON.stringify(answer.body)}`);
      assert.equal(answer.body.error?.code, 'MXW_ERR_API_VALIDATION', body);
      assert.match(answer.body.error.message, /^body\./, body);
    }
    const badId = await call('GET', `/v1/agents/${'x'.repeat(65)}`);
    assert.equal(badId.status, 400);
    assert.match(badId.body.error!.message, /^params\.id/);
    assert.equal(badId.body.error?.code, 'MXW_ERR_AGENT_ID', 'the same code as the daemon and the runtimes give');
  });

  test('daemon errors map to statuses: exists 409, start failure 422, absurd bid 400', async () => {
    await call('POST', '/v1/agents', { body: { id: 'dup', command: 'x', walletJ: 1 } });
    const dup = await call('POST', '/v1/agents', { body: { id: 'dup', command: 'x', walletJ: 1 } });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.error?.code, 'MXW_ERR_AGENT_EXISTS');
    const start = await call('POST', '/v1/agents', { body: { command: 'no-such-command', walletJ: 1 } });
    assert.equal(start.status, 422);
    assert.equal(start.body.error?.code, 'MXW_ERR_AGENT_START');
    const absurd = await call('PUT', '/v1/agents/dup/bid', { body: { pricePerQuantumJ: 100 } });
    assert.equal(absurd.status, 400);
    assert.equal(absurd.body.error?.code, 'MXW_ERR_API_BID_REJECTED');
  });

  test('a failure inside the daemon is 500 MXW_ERR_INTERNAL', async () => {
    const original = daemon.snapshot.bind(daemon);
    daemon.snapshot = () => {
      throw new TypeError('boom');
    };
    try {
      const answer = await call('GET', '/v1/state');
      assert.equal(answer.status, 500);
      assert.equal(answer.body.error?.code, 'MXW_ERR_INTERNAL');
    } finally {
      daemon.snapshot = original;
    }
  });

  test('ledger entries page with fromSeq, limit and agentId; amounts are decimal strings', async () => {
    const first = await call('GET', '/v1/ledger/entries?limit=1');
    assert.equal(first.status, 200);
    const entries = first.body['entries'] as { seq: number; amountMicroJ: string }[];
    assert.equal(entries.length, 1);
    assert.equal(typeof entries[0]?.amountMicroJ, 'string');
    assert.equal(first.body['nextSeq'], 2);
    const filtered = await call('GET', '/v1/ledger/entries?fromSeq=1&limit=1000&agentId=sci-1');
    assert.ok((filtered.body['entries'] as { to: string }[]).every((e) => e.to === 'agent:sci-1'));
    assert.equal(filtered.body['nextSeq'], null);
    for (const q of ['limit=0', 'limit=1001', 'limit=-1', 'limit=1.5', 'limit=abc', 'fromSeq=0', 'fromSeq=', 'agentId=a%20b']) {
      const answer = await call('GET', `/v1/ledger/entries?${q}`);
      assert.equal(answer.status, 400, q);
      assert.equal(answer.body.error?.code, q.startsWith('agentId') ? 'MXW_ERR_AGENT_ID' : 'MXW_ERR_API_VALIDATION', q);
    }
  });

  test('ledger verify, state and decisions', async () => {
    const verify = await call('GET', '/v1/ledger/verify');
    assert.equal((verify.body['report'] as { ok: boolean }).ok, true);
    assert.equal(typeof (verify.body['report'] as { totals: { mintedMicroJ: unknown } }).totals.mintedMicroJ, 'string');
    const state = await call('GET', '/v1/state');
    assert.equal((state.body['snapshot'] as { planes: unknown[] }).planes.length, 2);
    daemon.emitTick('dup');
    const decisions = await call('GET', '/v1/decisions?limit=1');
    assert.equal((decisions.body['decisions'] as { action: string }[])[0]?.action, 'pause');
  });

  test('the tick stream delivers tick events to a client with the token in a header or the query', async () => {
    const events: TickEvent[] = [];
    const wsUrl = `${server.url.replace('http', 'ws')}/v1/ticks`;
    const viaHeader = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${TOKEN}` } });
    const viaQuery = new WebSocket(`${wsUrl}?token=${TOKEN}&every=2`);
    const queryEvents: TickEvent[] = [];
    viaHeader.on('message', (data: Buffer) => events.push(JSON.parse(data.toString('utf8')) as TickEvent));
    viaQuery.on('message', (data: Buffer) => queryEvents.push(JSON.parse(data.toString('utf8')) as TickEvent));
    await Promise.all([viaHeader, viaQuery].map((ws) => new Promise((resolve) => ws.once('open', resolve))));
    // Subscriptions are made in the upgrade handler; wait until both are in (the metrics hold one more).
    while (daemon.listenerCount < METRICS_LISTENERS + 2) await new Promise((resolve) => setTimeout(resolve, 5));
    const sent = [daemon.emitTick('dup'), daemon.emitTick(), daemon.emitTick(), daemon.emitTick()];
    while (events.length < 4 || queryEvents.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.deepEqual(events.map((e) => e.tick), sent.map((e) => e.tick));
    assert.deepEqual(events[0], JSON.parse(JSON.stringify(sent[0])));
    assert.deepEqual(queryEvents.map((e) => e.tick), [sent[1]?.tick, sent[3]?.tick]);
    viaHeader.close();
    viaQuery.close();
    while (daemon.listenerCount > METRICS_LISTENERS) await new Promise((resolve) => setTimeout(resolve, 5));
  });

  test('the tick stream refuses a missing or wrong token before the upgrade, with 401 and a code', async () => {
    const wsUrl = `${server.url.replace('http', 'ws')}/v1/ticks`;
    for (const url of [wsUrl, `${wsUrl}?token=wrong-token-wrong-token`]) {
      const refused = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const ws = new WebSocket(url);
        ws.on('open', () => { reject(new Error('opened without a token')); });
        ws.on('unexpected-response', (_req, res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
          res.on('end', () => { resolve({ status: res.statusCode ?? 0, body }); });
        });
      });
      assert.equal(refused.status, 401);
      assert.equal((JSON.parse(refused.body) as { error: { code: string } }).error.code, 'MXW_ERR_API_AUTH');
    }
    assert.equal(daemon.listenerCount, METRICS_LISTENERS, 'no stream subscribed');
  });
});

describe('server options', () => {
  test('a short token or a bad port is refused with MXW_ERR_API_OPTIONS', async () => {
    const control = new DaemonDouble();
    await assert.rejects(startApiServer({ control, token: 'short' }), { code: 'MXW_ERR_API_OPTIONS' });
    await assert.rejects(startApiServer({ control, token: TOKEN, port: 70_000 }), { code: 'MXW_ERR_API_OPTIONS' });
    await assert.rejects(startApiServer({ control, token: TOKEN, host: '' }), { code: 'MXW_ERR_API_OPTIONS' });
  });

  test('a non-loopback host is warned about', async () => {
    const warnings: string[] = [];
    const server = await startApiServer({ control: new DaemonDouble(), token: TOKEN, host: '0.0.0.0', onWarning: (_message, code) => {
      warnings.push(code);
    } });
    await server.close();
    assert.deepEqual(warnings, ['MXW_WARN_API_NOT_LOOPBACK']);
    const quiet: string[] = [];
    const local = await startApiServer({ control: new DaemonDouble(), token: TOKEN, host: 'localhost', onWarning: (_m, code) => {
      quiet.push(code);
    } });
    await local.close();
    assert.deepEqual(quiet, []);
  });

  test('isLoopbackHost', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost', 'LOCALHOST']) assert.ok(isLoopbackHost(host), host);
    for (const host of ['0.0.0.0', '::', '192.168.1.4', 'example.com', '128.0.0.1']) assert.ok(!isLoopbackHost(host), host);
  });
});
