import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { writeDaemonFile } from '../../src/api/discovery.js';
import { startApiServer, type ApiServer } from '../../src/api/server.js';
import type { AgentView, DaemonSnapshot, TickEvent, WalletView } from '../../src/api/control.js';
import { DaemonDouble } from '../helpers/daemon-double.js';
import { repoPath } from '../helpers/repo.js';

const BIN = repoPath('dist/src/cli/bin.js');
const TOKEN = 'integration-token-0123456789';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI as a child process without blocking this process's event loop (the API runs here). */
function maxwell(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '', ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

function errorCode(run: Run): string | undefined {
  return (JSON.parse(run.stdout) as { error?: { code: string } }).error?.code;
}

describe('the CLI against a running control API (daemon test double)', () => {
  let server: ApiServer;
  let daemon: DaemonDouble;
  let stateDir: string;
  let env: Record<string, string>;

  before(async () => {
    daemon = new DaemonDouble();
    server = await startApiServer({ control: daemon, token: TOKEN });
    stateDir = mkdtempSync(join(tmpdir(), 'maxwell-api-'));
    writeDaemonFile(stateDir, { url: server.url, token: TOKEN, pid: process.pid });
    env = { MAXWELL_STATE__DIR: stateDir };
  });
  after(async () => {
    await server.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  test('agent spawn parses joules and passes the command after --', async () => {
    const run = await maxwell(['agent', 'spawn', '--wallet', '5kJ', '--bid', '0.02', '--budget', '2J', '--role', 'scientist', '--id', 's1', '--env', 'A=b=c', '--json', '--', 'node', '-e', 'x', '--flag'], env);
    assert.equal(run.code, 0, run.stderr);
    const agent = JSON.parse(run.stdout) as AgentView;
    assert.equal(agent.id, 's1');
    assert.deepEqual(daemon.spawned.at(-1), {
      command: 'node',
      args: ['-e', 'x', '--flag'],
      walletJ: 5000,
      id: 's1',
      role: 'scientist',
      runtime: 'process',
      env: { A: 'b=c' },
      bid: { pricePerQuantumJ: 0.02, budgetJ: 2 },
    });
    const human = await maxwell(['agent', 'spawn', '--wallet', '300', '--id', 'l1', '--role', 'leech', '--', 'sleep', '100'], env);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /spawned agent l1 \(leech, process, running, pid \d+\): balance 300\.000 J/);
    const wasm = await maxwell(['agent', 'spawn', '--wallet', '1', '--id', 'w1', '--runtime', 'wasm', '--json', '--', '/tmp/agent.wasm'], env);
    assert.equal(wasm.code, 0, wasm.stderr);
    assert.equal((JSON.parse(wasm.stdout) as AgentView).runtime, 'wasm');
    assert.equal(daemon.spawned.at(-1)?.runtime, 'wasm');
    const bogus = await maxwell(['agent', 'spawn', '--wallet', '1', '--runtime', 'docker', '--', 'x'], env);
    assert.notEqual(bogus.code, 0);
    assert.match(bogus.stderr, /--runtime <kind>.*Allowed choices are process, wasm, vm/);
  });

  test('agents lists them as a table and as JSON', async () => {
    const table = await maxwell(['agents'], env);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^id\s+role\s+runtime\s+phase/);
    assert.match(table.stdout, /\ns1\s+scientist\s+process\s+running/);
    const json = JSON.parse((await maxwell(['agents', '--json'], env)).stdout) as AgentView[];
    assert.deepEqual(json.map((a) => a.id), ['s1', 'l1', 'w1']);
  });

  test('agent bid and wallet --top-up', async () => {
    const bid = await maxwell(['agent', 'bid', 's1', '20mJ', '--plane', 'cpu', '--json'], env);
    assert.equal(bid.code, 0, bid.stderr);
    const result = JSON.parse(bid.stdout) as { outcome: string; agent: AgentView };
    assert.equal(result.outcome, 'accepted');
    assert.equal(result.agent.bid?.pricePerQuantumJ, 0.02);
    const topUp = await maxwell(['wallet', 's1', '--top-up', '1kJ', '--json'], env);
    assert.equal(topUp.code, 0, topUp.stderr);
    assert.equal((JSON.parse(topUp.stdout) as WalletView).balanceJ, 6000);
    const show = await maxwell(['wallet', 's1'], env);
    assert.match(show.stdout, /wallet of s1: 6000\.000000 J \(6000000000 µJ\)/);
  });

  test('status shows planes with temperature sources, power, p99 and overhead', async () => {
    const human = await maxwell(['status'], env);
    assert.equal(human.code, 0, human.stderr);
    for (const text of [/power\s+42\.5 W/, /foreign load 5\.2 % of the machine .*policy sell-remaining/, /setpoint °C/, /clearing p99/, /overhead\s+3\.1 %/, /modelled: thermal twin/, /temperature source/, /\ns1\s+scientist/]) assert.match(human.stdout, text);
    const json = JSON.parse((await maxwell(['status', '--json'], env)).stdout) as DaemonSnapshot;
    assert.equal(json.planes.length, 2);
  });

  test('watch streams ticks, decisions shows the log', async () => {
    const timer = setInterval(() => daemon.emitTick('s1'), 20);
    try {
      const run = await maxwell(['watch', '--every', '1', '--count', '3', '--json'], env);
      assert.equal(run.code, 0, run.stderr);
      const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as TickEvent);
      assert.equal(lines.length, 3);
      assert.deepEqual(lines.map((e) => e.tick), [lines[0]!.tick, lines[0]!.tick + 1, lines[0]!.tick + 2]);
      const human = await maxwell(['watch', '--every', '1', '--count', '1'], env);
      assert.match(human.stdout, /^tick \d+ {2}42\.5 W/);
      assert.match(human.stdout, /pause s1: outbid/);
    } finally {
      clearInterval(timer);
    }
    const decisions = await maxwell(['decisions', '--limit', '2'], env);
    assert.equal(decisions.code, 0, decisions.stderr);
    assert.match(decisions.stdout, /pause\s+s1\s+cpu\s+outbid/);
    assert.equal((JSON.parse((await maxwell(['decisions', '--limit', '2', '--json'], env)).stdout) as unknown[]).length, 2);
  });

  test('agent stop', async () => {
    const run = await maxwell(['agent', 'stop', 'l1', '--json'], env);
    assert.equal(run.code, 0, run.stderr);
    assert.equal((JSON.parse(run.stdout) as AgentView).phase, 'dead');
  });

  test('errors come back with the daemon\'s codes; bad amounts are refused before any request', async () => {
    const unknown = await maxwell(['wallet', 'ghost', '--json'], env);
    assert.equal(unknown.code, 1);
    assert.equal(errorCode(unknown), 'MXW_ERR_AGENT_UNKNOWN');
    const wrongToken = await maxwell(['agents', '--json', '--token', 'not-the-token'], env);
    assert.equal(errorCode(wrongToken), 'MXW_ERR_API_AUTH');
    const stream = await maxwell(['watch', '--json', '--token', 'not-the-token'], env);
    assert.equal(errorCode(stream), 'MXW_ERR_API_AUTH');
    const before = daemon.spawned.length;
    for (const wallet of ['--wallet=-5', '--wallet=5k', '--wallet=NaN', '--wallet=0', '--wallet=1e999', '--wallet=5 kW']) {
      const bad = await maxwell(['agent', 'spawn', wallet, '--json', '--', 'x'], env);
      assert.equal(bad.code, 1, wallet);
      assert.equal(errorCode(bad), 'MXW_ERR_INVALID_ARG', wallet);
    }
    const huge = await maxwell(['agent', 'spawn', '--wallet', '5GJ', '--json', '--', 'x'], env);
    assert.equal(errorCode(huge), 'MXW_ERR_API_VALIDATION');
    assert.equal(daemon.spawned.length, before);
  });
});

describe('the CLI without a daemon', () => {
  test('no daemon.json: a coded error that says to start `maxwell run`', () => {
    const empty = mkdtempSync(join(tmpdir(), 'maxwell-api-none-'));
    try {
      const run = spawnSync(process.execPath, [BIN, 'agents', '--json'], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '', MAXWELL_STATE__DIR: empty } });
      assert.equal(run.status, 1);
      assert.equal(errorCode({ code: 1, stdout: run.stdout, stderr: run.stderr }), 'MXW_ERR_DAEMON_UNREACHABLE');
      assert.match(run.stderr, /maxwell run/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  test('a stale daemon.json or a URL where nothing listens is unreachable too', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const closed = `http://127.0.0.1:${String(port)}`;
    const dir = mkdtempSync(join(tmpdir(), 'maxwell-api-stale-'));
    try {
      const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
      writeDaemonFile(dir, { url: closed, token: TOKEN, pid: Number(dead.stdout) });
      const stale = spawnSync(process.execPath, [BIN, 'status', '--json'], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '', MAXWELL_STATE__DIR: dir } });
      assert.equal(errorCode({ code: 1, stdout: stale.stdout, stderr: stale.stderr }), 'MXW_ERR_DAEMON_UNREACHABLE');
      assert.match(stale.stderr, /stale/);
      const nobody = spawnSync(process.execPath, [BIN, 'status', '--json', '--url', closed, '--token', TOKEN], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '' } });
      assert.equal(errorCode({ code: 1, stdout: nobody.stdout, stderr: nobody.stderr }), 'MXW_ERR_DAEMON_UNREACHABLE');
      assert.match(nobody.stderr, /ECONNREFUSED.*maxwell run/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
