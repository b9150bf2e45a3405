/**
 * Agent ids: one rule, one type, one error for every layer that names an agent — the control
 * API, the daemon, the agent protocol, the runtimes (cgroup and socket names) and the ledger
 * (`agent:<id>` accounts). Before this there were four rules and an id could pass the API and
 * fail deeper with another code.
 *
 * The rule is the strictest of those four: it must fit a cgroup directory name and, with the
 * daemon's prefix, a Unix socket path (108 bytes), and must not look like an option (`-x`).
 */
import { AgentIdError } from './errors.js';

declare const agentIdBrand: unique symbol;
/** A string that passed {@link parseAgentId}. */
export type AgentId = string & { readonly [agentIdBrand]: true };

export const AGENT_ID_MAX_LENGTH = 48;
export const AGENT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,47}$/;
/** The rule in words, for error messages and `--help`. */
export const AGENT_ID_RULE = `1–${String(AGENT_ID_MAX_LENGTH)} letters, digits, '_' or '-', starting with a letter or digit`;

export function isAgentId(value: unknown): value is AgentId {
  return typeof value === 'string' && AGENT_ID_PATTERN.test(value);
}

/** `value` as an agent id, or `MXW_ERR_AGENT_ID` naming what is wrong with it. */
export function parseAgentId(value: unknown): AgentId {
  if (isAgentId(value)) return value;
  const shown = typeof value === 'string' ? JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value) : typeof value;
  throw new AgentIdError(`invalid agent id ${shown}: ${AGENT_ID_RULE}`);
}

/** A ledger account of an agent. */
export type AgentAccount = `agent:${string}`;

/**
 * The agent's ledger account. It lives here, not in the ledger, because the pure session names
 * accounts too and imports nothing but types from the ledger.
 */
export function agentAccount(agentId: string): AgentAccount {
  return `agent:${parseAgentId(agentId)}` as const;
}
