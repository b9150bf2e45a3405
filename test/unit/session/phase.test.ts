import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PHASE_TRANSITIONS, nextPhase, transition, type PhaseEvent } from '../../../src/session/phase.js';
import type { AgentPhase } from '../../../src/session/types.js';

const PHASES: readonly AgentPhase[] = ['starting', 'running', 'paused', 'dying', 'dead'];
const EVENTS: readonly PhaseEvent[] = ['started', 'won', 'lost', 'emergency', 'insolvent', 'exited'];

test('the table: dead is final, every other phase can end, and only running/paused can be paused, resumed or killed', () => {
  assert.deepEqual(Object.keys(PHASE_TRANSITIONS).sort(), [...PHASES].sort());
  for (const phase of PHASES) {
    assert.equal(nextPhase(phase, 'exited'), phase === 'dead' ? null : 'dead', phase);
  }
  assert.deepEqual(PHASE_TRANSITIONS.dead, {});
  assert.deepEqual(PHASE_TRANSITIONS.dying, { exited: 'dead' }, 'nothing pauses or resumes an agent being killed');
  assert.equal(nextPhase('starting', 'won'), null, 'an agent not started cannot run');
  assert.equal(nextPhase('paused', 'emergency'), null);
});

test('transition moves by the table and throws MXW_ERR_AGENT_STATE for any move it does not have', () => {
  for (const phase of PHASES) {
    for (const event of EVENTS) {
      const agent = { id: 'a', phase };
      const next = nextPhase(phase, event);
      if (next === null) assert.throws(() => transition(agent, event), { code: 'MXW_ERR_AGENT_STATE', message: new RegExp(`from ${phase} on ${event}`) });
      else {
        assert.equal(transition(agent, event), next);
        assert.equal(agent.phase, next);
      }
    }
  }
});
