/**
 * The proof of inference in the daemon (docs/VERIFICATION.md): requests go to staked agents
 * that said `serve` for the reference model, over the agent protocol; each answer is judged by
 * the layered verifier (plausibility, commitments and timing, spot checks above a bid, a random
 * deep audit) and the session pays per verified token, or slashes the stake and ends the agent.
 *
 *   API/CLI request → pick a server → `infer` → `token`… `claim` → [`challenge` → `reveal`…]
 *     → LayeredVerifier → session.judgeInference (income | withheld | slash + kill) → `verdict`
 *
 * What the verifier observes is its own: the token frames' arrival times on this side of the
 * socket, and the agent's CPU time from its cgroup between `infer` and `claim`. The reference
 * model (onnxruntime-node) is loaded, and its profile calibrated by running it here, on the
 * first `serve` or request, so that a daemon that serves no inference never loads it.
 */
import type { AgentId } from '../../agent-id.js';
import { randomInt } from 'node:crypto';
import type { MaxwellConfig } from '../../config/schema.js';
import { InferenceAgentGoneError, InferenceNoServerError, InferenceTimeoutError, InvalidArgumentError, toError } from '../../errors.js';
import { toJoules, toMicroJ } from '../../units/money.js';
import { base64ToFloat32 } from '../../protocol/frames.js';
import type { ClaimMessage, InferenceMessage, Notice, RevealMessage } from '../../protocol/messages.js';
import type { AgentUsage } from '../../runtimes/runtime.js';
import type { InferenceJudgement, MarketSession } from '../../session/session.js';
import type { InferenceClaim, InferenceRequest, Observation, ServedClaim } from '../inference/claim.js';
import type { InferenceProfile } from '../inference/commitments.js';
import type { LayeredVerifier, LayerOutcome } from '../inference/layers.js';
import type { Matrix, TinyGpt } from '../inference/model.js';
import { modelsDescription } from '../inference/models-description.js';

/** How often a `serve` from an agent still being started looks again, ms. */
const SERVE_START_POLL_MS = 20;
export type InferenceConfig = MaxwellConfig['inference'];

export interface InferenceServiceOptions {
  readonly config: Readonly<InferenceConfig>;
  readonly session: MarketSession;
  readonly send: (agentId: AgentId, notice: Notice) => boolean;
  readonly usage: (agentId: AgentId) => Promise<AgentUsage>;
}

/** What a caller asks: a prompt (text in the model's symbols, or token ids), how many tokens, and its bid. */
export interface InferenceAsk {
  readonly prompt: string | readonly number[];
  /** @default 16 */
  readonly maxNewTokens?: number;
  /** What the request bids, J: layer 3 runs at or above `inference.spotCheckFromJ`. @default 0 */
  readonly bidJ?: number;
  /** Send it to this agent (default: a serving agent, running ones first, the least busy). */
  readonly agentId?: string;
}

export interface InferenceAnswer {
  readonly requestId: number;
  readonly agentId: string;
  readonly tokens: readonly number[];
  /** The tokens in the model's symbols. */
  readonly text: string;
  /** `paid`, `withheld`, `unpaid` (observe mode) or `slashed`. */
  readonly outcome: string;
  readonly incomeJ: number;
  readonly slashedJ: number;
  /** The audit probability this request was judged with. */
  readonly auditProbability: number;
  readonly layers: readonly LayerOutcome[];
  /** What the verifier measured: first token after `infer`, mean gap between later tokens, the agent's CPU per token. */
  readonly observed: { readonly prefillMs: number; readonly decodeMeanMs: number; readonly cpuMsPerToken: number; readonly cpuSource: string };
}

/** How a probe went: whether the agent answered it in time, and how long it was open. */
export interface ProbeOutcome {
  readonly answered: boolean;
  readonly tokens: number;
  readonly openMs: number;
}

export interface InferenceStatus {
  readonly model: string;
  /** How the layers' CPU and timing bounds were obtained (MEASURED here, when). */
  readonly profile: string;
  readonly servers: readonly string[];
  /** Agents that claim inference and serve another model: probed for their activity timeline only (no proof layers, unpaid). */
  readonly unverifiedServers: readonly string[];
  /** Probes sent for the claim verifier (requests the agent cannot tell from real ones, judged by its trace only). */
  readonly probes: number;
  readonly requests: number;
  readonly slashes: number;
  /** The verifier's own CPU for all layers so far, s. */
  readonly verifierCpuS: number;
}

interface Reference {
  readonly model: TinyGpt;
  readonly profile: InferenceProfile;
  readonly createVerifier: (agentId: AgentId, stakeMicroJ: bigint) => Promise<LayeredVerifier>;
}

/** One request in flight to one agent: what the socket has brought so far. */
interface Exchange {
  readonly requestId: number;
  /** performance.now() when it was sent. */
  readonly openedAt: number;
  readonly maxNewTokens: number;
  readonly tokenTimes: number[];
  claim: ClaimMessage | null;
  readonly reveals: Map<string, RevealMessage>;
  wanted: readonly string[];
  /** Wakes the waiter when something it waits for has come (or the agent is gone). */
  wake: (() => void) | null;
  gone: boolean;
}

const CALIBRATION_TOKENS = 16;

export class InferenceService {
  readonly #options: InferenceServiceOptions;
  #reference: Promise<Reference> | null = null;
  readonly #verifiers = new Map<AgentId, Promise<LayeredVerifier>>();
  readonly #exchanges = new Map<AgentId, Exchange>();
  /** Per agent with requests not finished: the tail of its queue (one request at a time, in order); shutdown waits for these. */
  readonly #queues = new Map<AgentId, Promise<unknown>>();
  /** Requests waiting or being served, per agent (bounded: each holds its prompt and a caller). */
  readonly #waiting = new Map<AgentId, number>();
  /** Agents serving a model other than the reference (they claim inference): probed, never paid. */
  readonly #unverified = new Set<string>();
  /** Per agent, the last request that closed: when it was open (the claim verifier's rows need the share of each row a request was open). */
  readonly #lastClosed = new Map<AgentId, { readonly openedAt: number; readonly closedAt: number }>();
  #referenceSha: string | null = null;
  #nextRequestId = 1;
  #probes = 0;
  #requests = 0;
  #slashes = 0;
  #verifierCpuS = 0;
  #profileNote = 'not calibrated yet (on the first serve or request)';

  constructor(options: InferenceServiceOptions) {
    this.#options = options;
  }

  status(): InferenceStatus {
    return { model: this.#options.config.model, profile: this.#profileNote, servers: this.#options.session.inferenceServers(), unverifiedServers: [...this.#unverified], probes: this.#probes, requests: this.#requests, slashes: this.#slashes, verifierCpuS: this.#verifierCpuS };
  }

  /** The inference frames of an agent's socket (checked by the protocol layer already). */
  receive(agentId: AgentId, message: InferenceMessage): void {
    if (message.type === 'serve') {
      void this.#serve(agentId, message.seq, message.modelSha256);
      return;
    }
    const exchange = this.#exchanges.get(agentId);
    if (exchange?.requestId !== message.requestId) return; // late or for another request: nothing waits for it
    if (message.type === 'token') {
      // Only the next token counts, and no more than were asked: a flood of frames changes nothing.
      if (message.index === exchange.tokenTimes.length && message.index < exchange.maxNewTokens) exchange.tokenTimes.push(performance.now());
      return;
    }
    if (message.type === 'claim') {
      exchange.claim ??= message;
    } else if (exchange.wanted.includes(message.name) && !exchange.reveals.has(message.name)) exchange.reveals.set(message.name, message);
    exchange.wake?.();
  }

  /** Releases the reference model (the daemon is stopping). */
  async close(): Promise<void> {
    const reference = this.#reference;
    this.#reference = null;
    if (reference !== null) await reference.then((r) => r.model.release(), () => undefined);
  }

  /** Waits for the requests in flight to be judged (a deferred settlement needs their verdicts), at most `limitMs`. */
  async drain(limitMs: number): Promise<void> {
    if (this.#queues.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.#queues.values()]), new Promise<void>((resolve) => (timer = setTimeout(resolve, limitMs)))]);
    clearTimeout(timer);
  }

  /** The agent ended: whatever waits for its answer stops waiting. */
  forget(agentId: AgentId): void {
    this.#verifiers.delete(agentId);
    this.#unverified.delete(agentId);
    this.#lastClosed.delete(agentId);
    const exchange = this.#exchanges.get(agentId);
    if (exchange === undefined) return;
    exchange.gone = true;
    exchange.wake?.();
  }

  /** It said `serve` (for the reference model or, claiming inference, for one of its own), so probes can be sent to it. */
  serves(agentId: AgentId): boolean {
    return this.#unverified.has(agentId) || this.#options.session.servesInference(agentId);
  }

  /** A request (real or a probe) is open on this agent now. */
  busy(agentId: AgentId): boolean {
    return this.#exchanges.has(agentId);
  }

  /**
   * Sends the agent a request it cannot tell from a real one and waits for its answer (the claim
   * verifier's probe: what matters is *when* the agent works, not what it answers, so no layer
   * judges it and it is not paid; the agent learns that only from the verdict, afterwards).
   * Queued behind real requests; null when one is queued already (the agent is busy anyway).
   */
  probe(agentId: AgentId, prompt: readonly number[], maxNewTokens: number): Promise<ProbeOutcome> | null {
    if (this.#queues.has(agentId) || this.#exchanges.has(agentId)) return null;
    const exchange: Exchange = { requestId: this.#nextRequestId++, openedAt: performance.now(), maxNewTokens, tokenTimes: [], claim: null, reveals: new Map(), wanted: [], wake: null, gone: false };
    this.#exchanges.set(agentId, exchange);
    this.#probes++;
    const run = (async (): Promise<ProbeOutcome> => {
      try {
        this.#options.send(agentId, { type: 'infer', requestId: exchange.requestId, prompt: [...prompt], maxNewTokens });
        const answered = await this.#until(exchange, () => exchange.claim !== null);
        if (!exchange.gone) this.#options.send(agentId, { type: 'verdict', requestId: exchange.requestId, outcome: 'unpaid', incomeJ: 0, failedLayers: [] });
        return { answered, tokens: exchange.tokenTimes.length, openMs: performance.now() - exchange.openedAt };
      } finally {
        this.#close(agentId, exchange);
      }
    })();
    const done = run.then(() => undefined, () => undefined).then(() => {
      if (this.#queues.get(agentId) === done) this.#queues.delete(agentId);
    });
    this.#queues.set(agentId, done);
    return run;
  }

  async #serve(agentId: AgentId, seq: number, modelSha256: string): Promise<void> {
    let outcome: string;
    try {
      if (modelSha256 !== this.#referenceModelSha()) {
        outcome = await this.#serveUnverified(agentId);
      } else {
        await this.#loadReference();
        outcome = await this.#serveOnceStarted(agentId);
        // Without a stake it cannot be paid for the reference model, but a claim of inference can still be probed.
        if (outcome === 'no-stake') outcome = (await this.#serveUnverified(agentId)) === 'serving-unverified' ? 'serving-unverified' : outcome;
      }
    } catch {
      outcome = 'no-reference-model';
    }
    this.#options.send(agentId, { type: 'result', seq, outcome });
  }

  /** The reference model's SHA-256 from its description (no model loaded: an agent serving another model must not cost the daemon one). */
  #referenceModelSha(): string {
    if (this.#referenceSha === null) {
      this.#referenceSha = modelsDescription().models[this.#options.config.model]?.sha256 ?? '';
    }
    return this.#referenceSha;
  }

  /**
   * Another model: nothing here can check its answers, so it earns nothing from the inference
   * service, but an agent that claims inference may announce it to be probed (its trace is then
   * judged against the request timeline). Without a claim it is refused, as before.
   */
  async #serveUnverified(agentId: AgentId): Promise<string> {
    if (this.#view(agentId)?.verification?.claims !== 'inference') return 'unknown-model';
    const deadline = performance.now() + this.#options.config.requestTimeoutMs;
    while (this.#isStarting(agentId) && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, SERVE_START_POLL_MS));
    const phase = this.#view(agentId)?.phase;
    if (phase !== 'running' && phase !== 'paused') return 'not-running';
    this.#unverified.add(agentId);
    return 'serving-unverified';
  }

  /**
   * An agent can connect and announce before the daemon has finished starting it (its stake is
   * escrowed at start): under load the runtime's start outlasts the agent's own. The answer waits
   * for the start rather than refusing an agent that did nothing wrong (seen in full test runs).
   */
  async #serveOnceStarted(agentId: AgentId): Promise<string> {
    const session = this.#options.session;
    const deadline = performance.now() + this.#options.config.requestTimeoutMs;
    let outcome = session.serveInference(agentId);
    while (outcome === 'not-running' && performance.now() < deadline && this.#isStarting(agentId)) {
      await new Promise((resolve) => setTimeout(resolve, SERVE_START_POLL_MS));
      outcome = session.serveInference(agentId);
    }
    return outcome;
  }

  #isStarting(agentId: AgentId): boolean {
    return this.#view(agentId)?.phase === 'starting';
  }

  /** The agent's view, or null when the session does not know it (any more). */
  #view(agentId: AgentId): ReturnType<MarketSession['agent']> | null {
    try {
      return this.#options.session.agent(agentId);
    } catch {
      return null;
    }
  }

  /** Loads the reference model and measures its profile on this machine, once. */
  #loadReference(): Promise<Reference> {
    this.#reference ??= (async (): Promise<Reference> => {
      const { TinyGpt: Model } = await import('../inference/model.js');
      const { calibrateProfile, timingSignature } = await import('../inference/commitments.js');
      const { LayeredVerifier: Verifier } = await import('../inference/layers.js');
      const config = this.#options.config;
      const model = await Model.load(config.model);
      const corpus = modelsDescription().corpus;
      const samples = [];
      await model.generate(model.encode(corpus.slice(0, 32)), 4, { spot: true }); // warm-up, not counted
      for (let i = 0; i < config.calibrationRequests; i++) {
        const at = (i * 97) % Math.max(1, corpus.length - 48);
        const cpu = process.cpuUsage();
        const run = await model.generate(model.encode(corpus.slice(at, at + 24)), CALIBRATION_TOKENS, { spot: true });
        const used = process.cpuUsage(cpu);
        samples.push({ signature: timingSignature(run.prefillMs, run.decodeMs), cpuSecondsPerToken: (used.user + used.system) / 1e6 / CALIBRATION_TOKENS });
      }
      const calibrated = calibrateProfile(model.name, samples, { lowFactor: 0.5, highFactor: config.timingSlack });
      // Token frames that arrive in one read get one timestamp: single gaps seen over the socket can be ~0
      // for an honest agent (seen here: an honest p90 gap of 0.09 ms against 0.10 ms), so the p90 gap has
      // no lower bound; the mean gap keeps its bound (coalescing does not shorten the decode as a whole).
      const profile = { ...calibrated, decodeP90Ms: { lo: 0, hi: calibrated.decodeP90Ms.hi } };
      this.#profileNote = `MEASURED here at start: ${String(samples.length)} requests of ${String(CALIBRATION_TOKENS)} tokens on the reference model, in the daemon's process; bounds [0.5 × p5, ${String(config.timingSlack)} × p99] (no lower bound on the p90 gap between tokens)`;
      const spotCheckFromMicroJ = toMicroJ(config.spotCheckFromJ);
      return {
        model,
        profile,
        createVerifier: (agentId, stakeMicroJ) => Verifier.create(model, profile, { spotCheckFromMicroJ, auditProbability: 0, stakeMicroJ, seed: randomInt(2 ** 31) }, agentId),
      };
    })();
    this.#reference.catch(() => { this.#reference = null; });
    return this.#reference;
  }

  /** Serves one request on a staked agent, judges the answer, and settles it. */
  async request(ask: InferenceAsk): Promise<InferenceAnswer> {
    const reference = await this.#loadReference();
    const config = this.#options.config;
    const prompt = typeof ask.prompt === 'string' ? reference.model.encode(ask.prompt) : [...ask.prompt];
    const vocab = reference.model.entry.vocab;
    if (prompt.length === 0 || prompt.length > 4096) throw new InvalidArgumentError(`a prompt has 1–4096 tokens, got ${String(prompt.length)}`);
    for (const t of prompt) if (!Number.isInteger(t) || t < 0 || t >= vocab) throw new InvalidArgumentError(`token ${String(t)} is outside the vocabulary [0, ${String(vocab)})`);
    const maxNewTokens = ask.maxNewTokens ?? 16;
    if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1 || maxNewTokens > config.maxNewTokens) throw new InvalidArgumentError(`maxNewTokens must be 1–${String(config.maxNewTokens)} (inference.maxNewTokens), got ${String(maxNewTokens)}`);
    const bidJ = ask.bidJ ?? 0;
    if (!(bidJ >= 0 && bidJ <= 1e9)) throw new InvalidArgumentError(`bidJ must be 0–1e9, got ${String(bidJ)}`);
    const agentId = this.#pickServer(ask.agentId);
    const waiting = this.#waiting.get(agentId) ?? 0;
    if (waiting >= MAX_QUEUED_PER_AGENT) throw new InferenceNoServerError(`agent ${agentId} has ${String(waiting)} requests waiting (at most ${String(MAX_QUEUED_PER_AGENT)}): try again later or spawn another server`);
    this.#waiting.set(agentId, waiting + 1);
    const turn = (this.#queues.get(agentId) ?? Promise.resolve()).then(() => this.#serveOn(agentId, reference, { id: this.#nextRequestId++, prompt, maxNewTokens, bidMicroJ: toMicroJ(bidJ) }));
    const done: Promise<void> = turn.catch(() => undefined).then(() => {
      const left = (this.#waiting.get(agentId) ?? 1) - 1;
      if (left <= 0) this.#waiting.delete(agentId);
      else this.#waiting.set(agentId, left);
      if (this.#queues.get(agentId) === done) this.#queues.delete(agentId);
    });
    this.#queues.set(agentId, done);
    return turn;
  }

  #pickServer(wanted: string | undefined): AgentId {
    const session = this.#options.session;
    const servers = session.inferenceServers();
    if (wanted !== undefined) {
      // A server is an AgentId the session holds; the caller's string becomes one only by matching it.
      const server = servers.find((s) => s === wanted);
      if (server === undefined) throw new InferenceNoServerError(`agent ${wanted} does not serve inference (it needs a stake and a \`serve\` for the reference model; servers now: ${servers.join(', ') || 'none'})`);
      return server;
    }
    if (servers.length === 0) throw new InferenceNoServerError('no agent serves inference: spawn one with a stake, e.g. maxwell agent spawn --stake 10 --claims inference -- node dist/src/agents/gpt-server.js');
    const load = (id: AgentId): number => (session.agent(id).phase === 'running' ? 0 : 1000) + (session.agent(id).inference?.inFlight ?? 0);
    return [...servers].sort((a, b) => load(a) - load(b))[0] as AgentId;
  }

  async #serveOn(agentId: AgentId, reference: Reference, request: InferenceRequest): Promise<InferenceAnswer> {
    const { session, config } = { session: this.#options.session, config: this.#options.config };
    if (!session.inferenceServers().includes(agentId)) throw new InferenceNoServerError(`agent ${agentId} stopped serving before its turn`);
    const stake = session.stakeOf(agentId);
    let verifier = this.#verifiers.get(agentId);
    if (verifier === undefined) {
      verifier = reference.createVerifier(agentId, stake);
      this.#verifiers.set(agentId, verifier);
    }
    const exchange: Exchange = { requestId: request.id, openedAt: performance.now(), maxNewTokens: request.maxNewTokens, tokenTimes: [], claim: null, reveals: new Map(), wanted: [], wake: null, gone: false };
    this.#exchanges.set(agentId, exchange);
    session.inferenceSent(agentId);
    this.#requests++;
    const incomeMicroJ = toMicroJ(config.pricePerTokenJ) * BigInt(request.maxNewTokens);
    const judge = (judgement: Parameters<MarketSession['judgeInference']>[1]): ReturnType<MarketSession['judgeInference']> => session.judgeInference(agentId, judgement);
    try {
      const cpuBefore = await this.#options.usage(agentId).catch(() => null);
      const sentAt = performance.now();
      this.#options.send(agentId, { type: 'infer', requestId: request.id, prompt: request.prompt, maxNewTokens: request.maxNewTokens });
      const answered = await this.#until(exchange, () => exchange.claim !== null);
      if (!answered) {
        const why = exchange.gone ? 'ended before it answered' : `no claim within ${String(config.requestTimeoutMs)} ms`;
        this.#settleUnpaid(agentId, request.id, why, judge);
        throw exchange.gone ? new InferenceAgentGoneError(`agent ${agentId} ${why} (request ${String(request.id)})`) : new InferenceTimeoutError(`agent ${agentId}: ${why} (request ${String(request.id)}); it is unpaid and suspect`);
      }
      const cpuAfter = await this.#options.usage(agentId).catch(() => null);
      const claim = toClaim(exchange.claim as ClaimMessage, vocabOf(reference));
      const times = exchange.tokenTimes;
      const observed: Observation = {
        prefillMs: (times[0] ?? performance.now()) - sentAt,
        decodeMs: times.slice(1).map((t, i) => t - (times[i] ?? t)),
        cpuSeconds: cpuBefore === null || cpuAfter === null ? Number.NaN : Math.max(0, cpuAfter.cpuS - cpuBefore.cpuS),
      };
      const served: ServedClaim = { claim, reveal: (names) => this.#reveal(agentId, exchange, names) };
      const auditProbability = stake > 0n ? Math.min(1, ((config.auditSafety * Number(incomeMicroJ)) / Number(stake)) * session.auditMultiplier(agentId)) : 1;
      const verdict = await (await verifier).verify(request, served, observed, { auditProbability });
      for (const layer of verdict.layers) this.#verifierCpuS += layer.cpuMs / 1000;
      const suspicions = verdict.layers.filter((l) => l.ran && !l.passed && !l.evidence).flatMap((l) => l.reasons.map((r) => `layer ${String(l.layer)}: ${r}`));
      const l2 = verdict.layers.find((l) => l.layer === 2);
      if (l2 !== undefined && !l2.passed && l2.evidence) suspicions.push(...l2.reasons.filter((r) => r.startsWith('timing:')).map((r) => `layer 2: ${r}`));
      const trace = session.agent(agentId).verification;
      if (trace?.flagged === true) suspicions.push(`layer 1: its activity trace looks like ${trace.observed ?? 'something else'}, not the ${trace.claims} it claims (trace classifier)`);
      const evidence = verdict.slash === null ? null : { layer: verdict.slash.layer, reason: verdict.slash.reason };
      const settled = judge({ requestId: request.id, tokens: claim.tokens.length, incomeMicroJ, evidence, suspicions });
      if (settled.outcome === 'slashed') this.#slashes++;
      this.#options.send(agentId, { type: 'verdict', requestId: request.id, outcome: settled.outcome, incomeJ: toJoules(settled.incomeMicroJ), failedLayers: verdict.failed });
      const decode = observed.decodeMs;
      return {
        requestId: request.id,
        agentId,
        tokens: claim.tokens,
        text: reference.model.decode(claim.tokens),
        outcome: settled.outcome,
        incomeJ: toJoules(settled.incomeMicroJ),
        slashedJ: toJoules(settled.slashedMicroJ),
        auditProbability,
        layers: verdict.layers,
        observed: {
          prefillMs: observed.prefillMs,
          decodeMeanMs: decode.length === 0 ? Number.NaN : decode.reduce((a, b) => a + b, 0) / decode.length,
          cpuMsPerToken: (observed.cpuSeconds * 1000) / request.maxNewTokens,
          cpuSource: cpuAfter?.cpuSource ?? 'unavailable',
        },
      };
    } catch (err) {
      if (err instanceof RevealTimeout) {
        this.#settleUnpaid(agentId, request.id, `layer 3: ${err.message}`, judge);
        throw new InferenceTimeoutError(`agent ${agentId}: ${err.message} (request ${String(request.id)}); it is unpaid and suspect`);
      }
      // A verifier failure (not the agent's fault) must not leave the request pending: it is unpaid.
      if (!isSettledError(err)) {
        judge({ requestId: request.id, tokens: 0, incomeMicroJ: 0n, evidence: null, suspicions: [], unpaid: true });
      }
      throw toError(err);
    } finally {
      this.#close(agentId, exchange);
    }
  }

  #close(agentId: AgentId, exchange: Exchange): void {
    if (this.#exchanges.get(agentId) !== exchange) return;
    this.#exchanges.delete(agentId);
    // An agent that ended meanwhile was forgotten: nothing of it is kept.
    if (!exchange.gone) this.#lastClosed.set(agentId, { openedAt: exchange.openedAt, closedAt: performance.now() });
  }

  /** Milliseconds of [sinceMs, nowMs] (performance.now() times) during which a request was open on this agent. */
  openMs(agentId: AgentId, sinceMs: number, nowMs: number): number {
    let ms = 0;
    const open = this.#exchanges.get(agentId);
    if (open !== undefined) ms += nowMs - Math.max(open.openedAt, sinceMs);
    const last = this.#lastClosed.get(agentId);
    if (last !== undefined && last.closedAt > sinceMs) ms += Math.min(last.closedAt, nowMs) - Math.max(last.openedAt, sinceMs);
    return Math.min(Math.max(0, ms), Math.max(0, nowMs - sinceMs));
  }

  /** A request the agent did not answer in time, or left: unpaid, suspect, and the agent told so. */
  #settleUnpaid(agentId: AgentId, requestId: number, why: string, judge: (judgement: InferenceJudgement) => unknown): void {
    judge({ requestId, tokens: 0, incomeMicroJ: 0n, evidence: null, suspicions: [why], unpaid: true });
    this.#options.send(agentId, { type: 'verdict', requestId, outcome: 'unpaid', incomeJ: 0, failedLayers: [] });
  }

  /** Layer 3's opening: a `challenge`, then the agent's `reveal`s (what has not come in time is not opened). */
  async #reveal(agentId: AgentId, exchange: Exchange, names: readonly string[]): Promise<ReadonlyMap<string, Matrix>> {
    exchange.wanted = names;
    this.#options.send(agentId, { type: 'challenge', requestId: exchange.requestId, names });
    const complete = await this.#until(exchange, () => names.every((n) => exchange.reveals.has(n)));
    // Silence is not proof of cheating: an agent frozen by the market (outbid, an emergency pause)
    // cannot answer. Unpaid and suspect instead (its audit rate rises); a wrong opening is evidence.
    if (!complete && !exchange.gone) throw new RevealTimeout(`no opening of ${String(names.filter((n) => !exchange.reveals.has(n)).length)} of ${String(names.length)} challenged tensors within ${String(this.#options.config.requestTimeoutMs)} ms`);
    const opened = new Map<string, Matrix>();
    for (const [name, r] of exchange.reveals) {
      const data = base64ToFloat32(r.data);
      if (r.rows === 0 || data?.length !== r.rows * r.cols) continue;
      opened.set(name, { rows: r.rows, cols: r.cols, data });
    }
    return opened;
  }

  /** Waits until `done()`, the agent is gone, or the request's time is up; true when done. */
  async #until(exchange: Exchange, done: () => boolean): Promise<boolean> {
    const deadline = performance.now() + this.#options.config.requestTimeoutMs;
    while (!done() && !exchange.gone) {
      const left = deadline - performance.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        exchange.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      exchange.wake = null;
    }
    return done();
  }
}

/** Requests one agent may have waiting or in service; more are refused (MXW_ERR_INFERENCE_NO_SERVER). */
const MAX_QUEUED_PER_AGENT = 16;

/** The agent did not open what layer 3 challenged in time (settled as unpaid and suspect, not slashed). */
class RevealTimeout extends Error {}

function isSettledError(err: unknown): boolean {
  return err instanceof InferenceTimeoutError || err instanceof InferenceAgentGoneError;
}

function vocabOf(reference: Reference): number {
  return reference.model.entry.vocab;
}

/** The wire claim as the verifier's claim: logits split into rows of `vocab` (a malformed claim fails layer 2). */
function toClaim(message: ClaimMessage, vocab: number): InferenceClaim {
  const all = base64ToFloat32(message.logits) ?? new Float32Array(0);
  const rows: Float32Array[] = [];
  for (let at = 0; at < all.length; at += vocab) rows.push(all.subarray(at, Math.min(all.length, at + vocab)));
  return { requestId: message.requestId, modelSha256: message.modelSha256, inputCommitment: message.inputCommitment, tokens: message.tokens, logits: rows, outputCommitment: message.outputCommitment, spotCommitments: message.spotCommitments };
}
