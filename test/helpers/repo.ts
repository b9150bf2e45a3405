/** Paths into the repository from compiled tests (dist/test/...). */
import { fileURLToPath } from 'node:url';

/** Absolute path of a file in the repository root. */
export function repoPath(relative: string): string {
  return fileURLToPath(new URL(`../../../${relative}`, import.meta.url));
}
