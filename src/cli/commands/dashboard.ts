/**
 * `maxwell dashboard`: opens the running daemon's live dashboard in a browser, with the read-only
 * token in the URL's fragment — a fragment never reaches a server or its logs, and the page takes
 * it out of the address bar at once. The write token never goes into a URL: a URL handed to a
 * browser sits in that process's command line, which every local user can read, and the write
 * token can spawn programs through a root daemon. With `--write` the page opens at its token form
 * and the token is pasted there (it is in daemon.json, readable by its owner only).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Command } from 'commander';
import { daemonFilePath, isProcessAlive, readDaemonFile } from '../../api/discovery.js';
import { DaemonUnreachableError } from '../../errors.js';
import type { CliIo } from '../output.js';
import { addConfigFlags, configFor, type ConfigFlag, type GlobalOptions } from './common.js';

const FLAGS: readonly ConfigFlag[] = [{ flags: '--state-dir <dir>', description: "the daemon's state folder, holding daemon.json", property: 'stateDir', key: 'state.dir' }];

/** The first of these on PATH opens a URL in the user's browser. */
const OPENERS = ['xdg-open', 'sensible-browser', 'open'];

function onPath(program: string, path: string | undefined): string | null {
  for (const dir of (path ?? '').split(delimiter)) {
    if (dir !== '' && existsSync(join(dir, program))) return join(dir, program);
  }
  return null;
}

export function registerDashboard(program: Command, io: CliIo, env: Readonly<Record<string, string | undefined>>): void {
  addConfigFlags(
    program
      .command('dashboard')
      .description("open the running daemon's live dashboard (temperatures, prices, order book, wallets, decisions) in a browser")
      .option('--write', 'open the page at its token form, for the write token (it can then stop agents), which is pasted there and never put in a URL; default: the read-only token in the URL')
      .option('--print', 'print the URL only, open nothing'),
    FLAGS,
  ).action((options: Record<string, unknown> & { write?: boolean; print?: boolean }, cmd: Command) => {
    const config = configFor(options, cmd.optsWithGlobals<GlobalOptions>(), FLAGS, env);
    const file = readDaemonFile(config.state.dir);
    if (file === null || !isProcessAlive(file.pid)) {
      throw new DaemonUnreachableError(`no daemon is running here (${file === null ? `no ${daemonFilePath(config.state.dir)}` : `process ${String(file.pid)} has exited`}): start one with \`maxwell run\``);
    }
    const write = options.write === true || file.readToken === undefined;
    const url = write ? `${file.url}/dashboard` : `${file.url}/dashboard#token=${encodeURIComponent(file.readToken ?? '')}`;
    io.stdout.write(`${url}\n`);
    if (write) io.stderr.write(`maxwell: the write token is not put in a URL (other local users can read a browser's command line): paste the "token" field of ${daemonFilePath(config.state.dir)} into the page\n`);
    const opener = OPENERS.map((o) => onPath(o, env['PATH'])).find((o) => o !== null) ?? null;
    const display = env['DISPLAY'] !== undefined || env['WAYLAND_DISPLAY'] !== undefined || process.platform === 'darwin';
    if (options.print === true) return;
    if (opener === null || !display) {
      io.stderr.write(`maxwell: no browser to open here (${opener === null ? `none of ${OPENERS.join(', ')} on PATH` : 'no DISPLAY'}); open the URL above${write ? '' : ' (read-only view)'}\n`);
      return;
    }
    spawn(opener, [url], { detached: true, stdio: 'ignore' }).unref();
    io.stderr.write(`maxwell: opened the dashboard with ${opener}${write ? ' at its token form' : ' (read-only view)'}\n`);
  });
}
