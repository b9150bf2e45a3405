/** The repeating-task helper: runs never overlap, a failing run is reported and the task goes on, stop waits for the run in flight. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RepeatingTask } from '../../../src/internal/repeating-task.js';

const until = async (what: string, ok: () => boolean, deadlineMs = 10_000): Promise<void> => {
  const end = Date.now() + deadlineMs;
  while (!ok()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
};

test('runs repeat, never two at once, and a run that throws is reported while the task goes on', async () => {
  let active = 0;
  let maxActive = 0;
  let calls = 0;
  const errors: string[] = [];
  const task = new RepeatingTask({
    name: 'probe',
    everyMs: 1,
    runAtStart: true,
    run: async () => {
      calls++;
      active++;
      maxActive = Math.max(maxActive, active);
      await new Promise((r) => setTimeout(r, 3));
      active--;
      if (calls === 2) throw new Error('second run fails');
    },
    onError: (err) => errors.push(err.message),
  });
  task.start();
  task.start();
  await until('five runs', () => task.runs >= 5);
  await task.stop();
  assert.equal(maxActive, 1, 'a run starts only after the previous one ended');
  assert.deepEqual(errors, ['second run fails']);
  const after = task.runs;
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(task.runs, after, 'nothing runs after stop');
  assert.equal(task.running, false);
});

test('stop aborts the run in flight and resolves only once it has ended; an abort is not reported as an error', async () => {
  let ended = false;
  const errors: Error[] = [];
  const task = new RepeatingTask({
    name: 'slow',
    everyMs: 1000,
    runAtStart: true,
    // Never resolves on its own: only the abort ends it, a little later, as a real run winding down would.
    run: (signal) => new Promise<void>((_, reject) => {
      signal.addEventListener('abort', () => { setTimeout(() => { ended = true; reject(new Error('aborted')); }, 5); });
    }),
    onError: (err) => errors.push(err),
  });
  task.start();
  await task.stop();
  assert.equal(ended, true);
  assert.deepEqual(errors, []);
  await task.stop();
});

test('an interval that is not a positive number of milliseconds is refused at construction', () => {
  for (const everyMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) assert.throws(() => new RepeatingTask({ name: 'bad', everyMs, run: () => undefined }), RangeError);
});
