/**
 * The session's proof-of-inference rules, with fakes: a stake comes out of the wallet into
 * escrow; verified tokens earn income; evidence slashes the stake (escrow → burn) and ends the
 * agent; a statistical failure raises its audit rate; an agent that exits with a request pending
 * keeps its stake in escrow until the verdict, so exiting cannot save a cheater's stake.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAgentId } from '../../../src/agent-id.js';
import { SUSPECT_AUDIT_RATE, type InferenceJudgement } from '../../../src/session/session.js';
import { sessionRig, type SessionRig } from '../../helpers/session-fakes.js';
import { agentId } from '../../helpers/agent-id.js';

function staked(rig: SessionRig, id: string, walletJ: number, stakeJ: number): void {
  const agentId = parseAgentId(id);
  rig.session.admit({ id: agentId, role: 'other', runtime: 'process', walletJ, stakeJ, claims: 'inference' });
  rig.session.started(agentId, { pid: 1000, pinning: true });
}

const honest = (requestId: number, tokens = 16): InferenceJudgement => ({ requestId, tokens, incomeMicroJ: BigInt(tokens) * 10_000n, evidence: null, suspicions: [] });

test('a stake leaves the wallet for escrow, can serve, and verified tokens are paid', () => {
  const rig = sessionRig();
  staked(rig, 'gpt', 100, 40);
  assert.equal(rig.session.agent(agentId('gpt')).balanceJ, 60);
  assert.equal(rig.session.agent(agentId('gpt')).inference?.stakeJ, 40);
  assert.deepEqual(rig.session.inferenceServers(), []);
  assert.equal(rig.session.serveInference(agentId('gpt')), 'serving');
  assert.deepEqual(rig.session.inferenceServers(), ['gpt']);
  rig.session.inferenceSent(agentId('gpt'));
  assert.deepEqual(rig.session.judgeInference(agentId('gpt'), honest(1)), { outcome: 'paid', incomeMicroJ: 160_000n, slashedMicroJ: 0n });
  const view = rig.session.agent(agentId('gpt'));
  assert.equal(view.balanceJ, 60.16);
  assert.equal(view.inference?.verifiedTokens, 16);
  rig.session.flush('test');
  const kinds = rig.ledger.commits.flatMap((c) => c.transfers.map((t) => `${t.kind} ${t.from}→${t.to} ${t.amountMicroJ.toString()}`));
  assert.deepEqual(kinds, ['mint treasury→agent:gpt 100000000', 'income treasury→agent:gpt 160000', 'stake agent:gpt→escrow 40000000']);
  assert.equal(rig.ledger.balance('escrow'), 40_000_000n);
});

test('an agent without a stake cannot serve; a stake above the wallet is refused', () => {
  const rig = sessionRig();
  rig.spawn('plain', 10);
  assert.equal(rig.session.serveInference(agentId('plain')), 'no-stake');
  assert.throws(() => { rig.session.inferenceSent(agentId('plain')); }, { code: 'MXW_ERR_INVALID_ARG' });
  assert.throws(() => { rig.session.admit({ id: parseAgentId('greedy'), role: 'other', runtime: 'process', walletJ: 5, stakeJ: 6 }); }, { code: 'MXW_ERR_INVALID_ARG' });
});

test('evidence burns the whole stake, ends the agent with the reason, and its unstaked balance is refunded', () => {
  const rig = sessionRig();
  staked(rig, 'cheat', 100, 40);
  rig.session.serveInference(agentId('cheat'));
  rig.session.inferenceSent(agentId('cheat'));
  const settled = rig.session.judgeInference(agentId('cheat'), { ...honest(7), evidence: { layer: 3, reason: 'Freivalds: b0.qkv_mm ≠ b0.attn_in·b0.attn.w_qkv' } });
  assert.deepEqual(settled, { outcome: 'slashed', incomeMicroJ: 0n, slashedMicroJ: 40_000_000n });
  assert.equal(rig.session.agent(agentId('cheat')).phase, 'dying');
  assert.equal(rig.enforcer.terminated.has('cheat'), true);
  assert.deepEqual(rig.session.inferenceServers(), []);
  const slash = rig.session.decisions().find((d) => d.action === 'slash');
  assert.match(slash?.because ?? '', /request 7 failed layer 3: Freivalds.*stake of 40\.000000 J burned/);
  rig.session.exited(agentId('cheat'), 'signal', 'SIGTERM');
  assert.equal(rig.session.agent(agentId('cheat')).ended?.reason, 'slashed');
  rig.session.flush('test');
  assert.equal(rig.ledger.balance('escrow'), 0n);
  assert.equal(rig.ledger.balance('burn'), 40_000_000n);
  assert.equal(rig.ledger.balance('agent:cheat'), 0n);
  assert.equal(rig.ledger.balance('treasury'), -40_000_000n, 'the 60 J left went back; the 40 J staked are burned');
  assert.equal(rig.ledger.total(), 0n);
});

test('a statistical failure pays but raises the audit rate for the next requests', () => {
  const rig = sessionRig();
  staked(rig, 'slow', 100, 40);
  rig.session.serveInference(agentId('slow'));
  assert.equal(rig.session.auditMultiplier(agentId('slow')), 1);
  rig.session.inferenceSent(agentId('slow'));
  assert.equal(rig.session.judgeInference(agentId('slow'), { ...honest(1), suspicions: ['layer 2: timing: prefill 90 ms outside [0.1, 45]'] }).outcome, 'paid');
  assert.equal(rig.session.auditMultiplier(agentId('slow')), SUSPECT_AUDIT_RATE);
  assert.equal(rig.session.agent(agentId('slow')).inference?.suspectRequests, 1);
  assert.equal(rig.session.decisions().at(-1)?.action, 'suspect');
  for (let i = 2; i < 12; i++) {
    rig.session.inferenceSent(agentId('slow'));
    rig.session.judgeInference(agentId('slow'), honest(i));
  }
  assert.equal(rig.session.auditMultiplier(agentId('slow')), 1, 'ten clean requests later');
  rig.session.inferenceSent(agentId('slow'));
  assert.equal(rig.session.judgeInference(agentId('slow'), { ...honest(12), unpaid: true, suspicions: ['no claim within 10000 ms'] }).outcome, 'unpaid');
});

test('an agent that exits with a request pending keeps its stake in escrow until the verdict, and is slashed if it cheated', () => {
  const rig = sessionRig();
  staked(rig, 'runner', 100, 40);
  rig.session.serveInference(agentId('runner'));
  rig.session.inferenceSent(agentId('runner'));
  rig.session.exited(agentId('runner'), 'exit', 'code 0');
  rig.session.flush('test');
  assert.equal(rig.ledger.balance('escrow'), 40_000_000n, 'not refunded while the verdict is pending');
  assert.match(rig.session.decisions().at(-1)?.because ?? '', /settled once the verdicts on its 1 pending request/);
  const settled = rig.session.judgeInference(agentId('runner'), { ...honest(3), evidence: { layer: 4, reason: 're-execution differs' } });
  assert.equal(settled.slashedMicroJ, 40_000_000n);
  rig.session.flush('test');
  assert.equal(rig.ledger.balance('escrow'), 0n);
  assert.equal(rig.ledger.balance('burn'), 40_000_000n);
  assert.equal(rig.ledger.balance('agent:runner'), 0n);
  assert.equal(rig.ledger.total(), 0n);
});

test('an honest agent that exits gets its stake back with its balance', () => {
  const rig = sessionRig();
  staked(rig, 'done', 100, 40);
  rig.session.exited(agentId('done'), 'exit', 'code 0');
  rig.session.flush('test');
  const refunds = rig.ledger.commits.flatMap((c) => c.transfers).filter((t) => t.kind === 'refund').map((t) => `${t.from}→${t.to} ${t.amountMicroJ.toString()}`);
  assert.deepEqual(refunds, ['escrow→agent:done 40000000', 'agent:done→treasury 100000000']);
  assert.equal(rig.ledger.balance('escrow'), 0n);
  assert.equal(rig.ledger.balance('treasury'), 0n);
});

test('at shutdown, a settlement still waiting for a verdict is made anyway: nothing is left in escrow, and a late verdict moves nothing', () => {
  const rig = sessionRig();
  staked(rig, 'late', 100, 40);
  rig.session.serveInference(agentId('late'));
  rig.session.inferenceSent(agentId('late'));
  rig.session.exited(agentId('late'), 'runtime-closed', '');
  rig.session.settleDeferred();
  rig.session.flush('shutdown');
  assert.equal(rig.ledger.balance('escrow'), 0n, 'the stake went back with the balance');
  assert.equal(rig.ledger.balance('agent:late'), 0n);
  assert.equal(rig.ledger.total(), 0n);
  // A verdict that still arrives finds the agent settled: no slash, no income.
  const after = rig.session.judgeInference(agentId('late'), { ...honest(9), evidence: { layer: 4, reason: 're-execution differs' } });
  assert.equal(after.slashedMicroJ, 0n);
  rig.session.flush('test');
  assert.equal(rig.ledger.balance('burn'), 0n);
  assert.equal(rig.ledger.total(), 0n);
});
