import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { test } from 'node:test';
import { meterModule } from '../../src/runtimes/wasm/fuel.js';
import { WasmRuntime } from '../../src/runtimes/wasm/wasm-runtime.js';
import type { AgentRuntime } from '../../src/runtimes/runtime.js';
import { agentRuntimeCompliance } from '../compliance/agent-runtime.js';
import { wasmFixture, watBytes } from '../helpers/wasm.js';
import { until } from '../helpers/wait.js';
import { agentId } from '../helpers/agent-id.js';

const paths = {
  busy: await wasmFixture('busy'),
  exits3: await wasmFixture('exits3'),
  stubborn: await wasmFixture('stubborn'),
  primes: await wasmFixture('primes'),
};

agentRuntimeCompliance({
  name: 'wasm runtime (fuel)',
  create: () => Promise.resolve(new WasmRuntime()),
  agents: {
    busy: (id) => ({ id: agentId(id), command: paths.busy }),
    exitsWith3: (id) => ({ id: agentId(id), command: paths.exits3 }),
    graceful: (id) => ({ id: agentId(id), command: paths.busy }),
    stubborn: (id) => ({ id: agentId(id), command: paths.stubborn }),
  },
});

test('metering keeps a module\'s behaviour: same results, exports and indices', async () => {
  const wat = `(module
    (import "env" "double" (func $double (param i32) (result i32)))
    (table 2 funcref) (elem (i32.const 0) $fib $twice)
    (global $g (mut i32) (i32.const 5))
    (func $fib (export "fib") (param $n i32) (result i32)
      (if (result i32) (i32.lt_u (local.get $n) (i32.const 2)) (then (local.get $n))
        (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1))) (call $fib (i32.sub (local.get $n) (i32.const 2)))))))
    (func $twice (export "twice") (param $x i32) (result i32) (call $double (local.get $x)))
    (func (export "viaTable") (param $i i32) (param $x i32) (result i32) (call_indirect (param i32) (result i32) (local.get $x) (local.get $i)))
    (func (export "sum") (param $n i32) (result i32) (local $acc i32)
      (loop $l (local.set $acc (i32.add (local.get $acc) (local.get $n))) (local.set $n (i32.sub (local.get $n) (i32.const 1))) (br_if $l (local.get $n)))
      (i32.add (local.get $acc) (global.get $g))))`;
  const plain = await watBytes(wat);
  const metered = meterModule(plain);
  let refuels = 0;
  const imports = { env: { double: (x: number) => 2 * x } };
  const a = new WebAssembly.Instance(new WebAssembly.Module(plain), imports).exports as Record<string, (...args: number[]) => number>;
  const b = new WebAssembly.Instance(new WebAssembly.Module(metered), { ...imports, maxwell: { refuel: () => { refuels++; return 1000n; } } }).exports as Record<string, (...args: number[]) => number>;
  for (const [name, args] of [['fib', [20]], ['twice', [21]], ['viaTable', [0, 15]], ['viaTable', [1, 8]], ['sum', [10000]]] as const) {
    assert.equal(b[name]!(...args), a[name]!(...args), `${name}(${args.join(', ')})`);
  }
  assert.ok(refuels > 10, `fuel was checked (${refuels} refuels of 1000)`);
});

test('modules that cannot be metered are refused with MXW_ERR_AGENT_SPEC', async () => {
  assert.throws(() => meterModule(new Uint8Array([1, 2, 3])), { code: 'MXW_ERR_AGENT_SPEC' });
  const simd = await (async () => {
    const initWabt = (await import('wabt')).default;
    const wabt = await initWabt();
    const m = wabt.parseWat('simd.wat', '(module (func (result v128) (v128.const i32x4 1 2 3 4)))', { simd: true });
    const bytes = m.toBinary({}).buffer;
    m.destroy();
    return bytes;
  })();
  assert.throws(() => meterModule(simd), (err: Error & { code?: string }) => err.code === 'MXW_ERR_AGENT_SPEC' && /SIMD/.test(err.message));
});

test('a WASM agent reports through env.report, and its memory is capped', async () => {
  // It runs into its cap within milliseconds: no start-up grace, or that is a failed start.
  const runtime = new WasmRuntime({ startupGraceMs: 0 });
  try {
    await runtime.start({ id: agentId('primes'), command: paths.primes, memoryLimitBytes: 4 * 65536 });
    await until('the module to exit', () => runtime.info(agentId('primes')).state === 'exited');
    // 1 page at start, may grow to 4: the fourth report's grow fails and it exits with 7.
    assert.deepEqual(runtime.reports(agentId('primes')).slice(0, 4), [1000, 2000, 3000, 4000]);
    assert.equal(runtime.info(agentId('primes')).state, 'exited');
    assert.equal((await runtime.usage(agentId('primes'))).memoryBytes, 4 * 65536);
  } finally {
    await runtime.close();
  }
});

test('a CPU share slows a WASM agent by a duty cycle', async (t) => {
  const runtime = new WasmRuntime();
  try {
    const t0 = performance.now();
    await runtime.start({ id: agentId('full'), command: paths.busy });
    await runtime.start({ id: agentId('quarter'), command: paths.busy, cpuShare: 0.25 });
    // Over at least a CPU-second of the full-speed agent, however long that takes here.
    await until('a CPU-second of the full-speed agent', async () => (await runtime.usage(agentId('full'))).cpuS >= 1);
    const quarter = (await runtime.usage(agentId('quarter'))).cpuS;
    const full = (await runtime.usage(agentId('full'))).cpuS;
    const wallS = (performance.now() - t0) / 1000;
    t.diagnostic(`over ${wallS.toFixed(2)} s: full ${full.toFixed(2)} CPU-s, quarter ${quarter.toFixed(2)} CPU-s (ratio ${(quarter / full).toFixed(2)})`);
    // The duty cycle is of wall time: the capped agent runs at most a quarter of it (plus its start-up
    // and a fuel quantum), however busy the machine.
    assert.ok(quarter > 0 && quarter <= 0.25 * wallS + 0.1, `${quarter.toFixed(3)} CPU-s in ${wallS.toFixed(2)} s for a 0.25 share`);
    // Against the full-speed agent the ratio is 0.25 only if that one had a core: on a busy machine
    // the capped one, a sleeper, is scheduled first and the ratio rises.
    if (full / wallS >= 0.9) assert.ok(quarter / full > 0.1 && quarter / full < 0.45, `ratio ${(quarter / full).toFixed(2)}`);
    await assert.rejects((runtime as AgentRuntime).pin(agentId('full'), [0]), { code: 'MXW_ERR_AGENT_UNSUPPORTED' });
    await assert.rejects(runtime.start({ id: agentId('pinned'), command: paths.busy, cores: [0] }), { code: 'MXW_ERR_AGENT_UNSUPPORTED' });
  } finally {
    await runtime.close();
  }
});

test('a file that is not a module fails to start with a clear error', async () => {
  const runtime = new WasmRuntime();
  const bogus = join(tmpdir(), `maxwell-bogus-${process.pid}.wasm`);
  writeFileSync(bogus, 'not wasm');
  try {
    await assert.rejects(runtime.start({ id: agentId('bogus'), command: bogus }), { code: 'MXW_ERR_AGENT_SPEC' });
  } finally {
    await runtime.close();
  }
});
