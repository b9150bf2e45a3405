import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { defaultConfig } from '../../../src/config/load.js';
import { isMaxwellError } from '../../../src/errors.js';
import {
  DEFAULT_MAX_FRAME_BYTES,
  FrameDecoder,
  TokenBucket,
  createProtocolLimits,
  encodeFrame,
  isU64Decimal,
  parseFrameBody,
} from '../../../src/protocol/frames.js';

const decodeAll = (decoder: FrameDecoder, chunks: Uint8Array[]): unknown[] => {
  const out: unknown[] = [];
  for (const chunk of chunks) {
    const r = decoder.push(chunk);
    assert.ok(r.ok, r.ok ? '' : r.fault.message);
    for (const body of r.frames) {
      const json = parseFrameBody(body);
      assert.ok(json.ok);
      out.push(json.value);
    }
  }
  return out;
};

test('a frame is a 4-byte big-endian length and a UTF-8 JSON body', () => {
  const frame = encodeFrame({ type: 'ping', nonce: 'é' });
  const body = '{"type":"ping","nonce":"é"}';
  assert.equal(frame.readUInt32BE(0), Buffer.byteLength(body));
  assert.equal(frame.subarray(4).toString('utf8'), body);
});

test('encodeFrame refuses a body above the limit with MXW_ERR_PROTOCOL_FRAME_TOO_LARGE', () => {
  assert.throws(() => encodeFrame({ s: 'x'.repeat(300) }, 256), (e) => isMaxwellError(e, 'MXW_ERR_PROTOCOL_FRAME_TOO_LARGE'));
});

test('the decoder reassembles frames split anywhere and splits coalesced ones (property)', () => {
  fc.assert(
    fc.property(fc.array(fc.jsonValue(), { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 12 }), (values, cuts) => {
      const messages = values.map((v) => ({ v }));
      const stream = Buffer.concat(messages.map((m) => encodeFrame(m)));
      const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
      const chunks: Buffer[] = [];
      let at = 0;
      for (const p of [...points, stream.length]) {
        chunks.push(stream.subarray(at, p));
        at = p;
      }
      const decoder = new FrameDecoder();
      // JSON round trip normalises -0 and the like, exactly as the wire does.
      assert.deepEqual(decodeAll(decoder, chunks), JSON.parse(JSON.stringify(messages)));
      assert.equal(decoder.buffered, 0);
      assert.equal(decoder.end(), null);
    }),
  );
});

test('byte-by-byte delivery of a large frame decodes it once', () => {
  const message = { type: 'work', primes: Array.from({ length: 2000 }, (_, i) => String(1_000_000_007 + i)) };
  const frame = encodeFrame(message);
  const decoder = new FrameDecoder();
  // Its cost (linear, one copy: no quadratic concatenation) is measured by `npm run bench`.
  const got = decodeAll(decoder, Array.from(frame, (b) => Uint8Array.of(b)));
  assert.deepEqual(got, [message]);
  assert.equal(decoder.buffered, 0);
});

test('a frame inside one chunk is returned without copying', () => {
  const chunk = Buffer.concat([encodeFrame({ a: 1 }), encodeFrame({ b: 2 })]);
  const r = new FrameDecoder().push(chunk);
  assert.ok(r.ok);
  assert.equal(r.frames.length, 2);
  assert.equal(r.frames[0]!.buffer, chunk.buffer);
});

test('an oversized length prefix fails as soon as the prefix is in, before any body', () => {
  const decoder = new FrameDecoder(1024);
  const header = Buffer.alloc(4);
  header.writeUInt32BE(1025);
  const r = decoder.push(header);
  assert.ok(!r.ok);
  assert.equal(r.fault.code, 'MXW_ERR_PROTOCOL_FRAME_TOO_LARGE');
  assert.equal(decoder.buffered, 0);
  // The decoder stays failed.
  const again = decoder.push(encodeFrame({ ok: true }));
  assert.ok(!again.ok);
  assert.equal(decoder.fault?.code, 'MXW_ERR_PROTOCOL_FRAME_TOO_LARGE');
  const big = new FrameDecoder();
  const r2 = big.push(Buffer.from([0xff, 0xff, 0xff, 0xff]));
  assert.ok(!r2.ok && r2.fault.code === 'MXW_ERR_PROTOCOL_FRAME_TOO_LARGE');
  assert.equal(DEFAULT_MAX_FRAME_BYTES, 65_536);
});

test('a zero-length frame is malformed', () => {
  const r = new FrameDecoder().push(Buffer.alloc(4));
  assert.ok(!r.ok && r.fault.code === 'MXW_ERR_PROTOCOL_MALFORMED');
});

test('a stream that ends inside a frame or a prefix is truncated', () => {
  const frame = encodeFrame({ type: 'ping' });
  const inBody = new FrameDecoder();
  assert.ok(inBody.push(frame.subarray(0, frame.length - 2)).ok);
  assert.equal(inBody.end()?.code, 'MXW_ERR_PROTOCOL_TRUNCATED');
  const inPrefix = new FrameDecoder();
  assert.ok(inPrefix.push(frame.subarray(0, 2)).ok);
  assert.equal(inPrefix.end()?.code, 'MXW_ERR_PROTOCOL_TRUNCATED');
});

test('bodies that are not UTF-8 or not JSON are malformed', () => {
  const notUtf8 = parseFrameBody(Uint8Array.of(0x7b, 0xff, 0x7d));
  assert.ok(!notUtf8.ok && notUtf8.fault.code === 'MXW_ERR_PROTOCOL_MALFORMED');
  const notJson = parseFrameBody(Buffer.from('{"type":'));
  assert.ok(!notJson.ok && notJson.fault.code === 'MXW_ERR_PROTOCOL_MALFORMED');
});

test('the token bucket allows a burst, then the sustained rate', () => {
  let now = 0;
  const bucket = new TokenBucket(10, 3, () => now);
  assert.deepEqual([bucket.take(), bucket.take(), bucket.take(), bucket.take()], [true, true, true, false]);
  assert.ok(Math.abs(bucket.waitS() - 0.1) < 1e-9);
  now = 0.1;
  assert.ok(bucket.take());
  assert.ok(!bucket.take());
  now = 100; // saved tokens never exceed the burst
  assert.deepEqual([bucket.take(), bucket.take(), bucket.take(), bucket.take()], [true, true, true, false]);
});

test('limits are validated and name the bad one', () => {
  assert.equal(createProtocolLimits().maxFrameBytes, 65_536);
  assert.throws(() => createProtocolLimits({ framesPerS: 0 }), (e) => isMaxwellError(e, 'MXW_ERR_INVALID_ARG') && /framesPerS/.test(e.message));
  assert.throws(() => createProtocolLimits({ burstFrames: 1.5 }), /burstFrames/);
  assert.throws(() => new FrameDecoder(0), (e) => isMaxwellError(e, 'MXW_ERR_INVALID_ARG'));
});

test('isU64Decimal accepts exactly the canonical decimals of [0, 2^64 − 1]', () => {
  for (const ok of ['0', '7', '18446744073709551615', '9999999999999999999']) assert.ok(isU64Decimal(ok), ok);
  for (const bad of ['', '-1', '01', '1.5', '18446744073709551616', '99999999999999999999', ' 1', '1e3']) assert.ok(!isU64Decimal(bad), bad);
  fc.assert(fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (n) => isU64Decimal(n.toString())));
});

test('the configuration defaults of protocol.* are the protocol defaults', () => {
  assert.deepEqual(createProtocolLimits(defaultConfig().protocol), createProtocolLimits());
});
