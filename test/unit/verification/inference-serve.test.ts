/**
 * The inference service's answer to `serve`, with the real reference model and a session rig:
 * an announcement that arrives while the daemon is still starting the agent (its stake not yet in
 * escrow) waits for the start instead of being refused; a wrong model is refused at once, unless
 * the agent claims inference: then it serves its own model and is probed, never paid.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAgentId } from '../../../src/agent-id.js';
import { defaultConfig } from '../../../src/config/load.js';
import { InferenceService } from '../../../src/verification/service/inference-service.js';
import type { Notice } from '../../../src/protocol/messages.js';
import { TinyGpt } from '../../../src/verification/inference/model.js';
import { sessionRig } from '../../helpers/session-fakes.js';
import { until } from '../../helpers/wait.js';

/** The service over a session rig, every notice it sends kept in `sent`. */
function serviceRig() {
  const rig = sessionRig();
  const sent: { agentId: string; notice: Notice }[] = [];
  const service = new InferenceService({
    config: defaultConfig().inference,
    session: rig.session,
    send: (agentId, notice) => { sent.push({ agentId, notice }); return true; },
    usage: () => Promise.reject(new Error('no runtime here')),
  });
  return { rig, sent, service };
}

test('a serve sent before the agent has started is answered once it has; a wrong model is refused', { timeout: 60_000 }, async () => {
  const { rig, sent, service } = serviceRig();
  const model = await TinyGpt.load();
  const sha = model.entry.sha256;
  await model.release();
  const early = parseAgentId('early');
  rig.session.admit({ id: early, role: 'other', runtime: 'process', walletJ: 10, stakeJ: 5 });
  assert.equal(rig.session.serveInference(early), 'not-running', 'not started: the session alone would refuse');
  service.receive(early, { type: 'serve', seq: 1, modelSha256: sha });
  service.receive(early, { type: 'serve', seq: 2, modelSha256: 'f'.repeat(64) });
  await until('the wrong model to be refused', () => sent.some((s) => s.notice.type === 'result' && s.notice.seq === 2), 30_000);
  assert.deepEqual(sent.find((s) => s.notice.type === 'result' && s.notice.seq === 2)?.notice, { type: 'result', seq: 2, outcome: 'unknown-model' });
  assert.equal(sent.some((s) => s.notice.type === 'result' && s.notice.seq === 1), false, 'no answer while it is starting');
  rig.session.started(early, { pid: 4242, pinning: false });
  await until('the announcement to be accepted', () => sent.some((s) => s.notice.type === 'result' && s.notice.seq === 1), 5_000);
  assert.deepEqual(sent.find((s) => s.notice.type === 'result' && s.notice.seq === 1)?.notice, { type: 'result', seq: 1, outcome: 'serving' });
  assert.deepEqual(service.status().servers, ['early']);
  await service.close();
});

test('an agent that claims inference may serve a model of its own: it is probed (requests it cannot tell from real ones), never paid; without the claim it is refused', { timeout: 30_000 }, async () => {
  const { rig, sent, service } = serviceRig();
  const own = parseAgentId('own');
  const plain = parseAgentId('plain');
  rig.session.admit({ id: own, role: 'other', runtime: 'process', walletJ: 10, claims: 'inference' });
  rig.session.admit({ id: plain, role: 'other', runtime: 'process', walletJ: 10 });
  rig.session.started(own, { pid: 4243, pinning: false });
  rig.session.started(plain, { pid: 4244, pinning: false });
  service.receive(own, { type: 'serve', seq: 1, modelSha256: 'a'.repeat(64) });
  service.receive(plain, { type: 'serve', seq: 1, modelSha256: 'a'.repeat(64) });
  await until('both announcements to be answered', () => sent.filter((s) => s.notice.type === 'result').length === 2, 5_000);
  assert.deepEqual(sent.find((s) => s.agentId === 'own' && s.notice.type === 'result')?.notice, { type: 'result', seq: 1, outcome: 'serving-unverified' });
  assert.deepEqual(sent.find((s) => s.agentId === 'plain' && s.notice.type === 'result')?.notice, { type: 'result', seq: 1, outcome: 'unknown-model' });
  assert.equal(service.serves(own), true);
  assert.equal(service.serves(plain), false);
  assert.deepEqual(service.status().servers, [], 'not a server of the reference model: no real requests go to it');

  const probe = service.probe(own, [1, 2, 3], 2);
  assert.ok(probe !== null);
  assert.equal(service.busy(own), true);
  assert.equal(service.probe(own, [1], 1), null, 'one at a time');
  const infer = sent.find((s) => s.notice.type === 'infer')?.notice;
  assert.ok(infer?.type === 'infer');
  assert.deepEqual({ prompt: infer.prompt, maxNewTokens: infer.maxNewTokens }, { prompt: [1, 2, 3], maxNewTokens: 2 });
  service.receive(own, { type: 'token', requestId: infer.requestId, index: 0 });
  service.receive(own, { type: 'token', requestId: infer.requestId, index: 1 });
  service.receive(own, { type: 'claim', requestId: infer.requestId, modelSha256: 'a'.repeat(64), inputCommitment: 'b'.repeat(64), tokens: [4, 5], logits: '', outputCommitment: 'c'.repeat(64), spotCommitments: {} });
  const outcome = await probe;
  assert.equal(outcome.answered, true);
  assert.equal(outcome.tokens, 2);
  assert.equal(service.busy(own), false);
  assert.deepEqual(sent.find((s) => s.notice.type === 'verdict')?.notice, { type: 'verdict', requestId: infer.requestId, outcome: 'unpaid', incomeJ: 0, failedLayers: [] });
  assert.equal(service.status().probes, 1);
  assert.equal(rig.session.agent(own).incomeJ, 0);
  service.forget(own);
  assert.equal(service.serves(own), false);
  await service.close();
});
