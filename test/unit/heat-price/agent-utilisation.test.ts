import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agentUtilisation, AGENT_UTILISATION_EVERY_S } from '../../../src/heat-price/agent-utilisation.js';
import type { ManagedCpu } from '../../../src/runtimes/runtime.js';

test('agent utilisation: per-core cgroup CPU time over wall time, clamped, held between reads', () => {
  let t = 10;
  let cpu: ManagedCpu | null = null;
  const source = agentUtilisation(() => cpu, 2, () => t);
  // Before the runtimes count anything: zeros.
  assert.deepEqual([...Array.from(source.sample())], [0, 0]);
  cpu = { totalS: 0, perCpuS: Float64Array.from([1, 2]) };
  assert.deepEqual([...Array.from(source.sample())], [0, 0], 'the first read only sets the origin');
  t += 0.5;
  cpu = { totalS: 0, perCpuS: Float64Array.from([1.25, 3]) };
  const first = Array.from(source.sample());
  assert.ok(Math.abs((first[0] ?? 0) - 0.5) < 1e-12, `core 0: 0.25 s in 0.5 s, got ${String(first[0])}`);
  assert.equal(first[1], 1, 'core 1: 1 s in 0.5 s is clamped to 1');
  // Within the read interval the counters are not read again.
  t += AGENT_UTILISATION_EVERY_S / 2;
  cpu = { totalS: 0, perCpuS: Float64Array.from([100, 100]) };
  assert.deepEqual(Array.from(source.sample()), first);
  assert.match(source.description, /cpuacct\.usage_percpu/);
});

test('agent utilisation without a per-CPU split spreads the total evenly and says so', () => {
  let t = 0;
  let total = 0;
  const source = agentUtilisation(() => ({ totalS: total, perCpuS: null }), 4, () => t);
  source.sample();
  t = 1;
  total = 2;
  assert.deepEqual(Array.from(source.sample()), [0.5, 0.5, 0.5, 0.5]);
  assert.match(source.description, /spread evenly/);
});
