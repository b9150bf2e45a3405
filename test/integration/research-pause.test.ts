import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findings, runPauseResearch, type PauseRow } from '../../src/research/pause.js';

const SKIP = process.getuid?.() !== 0 ? 'needs root for cgroups' : false;

test('research pause measures every mechanism present and says what it could not measure', { skip: SKIP, timeout: 120_000 }, async () => {
  const progress: string[] = [];
  const report = await runPauseResearch({ trials: 20, mechanisms: ['cgroup2-freeze', 'sigstop'], workloads: ['cpu'], memoryMiB: [32], onProgress: (_i, _n, label) => progress.push(label) });
  assert.ok(report.rows.length >= 1 && report.rows.some((r) => r.mechanism === 'sigstop'));
  for (const row of report.rows) {
    assert.equal(row.trials, 20);
    assert.equal(row.confirmed, 20, `${row.mechanism}: every pause confirmed`);
    assert.ok(row.p50Ms > 0 && row.p50Ms <= row.p99Ms && row.p99Ms <= row.maxMs);
  }
  assert.equal(progress.length, report.rows.length);
  assert.ok(report.notMeasured.some((n) => n.mechanism === 'qmp-stop'), 'a mechanism left out is listed with why');
  assert.ok(report.machine.cpus > 0 && report.machine.kernel.length > 0);
  assert.ok(report.findings.length >= 1);
});

test('findings are computed from the data, not asserted', () => {
  const row = (mechanism: PauseRow['mechanism'], workload: PauseRow['workload'], memoryMiB: number, p50Ms: number, p99Ms: number): PauseRow => ({ mechanism, workload, memoryMiB, trials: 1000, p50Ms, p99Ms, maxMs: p99Ms, confirmed: 1000, fallbacks: 0 });
  const good = findings([row('sigstop', 'cpu', 256, 0.2, 1), row('sigstop', 'io', 256, 0.8, 4), row('sigstop', 'cpu', 4096, 0.2, 1.2), row('sigstop', 'io', 4096, 0.8, 5)]);
  assert.match(good[0]!, /under 10 ms at p99 \(worst 5\.00 ms/);
  assert.match(good[1]!, /4\.00× the median/);
  assert.match(good[2]!, /4096 MiB agents take 1\.00×/);
  const bad = findings([row('cgroup2-freeze', 'io', 256, 3, 16)]);
  assert.match(bad[0]!, /missed by cgroup2-freeze/);
});
