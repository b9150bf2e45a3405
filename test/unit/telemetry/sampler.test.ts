import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { test } from 'node:test';
import { ManualClock } from '../../../src/clock/clock.js';
import { DEFAULT_TWIN_PARAMS } from '../../../src/physics/twin-params.js';
import type { TelemetryWarning } from '../../../src/telemetry/health.js';
import type { Reading, TelemetryReader } from '../../../src/telemetry/reader.js';
import { LatencyHistogram, Sampler, type SamplerTick } from '../../../src/telemetry/sampler.js';
import { startSamplerThread } from '../../../src/telemetry/sampler-host.js';
import { seconds } from '../../../src/units/units.js';
import { until } from '../../helpers/wait.js';

/** A reader whose sample() can take (manual-clock) time or throw. */
function scriptedReader(name: string, clock: ManualClock, behaviour: (n: number) => 'ok' | 'throw' | number): TelemetryReader {
  let n = 0;
  const reading: Reading = { channel: `${name}/x`, quantity: 'utilisation', value: 0.5, trusted: true, provenance: { kind: 'measured', source: 'procfs', sensor: name, windowS: 0, errorBound: 0 } };
  return {
    name,
    source: 'procfs',
    probe: () => Promise.resolve({ state: 'present', channels: [] }),
    start: () => Promise.resolve(),
    stop: () => Promise.resolve(),
    sample: () => {
      const what = behaviour(n++);
      if (what === 'throw') throw new Error(`${name} broke`);
      if (typeof what === 'number') clock.advance(seconds(what));
      return [reading];
    },
  };
}

async function run(clock: ManualClock, periods: number, periodS = 0.01): Promise<void> {
  for (let i = 0; i < periods; i++) {
    clock.advance(seconds(periodS));
    await tick();
    await tick();
  }
}

test('ticks run on the absolute grid t0 + k·period: lateness does not accumulate', async () => {
  const clock = new ManualClock(100);
  const ticks: SamplerTick[] = [];
  // Every sample takes 4 ms: a "period after the last one" loop would drift by 4 ms a tick.
  const sampler = new Sampler({ clock, rateHz: 100, readers: [scriptedReader('slow', clock, () => 0.004)], onTick: (t) => ticks.push(t) });
  await sampler.start();
  await run(clock, 500, 0.001);
  const stats = await sampler.stop();
  assert.ok(ticks.length >= 48, `${ticks.length} ticks in 0.5 s`);
  ticks.forEach((t, i) => {
    assert.equal(t.index, i + 1, 'no tick skipped');
    assert.ok(Math.abs(t.scheduledS - (100 + t.index * 0.01)) < 1e-9, `tick ${t.index} scheduled at ${t.scheduledS}`);
    assert.ok(t.startedS - t.scheduledS < 0.0015, 'started within the clock step of its grid point');
  });
  assert.equal(stats.missedTicks, 0);
  assert.ok(Math.abs(stats.meanWorkMs - 4) < 1e-6);
});

test('a tick more than a period late skips and counts the grid points it missed', async () => {
  const clock = new ManualClock();
  const ticks: SamplerTick[] = [];
  const sampler = new Sampler({ clock, rateHz: 100, readers: [scriptedReader('hiccup', clock, (n) => (n === 3 ? 0.035 : 'ok'))], onTick: (t) => ticks.push(t) });
  await sampler.start();
  await run(clock, 200, 0.001);
  const stats = await sampler.stop();
  assert.equal(stats.missedTicks, 3, '35 ms of work at tick 4 covers the grid points of ticks 5–7');
  const indices = ticks.map((t) => t.index);
  assert.ok(!indices.includes(5) && !indices.includes(7) && indices.includes(8));
});

test('a reader that throws is reported once; the loop and the other readers go on', async () => {
  const clock = new ManualClock();
  const warnings: TelemetryWarning[] = [];
  const ticks: SamplerTick[] = [];
  const sampler = new Sampler({
    clock,
    readers: [scriptedReader('broken', clock, (n) => (n >= 2 ? 'throw' : 'ok')), scriptedReader('fine', clock, () => 'ok')],
    onTick: (t) => ticks.push(t),
    onWarning: (w) => warnings.push(w),
  });
  await sampler.start();
  await run(clock, 10);
  await sampler.stop();
  assert.deepEqual(warnings.map((w) => [w.code, w.subject]), [['MXW_WARN_READER_FAILED', 'broken']]);
  assert.ok(ticks.length >= 8);
  assert.ok(ticks.at(-1)!.readings.every((r) => r.channel === 'fine/x'));
});

test('invalid rates are refused', () => {
  assert.throws(() => new Sampler({ clock: new ManualClock(), rateHz: 0, readers: [] }), { code: 'MXW_ERR_INVALID_ARG' });
});

test('the latency histogram gives quantiles at 10 µs resolution without storing samples', () => {
  const h = new LatencyHistogram();
  assert.ok(Number.isNaN(h.quantile(0.5)));
  for (let i = 1; i <= 1000; i++) h.record(i / 100); // 0.01 … 10 ms
  assert.ok(Math.abs(h.quantile(0.5) - 5) <= 0.01);
  assert.ok(Math.abs(h.quantile(0.99) - 9.9) <= 0.01);
  assert.equal(h.max, 10);
  h.record(1e6);
  assert.equal(h.max, 1e6);
});

test('the sampler thread samples /proc/stat and the twin at 100 Hz off the main thread', async () => {
  const ticks: SamplerTick[] = [];
  const t0 = performance.now();
  const thread = await startSamplerThread({
    rateHz: 100,
    reportEvery: 10,
    readers: [{ kind: 'procfs-stat' }, { kind: 'twin', params: { ...DEFAULT_TWIN_PARAMS, cores: 2, gpu: false }, stepS: 0.01 }],
    onTick: (t) => ticks.push(t),
  });
  await until('four reported ticks (40 grid points)', () => ticks.length >= 4);
  const stats = await thread.stop();
  const elapsedS = (performance.now() - t0) / 1000;
  // Never faster than 100 Hz; a late thread skips grid points, but counts every one it skips.
  assert.ok(stats.ticks <= 100 * elapsedS + 5, `${String(stats.ticks)} ticks in ${elapsedS.toFixed(2)} s`);
  assert.ok(ticks.every((t) => t.index % 10 === 0), 'every 10th tick is reported');
  assert.ok(stats.ticks >= ticks.length && stats.ticks + stats.missedTicks >= ticks.at(-1)!.index, `${String(stats.ticks)} ticks + ${String(stats.missedTicks)} missed reach tick ${String(ticks.at(-1)!.index)}`);
  const channels = new Set(ticks.at(-1)!.readings.map((r) => r.channel));
  assert.ok(channels.has('cpu/all') && channels.has('twin/core0/temperature') && channels.has('twin/package/energy'));
  assert.ok(Number.isFinite(stats.jitterP99Ms));
});
