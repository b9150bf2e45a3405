/**
 * Requests the API fuzz target (bench/fuzz-api.ts) found answered wrongly, kept as regression
 * cases: each must be a 4xx in the API's `{error: {code, message}}` shape, never a 500 or
 * fastify's own error shape.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createApiApp } from '../../../src/api/server.js';
import { MAX_BODY_DEPTH, nestsDeeperThan } from '../../../src/api/wire.js';
import { DaemonDouble } from '../../helpers/daemon-double.js';

const TOKEN = 'test-token-0123456789abcdef';
const auth = { authorization: `Bearer ${TOKEN}` };

function errorOf(body: string): { code: string; message: string } {
  const parsed = JSON.parse(body) as { error?: { code: string; message: string } };
  assert.ok(parsed.error !== undefined, body);
  return parsed.error;
}

describe('hostile requests the fuzzer found', () => {
  let app: FastifyInstance;

  before(async () => {
    app = await createApiApp({ control: new DaemonDouble(), token: TOKEN, kubeExtender: { enabled: true, minHeadroom: 0.05 } });
  });
  after(() => app.close());

  test('a path that is not valid percent-encoding is 400 MXW_ERR_API_VALIDATION (was fastify’s {error, code: FST_ERR_BAD_URL})', async () => {
    const answer = await app.inject({ method: 'GET', url: '/v1/agents/%zz', headers: auth });
    assert.equal(answer.statusCode, 400);
    assert.equal(errorOf(answer.body).code, 'MXW_ERR_API_VALIDATION');
  });

  test('a path parameter above 128 characters is 414 MXW_ERR_API_VALIDATION (was fastify’s FST_ERR_MAX_PARAM_LENGTH shape)', async () => {
    const answer = await app.inject({ method: 'DELETE', url: `/v1/agents/${'a'.repeat(129)}`, headers: auth });
    assert.equal(answer.statusCode, 414);
    assert.equal(errorOf(answer.body).code, 'MXW_ERR_API_VALIDATION');
  });

  test('an extender body nested 5,000 levels deep is 400 MXW_ERR_API_VALIDATION (was 500: the echoed answer overflowed the stack)', async () => {
    const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
    const answer = await app.inject({ method: 'POST', url: '/v1/kube/filter', headers: { 'content-type': 'application/json' }, payload: `{"Nodes":{"items":[],"x":${deep}}}` });
    assert.equal(answer.statusCode, 400);
    const error = errorOf(answer.body);
    assert.equal(error.code, 'MXW_ERR_API_VALIDATION');
    assert.match(error.message, /nested deeper than 64/);
    // A Kubernetes object's real depth passes.
    let nested: unknown = 'leaf';
    for (let i = 0; i < 30; i++) nested = { f: nested };
    const real = await app.inject({ method: 'POST', url: '/v1/kube/filter', headers: { 'content-type': 'application/json' }, payload: { Nodes: { items: [{ metadata: { name: 'node-a', managedFields: [nested] } }] } } });
    assert.equal(real.statusCode, 200, real.body);
  });

  test('deep nesting is refused on every body route, before the schema', async () => {
    const answer = await app.inject({ method: 'POST', url: '/v1/agents', headers: { ...auth, 'content-type': 'application/json' }, payload: `{"command":"x","walletJ":1,"args":${'['.repeat(100)}${']'.repeat(100)}}` });
    assert.equal(answer.statusCode, 400);
    assert.match(errorOf(answer.body).message, /^body: nested deeper/);
  });

  test('a plain GET of the tick stream is 426 MXW_ERR_API_VALIDATION with Upgrade: websocket (was a bare 404 with no body)', async () => {
    const answer = await app.inject({ method: 'GET', url: '/v1/ticks', headers: auth });
    assert.equal(answer.statusCode, 426);
    assert.equal(answer.headers['upgrade'], 'websocket');
    assert.equal(errorOf(answer.body).code, 'MXW_ERR_API_VALIDATION');
    // The token and query are still checked first.
    assert.equal((await app.inject({ method: 'GET', url: '/v1/ticks' })).statusCode, 401);
    assert.equal((await app.inject({ method: 'GET', url: '/v1/ticks?every=x', headers: auth })).statusCode, 400);
  });
});

test('nestsDeeperThan counts arrays and objects, not scalars, and takes any depth without recursion', () => {
  assert.equal(nestsDeeperThan('text', 0), false);
  assert.equal(nestsDeeperThan({}, 0), true);
  assert.equal(nestsDeeperThan({ a: [1, { b: 2 }] }, 3), false);
  assert.equal(nestsDeeperThan({ a: [1, { b: 2 }] }, 2), true);
  assert.equal(nestsDeeperThan(undefined, MAX_BODY_DEPTH), false);
  assert.equal(nestsDeeperThan(JSON.parse(`${'['.repeat(200_000)}${']'.repeat(200_000)}`), MAX_BODY_DEPTH), true);
});
