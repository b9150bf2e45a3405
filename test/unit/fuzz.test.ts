/**
 * A short run of the fuzz job (bench/fuzz-targets.ts; the full job is `npm run bench -- --only=fuzz`,
 * a million inputs per target): a fixed seed, so a failure here is repeatable, and crashers found
 * earlier kept as regression cases.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fuzz, fuzzTargets } from '../../bench/fuzz-targets.js';

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
