import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SeededRandom } from '../../../src/internal/seeded-random.js';
import { checkTransfer } from '../../../src/ledger/entries.js';
import { auditEconomics, auditProbability, slashTransfers } from '../../../src/verification/inference/audit.js';
import { CHEATERS, createAgent, HonestAgent, serveObserved } from '../../../src/verification/inference/agents.js';
import { commitInput, commitOutput, openProfile, quantise, QUANT_STEP } from '../../../src/verification/inference/commitments.js';
import { freivalds, multiply } from '../../../src/verification/inference/freivalds.js';
import { LayeredVerifier } from '../../../src/verification/inference/layers.js';
import { MODELS_DIR, TinyGpt, type Matrix } from '../../../src/verification/inference/model.js';

const PROMPTS = ['It was the best of times', 'we can not dedicate', 'Four score and seven', 'the age of wisdom, it'];

test('quantised output commitments are reproducible across two sessions of the model (and the floats bit for bit)', async () => {
  const a = await TinyGpt.load();
  const b = await TinyGpt.load();
  try {
    for (const p of PROMPTS) {
      const ga = await a.generate(a.encode(p), 8, { spot: true });
      const gb = await b.generate(b.encode(p), 8, { spot: true });
      assert.deepEqual(ga.tokens, gb.tokens);
      assert.equal(commitOutput(ga.tokens, ga.logits), commitOutput(gb.tokens, gb.logits));
      ga.logits.forEach((row, i) => { assert.deepEqual(row, gb.logits[i]); });
      assert.equal(ga.spot.size, 8);
    }
    assert.notEqual(commitInput(a.entry.sha256, a.encode('ab')), commitInput(a.entry.sha256, a.encode('ba')));
    // The grid: values closer than a step round alike, a step apart do not.
    assert.deepEqual([...quantise([0.1, 0.1 + QUANT_STEP / 16, 0.1 + QUANT_STEP, 1e9])], [102, 102, 103, 2 ** 30]);
  } finally {
    await a.release();
    await b.release();
  }
});

test('a missing or corrupt model is MXW_ERR_MODEL_LOAD with a clear message', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mxw-model-'));
  copyFileSync(join(MODELS_DIR, 'tiny-gpt.json'), join(dir, 'tiny-gpt.json'));
  await assert.rejects(TinyGpt.load('tiny-gpt.onnx', { dir: `${dir}/` }), (e: unknown) => (e as { code?: string }).code === 'MXW_ERR_MODEL_LOAD' && /missing/.test((e as Error).message));
  writeFileSync(join(dir, 'tiny-gpt.onnx'), 'not a model');
  await assert.rejects(TinyGpt.load('tiny-gpt.onnx', { dir: `${dir}/` }), (e: unknown) => (e as { code?: string }).code === 'MXW_ERR_MODEL_LOAD' && /corrupt or edited/.test((e as Error).message));
  await assert.rejects(TinyGpt.load('nope.onnx'), (e: unknown) => (e as { code?: string }).code === 'MXW_ERR_MODEL_LOAD');
});

function randomMatrix(rng: SeededRandom, rows: number, cols: number): Matrix {
  return { rows, cols, data: Float32Array.from({ length: rows * cols }, () => rng.normal()) };
}

test('Freivalds accepts honest float32 products and rejects a perturbed one', () => {
  const rng = new SeededRandom(7);
  for (let t = 0; t < 20; t++) {
    const a = randomMatrix(rng, 18, 64);
    const b = randomMatrix(rng, 64, 256);
    const c = multiply(a, b);
    assert.ok(freivalds(a, b, c, { rng }).accepted, `honest product ${String(t)} rejected`);
    const bad = { ...c, data: c.data.slice() };
    bad.data[5 * 256 + 17] = (bad.data[5 * 256 + 17] ?? 0) + 1;
    assert.equal(freivalds(a, b, bad, { rng }).accepted, false, `perturbed product ${String(t)} accepted`);
  }
  const a = randomMatrix(rng, 4, 8);
  assert.equal(freivalds(a, randomMatrix(rng, 8, 3), randomMatrix(rng, 4, 4), { rng }).accepted, false, 'shapes that do not chain');
});

test('Freivalds CAN accept a wrong product: with one vector, a single wrong entry escapes about half the time (2^-k)', () => {
  const rng = new SeededRandom(11);
  const a = randomMatrix(rng, 8, 16);
  const b = randomMatrix(rng, 16, 32);
  const bad = multiply(a, b);
  bad.data[3] = (bad.data[3] ?? 0) + 10;
  let accepted1 = 0;
  let accepted4 = 0;
  const trials = 400;
  for (let i = 0; i < trials; i++) {
    if (freivalds(a, b, bad, { rng, vectors: 1 }).accepted) accepted1++;
    if (freivalds(a, b, bad, { rng, vectors: 4 }).accepted) accepted4++;
  }
  assert.ok(accepted1 > trials * 0.4 && accepted1 < trials * 0.6, `k=1 accepted ${String(accepted1)}/${String(trials)}`);
  assert.ok(accepted4 > 0 && accepted4 < trials * 0.12, `k=4 accepted ${String(accepted4)}/${String(trials)} (expected ≈ 1/16)`);
});

test('audit economics: p × stake exceeds the gain; a slash moves the stake from escrow to burn', () => {
  const e = auditEconomics({ pricePerTokenMicroJ: 10_000n, tokensPerRequest: 16, stakeMicroJ: 16_000_000n });
  assert.equal(e.gainPerRequestMicroJ, 160_000n);
  assert.equal(e.auditProbability, 0.02);
  assert.ok(e.expectedLossPerCheatMicroJ > Number(e.gainPerRequestMicroJ));
  assert.equal(auditProbability(1n, 1n), 1);
  const [slash] = slashTransfers('miner-1', 16_000_000n, 'request 3');
  assert.ok(slash !== undefined);
  assert.equal(slash.kind, 'slash');
  assert.equal(slash.from, 'escrow');
  assert.equal(slash.to, 'burn');
  checkTransfer(slash);
});

test('the layered verifier passes the honest agent and flags every cheater in a small seeded run (timing-free: open profile)', async () => {
  const reference = await TinyGpt.load();
  try {
    const profile = openProfile(reference.name);
    const pace = { prefillMs: 0, decodeMs: 0 };
    // Prompts whose last 8 symbols repeat with different beginnings, so that the lazy cache hits.
    const prompts = ['It was the best of times', 'the worst of times', 'age of the best of times', 'we can not dedicate', 'fitting and proper that we'];
    const requests = prompts.map((p, i) => ({ id: i, prompt: reference.encode(p), maxNewTokens: 6, bidMicroJ: 1_000n }));
    for (const kind of ['honest', ...CHEATERS] as const) {
      const agent = kind === 'honest' ? new HonestAgent(reference) : await createAgent(kind, reference, pace, 3);
      const verifier = await LayeredVerifier.create(reference, profile, { spotCheckFromMicroJ: 0n, auditProbability: 1, forceAll: true, stakeMicroJ: 1_000_000n, seed: 5 }, `t-${kind}`);
      let flagged = 0;
      let cheated = 0;
      for (const r of requests) {
        const { served, observed } = await serveObserved(agent, r);
        const verdict = await verifier.verify(r, served, observed);
        if (agent.cheatedLast === true) cheated++;
        if (verdict.slash !== null) {
          flagged++;
          assert.equal(verdict.slash.transfers[0]?.kind, 'slash');
        }
        if (kind === 'honest') assert.deepEqual(verdict.failed, [], `honest request ${String(r.id)}: ${verdict.layers.flatMap((l) => l.reasons).join('; ')}`);
      }
      await agent.release();
      if (kind === 'honest') continue;
      assert.ok(cheated > 0, `${kind} never cheated`);
      assert.equal(flagged, cheated, `${kind}: ${String(flagged)} of ${String(cheated)} cheated requests slashed`);
    }
  } finally {
    await reference.release();
  }
});
