/**
 * The open-set claim test (claim-model.ts) and the request timeline (timeline.ts), pure: conformal
 * p-values, a model built from honest windows that rejects what it never saw, its file format,
 * and rows conditioned on what the market allowed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeededRandom } from '../../../src/internal/seeded-random.js';
import { ClaimModel, conformalP } from '../../../src/verification/trace/claim-model.js';
import type { WorkClass } from '../../../src/verification/trace/classes.js';
import { windowFeatures } from '../../../src/verification/trace/features.js';
import { SETTLE_ROWS, timelineScore, timelineStats, type RowContext } from '../../../src/verification/trace/timeline.js';
import { ActivityTrace, CHANNEL_COUNT } from '../../../src/verification/trace/trace.js';

function window(cpu: (t: number) => number): Float64Array {
  const trace = new ActivityTrace(100);
  const row = new Float64Array(CHANNEL_COUNT);
  for (let t = 0; t < 100; t++) {
    row[0] = cpu(t);
    row[4] = 50;
    trace.push(row);
  }
  return windowFeatures(trace, 0, 100);
}

/** Honest "science": flat out, with a little noise. */
function science(random: SeededRandom): Float64Array {
  return window(() => 0.95 + 0.05 * random.uniform());
}

test('the conformal p-value is the share of calibration scores at least as large, counting the window itself', () => {
  const calibration = Float64Array.from([1, 2, 3, 4]);
  assert.equal(conformalP(calibration, 0), 1);
  assert.equal(conformalP(calibration, 2.5), 3 / 5);
  assert.equal(conformalP(calibration, 4), 2 / 5);
  assert.equal(conformalP(calibration, 9), 1 / 5);
  assert.equal(conformalP(new Float64Array(0), 1), 1);
});

test('a model built from honest windows accepts a new honest window and rejects what it never saw: a bursty trace, an idle one', () => {
  const random = new SeededRandom(3);
  const reference = new Map<WorkClass, Float64Array[]>([['science', Array.from({ length: 120 }, () => science(random))], ['polling', Array.from({ length: 20 }, () => window((t) => (t % 20 === 0 ? 0.6 : 0)))]]);
  const calibration = new Map<WorkClass, Float64Array[]>([['science', Array.from({ length: 150 }, () => science(random))], ['polling', Array.from({ length: 20 }, () => window((t) => (t % 20 === 1 ? 0.6 : 0)))]]);
  const model = ClaimModel.build({ madeBy: 'test', reference, calibration, timeline: null });
  assert.deepEqual([...model.passiveClasses].sort(), ['polling', 'science']);
  const honest = model.passive('science', science(random));
  assert.ok(honest !== null && honest.p > 0.01, `honest p ${String(honest?.p)}`);
  for (const [name, cpu] of [['bursty', (t: number) => (Math.floor(t / 7) % 2 === 0 ? 1 : 0)], ['idle', () => 0]] as const) {
    const strange = model.passive('science', window(cpu));
    assert.ok(strange !== null && strange.p <= 0.01, `${name}: p ${String(strange?.p)}`);
  }
  assert.equal(model.passive('mining', science(random)), null, 'no reference for the class: no verdict');
  assert.equal(model.timeline(0), null, 'no timeline calibration: no verdict');
});

test('a claim model survives its file format, and an old closed-set forest or a damaged file is refused with the reason', () => {
  const random = new SeededRandom(5);
  const reference = new Map<WorkClass, Float64Array[]>([['science', Array.from({ length: 10 }, () => science(random))]]);
  const model = ClaimModel.build({ madeBy: 'test', reference, calibration: reference, timeline: { scores: [-0.9, -0.8, -0.7], source: 'unit test' } });
  const again = ClaimModel.fromJSON(JSON.parse(JSON.stringify(model)));
  const w = science(random);
  assert.ok(Math.abs((again.passive('science', w)?.score ?? 0) - (model.passive('science', w)?.score ?? 1)) < 1e-3);
  assert.equal(again.timeline(-0.75)?.p, 2 / 4, 'one of three calibration scores (−0.7) is at least −0.75');
  assert.equal(again.timelineSource, 'unit test');
  assert.throws(() => ClaimModel.fromJSON({ classes: ['inference'], forest: {} }), { code: 'MXW_ERR_INVALID_ARG', message: /not a claim model.*closed-set forest/ });
  const json = JSON.parse(JSON.stringify(model)) as { center: unknown[]; features: string[] };
  assert.throws(() => ClaimModel.fromJSON({ ...json, center: json.center.slice(1) }), { message: /center: expected/ });
  assert.throws(() => ClaimModel.fromJSON({ ...json, features: ['x'] }), { message: /features are not/ });
  assert.throws(() => ClaimModel.build({ madeBy: 'x', reference: new Map(), calibration: new Map(), timeline: null }), { code: 'MXW_ERR_INVALID_ARG' });
});

test('the timeline drops frozen rows, reads CPU as a share of the allowance, and leaves the rows just after a request out of idle', () => {
  const contexts: RowContext[] = [];
  const cpu: number[] = [];
  // 10 frozen rows (no CPU: says nothing), a request for 10 rows at half a core's allowance, then 30 idle rows.
  for (let i = 0; i < 10; i++) { contexts.push({ allowance: 0, serving: false }); cpu.push(0); }
  for (let i = 0; i < 10; i++) { contexts.push({ allowance: 0.5, serving: true }); cpu.push(0.5); }
  for (let i = 0; i < 30; i++) { contexts.push({ allowance: 1, serving: false }); cpu.push(i < SETTLE_ROWS ? 1 : 0); }
  const honest = timelineStats(cpu, contexts);
  assert.equal(honest.runningRows, 40);
  assert.equal(honest.servingRows, 10);
  assert.equal(honest.servingCpu, 1, 'half a core used of half a core allowed');
  assert.equal(honest.servingRowCpu, 1);
  // A request open for a fifth of each of its rows, the agent busy exactly then: a full core per open time, a fifth a row.
  const brief = timelineStats([0.2, 0.2, 0, 0, 0, 0, 0], [0.2, 0.2, 0, 0, 0, 0, 0].map((open) => ({ allowance: 1, serving: open > 0, open })));
  assert.ok(Math.abs(brief.servingCpu - 1) < 1e-9 && Math.abs(brief.servingRowCpu - 0.2) < 1e-9, JSON.stringify(brief));
  assert.equal(honest.idleRows, 30 - SETTLE_ROWS);
  assert.equal(honest.idleCpu, 0, 'the settle rows are not idle');
  assert.equal(timelineScore(honest), -1);
  // A miner: busy whatever the requests. Its serving rows add nothing to its idle level.
  const miner = timelineStats(contexts.map(() => 1), contexts);
  assert.equal(miner.servingCpu, 0);
  assert.equal(timelineScore(miner), 1);
  // Busy a third of the time whatever is asked, requests open a fifth of each serving row: it adds nothing either.
  const steady = timelineStats(contexts.map(() => 1 / 3), contexts.map((c) => ({ allowance: c.allowance > 0 ? 1 : 0, serving: c.serving, open: c.serving ? 0.2 : 0 })));
  assert.ok(Math.abs(steady.servingCpu) < 1e-9 && Math.abs(timelineScore(steady) - 1 / 3) < 1e-9, JSON.stringify(steady));
  // Rows before the window's start count towards the settle rows.
  assert.equal(timelineStats(cpu, contexts, 20, 50, 0).idleRows, 30 - SETTLE_ROWS);
  assert.equal(timelineStats(cpu, contexts, 20, 50).idleRows, 30);
  assert.ok(Number.isNaN(timelineScore(timelineStats([0], [{ allowance: 1, serving: false }]))), 'no serving rows: no score');
});
