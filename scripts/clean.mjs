// Removes dist/ so that a deleted source file never leaves a stale compiled test behind.
import { rmSync } from 'node:fs';

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
