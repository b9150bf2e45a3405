import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EraseLog, FRAME_TYPES, FrameDecoder, encodeEvents, encodeFrame, eraseKindName, type FrameHandlers, type LoaderHello, type LoaderStats, type RawEraseRecord } from '../../../src/entropy/ebpf/frames.js';
import { bpftraceScript } from '../../../src/entropy/ebpf/bpftrace-source.js';

const record = (i: number): RawEraseRecord => ({ tsNs: 8_400_000_000_000 + i, cgroupId: 2 ** 40 + i, bytes: 4096 * (i + 1), pid: 1000 + i, tgid: 1000, kind: 1 + (i % 5), flags: i % 2, tag: 7 });

function collector(): FrameHandlers & { hellos: LoaderHello[]; stats: LoaderStats[]; replies: [number, number][]; logs: string[] } {
  const c = {
    hellos: [] as LoaderHello[],
    stats: [] as LoaderStats[],
    replies: [] as [number, number][],
    logs: [] as string[],
    onHello: (h: LoaderHello) => { c.hellos.push(h); },
    onStats: (s: LoaderStats) => { c.stats.push(s); },
    onReply: (r: number, seq: number) => { c.replies.push([r, seq]); },
    onLog: (t: string) => { c.logs.push(t); },
  };
  return c;
}

function stream(): Uint8Array {
  const hello = new Uint8Array(32);
  const hv = new DataView(hello.buffer);
  hv.setUint32(0, 1, true);
  hv.setUint32(4, 40, true);
  hv.setUint32(8, 2, true);
  hv.setUint32(12, 1000, true);
  hv.setBigUint64(16, 2n ** 21n, true);
  hv.setUint32(24, 4321, true);
  hv.setUint32(28, 10, true);
  const stats = new Uint8Array(56);
  const sv = new DataView(stats.buffer);
  [10, 1, 99, 2, 9, 0, 123456789].forEach((v, i) => { sv.setBigUint64(i * 8, BigInt(v), true); });
  const reply = new Uint8Array(8);
  new DataView(reply.buffer).setInt32(0, -28, true);
  new DataView(reply.buffer).setUint32(4, 3, true);
  const parts = [
    encodeFrame(FRAME_TYPES.hello, 0, hello),
    encodeEvents(Array.from({ length: 5 }, (_, i) => record(i))),
    encodeFrame(FRAME_TYPES.stats, 0, stats),
    encodeEvents(Array.from({ length: 3 }, (_, i) => record(5 + i))),
    encodeFrame(FRAME_TYPES.reply, 0, reply),
    encodeFrame(FRAME_TYPES.log, 0, new TextEncoder().encode('hello from the loader')),
    encodeFrame(99, 0, new Uint8Array(12)), // an unknown type is skipped
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function check(log: EraseLog, c: ReturnType<typeof collector>): void {
  assert.equal(log.length, 8);
  for (let i = 0; i < 8; i++) {
    const r = record(i);
    assert.equal(log.tsNs[i], r.tsNs);
    assert.equal(log.cgroupId[i], r.cgroupId);
    assert.equal(log.bytes[i], r.bytes);
    assert.equal(log.pid[i], r.pid);
    assert.equal(log.tgid[i], r.tgid);
    assert.equal(log.kind[i], r.kind);
    assert.equal(log.flags[i], r.flags);
    assert.equal(log.tag[i], r.tag);
  }
  assert.deepEqual(c.hellos, [{ protocol: 1, recordBytes: 40, transport: 'perfbuf', wakeupEvents: 1000, bufferBytes: 2 ** 21, pid: 4321, intervalMs: 10 }]);
  assert.deepEqual(c.stats, [{ submitted: 10, dropped: 1, unwatched: 99, forks: 2, delivered: 9, perfLost: 0, atNs: 123456789 }]);
  assert.deepEqual(c.replies, [[-28, 3]]);
  assert.deepEqual(c.logs, ['hello from the loader']);
}

test('decodes every frame type from one chunk', () => {
  const log = new EraseLog();
  const c = collector();
  const d = new FrameDecoder(log, c);
  d.push(stream());
  check(log, c);
  assert.equal(d.frames, 7);
  assert.equal(d.records, 8);
  assert.equal(d.pending, 0);
});

test('decodes the same whatever the chunk boundaries (every split point, and byte by byte)', () => {
  const bytes = stream();
  for (let cut = 1; cut < bytes.length; cut++) {
    const log = new EraseLog();
    const c = collector();
    const d = new FrameDecoder(log, c);
    d.push(bytes.subarray(0, cut));
    d.push(bytes.subarray(cut));
    check(log, c);
  }
  const log = new EraseLog();
  const c = collector();
  const d = new FrameDecoder(log, c);
  for (let i = 0; i < bytes.length; i++) d.push(bytes.subarray(i, i + 1));
  check(log, c);
  assert.equal(d.pending, 0);
});

test('chunks that are views into a larger buffer decode from the right offset', () => {
  const bytes = stream();
  const padded = new Uint8Array(bytes.length + 13);
  padded.set(bytes, 7);
  const log = new EraseLog();
  const c = collector();
  new FrameDecoder(log, c).push(padded.subarray(7, 7 + bytes.length));
  check(log, c);
});

test('the log grows past its capacity and clear keeps the columns', () => {
  const log = new EraseLog(16);
  const frame = encodeEvents(Array.from({ length: 100 }, (_, i) => record(i % 8)));
  new FrameDecoder(log, collector()).push(frame);
  assert.equal(log.length, 100);
  assert.ok(log.capacity >= 100);
  assert.equal(log.bytes[99], record(99 % 8).bytes);
  const columns = log.bytes;
  log.clear();
  assert.equal(log.length, 0);
  assert.equal(log.bytes, columns);
});

test('a broken stream is a protocol error, not garbage records', () => {
  const bad = stream();
  bad[0] = 0;
  assert.throws(() => { new FrameDecoder(new EraseLog(), collector()).push(bad); }, { code: 'MXW_ERR_EBPF_PROTOCOL' });
  const oversized = encodeFrame(FRAME_TYPES.events, 1, new Uint8Array(0));
  new DataView(oversized.buffer).setUint32(12, 2 ** 30, true);
  assert.throws(() => { new FrameDecoder(new EraseLog(), collector()).push(oversized); }, { code: 'MXW_ERR_EBPF_PROTOCOL' });
  // The same error when the oversized header arrives in pieces.
  const d = new FrameDecoder(new EraseLog(), collector());
  d.push(oversized.subarray(0, 5));
  assert.throws(() => { d.push(oversized.subarray(5)); }, { code: 'MXW_ERR_EBPF_PROTOCOL' });
  assert.throws(() => { new FrameDecoder(new EraseLog(), collector()).push(encodeFrame(FRAME_TYPES.events, 2, new Uint8Array(40))); }, { code: 'MXW_ERR_EBPF_PROTOCOL' });
  const version = encodeFrame(FRAME_TYPES.log, 0, new Uint8Array(0));
  new DataView(version.buffer).setUint16(4, 9, true);
  assert.throws(() => { new FrameDecoder(new EraseLog(), collector()).push(version); }, { code: 'MXW_ERR_EBPF_PROTOCOL' });
});

test('erase kinds have stable names', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 77].map(eraseKindName), ['munmap', 'madvise-dontneed', 'madvise-free', 'madvise-remove', 'brk-shrink', 'unknown']);
});

test('the bpftrace script is fixed: it keeps the erasures of the given process\'s descendants, three generations deep, and prints pid, parent and cgroup for the filter here', () => {
  const script = bpftraceScript(4242);
  assert.match(script, /curtask->real_parent->tgid == 4242 \|\| curtask->real_parent->real_parent->tgid == 4242 \|\| curtask->real_parent->real_parent->real_parent->tgid == 4242/);
  assert.match(script, /args->behavior == 4 \|\| args->behavior == 8 \|\| args->behavior == 9/);
  assert.match(script, /printf\("E %d %d %llu %lu 0 %d %llu\\n", pid, tid, cgroup, args->len/);
  assert.doesNotMatch(script, /pid == \d|cgroup == \d/, 'no watched agent is baked into the script');
});
