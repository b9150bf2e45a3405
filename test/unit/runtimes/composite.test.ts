import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CompositeRuntime } from '../../../src/runtimes/composite.js';
import type { AgentExit, AgentInfo, AgentRuntime, AgentSpec, RuntimeKind } from '../../../src/runtimes/runtime.js';
import type { AgentId } from '../../../src/agent-id.js';
import { agentId } from '../../helpers/agent-id.js';

/** A runtime that records the calls it gets; enough to check the routing. */
class RecordingRuntime implements AgentRuntime {
  readonly mechanisms = { pause: 'recorded' };
  readonly calls: string[] = [];
  readonly #agents = new Map<string, AgentInfo>();
  readonly #listeners: ((exit: AgentExit) => void)[] = [];
  closed = 0;
  readonly kind: RuntimeKind;
  constructor(kind: RuntimeKind) {
    this.kind = kind;
  }
  start(spec: AgentSpec): Promise<AgentInfo> {
    this.calls.push(`start ${spec.id}`);
    const info: AgentInfo = { id: spec.id, pid: null, state: 'running' };
    this.#agents.set(spec.id, info);
    return Promise.resolve(info);
  }
  pause(id: string) {
    this.calls.push(`pause ${id}`);
    return Promise.resolve({ latencyMs: 0, mechanism: 'fuel' as const, confirmed: true });
  }
  resume(id: string) {
    this.calls.push(`resume ${id}`);
    return Promise.resolve();
  }
  setCpuShare(id: string, share: number | null) {
    this.calls.push(`share ${id} ${String(share)}`);
    return Promise.resolve();
  }
  pin(id: string) {
    this.calls.push(`pin ${id}`);
    return Promise.resolve();
  }
  usage(id: string) {
    this.calls.push(`usage ${id}`);
    return Promise.resolve({ cpuS: 1, memoryBytes: 0, minorFaults: 0, majorFaults: 0, cpuSource: this.kind });
  }
  stop(id: string): Promise<AgentExit> {
    this.calls.push(`stop ${id}`);
    this.#agents.delete(id);
    const exit: AgentExit = { id: agentId(id), code: 0, signal: null, reason: 'stopped' };
    for (const l of this.#listeners) l(exit);
    return Promise.resolve(exit);
  }
  info(id: string): AgentInfo {
    const info = this.#agents.get(id);
    if (info === undefined) throw new Error('unknown');
    return info;
  }
  list(): readonly AgentInfo[] {
    return [...this.#agents.values()];
  }
  forgetEnded(id: AgentId): void {
    if (this.#agents.get(id)?.state === 'exited') this.#agents.delete(id);
  }
  onExit(listener: (exit: AgentExit) => void): void {
    this.#listeners.push(listener);
  }
  close(): Promise<void> {
    this.closed++;
    return Promise.resolve();
  }
}

test('routes each call to the runtime that started the agent, creating runtimes on first use', async () => {
  const made: RuntimeKind[] = [];
  const runtimes = { process: new RecordingRuntime('process'), wasm: new RecordingRuntime('wasm') };
  const composite = await CompositeRuntime.create({
    process: () => { made.push('process'); return Promise.resolve(runtimes.process); },
    wasm: () => { made.push('wasm'); return Promise.resolve(runtimes.wasm); },
  });
  assert.deepEqual(made, ['process'], 'only the process runtime is made up front');
  assert.deepEqual(composite.kinds, ['process', 'wasm']);
  await composite.start({ id: agentId('p1'), command: 'true' });
  await composite.start({ id: agentId('w1'), command: 'x.wasm', runtime: 'wasm' });
  assert.deepEqual(made, ['process', 'wasm']);
  await composite.pause(agentId('w1'));
  await composite.setCpuShare(agentId('p1'), 0.5);
  assert.equal((await composite.usage(agentId('w1'))).cpuSource, 'wasm');
  assert.equal(composite.kindOf(agentId('w1')), 'wasm');
  assert.deepEqual(runtimes.wasm.calls, ['start w1', 'pause w1', 'usage w1']);
  assert.deepEqual(runtimes.process.calls, ['start p1', 'share p1 0.5']);
  assert.deepEqual(composite.list().map((a) => a.id).sort(), ['p1', 'w1']);
  assert.equal(composite.mechanisms['wasm.pause'], 'recorded');

  const exits: string[] = [];
  composite.onExit((e) => exits.push(e.id));
  await composite.stop(agentId('w1'));
  assert.deepEqual(exits, ['w1']);
  assert.equal(composite.kindOf(agentId('w1')), undefined, 'an ended agent is forgotten');
  await assert.rejects(composite.pause(agentId('w1')), { code: 'MXW_ERR_AGENT_UNKNOWN' });

  await composite.close();
  assert.equal(runtimes.process.closed, 1);
  assert.equal(runtimes.wasm.closed, 1);
  await assert.rejects(composite.start({ id: agentId('p2'), command: 'true' }), { code: 'MXW_ERR_AGENT_STATE' });
});

test('refuses kinds it cannot run and duplicate ids; a runtime that fails to come up is retried on the next spawn', async () => {
  let vmAttempts = 0;
  const vm = new RecordingRuntime('vm');
  const composite = await CompositeRuntime.create({
    process: () => Promise.resolve(new RecordingRuntime('process')),
    vm: () => {
      vmAttempts++;
      if (vmAttempts === 1) return Promise.reject(Object.assign(new Error('no guest kernel'), { code: 'MXW_ERR_RUNTIME_SETUP' }));
      return Promise.resolve(vm);
    },
  });
  await assert.rejects(composite.start({ id: agentId('w'), command: 'x.wasm', runtime: 'wasm' }), { code: 'MXW_ERR_AGENT_SPEC', message: /does not run wasm agents/ });
  await assert.rejects(composite.start({ id: agentId('x'), command: 'true', runtime: 'bogus' as RuntimeKind }), { code: 'MXW_ERR_AGENT_SPEC', message: /unknown runtime/ });
  await assert.rejects(composite.start({ id: agentId('v'), command: 'busy', runtime: 'vm' }), { code: 'MXW_ERR_RUNTIME_SETUP' });
  assert.equal(composite.kindOf(agentId('v')), undefined, 'a failed start leaves no claim on the id');
  await composite.start({ id: agentId('v'), command: 'busy', runtime: 'vm' });
  assert.equal(vmAttempts, 2);
  await assert.rejects(composite.start({ id: agentId('v'), command: 'busy' }), { code: 'MXW_ERR_AGENT_EXISTS' });
  await composite.close();
  assert.equal(vm.closed, 1);
});
