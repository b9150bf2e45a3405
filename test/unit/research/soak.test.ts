import assert from 'node:assert/strict';
import { test } from 'node:test';
import { linearGrowth, soakAgentRequest, type SoakSample } from '../../../src/research/soak.js';
import { cpuBursts } from '../../../src/research/soak-bursts.js';

test('growth is the least-squares line’s rise over the span ÷ its start: flat noise is ~0, a steady climb is its slope', () => {
  const t = Array.from({ length: 100 }, (_, i) => i * 10);
  assert.ok(Math.abs(linearGrowth(t, t.map((_, i) => 300 + (i % 2 === 0 ? 5 : -5)))) < 0.01, 'a sawtooth around 300 is flat');
  assert.ok(Math.abs(linearGrowth(t, t.map((s) => 200 + s / 10)) - 99 / 200) < 1e-9, '200 → 299: 49.5 %');
  assert.ok(linearGrowth(t, t.map((s) => 400 - s / 100)) < 0, 'shrinking is negative');
  assert.ok(Number.isNaN(linearGrowth([1], [1])), 'one sample has no line');
});

test('soak agents: the shares hold over a population, ids are unique, scientists search apart, bids spread around the reserve', () => {
  const options = { leechShare: 0.1, wasmShare: 0.05, agentBinary: '/x/soak-agent', wasmModule: '/x/scientist.wasm' };
  const requests = Array.from({ length: 2000 }, (_, i) => soakAgentRequest(i, options));
  const share = (pick: (r: (typeof requests)[number]) => boolean) => requests.filter(pick).length / requests.length;
  assert.ok(Math.abs(share((r) => r.role === 'leech') - 0.1) < 0.01);
  assert.ok(Math.abs(share((r) => r.runtime === 'wasm') - 0.05) < 0.01);
  assert.equal(new Set(requests.map((r) => r.id)).size, requests.length);
  const starts = requests.filter((r) => r.role === 'scientist').map((r) => Number(r.args?.at(-1)));
  assert.equal(new Set(starts).size, starts.length, 'no two scientists search the same numbers');
  assert.ok(starts.every((s) => Number.isSafeInteger(s)), 'exact as a WASM f64 argument');
  const bids = requests.map((r) => r.bid?.pricePerQuantumJ ?? 0);
  assert.ok(Math.min(...bids) >= 0.5 && Math.max(...bids) <= 3);
  assert.deepEqual(soakAgentRequest(7, options), soakAgentRequest(7, options), 'reproducible from the index');
});

test('CPU bursts: windows above twice the median CPU, against the rest, with what the daemon was doing in each', () => {
  const sample = (i: number, cpu: number, running: number): SoakSample => ({ tS: i * 10, rssMiB: 300, heapUsedMiB: 50, externalMiB: 4, fds: 3000, cpu, agentsAlive: 1000, agentsRunning: running, quantaSold: running * 10, primesVerified: running * 2, spawnedTotal: 1000 + i * 4, deadTotal: i * 4, latenessP50Ms: 0.05, latenessP99Ms: 2, clearingP99Ms: 0.5, ledgerCommitP99Ms: 5, ledgerEntries: i * 400, ledgerMiB: 1, failedTicks: 0, missedTicks: 0, scrapeMs: 60 });
  const samples = [sample(0, 0.15, 10), sample(1, 0.14, 10), sample(2, 0.6, 40), sample(3, 0.16, 10), sample(4, 0.5, 30), sample(5, 0.15, 10)];
  const b = cpuBursts(samples);
  assert.equal(b.medianCpu, 0.16);
  assert.equal(b.bursts.windows, 2);
  assert.equal(b.rest.windows, 4);
  assert.ok(Math.abs(b.bursts.agentsRunning - 35) < 1e-9);
  assert.ok(Math.abs(b.rest.agentsRunning - 10) < 1e-9);
  assert.equal(b.bursts.spawned, 4, 'spawns per window from the running totals');
  assert.ok(Number.isNaN(cpuBursts([]).medianCpu));
});
