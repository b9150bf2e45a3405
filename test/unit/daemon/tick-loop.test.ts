import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMonotonicClock } from '../../../src/clock/clock.js';
import { TickLoop } from '../../../src/daemon/tick-loop.js';
import { ClearingEngine, type PlaneOffer } from '../../../src/market/engine.js';
import { OrderBook, type Plane } from '../../../src/market/order-book.js';
import { until } from '../../helpers/wait.js';

function cores(n: number, reserve = 0.01): Map<Plane, PlaneOffer> {
  return new Map([['cpu', { quality: Array.from({ length: n }, () => 1), reserve: Array.from({ length: n }, () => reserve), unit: Array.from({ length: n }, (_, i) => i) }]]);
}

test('the tick loop steps the session on a real clock, every tick, and keeps the clearing cost', async () => {
  const book = new OrderBook();
  for (let i = 0; i < 64; i++) {
    book.register(`a${String(i)}`);
    book.submit({ agentId: `a${String(i)}`, seq: 1, pricePerQuantumJ: (i + 1) / 100 });
  }
  const engine = new ClearingEngine({ book, walletJ: () => 1e6 });
  const seen: { tick: number; awards: number }[] = [];
  const loop = new TickLoop({
    clock: createMonotonicClock(),
    rateHz: 200,
    step: (tick) => {
      const r = engine.clearTick(tick, cores(64, 0.05));
      seen.push({ tick: r.tick, awards: r.awards.length });
      return r.costMs;
    },
  });
  await loop.start();
  await until('ten ticks', () => seen.length >= 10);
  const stats = await loop.stop();
  assert.ok(stats.ticks >= 10, `only ${String(stats.ticks)} ticks`);
  assert.equal(seen.length, stats.ticks);
  assert.deepEqual(seen.map((r) => r.tick), seen.map((_, i) => i), 'ticks are numbered without gaps');
  assert.equal(seen[0]?.awards, 60, '64 bids over 64 cores with a reserve of 0.05 J: the 4 below it lose');
  assert.ok(Number.isFinite(stats.clearP99Ms) && stats.clearP99Ms >= stats.clearP50Ms);
});

test('a tick that throws is skipped, counted and reported; the loop goes on', async () => {
  const book = new OrderBook();
  book.register('a');
  book.place('a', 1);
  const engine = new ClearingEngine({ book, walletJ: () => 1e6 });
  const errors: string[] = [];
  let handled = 0;
  const loop = new TickLoop({
    clock: createMonotonicClock(),
    rateHz: 200,
    step: (tick) => {
      if (tick % 5 === 2) throw new Error(`bad offer at ${String(tick)}`);
      handled++;
      return engine.clearTick(tick, cores(2, 0.05)).costMs;
    },
    onTickError: (err, tick) => { errors.push(`${String(tick)}: ${err.message}`); },
  });
  await loop.start();
  await until('two failed ticks', () => errors.length >= 2);
  const stats = await loop.stop();
  assert.ok(stats.failedTicks >= 2, JSON.stringify(stats));
  assert.equal(errors.length, stats.failedTicks);
  assert.equal(errors[0], '2: bad offer at 2');
  assert.equal(handled + stats.failedTicks, stats.ticks, 'every other tick was handled');
});
