import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FOREIGN_EVERY_TICKS, ForeignHeat, foreignUtilisation, type ForeignHeatPolicy } from '../../../src/heat-price/foreign-heat.js';
import type { ManagedCpu } from '../../../src/runtimes/runtime.js';

test('foreign utilisation: busy time no agent used, less the daemon\'s own, per core', () => {
  const out = new Float64Array(2);
  // 0.1 s window: core 0 fully busy with agents 0.05 s, core 1 busy 0.03 s with no agent; the daemon used 0.01 s.
  const total = foreignUtilisation([0.1, 0.03], [0.05, 0], 0.01, 0.1, out);
  // Residuals 0.05 and 0.03 (0.08); the daemon's 0.01 leaves 7/8 of each.
  assert.ok(Math.abs(out[0]! - 0.4375) < 1e-12);
  assert.ok(Math.abs(out[1]! - 0.2625) < 1e-12);
  assert.ok(Math.abs(total - 0.35) < 1e-12);
  foreignUtilisation([0.1, 0.1], [0.2, 0.1], 0, 0.1, out);
  assert.deepEqual([...out], [0, 0], 'agents counted above busy (counter skew) are no negative load');
});

/** Counters that advance as a two-core machine would with a neighbour on core 0 and agents on both. */
function machine(policy: ForeignHeatPolicy, neighbour: number, perCpu = true) {
  let t = 0;
  const busy = [0, 0];
  const agents = [0, 0];
  const heat = new ForeignHeat(2, {
    policy,
    setpointC: 80,
    ceilingC: 90,
    riseK: [[40, 20], [20, 40]],
    managedCpu: (): ManagedCpu => ({ totalS: agents[0]! + agents[1]!, perCpuS: perCpu ? Float64Array.from(agents) : null }),
    readCpu: () => ({ busyS: busy[0]! + busy[1]!, totalS: 2 * t, stealS: 0, perCpuBusyS: Float64Array.from(busy) }),
    selfCpuS: () => 0,
    now: () => t,
  });
  const advance = (ticks: number): void => {
    for (let i = 0; i < ticks; i++) {
      t += 0.01;
      agents[0]! += 0.01 * (1 - neighbour);
      agents[1]! += 0.01;
      busy[0]! += 0.01;
      busy[1]! += 0.01;
      heat.tick();
    }
  };
  return { heat, advance };
}

test('sell-remaining: a neighbour on a quarter of core 0 raises each core\'s setpoint by the rise it causes', () => {
  const { heat, advance } = machine('sell-remaining', 0.25);
  advance(FOREIGN_EVERY_TICKS * 60);
  assert.ok(heat.measured);
  assert.ok(Math.abs(heat.utilisation[0]! - 0.25) < 1e-6, `core 0 foreign ${heat.utilisation[0]}`);
  assert.ok(Math.abs(heat.utilisation[1]!) < 1e-6);
  assert.ok(Math.abs(heat.setpointsC[0]! - 90) < 1e-6, '80 + 40 · 0.25 = 90: at the ceiling');
  assert.ok(Math.abs(heat.setpointsC[1]! - 85) < 1e-6, '80 + 20 · 0.25');
  assert.ok(Math.abs(heat.share - 0.125) < 1e-6);
});

test('the ceiling holds however much foreign load there is', () => {
  const { heat, advance } = machine('sell-remaining', 1);
  advance(FOREIGN_EVERY_TICKS * 60);
  assert.equal(heat.setpointsC[0], 90);
  assert.equal(heat.setpointsC[1], 90);
});

test('hold-setpoint measures the foreign load but keeps the setpoint', () => {
  const { heat, advance } = machine('hold-setpoint', 0.25);
  advance(FOREIGN_EVERY_TICKS * 60);
  assert.ok(heat.utilisation[0]! > 0.2);
  assert.deepEqual([...heat.setpointsC], [80, 80]);
});

test('without a per-CPU agent counter nothing is measured, so agents are never taken for foreign load', () => {
  const { heat, advance } = machine('sell-remaining', 0, false);
  advance(FOREIGN_EVERY_TICKS * 10);
  assert.equal(heat.measured, false);
  assert.deepEqual([...heat.setpointsC], [80, 80]);
});
