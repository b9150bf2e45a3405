import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatGossipReport } from '../../../src/cli/commands/research-gossip.js';
import { runGossipResearch } from '../../../src/research/gossip.js';

test('the quick gossip research run says it is modelled, reports every run and judges every goal from the run', () => {
  const steps: string[] = [];
  const r = runGossipResearch({ quick: true, onProgress: (i, n, label) => steps.push(`${i}/${n} ${label}`) });
  assert.equal(r.provenance.kind, 'modelled');
  assert.equal(r.swim.length, 6);
  assert.deepEqual([...new Set(r.swim.map((s) => s.lifeguard))].sort(), [false, true]);
  assert.equal(steps.length, r.pushSum.length + r.swim.length);
  assert.ok(r.goals.length >= 4);
  const text = formatGossipReport(r);
  assert.match(text, /MODELLED/);
  for (const g of r.goals) assert.ok(text.includes(g.goal) && text.includes(g.measured));
});
