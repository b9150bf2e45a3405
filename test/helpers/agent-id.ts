import { parseAgentId, type AgentId } from '../../src/agent-id.js';

/** An id for a test: parsed as every edge parses one, so a typo fails as it would there. */
export function agentId(value: string): AgentId {
  return parseAgentId(value);
}
