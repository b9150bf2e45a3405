/**
 * The agent protocol over the VM channel: a real guest (the `scientist` program of
 * scripts/build-vm-guest.sh) against a real ProtocolServer. Each test boots one TCG guest
 * (about 3 s here).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { gunzipSync } from 'node:zlib';
import { isMaxwellError } from '../../src/errors.js';
import type { AgentMessage, BidMessage, WorkMessage } from '../../src/protocol/messages.js';
import { ProtocolServer, type RejectedEvent } from '../../src/protocol/server.js';
import { VmRuntime } from '../../src/runtimes/vm/vm-runtime.js';
import type { AgentExit } from '../../src/runtimes/runtime.js';
import { VM_INITRD as initrd, VM_KERNEL as kernel, VM_SKIP } from '../helpers/vm.js';
import { until } from '../helpers/wait.js';
import { agentId } from '../helpers/agent-id.js';

const SKIP =
  VM_SKIP !== false
    ? VM_SKIP
    : !gunzipSync(readFileSync(initrd)).includes('maxwell.bid')
      ? 'the guest image predates the scientist program: rerun scripts/build-vm-guest.sh'
      : false;

/** The primes in [lo, hi), by trial division (independent of the guest's shell arithmetic). */
function primesIn(lo: number, hi: number): string[] {
  const out: string[] = [];
  for (let n = Math.max(lo, 2); n < hi; n++) {
    let d = 2;
    while (d * d <= n && n % d !== 0) d++;
    if (d * d > n) out.push(String(n));
  }
  return out;
}

interface Harness {
  readonly server: ProtocolServer;
  readonly runtime: VmRuntime;
  readonly messages: AgentMessage[];
  readonly connects: string[];
  readonly rejections: RejectedEvent[];
  close(): Promise<void>;
}

/** A ProtocolServer in a fresh 0700 directory (its name has a comma: paths reach QEMU as QMP JSON, not options). */
async function harness(tag: string, limits: { helloTimeoutMs?: number } = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'mxw,vp-'));
  const server = new ProtocolServer({ runtimeDir: join(dir, 'run'), limits });
  const runtime = await VmRuntime.create({ kernel, initrd, tag });
  const messages: AgentMessage[] = [];
  const connects: string[] = [];
  const rejections: RejectedEvent[] = [];
  server.on('message', ({ message }) => messages.push(message));
  server.on('connect', ({ agentId }) => connects.push(agentId));
  server.on('rejected', (e) => rejections.push(e));
  return {
    server,
    runtime,
    messages,
    connects,
    rejections,
    async close() {
      await runtime.close();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('a scientist guest connects over its VM channel, bids, and reports exactly the primes of its ranges; pause stops it', { skip: SKIP, timeout: 90_000 }, async () => {
  const h = await harness('vmproto');
  try {
    const endpoint = await h.server.addAgent(agentId('sci'));
    const info = await h.runtime.start({ id: agentId('sci'), command: 'scientist', args: ['maxwell.bid=0.5', 'maxwell.start=1000'], env: endpoint.env });
    // The token is on no command line and in no environment a host user could read.
    assert.ok(info.pid !== null);
    assert.ok(!readFileSync(`/proc/${String(info.pid)}/cmdline`, 'utf8').includes(endpoint.token));
    assert.ok(!readFileSync(`/proc/${String(info.pid)}/environ`, 'utf8').includes(endpoint.token));

    await until('the guest to connect', () => h.connects.length === 1, 20_000);
    assert.deepEqual(h.connects, ['sci']);
    await until('four work messages', () => h.messages.filter((m) => m.type === 'work').length >= 4, 30_000);
    const bid = h.messages[0] as BidMessage;
    assert.equal(bid.type, 'bid');
    assert.equal(bid.pricePerQuantumJ, 0.5);
    const works = h.messages.slice(1) as WorkMessage[];
    let seq = bid.seq;
    let lo = 1000;
    for (const w of works) {
      assert.equal(w.type, 'work');
      assert.equal(w.kind, 'primes');
      assert.ok(w.seq > seq, `seq ${String(w.seq)} after ${String(seq)}`);
      seq = w.seq;
      // Consecutive ranges from maxwell.start=, each with exactly its primes.
      assert.equal(w.range[0], String(lo));
      lo = Number(w.range[1]);
      assert.deepEqual(w.primes, primesIn(Number(w.range[0]), lo));
    }
    assert.ok(works.some((w) => w.primes.length > 0));

    // Paused under QMP, the guest sends nothing; resumed, it goes on.
    const pause = await h.runtime.pause(agentId('sci'));
    assert.ok(pause.confirmed);
    await sleep(300); // frames already on their way
    const before = h.messages.length;
    await sleep(1500);
    assert.equal(h.messages.length, before, 'work arrived while the VM was paused');
    await h.runtime.resume(agentId('sci'));
    await until('work after resume', () => h.messages.length > before, 15_000);
    assert.deepEqual(h.rejections, []);

    // An apoptosis notice: the guest ends itself (EXIT 0, power off) instead of waiting to be stopped.
    const exited = new Promise<AgentExit>((resolve) => { h.runtime.onExit((e) => { if (e.id === 'sci') resolve(e); }); });
    assert.ok(h.server.send(agentId('sci'), { type: 'apoptosis', graceMs: 5000, balanceJ: 0 }));
    const exit = await exited;
    assert.deepEqual({ code: exit.code, reason: exit.reason }, { code: 0, reason: 'exited' }, JSON.stringify(exit));
  } finally {
    await h.close();
  }
});

test('a guest with a wrong token is rejected with MXW_ERR_PROTOCOL_AUTH once; the VM and the runtime are unharmed', { skip: SKIP, timeout: 90_000 }, async () => {
  // A short hello timeout: a reconnecting channel would show up as more rejections below.
  const h = await harness('vmprotoauth', { helloTimeoutMs: 1000 });
  try {
    const endpoint = await h.server.addAgent(agentId('liar'));
    await h.runtime.start({ id: agentId('liar'), command: 'scientist', env: { ...endpoint.env, MAXWELL_TOKEN: 'not-the-token' } });
    await until('the rejection', () => h.rejections.length > 0, 20_000);
    const [rejection] = h.rejections;
    assert.ok(rejection !== undefined);
    assert.equal(rejection.code, 'MXW_ERR_PROTOCOL_AUTH');
    assert.equal(rejection.authenticated, false);
    await sleep(2500);
    assert.equal(h.rejections.length, 1);
    assert.deepEqual(h.connects, []);
    assert.deepEqual(h.messages, []);
    assert.equal(h.runtime.info(agentId('liar')).state, 'running');
    // The control channel still works: the guest powers off on request.
    const exit = await h.runtime.stop(agentId('liar'));
    assert.equal(exit.code, 0);
    assert.equal(exit.reason, 'stopped');
  } finally {
    await h.close();
  }
});

test('a partial or unusable protocol env is MXW_ERR_AGENT_SPEC before anything starts; a dead socket is a failed start', { skip: SKIP, timeout: 60_000 }, async () => {
  const runtime = await VmRuntime.create({ kernel, initrd, tag: 'vmprotospec' });
  const dir = mkdtempSync(join(tmpdir(), 'mxw-vp-'));
  try {
    const env = { MAXWELL_SOCKET: join(dir, 'nobody.sock'), MAXWELL_TOKEN: 't', MAXWELL_AGENT_ID: 'a' };
    for (const bad of [{ MAXWELL_SOCKET: env.MAXWELL_SOCKET }, { ...env, MAXWELL_SOCKET: 'x.sock' }, { ...env, MAXWELL_AGENT_ID: 'a b' }]) {
      await assert.rejects(runtime.start({ id: agentId('bad'), command: 'scientist', env: bad }), (e) => isMaxwellError(e, 'MXW_ERR_AGENT_SPEC'));
    }
    assert.deepEqual(runtime.list(), []);
    // Nothing listens there: the guest boots, asks for its channel, and the start fails cleanly.
    await assert.rejects(runtime.start({ id: agentId('dead'), command: 'scientist', env }), (e) => isMaxwellError(e, 'MXW_ERR_AGENT_START') && e.message.includes('protocol channel'));
    assert.deepEqual(runtime.list(), []);
  } finally {
    await runtime.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
