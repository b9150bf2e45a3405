import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Lifecycle, type Startable } from '../../../src/daemon/lifecycle.js';

function parts(log: string[], names: readonly string[], fail: { start?: string; stop?: string } = {}): Startable[] {
  return names.map((name) => ({
    name,
    start: async () => {
      await Promise.resolve();
      if (fail.start === name) throw new Error(`${name} broke`);
      log.push(`start ${name}`);
    },
    stop: () => {
      log.push(`stop ${name}`);
      if (fail.stop === name) throw new Error(`${name} stuck`);
    },
  }));
}

test('parts start in order and stop in reverse, each once, however often start and stop are called', async () => {
  const log: string[] = [];
  const lifecycle = new Lifecycle(parts(log, ['ledger', 'protocol', 'loop']));
  await Promise.all([lifecycle.start(), lifecycle.start()]);
  assert.deepEqual(lifecycle.running, ['ledger', 'protocol', 'loop']);
  await Promise.all([lifecycle.stop(), lifecycle.stop()]);
  await lifecycle.stop();
  assert.deepEqual(log, ['start ledger', 'start protocol', 'start loop', 'stop loop', 'stop protocol', 'stop ledger']);
  assert.deepEqual(lifecycle.running, []);
});

test('a part that fails to start stops those already started, and its own error comes out', async () => {
  const log: string[] = [];
  const lifecycle = new Lifecycle(parts(log, ['a', 'b', 'c'], { start: 'c' }));
  await assert.rejects(lifecycle.start(), { message: 'c broke' });
  assert.deepEqual(log, ['start a', 'start b', 'stop b', 'stop a']);
  await lifecycle.stop();
  assert.equal(log.length, 4, 'nothing is stopped twice');
});

test('a part that fails to stop does not keep the others from stopping', async () => {
  const log: string[] = [];
  const lifecycle = new Lifecycle(parts(log, ['runtimes', 'ledger', 'loop'], { stop: 'ledger' }));
  await lifecycle.start();
  await assert.rejects(lifecycle.stop(), { message: 'ledger failed to stop: ledger stuck' });
  assert.deepEqual(log.slice(3), ['stop loop', 'stop ledger', 'stop runtimes']);
});

test('stop during start lets the part in progress finish, starts no more, and stops what started', async () => {
  const log: string[] = [];
  const lifecycle = new Lifecycle(parts(log, ['a', 'b', 'c']));
  const starting = lifecycle.start();
  const stopping = lifecycle.stop();
  await Promise.all([starting, stopping]);
  assert.equal(log.filter((l) => l.startsWith('start')).length, 1);
  assert.deepEqual(log, ['start a', 'stop a']);
});
