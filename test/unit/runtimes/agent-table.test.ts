import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock, type AbortOptions } from '../../../src/clock/clock.js';
import { AgentTable, type TableEntry } from '../../../src/runtimes/agent-table.js';
import type { AgentExit, AgentSpec } from '../../../src/runtimes/runtime.js';
import { seconds, type Seconds } from '../../../src/units/units.js';
import type { AgentId } from '../../../src/agent-id.js';
import { agentId } from '../../helpers/agent-id.js';

interface Fake extends TableEntry {
  readonly pid: number;
  asked: number;
  killed: number;
}

/** A manual clock that says when someone waits on it, and for how long. */
class WatchedClock extends ManualClock {
  readonly waits: number[] = [];
  #watchers: { readonly count: number; readonly resolve: () => void }[] = [];

  override sleep(duration: Seconds, options?: AbortOptions): Promise<void> {
    this.waits.push(duration);
    const sleeping = super.sleep(duration, options);
    const due = this.#watchers.filter((w) => w.count <= this.waits.length);
    this.#watchers = this.#watchers.filter((w) => w.count > this.waits.length);
    for (const w of due) w.resolve();
    return sleeping;
  }

  /** Resolves once sleep() has been called `count` times in all. */
  waited(count: number): Promise<void> {
    if (this.waits.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.#watchers.push({ count, resolve }));
  }
}

interface Behaviour {
  /** What the agent does when asked to stop: end at once, or ignore it. */
  readonly onAsk?: 'end' | 'ignore';
}

function setUp(behaviour: Behaviour = {}): { table: AgentTable<Fake>; clock: WatchedClock; add: (id: string) => Fake } {
  const clock = new WatchedClock();
  const table: AgentTable<Fake> = new AgentTable<Fake>(clock, {
    pid: (agent) => agent.pid,
    askToStop: (agent) => {
      agent.asked++;
      if (behaviour.onAsk === 'end') table.end(agent, 0, null, 'exited');
      return Promise.resolve();
    },
    kill: (agent) => {
      agent.killed++;
      table.end(agent, null, 'SIGKILL', 'exited');
      return Promise.resolve();
    },
  });
  let pid = 100;
  const add = (id: string): Fake => {
    const spec: AgentSpec = { id: agentId(id), command: 'run' };
    table.checkSpec(spec);
    const agent = table.entry(spec, { pid: pid++, asked: 0, killed: 0 });
    table.add(agent);
    return agent;
  };
  return { table, clock, add };
}

test('agent table: lookup, duplicate ids and bad specs fail with their codes', () => {
  const { table, add } = setUp();
  const a = add('a');
  assert.equal(table.get(agentId('a')), a);
  assert.throws(() => table.get(agentId('nope')), { code: 'MXW_ERR_AGENT_UNKNOWN', message: /no agent "nope"/ });
  assert.throws(() => {
    table.checkSpec({ id: agentId('a'), command: 'run' });
  }, { code: 'MXW_ERR_AGENT_EXISTS' });
  assert.throws(() => {
    table.checkSpec({ id: agentId('b'), command: ' ' }, 'command (the .wasm path)');
  }, { code: 'MXW_ERR_AGENT_SPEC', message: /command \(the \.wasm path\) is empty/ });
  assert.throws(() => {
    // A string cast past the edge: the table still refuses it at run time.
    table.checkSpec({ id: 'no spaces' as AgentId, command: 'run' });
  }, { code: 'MXW_ERR_AGENT_ID' });
  table.forget(agentId('a'));
  assert.throws(() => table.get(agentId('a')), { code: 'MXW_ERR_AGENT_UNKNOWN' });
  table.checkSpec({ id: agentId('a'), command: 'run' });
});

test('agent table: list and info give the pid while running and none once ended', () => {
  const { table, add } = setUp();
  const a = add('a');
  add('b');
  assert.deepEqual([...table.list()].sort((x, y) => x.id.localeCompare(y.id)), [
    { id: 'a', pid: a.pid, state: 'running' },
    { id: 'b', pid: a.pid + 1, state: 'running' },
  ]);
  table.end(a, 0, null, 'exited');
  assert.deepEqual(table.info(agentId('a')), { id: 'a', pid: null, state: 'exited' });
  assert.throws(() => table.live(agentId('a')), { code: 'MXW_ERR_AGENT_STATE', message: /has exited/ });
  assert.equal(table.live(agentId('b')).spec.id, 'b');
});

test('agent table: an end is reported once, and a stop reason wins over how the agent ended', async () => {
  const { table, add } = setUp();
  const exits: AgentExit[] = [];
  table.onExit((e) => exits.push(e));
  const a = add('a');
  a.stopReason = 'escaped-cgroup';
  const first = table.end(a, null, 'SIGKILL', 'exited');
  const second = table.end(a, 0, null, 'exited');
  assert.deepEqual(first, { id: 'a', code: null, signal: 'SIGKILL', reason: 'escaped-cgroup' });
  assert.equal(second, first);
  assert.equal(await a.exited, first);
  assert.deepEqual(exits, [first]);
});

test('agent table: an agent that ends when asked is not killed, and its grace timer is cancelled', async () => {
  const { table, clock, add } = setUp({ onAsk: 'end' });
  const a = add('a');
  const exit = await table.stop(agentId('a'), { graceS: 3 });
  assert.equal(exit.reason, 'stopped');
  assert.equal(a.asked, 1);
  assert.equal(a.killed, 0);
  assert.equal(clock.pending, 0);
  // Stopping an ended agent returns how it ended without asking again.
  assert.equal(await table.stop(agentId('a')), exit);
  assert.equal(a.asked, 1);
});

test('agent table: an agent that ends within its grace period is not killed', async () => {
  const { table, clock, add } = setUp({ onAsk: 'ignore' });
  const a = add('a');
  const stopping = table.stop(agentId('a'), { graceS: 3 });
  await clock.waited(1);
  table.end(a, 0, null, 'exited');
  const exit = await stopping;
  assert.deepEqual(exit, { id: 'a', code: 0, signal: null, reason: 'stopped' });
  assert.equal(a.killed, 0);
  assert.equal(clock.pending, 0);
});

test('agent table: an agent that ignores the stop is killed once its grace period ran out', async () => {
  const { table, clock, add } = setUp({ onAsk: 'ignore' });
  const exits: AgentExit[] = [];
  table.onExit((e) => exits.push(e));
  const a = add('a');
  const stopping = table.stop(agentId('a'), { graceS: 2 });
  await clock.waited(1);
  assert.deepEqual(clock.waits, [2]);
  clock.advance(seconds(2));
  const exit = await stopping;
  assert.deepEqual(exit, { id: 'a', code: null, signal: 'SIGKILL', reason: 'killed-after-grace' });
  assert.equal(a.asked, 1);
  assert.equal(a.killed, 1);
  assert.deepEqual(exits, [exit]);
});

test('agent table: the grace period defaults to 5 s', async () => {
  const { table, clock, add } = setUp({ onAsk: 'ignore' });
  add('a');
  const stopping = table.stop(agentId('a'));
  await clock.waited(1);
  assert.deepEqual(clock.waits, [5]);
  clock.advance(seconds(5));
  assert.equal((await stopping).reason, 'killed-after-grace');
});

test('agent table: close stops every running agent with its grace, once, and refuses new ones', async () => {
  const { table, clock, add } = setUp({ onAsk: 'ignore' });
  const exits: AgentExit[] = [];
  table.onExit((e) => exits.push(e));
  const a = add('a');
  const b = add('b');
  const ended = add('ended');
  table.end(ended, 0, null, 'exited');
  const closing = table.close(1);
  assert.ok(table.closed);
  await clock.waited(2);
  assert.deepEqual(clock.waits, [1, 1]);
  clock.advance(seconds(1));
  await closing;
  await table.close(1);
  assert.equal(a.asked + b.asked, 2);
  assert.equal(ended.asked, 0);
  assert.deepEqual(exits.map((e) => `${e.id} ${e.reason}`).sort(), ['a killed-after-grace', 'b killed-after-grace', 'ended exited']);
  assert.throws(() => {
    table.checkSpec({ id: agentId('c'), command: 'run' });
  }, { code: 'MXW_ERR_AGENT_STATE', message: /closed/ });
});

test('agent table: close reports its agents as closed when they end on being asked', async () => {
  const { table, add } = setUp({ onAsk: 'end' });
  add('a');
  add('b');
  await table.close(1);
  assert.deepEqual(table.list().map((i) => i.state), ['exited', 'exited']);
  assert.deepEqual([table.get(agentId('a')).exit?.reason, table.get(agentId('b')).exit?.reason], ['runtime-closed', 'runtime-closed']);
});
