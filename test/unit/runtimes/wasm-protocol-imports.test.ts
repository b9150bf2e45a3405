// The worker's protocol imports and the host ABI, without a worker or a socket: frames are
// collected from a fake port and decoded with the daemon's own decoder and schemas.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FrameDecoder, parseFrameBody } from '../../../src/protocol/frames.js';
import { parseAgentMessage, parseHello } from '../../../src/protocol/messages.js';
import { listImports } from '../../../src/runtimes/wasm/fuel.js';
import {
  LINK_BACKLOG,
  LINK_MAX_FRAME,
  LINK_STATE,
  NOTE_BALANCE,
  NOTE_PRICE,
  WASM_LINK_STATE,
  WASM_STATUS,
  argAsNumber,
  checkHostImports,
  createLinkBlock,
  loadNote,
  storeNote,
} from '../../../src/runtimes/wasm/host-abi.js';
import { createOfflineImports, createProtocolImports } from '../../../src/runtimes/wasm/protocol-imports.js';
import { watBytes } from '../../helpers/wasm.js';

function fixture(backlogBytes = 1 << 20) {
  const frames: Uint8Array[] = [];
  const block = createLinkBlock();
  Atomics.store(block.ints, LINK_STATE, WASM_LINK_STATE.CONNECTING);
  const memory = new WebAssembly.Memory({ initial: 1 });
  const imports = createProtocolImports({ postMessage: (f, transfer) => { assert.equal(transfer[0], f.buffer); frames.push(f); } }, { agentId: 'w-1', token: 'secret', block, backlogBytes }, () => memory);
  const decoded = (): unknown[] => {
    const decoder = new FrameDecoder();
    const out: unknown[] = [];
    for (const f of frames) {
      const r = decoder.push(f);
      assert.ok(r.ok);
      for (const body of r.frames) {
        const j = parseFrameBody(body);
        assert.ok(j.ok);
        out.push(j.value);
      }
    }
    return out;
  };
  return { frames, block, memory, imports, decoded };
}

test('hello goes first, then bid and work with increasing seq, all valid for the daemon', () => {
  const { frames, block, memory, imports, decoded } = fixture();
  const view = new DataView(memory.buffer);
  [101n, 103n, 107n, 109n].forEach((p, i) => { view.setBigUint64(64 + 8 * i, p, true); });
  assert.equal(imports.bid(0.002), WASM_STATUS.OK);
  assert.equal(imports.work(100n, 110n, 64, 4), WASM_STATUS.OK);
  assert.equal(imports.work(110n, 113n, 0, 0), WASM_STATUS.OK);
  const [hello, ...rest] = decoded();
  assert.deepEqual(parseHello(hello), { ok: true, message: { type: 'hello', protocol: 1, agentId: 'w-1', token: 'secret' } });
  assert.deepEqual(rest.map((m) => parseAgentMessage(m)), [
    { ok: true, message: { type: 'bid', seq: 1, pricePerQuantumJ: 0.002 } },
    { ok: true, message: { type: 'work', seq: 2, kind: 'primes', range: ['100', '110'], primes: ['101', '103', '107', '109'] } },
    { ok: true, message: { type: 'work', seq: 3, kind: 'primes', range: ['110', '113'], primes: [] } },
  ]);
  // Every frame in its own buffer (transferable), counted in the backlog until the bridge flushes it.
  assert.ok(frames.every((f) => f.byteOffset === 0 && f.byteLength === f.buffer.byteLength));
  assert.equal(Atomics.load(block.ints, LINK_BACKLOG), frames.reduce((n, f) => n + f.byteLength, 0));
});

test('i64 bounds and i32 addresses are read as unsigned', () => {
  const { imports, decoded } = fixture();
  assert.equal(imports.work(-(2n ** 63n), -1n, 0, 0), WASM_STATUS.OK);
  assert.deepEqual((decoded()[1] as { range: string[] }).range, ['9223372036854775808', '18446744073709551615']);
  assert.equal(imports.work(-1n, 5n, 0, 0), WASM_STATUS.INVALID, '2^64 - 1 ≥ 5');
  assert.equal(imports.work(0n, 5n, -8, 1), WASM_STATUS.OUT_OF_BOUNDS, 'address 2^32 - 8');
});

test('bad calls return statuses in the documented order and send nothing', () => {
  const { frames, block, imports } = fixture();
  const sent = frames.length;
  assert.equal(imports.bid(Number.NaN), WASM_STATUS.INVALID);
  assert.equal(imports.bid(-0.5), WASM_STATUS.INVALID);
  assert.equal(imports.bid(Number.POSITIVE_INFINITY), WASM_STATUS.INVALID);
  assert.equal(imports.work(7n, 7n, 0, 0), WASM_STATUS.INVALID);
  assert.equal(imports.work(0n, 7n, 0, -1), WASM_STATUS.INVALID);
  assert.equal(imports.work(0n, 7n, 65536 - 8, 2), WASM_STATUS.OUT_OF_BOUNDS);
  assert.equal(imports.work(0n, 7n, 0, 8193), WASM_STATUS.OUT_OF_BOUNDS, 'past one page');
  // 2000 primes of 20 digits do not fit a 16 KiB frame once the daemon announced that limit.
  Atomics.store(block.ints, LINK_MAX_FRAME, 16_384);
  assert.equal(imports.work(0n, 7n, 0, 5000), WASM_STATUS.TOO_LARGE, 'hopeless before reading');
  assert.equal(imports.work(0n, 7n, 0, 2000), WASM_STATUS.OK, 'zeros are short');
  assert.equal(frames.length, sent + 1);
  // Closed: CLOSED, after the argument checks.
  Atomics.store(block.ints, LINK_STATE, WASM_LINK_STATE.CLOSED);
  assert.equal(imports.bid(1), WASM_STATUS.CLOSED);
  assert.equal(imports.work(7n, 7n, 0, 0), WASM_STATUS.INVALID);
  assert.equal(frames.length, sent + 1);
});

test('a full backlog returns BUSY until the bridge has flushed, and seq skips nothing', () => {
  const { frames, block, imports, decoded } = fixture(256);
  let ok = 0;
  while (imports.bid(1) === WASM_STATUS.OK) ok++;
  assert.equal(imports.bid(1), WASM_STATUS.BUSY);
  Atomics.store(block.ints, LINK_BACKLOG, 0);
  assert.equal(imports.bid(1), WASM_STATUS.OK);
  assert.deepEqual(decoded().slice(1).map((m) => (m as { seq: number }).seq), Array.from({ length: ok + 1 }, (_, i) => i + 1));
  assert.equal(frames.length, ok + 2);
});

test('notices: balance and per-plane prices read back exactly, NaN before any and out of range', () => {
  const { block, imports } = fixture();
  assert.ok(Number.isNaN(imports.balance_j()));
  assert.ok(Number.isNaN(imports.price_j(0)));
  storeNote(block.notes, NOTE_BALANCE, 1234.5678);
  storeNote(block.notes, NOTE_PRICE + 3, 1e-9);
  assert.equal(imports.balance_j(), 1234.5678);
  assert.equal(imports.price_j(3), 1e-9);
  assert.ok(Number.isNaN(imports.price_j(-1)));
  assert.ok(Number.isNaN(imports.price_j(1_000_000)));
  assert.ok(Number.isNaN(loadNote(block.notes, -1)));
  assert.equal(imports.state(), WASM_LINK_STATE.CONNECTING);
  const offline = createOfflineImports();
  assert.equal(offline.bid(1), WASM_STATUS.NO_ENDPOINT);
  assert.equal(offline.work(0n, 1n, 0, 0), WASM_STATUS.NO_ENDPOINT);
  assert.equal(offline.state(), WASM_LINK_STATE.NONE);
});

test('env.arg_f64 reads plain decimal numbers only', () => {
  const args = ['0.002', '1e3', ' 42 ', '', '0x10', 'Infinity', 'abc', '-7.5'];
  assert.deepEqual(args.map((_, i) => argAsNumber(args, i)), [0.002, 1000, 42, Number.NaN, Number.NaN, Number.NaN, Number.NaN, -7.5]);
  assert.ok(Number.isNaN(argAsNumber(args, 99)));
  assert.ok(Number.isNaN(argAsNumber(args, -1)));
});

test('imports are listed with their signatures and checked against the host ABI', async () => {
  const bytes = await watBytes(`(module
    (type $t (func (param f64) (result i32)))
    (import "env" "report" (func (param i32)))
    (import "maxwell" "bid" (func (type $t)))
    (import "maxwell" "work" (func (param i64 i64 i32 i32) (result i32)))
    (import "env" "mem" (memory 1))
    (func (export "run") (result i32) (i32.const 0)))`);
  const imports = listImports(bytes);
  assert.deepEqual(imports.map((i) => [i.module, i.name, i.kind, i.params.join(','), i.results.join(',')]), [
    ['env', 'report', 'function', 'i32', ''],
    ['maxwell', 'bid', 'function', 'f64', 'i32'],
    ['maxwell', 'work', 'function', 'i64,i64,i32,i32', 'i32'],
    ['env', 'mem', 'memory', '', ''],
  ]);
  assert.throws(() => checkHostImports(imports), { code: 'MXW_ERR_AGENT_SPEC' }, 'env.mem');
  assert.deepEqual(checkHostImports(imports.slice(0, 3)), { usesProtocol: true });
  assert.deepEqual(checkHostImports(imports.slice(0, 1)), { usesProtocol: false });
});

test('metering a module with protocol imports keeps their indices and shifts only its own functions', async () => {
  const bytes = await watBytes(`(module
    (import "maxwell" "bid" (func $bid (param f64) (result i32)))
    (import "env" "report" (func $report (param i32)))
    (import "maxwell" "work" (func $work (param i64 i64 i32 i32) (result i32)))
    (table 1 funcref) (elem (i32.const 0) $twice)
    (func $twice (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
    (func (export "run") (result i32) (local $i i32)
      (loop $l
        (call $report (call_indirect (param i32) (result i32) (local.get $i) (i32.const 0)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $i) (i32.const 3))))
      (i32.add (call $bid (f64.const 0.5)) (call $work (i64.const 1) (i64.const 9) (i32.const 0) (i32.const 0)))))`);
  const { meterModule } = await import('../../../src/runtimes/wasm/fuel.js');
  const metered = meterModule(bytes);
  assert.deepEqual(listImports(metered).map((i) => `${i.module}.${i.name}`), ['maxwell.bid', 'env.report', 'maxwell.work', 'maxwell.refuel']);
  const reports: number[] = [];
  const calls: unknown[] = [];
  let refuels = 0;
  const instance = new WebAssembly.Instance(new WebAssembly.Module(metered), {
    env: { report: (v: number) => { reports.push(v); } },
    maxwell: {
      bid: (p: number) => { calls.push(['bid', p]); return 10; },
      work: (lo: bigint, hi: bigint, ptr: number, n: number) => { calls.push(['work', lo, hi, ptr, n]); return 20; },
      refuel: () => { refuels++; return 1n; },
    },
  });
  assert.equal((instance.exports['run'] as () => number)(), 30);
  assert.deepEqual(reports, [0, 2, 4]);
  assert.deepEqual(calls, [['bid', 0.5], ['work', 1n, 9n, 0, 0]]);
  assert.ok(refuels > 0);
});
