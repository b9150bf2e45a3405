/**
 * The proof of inference end to end with real processes: inference servers (the tiny GPT in
 * onnxruntime-node, one honest and three cheaters) run as agents in cgroups, stake from their
 * wallets, serve requests over the agent protocol; the daemon's layered verifier pays the
 * honest one per verified token and catches each cheater at the layer the research table says
 * (commitments, spot checks, the deep audit), slashes its stake on the ledger and ends it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { assembleDaemon } from '../../src/daemon/components.js';
import type { Daemon } from '../../src/daemon/daemon.js';
import { isMaxwellError } from '../../src/errors.js';
import { detectCgroups } from '../../src/runtimes/process/cgroups.js';
import { daemonConfigIn } from '../helpers/daemon-config.js';
import { repoPath } from '../helpers/repo.js';
import { until } from '../helpers/wait.js';
import { agentId } from '../helpers/agent-id.js';

const layout = detectCgroups();
const SKIP = process.getuid?.() !== 0 ? 'needs root to create cgroups' : layout.freezer === undefined && layout.v2 === undefined ? 'no freezer cgroup here' : false;
const PROMPT = 'It was the best of times, it was the worst of times';

async function spawnServer(daemon: Daemon, id: string, stakeJ: number, cheat?: string): Promise<void> {
  const args = [repoPath('dist/src/agents/gpt-server.js'), '--bid', '1', ...(cheat === undefined ? [] : ['--cheat', cheat])];
  await daemon.spawnAgent({ id, command: process.execPath, args, walletJ: 100_000, stakeJ, bid: { pricePerQuantumJ: 1 }, claims: 'inference' });
}

test('the daemon pays honest inference per verified token, and slashes and ends cheaters caught by commitments, spot checks and the audit', { skip: SKIP, timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'maxwell-poi-'));
  const base = daemonConfigIn(dir);
  const config = { ...base, inference: { ...base.inference, pricePerTokenJ: 0.01, spotCheckFromJ: 0.5, minStakeJ: 0.1 } };
  const { daemon, close } = await assembleDaemon(config, { tag: 'dpi', claimModel: null });
  t.after(async () => {
    await close();
    rmSync(dir, { recursive: true, force: true });
  });
  await spawnServer(daemon, 'honest', 50);
  await spawnServer(daemon, 'small', 50, 'smaller-model');
  await spawnServer(daemon, 'miner', 50, 'miner');
  // Income 16 × 0.01 J = 0.16 J a request against a 0.2 J stake: p = min(1, 2 × 0.16 / 0.2) = 1, every request is audited.
  await spawnServer(daemon, 'skipper', 0.2, 'skipped-layers');
  try {
    await until('all four to serve', () => daemon.snapshot().inference.servers.length === 4, 60_000, 50);
  } catch (err) {
    // Say why: each agent's phase, what it won, how it ended, and the decisions about it.
    const ids = ['honest', 'small', 'miner', 'skipper'];
    const agents = ids.map((id) => {
      const a = daemon.agent(agentId(id));
      return { id, phase: a.phase, connected: a.connected, quantaWon: a.quantaWon, balanceJ: a.balanceJ, ended: a.ended };
    });
    const decisions = daemon.decisions(1000).filter((d) => ids.includes(d.agentId ?? '')).slice(-8);
    throw new Error(`${(err as Error).message}: servers ${JSON.stringify(daemon.snapshot().inference.servers)}; agents ${JSON.stringify(agents)}; last decisions ${JSON.stringify(decisions)}`, { cause: err });
  }
  assert.match(daemon.snapshot().inference.profile, /^MEASURED here at start/);

  for (let i = 0; i < 3; i++) {
    const answer = await daemon.infer({ prompt: PROMPT, maxNewTokens: 16, bidJ: 1, agentId: 'honest' });
    assert.equal(answer.outcome, 'paid', JSON.stringify(answer.layers));
    assert.equal(answer.incomeJ, 0.16);
    assert.equal(answer.tokens.length, 16);
    const spot = answer.layers.find((l) => l.layer === 3);
    assert.equal(spot?.ran === true && spot.passed, true, `honest spot check: ${JSON.stringify(spot)}`);
  }
  assert.equal(daemon.agent(agentId('honest')).inference?.verifiedTokens, 48);

  const caught = [
    { id: 'small', bidJ: 0, layer: 2, reason: /no commitment to b1/ },
    { id: 'miner', bidJ: 1, layer: 3, reason: /Freivalds/ },
    { id: 'skipper', bidJ: 0, layer: 4, reason: /re-execution differs/ },
  ];
  for (const c of caught) {
    const answer = await daemon.infer({ prompt: PROMPT, maxNewTokens: 16, bidJ: c.bidJ, agentId: c.id });
    assert.equal(answer.outcome, 'slashed', `${c.id}: ${JSON.stringify(answer.layers)}`);
    assert.equal(answer.incomeJ, 0);
    const layer = answer.layers.find((l) => l.layer === c.layer);
    assert.equal(layer?.ran === true && !layer.passed, true, `${c.id} should fail layer ${String(c.layer)}: ${JSON.stringify(answer.layers)}`);
    const slash = daemon.decisions(1000).find((d) => d.action === 'slash' && d.agentId === c.id);
    assert.match(slash?.because ?? '', c.reason);
  }
  for (const c of caught) await until(`${c.id} to end`, () => daemon.agent(agentId(c.id)).phase === 'dead', 20_000);
  for (const c of caught) assert.equal(daemon.agent(agentId(c.id)).ended?.reason, 'slashed');
  await assert.rejects(daemon.infer({ prompt: PROMPT, agentId: 'small' }), (err) => isMaxwellError(err, 'MXW_ERR_INFERENCE_NO_SERVER'));

  await until('the slashes to reach the ledger', () => daemon.ledgerEntries({ limit: 10_000 }).filter((e) => e.kind === 'slash').length === 3, 10_000);
  const entries = daemon.ledgerEntries({ limit: 10_000 });
  const slashed = entries.filter((e) => e.kind === 'slash').map((e) => [e.from, e.to, e.amountMicroJ]);
  assert.deepEqual(slashed.sort(), [['escrow', 'burn', 200_000n], ['escrow', 'burn', 50_000_000n], ['escrow', 'burn', 50_000_000n]].sort());
  assert.equal(entries.filter((e) => e.kind === 'stake').length, 4);
  const income = entries.filter((e) => e.kind === 'income' && e.to === 'agent:honest').reduce((sum, e) => sum + e.amountMicroJ, 0n);
  assert.equal(income, 480_000n);
  const report = daemon.verifyLedger();
  assert.equal(report.ok, true, report.failure?.message);
  assert.equal(daemon.agent(agentId('honest')).inference?.stakeJ, 50);
});
