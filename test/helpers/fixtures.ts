/** Copies of fixture trees that tests may modify. */
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoPath } from './repo.js';

/** Copies `test/fixtures/<relative>` into a fresh temporary directory and returns its path. */
export function copyFixture(relative: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'maxwell-fixture-'));
  cpSync(repoPath(`test/fixtures/${relative}`), dir, { recursive: true });
  return dir;
}

/** An empty root: no /sys, no /proc, nothing. */
export function emptyRoot(): string {
  return mkdtempSync(join(tmpdir(), 'maxwell-empty-'));
}

/** Overwrites one attribute file under `root`. */
export function writeAttribute(root: string, path: string, value: string | number): void {
  writeFileSync(join(root, path), `${String(value)}\n`);
}

/** A controllable time source for health checks. */
export function manualNow(start = 0): { now: () => number; advance: (s: number) => void } {
  let t = start;
  return { now: () => t, advance: (s) => (t += s) };
}
