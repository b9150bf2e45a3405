/**
 * The layered verifier of the proof of inference (docs/VERIFICATION.md), cheapest layer first:
 *
 * 1. plausibility (always): CPU seconds per token, as measured by the verifier, inside the
 *    model's measured profile (joules per token follow from it on a machine with power meters;
 *    this one has none, so the check is on CPU time);
 * 2. commitments and timing (always): the claim names the right model and input, its tokens are
 *    the greedy choice of its revealed logits, its output commitment opens to them, the same
 *    output was not already claimed for another input (replay), every spot tensor is committed;
 *    and the token timing the verifier saw is inside the profile;
 * 3. spot checks (bids at or above a threshold): the agent opens the committed activations of
 *    sampled blocks; each opening must match its commitment, each checked product must pass
 *    Freivalds' check against the verifier's own weights, and block 0's first input must be the
 *    LayerNorm of the prompt's embeddings (the anchor of the chain);
 * 4. random deep audit (probability p): re-execution and comparison (audit.ts).
 *
 * Failures of layers 2 (other than timing), 3 and 4 are evidence and return a slash decision;
 * layer 1 and timing are statistical and only flag the request (raise the agent's audit rate).
 */
import { InvalidArgumentError } from '../../errors.js';
import { SeededRandom } from '../../internal/seeded-random.js';
import { audit, slashDecision, type SlashDecision } from './audit.js';
import type { InferenceRequest, Observation, ServedClaim } from './claim.js';
import { checkTiming, commitInput, commitOutput, commitTensor, cpuOutsideProfile, timingSignature, type InferenceProfile } from './commitments.js';
import { DEFAULT_TOLERANCE, DEFAULT_VECTORS, freivalds } from './freivalds.js';
import { argmax, type Matrix, type TinyGpt } from './model.js';

export type LayerNumber = 1 | 2 | 3 | 4;
export const LAYER_NAMES: Readonly<Record<LayerNumber, string>> = { 1: 'plausibility', 2: 'commitments+timing', 3: 'spot checks', 4: 'deep audit' };

export interface VerifierPolicy {
  /** Layer 3 runs for bids at or above this, µJ. */
  readonly spotCheckFromMicroJ: bigint;
  /** Layer 4's probability per request. */
  readonly auditProbability: number;
  /** Blocks whose products are checked per spot check. @default 1 */
  readonly spotBlocks?: number;
  /** @default 16 */
  readonly freivaldsVectors?: number;
  /** @default DEFAULT_TOLERANCE */
  readonly tolerance?: number;
  /** Largest |difference| allowed between block 0's revealed input and the verifier's recomputation. @default 1e-3 */
  readonly anchorTolerance?: number;
  /** Run layers 3 and 4 on every request (to measure them); `selected` still says what the policy would have done. */
  readonly forceAll?: boolean;
  /** The agent's escrowed stake, µJ: what a slash burns. */
  readonly stakeMicroJ: bigint;
  readonly seed: number;
}

export interface LayerOutcome {
  readonly layer: LayerNumber;
  readonly name: string;
  /** Whether the policy chose to run it on this request. */
  readonly selected: boolean;
  readonly ran: boolean;
  /** True when it ran and found nothing (or did not run). */
  readonly passed: boolean;
  readonly reasons: readonly string[];
  /** Its failure is evidence (slashable), not a statistical flag. */
  readonly evidence: boolean;
  /** The verifier's CPU time for this layer, ms. */
  readonly cpuMs: number;
}

export interface Verdict {
  readonly requestId: number;
  readonly agentId: string;
  readonly layers: readonly LayerOutcome[];
  /** Layers that ran and failed. */
  readonly failed: readonly LayerNumber[];
  readonly slash: SlashDecision | null;
}

const cpuMsSince = (start: NodeJS.CpuUsage): number => {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000;
};

/** LayerNormalization of each row (no gain or bias here; applied by the caller), float64. */
function layerNormRows(x: Float64Array, rows: number, cols: number, gain: Float32Array, bias: Float32Array): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < rows; r++) {
    let mean = 0;
    for (let j = 0; j < cols; j++) mean += x[r * cols + j] ?? 0;
    mean /= cols;
    let variance = 0;
    for (let j = 0; j < cols; j++) variance += ((x[r * cols + j] ?? 0) - mean) ** 2;
    const inv = 1 / Math.sqrt(variance / cols + 1e-5);
    for (let j = 0; j < cols; j++) out[r * cols + j] = ((x[r * cols + j] ?? 0) - mean) * inv * (gain[j] ?? 1) + (bias[j] ?? 0);
  }
  return out;
}

/** The layered verifier for one agent (its replay registry spans the agent's requests). */
export class LayeredVerifier {
  readonly #reference: TinyGpt;
  readonly #weights: ReadonlyMap<string, Matrix>;
  readonly #profile: InferenceProfile;
  readonly #policy: VerifierPolicy;
  readonly #agentId: string;
  readonly #rng: SeededRandom;
  /** Output commitment → the input commitment it was first claimed for. */
  readonly #seen = new Map<string, string>();

  private constructor(reference: TinyGpt, weights: ReadonlyMap<string, Matrix>, profile: InferenceProfile, policy: VerifierPolicy, agentId: string) {
    this.#reference = reference;
    this.#weights = weights;
    this.#profile = profile;
    this.#policy = policy;
    this.#agentId = agentId;
    this.#rng = new SeededRandom(policy.seed);
  }

  static async create(reference: TinyGpt, profile: InferenceProfile, policy: VerifierPolicy, agentId: string): Promise<LayeredVerifier> {
    if (!(policy.auditProbability >= 0 && policy.auditProbability <= 1)) throw new InvalidArgumentError(`auditProbability must be in [0, 1], got ${String(policy.auditProbability)}`);
    const spotBlocks = policy.spotBlocks ?? 1;
    if (!Number.isInteger(spotBlocks) || spotBlocks < 1 || spotBlocks > reference.entry.blocks) throw new InvalidArgumentError(`spotBlocks must be in [1, ${String(reference.entry.blocks)}], got ${String(spotBlocks)}`);
    return new LayeredVerifier(reference, await reference.weights(), profile, policy, agentId);
  }

  /** `auditProbability` replaces the policy's for this request (the daemon sets it per agent: its stake, the request's size, its flags). */
  async verify(request: InferenceRequest, served: ServedClaim, observed: Observation, options: { readonly auditProbability?: number } = {}): Promise<Verdict> {
    const policy = this.#policy;
    // Draw the policy's choices first, so that the stream does not depend on the outcomes.
    const blocks = this.#sampleBlocks();
    const auditDrawn = this.#rng.uniform() < (options.auditProbability ?? policy.auditProbability);
    const spotSelected = request.bidMicroJ >= policy.spotCheckFromMicroJ;
    const layers: LayerOutcome[] = [this.#layer1(request, observed), this.#layer2(request, served, observed)];
    layers.push(spotSelected || policy.forceAll === true ? await this.#layer3(request, served, blocks, spotSelected) : skipped(3, spotSelected));
    layers.push(auditDrawn || policy.forceAll === true ? await this.#layer4(request, served, auditDrawn) : skipped(4, auditDrawn));
    const failed = layers.filter((l) => l.ran && !l.passed).map((l) => l.layer);
    const proof = layers.find((l) => l.ran && !l.passed && l.evidence);
    const slash = proof === undefined ? null : slashDecision(this.#agentId, policy.stakeMicroJ, request.id, proof.layer as 2 | 3 | 4, proof.reasons[0] ?? 'failed');
    return { requestId: request.id, agentId: this.#agentId, layers, failed, slash };
  }

  #sampleBlocks(): number[] {
    const all = Array.from({ length: this.#reference.entry.blocks }, (_, i) => i);
    for (let i = all.length - 1; i > 0; i--) {
      const j = Math.floor(this.#rng.uniform() * (i + 1));
      [all[i], all[j]] = [all[j] ?? 0, all[i] ?? 0];
    }
    return all.slice(0, this.#policy.spotBlocks ?? 1).sort((a, b) => a - b);
  }

  #layer1(request: InferenceRequest, observed: Observation): LayerOutcome {
    const start = process.cpuUsage();
    const perToken = observed.cpuSeconds / request.maxNewTokens;
    // No CPU reading (the agent's accounting was unavailable): the layer cannot run.
    if (Number.isNaN(perToken)) return { layer: 1, name: LAYER_NAMES[1], selected: true, ran: false, passed: true, reasons: [], evidence: false, cpuMs: cpuMsSince(start) };
    const b = this.#profile.cpuSecondsPerToken;
    const reasons = cpuOutsideProfile(perToken, this.#profile) ? [`CPU ${(perToken * 1e3).toFixed(3)} ms/token outside the profile [${(b.lo * 1e3).toFixed(3)}, ${(b.hi * 1e3).toFixed(3)}]`] : [];
    return { layer: 1, name: LAYER_NAMES[1], selected: true, ran: true, passed: reasons.length === 0, reasons, evidence: false, cpuMs: cpuMsSince(start) };
  }

  #layer2(request: InferenceRequest, served: ServedClaim, observed: Observation): LayerOutcome {
    const start = process.cpuUsage();
    const claim = served.claim;
    const sha = this.#reference.entry.sha256;
    const reasons: string[] = [];
    if (claim.requestId !== request.id) reasons.push(`claim is for request ${String(claim.requestId)}, not ${String(request.id)}`);
    if (claim.modelSha256 !== sha) reasons.push('claim names another model');
    const input = commitInput(sha, request.prompt);
    if (claim.inputCommitment !== input) reasons.push('input commitment is not the request\'s');
    if (claim.tokens.length !== request.maxNewTokens || claim.logits.length !== claim.tokens.length) reasons.push(`${String(claim.tokens.length)} tokens and ${String(claim.logits.length)} logit rows for ${String(request.maxNewTokens)} asked`);
    const vocab = this.#reference.entry.vocab;
    const greedy = claim.logits.every((row, i) => row.length === vocab && argmax(row) === claim.tokens[i]);
    if (!greedy) reasons.push('tokens are not the greedy choice of the revealed logits');
    if (commitOutput(claim.tokens, claim.logits) !== claim.outputCommitment) reasons.push('output commitment does not open to the revealed tokens and logits');
    const missing = this.#reference.entry.checkedProducts.flatMap((p) => [p.a, p.c]).filter((n) => claim.spotCommitments[n] === undefined);
    if (missing.length > 0) reasons.push(`no commitment to ${missing.join(', ')}`);
    const earlier = this.#seen.get(claim.outputCommitment);
    if (earlier !== undefined && earlier !== claim.inputCommitment) reasons.push('replay: the same output was claimed for another input');
    if (earlier === undefined) this.#seen.set(claim.outputCommitment, claim.inputCommitment);
    const evidence = reasons.length > 0;
    reasons.push(...checkTiming(timingSignature(observed.prefillMs, observed.decodeMs), this.#profile));
    return { layer: 2, name: LAYER_NAMES[2], selected: true, ran: true, passed: reasons.length === 0, reasons, evidence, cpuMs: cpuMsSince(start) };
  }

  async #layer3(request: InferenceRequest, served: ServedClaim, blocks: readonly number[], selected: boolean): Promise<LayerOutcome> {
    const products = this.#reference.entry.checkedProducts.filter((p) => blocks.includes(Number(/^b(\d+)\./.exec(p.a)?.[1] ?? -1)));
    const names = [...new Set(['b0.attn_in', ...products.flatMap((p) => [p.a, p.c])])];
    // The wait for the agent's opening is not the verifier's CPU: the clock starts after it.
    const opened = await served.reveal(names);
    const start = process.cpuUsage();
    const reasons: string[] = [];
    for (const name of names) {
      const m = opened.get(name);
      const committed = served.claim.spotCommitments[name];
      if (m === undefined) reasons.push(`${name} not opened`);
      else if (committed === undefined || commitTensor(name, [m.rows, m.cols], m.data) !== committed) reasons.push(`${name} does not match its commitment`);
    }
    for (const p of products) {
      const a = opened.get(p.a);
      const c = opened.get(p.c);
      const w = this.#weights.get(p.b);
      if (a === undefined || c === undefined || w === undefined) continue;
      const result = freivalds(a, w, c, { rng: this.#rng, vectors: this.#policy.freivaldsVectors ?? DEFAULT_VECTORS, tolerance: this.#policy.tolerance ?? DEFAULT_TOLERANCE });
      if (!result.accepted) reasons.push(`Freivalds: ${p.c} ≠ ${p.a}·${p.b} (${result.reason ?? `residual ${result.worstResidual.toExponential(2)}`})`);
    }
    const anchor = opened.get('b0.attn_in');
    if (anchor !== undefined) {
      const diff = this.#anchorDifference(request.prompt, anchor);
      if (!(diff <= (this.#policy.anchorTolerance ?? 1e-3))) reasons.push(`anchor: block 0's input is not the prompt's embedding (max difference ${diff.toExponential(2)})`);
    }
    return { layer: 3, name: LAYER_NAMES[3], selected, ran: true, passed: reasons.length === 0, reasons, evidence: true, cpuMs: cpuMsSince(start) };
  }

  /** max |revealed − LN1(E[prompt] + P[positions])| over the prefill window. */
  #anchorDifference(prompt: readonly number[], revealed: Matrix): number {
    const { d, context } = this.#reference.entry;
    const window = prompt.slice(-context);
    if (revealed.rows !== window.length || revealed.cols !== d) return Number.POSITIVE_INFINITY;
    const e = this.#weights.get('tok_emb');
    const p = this.#weights.get('pos_emb');
    const g = this.#weights.get('b0.ln1.g');
    const b = this.#weights.get('b0.ln1.b');
    if (e === undefined || p === undefined || g === undefined || b === undefined) return Number.POSITIVE_INFINITY;
    const x = new Float64Array(window.length * d);
    window.forEach((t, r) => {
      for (let j = 0; j < d; j++) x[r * d + j] = (e.data[t * d + j] ?? 0) + (p.data[r * d + j] ?? 0);
    });
    const ln = layerNormRows(x, window.length, d, g.data, b.data);
    let worst = 0;
    for (let i = 0; i < ln.length; i++) {
      const diff = Math.abs((ln[i] ?? 0) - (revealed.data[i] ?? 0));
      if (!(diff <= worst)) worst = diff;
    }
    return worst;
  }

  async #layer4(request: InferenceRequest, served: ServedClaim, selected: boolean): Promise<LayerOutcome> {
    const start = process.cpuUsage();
    const result = await audit(this.#reference, request, served.claim);
    const reasons = result.match ? [] : [`re-execution differs (${String(result.tokensDiffering)} of ${String(request.maxNewTokens)} tokens, output commitment ${result.claimed.slice(0, 12)}… ≠ ${result.expected.slice(0, 12)}…)`];
    return { layer: 4, name: LAYER_NAMES[4], selected, ran: true, passed: result.match, reasons, evidence: true, cpuMs: cpuMsSince(start) };
  }
}

function skipped(layer: 3 | 4, selected: boolean): LayerOutcome {
  return { layer, name: LAYER_NAMES[layer], selected, ran: false, passed: true, reasons: [], evidence: true, cpuMs: 0 };
}
