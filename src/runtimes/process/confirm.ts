/**
 * Confirming that a pause took effect, rather than assuming it: poll the kernel's own
 * report (`cgroup.events` "frozen 1", `freezer.state` FROZEN, every task in state T) —
 * see `poll` for how. (Polling on 1 ms timers put a 3 ms floor under the p99 of `maxwell
 * research pause`; busy-yielding on the event loop competed with the very task being frozen.)
 */
import { readFileSync, readdirSync } from 'node:fs';
import { setImmediate as yieldLoop } from 'node:timers/promises';
import { join } from 'node:path';

const SPIN_MS = 0.5;
const NAP_MS = 0.05;
const NAP_PHASE_MS = 20;
const nap = new Int32Array(new SharedArrayBuffer(4));

/**
 * Spin briefly, then nap 50 µs at a time (Atomics.wait frees the CPU for the task being
 * frozen, which on a 2-vCPU machine matters) for up to 20 ms, then yield to the event loop
 * until the timeout.
 */
async function poll(test: () => boolean, timeoutMs: number): Promise<boolean> {
  const start = performance.now();
  while (performance.now() - start < Math.min(SPIN_MS, timeoutMs)) if (test()) return true;
  while (performance.now() - start < Math.min(NAP_PHASE_MS, timeoutMs)) {
    if (test()) return true;
    Atomics.wait(nap, 0, 0, NAP_MS);
  }
  while (performance.now() - start < timeoutMs) {
    if (test()) return true;
    await yieldLoop();
  }
  return test();
}

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

export function isFrozen(dir: string, kind: 'v2' | 'freezer'): boolean {
  return kind === 'v2' ? /^frozen 1$/m.test(read(join(dir, 'cgroup.events'))) : read(join(dir, 'freezer.state')).trim() === 'FROZEN';
}

export function confirmFrozen(dir: string, kind: 'v2' | 'freezer', timeoutMs: number): Promise<boolean> {
  return poll(() => isFrozen(dir, kind), timeoutMs);
}

export function confirmThawed(dir: string, kind: 'v2' | 'freezer', timeoutMs: number): Promise<boolean> {
  return poll(() => (kind === 'v2' ? /^frozen 0$/m.test(read(join(dir, 'cgroup.events'))) : read(join(dir, 'freezer.state')).trim() === 'THAWED'), timeoutMs);
}

/** Whether every thread of every pid is stopped (state T or t) or gone. */
export function allStopped(pids: readonly number[]): boolean {
  for (const pid of pids) {
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tasks) {
      const stat = read(`/proc/${pid}/task/${tid}/stat`);
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (state !== '' && state !== 'T' && state !== 't' && state !== 'Z' && state !== 'X') return false;
    }
  }
  return true;
}

export function confirmStopped(pids: readonly number[], timeoutMs: number): Promise<boolean> {
  return poll(() => allStopped(pids), timeoutMs);
}
