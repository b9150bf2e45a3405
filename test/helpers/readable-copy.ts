/**
 * A copy of the built tree that any user can read, for tests that run Maxwell as another user
 * (uid 65534): a checkout in a private directory (root's home on Debian is 0700) cannot be
 * traversed by that user, so such a test runs the copy instead.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoPath } from './repo.js';

let copy: string | null = null;

/**
 * Returns a directory, readable and traversable by everyone, holding `dist/`, `node_modules/`
 * and `package.json` of this checkout (made once per test process, removed at its exit).
 * Files are hard links where the file system allows (`cp -al`: fast, nothing copied), else copies.
 */
export function worldReadableCheckout(): string {
  if (copy !== null) return copy;
  const dir = mkdtempSync(join(tmpdir(), 'maxwell-readable-'));
  chmodSync(dir, 0o755);
  process.on('exit', () => { rmSync(dir, { recursive: true, force: true }); });
  const entries = ['dist', 'node_modules', 'package.json'];
  for (const entry of entries) spawnSync('cp', ['-al', repoPath(entry), join(dir, entry)]);
  // A hard link shares its file's mode, and changing it would change the checkout's own file:
  // where the checkout's files are not readable by others (umask 077), copy instead.
  const linkedReadable = entries.every((entry) => {
    try {
      return (statSync(join(dir, entry === 'dist' ? 'dist/src/cli/bin.js' : entry)).mode & 0o004) !== 0;
    } catch {
      return false;
    }
  });
  if (!linkedReadable) {
    for (const entry of entries) {
      rmSync(join(dir, entry), { recursive: true, force: true });
      cpSync(repoPath(entry), join(dir, entry), { recursive: true });
    }
    spawnSync('chmod', ['-R', 'a+rX', dir]);
  } else {
    spawnSync('find', [dir, '-type', 'd', '-exec', 'chmod', 'a+rx', '{}', '+']);
  }
  copy = dir;
  return dir;
}
