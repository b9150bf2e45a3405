/**
 * Trace verification end to end with real processes: the research pipeline traces real
 * workloads and trains the forest; the daemon, given that forest, flags an agent whose claim
 * (inference) its trace contradicts (it computes primes) and withholds its income, and leaves an
 * honest inference agent alone.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { assembleDaemon } from '../../src/daemon/components.js';
import { runVerificationResearch, workloads, type VerificationReport } from '../../src/research/verification.js';
import { detectCgroups } from '../../src/runtimes/process/cgroups.js';
import { daemonConfigIn } from '../helpers/daemon-config.js';
import { repoPath } from '../helpers/repo.js';
import { until } from '../helpers/wait.js';

const layout = detectCgroups();
const DAEMON_SKIP = process.getuid?.() !== 0 ? 'needs root to create cgroups' : layout.freezer === undefined && layout.v2 === undefined ? 'no freezer cgroup here' : false;
const names = workloads().runnable.map((w) => w.name);
const pick = (prefix: string): number => names.findIndex((n) => n.startsWith(prefix));
const SUBSET = [pick('inference (integer'), pick('mining sha256'), pick('science: Miller'), pick('sleep/poll')];

let report: VerificationReport;

before(async () => {
  report = await runVerificationResearch({ secondsPerRun: 4, only: SUBSET });
}, { timeout: 120_000 });

test('the research job traces real workloads, trains on the earlier run and tests on the later one', () => {
  assert.equal(report.workloads.length, 4);
  for (const w of report.workloads) assert.ok(w.trainWindows >= 2 && w.testWindows >= 2, `${w.name}: ${String(w.trainWindows)}/${String(w.testWindows)} windows`);
  // Four classes: chance is 25 %; the shapes differ enough for far better (the full run's figure is in docs/research).
  assert.ok(report.timeSplit.balancedAccuracy > 0.6, JSON.stringify(report.timeSplit.confusion));
  assert.ok(Number.isFinite(report.cost.traceFraction) && report.cost.traceFraction > 0, 'tracing has a measured cost');
  assert.ok(report.findings.some((f) => f.startsWith('Balanced accuracy on the time split')));
  assert.equal(report.provenance.channels.find((c) => c.name === 'powerW')?.source.startsWith('modelled'), true);
});

test('the daemon flags an agent that claims inference but computes primes, withholds its income, and leaves honest inference alone', { skip: DAEMON_SKIP, timeout: 90_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'maxwell-verify-'));
  const config = daemonConfigIn(dir);
  const { daemon, close } = await assembleDaemon(config, { tag: 'dtv', classifier: report.model });
  t.after(async () => {
    await close();
    rmSync(dir, { recursive: true, force: true });
  });
  assert.match(daemon.snapshot().verification.classifier, /random forest from the caller/);
  await daemon.spawnAgent({ id: 'cheat', command: process.execPath, args: [repoPath('dist/src/agents/scientist.js'), '--method', 'mr', '--bid', '1'], walletJ: 100_000, bid: { pricePerQuantumJ: 1 }, claims: 'inference' });
  await daemon.spawnAgent({ id: 'honest', command: process.execPath, args: [repoPath('dist/src/agents/workload.js'), '--kind', 'infer', '--seed', '1'], walletJ: 100_000, bid: { pricePerQuantumJ: 1 }, claims: 'inference' });
  await until('the cheat to be flagged', () => daemon.agent('cheat').verification?.flagged === true, 30_000);
  const flag = daemon.decisions(1000).find((d) => d.action === 'flag' && d.agentId === 'cheat');
  assert.match(flag?.because ?? '', /claims inference, but its trace looked like \w+ in 3 windows in a row/);
  await until('income to be withheld from the cheat', () => (daemon.agent('cheat').verification?.withheldJ ?? 0) > 0, 20_000);
  await until('the honest agent to be judged as often as the flag needs', () => (daemon.agent('honest').verification?.windows ?? 0) >= 5, 20_000);
  const honest = daemon.agent('honest').verification;
  assert.ok(honest !== null);
  assert.equal(honest.flagged, false, `honest inference flagged: ${JSON.stringify(honest)}`);
  assert.ok(daemon.snapshot().verification.costS > 0);
});
