import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock, createMonotonicClock } from '../../src/clock/clock.js';
import { seconds } from '../../src/units/units.js';

test('a manual clock wakes sleepers in order when time passes their wake time', async () => {
  const clock = new ManualClock(10);
  const woke: string[] = [];
  const late = clock.sleep(seconds(2)).then(() => woke.push('late'));
  const early = clock.sleep(seconds(1)).then(() => woke.push('early'));
  clock.advance(seconds(0.5));
  await Promise.resolve();
  assert.deepEqual(woke, []);
  assert.equal(clock.pending, 2);
  clock.advance(seconds(2));
  await Promise.all([late, early]);
  assert.deepEqual(woke, ['early', 'late']);
  assert.equal(clock.now(), 12.5);
  assert.equal(clock.pending, 0);
});

test('a manual clock refuses to go backwards', () => {
  const clock = new ManualClock();
  assert.throws(() => { clock.advance(-1 as never); }, { code: 'MXW_ERR_CLOCK_BACKWARDS' });
  assert.throws(() => new ManualClock(Number.NaN), { code: 'MXW_ERR_INVALID_ARG' });
});

test('sleeping on a manual clock can be aborted', async () => {
  const clock = new ManualClock();
  const controller = new AbortController();
  const sleeping = clock.sleep(seconds(5), { signal: controller.signal });
  controller.abort();
  await assert.rejects(sleeping, { code: 'MXW_ERR_ABORTED' });
  assert.equal(clock.pending, 0);
  await assert.rejects(clock.sleep(seconds(1), { signal: controller.signal }), { code: 'MXW_ERR_ABORTED' });
});

test('the monotonic clock never goes backwards and its sleep can be aborted', async () => {
  const clock = createMonotonicClock();
  let previous = clock.now();
  for (let i = 0; i < 1000; i++) {
    const now = clock.now();
    assert.ok(now >= previous);
    previous = now;
  }
  const controller = new AbortController();
  const sleeping = clock.sleep(seconds(60), { signal: controller.signal });
  controller.abort();
  await assert.rejects(sleeping, { code: 'MXW_ERR_ABORTED' });
  await clock.sleep(seconds(0));
});
