/** What every runtime checks and does the same way. */
import { createMonotonicClock, type Clock } from '../clock/clock.js';
import { parseAgentId } from '../agent-id.js';
import { AgentExistsError, AgentSpecError, AgentStateError } from '../errors.js';
import { seconds } from '../units/units.js';
import type { AgentExit, AgentSpec } from './runtime.js';

/** Checks what every spec needs: an open runtime, a usable and unused id, a command. */
export function checkSpecBasics(spec: AgentSpec, closed: boolean, exists: boolean, commandMeaning = 'command'): void {
  if (closed) throw new AgentStateError('the runtime is closed');
  parseAgentId(spec.id);
  if (exists) throw new AgentExistsError(`agent "${spec.id}" already exists`);
  if (typeof spec.command !== 'string' || spec.command.trim() === '') throw new AgentSpecError(`agent "${spec.id}": ${commandMeaning} is empty`);
}

/**
 * Waits for `exited` for at most `graceS`; resolves true when the grace period ran out first.
 * The grace timer is cancelled when the agent exits, so it never keeps the process alive.
 */
export async function graceRanOut(exited: Promise<AgentExit>, graceS: number, clock: Clock = createMonotonicClock()): Promise<boolean> {
  const cancel = new AbortController();
  const wait = clock.sleep(seconds(graceS), { signal: cancel.signal }).then(
    () => true,
    () => false,
  );
  try {
    return await Promise.race([exited.then(() => false), wait]);
  } finally {
    cancel.abort();
  }
}
