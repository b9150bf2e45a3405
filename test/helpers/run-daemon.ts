/** A real `maxwell run` in a temporary folder, for tests that drive it from outside (CLI, Prometheus, a browser). */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readDaemonFile } from '../../src/api/discovery.js';
import { repoPath } from './repo.js';
import { until } from './wait.js';

const BIN = repoPath('dist/src/cli/bin.js');

export interface RunningDaemon {
  readonly dir: string;
  readonly url: string;
  readonly token: string;
  readonly readToken: string;
  readonly env: Readonly<Record<string, string>>;
  readonly output: () => { stdout: string; stderr: string };
  /** Runs the CLI against it. */
  cli(...args: string[]): SpawnSyncReturns<string>;
  /** SIGTERM, then waits for the exit; the folder is removed. */
  stop(): Promise<number | null>;
}

/** Starts `maxwell run` with its state, ledger and key in a fresh folder; `extraEnv` sets config. */
export async function startRunDaemon(prefix: string, extraEnv: Readonly<Record<string, string>> = {}): Promise<RunningDaemon> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const env: Record<string, string> = {
    PATH: process.env['PATH'] ?? '',
    MAXWELL_STATE__DIR: join(dir, 'state'),
    MAXWELL_LEDGER__PATH: join(dir, 'ledger.sqlite'),
    MAXWELL_LEDGER__KEY_PATH: join(dir, 'node-key.pem'),
    MAXWELL_DAEMON__RUNTIME_DIR: join(dir, 'run'),
    ...extraEnv,
  };
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [BIN, 'run'], { env, stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => { resolve(code); }));
  const life = { gone: false };
  void exited.then(() => (life.gone = true));
  try {
    await until('maxwell run to be ready', () => life.gone || stdout.includes('Spawn an agent'), 30_000, 50);
    if (life.gone) throw new Error(`maxwell run exited: ${stderr}`);
  } catch (err) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${(err as Error).message}\nstdout: ${stdout}\nstderr: ${stderr}`, { cause: err });
  }
  const file = readDaemonFile(join(dir, 'state'));
  if (file?.readToken === undefined) throw new Error('daemon.json has no read token');
  return {
    dir,
    url: file.url,
    token: file.token,
    readToken: file.readToken,
    env,
    output: () => ({ stdout, stderr }),
    cli: (...args) => spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8' }),
    stop: async () => {
      if (!life.gone) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const code = await exited;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
}

/** A scientist (paid for verified primes) and a leech with 1 J that goes broke and dies. */
export function spawnScientistAndLeech(daemon: RunningDaemon): void {
  const science = daemon.cli('agent', 'spawn', '--wallet', '500J', '--bid', '2', '--id', 'sci', '--role', 'scientist', '--', process.execPath, repoPath('dist/src/agents/scientist.js'), '--method', 'mr');
  if (science.status !== 0) throw new Error(`spawn sci: ${science.stderr}`);
  const leech = daemon.cli('agent', 'spawn', '--wallet', '1J', '--bid', '3', '--id', 'parasite', '--role', 'leech', '--', process.execPath, repoPath('dist/src/agents/leech.js'));
  if (leech.status !== 0) throw new Error(`spawn parasite: ${leech.stderr}`);
}
