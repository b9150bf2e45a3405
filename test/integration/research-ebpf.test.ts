import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ebpfBlocker } from '../../src/entropy/ebpf/paths.js';
import { ebpfFindings, runEbpfResearch, type TransportRow } from '../../src/research/ebpf.js';

const SKIP = ebpfBlocker() ?? false;

test('research ebpf --quick measures each transport, the unwatched tax and the churner', { skip: SKIP, timeout: 120_000 }, async () => {
  const steps: string[] = [];
  const report = await runEbpfResearch({ quick: true, iterations: 5000, configs: ['ringbuf', 'perfbuf-1000'], churnerSeconds: 1, onProgress: (_i, _n, label) => steps.push(label) });
  assert.deepEqual(report.rows.map((r) => r.config), ['no-probe', 'ringbuf', 'perfbuf-1000']);
  for (const row of report.rows) {
    assert.ok(row.perIterationNs > 0 && row.cheapPerCallNs > 0);
    if (row.config === 'no-probe') continue;
    assert.equal(row.lost, 0, `${row.config} lost nothing`);
    assert.equal(row.expected, 5000 + 25_000);
    assert.ok((row.capturedPerS ?? 0) > 0);
    assert.ok(row.probeCostNs !== undefined && row.consumerNsPerEvent !== undefined);
  }
  assert.ok(report.unwatched !== undefined && report.unwatched.noProbeNs > 0);
  assert.ok(report.churner !== undefined && report.churner.cpuMsPerMiBNoProbe > 0);
  assert.equal(steps.length, 3 + 2 + 2);
  assert.ok(report.findings.length >= 4);
});

test('findings follow the data', () => {
  const row = (config: TransportRow['config'], probeCostNs: number): TransportRow => ({ config, label: config, trials: 3, iterations: 1000, perIterationNs: 7000, minPerIterationNs: 6900, maxPerIterationNs: 7100, perEventCostNs: 800, probeCostNs, cheapPerCallNs: 300 + probeCostNs, capturedPerS: 1e5, lost: config === 'perfbuf-1' ? 3 : 0, expected: 6000, consumerNsPerEvent: 40 });
  const f = ebpfFindings([row('ringbuf', 400), row('perfbuf-1', 4000)], { iterations: 1, noProbeNs: 300, attachedNs: 650, taxNs: 350 }, { seconds: 1, trials: 1, cpuMsPerMiBNoProbe: 2, cpuMsPerMiBProbe: 2.01, loaderMsPerMiB: 0.001, noiseSpreadPercent: 3, estimatedOverheadPercent: 0.05, overheadPercent: 0.5, eventsPerS: 60 });
  assert.match(f[0]!, /400 ns .* 4000 ns \(10\.0×\): the ring buffer is cheaper/);
  assert.match(f[1]!, /claim holds/);
  assert.match(f.join('\n'), /lost by: perfbuf-1 \(3 of 6000\)/);
  assert.match(f.join('\n'), /pays 350 ns per munmap/);
  assert.match(f.join('\n'), /< 1 % overhead claim holds for the churner: 0\.50 %/);
  assert.match(f.join('\n'), /an estimate\): .* 0\.050 %, within the < 1 % claim/);
  const noisy = ebpfFindings([], undefined, { seconds: 1, trials: 3, cpuMsPerMiBNoProbe: 2, cpuMsPerMiBProbe: 2.08, loaderMsPerMiB: 0.001, noiseSpreadPercent: 6, estimatedOverheadPercent: undefined, overheadPercent: 4, eventsPerS: 12 });
  assert.match(noisy[0]!, /not distinguishable from the trial-to-trial spread without the probe \(6\.0 %\)/);
  const bad = ebpfFindings([row('ringbuf', 5000), row('perfbuf-1', 4000)], undefined, undefined);
  assert.match(bad[0]!, /does not hold here/);
  assert.match(bad[1]!, /missed/);
});
