/**
 * Layer 4 of the proof of inference: a random deep audit. With probability p the verifier
 * re-executes the request on its own copy of the model (deterministic: same file, same runtime
 * configuration, greedy decode) and compares the quantised output commitment with the agent's.
 * A mismatch is evidence: the agent's escrowed stake is slashed (an `escrow → burn` transfer).
 *
 * The economics (docs/VERIFICATION.md): a cheater gains at most G per cheated request (the income
 * it claims without doing the work). Audited with probability p, a cheater who cheats on every
 * request is caught after 1/p requests on average, having gained G/p, and loses its stake S.
 * Cheating does not pay when S > G/p, i.e. p × S > G. {@link auditProbability} picks
 * p = safety × G / S (safety 2 by default), capped at 1.
 */
import { InvalidArgumentError } from '../../errors.js';
import { agentAccount } from '../../agent-id.js';
import { checkTransfer, type Transfer } from '../../ledger/entries.js';
import { microJ } from '../../units/money.js';
import type { InferenceClaim, InferenceRequest } from './claim.js';
import { commitOutput } from './commitments.js';
import type { TinyGpt } from './model.js';

export interface AuditEconomicsInput {
  /** Income per verified token, µJ. */
  readonly pricePerTokenMicroJ: bigint;
  readonly tokensPerRequest: number;
  /** The agent's escrowed stake, µJ. */
  readonly stakeMicroJ: bigint;
  /** p = safety × G / S. @default 2 */
  readonly safety?: number;
}

export interface AuditEconomics {
  /** G: the most a cheater gains per cheated request (its whole income: a cheater that does no work saves all of its cost). */
  readonly gainPerRequestMicroJ: bigint;
  readonly stakeMicroJ: bigint;
  readonly safety: number;
  /** The audit probability chosen. */
  readonly auditProbability: number;
  /** p × S: the expected loss per cheated request, µJ (> G by construction when p < 1). */
  readonly expectedLossPerCheatMicroJ: number;
  /** 1/p: expected requests until a cheater that cheats every time is audited. */
  readonly expectedRequestsToAudit: number;
  /** G/p: what such a cheater has gained when it is caught, µJ (< S). */
  readonly expectedGainBeforeCaughtMicroJ: number;
}

/** p = min(1, safety × gain / stake). */
export function auditProbability(gainPerRequestMicroJ: bigint, stakeMicroJ: bigint, safety = 2): number {
  if (gainPerRequestMicroJ < 0n) throw new InvalidArgumentError(`gain must be ≥ 0, got ${String(gainPerRequestMicroJ)}`);
  if (stakeMicroJ <= 0n) throw new InvalidArgumentError(`stake must be > 0, got ${String(stakeMicroJ)}`);
  if (!(safety >= 1)) throw new InvalidArgumentError(`safety must be ≥ 1, got ${String(safety)}`);
  return Math.min(1, (safety * Number(gainPerRequestMicroJ)) / Number(stakeMicroJ));
}

export function auditEconomics(input: AuditEconomicsInput): AuditEconomics {
  if (!Number.isInteger(input.tokensPerRequest) || input.tokensPerRequest < 1) throw new InvalidArgumentError(`tokensPerRequest must be a positive integer, got ${String(input.tokensPerRequest)}`);
  const safety = input.safety ?? 2;
  const gain = input.pricePerTokenMicroJ * BigInt(input.tokensPerRequest);
  const p = auditProbability(gain, input.stakeMicroJ, safety);
  return {
    gainPerRequestMicroJ: gain,
    stakeMicroJ: input.stakeMicroJ,
    safety,
    auditProbability: p,
    expectedLossPerCheatMicroJ: p * Number(input.stakeMicroJ),
    expectedRequestsToAudit: 1 / p,
    expectedGainBeforeCaughtMicroJ: Number(gain) / p,
  };
}

export interface AuditResult {
  readonly match: boolean;
  /** The verifier's output commitment. */
  readonly expected: string;
  readonly claimed: string;
  /** Tokens the agent claimed that differ from the re-execution's. */
  readonly tokensDiffering: number;
}

/** Re-executes `request` on the verifier's model and compares output commitments. */
export async function audit(reference: TinyGpt, request: InferenceRequest, claim: InferenceClaim): Promise<AuditResult> {
  const run = await reference.generate(request.prompt, request.maxNewTokens);
  const expected = commitOutput(run.tokens, run.logits);
  let differing = Math.abs(run.tokens.length - claim.tokens.length);
  for (let i = 0; i < Math.min(run.tokens.length, claim.tokens.length); i++) if (run.tokens[i] !== claim.tokens[i]) differing++;
  return { match: expected === claim.outputCommitment, expected, claimed: claim.outputCommitment, tokensDiffering: differing };
}

/** What the verifier decides when it has evidence: slash this much of the agent's stake, and why. */
export interface SlashDecision {
  readonly agentId: string;
  readonly requestId: number;
  readonly layer: 2 | 3 | 4;
  readonly reason: string;
  /** The ledger transfers that carry it out (not applied here: the daemon is not wired yet). */
  readonly transfers: readonly Transfer[];
}

/**
 * The transfers of a slash: the agent's stake leaves escrow and is burned. The escrow account is
 * shared, so the memo names the agent; each transfer is checked as the ledger would.
 */
export function slashTransfers(agentId: string, amountMicroJ: bigint, why: string): Transfer[] {
  const account = agentAccount(agentId);
  const memo = `slash ${account}: ${why}`.slice(0, 200);
  const transfer: Transfer = { kind: 'slash', from: 'escrow', to: 'burn', amountMicroJ: microJ(amountMicroJ), memo };
  checkTransfer(transfer);
  return [transfer];
}

export function slashDecision(agentId: string, stakeMicroJ: bigint, requestId: number, layer: 2 | 3 | 4, reason: string): SlashDecision {
  return { agentId, requestId, layer, reason, transfers: slashTransfers(agentId, stakeMicroJ, `request ${String(requestId)}, layer ${String(layer)}: ${reason}`) };
}
