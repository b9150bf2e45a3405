import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toJson } from '../../../src/cli/output.js';
import { GSP_SCENARIOS, MODES, runGspStabilityResearch, simulateGspStability, unsettledBecause, type SeriesSummary } from '../../../src/research/gsp-stability.js';

const scenario = (name: string) => GSP_SCENARIOS.find((s) => s.name === name)!;

test('the quick research run is deterministic (same seed → same JSON), reports every scenario in all three modes, and says it is modelled', () => {
  const a = runGspStabilityResearch({ quick: true });
  const b = runGspStabilityResearch({ quick: true });
  assert.equal(toJson(a), toJson(b));
  assert.equal(a.provenance.kind, 'modelled');
  assert.equal(a.durationS, 30);
  assert.deepEqual([...new Set(a.runs.map((r) => r.mode))].sort(), ['gsp', 'uniform', 'vcg']);
  for (const s of GSP_SCENARIOS) for (const mode of MODES) assert.equal(a.runs.filter((r) => r.scenario === s.name && r.mode === mode).length, 1);
  for (const r of a.runs) {
    assert.equal(r.settled, r.unsettledBecause.length === 0, `${r.scenario}/${r.mode}: a verdict without reasons`);
    assert.ok(r.hottestC > 25 && r.hottestC < 100);
    assert.ok(r.slotsSold <= r.slotsOffered);
  }
  assert.ok(a.findings.some((f) => f.startsWith('GSP: settles in')));
  assert.ok(a.findings.some((f) => f.startsWith('VCG: settles in')));
  assert.ok(a.findings.some((f) => f.startsWith('UNIFORM: settles in')));
  const other = runGspStabilityResearch({ quick: true, seed: 2, scenarios: [scenario('best-response')], modes: ['gsp'] });
  assert.notEqual(toJson(other.runs[0]), toJson(a.runs.find((r) => r.scenario === 'best-response' && r.mode === 'gsp')), 'the seed matters');
});

test('truthful bidding: VCG pays the LEF payments (reserves rise along the slots), GSP pays more (EOS: truthful GSP revenue ≥ VCG), both allocate efficiently', () => {
  const vcg = simulateGspStability({ mode: 'vcg', scenario: scenario('truthful'), durationS: 20 });
  const gsp = simulateGspStability({ mode: 'gsp', scenario: scenario('truthful'), durationS: 20 });
  assert.ok(vcg.lefPaymentDistance < 0.02, `VCG vs LEF ${vcg.lefPaymentDistance}`);
  assert.ok(Math.abs(vcg.lefRevenueRatio - 1) < 0.02);
  assert.ok(gsp.lefRevenueRatio > 1.05, `GSP revenue / LEF ${gsp.lefRevenueRatio}`);
  assert.ok(Math.abs(vcg.efficiency - 1) < 1e-9 && Math.abs(gsp.efficiency - 1) < 1e-9);
  // Truthful bids do not move: every agent ends on its value.
  for (const a of gsp.agents) assert.equal(a.finalBidJ, a.valueJ);
});

test('value-share bidders bid 0.8 × value; best responders never bid above their value', () => {
  const share = simulateGspStability({ mode: 'gsp', scenario: scenario('value-share'), durationS: 5 });
  for (const a of share.agents) assert.ok(Math.abs(a.finalBidJ - 0.8 * a.valueJ) < 1e-12);
  const br = simulateGspStability({ mode: 'gsp', scenario: scenario('shading'), durationS: 10 });
  for (const a of br.agents) assert.ok(a.finalBidJ <= a.valueJ + 1e-12, `${a.id} bids ${a.finalBidJ} > ${a.valueJ}`);
  const adversary = br.agents.find((a) => a.strategy === 'shading')!;
  assert.ok(adversary.finalBidJ >= 0.5 * adversary.valueJ - 1e-12);
});

test('the verdict says why, computed from the summaries', () => {
  const calm: SeriesSummary = { mean: 1, drift: 0.01, withinStd: 0.01, varianceGrowth: 1, lastSwing: 0.01, oscillation: null, settled: true };
  assert.deepEqual(unsettledBecause({ reserve: calm, price: calm, temperature: calm, share: calm }), []);
  const hot: SeriesSummary = { mean: 75, drift: 3.2, withinStd: 1, varianceGrowth: 1, lastSwing: 1, oscillation: { periodS: 0.4, strength: 0.7, amplitude: 1.1 }, settled: false };
  const reasons = unsettledBecause({ reserve: calm, price: calm, temperature: hot, share: calm });
  assert.deepEqual(reasons, ['temperature drifts 3.20 °C (> 1.00 °C)', 'temperature cycles every 0.40 s, ±1.100 °C (r 0.70)']);
  // A swing that doubles but stays below the amplitude limit is not a failure; above it, it is.
  assert.deepEqual(unsettledBecause({ reserve: calm, price: calm, temperature: calm, share: { ...calm, varianceGrowth: 3, lastSwing: 0.01, settled: false } }), []);
  assert.deepEqual(unsettledBecause({ reserve: calm, price: calm, temperature: calm, share: { ...calm, varianceGrowth: 3, lastSwing: 0.2, settled: false } }), ['share swing grows 3.00× (> 2×) to ±0.200']);
});

test('invalid options are refused', () => {
  assert.throws(() => simulateGspStability({ mode: 'gsp', scenario: scenario('truthful'), durationS: 1 }), { code: 'MXW_ERR_INVALID_ARG' });
  assert.throws(() => simulateGspStability({ mode: 'gsp', scenario: scenario('truthful'), seed: 0.5 }), { code: 'MXW_ERR_INVALID_ARG' });
});
