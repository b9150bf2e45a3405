import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toJson } from '../../../src/cli/output.js';
import { parseResults, summarise, validateResults } from '../../../src/experiment/results.js';
import { mean, ratioInterval } from '../../../src/experiment/stats.js';
import { syntheticResults } from '../../helpers/experiment-results.js';

test('summarise: per-arm means, the paired Fieller ratio and the verdict agree with the repetitions', () => {
  const results = syntheticResults({ repetitions: 4, ratio: 2 });
  const { perArm, ratio, thesis } = results.summary;
  const cfs = results.repetitions.map((r) => r.cfs.primesPerJ);
  const maxwell = results.repetitions.map((r) => r.maxwell.primesPerJ);
  assert.equal(perArm.cfs.primesPerJ.n, 4);
  assert.equal(perArm.cfs.primesPerJ.mean, mean(cfs));
  assert.ok(perArm.cfs.primesPerJ.low! < perArm.cfs.primesPerJ.mean && perArm.cfs.primesPerJ.mean < perArm.cfs.primesPerJ.high!);
  const expected = ratioInterval(maxwell, cfs);
  assert.equal(ratio.estimate, expected.estimate);
  assert.equal(ratio.low, expected.low);
  assert.equal(ratio.high, expected.high);
  assert.equal(ratio.method, 'fieller-paired');
  assert.ok(ratio.estimate > 1.9 && ratio.estimate < 2.1, `ratio ${ratio.estimate}`);
  assert.deepEqual(thesis, { threshold: 1.8, met: true, metWithConfidence: ratio.low! >= 1.8, verdict: 'PASS' });
  assert.equal(perArm.maxwell.leechDeaths, 8);
  assert.equal(perArm.maxwell.leechesRun, 8);
  assert.equal(perArm.cfs.leechDeaths, 0);
  assert.equal(perArm.cfs.meanLeechSurvivalS, null);
  assert.equal(perArm.cfs.overheadFraction, null);
  assert.ok(perArm.maxwell.overheadFraction! > 0);
  assert.ok(perArm.cfs.peakC > perArm.maxwell.peakC);
});

test('a ratio under 1.8 is a MISS; one repetition gives an estimate without an interval', () => {
  const miss = syntheticResults({ ratio: 1.3 });
  assert.equal(miss.summary.thesis.verdict, 'MISS');
  assert.equal(miss.summary.thesis.met, false);
  assert.equal(miss.summary.thesis.metWithConfidence, false);
  const single = syntheticResults({ repetitions: 1 });
  assert.equal(single.summary.ratio.method, 'none');
  assert.equal(single.summary.ratio.bounded, false);
  assert.equal(single.summary.ratio.low, null);
  assert.equal(single.summary.perArm.cfs.primesPerJ.low, null);
  assert.throws(() => summarise([]), { code: 'MXW_ERR_INVALID_ARG' });
});

test('results survive a round trip through results.json', () => {
  const results = syntheticResults();
  const back = parseResults(toJson(results));
  assert.deepEqual(back, results);
});

test('bad documents are refused with MXW_ERR_RESULTS_INVALID naming the field', () => {
  assert.throws(() => parseResults('{not json'), { code: 'MXW_ERR_RESULTS_INVALID' });
  const good = JSON.parse(toJson(syntheticResults())) as Record<string, unknown>;
  const mutate = (f: (doc: { metadata: Record<string, unknown>; repetitions: Record<string, Record<string, unknown>>[] }) => void): unknown => {
    const doc = structuredClone(good) as unknown as Parameters<typeof f>[0];
    f(doc);
    return doc;
  };
  const cases: [string, unknown, RegExp][] = [
    ['unknown key', mutate((d) => (d.metadata['extra'] = 1)), /metadata/],
    ['wrong provenance', mutate((d) => ((d.metadata['sources'] as { energy: { provenance: string } }).energy.provenance = 'guessed')), /sources\.energy\.provenance/],
    ['series length mismatch', mutate((d) => (d.repetitions[0]!['cfs']!['series'] as { packageW: unknown[] }).packageW.pop()), /packageW/],
    ['arms swapped', mutate((d) => (d.repetitions[0]!['cfs']!['arm'] = 'maxwell')), /cfs\.arm/],
    ['repetition count', mutate((d) => (d.metadata['repetitions'] = 5)), /repetitions/],
    ['negative joules', mutate((d) => (d.repetitions[1]!['maxwell']!['packageJ'] = -1)), /packageJ/],
  ];
  for (const [what, doc, field] of cases) {
    assert.throws(() => validateResults(doc), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'MXW_ERR_RESULTS_INVALID', what);
      assert.match(err.message, field, what);
      return true;
    });
  }
});
