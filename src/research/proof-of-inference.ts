/**
 * Research question 9: a layered proof of inference on a real model (docs/VERIFICATION.md). The tiny
 * transformer of models/ runs in onnxruntime-node on this machine's CPU; an honest agent and six
 * cheaters serve the same seeded requests; the layered verifier checks every claim with every
 * layer (so that each layer's detection rate is measured), and the deployed policy (layer 3 above
 * a bid threshold, layer 4 with probability p) is then replayed over those outcomes to say after
 * how many requests each cheater is flagged and slashed. Everything here is MEASURED on this
 * machine except the audit economics (prices and stakes are chosen numbers: MODELLED).
 */
import { SeededRandom } from '../internal/seeded-random.js';
import { InvalidArgumentError } from '../errors.js';
import { auditEconomics, type AuditEconomics } from '../verification/inference/audit.js';
import { CHEATERS, createAgent, HonestAgent, serveObserved, type AgentKind, type Pace } from '../verification/inference/agents.js';
import type { InferenceRequest } from '../verification/inference/claim.js';
import { calibrateProfile, commitOutput, quantile, timingSignature, type InferenceProfile } from '../verification/inference/commitments.js';
import { DEFAULT_TOLERANCE, DEFAULT_VECTORS, freivalds, freivaldsResidual } from '../verification/inference/freivalds.js';
import { LayeredVerifier, type LayerNumber, type Verdict, type VerifierPolicy } from '../verification/inference/layers.js';
import { modelsDescription, TinyGpt, type Matrix } from '../verification/inference/model.js';
import { describeMachine, type MachineDescription } from './machine.js';

export interface PoiOptions {
  readonly quick?: boolean;
  /** Requests per agent. @default 150 (quick 10) */
  readonly requests?: number;
  readonly seed?: number;
  readonly onProgress?: (done: number, total: number, label: string) => void;
}

export interface LayerStats {
  /** Share of the agent's cheated requests (honest: of all requests) on which the layer failed when run. */
  readonly rate: number;
  /** First request (1-based) on which it failed; null if never. */
  readonly first: number | null;
}

export interface AgentRow {
  readonly agent: AgentKind;
  readonly requests: number;
  readonly cheated: number;
  readonly layers: Readonly<Record<LayerNumber, LayerStats>>;
  /** Under the deployed policy (Monte Carlo over its draws): mean requests until flagged by any layer / until slashed; share never flagged / slashed within the run. */
  readonly deployed: { readonly meanToFlag: number | null; readonly neverFlagged: number; readonly meanToSlash: number | null; readonly neverSlashed: number };
  /** The first reason each layer gave, as an example. */
  readonly examples: Readonly<Partial<Record<LayerNumber, string>>>;
}

export interface PoiReport {
  readonly provenance: { readonly kind: 'measured'; readonly source: string; readonly economics: 'modelled' };
  readonly machine: MachineDescription;
  readonly model: { readonly file: string; readonly parameters: number; readonly bytes: number; readonly sha256: string; readonly training: string; readonly measuredLoss: number; readonly uniformLoss: number };
  readonly seed: number;
  readonly tokensPerRequest: number;
  readonly requestsPerAgent: number;
  readonly profile: InferenceProfile;
  readonly freivalds: { readonly vectors: number; readonly tolerance: number; readonly maxHonestResidual: number; readonly honestChecks: number; readonly perturbation: readonly { readonly relative: number; readonly caught: number; readonly trials: number }[] };
  readonly reproducibility: readonly { readonly config: string; readonly requests: number; readonly floatsIdentical: number; readonly commitmentsIdentical: number }[];
  readonly economics: AuditEconomics & { readonly pricePerTokenMicroJ: bigint };
  readonly policy: { readonly spotCheckFromMicroJ: bigint; readonly spotShare: number; readonly auditProbability: number };
  readonly agents: readonly AgentRow[];
  readonly overheads: {
    readonly requests: number;
    readonly inferenceCpuMs: number;
    readonly proverExtraCpuMs: number;
    readonly layerCpuMs: Readonly<Record<LayerNumber, number>>;
    readonly layers12: number;
    readonly deployedTotal: number;
  };
  readonly findings: readonly string[];
}

const TOKENS = 16;
export const PRICE_PER_TOKEN_MICRO_J = 10_000n;
export const STAKE_MICRO_J = 16_000_000n;

/** Seeded prompts from the corpus: one of 24 word ends, 8–28 symbols long (so that suffixes repeat with different prefixes). */
function makeRequests(model: TinyGpt, corpus: string, count: number, seed: number, firstId: number, threshold: bigint): InferenceRequest[] {
  const rng = new SeededRandom(seed);
  const ends: number[] = [];
  for (let i = 30; i < corpus.length; i++) if (corpus[i] === ' ' && corpus[i - 1] !== ',') ends.push(i);
  const pool = Array.from({ length: 24 }, () => ends[Math.floor(rng.uniform() * ends.length)] ?? 40);
  return Array.from({ length: count }, (_, k) => {
    const end = pool[Math.floor(rng.uniform() * pool.length)] ?? 40;
    const len = 8 + Math.floor(rng.uniform() * 21);
    const high = rng.uniform() < 0.5;
    return { id: firstId + k, prompt: model.encode(corpus.slice(end - len, end)), maxNewTokens: TOKENS, bidMicroJ: high ? threshold * 2n : threshold / 2n };
  });
}

function layerFailed(v: Verdict, layer: LayerNumber, evidenceOnly = false): boolean {
  const l = v.layers.find((x) => x.layer === layer);
  return l !== undefined && l.ran && !l.passed && (!evidenceOnly || l.evidence);
}

/** The deployed policy replayed over forced outcomes: mean first request flagged / slashed over `draws` audit draws. */
function deployed(verdicts: readonly Verdict[], requests: readonly InferenceRequest[], threshold: bigint, p: number, seed: number, draws = 2000): AgentRow['deployed'] {
  const rng = new SeededRandom(seed);
  let flagSum = 0;
  let flagN = 0;
  let slashSum = 0;
  let slashN = 0;
  for (let d = 0; d < draws; d++) {
    let flagged = 0;
    let slashed = 0;
    verdicts.forEach((v, i) => {
      const spot = (requests[i]?.bidMicroJ ?? 0n) >= threshold;
      const audited = rng.uniform() < p;
      const any = layerFailed(v, 1) || layerFailed(v, 2) || (spot && layerFailed(v, 3)) || (audited && layerFailed(v, 4));
      const proof = layerFailed(v, 2, true) || (spot && layerFailed(v, 3)) || (audited && layerFailed(v, 4));
      if (flagged === 0 && any) flagged = i + 1;
      if (slashed === 0 && proof) slashed = i + 1;
    });
    if (flagged > 0) { flagSum += flagged; flagN++; }
    if (slashed > 0) { slashSum += slashed; slashN++; }
  }
  return { meanToFlag: flagN > 0 ? flagSum / flagN : null, neverFlagged: 1 - flagN / draws, meanToSlash: slashN > 0 ? slashSum / slashN : null, neverSlashed: 1 - slashN / draws };
}

async function measureReproducibility(reference: TinyGpt, requests: readonly InferenceRequest[]): Promise<PoiReport['reproducibility']> {
  const base = [];
  for (const r of requests) base.push(await reference.generate(r.prompt, r.maxNewTokens));
  const rows: { config: string; requests: number; floatsIdentical: number; commitmentsIdentical: number }[] = [];
  for (const [config, options] of [['a second session, same configuration', {}], ['2 intra-op threads', { threads: 2 }], ['graph optimisation disabled', { optimise: false }]] as const) {
    const other = await TinyGpt.load(reference.name, options);
    let floats = 0;
    let commits = 0;
    for (const [i, r] of requests.entries()) {
      const a = base[i];
      const b = await other.generate(r.prompt, r.maxNewTokens);
      if (a === undefined) continue;
      if (a.logits.every((row, k) => { const o = b.logits[k]; return o !== undefined && row.every((v, j) => Object.is(v, o[j])); })) floats++;
      if (commitOutput(a.tokens, a.logits) === commitOutput(b.tokens, b.logits)) commits++;
    }
    await other.release();
    rows.push({ config, requests: requests.length, floatsIdentical: floats, commitmentsIdentical: commits });
  }
  return rows;
}

function measureFreivalds(spots: readonly ReadonlyMap<string, Matrix>[], weights: ReadonlyMap<string, Matrix>, reference: TinyGpt, seed: number): PoiReport['freivalds'] {
  const rng = new SeededRandom(seed);
  let worst = 0;
  let checks = 0;
  const r = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => (rng.uniform() < 0.5 ? 1 : 0));
  for (const spot of spots) {
    for (const p of reference.entry.checkedProducts) {
      const a = spot.get(p.a);
      const c = spot.get(p.c);
      const w = weights.get(p.b);
      if (a === undefined || c === undefined || w === undefined) continue;
      for (let k = 0; k < 32; k++) {
        worst = Math.max(worst, freivaldsResidual(a, w, c, r(w.cols)));
        checks++;
      }
    }
  }
  // One entry of C changed by `relative` × the row's largest |entry|: how often k vectors catch it.
  const perturbation = [1e-4, 1e-3, 1e-2, 1e-1, 1].map((relative) => {
    let caught = 0;
    let trials = 0;
    for (const spot of spots) {
      const p = reference.entry.checkedProducts[trials % reference.entry.checkedProducts.length];
      const a = p === undefined ? undefined : spot.get(p.a);
      const c = p === undefined ? undefined : spot.get(p.c);
      const w = p === undefined ? undefined : weights.get(p.b);
      if (a === undefined || c === undefined || w === undefined) continue;
      const data = c.data.slice();
      const idx = Math.floor(rng.uniform() * data.length);
      const row = Math.floor(idx / c.cols);
      const scale = Math.max(...Array.from(data.subarray(row * c.cols, (row + 1) * c.cols), Math.abs));
      data[idx] = (data[idx] ?? 0) + relative * scale;
      trials++;
      if (!freivalds(a, w, { ...c, data }, { rng }).accepted) caught++;
    }
    return { relative, caught, trials };
  });
  return { vectors: DEFAULT_VECTORS, tolerance: DEFAULT_TOLERANCE, maxHonestResidual: worst, honestChecks: checks, perturbation };
}

export async function runProofOfInferenceResearch(options: PoiOptions = {}): Promise<PoiReport> {
  const quick = options.quick === true;
  const perAgent = options.requests ?? (quick ? 10 : 150);
  if (!Number.isInteger(perAgent) || perAgent < 2) throw new InvalidArgumentError(`requests must be an integer ≥ 2, got ${String(perAgent)}`);
  const seed = options.seed ?? 1;
  const kinds: AgentKind[] = ['honest', ...CHEATERS];
  const total = 4 + kinds.length;
  let step = 0;
  const progress = (label: string): void => options.onProgress?.(++step, total, label);
  const described = modelsDescription();
  const reference = await TinyGpt.load();
  try {
    const economics = { ...auditEconomics({ pricePerTokenMicroJ: PRICE_PER_TOKEN_MICRO_J, tokensPerRequest: TOKENS, stakeMicroJ: STAKE_MICRO_J }), pricePerTokenMicroJ: PRICE_PER_TOKEN_MICRO_J };
    const threshold = PRICE_PER_TOKEN_MICRO_J * BigInt(TOKENS);
    const corpus = described.corpus;

    progress('calibration: honest requests → the profile');
    const honest = new HonestAgent(reference);
    const calibration = makeRequests(reference, corpus, quick ? 8 : 40, seed + 100, 0, threshold);
    for (const r of calibration.slice(0, 3)) await serveObserved(honest, r); // warm up
    const samples = [];
    const spots: ReadonlyMap<string, Matrix>[] = [];
    for (const r of calibration) {
      const { served, observed } = await serveObserved(honest, r);
      samples.push({ signature: timingSignature(observed.prefillMs, observed.decodeMs), cpuSecondsPerToken: observed.cpuSeconds / r.maxNewTokens });
      spots.push(await served.reveal(reference.entry.checkedProducts.flatMap((p) => [p.a, p.c])));
    }
    const profile = calibrateProfile(reference.name, samples, { lowFactor: 0.5 });
    const pace: Pace = { prefillMs: profile.median.prefillMs, decodeMs: profile.median.decodeMeanMs };

    progress('Freivalds: honest residuals and perturbations');
    const weights = await reference.weights();
    const freivaldsReport = measureFreivalds(spots, weights, reference, seed + 200);

    progress('reproducibility: sessions and runtime configurations');
    const reproducibility = await measureReproducibility(reference, calibration.slice(0, quick ? 3 : 10));

    const requests = makeRequests(reference, corpus, perAgent, seed, 1000, threshold);
    const policy: VerifierPolicy = { spotCheckFromMicroJ: threshold, auditProbability: economics.auditProbability, forceAll: true, stakeMicroJ: STAKE_MICRO_J, seed: seed + 300 };
    const agents: AgentRow[] = [];
    for (const kind of kinds) {
      progress(`agent ${kind}: ${String(perAgent)} requests, every layer`);
      const agent = await createAgent(kind, reference, pace, seed + 400);
      const verifier = await LayeredVerifier.create(reference, profile, policy, `poi-${kind}`);
      const verdicts: Verdict[] = [];
      const cheated: boolean[] = [];
      for (const r of requests) {
        const { served, observed } = await serveObserved(agent, r);
        cheated.push(agent.cheatedLast === true);
        verdicts.push(await verifier.verify(r, served, observed));
      }
      await agent.release();
      const pool = verdicts.filter((_, i) => kind === 'honest' || cheated[i] === true);
      const stats = (layer: LayerNumber): LayerStats => {
        const failedAt = verdicts.findIndex((v) => layerFailed(v, layer));
        return { rate: pool.length === 0 ? Number.NaN : pool.filter((v) => layerFailed(v, layer)).length / pool.length, first: failedAt < 0 ? null : failedAt + 1 };
      };
      const examples: Partial<Record<LayerNumber, string>> = {};
      for (const v of verdicts) for (const l of v.layers) if (l.ran && !l.passed) examples[l.layer] ??= l.reasons[0] ?? '';
      agents.push({
        agent: kind,
        requests: requests.length,
        cheated: cheated.filter(Boolean).length,
        layers: { 1: stats(1), 2: stats(2), 3: stats(3), 4: stats(4) },
        deployed: deployed(verdicts, requests, threshold, economics.auditProbability, seed + 500),
        examples,
      });
    }

    progress('overheads on honest inference (CPU time)');
    const overheads = await measureOverheads(reference, profile, policy, makeRequests(reference, corpus, quick ? 20 : 200, seed + 600, 5000, threshold));
    const spotShare = requests.filter((r) => r.bidMicroJ >= threshold).length / requests.length;
    const report: Omit<PoiReport, 'findings'> = {
      provenance: { kind: 'measured', source: 'this machine (onnxruntime-node on the CPU)', economics: 'modelled' },
      machine: describeMachine(),
      model: { file: reference.name, parameters: reference.entry.parameters, bytes: reference.entry.bytes, sha256: reference.entry.sha256, training: described.training, measuredLoss: reference.entry.measuredLoss, uniformLoss: described.uniformLoss },
      seed,
      tokensPerRequest: TOKENS,
      requestsPerAgent: perAgent,
      profile,
      freivalds: freivaldsReport,
      reproducibility,
      economics,
      policy: { spotCheckFromMicroJ: threshold, spotShare, auditProbability: economics.auditProbability },
      agents,
      overheads: { ...overheads, deployedTotal: (overheads.layerCpuMs[1] + overheads.layerCpuMs[2] + overheads.proverExtraCpuMs + spotShare * overheads.layerCpuMs[3] + economics.auditProbability * overheads.layerCpuMs[4]) / overheads.inferenceCpuMs },
    };
    return { ...report, findings: findings(report) };
  } finally {
    await reference.release();
  }
}

/** CPU per request: plain inference, the honest agent's extra (spot tensors + commitments), and each verifier layer. */
async function measureOverheads(reference: TinyGpt, profile: InferenceProfile, policy: VerifierPolicy, requests: readonly InferenceRequest[]): Promise<Omit<PoiReport['overheads'], 'deployedTotal'>> {
  const honest = new HonestAgent(reference);
  const verifier = await LayeredVerifier.create(reference, profile, policy, 'poi-overhead');
  const cpuMs = (start: NodeJS.CpuUsage): number => { const d = process.cpuUsage(start); return (d.user + d.system) / 1000; };
  const inference: number[] = [];
  const extra: number[] = [];
  const layer: Record<LayerNumber, number[]> = { 1: [], 2: [], 3: [], 4: [] };
  for (const [i, r] of requests.entries()) {
    // Paired per request, the order alternating, so that drift in the machine's load falls on both sides alike.
    let plainMs = 0;
    let servedMs = 0;
    const plain = async (): Promise<void> => { const s = process.cpuUsage(); await reference.generate(r.prompt, r.maxNewTokens); plainMs = cpuMs(s); };
    const agent = async (): Promise<Awaited<ReturnType<typeof serveObserved>>> => { const s = process.cpuUsage(); const o = await serveObserved(honest, r); servedMs = cpuMs(s); return o; };
    let result;
    if (i % 2 === 0) { await plain(); result = await agent(); } else { result = await agent(); await plain(); }
    inference.push(plainMs);
    extra.push(servedMs - plainMs);
    const v = await verifier.verify(r, result.served, result.observed);
    for (const l of v.layers) layer[l.layer].push(l.cpuMs);
  }
  // Medians: a shared 2-core machine stalls single requests (GC, other work); the median is what a request costs.
  const med = (x: number[]): number => quantile(x, 0.5);
  const base = med(inference);
  const layerCpuMs = { 1: med(layer[1]), 2: med(layer[2]), 3: med(layer[3]), 4: med(layer[4]) };
  return {
    requests: requests.length,
    inferenceCpuMs: base,
    proverExtraCpuMs: med(extra),
    layerCpuMs,
    layers12: (med(extra) + layerCpuMs[1] + layerCpuMs[2]) / base,
  };
}

const pct = (v: number): string => `${(100 * v).toFixed(1)} %`;

function findings(r: Omit<PoiReport, 'findings'>): string[] {
  const out: string[] = [];
  const o = r.overheads;
  out.push(`layers 1–2 cost ${pct(o.layers12)} of honest inference's CPU (goal < 10 %: ${o.layers12 < 0.1 ? 'met' : 'NOT met'}); the deployed policy in all ${pct(o.deployedTotal)} (layer 3 on ${pct(r.policy.spotShare)} of requests, layer 4 with p = ${r.policy.auditProbability.toFixed(3)})`);
  const honest = r.agents.find((a) => a.agent === 'honest');
  if (honest !== undefined) out.push(`honest agent: false flags layer 1 ${pct(honest.layers[1].rate)}, layer 2 ${pct(honest.layers[2].rate)}, layer 3 ${pct(honest.layers[3].rate)}, layer 4 ${pct(honest.layers[4].rate)} of ${String(honest.requests)} requests`);
  for (const a of r.agents) {
    if (a.agent === 'honest') continue;
    const caughtBy = ([1, 2, 3, 4] as const).filter((l) => a.layers[l].rate > 0).map((l) => `L${String(l)} ${pct(a.layers[l].rate)}`);
    out.push(`${a.agent}: ${caughtBy.length === 0 ? 'caught by NO layer' : `caught by ${caughtBy.join(', ')}`} of ${String(a.cheated)} cheated requests; deployed: flagged after ${a.deployed.meanToFlag?.toFixed(1) ?? 'never'} requests, slashed after ${a.deployed.meanToSlash?.toFixed(1) ?? 'never'} (never slashed in ${pct(a.deployed.neverSlashed)} of draws)`);
  }
  const repro = r.reproducibility.map((x) => `${x.config}: ${String(x.commitmentsIdentical)}/${String(x.requests)} commitments, ${String(x.floatsIdentical)}/${String(x.requests)} floats identical`);
  out.push(`reproducibility — ${repro.join('; ')}`);
  out.push(`Freivalds: largest honest residual ${r.freivalds.maxHonestResidual.toExponential(2)} in ${String(r.freivalds.honestChecks)} checks; tolerance ${r.freivalds.tolerance.toExponential(0)} (margin ${(r.freivalds.tolerance / Math.max(r.freivalds.maxHonestResidual, Number.MIN_VALUE)).toFixed(0)}×)`);
  return out;
}
