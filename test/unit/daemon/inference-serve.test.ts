/**
 * The inference service's answer to `serve`, with the real reference model and a session rig:
 * an announcement that arrives while the daemon is still starting the agent (its stake not yet in
 * escrow) waits for the start instead of being refused; a wrong model is refused at once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAgentId } from '../../../src/agent-id.js';
import { defaultConfig } from '../../../src/config/load.js';
import { InferenceService } from '../../../src/daemon/inference-service.js';
import type { Notice } from '../../../src/protocol/messages.js';
import { TinyGpt } from '../../../src/verification/inference/model.js';
import { sessionRig } from '../../helpers/session-fakes.js';
import { until } from '../../helpers/wait.js';

test('a serve sent before the agent has started is answered once it has; a wrong model is refused', { timeout: 60_000 }, async () => {
  const rig = sessionRig();
  const sent: { agentId: string; notice: Notice }[] = [];
  const service = new InferenceService({
    config: defaultConfig().inference,
    session: rig.session,
    send: (agentId, notice) => { sent.push({ agentId, notice }); return true; },
    usage: () => Promise.reject(new Error('no runtime here')),
  });
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
