import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Histogram, Registry } from 'prom-client';
import { counterIncrease, histogramBuckets, parseScrape, sampleSum, seriesWith, windowOf } from '../../../src/telemetry/prometheus-text.js';

test('a scrape of a real prom-client registry parses: gauges by sum, histogram buckets ascending with +Inf last', async () => {
  const registry = new Registry();
  const h = new Histogram({ name: 'demo_seconds', help: 'demo', buckets: [0.001, 0.005, 0.01], registers: [registry] });
  for (const v of [0.0005, 0.002, 0.002, 0.02]) h.observe(v);
  const scrape = parseScrape(`${await registry.metrics()}\n# a comment\ngarbage line without a value x\nlabelled{a="1"} 2\nlabelled{a="2"} 3\n`);
  assert.deepEqual(histogramBuckets(scrape, 'demo_seconds'), [
    { le: 0.001, count: 1 },
    { le: 0.005, count: 3 },
    { le: 0.01, count: 3 },
    { le: Number.POSITIVE_INFINITY, count: 4 },
  ]);
  assert.equal(sampleSum(scrape, 'labelled'), 5);
  assert.ok(Number.isNaN(sampleSum(scrape, 'absent')));
});

test('a window between two scrapes holds only what was observed in between; quantiles are bucket upper edges', async () => {
  const registry = new Registry();
  const h = new Histogram({ name: 'late_seconds', help: 'lateness', buckets: [0.001, 0.005, 0.01], registers: [registry] });
  for (let i = 0; i < 50; i++) h.observe(0.02);
  const before = parseScrape(await registry.metrics());
  for (let i = 0; i < 99; i++) h.observe(0.0005);
  h.observe(0.007);
  const after = parseScrape(await registry.metrics());
  const window = windowOf(before, after, 'late_seconds');
  assert.equal(window.count, 100, 'the 50 slow ones before the window are not in it');
  assert.equal(window.quantile(0.5), 0.001);
  assert.equal(window.quantile(0.99), 0.001);
  assert.equal(window.quantile(1), 0.01);
  assert.equal(window.fractionAtMost(0.005), 0.99);
  assert.throws(() => window.fractionAtMost(0.004), RangeError, 'only bucket edges can be asked');
  const all = windowOf(null, after, 'late_seconds');
  assert.equal(all.count, 150);
  assert.equal(all.quantile(0.99), Number.POSITIVE_INFINITY, 'past the last edge');
  assert.ok(Number.isNaN(windowOf(after, after, 'late_seconds').quantile(0.5)), 'an empty window has no quantile');
});

test('a counter\'s increase sums its series, new ones from 0, restarted or vanished ones as nothing; labelled gauges are counted by label', () => {
  const before = parseScrape('c_total{a="x"} 10\nc_total{a="y"} 5\nc_total{a="gone"} 7\nphase{agent="a",phase="running"} 1\n');
  const after = parseScrape('c_total{a="x"} 14\nc_total{a="y"} 2\nc_total{a="new"} 3\nphase{agent="a",phase="running"} 1\nphase{agent="b",phase="running"} 0\nphase{agent="c",phase="paused"} 1\nphase{agent="d",phase="running"} 1\n');
  assert.equal(counterIncrease(before, after, 'c_total'), 4 + 0 + 3);
  assert.equal(counterIncrease(before, after, 'other'), 0);
  assert.equal(seriesWith(after, 'phase', 'phase="running"'), 2);
  assert.equal(seriesWith(after, 'phase', 'phase="paused"'), 1);
});
