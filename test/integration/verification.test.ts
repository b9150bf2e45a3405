/**
 * Claim verification end to end with real processes. The isolated part of the research job
 * traces real workloads alone, trains the forest (the lab figure) and builds a claim model. The
 * daemon, with the claim model shipped in models/, probes agents that claim inference and judges
 * their activity against its requests: honest servers of three kinds pass; an agent that never
 * serves, one that serves but mines between requests, and one that replays a recorded inference
 * trace are flagged, with the reason in the decision log and income withheld.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { assembleDaemon } from '../../src/daemon/components.js';
import { loadClaimModel } from '../../src/verification/service/claim-verifier.js';
import { cheats, honestServers, runDaemonBatch } from '../../src/research/claims-in-daemon.js';
import { runVerificationResearch, workloads, type VerificationReport } from '../../src/research/verification.js';
import { detectCgroups } from '../../src/runtimes/process/cgroups.js';
import { daemonConfigIn } from '../helpers/daemon-config.js';
import { repoPath } from '../helpers/repo.js';
import { until } from '../helpers/wait.js';
import { agentId } from '../helpers/agent-id.js';

const layout = detectCgroups();
const DAEMON_SKIP = process.getuid?.() !== 0 ? 'needs root to create cgroups' : layout.freezer === undefined && layout.v2 === undefined ? 'no freezer cgroup here' : false;
const names = workloads().runnable.map((w) => w.name);
const pick = (prefix: string): number => names.findIndex((n) => n.startsWith(prefix));
const SUBSET = [pick('inference (integer'), pick('mining sha256'), pick('science: Miller'), pick('sleep/poll')];

let report: VerificationReport;

before(async () => {
  report = await runVerificationResearch({ secondsPerRun: 4, only: SUBSET, inDaemon: false });
}, { timeout: 120_000 });

test('the isolated part traces real workloads, trains on the earlier run, tests on the later one, and builds a claim model from them', () => {
  assert.equal(report.workloads.length, 4);
  for (const w of report.workloads) assert.ok(w.trainWindows >= 2 && w.testWindows >= 2, `${w.name}: ${String(w.trainWindows)}/${String(w.testWindows)} windows`);
  // Four classes: chance is 25 %; the shapes differ enough for far better (the full run's figure is in docs/research).
  assert.ok(report.timeSplit.balancedAccuracy > 0.6, JSON.stringify(report.timeSplit.confusion));
  assert.ok(Number.isFinite(report.cost.traceFraction) && report.cost.traceFraction > 0, 'tracing has a measured cost');
  assert.equal(report.inDaemon, null);
  assert.ok(report.findings.some((f) => f.startsWith('In the daemon: not run (--isolated-only)')));
  assert.deepEqual([...report.model.passiveClasses].sort(), ['inference', 'mining', 'polling', 'science']);
  assert.equal(report.model.timelineSource, null, 'no daemon run, no timeline calibration');
  assert.equal(report.provenance.channels.find((c) => c.name === 'powerW')?.source.startsWith('modelled'), true);
});

test('in the daemon, an agent that claims inference but never serves is flagged, its income withheld, with the reason', { skip: DAEMON_SKIP, timeout: 90_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'maxwell-verify-'));
  const { daemon, close } = await assembleDaemon(daemonConfigIn(dir), { tag: 'dtv' });
  t.after(async () => {
    await close();
    rmSync(dir, { recursive: true, force: true });
  });
  assert.match(daemon.snapshot().verification.method, /open-set conformal test \(α = 0\.01\), claim model models\/claim-model\.json \(shipped\)/);
  await daemon.spawnAgent({ id: 'cheat', command: process.execPath, args: [repoPath('dist/src/agents/scientist.js'), '--method', 'mr', '--bid', '1'], walletJ: 100_000, bid: { pricePerQuantumJ: 1 }, claims: 'inference' });
  await daemon.spawnAgent({ id: 'honest', command: process.execPath, args: [repoPath('dist/src/agents/inference.js'), '--width', '512'], walletJ: 100_000, bid: { pricePerQuantumJ: 1 }, claims: 'inference' });
  await until('the cheat to be flagged', () => daemon.agent(agentId('cheat')).verification?.flagged === true, 30_000);
  const flag = daemon.decisions(1000).find((d) => d.action === 'flag' && d.agentId === 'cheat');
  assert.match(flag?.because ?? '', /claims inference, but its trace was inconsistent with it in 3 windows in a row \(last: serves no requests; claims inference but has not said serve/);
  await until('income to be withheld from the cheat', () => (daemon.agent(agentId('cheat')).verification?.withheldJ ?? 0) > 0, 20_000);
  await until('the honest agent to be judged as often as a flag needs', () => (daemon.agent(agentId('honest')).verification?.windows ?? 0) >= 5, 30_000);
  const honest = daemon.agent(agentId('honest')).verification;
  assert.equal(honest?.flagged, false, `honest inference flagged: ${JSON.stringify(honest)}`);
  assert.ok(daemon.snapshot().inference.probes > 0 && daemon.snapshot().inference.unverifiedServers.includes('honest'));
  assert.ok(daemon.snapshot().verification.costS > 0);
});

test('under the auction, honest servers of three kinds pass and cheats that speak the protocol are flagged: one mining between requests, one replaying a recorded inference trace', { skip: DAEMON_SKIP, timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'maxwell-replay-'));
  t.after(() => { rmSync(dir, { recursive: true, force: true }); });
  // A recording shaped like inference: bursts of 80–300 ms, gaps of 40–200 ms.
  const cpu: number[] = [];
  let seed = 7;
  const next = (): number => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  while (cpu.length < 3000) {
    for (let i = 0, n = 8 + Math.floor(next() * 22); i < n; i++) cpu.push(1);
    for (let i = 0, n = 4 + Math.floor(next() * 16); i < n; i++) cpu.push(0);
  }
  const recording = join(dir, 'recording.json');
  writeFileSync(recording, JSON.stringify({ rateHz: 100, cpu }));
  const wanted = new Set(['shim-token-miner', 'shim-replay']);
  const agents = [...honestServers(41), ...cheats(recording).filter((c) => wanted.has(c.id))];
  const { agents: results, verifierCpuS, tracedCpuS } = await runDaemonBatch({ agents, seconds: 30, model: loadClaimModel('shipped'), tag: 'dtb' });
  assert.ok(verifierCpuS > 0 && tracedCpuS > verifierCpuS, `tracing and judging ${String(verifierCpuS)} s beside ${String(tracedCpuS)} s traced`);
  for (const r of results) {
    assert.equal(r.failure, null, `${r.name}: ${String(r.failure)}`);
    assert.ok(r.windows >= 3, `${r.name} judged in ${String(r.windows)} windows only`);
    if (r.honest) assert.equal(r.flagged, false, `honest ${r.name} flagged: ${JSON.stringify(r)}`);
    else assert.equal(r.flagged, true, `cheat ${r.name} passed: ${JSON.stringify(r)}`);
  }
});
