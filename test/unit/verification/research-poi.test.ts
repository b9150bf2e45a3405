import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatPoiReport } from '../../../src/cli/commands/research-poi.js';
import { toJson } from '../../../src/cli/output.js';
import { runProofOfInferenceResearch } from '../../../src/research/proof-of-inference.js';
import { CHEATERS } from '../../../src/verification/inference/agents.js';

test('maxwell research proof-of-inference --quick runs: every agent has a row, the honest one is never slashed, every cheater is caught by some layer', async () => {
  const report = await runProofOfInferenceResearch({ quick: true, requests: 6 });
  assert.equal(report.provenance.kind, 'measured');
  assert.deepEqual(report.agents.map((a) => a.agent), ['honest', ...CHEATERS]);
  const honest = report.agents[0]!;
  assert.equal(honest.layers[3].rate, 0);
  assert.equal(honest.layers[4].rate, 0);
  assert.equal(honest.deployed.meanToSlash, null);
  for (const a of report.agents.slice(1)) {
    if (a.cheated === 0) continue;
    assert.ok(a.layers[4].rate > 0 || a.layers[3].rate > 0 || a.layers[2].rate > 0, `${a.agent} caught by no layer`);
  }
  assert.ok(report.freivalds.maxHonestResidual < report.freivalds.tolerance);
  assert.ok(report.reproducibility.every((r) => r.commitmentsIdentical === r.requests || r.config !== 'a second session, same configuration'));
  const text = formatPoiReport(report);
  assert.match(text, /Cheat table/);
  assert.match(text, /layers 1–2 together/);
  JSON.parse(toJson(report));
});
