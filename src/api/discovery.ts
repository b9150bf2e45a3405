/**
 * The daemon discovery file, `<state.dir>/daemon.json`: how the CLI finds the running daemon's
 * control API and its token. The daemon writes it (mode 0600, in a folder of mode 0700) once its
 * API listens, and removes it on shutdown; readers refuse a file that group or others can read,
 * since whoever reads the token controls the daemon.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ApiDiscoveryError, toError } from '../errors.js';

/** File name of the discovery file inside the state folder. */
export const DAEMON_FILE_NAME = 'daemon.json';

/** What `daemon.json` holds. */
export interface DaemonFile {
  /** Base URL of the control API, e.g. `http://127.0.0.1:43121`. */
  readonly url: string;
  /** Bearer token of the control API. */
  readonly token: string;
  /** Process id of the daemon. */
  readonly pid: number;
  /** The read-only token (GET routes, /metrics, the dashboard); absent in files of older daemons. */
  readonly readToken?: string;
}

const daemonFileSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/ }),
  token: z.string().min(1).max(512),
  pid: z.number().int().positive(),
  readToken: z.string().min(1).max(512).optional(),
});

/** Path of the discovery file in `stateDir`. */
export function daemonFilePath(stateDir: string): string {
  return join(stateDir, DAEMON_FILE_NAME);
}

/** A fresh API token: 32 random bytes, base64url (43 characters). */
export function generateApiToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Writes `daemon.json` atomically (a 0600 temporary file renamed over it), creating `stateDir`
 * with mode 0700 when absent. Returns the file's path.
 */
export function writeDaemonFile(stateDir: string, info: DaemonFile): string {
  const parsed = daemonFileSchema.safeParse(info);
  if (!parsed.success) throw new ApiDiscoveryError(`refusing to write an invalid daemon.json: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  const path = daemonFilePath(stateDir);
  const temporary = `${path}.${String(process.pid)}.tmp`;
  try {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    writeFileSync(temporary, `${JSON.stringify(parsed.data, null, 2)}\n`, { mode: 0o600, flag: 'w' });
    // The mode passed to writeFileSync is filtered by the umask and ignored for an existing file.
    chmodSync(temporary, 0o600);
    renameSync(temporary, path);
  } catch (err) {
    throw new ApiDiscoveryError(`cannot write ${path}: ${toError(err).message}`, { cause: err });
  }
  return path;
}

/**
 * Reads `daemon.json`; `null` when there is none (no daemon has started here). Throws
 * `MXW_ERR_API_DISCOVERY` for a file that is malformed or readable by group or others.
 */
export function readDaemonFile(stateDir: string): DaemonFile | null {
  const path = daemonFilePath(stateDir);
  let text: string;
  try {
    const mode = statSync(path).mode;
    if ((mode & 0o077) !== 0) throw new ApiDiscoveryError(`${path} is readable by group or others (mode ${(mode & 0o777).toString(8)}); chmod 600 it`);
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    if (err instanceof ApiDiscoveryError) throw err;
    throw new ApiDiscoveryError(`cannot read ${path}: ${toError(err).message}`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ApiDiscoveryError(`${path} is not valid JSON`, { cause: err });
  }
  const parsed = daemonFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ApiDiscoveryError(`${path} is not {url, token, pid, readToken?}: ${(issue?.path ?? []).map(String).join('.')}: ${issue?.message ?? 'invalid'}`);
  }
  const { readToken, ...rest } = parsed.data;
  return readToken === undefined ? rest : { ...rest, readToken };
}

/**
 * Removes `daemon.json` if it is still this process's (`pid` matches): a daemon that stops must
 * not delete the file of another daemon that started since. Returns whether it removed it.
 */
export function removeDaemonFile(stateDir: string, pid: number = process.pid): boolean {
  let current: DaemonFile | null;
  try {
    current = readDaemonFile(stateDir);
  } catch {
    return false;
  }
  if (current?.pid !== pid) return false;
  try {
    unlinkSync(daemonFilePath(stateDir));
    return true;
  } catch {
    return false;
  }
}

/** True when a process with this id exists (signal 0 probes without signalling). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
