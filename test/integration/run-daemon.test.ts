import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { readDaemonFile } from '../../src/api/discovery.js';
import { repoPath } from '../helpers/repo.js';
import { spawnScientistAndLeech, startRunDaemon } from '../helpers/run-daemon.js';
import { until } from '../helpers/wait.js';

const BIN = repoPath('dist/src/cli/bin.js');
const SKIP = process.getuid?.() !== 0 ? 'needs root: the daemon runs agents in cgroups' : false;

test('maxwell run + maxwell agent spawn / agents / wallet / status / decisions against the real daemon, then a clean stop', { skip: SKIP, timeout: 90_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'maxwell-run-'));
  const env = {
    PATH: process.env['PATH'] ?? '',
    MAXWELL_STATE__DIR: join(dir, 'state'),
    MAXWELL_LEDGER__PATH: join(dir, 'ledger.sqlite'),
    MAXWELL_LEDGER__KEY_PATH: join(dir, 'node-key.pem'),
    MAXWELL_DAEMON__RUNTIME_DIR: join(dir, 'run'),
  };
  const daemon = spawn(process.execPath, [BIN, 'run', '--log-decisions'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  daemon.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  daemon.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  t.after(() => {
    daemon.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const deadline = Date.now() + 20_000;
  while (!stdout.includes('Spawn an agent') && Date.now() < deadline) await sleep(50);
  assert.match(stdout, /control API +http:\/\/127\.0\.0\.1:\d+/, stderr);
  assert.match(stdout, /temperatures +modelled: thermal twin/);
  assert.match(stdout, /entropy +(ebpf|bpftrace|estimated)/);
  assert.match(stdout, /runtimes +process \(cgroups\), wasm \(worker threads\), vm \((QEMU, guest in \.maxwell\/vm|unavailable: .+)\)/);

  const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8' });
  const spawned = cli('agent', 'spawn', '--wallet', '50J', '--bid', '2', '--id', 'sci', '--role', 'scientist', '--', process.execPath, repoPath('dist/src/agents/scientist.js'), '--method', 'mr');
  assert.equal(spawned.status, 0, spawned.stderr);
  const leech = cli('agent', 'spawn', '--wallet', '1J', '--bid', '3', '--id', 'parasite', '--role', 'leech', '--', process.execPath, repoPath('dist/src/agents/leech.js'));
  assert.equal(leech.status, 0, leech.stderr);
  type AgentRow = { id: string; phase: string; verifiedPrimes: number };
  let agents: AgentRow[] = [];
  const leechDead = () => agents.find((a) => a.id === 'parasite')?.phase === 'dead';
  const sciencePaid = () => (agents.find((a) => a.id === 'sci')?.verifiedPrimes ?? 0) > 0;
  await until(
    'the leech to die and the scientist to verify primes',
    () => {
      agents = JSON.parse(cli('agents', '--json').stdout) as AgentRow[];
      return leechDead() && sciencePaid();
    },
    30_000,
    250,
  ).catch((e: unknown) => {
    throw new Error(`${String(e)}: ${cli('decisions', '--limit', '20').stdout}${JSON.stringify(agents)}`, { cause: e });
  });
  assert.deepEqual(agents.map((a) => a.id).sort(), ['parasite', 'sci']);
  assert.ok(leechDead(), 'the leech with 1 J died');
  assert.ok(sciencePaid(), 'the scientist was paid for verified primes');
  // An inference server with a stake, and one verified request through `maxwell infer`.
  const gpt = cli('agent', 'spawn', '--wallet', '5kJ', '--stake', '10', '--bid', '5', '--id', 'gpt', '--', process.execPath, repoPath('dist/src/agents/gpt-server.js'));
  assert.equal(gpt.status, 0, gpt.stderr);
  assert.match(gpt.stdout, /inference: not serving, stake 10\.000 J in escrow/);
  type Served = { id: string; inference: { serving: boolean } | null };
  await until('the inference server to serve', () => (JSON.parse(cli('agents', '--json').stdout) as Served[]).find((a) => a.id === 'gpt')?.inference?.serving === true, 30_000, 250);
  const infer = cli('infer', 'It was the best of times', '--tokens', '8', '--bid', '1');
  assert.equal(infer.status, 0, infer.stderr);
  assert.match(infer.stdout, /^request \d+ on gpt: ".{8}"\noutcome paid: income 0\.0800 J/);
  assert.match(infer.stdout, /observed by the daemon \(MEASURED\).*CPU ms per token \(cgroup/);
  assert.match(infer.stdout, /3 spot checks +yes +passed/);
  const noServer = cli('infer', 'x', '--agent', 'sci');
  assert.notEqual(noServer.status, 0);
  assert.match(noServer.stderr, /MXW_ERR_INFERENCE_NO_SERVER/);
  assert.equal(cli('agent', 'stop', 'gpt').status, 0);
  assert.match(cli('wallet', 'sci').stdout, /sci/);
  // The dashboard's URL carries the read-only token in its fragment, never the write token unless asked.
  const file = JSON.parse(readFileSync(join(dir, 'state', 'daemon.json'), 'utf8')) as { url: string; token: string; readToken: string };
  const dashboard = cli('dashboard', '--print');
  assert.equal(dashboard.status, 0, dashboard.stderr);
  assert.equal(dashboard.stdout.trim(), `${file.url}/dashboard#token=${encodeURIComponent(file.readToken)}`);
  const writeView = cli('dashboard', '--print', '--write');
  assert.equal(writeView.stdout.trim(), `${file.url}/dashboard`, '--write opens the token form: the write token is never put in a URL (a browser command line is readable by every local user)');
  assert.ok(!writeView.stdout.includes(file.token) && !writeView.stderr.includes(file.token));
  assert.match(writeView.stderr, /paste the "token" field of .*daemon\.json/);
  assert.match(stdout, /dashboard +http:\/\/127\.0\.0\.1:\d+\/dashboard/);
  assert.match(stdout, /metrics +http:\/\/127\.0\.0\.1:\d+\/metrics/);
  const status = cli('status');
  assert.equal(status.status, 0, status.stderr);
  assert.match(status.stdout, /modelled/);
  assert.match(status.stdout, /enforcement +\d+ pauses, \d+ resumes, \d+ pins, \d+ quota writes, \d+ failed/);
  assert.doesNotMatch(status.stdout, /FAILED TICKS/);
  assert.match(cli('decisions', '--limit', '1000').stdout, /apoptosis-notice|kill/);
  const wrong = spawnSync(process.execPath, [BIN, 'agents'], { env: { ...env, MAXWELL_API_TOKEN: 'wrong-token-wrong-token', MAXWELL_API_URL: /control API +(\S+)/.exec(stdout)?.[1] ?? '' }, encoding: 'utf8' });
  assert.notEqual(wrong.status, 0);
  assert.match(wrong.stderr, /MXW_ERR_API_AUTH/);

  daemon.kill('SIGINT');
  const [code] = (await once(daemon, 'exit')) as [number | null];
  assert.equal(code, 0, stderr);
  assert.match(stdout, /maxwell daemon stopped; ledger head [0-9a-f]{64}/);
  const head = /ledger head ([0-9a-f]{64})/.exec(stdout)?.[1] ?? '';
  const verify = cli('ledger', 'verify', '--db', env.MAXWELL_LEDGER__PATH, '--expect-head', head);
  assert.equal(verify.status, 0, verify.stdout + verify.stderr);
  assert.match(cli('agents').stderr, /MXW_ERR_DAEMON_UNREACHABLE/, 'after the stop the CLI says the daemon is gone');
});

const readDaemonPid = (dir: string): number => readDaemonFile(join(dir, 'state'))?.pid ?? -1;

test('daemon.entropy picks the source: the estimate when asked, and bpftrace when asked where it runs; a whole life on one bpftrace', { skip: SKIP, timeout: 90_000 }, async (t) => {
  const estimated = await startRunDaemon('maxwell-entropy-', { MAXWELL_DAEMON__ENTROPY: 'estimated' });
  try {
    assert.match(estimated.output().stdout, /entropy +estimated: no measured source/);
  } finally {
    await estimated.stop();
  }
  if (spawnSync('bpftrace', ['--version']).status !== 0) {
    t.diagnostic('bpftrace is not installed: its half is not run');
    return;
  }
  const traced = await startRunDaemon('maxwell-entropy-', { MAXWELL_DAEMON__ENTROPY: 'bpftrace' });
  try {
    assert.match(traced.output().stdout, /entropy +bpftrace: bpftrace present/);
    const bpftraces = (): string[] => spawnSync('pgrep', ['-P', String(readDaemonPid(traced.dir)), 'bpftrace'], { encoding: 'utf8' }).stdout.trim().split('\n').filter((l) => l !== '');
    await until('bpftrace to start', () => bpftraces().length === 1, 20_000);
    const first = bpftraces()[0];
    // Agents coming and going do not restart it (it used to recompile its script for each).
    spawnScientistAndLeech(traced);
    assert.equal(traced.cli('agent', 'stop', 'sci').status, 0);
    await sleep(1500);
    assert.deepEqual(bpftraces(), [first], 'the same bpftrace, never replaced');
  } finally {
    await traced.stop();
  }
});
