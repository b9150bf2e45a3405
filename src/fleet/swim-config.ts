/**
 * SWIM + Lifeguard parameters. Defaults are hashicorp memberlist's `DefaultLANConfig`
 * (memberlist `config.go`); every one can be overridden, and {@link createSwimConfig} checks
 * each and names the bad one in a `MXW_ERR_FLEET_CONFIG` error (STYLE C3).
 */
import { FleetConfigError } from '../errors.js';

export interface SwimConfig {
  /** Time between probes of one member, ms (scaled by the local health multiplier). @default 1000 */
  readonly probeIntervalMs: number;
  /** Wait for a direct ack before indirect probes, ms (scaled by the LHM). Below probeIntervalMs. @default 500 */
  readonly probeTimeoutMs: number;
  /** Members asked to probe indirectly (ping-req) when a direct probe times out. @default 3 */
  readonly indirectChecks: number;
  /** An update is retransmitted retransmitMult × ⌈log10(n + 1)⌉ times. @default 4 */
  readonly retransmitMult: number;
  /** Suspicion timeout = suspicionMult × max(1, log10 n) × probeInterval (the minimum under Lifeguard). @default 4 */
  readonly suspicionMult: number;
  /** Lifeguard: the suspicion timeout starts at this multiple of the minimum and falls with confirmations. @default 6 */
  readonly suspicionMaxTimeoutMult: number;
  /** Full-state push-pull with one random member, ms (memberlist scales it up beyond 32 members). @default 30000 */
  readonly pushPullIntervalMs: number;
  /** Lifeguard: the local health multiplier's ceiling (awareness score ∈ [0, max − 1]). @default 8 */
  readonly awarenessMaxMultiplier: number;
  /** Time between gossip rounds of piggybacked updates, ms. @default 200 */
  readonly gossipIntervalMs: number;
  /** Members sent to in each gossip round. @default 3 */
  readonly gossipNodes: number;
  /** Dead members still gossiped to for this long (so they learn and can refute), ms. @default 30000 */
  readonly gossipToTheDeadMs: number;
  /** Lifeguard (Dadgar et al. 2018): LHM, dynamic suspicion timeouts, nacks, buddy system. @default true */
  readonly lifeguard: boolean;
  /** Byte budget of one message body (updates are packed up to it). @default 1200 */
  readonly maxPayloadBytes: number;
  /**
   * Most records in the member table, this node and dead members included; further new members
   * are refused (memberlist has no cap: anyone with a key could grow the table without bound). @default 4096
   */
  readonly maxMembers: number;
}

export const DEFAULT_SWIM_CONFIG: SwimConfig = Object.freeze({
  probeIntervalMs: 1000,
  probeTimeoutMs: 500,
  indirectChecks: 3,
  retransmitMult: 4,
  suspicionMult: 4,
  suspicionMaxTimeoutMult: 6,
  pushPullIntervalMs: 30_000,
  awarenessMaxMultiplier: 8,
  gossipIntervalMs: 200,
  gossipNodes: 3,
  gossipToTheDeadMs: 30_000,
  lifeguard: true,
  maxPayloadBytes: 1200,
  maxMembers: 4096,
});

function check(name: string, value: number, min: number, max: number, integer = false): void {
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new FleetConfigError(`invalid ${name}: ${value} (expected ${integer ? 'an integer' : 'a number'} in [${min}, ${max}])`);
  }
}

/** Fills defaults and validates; throws `MXW_ERR_FLEET_CONFIG` naming the bad option. */
export function createSwimConfig(partial: Partial<SwimConfig> = {}): SwimConfig {
  const c: SwimConfig = { ...DEFAULT_SWIM_CONFIG, ...partial };
  check('probeIntervalMs', c.probeIntervalMs, 1, 600_000);
  check('probeTimeoutMs', c.probeTimeoutMs, 1, 600_000);
  if (c.probeTimeoutMs >= c.probeIntervalMs) throw new FleetConfigError(`invalid probeTimeoutMs: ${c.probeTimeoutMs} must be below probeIntervalMs ${c.probeIntervalMs}`);
  check('indirectChecks', c.indirectChecks, 0, 16, true);
  check('retransmitMult', c.retransmitMult, 1, 64, true);
  check('suspicionMult', c.suspicionMult, 1, 64, true);
  check('suspicionMaxTimeoutMult', c.suspicionMaxTimeoutMult, 1, 64, true);
  check('pushPullIntervalMs', c.pushPullIntervalMs, 0, 86_400_000);
  check('awarenessMaxMultiplier', c.awarenessMaxMultiplier, 1, 64, true);
  check('gossipIntervalMs', c.gossipIntervalMs, 1, 600_000);
  check('gossipNodes', c.gossipNodes, 1, 64, true);
  check('gossipToTheDeadMs', c.gossipToTheDeadMs, 0, 86_400_000);
  check('maxPayloadBytes', c.maxPayloadBytes, 256, 65_000, true);
  check('maxMembers', c.maxMembers, 2, 1_000_000, true);
  if (typeof c.lifeguard !== 'boolean') throw new FleetConfigError('invalid lifeguard: expected a boolean');
  return Object.freeze(c);
}

/** memberlist `suspicionTimeout`: suspicionMult × max(1, log10(max(1, n))) × interval, ms. */
export function suspicionTimeoutMs(c: SwimConfig, n: number): number {
  return c.suspicionMult * Math.max(1, Math.log10(Math.max(1, n))) * c.probeIntervalMs;
}

/** memberlist `retransmitLimit`: retransmitMult × ⌈log10(n + 1)⌉. */
export function retransmitLimit(c: SwimConfig, n: number): number {
  return c.retransmitMult * Math.ceil(Math.log10(n + 1));
}

/** memberlist `pushPullScale`: the interval grows by one multiple per doubling of n beyond 32. */
export function pushPullIntervalMs(c: SwimConfig, n: number): number {
  if (n <= 32) return c.pushPullIntervalMs;
  return c.pushPullIntervalMs * (Math.ceil(Math.log2(n) - Math.log2(32)) + 1);
}

/**
 * Lifeguard's dynamic suspicion timeout after `confirmations` independent suspicions
 * (memberlist `suspicion.go`): from max down to min as log(c + 1) / log(k + 1).
 */
export function dynamicSuspicionMs(minMs: number, maxMs: number, k: number, confirmations: number): number {
  if (k < 1) return minMs;
  const frac = Math.log(confirmations + 1) / Math.log(k + 1);
  return Math.max(minMs, Math.floor(maxMs - frac * (maxMs - minMs)));
}
