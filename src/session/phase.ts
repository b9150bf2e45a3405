/**
 * An agent's life as one explicit state machine: every change of phase in the session goes
 * through `transition`, and the table below is the whole of what may happen.
 *
 *   starting ──started──► running ◄──won── paused
 *                           │  └──lost / emergency──►┘
 *                           └──insolvent / slashed──► dying ◄──insolvent / slashed── paused
 *   any phase but dead ──exited──► dead
 *
 * `dying` is the kill in progress (apoptosis, or a slash for proof of cheating) (SIGTERM sent, SIGKILL after the timeout): nothing
 * pauses or resumes it any more, so a frozen agent is never left waiting for a signal it cannot
 * take.
 */
import { AgentStateError } from '../errors.js';
import type { AgentPhase } from './types.js';

export type PhaseEvent = 'started' | 'won' | 'lost' | 'emergency' | 'insolvent' | 'slashed' | 'exited';

export const PHASE_TRANSITIONS: Readonly<Record<AgentPhase, Readonly<Partial<Record<PhaseEvent, AgentPhase>>>>> = {
  starting: { started: 'running', exited: 'dead' },
  running: { lost: 'paused', emergency: 'paused', insolvent: 'dying', slashed: 'dying', exited: 'dead' },
  paused: { won: 'running', insolvent: 'dying', slashed: 'dying', exited: 'dead' },
  dying: { exited: 'dead' },
  dead: {},
};

/** Where `event` takes an agent in `phase`, or null when the table has no such move. */
export function nextPhase(phase: AgentPhase, event: PhaseEvent): AgentPhase | null {
  return PHASE_TRANSITIONS[phase][event] ?? null;
}

/** Moves `agent` by `event`; an illegal move is a bug in the caller: `MXW_ERR_AGENT_STATE`. */
export function transition(agent: { readonly id: string; phase: AgentPhase }, event: PhaseEvent): AgentPhase {
  const next = nextPhase(agent.phase, event);
  if (next === null) throw new AgentStateError(`agent ${agent.id}: no transition from ${agent.phase} on ${event}`);
  agent.phase = next;
  return next;
}
