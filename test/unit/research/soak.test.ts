import assert from 'node:assert/strict';
import { test } from 'node:test';
import { linearGrowth, soakAgentRequest } from '../../../src/research/soak.js';

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
