// The agent protocol for WASM agents: real workers, a real ProtocolServer on Unix sockets in a
// 0700 temporary directory, the reference WASM Scientist as built by `npm run build`.
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { WASM_SCIENTIST_PATH } from '../../src/agents/wasm/wasm-agents.js';
import { sieveSegment } from '../../src/agents/scientist.js';
import type { AgentMessage, WorkMessage } from '../../src/protocol/messages.js';
import { ProtocolServer, type RejectedEvent } from '../../src/protocol/server.js';
import { WASM_STATUS } from '../../src/runtimes/wasm/host-abi.js';
import { WasmRuntime } from '../../src/runtimes/wasm/wasm-runtime.js';
import type { AgentExit } from '../../src/runtimes/runtime.js';
import { wasmFixture, watBytes } from '../helpers/wasm.js';
import { until } from '../helpers/wait.js';
import { agentId } from '../helpers/agent-id.js';

const paths = {
  flood: await wasmFixture('flood'),
  calls: await wasmFixture('protocol-calls'),
  busy: await wasmFixture('busy'),
};

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mxw-wasmp-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Harness {
  readonly server: ProtocolServer;
  readonly runtime: WasmRuntime;
  readonly messages: Map<string, AgentMessage[]>;
  readonly rejected: RejectedEvent[];
  readonly connected: string[];
  close(): Promise<void>;
}

function harness(): Harness {
  const server = new ProtocolServer({ runtimeDir: join(dir, `rt-${Math.random().toString(36).slice(2, 8)}`) });
  const runtime = new WasmRuntime();
  const messages = new Map<string, AgentMessage[]>();
  const rejected: RejectedEvent[] = [];
  const connected: string[] = [];
  server.on('message', ({ agentId, message }) => {
    const list = messages.get(agentId) ?? [];
    list.push(message);
    messages.set(agentId, list);
  });
  server.on('rejected', (e) => rejected.push(e));
  server.on('connect', ({ agentId }) => connected.push(agentId));
  return {
    server,
    runtime,
    messages,
    rejected,
    connected,
    close: async () => {
      await runtime.close();
      await server.close();
    },
  };
}

const works = (h: Harness, id: string): WorkMessage[] => (h.messages.get(id) ?? []).filter((m): m is WorkMessage => m.type === 'work');

/** Each work message claims exactly the primes of its range, ranges tile, seqs go up by one. */
function checkScientist(messages: readonly AgentMessage[], firstSeq: number): void {
  let seq = firstSeq - 1;
  let next: string | null = null;
  for (const m of messages) {
    assert.ok('seq' in m);
    assert.equal(m.seq, seq + 1, 'seq increases by one');
    seq = m.seq;
    if (m.type !== 'work') continue;
    const [lo, hi] = m.range;
    if (next !== null) assert.equal(lo, next, 'ranges tile');
    next = hi;
    const expected: number[] = [];
    sieveSegment(Number(lo), Number(hi), expected);
    assert.deepEqual(m.primes, expected.map(String), `primes of [${lo}, ${hi})`);
  }
}

test('the reference WASM scientist is built at WASM_SCIENTIST_PATH', () => {
  assert.ok(existsSync(WASM_SCIENTIST_PATH), WASM_SCIENTIST_PATH);
  assert.match(WASM_SCIENTIST_PATH, /dist\/src\/agents\/wasm\/scientist\.wasm$/);
});

test('the WASM scientist connects through its socket, bids, and reports exactly the primes of consecutive ranges; pause stops its work, resume restarts it', async () => {
  const h = harness();
  try {
    const ep = await h.server.addAgent(agentId('wasm-sci'));
    assert.equal((await stat(join(ep.socketPath, '..'))).mode & 0o777, 0o700);
    await h.runtime.start({ id: agentId('wasm-sci'), command: WASM_SCIENTIST_PATH, args: ['0.002'], env: ep.env });
    await until('connect', () => h.connected.includes('wasm-sci'));
    await until('five work messages', () => works(h, 'wasm-sci').length >= 5);
    const first = h.messages.get('wasm-sci')?.[0];
    assert.deepEqual(first, { type: 'bid', seq: 1, pricePerQuantumJ: 0.002 });
    assert.equal(works(h, 'wasm-sci')[0]?.range[0], '2');
    assert.equal(h.runtime.protocol(agentId('wasm-sci')).state, 'open');

    const paused = await h.runtime.pause(agentId('wasm-sci'));
    assert.ok(paused.confirmed);
    await sleep(100); // frames already posted may still be in flight
    const atPause = works(h, 'wasm-sci').length;
    await sleep(400);
    assert.equal(works(h, 'wasm-sci').length, atPause, 'no work while paused');
    await h.runtime.resume(agentId('wasm-sci'));
    await until('work after resume', () => works(h, 'wasm-sci').length > atPause + 3);

    checkScientist(h.messages.get('wasm-sci') ?? [], 1);
    assert.deepEqual(h.rejected, []);
    assert.deepEqual(h.runtime.reports(agentId('wasm-sci')), [WASM_STATUS.OK]);

    const disconnected = new Promise((resolve) => h.server.once('disconnect', resolve));
    await h.runtime.stop(agentId('wasm-sci'));
    assert.deepEqual(await disconnected, { agentId: 'wasm-sci', code: null });
    assert.equal(h.runtime.protocol(agentId('wasm-sci')).state, 'closed');
  } finally {
    await h.close();
  }
});

test('an apoptosis notice ends the WASM scientist by itself (exit code 0)', async () => {
  const h = harness();
  try {
    const ep = await h.server.addAgent(agentId('doomed'));
    let exit: AgentExit | undefined;
    h.runtime.onExit((e) => { if (e.id === 'doomed') exit = e; });
    await h.runtime.start({ id: agentId('doomed'), command: WASM_SCIENTIST_PATH, env: ep.env });
    await until('some work', () => works(h, 'doomed').length >= 2);
    assert.ok(h.server.send(agentId('doomed'), { type: 'apoptosis', graceMs: 1000, balanceJ: 0.01 }));
    // Nothing here enforces the grace period (the daemon would): an exit at all is the module's own.
    await until('the module to exit', () => exit !== undefined);
    assert.deepEqual({ code: exit?.code, reason: exit?.reason }, { code: 0, reason: 'exited' }, JSON.stringify(exit));
  } finally {
    await h.close();
  }
});

test('a wrong token is refused by the daemon (MXW_ERR_PROTOCOL_AUTH); the module keeps running and its calls return CLOSED', async () => {
  const h = harness();
  try {
    const ep = await h.server.addAgent(agentId('wasm-bad'));
    await h.runtime.start({ id: agentId('wasm-bad'), command: WASM_SCIENTIST_PATH, env: { ...ep.env, MAXWELL_TOKEN: 'not-the-token' } });
    await until('rejection', () => h.rejected.length > 0);
    assert.deepEqual(h.rejected.map((r) => [r.code, r.authenticated]), [['MXW_ERR_PROTOCOL_AUTH', false]]);
    await until('CLOSED status', () => h.runtime.reports(agentId('wasm-bad')).includes(WASM_STATUS.CLOSED));
    const cpu = (await h.runtime.usage(agentId('wasm-bad'))).cpuS;
    await until('the module to go on computing', async () => (await h.runtime.usage(agentId('wasm-bad'))).cpuS > cpu, 5000);
    assert.equal(h.runtime.info(agentId('wasm-bad')).state, 'running');
    assert.deepEqual(h.runtime.protocol(agentId('wasm-bad')).closeCode, 'MXW_ERR_PROTOCOL_AUTH');
    assert.equal(h.messages.get('wasm-bad'), undefined);
    assert.equal(h.connected.length, 0);
  } finally {
    await h.close();
  }
});

test('a module flooding maxwell.work is closed for its rate (MXW_ERR_PROTOCOL_RATE_LIMIT); the runtime and another agent are unharmed', async () => {
  const h = harness();
  try {
    const calm = await h.server.addAgent(agentId('calm'));
    const flood = await h.server.addAgent(agentId('flood'));
    await h.runtime.start({ id: agentId('calm'), command: WASM_SCIENTIST_PATH, env: calm.env });
    await h.runtime.start({ id: agentId('flood'), command: paths.flood, env: flood.env });
    await until('the flood rejected', () => h.rejected.some((r) => r.agentId === 'flood'));
    assert.deepEqual(h.rejected.map((r) => [r.agentId, r.code, r.authenticated]), [['flood', 'MXW_ERR_PROTOCOL_RATE_LIMIT', true]]);
    await until('the flood sees CLOSED', () => h.runtime.reports(agentId('flood')).includes(WASM_STATUS.CLOSED));
    // Its calls keep failing fast, it keeps running, and it can still be stopped.
    assert.equal(h.runtime.info(agentId('flood')).state, 'running');
    assert.equal(h.runtime.protocol(agentId('flood')).closeCode, 'MXW_ERR_PROTOCOL_RATE_LIMIT');
    const floodFrames = (h.messages.get('flood') ?? []).length;
    // The burst, and what the bucket refilled while it was being spent.
    assert.ok(floodFrames <= h.server.limits.burstFrames + h.server.limits.framesPerS, `${floodFrames} frames got through`);

    const calmBefore = works(h, 'calm').length;
    await until('calm keeps working', () => works(h, 'calm').length >= calmBefore + 5);
    checkScientist(h.messages.get('calm') ?? [], 1);
    assert.ok(h.server.isConnected(agentId('calm')));
    assert.equal((await h.runtime.stop(agentId('flood'))).reason, 'stopped');
    assert.equal(h.runtime.info(agentId('calm')).state, 'running');
  } finally {
    await h.close();
  }
});

test('bad calls return error statuses without sending anything; notices from server.send reach the module', async () => {
  const h = harness();
  try {
    const ep = await h.server.addAgent(agentId('calls'));
    await h.runtime.start({ id: agentId('calls'), command: paths.calls, env: ep.env });
    await until('the marker', () => h.runtime.reports(agentId('calls')).includes(99));
    const S = WASM_STATUS;
    assert.deepEqual(h.runtime.reports(agentId('calls')), [S.INVALID, S.INVALID, S.OUT_OF_BOUNDS, S.OUT_OF_BOUNDS, S.INVALID, S.INVALID, S.TOO_LARGE, S.OK, S.OK, 99]);
    await until('two messages', () => (h.messages.get('calls') ?? []).length === 2);
    assert.deepEqual(h.messages.get('calls'), [
      { type: 'work', seq: 1, kind: 'primes', range: ['0', '10'], primes: ['2', '3', '5', '7'] },
      { type: 'bid', seq: 2, pricePerQuantumJ: 0.001 },
    ]);
    assert.ok(h.server.send(agentId('calls'), { type: 'balance', balanceJ: 4321.5 }));
    assert.ok(h.server.send(agentId('calls'), { type: 'price', tick: 7, reservePerPlane: [0.25, 0.5] }));
    await until('balance and price seen by the module', () => h.runtime.reports(agentId('calls')).includes(1000 + 4321) && h.runtime.reports(agentId('calls')).includes(2000 + 500));
    assert.deepEqual(h.rejected, []);
    assert.equal(h.runtime.protocol(agentId('calls')).state, 'open');
  } finally {
    await h.close();
  }
});

test('without MAXWELL_* the module still runs and its protocol calls return NO_ENDPOINT; a partial endpoint is refused', async () => {
  const h = harness();
  try {
    await h.runtime.start({ id: agentId('offline'), command: WASM_SCIENTIST_PATH, args: ['0.002'] });
    await until('NO_ENDPOINT', () => h.runtime.reports(agentId('offline')).length > 0);
    await sleep(100);
    assert.deepEqual(h.runtime.reports(agentId('offline')), [WASM_STATUS.NO_ENDPOINT]);
    assert.equal(h.runtime.protocol(agentId('offline')).state, 'none');
    assert.equal(h.runtime.info(agentId('offline')).state, 'running');
    const ep = await h.server.addAgent(agentId('partial'));
    await assert.rejects(h.runtime.start({ id: agentId('partial'), command: WASM_SCIENTIST_PATH, env: { MAXWELL_SOCKET: ep.socketPath } }), { code: 'MXW_ERR_AGENT_SPEC' });
    // A module that imports nothing from maxwell does not connect, endpoint or not.
    await h.runtime.start({ id: agentId('partial'), command: paths.busy, env: ep.env });
    await sleep(100);
    assert.equal(h.runtime.protocol(agentId('partial')).state, 'none');
    assert.deepEqual(h.connected, []);
  } finally {
    await h.close();
  }
});

test('a socket that is not there closes the link: calls return CLOSED', async () => {
  const runtime = new WasmRuntime();
  try {
    const env = { MAXWELL_SOCKET: join(dir, 'nobody.sock'), MAXWELL_TOKEN: 't', MAXWELL_AGENT_ID: 'ghost' };
    await runtime.start({ id: agentId('ghost'), command: WASM_SCIENTIST_PATH, env });
    await until('CLOSED', () => runtime.reports(agentId('ghost')).includes(WASM_STATUS.CLOSED));
    assert.equal(runtime.reports(agentId('ghost')).at(-1), WASM_STATUS.CLOSED);
    assert.equal(runtime.protocol(agentId('ghost')).state, 'closed');
    assert.equal(runtime.info(agentId('ghost')).state, 'running');
  } finally {
    await runtime.close();
  }
});

test('imports Maxwell does not provide, or with the wrong signature, are refused with MXW_ERR_AGENT_SPEC', async () => {
  const runtime = new WasmRuntime();
  try {
    const cases = {
      unknown: '(module (import "maxwell" "teleport" (func)) (func (export "run") (result i32) (i32.const 0)))',
      signature: '(module (import "maxwell" "bid" (func (param i32) (result i32))) (func (export "run") (result i32) (i32.const 0)))',
      memory: '(module (import "maxwell" "work" (memory 1)) (func (export "run") (result i32) (i32.const 0)))',
      refuel: '(module (import "maxwell" "refuel" (func (result i64))) (func (export "run") (result i32) (i32.const 0)))',
      wasi: '(module (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32))) (func (export "run") (result i32) (i32.const 0)))',
    };
    for (const [name, wat] of Object.entries(cases)) {
      const path = join(dir, `${name}.wasm`);
      writeFileSync(path, await watBytes(wat));
      await assert.rejects(runtime.start({ id: agentId(name), command: path }), { code: 'MXW_ERR_AGENT_SPEC' }, name);
    }
  } finally {
    await runtime.close();
  }
});
