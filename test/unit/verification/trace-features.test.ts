import assert from 'node:assert/strict';
import { test } from 'node:test';
import { evaluate, WorkClassifier, type LabelledWindow } from '../../../src/verification/trace/classifier.js';
import { FEATURE_NAMES, windowFeatures } from '../../../src/verification/trace/features.js';
import { ActivityTrace, CHANNEL_COUNT } from '../../../src/verification/trace/trace.js';
import { SeededRandom } from '../../../src/internal/seeded-random.js';

function trace(cpu: (t: number) => number, rows = 100): ActivityTrace {
  const out = new ActivityTrace(100);
  const row = new Float64Array(CHANNEL_COUNT);
  for (let t = 0; t < rows; t++) {
    row[0] = cpu(t);
    out.push(row);
  }
  return out;
}

const feature = (f: Float64Array, name: string): number => f[FEATURE_NAMES.indexOf(name)] ?? Number.NaN;

test('a flat busy trace and a 5 Hz burst trace have the features their shapes say', () => {
  const flat = windowFeatures(trace(() => 1), 0, 100);
  assert.equal(flat.length, FEATURE_NAMES.length);
  assert.ok(flat.every(Number.isFinite), 'no NaN for a constant series');
  assert.equal(feature(flat, 'cpu.mean'), 1);
  assert.equal(feature(flat, 'cpu.busyFraction'), 1);
  assert.equal(feature(flat, 'cpu.std'), 0);
  // Busy 100 ms, idle 100 ms: 5 bursts a second of 0.1 s, the spectrum's peak at 5 Hz.
  const bursty = windowFeatures(trace((t) => (Math.floor(t / 10) % 2 === 0 ? 1 : 0)), 0, 100);
  assert.equal(feature(bursty, 'cpu.burstsPerS'), 5);
  assert.ok(Math.abs(feature(bursty, 'cpu.burstMeanS') - 0.1) < 1e-9);
  assert.ok(Math.abs(feature(bursty, 'cpu.dominantHz') - 5) < 1e-9, String(feature(bursty, 'cpu.dominantHz')));
  assert.ok(feature(bursty, 'cpu.acf10') < -0.5, 'half a period apart: anti-correlated');
});

test('the forest tells bursty from flat windows it was not trained on; evaluate counts what it got right', () => {
  const random = new SeededRandom(3);
  const window = (bursty: boolean): Float64Array =>
    windowFeatures(trace((t) => (bursty ? (Math.floor(t / (5 + Math.floor(random.uniform() * 10))) % 2 === 0 ? 0.9 : 0.05) : 0.95 + 0.05 * random.uniform())), 0, 100);
  const windows: LabelledWindow[] = [];
  for (let i = 0; i < 30; i++) windows.push({ features: window(true), label: 'inference' }, { features: window(false), label: 'mining' });
  const forest = WorkClassifier.train(windows, { trees: 20 });
  const test: LabelledWindow[] = [];
  for (let i = 0; i < 10; i++) test.push({ features: window(true), label: 'inference' }, { features: window(false), label: 'mining' });
  const predicted = forest.predict(test.map((w) => w.features));
  const result = evaluate(test.map((w) => w.label), predicted);
  assert.equal(result.balancedAccuracy, 1, JSON.stringify(result.confusion));
  assert.equal(result.inferenceFalsePositiveRate, 0);
  // The forest survives a JSON round trip (the daemon loads it from a file).
  const loaded = WorkClassifier.fromJSON(JSON.parse(JSON.stringify(forest.toJSON())) as never);
  assert.deepEqual(loaded.predict(test.map((w) => w.features)), predicted);
});

test('evaluate: balanced accuracy is the mean recall; precision and the inference false-positive rate per the confusion', () => {
  const truth = ['inference', 'inference', 'inference', 'inference', 'mining', 'mining'] as const;
  const predicted = ['inference', 'inference', 'inference', 'mining', 'mining', 'inference'] as const;
  const e = evaluate(truth, predicted);
  assert.equal(e.balancedAccuracy, (0.75 + 0.5) / 2);
  assert.equal(e.inferenceFalsePositiveRate, 0.25);
  assert.equal(e.perClass.inference?.precision, 0.75);
  assert.deepEqual(e.confusion.mining, { mining: 1, inference: 1 });
});
