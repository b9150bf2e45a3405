/**
 * What the two guest test files share (docs/RUNTIMES.md): scripts/guest-run.mjs, the project image
 * packed from this dist/ (prepareGuest), and reading what a guest script printed. Each file is its
 * own test process with its own time limit: the two guest runs take about 2 and 5 minutes under TCG.
 */
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { repoPath } from './repo.js';

export interface GuestResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly state: string;
  readonly boots: readonly { state: string; uptimeS: number }[];
  readonly timings: { readonly bootMs: number; readonly commandMs: number; readonly totalMs: number };
}
export interface GuestRunModule {
  guestUnavailable(): string | null;
  guestRun(o: { command: string; timeoutMs?: number; reboots?: boolean }): Promise<GuestResult>;
}

export const guest = (await import(pathToFileURL(repoPath('scripts/guest-run.mjs')).href)) as GuestRunModule;

/** Packs this dist/ into the project image (seconds); the reason to skip when that cannot be done. */
export function prepareGuest(): string | false {
  if (process.getuid?.() !== 0) return 'needs root (packs the project image with mkfs.ext4 -d)';
  const packed = spawnSync('bash', [repoPath('scripts/build-linux-guest.sh'), '--project'], { encoding: 'utf8' });
  if (packed.status !== 0) return (packed.stderr.trim().split('\n').at(-1) ?? 'build-linux-guest.sh --project failed').replace(/^build-linux-guest: /, '');
  return guest.guestUnavailable() ?? false;
}

/** `CHECK name value` lines of a guest script, as a map. */
export function checks(stdout: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const m = /^CHECK (\S+) ?(.*)$/.exec(line);
    if (m !== null) out.set(m[1] ?? '', (m[2] ?? '').trim());
  }
  return out;
}

export function tapCount(stdout: string, what: 'pass' | 'fail' | 'skipped'): number {
  return Number(new RegExp(`^# ${what} (\\d+)$`, 'm').exec(stdout)?.[1] ?? NaN);
}
