import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ablationFindings, armOrder, type AblationArmResult } from '../../../src/research/ablation.js';

test('the arms run in Williams-square orders: each first once, each after every other once', () => {
  for (const n of [2, 4, 6]) {
    const rows = Array.from({ length: n }, (_, rep) => armOrder(n, rep));
    for (const row of rows) assert.deepEqual([...row].sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i));
    assert.deepEqual(rows.map((r) => r[0]).sort((a, b) => (a ?? 0) - (b ?? 0)), Array.from({ length: n }, (_, i) => i), `n = ${String(n)}: each arm first once`);
    const pairs = new Set(rows.flatMap((r) => r.slice(1).map((b, i) => `${String(r[i])}>${String(b)}`)));
    assert.equal(pairs.size, n * (n - 1), `n = ${String(n)}: every ordered pair of neighbours once`);
  }
});

const arm = (key: AblationArmResult['key'], mean: number, low: number, high: number, peakC: number): AblationArmResult => ({
  key, label: key, what: '', runs: [], primesPerJ: { mean, low, high }, ratioToCfs: null, peakC, leechesDead: 0, leeches: 0, scientistsDead: 0, scientists: 0,
});

test('the findings say what each step adds, and when the intervals cannot tell the arms apart', () => {
  const overlapping = ablationFindings([arm('cfs', 400, 300, 500, 94), arm('admission', 700, 400, 1000, 94), arm('flat', 720, 530, 910, 86), arm('maxwell', 700, 450, 940, 81)]);
  assert.match(overlapping.join('\n'), /pricing by heat adds no primes per joule in these repetitions \(0\.97× the flat price\)/);
  assert.match(overlapping.join('\n'), /overlap: these repetitions cannot tell them apart/);
  assert.match(overlapping.join('\n'), /Peak temperature: 94\.0 °C under CFS, 81\.0 °C under Maxwell, 94\.0 °C with admission alone/);
  const apart = ablationFindings([arm('cfs', 400, 390, 410, 94), arm('admission', 500, 490, 510, 94), arm('flat', 600, 590, 610, 86), arm('maxwell', 800, 790, 810, 81)]);
  assert.match(apart.join('\n'), /Admission alone \(CFS, the insolvent killed\): 1\.25×, 25 % of Maxwell's gain/);
  assert.match(apart.join('\n'), /pricing by heat adds 1\.33× over the flat price/);
  assert.doesNotMatch(apart.join('\n'), /overlap/);
});
