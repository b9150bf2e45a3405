/**
 * A short run of the fuzz job (bench/fuzz-targets.ts and bench/fuzz-api.ts; the full job is
 * `npm run bench -- --only=fuzz`, a million inputs per target): a fixed seed, so a failure here is
 * repeatable. The API's crashers are kept as regression cases in test/unit/api/hostile-requests.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { API_TARGET_NAME, apiFuzzTarget } from '../../bench/fuzz-api.js';
import { fuzz, fuzzAsync, fuzzTargets } from '../../bench/fuzz-targets.js';

const RUNS = 3000;
const SEED = 20261206;

for (const target of fuzzTargets(SEED)) {
  test(`fuzz ${target.name}: ${String(RUNS)} inputs, each accepted or refused with a code`, () => {
    const result = fuzz(target, RUNS, SEED);
    assert.equal(result.failure, null, result.failure ?? '');
    assert.equal(result.runs, RUNS);
    // A target whose every input ends the same way exercises nothing: the generators must reach both sides.
    assert.ok(Object.keys(result.outcomes).length >= 2, JSON.stringify(result.outcomes));
  });
}

test(`fuzz ${API_TARGET_NAME}: ${String(RUNS)} requests, each answered within 2 s, below 500, errors coded`, async () => {
  const target = await apiFuzzTarget();
  try {
    const result = await fuzzAsync(target, RUNS, SEED);
    assert.equal(result.failure, null, result.failure ?? '');
    assert.equal(result.runs, RUNS);
    // Every route is reached, and every one but the tick stream (a WebSocket: plain GETs get 426) answers 2xx to some input.
    assert.ok(target.operations.length >= 20, target.operations.join(', '));
    for (const [op, outcomes] of target.coverage) {
      const statuses = Object.keys(outcomes);
      if (op.endsWith('/ticks')) assert.ok(statuses.includes('426 MXW_ERR_API_VALIDATION'), `${op}: ${JSON.stringify(outcomes)}`);
      else assert.ok(statuses.some((s) => s.startsWith('2')), `${op} never answered 2xx: ${JSON.stringify(outcomes)}`);
    }
  } finally {
    await target.close();
  }
});
