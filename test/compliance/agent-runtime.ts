/**
 * The compliance suite every AgentRuntime passes for real on this machine: lifecycle, pause
 * (confirmed), resume, usage, graceful and forced stop, bad specs, and clean close.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import type { AgentExit, AgentRuntime, AgentSpec } from '../../src/runtimes/runtime.js';
import { until } from '../helpers/wait.js';
import type { AgentId } from '../../src/agent-id.js';
import { agentId } from '../helpers/agent-id.js';

export interface RuntimeCase {
  readonly name: string;
  readonly create: () => Promise<AgentRuntime>;
  /** Commands for the suite's agents in this runtime's terms. */
  readonly agents: {
    /** Uses CPU as fast as it can, forever. */
    readonly busy: (id: string) => AgentSpec;
    /** Exits with code 3 after about 300 ms. */
    readonly exitsWith3: (id: string) => AgentSpec;
    /** Handles SIGTERM (or its runtime's stop request) by exiting 0. */
    readonly graceful: (id: string) => AgentSpec;
    /** Ignores stop requests. */
    readonly stubborn: (id: string) => AgentSpec;
  };
  /**
   * Resolves once agent `id` acts on a stop request. A runtime whose start() can return before
   * that gives it: a process that gets SIGTERM before it installed its handler dies of it (or,
   * stubborn, does not get to ignore it). Omit it where start() already implies it (a WASM
   * worker polls a shared stop flag; a VM's start waits for its guest's READY).
   */
  readonly stoppable?: (runtime: AgentRuntime, id: string) => Promise<void>;
  readonly skip?: string | false;
}

async function cpuDuring(runtime: AgentRuntime, id: string, ms: number): Promise<number> {
  const before = (await runtime.usage(agentId(id))).cpuS;
  await sleep(ms);
  return (await runtime.usage(agentId(id))).cpuS - before;
}

/** Waits until agent `id` has used 0.1 CPU-second more than now (up to 10 s). */
async function usesCpu(runtime: AgentRuntime, id: string, what: string): Promise<void> {
  const before = (await runtime.usage(agentId(id))).cpuS;
  await until(what, async () => (await runtime.usage(agentId(id))).cpuS > before + 0.1, 10_000);
}

export function agentRuntimeCompliance(c: RuntimeCase): void {
  const options = c.skip === undefined || c.skip === false ? {} : { skip: c.skip };

  test(`${c.name}: start, usage, pause (confirmed, no CPU while paused), resume, stop`, options, async () => {
    const runtime = await c.create();
    try {
      const info = await runtime.start(c.agents.busy('busy1'));
      assert.equal(info.state, 'running');
      if (runtime.kind === 'process') assert.ok(info.pid !== null && info.pid > 0);
      assert.deepEqual(runtime.list().map((a) => a.id), ['busy1']);
      await usesCpu(runtime, 'busy1', 'a busy agent to use CPU');
      const paused = await runtime.pause(agentId('busy1'));
      assert.ok(paused.confirmed, 'the pause was seen to take effect');
      // How fast is measured by `maxwell research pause`, not here.
      assert.ok(paused.latencyMs >= 0);
      assert.equal(runtime.info(agentId('busy1')).state, 'paused');
      await sleep(50);
      assert.ok((await cpuDuring(runtime, 'busy1', 300)) < 0.02, 'no CPU while paused');
      await runtime.resume(agentId('busy1'));
      await usesCpu(runtime, 'busy1', 'CPU again after resume');
      const exit = await runtime.stop(agentId('busy1'), { graceS: 2 });
      assert.equal(exit.reason, 'stopped');
      assert.equal(runtime.info(agentId('busy1')).state, 'exited');
    } finally {
      await runtime.close();
    }
  });

  test(`${c.name}: natural exit is reported once with its code`, options, async () => {
    const runtime = await c.create();
    const exits: AgentExit[] = [];
    runtime.onExit((e) => exits.push(e));
    try {
      await runtime.start(c.agents.exitsWith3('short'));
      await until('the exit', () => exits.length > 0);
      assert.deepEqual(exits.map((e) => [e.id, e.code, e.reason]), [['short', 3, 'exited']]);
      await assert.rejects(runtime.pause(agentId('short')), { code: 'MXW_ERR_AGENT_STATE' });
    } finally {
      await runtime.close();
    }
  });

  test(`${c.name}: stop is graceful when the agent cooperates and forced after the grace period when not`, options, async () => {
    const runtime = await c.create();
    try {
      await runtime.start(c.agents.graceful('nice'));
      await runtime.start(c.agents.stubborn('mule'));
      await c.stoppable?.(runtime, 'nice');
      await c.stoppable?.(runtime, 'mule');
      const nice = await runtime.stop(agentId('nice'), { graceS: 3 });
      assert.equal(nice.reason, 'stopped');
      const started = performance.now();
      const mule = await runtime.stop(agentId('mule'), { graceS: 0.3 });
      assert.equal(mule.reason, 'killed-after-grace');
      // It had its grace (timer granularity aside) before it was forced.
      assert.ok(performance.now() - started >= 290, `forced after ${(performance.now() - started).toFixed(0)} ms`);
    } finally {
      await runtime.close();
    }
  });

  test(`${c.name}: a paused agent can be stopped (nothing left frozen)`, options, async () => {
    const runtime = await c.create();
    try {
      await runtime.start(c.agents.graceful('frozen'));
      await c.stoppable?.(runtime, 'frozen');
      await runtime.pause(agentId('frozen'));
      const exit = await runtime.stop(agentId('frozen'), { graceS: 3 });
      assert.equal(exit.reason, 'stopped');
    } finally {
      await runtime.close();
    }
  });

  test(`${c.name}: bad specs and unknown agents get coded errors`, options, async () => {
    const runtime = await c.create();
    try {
      await assert.rejects(runtime.start({ ...c.agents.busy('x'), id: 'bad id!' as AgentId }), { code: 'MXW_ERR_AGENT_ID' }); // cast past the edge: the runtime still refuses it
      await assert.rejects(runtime.start({ ...c.agents.busy('x'), command: '' }), { code: 'MXW_ERR_AGENT_SPEC' });
      await assert.rejects(runtime.start({ id: agentId('ghost'), command: '/nonexistent/command' }), { code: 'MXW_ERR_AGENT_START' });
      await runtime.start(c.agents.busy('dup'));
      await assert.rejects(runtime.start(c.agents.busy('dup')), { code: 'MXW_ERR_AGENT_EXISTS' });
      await assert.rejects(runtime.pause(agentId('nobody')), { code: 'MXW_ERR_AGENT_UNKNOWN' });
      assert.throws(() => runtime.info(agentId('nobody')), { code: 'MXW_ERR_AGENT_UNKNOWN' });
    } finally {
      await runtime.close();
      await runtime.close();
    }
    await assert.rejects(runtime.start(c.agents.busy('late')), { code: 'MXW_ERR_AGENT_STATE' });
  });
}
