/**
 * What an inference agent is asked and what it claims: the request, the claim it publishes, and
 * what the verifier observes on its own while the agent serves it (token arrival times, CPU time).
 */
import type { Matrix } from './model.js';

/** One inference request: a prompt (token ids), the tokens wanted, and what the requester bids. */
export interface InferenceRequest {
  readonly id: number;
  readonly prompt: readonly number[];
  readonly maxNewTokens: number;
  /** The bid for the request, µJ: layer 3 runs above a threshold. */
  readonly bidMicroJ: bigint;
}

/** What an agent publishes for a request (layer 2 checks it on every request). */
export interface InferenceClaim {
  readonly requestId: number;
  /** SHA-256 of the model file the agent says it ran. */
  readonly modelSha256: string;
  readonly inputCommitment: string;
  readonly tokens: readonly number[];
  /** The last-position logits of every step (revealed: 64 floats a token). */
  readonly logits: readonly Float32Array[];
  readonly outputCommitment: string;
  /** Commitments to the checked products' activations of the prefill, by graph output name. */
  readonly spotCommitments: Readonly<Record<string, string>>;
}

/** An agent's answer: its claim, and the opening of its spot commitments when challenged (layer 3). */
export interface ServedClaim {
  readonly claim: InferenceClaim;
  /** Reveals the named committed tensors; a tensor it cannot produce is absent from the map (async: over the agent protocol it is a challenge and the agent's answer). */
  readonly reveal: (names: readonly string[]) => ReadonlyMap<string, Matrix> | Promise<ReadonlyMap<string, Matrix>>;
}

/** What the verifier measured itself while the agent served (not what the agent says). */
export interface Observation {
  /** Request sent → first token, ms. */
  readonly prefillMs: number;
  /** Gaps between later tokens, ms. */
  readonly decodeMs: readonly number[];
  /** CPU seconds the agent used for the request (cgroup CPU time in the daemon; process.cpuUsage here). */
  readonly cpuSeconds: number;
}

/** An inference agent, honest or not. */
export interface InferenceAgent {
  readonly name: string;
  /** Ground truth for the measurements only (a real agent would not say): whether its last answer was cheated. */
  readonly cheatedLast?: boolean;
  /** Serves a request; calls `onToken` as each token is sent (the verifier timestamps it). */
  serve(request: InferenceRequest, onToken: (index: number) => void): Promise<ServedClaim>;
  release(): Promise<void>;
}
