/** Polling waits for integration tests. */
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Resolves once `check` holds, polling every `everyMs`; rejects naming `what` after `timeoutMs`.
 * `check` may be async (e.g. a runtime's `usage()`); each poll waits for the previous one.
 */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000, everyMs = 20): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}
