/**
 * Claim verification measured where users meet it: real agents spawned with claims into a real
 * daemon (cgroups, the 100 Hz auction, more agents than cores, so the market freezes and thaws
 * them), judged by the daemon's own claim verifier. Used twice by `maxwell research
 * verification`: once with honest agents only, to calibrate the inference timeline; then, with the
 * claim model made from that, on fresh honest agents and on cheats none of it was built from.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseAgentId } from '../agent-id.js';
import { loadConfig } from '../config/load.js';
import { assembleDaemon } from '../daemon/components.js';
import type { JudgedWindow } from '../verification/service/claim-verifier.js';
import type { ClaimModel } from '../verification/trace/claim-model.js';
import type { WorkClass } from '../verification/trace/classes.js';

export interface ClaimAgentSpec {
  /** Short id in the daemon (a-z, 0-9, -). */
  readonly id: string;
  readonly name: string;
  readonly honest: boolean;
  readonly claims: WorkClass;
  readonly command: string;
  readonly args: readonly string[];
  /** Staked (the reference-model server: it needs a stake to serve). */
  readonly stakeJ?: number;
}

export interface ClaimAgentResult {
  readonly id: string;
  readonly name: string;
  readonly honest: boolean;
  readonly claims: WorkClass;
  readonly windows: number;
  readonly inconsistent: number;
  readonly flagged: boolean;
  /** Wall seconds from its spawn to its first flag; null when never flagged. */
  readonly secondsToFlag: number | null;
  /** Windows per deciding check, e.g. { timeline: 12, 'idle-busy': 3 }. */
  readonly checks: Readonly<Record<string, number>>;
  /** The share of a core it was sold over the batch (quanta won × 10 ms ÷ seconds). */
  readonly runShare: number;
  /** Why it could not be judged (it did not start, or it died), else null. */
  readonly failure: string | null;
}

export interface DaemonBatchOptions {
  readonly agents: readonly ClaimAgentSpec[];
  readonly seconds: number;
  readonly model: ClaimModel | null;
  readonly tag: string;
  readonly onWindow?: (spec: ClaimAgentSpec, window: JudgedWindow) => void;
  readonly onPassiveFeatures?: (spec: ClaimAgentSpec, features: Float64Array) => void;
  readonly onTick?: (elapsedS: number) => void;
}

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const AGENT = (name: string): string => fileURLToPath(new URL(`../agents/${name}.js`, import.meta.url));
const node = process.execPath;
/** A quantum is one core for one 10 ms tick. */
const QUANTUM_S = 0.01;

/** The honest agents: the shipped inference agent, the tiny GPT (staked), and a pure-Python server written apart from both. */
export function honestServers(seed: number): ClaimAgentSpec[] {
  return [
    { id: `honest-int-${String(seed)}`, name: 'inference.js (the shipped agent: integer model, Node)', honest: true, claims: 'inference', command: node, args: [AGENT('inference'), '--width', '512', '--seed', String(seed)] },
    { id: `honest-gpt-${String(seed)}`, name: 'gpt-server.js (the tiny GPT in onnxruntime, staked)', honest: true, claims: 'inference', command: node, args: [AGENT('gpt-server'), '--seed', String(seed)], stakeJ: 10 },
    { id: `honest-py-${String(seed)}`, name: 'py_inference_server.py (a recurrent model in pure Python)', honest: true, claims: 'inference', command: 'python3', args: [join(REPO, 'examples/agents/py_inference_server.py'), '--seed', String(seed)] },
  ];
}

/** Cheats that claim inference, none of them in any reference or calibration: bare programs, and the same behind a protocol-speaking shim. */
export function cheats(recording: string | null): ClaimAgentSpec[] {
  const shim = join(REPO, 'examples/cheats/serve_shim.py');
  const miner = join(REPO, 'examples/cheats/token_miner.py');
  const bare: ClaimAgentSpec[] = [
    { id: 'cheat-token-miner', name: 'token_miner.py (SHA-256 in token-shaped bursts)', honest: false, claims: 'inference', command: 'python3', args: [miner] },
    { id: 'cheat-duty-miner', name: 'workload.js --kind adversary (duty-cycled miner)', honest: false, claims: 'inference', command: node, args: [AGENT('workload'), '--kind', 'adversary', '--seed', '5'] },
    { id: 'cheat-xz', name: "sh -c 'xz -9 -T1 < /dev/urandom > /dev/null' (compression)", honest: false, claims: 'inference', command: 'sh', args: ['-c', 'xz -9 -T1 < /dev/urandom > /dev/null'] },
    { id: 'cheat-sleep', name: 'sleep 600 (idle)', honest: false, claims: 'inference', command: 'sleep', args: ['600'] },
    { id: 'cheat-busy', name: "sh -c 'while :; do :; done' (busy-wait)", honest: false, claims: 'inference', command: 'sh', args: ['-c', 'while :; do :; done'] },
  ];
  const shimmed: ClaimAgentSpec[] = [
    { id: 'shim-token-miner', name: 'serve_shim.py + token_miner.py (speaks the protocol, mines)', honest: false, claims: 'inference', command: 'python3', args: [shim, 'python3', miner] },
    { id: 'shim-duty-miner', name: 'serve_shim.py + workload.js --kind adversary', honest: false, claims: 'inference', command: 'python3', args: [shim, node, AGENT('workload'), '--kind', 'adversary', '--seed', '6'] },
    { id: 'shim-xz', name: 'serve_shim.py + xz -9 (speaks the protocol, compresses)', honest: false, claims: 'inference', command: 'python3', args: [shim, 'sh', '-c', 'xz -9 -T1 < /dev/urandom > /dev/null'] },
    { id: 'shim-busy', name: 'serve_shim.py + busy-wait loop', honest: false, claims: 'inference', command: 'python3', args: [shim, 'sh', '-c', 'while :; do :; done'] },
  ];
  if (recording !== null) {
    bare.push({ id: 'cheat-replay', name: 'replay.py (replays a recorded gpt-server CPU trace)', honest: false, claims: 'inference', command: 'python3', args: [join(REPO, 'examples/cheats/replay.py'), recording] });
    shimmed.push({ id: 'shim-replay', name: 'serve_shim.py + replay.py (speaks the protocol, replays)', honest: false, claims: 'inference', command: 'python3', args: [shim, 'python3', join(REPO, 'examples/cheats/replay.py'), recording] });
  }
  return [...bare, ...shimmed];
}

/** A passive pair: the scientist claiming science (honest) and the leech claiming science (a miner). */
export function passivePair(): ClaimAgentSpec[] {
  return [
    { id: 'honest-science', name: 'scientist.js --method mr, claims science', honest: true, claims: 'science', command: node, args: [AGENT('scientist'), '--method', 'mr'] },
    { id: 'cheat-science', name: 'leech.js (SHA-256 miner), claims science', honest: false, claims: 'science', command: node, args: [AGENT('leech')] },
  ];
}

/**
 * Agents that only load the machine (no claim): busy loops holding the opening bid (a scientist
 * would bid what its primes earn and outbid the servers), for a calibration under contention.
 */
function loaders(n: number): ClaimAgentSpec[] {
  return Array.from({ length: n }, (_, i) => ({ id: `load-${String(i)}`, name: 'busy loop (load, no claim)', honest: true, claims: 'science' as const, command: 'sh', args: ['-c', 'while :; do :; done'] }));
}

export interface BatchResult {
  readonly agents: ClaimAgentResult[];
  /** CPU the daemon spent tracing and judging claims (its claim verifier), s. */
  readonly verifierCpuS: number;
  /** CPU of the agents it traced (their cgroups), s. */
  readonly tracedCpuS: number;
}

/** Runs one batch of agents in a fresh daemon for `seconds` and reports each. */
export async function runDaemonBatch(options: DaemonBatchOptions & { readonly loaders?: number }): Promise<BatchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'maxwell-claims-'));
  const config = loadConfig({ env: {}, flags: [{ ledger: { path: join(dir, 'ledger.sqlite'), keyPath: join(dir, 'node-key.pem') }, daemon: { runtimeDir: join(dir, 'run'), graceMs: 300, killTimeoutMs: 500 } }] });
  const specs = new Map(options.agents.map((a) => [a.id, a]));
  const windows = new Map<string, JudgedWindow[]>();
  const flaggedAt = new Map<string, number>();
  const spawnedAt = new Map<string, number>();
  const failures = new Map<string, string>();
  const assembled = await assembleDaemon(config, {
    tag: options.tag,
    claimModel: options.model,
    onClaimWindow: (id, window) => {
      const spec = specs.get(id);
      if (spec === undefined) return;
      windows.set(id, [...(windows.get(id) ?? []), window]);
      options.onWindow?.(spec, window);
      if (!flaggedAt.has(id) && assembled.daemon.agent(id).verification?.flagged === true) flaggedAt.set(id, performance.now());
    },
    onPassiveFeatures: (id, _claims, features) => {
      const spec = specs.get(id);
      if (spec !== undefined) options.onPassiveFeatures?.(spec, features);
    },
  });
  const { daemon } = assembled;
  try {
    const all = [...options.agents, ...loaders(options.loaders ?? 0)];
    for (const spec of all) {
      try {
        await daemon.spawnAgent({ id: spec.id, command: spec.command, args: [...spec.args], walletJ: 100_000, bid: { pricePerQuantumJ: 1 }, ...(specs.has(spec.id) ? { claims: spec.claims } : {}), ...(spec.stakeJ === undefined ? {} : { stakeJ: spec.stakeJ }) });
        spawnedAt.set(spec.id, performance.now());
      } catch (err) {
        failures.set(spec.id, `did not start: ${(err as Error).message}`);
      }
    }
    const started = performance.now();
    while (performance.now() - started < options.seconds * 1000) {
      await sleep(250);
      options.onTick?.((performance.now() - started) / 1000);
    }
    const meters = daemon.agentMeters().agents;
    const tracedCpuS = meters.filter((m) => specs.has(m.agentId)).reduce((a, m) => a + m.cpuS, 0);
    const verifierCpuS = daemon.snapshot().verification.costS;
    const agents = options.agents.map((spec) => {
      const judged = windows.get(spec.id) ?? [];
      const view = failures.has(spec.id) ? null : daemon.agent(parseAgentId(spec.id));
      const checks: Record<string, number> = {};
      for (const w of judged) checks[w.check] = (checks[w.check] ?? 0) + 1;
      const flagged = flaggedAt.get(spec.id);
      const born = spawnedAt.get(spec.id);
      const failure = failures.get(spec.id) ?? (view?.phase === 'dead' ? `ended: ${view.ended?.reason ?? 'unknown'}` : null);
      return {
        id: spec.id,
        name: spec.name,
        honest: spec.honest,
        claims: spec.claims,
        windows: judged.length,
        inconsistent: judged.filter((w) => !w.consistent).length,
        flagged: flagged !== undefined,
        secondsToFlag: flagged === undefined || born === undefined ? null : (flagged - born) / 1000,
        checks,
        runShare: view === null ? 0 : (view.quantaWon * QUANTUM_S) / options.seconds,
        failure,
      };
    });
    return { agents, verifierCpuS, tracedCpuS };
  } finally {
    await assembled.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What the in-daemon evaluation reports. */
export interface InDaemonReport {
  readonly calibration: { readonly seconds: number; readonly agents: readonly string[]; readonly windows: number; readonly scores: { readonly min: number; readonly median: number; readonly max: number }; readonly passiveWindows: Readonly<Partial<Record<WorkClass, number>>> };
  readonly batchSeconds: number;
  readonly batches: number;
  readonly agents: readonly ClaimAgentResult[];
  readonly alpha: number;
  /** Honest agents ever flagged, and the share of their windows judged inconsistent (goal: 0, ≤ 1 %). */
  readonly honest: { readonly agents: number; readonly flagged: number; readonly windows: number; readonly inconsistentShare: number };
  /** Cheats flagged at all, and within 10 s of their spawn (goal ≥ 95 %). */
  readonly cheats: { readonly agents: number; readonly flagged: number; readonly flaggedWithin10s: number };
  /** The daemon's CPU for tracing and judging claims against the traced agents' CPU, over all batches (goal < 1 %). */
  readonly cost: { readonly verifierCpuS: number; readonly tracedCpuS: number; readonly fraction: number };
}

export const FLAG_WITHIN_S = 10;

/** What the honest calibration run in the daemon gives the claim model. */
export interface InDaemonCalibration {
  readonly scores: number[];
  readonly agents: string[];
  /** Feature windows of honest agents with passive claims, per class, in the order they came. */
  readonly passive: Map<WorkClass, Float64Array[]>;
}

/**
 * Honest agents under the auction, beside CPU-bound load: inference servers (fresh seeds), whose
 * timeline scores calibrate the model, and a scientist claiming science and a miner claiming
 * mining, whose windows become those classes' references (what an honest agent looks like in the
 * daemon, frozen and thawed, not alone).
 */
export async function calibrateInDaemon(seconds: number, onTick?: (elapsedS: number) => void): Promise<InDaemonCalibration> {
  const agents: ClaimAgentSpec[] = [
    ...honestServers(11),
    { id: 'honest-science-cal', name: 'scientist.js --method mr, claims science', honest: true, claims: 'science', command: node, args: [AGENT('scientist'), '--method', 'mr'] },
    { id: 'honest-mining-cal', name: 'leech.js, claims mining', honest: true, claims: 'mining', command: node, args: [AGENT('leech')] },
  ];
  const scores: number[] = [];
  const passive = new Map<WorkClass, Float64Array[]>();
  await runDaemonBatch({
    agents,
    loaders: 1,
    seconds,
    model: null,
    tag: 'vcal',
    onWindow: (_spec, window) => {
      if (window.claims === 'inference' && Number.isFinite(window.score)) scores.push(window.score);
    },
    onPassiveFeatures: (spec, features) => {
      passive.set(spec.claims, [...(passive.get(spec.claims) ?? []), features]);
    },
    ...(onTick === undefined ? {} : { onTick }),
  });
  return { scores, agents: agents.map((a) => a.name), passive };
}

/** Cheats in batches of three, each beside fresh honest servers (six agents on the machine's cores), and the passive pair. */
export async function evaluateClaims(options: { readonly model: ClaimModel; readonly recording: string | null; readonly batchSeconds: number; readonly alpha: number; readonly onBatch?: (done: number, total: number, label: string) => void }): Promise<Omit<InDaemonReport, 'calibration'>> {
  const cheatList = cheats(options.recording);
  const batches: ClaimAgentSpec[][] = [];
  for (let i = 0; i < cheatList.length; i += 3) batches.push([...honestServers(21 + batches.length), ...cheatList.slice(i, i + 3)]);
  batches.push([...honestServers(21 + batches.length), ...passivePair()]);
  const results: ClaimAgentResult[] = [];
  let verifierCpuS = 0;
  let tracedCpuS = 0;
  for (let b = 0; b < batches.length; b++) {
    const batch = batches[b] as ClaimAgentSpec[];
    options.onBatch?.(b + 1, batches.length, batch.filter((a) => !a.honest).map((a) => a.id).join(', '));
    const run = await runDaemonBatch({ agents: batch, seconds: options.batchSeconds, model: options.model, tag: `vev${String(b)}` });
    results.push(...run.agents);
    verifierCpuS += run.verifierCpuS;
    tracedCpuS += run.tracedCpuS;
  }
  const honest = results.filter((r) => r.honest && r.failure === null);
  const cheating = results.filter((r) => !r.honest);
  const honestWindows = honest.reduce((a, r) => a + r.windows, 0);
  return {
    batchSeconds: options.batchSeconds,
    batches: batches.length,
    agents: results,
    alpha: options.alpha,
    honest: { agents: honest.length, flagged: honest.filter((r) => r.flagged).length, windows: honestWindows, inconsistentShare: honestWindows === 0 ? Number.NaN : honest.reduce((a, r) => a + r.inconsistent, 0) / honestWindows },
    cheats: { agents: cheating.length, flagged: cheating.filter((r) => r.flagged).length, flaggedWithin10s: cheating.filter((r) => r.secondsToFlag !== null && r.secondsToFlag <= FLAG_WITHIN_S).length },
    cost: { verifierCpuS, tracedCpuS, fraction: tracedCpuS > 0 ? verifierCpuS / tracedCpuS : Number.NaN },
  };
}
