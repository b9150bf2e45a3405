/**
 * A `maxwell run` daemon as a child process, as a user starts it: found through the discovery
 * file it writes, driven through its control API, stopped with SIGINT (its clean stop). The fleet
 * lab and the soak start their daemons this way.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiClient } from '../api/client.js';

/** The CLI's entry point, for `spawn(process.execPath, [MAXWELL_BIN, 'run', …])`. */
export const MAXWELL_BIN = fileURLToPath(new URL('../cli/bin.js', import.meta.url));

export const childExited = (child: ChildProcess): boolean => child.exitCode !== null || child.signalCode !== null;

/** Keeps the last `limit` characters a child printed on stdout and stderr, for error messages. */
export function tailOf(child: ChildProcess, limit = 8192): () => string {
  let log = '';
  const keep = (chunk: Buffer): void => {
    log = (log + chunk.toString()).slice(-limit);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => log;
}

/**
 * Waits until the daemon has written its discovery file (`daemon.json` in its state folder) and
 * answers on its API. Throws `fail(why)` when it exits first or does not answer within `timeoutMs`.
 */
export async function waitForDaemon(
  stateFile: string,
  child: ChildProcess,
  options: { readonly timeoutMs: number; readonly log: () => string; readonly fail: (message: string) => Error },
): Promise<{ client: ApiClient; url: string; token: string }> {
  const deadline = performance.now() + options.timeoutMs;
  for (;;) {
    if (childExited(child)) throw options.fail(`it exited (${String(child.exitCode ?? child.signalCode)}):\n${options.log()}`);
    if (existsSync(stateFile)) {
      try {
        const { url, token } = JSON.parse(readFileSync(stateFile, 'utf8')) as { url: string; token: string };
        const client = new ApiClient({ url, token });
        await client.snapshot();
        return { client, url, token };
      } catch {
        // Written but not answering yet (or half-written): try again.
      }
    }
    if (performance.now() > deadline) throw options.fail(`it did not answer within ${String(options.timeoutMs / 1000)} s:\n${options.log()}`);
    await sleep(200);
  }
}

/** SIGINT (the daemon's clean stop), SIGKILL after `killAfterMs`; resolves when it has exited. */
export async function stopDaemonChild(child: ChildProcess, killAfterMs = 20_000): Promise<void> {
  if (childExited(child)) return;
  const done = new Promise<void>((resolve) => {
    child.once('exit', () => { resolve(); });
    child.once('error', () => { resolve(); });
  });
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  await done;
  clearTimeout(timer);
}
