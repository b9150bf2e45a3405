/**
 * Inference agents for the proof-of-inference measurements: the honest one and six cheaters.
 * Each cheater is a real code path producing claims, and each is a careful one: it paces its
 * tokens to the model's measured profile (sleeping with Atomics.wait, which uses no CPU, or, the
 * miner, hashing) and makes its claim internally consistent (its commitments open, its tokens are
 * the greedy choice of its logits), so that only what it cannot fake gives it away.
 *
 * - smaller-model: runs tiny-gpt-small.onnx (1 block, d_model 32, its own weights) and claims tiny-gpt.onnx;
 * - skipped-layers: runs tiny-gpt.onnx's weights with block 1 left out (tiny-gpt-skip.onnx) and FORGES
 *   block 1's spot tensors consistently (x taken from block 0, x·W computed with the real weights);
 * - replay: answers request 0 honestly, then re-sends an earlier answer with the new input commitment;
 * - random: random logits (and tokens, their argmax), random spot tensors;
 * - miner: hashes (SHA-256) for the profile's time per token instead of running the model, answers at random;
 * - lazy-cache: answers from a cache keyed by the prompt's last 8 symbols; runs the model on a miss.
 */
import { createHash } from 'node:crypto';
import { SeededRandom } from '../../internal/seeded-random.js';
import type { InferenceAgent, InferenceClaim, InferenceRequest, Observation, ServedClaim } from './claim.js';
import { commitInput, commitOutput, commitTensor } from './commitments.js';
import { multiply } from './freivalds.js';
import { argmax, TinyGpt, type Matrix } from './model.js';

export const CHEATERS = ['smaller-model', 'skipped-layers', 'replay', 'random', 'miner', 'lazy-cache'] as const;
export type CheaterKind = (typeof CHEATERS)[number];
export type AgentKind = 'honest' | CheaterKind;

/** The timing a cheater imitates: the profile's medians. */
export interface Pace {
  readonly prefillMs: number;
  readonly decodeMs: number;
}

const SLEEPER = new Int32Array(new SharedArrayBuffer(4));
/** Blocks the thread for `ms` without using CPU (sub-millisecond, unlike timers). */
function sleepMs(ms: number): void {
  if (ms > 0) Atomics.wait(SLEEPER, 0, 0, ms);
}

/** Waits until `deadline` (performance.now() ms) by sleeping, or, when `burn` is given, by running it. */
function waitUntil(deadline: number, burn?: () => void): void {
  if (burn === undefined) {
    sleepMs(deadline - performance.now());
    return;
  }
  while (performance.now() < deadline) burn();
}

/** Builds the claim and its opening from what an agent computed (honestly or not). */
export function claimFrom(modelSha256: string, request: InferenceRequest, tokens: readonly number[], logits: readonly Float32Array[], spot: ReadonlyMap<string, Matrix>): ServedClaim {
  const spotCommitments: Record<string, string> = {};
  for (const [name, m] of spot) spotCommitments[name] = commitTensor(name, [m.rows, m.cols], m.data);
  const claim: InferenceClaim = {
    requestId: request.id,
    modelSha256,
    inputCommitment: commitInput(modelSha256, request.prompt),
    tokens,
    logits,
    outputCommitment: commitOutput(tokens, logits),
    spotCommitments,
  };
  return { claim, reveal: (names) => new Map(names.flatMap((n) => { const m = spot.get(n); return m === undefined ? [] : [[n, m] as const]; })) };
}

/** Serves `request` and measures what the verifier sees: token arrival times and the CPU time used. */
export async function serveObserved(agent: InferenceAgent, request: InferenceRequest): Promise<{ readonly served: ServedClaim; readonly observed: Observation }> {
  const times: number[] = [];
  const cpu = process.cpuUsage();
  const start = performance.now();
  const served = await agent.serve(request, () => { times.push(performance.now()); });
  const used = process.cpuUsage(cpu);
  const decodeMs = times.slice(1).map((t, i) => t - (times[i] ?? t));
  return { served, observed: { prefillMs: (times[0] ?? performance.now()) - start, decodeMs, cpuSeconds: (used.user + used.system) / 1e6 } };
}

/** Runs the real model and claims what it computed. */
export class HonestAgent implements InferenceAgent {
  readonly name: string = 'honest';
  readonly cheatedLast = false;
  readonly #model: TinyGpt;
  readonly #owned: boolean;

  constructor(model: TinyGpt, owned = false) {
    this.#model = model;
    this.#owned = owned;
  }

  async serve(request: InferenceRequest, onToken: (index: number) => void): Promise<ServedClaim> {
    const run = await this.#model.generate(request.prompt, request.maxNewTokens, { spot: true, onToken });
    return claimFrom(this.#model.entry.sha256, request, run.tokens, run.logits, run.spot);
  }

  async release(): Promise<void> {
    if (this.#owned) await this.#model.release();
  }
}

/** Runs another model (smaller, or with a block skipped) and claims the reference; optionally forges missing spot tensors. */
class SubstituteAgent implements InferenceAgent {
  readonly name: CheaterKind;
  readonly cheatedLast = true;
  readonly #model: TinyGpt;
  readonly #referenceSha: string;
  readonly #pace: Pace;
  readonly #forge: ReadonlyMap<string, Matrix> | undefined;

  constructor(name: CheaterKind, model: TinyGpt, referenceSha: string, pace: Pace, forgeWith?: ReadonlyMap<string, Matrix>) {
    this.name = name;
    this.#model = model;
    this.#referenceSha = referenceSha;
    this.#pace = pace;
    this.#forge = forgeWith;
  }

  async serve(request: InferenceRequest, onToken: (index: number) => void): Promise<ServedClaim> {
    let deadline = performance.now() + this.#pace.prefillMs;
    const run = await this.#model.generate(request.prompt, request.maxNewTokens, {
      spot: true,
      onToken: (i) => {
        waitUntil(deadline);
        deadline = performance.now() + this.#pace.decodeMs;
        onToken(i);
      },
    });
    const spot = new Map(run.spot);
    const w = this.#forge;
    if (w !== undefined) {
      // Block 1 never ran: present block 0's MLP input as its input, and products computed with the real weights.
      const x = spot.get('b0.mlp_in');
      const wq = w.get('b1.attn.w_qkv');
      const w1 = w.get('b1.mlp.w1');
      if (x !== undefined && wq !== undefined && w1 !== undefined) {
        spot.set('b1.attn_in', x).set('b1.qkv_mm', multiply(x, wq)).set('b1.mlp_in', x).set('b1.mlp_mm', multiply(x, w1));
      }
    }
    return claimFrom(this.#referenceSha, request, run.tokens, run.logits, spot);
  }

  async release(): Promise<void> {
    await this.#model.release();
  }
}

/** Makes random logits and spot tensors of the right shapes; paces by sleeping, or by hashing (the miner). */
class FabricatingAgent implements InferenceAgent {
  readonly name: CheaterKind;
  readonly cheatedLast = true;
  readonly #reference: TinyGpt;
  readonly #pace: Pace;
  readonly #rng: SeededRandom;
  readonly #mine: boolean;
  /** Hashes computed (the miner's "work"). */
  hashes = 0;

  constructor(name: CheaterKind, reference: TinyGpt, pace: Pace, seed: number, mine: boolean) {
    this.name = name;
    this.#reference = reference;
    this.#pace = pace;
    this.#rng = new SeededRandom(seed);
    this.#mine = mine;
  }

  serve(request: InferenceRequest, onToken: (index: number) => void): Promise<ServedClaim> {
    const { vocab, checkedProducts, context } = this.#reference.entry;
    let block = Buffer.alloc(32, request.id);
    const burn = this.#mine ? () => { block = createHash('sha256').update(block).digest(); this.hashes++; } : undefined;
    let deadline = performance.now() + this.#pace.prefillMs;
    const tokens: number[] = [];
    const logits: Float32Array[] = [];
    for (let i = 0; i < request.maxNewTokens; i++) {
      const row = Float32Array.from({ length: vocab }, () => 3 * this.#rng.normal());
      logits.push(row);
      tokens.push(argmax(row));
      waitUntil(deadline, burn);
      deadline = performance.now() + this.#pace.decodeMs;
      onToken(i);
    }
    const rows = Math.min(context, request.prompt.length);
    const spot = new Map<string, Matrix>();
    for (const p of checkedProducts) {
      spot.set(p.a, { rows, cols: p.shape[0], data: Float32Array.from({ length: rows * p.shape[0] }, () => this.#rng.normal()) });
      spot.set(p.c, { rows, cols: p.shape[1], data: Float32Array.from({ length: rows * p.shape[1] }, () => 0.2 * this.#rng.normal()) });
    }
    return Promise.resolve(claimFrom(this.#reference.entry.sha256, request, tokens, logits, spot));
  }

  release(): Promise<void> {
    return Promise.resolve();
  }
}

/** Re-sends earlier answers: a replayer (always, after the first request) or a lazy cache (on a key hit). */
class ReusingAgent implements InferenceAgent {
  readonly name: CheaterKind;
  cheatedLast = false;
  readonly #honest: HonestAgent;
  readonly #sha: string;
  readonly #pace: Pace;
  readonly #rng: SeededRandom;
  readonly #cache = new Map<string, ServedClaim>();
  readonly #answers: ServedClaim[] = [];

  constructor(name: CheaterKind, reference: TinyGpt, pace: Pace, seed: number) {
    this.name = name;
    this.#honest = new HonestAgent(reference);
    this.#sha = reference.entry.sha256;
    this.#pace = pace;
    this.#rng = new SeededRandom(seed);
  }

  async serve(request: InferenceRequest, onToken: (index: number) => void): Promise<ServedClaim> {
    const key = request.prompt.slice(-8).join(',');
    const earlier = this.name === 'replay' ? this.#answers[Math.floor(this.#rng.uniform() * this.#answers.length)] : this.#cache.get(key);
    this.cheatedLast = earlier !== undefined;
    if (earlier === undefined) {
      const served = await this.#honest.serve(request, onToken);
      this.#answers.push(served);
      this.#cache.set(key, served);
      return served;
    }
    let deadline = performance.now() + this.#pace.prefillMs;
    for (let i = 0; i < request.maxNewTokens; i++) {
      waitUntil(deadline);
      deadline = performance.now() + this.#pace.decodeMs;
      onToken(i);
    }
    const claim: InferenceClaim = { ...earlier.claim, requestId: request.id, inputCommitment: commitInput(this.#sha, request.prompt) };
    return { claim, reveal: earlier.reveal };
  }

  release(): Promise<void> {
    return Promise.resolve();
  }
}

/** A cheater warms its substitute model up before it serves (the first runs of a session are slow). */
async function warm(model: TinyGpt): Promise<TinyGpt> {
  for (let i = 0; i < 3; i++) await model.generate([0, 1, 2, 3], 4, { spot: true });
  return model;
}

/** Makes an agent of `kind` that serves (or pretends to serve) `reference`'s model. */
export async function createAgent(kind: AgentKind, reference: TinyGpt, pace: Pace, seed: number): Promise<InferenceAgent> {
  switch (kind) {
    case 'honest':
      return new HonestAgent(reference);
    case 'smaller-model':
      return new SubstituteAgent(kind, await warm(await TinyGpt.load('tiny-gpt-small.onnx')), reference.entry.sha256, pace);
    case 'skipped-layers':
      return new SubstituteAgent(kind, await warm(await TinyGpt.load('tiny-gpt-skip.onnx')), reference.entry.sha256, pace, await reference.weights());
    case 'replay':
    case 'lazy-cache':
      return new ReusingAgent(kind, reference, pace, seed);
    case 'random':
      return new FabricatingAgent(kind, reference, pace, seed, false);
    case 'miner':
      return new FabricatingAgent(kind, reference, pace, seed, true);
  }
}
