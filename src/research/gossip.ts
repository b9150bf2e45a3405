/**
 * Research question 10 (docs/DESIGN.md §6): does the fleet converge in O(log n) rounds and survive
 * failures? MODELLED: the seeded simulations of src/fleet/simulation.ts, which run the fleet's
 * own SWIM + Lifeguard and push-sum code on a simulated clock and network (no sockets). Pure and
 * deterministic from the seed; nothing here is hard-coded, every goal is judged on the run.
 */
import { simulatePushSum, simulateSwim, type PushSumSimResult, type SwimSimResult } from '../fleet/simulation.js';

export const GOSSIP_SIM_SOURCE = 'seeded simulation of src/fleet (Swim, PushSum) on a simulated network: independent loss, 1–5 ms latency, 5 % slow nodes handling messages 1.5 s late';
const LOSSES = [0.01, 0.05, 0.1] as const;

export interface GossipResearchOptions {
  /** Small fleets and short runs (seconds), for tests. */
  readonly quick?: boolean;
  /** @default 1 */
  readonly seed?: number;
  readonly onProgress?: (index: number, total: number, label: string) => void;
}

export interface GossipGoal {
  readonly goal: string;
  readonly measured: string;
  readonly met: boolean;
}

export interface GossipResearchReport {
  readonly provenance: { readonly kind: 'modelled'; readonly source: string };
  readonly seed: number;
  readonly quick: boolean;
  readonly swimNodes: number;
  readonly swimWarmupS: number;
  readonly swimAfterCrashS: number;
  readonly pushSum: readonly PushSumSimResult[];
  readonly swim: readonly SwimSimResult[];
  readonly goals: readonly GossipGoal[];
  readonly notRun: readonly string[];
}

export function runGossipResearch(options: GossipResearchOptions = {}): GossipResearchReport {
  const quick = options.quick === true;
  const seed = options.seed ?? 1;
  const pushSizes = quick ? [200, 1000] : [1000, 10_000];
  const swimNodes = quick ? 100 : 1000;
  const warmupMs = 10_000;
  const afterCrashMs = quick ? 30_000 : 40_000;
  const pushRuns: { n: number; loss: number; liars: number }[] = [];
  for (const n of pushSizes) for (const loss of [0, ...LOSSES]) pushRuns.push({ n, loss, liars: 0 });
  pushRuns.push({ n: pushSizes[0] ?? 1000, loss: 0, liars: 1 });
  const swimRuns = LOSSES.flatMap((loss) => [false, true].map((lifeguard) => ({ loss, lifeguard })));
  const total = pushRuns.length + swimRuns.length;
  let step = 0;
  const pushSum = pushRuns.map((r) => {
    options.onProgress?.(++step, total, `push-sum, ${r.n} nodes, loss ${r.loss * 100} %${r.liars > 0 ? ', 1 liar' : ''}`);
    return simulatePushSum({ ...r, seed });
  });
  const swim = swimRuns.map((r) => {
    options.onProgress?.(++step, total, `SWIM, ${swimNodes} nodes, loss ${r.loss * 100} %, Lifeguard ${r.lifeguard ? 'on' : 'off'}`);
    return simulateSwim({ n: swimNodes, seed, loss: r.loss, lifeguard: r.lifeguard, warmupMs, afterCrashMs });
  });
  return {
    provenance: { kind: 'modelled', source: GOSSIP_SIM_SOURCE },
    seed,
    quick,
    swimNodes,
    swimWarmupS: warmupMs / 1000,
    swimAfterCrashS: afterCrashMs / 1000,
    pushSum,
    swim,
    goals: goals(pushSum, swim, pushSizes[0] ?? 1000),
    notRun: [`SWIM at ${quick ? '1,000' : '10,000'} nodes: every simulated node holds the full member table (n² records, 10⁸ at 10,000, in one process); push-sum alone was run at that size`],
  };
}

function goals(pushSum: readonly PushSumSimResult[], swim: readonly SwimSimResult[], small: number): GossipGoal[] {
  const out: GossipGoal[] = [];
  const base = pushSum.find((r) => r.n === small && r.loss === 0 && r.liars === 0);
  if (base !== undefined) {
    out.push({ goal: `push-sum within ε = 1e-3 at ${small} nodes, no loss, in ≤ 30 rounds`, measured: base.roundsToEpsilon === null ? `not within ${base.maxRounds}` : `${base.roundsToEpsilon} rounds`, met: base.roundsToEpsilon !== null && base.roundsToEpsilon <= 30 });
  }
  const clean = pushSum.filter((r) => r.loss === 0 && r.liars === 0 && r.roundsToEpsilon !== null);
  const [a, b] = [clean[0], clean[1]];
  if (a !== undefined && b !== undefined && a.roundsToEpsilon !== null && b.roundsToEpsilon !== null) {
    // O(log n): ten times the nodes should add about log2(10) ≈ 3.3 rounds, not multiply them.
    const extra = b.roundsToEpsilon - a.roundsToEpsilon;
    out.push({ goal: `O(log n): ${b.n / a.n}× the nodes adds ≤ ${Math.ceil(2 * Math.log2(b.n / a.n))} rounds`, measured: `${a.roundsToEpsilon} → ${b.roundsToEpsilon} rounds`, met: extra <= Math.ceil(2 * Math.log2(b.n / a.n)) });
  }
  const undetected = swim.reduce((s, r) => s + r.undetected, 0);
  out.push({ goal: 'every crashed node declared dead by every live node, in every SWIM run', measured: `${undetected} of ${swim.reduce((s, r) => s + r.crashed, 0)} not`, met: undetected === 0 });
  const lg = swim.filter((r) => r.lifeguard);
  const worst = Math.max(...lg.map((r) => r.falsePositiveRate));
  out.push({ goal: 'with Lifeguard, < 1 % of healthy nodes falsely declared dead at every loss rate', measured: `worst ${(100 * worst).toFixed(2)} %`, met: worst < 0.01 });
  const better = swim.filter((r) => !r.lifeguard).every((off) => {
    const on = lg.find((r) => r.loss === off.loss);
    return on !== undefined && on.healthyRefutationsPerNodeMinute <= off.healthyRefutationsPerNodeMinute;
  });
  out.push({ goal: 'Lifeguard lowers false suspicions of healthy nodes (refutations) at every loss rate', measured: better ? 'lower at every rate' : 'not at every rate', met: better });
  return out;
}
