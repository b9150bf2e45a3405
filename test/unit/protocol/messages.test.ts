import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkDaemonMessage } from '../../../src/protocol/client.js';
import { base64ToFloat32, float32ToBase64 } from '../../../src/protocol/frames.js';
import { isOutcomeCode, parseAgentMessage, parseHello, toPrimeClaim } from '../../../src/protocol/messages.js';

test('hello must come first and be complete', () => {
  assert.ok(parseHello({ type: 'hello', protocol: 1, agentId: 'sci-1', token: 't' }).ok);
  const bid = parseHello({ type: 'bid', seq: 1, pricePerQuantumJ: 1 });
  assert.ok(!bid.ok && bid.fault.code === 'MXW_ERR_PROTOCOL_UNAUTHENTICATED');
  const noToken = parseHello({ type: 'hello', protocol: 1, agentId: 'sci-1' });
  assert.ok(!noToken.ok && noToken.fault.code === 'MXW_ERR_PROTOCOL_SCHEMA' && /token/.test(noToken.fault.message));
  const badId = parseHello({ type: 'hello', protocol: 1, agentId: '../etc', token: 't' });
  assert.ok(!badId.ok && badId.fault.code === 'MXW_ERR_PROTOCOL_SCHEMA');
  assert.ok(!parseHello([1, 2]).ok);
});

test('bids, work and pings parse; seq is kept as sent', () => {
  const bid = parseAgentMessage({ type: 'bid', seq: 7, pricePerQuantumJ: 0.002, budgetJ: 10, plane: 'cpu' });
  assert.ok(bid.ok);
  assert.deepEqual(bid.message, { type: 'bid', seq: 7, pricePerQuantumJ: 0.002, budgetJ: 10, plane: 'cpu' });
  const work = parseAgentMessage({ type: 'work', seq: 8, kind: 'primes', range: ['100', '18446744073709551615'], primes: ['101', '18446744073709551557'] });
  assert.ok(work.ok && work.message.type === 'work' && work.message.seq === 8);
  assert.deepEqual(toPrimeClaim(work.message), { from: 100n, to: 18446744073709551615n, primes: [101n, 18446744073709551557n] });
  assert.ok(parseAgentMessage({ type: 'ping' }).ok);
});

test('schema-invalid messages are refused with MXW_ERR_PROTOCOL_SCHEMA naming the field', () => {
  const cases: [unknown, RegExp][] = [
    [{ type: 'bid', seq: -1, pricePerQuantumJ: 1 }, /seq/],
    [{ type: 'bid', seq: 1.5, pricePerQuantumJ: 1 }, /seq/],
    [{ type: 'bid', seq: 1, pricePerQuantumJ: -1 }, /pricePerQuantumJ/],
    [{ type: 'bid', seq: 1, pricePerQuantumJ: 1, extra: true }, /extra|Unrecognized/],
    [{ type: 'bid', seq: 1, pricePerQuantumJ: 1, plane: 'tpu' }, /plane/],
    [{ type: 'work', seq: 1, kind: 'primes', range: ['5', '5'], primes: [] }, /range/],
    [{ type: 'work', seq: 1, kind: 'primes', range: ['1', '10'], primes: ['18446744073709551616'] }, /primes/],
    [{ type: 'work', seq: 1, kind: 'primes', range: ['1', '10'], primes: [7] }, /primes/],
    [{ type: 'work', seq: 1, kind: 'hashes', range: ['1', '10'], primes: [] }, /kind/],
    [{ type: 'mine' }, /type/],
    ['bid', /message/],
    [null, /message/],
  ];
  for (const [value, field] of cases) {
    const r = parseAgentMessage(value);
    assert.ok(!r.ok, JSON.stringify(value));
    assert.equal(r.fault.code, 'MXW_ERR_PROTOCOL_SCHEMA', JSON.stringify(value));
    assert.match(r.fault.message, field);
  }
  const twice = parseAgentMessage({ type: 'hello', protocol: 1, agentId: 'a', token: 't' });
  assert.ok(!twice.ok && twice.fault.code === 'MXW_ERR_PROTOCOL_UNAUTHENTICATED');
});

test('outcome codes are short kebab-case words', () => {
  assert.ok(isOutcomeCode('accepted'));
  assert.ok(isOutcomeCode('stale-seq'));
  assert.ok(!isOutcomeCode('Accepted'));
  assert.ok(!isOutcomeCode('x'.repeat(40)));
});

test('the client checks what the daemon sends', () => {
  assert.ok(checkDaemonMessage({ type: 'grant', tick: 1, plane: 0, quanta: 3, paidJ: 0.1 }));
  assert.ok(checkDaemonMessage({ type: 'price', tick: 1, reservePerPlane: [0.1, 0.2] }));
  assert.equal(checkDaemonMessage({ type: 'grant', tick: 1 }), null);
  assert.equal(checkDaemonMessage({ type: 'price', tick: 1, reservePerPlane: ['x'] }), null);
  assert.equal(checkDaemonMessage({ type: 'nope' }), null);
  assert.equal(checkDaemonMessage([]), null);
});

test('the inference frames parse, and malformed ones are refused naming the field', () => {
  const sha = 'a'.repeat(64);
  assert.ok(parseAgentMessage({ type: 'serve', seq: 1, modelSha256: sha }).ok);
  assert.ok(parseAgentMessage({ type: 'token', requestId: 3, index: 0 }).ok);
  const logits = float32ToBase64(Float32Array.of(0.5, -1, 3.25));
  const claim = { type: 'claim', requestId: 3, modelSha256: sha, inputCommitment: sha, tokens: [1, 2], logits, outputCommitment: sha, spotCommitments: { 'b0.attn_in': sha } };
  assert.ok(parseAgentMessage(claim).ok);
  assert.deepEqual(Array.from(base64ToFloat32(logits) ?? []), [0.5, -1, 3.25]);
  assert.equal(base64ToFloat32(Buffer.from([1, 2, 3]).toString('base64')), null, 'not a whole number of floats');
  assert.ok(parseAgentMessage({ type: 'reveal', requestId: 3, name: 'b0.attn_in', rows: 0, cols: 0, data: '' }).ok);
  const cases: [unknown, RegExp][] = [
    [{ type: 'serve', seq: 1, modelSha256: 'not-hex' }, /modelSha256/],
    [{ type: 'token', requestId: -1, index: 0 }, /requestId/],
    [{ ...claim, tokens: [70_000] }, /tokens/],
    [{ ...claim, logits: 'not base64!' }, /logits/],
    [{ ...claim, spotCommitments: { '../x y': sha } }, /spotCommitments/],
    [{ ...claim, extra: 1 }, /extra|unrecognized/i],
    [{ type: 'reveal', requestId: 3, name: 'b0.attn_in', rows: 1, cols: 1 }, /data/],
  ];
  for (const [value, field] of cases) {
    const parsed = parseAgentMessage(value);
    assert.ok(!parsed.ok && parsed.fault.code === 'MXW_ERR_PROTOCOL_SCHEMA', JSON.stringify(value).slice(0, 80));
    assert.match(parsed.fault.message, field);
  }
  assert.ok(checkDaemonMessage({ type: 'infer', requestId: 1, prompt: [1, 2], maxNewTokens: 4 }) !== null);
  assert.ok(checkDaemonMessage({ type: 'challenge', requestId: 1, names: ['b0.attn_in'] }) !== null);
  assert.ok(checkDaemonMessage({ type: 'verdict', requestId: 1, outcome: 'paid', incomeJ: 0.16, failedLayers: [] }) !== null);
  assert.equal(checkDaemonMessage({ type: 'infer', requestId: 1, prompt: 'text', maxNewTokens: 4 }), null);
});
