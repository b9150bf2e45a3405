/**
 * The fleet experiment (research question 10, docs/FLEET.md): Scientist vs Leech on three Maxwell
 * daemons in network namespaces, node 0's twin at a hot ambient. Demand arrives at node 0 (the
 * hot one). Two arms, alternated within each repetition on fresh daemons:
 *
 * - `gossip`: fleet gossip on, agents submitted with `--fleet` (placed on the node where their
 *   bid buys most) and migrated when a node's prices rise 1.5 × above a peer's;
 * - `alone`: per-node Maxwell without gossip: agents run where they were submitted.
 *
 * The figure is the fleet's verified primes per joule of all three nodes' package energy over the
 * same window; the ratio gossip ÷ alone has Fieller's paired interval over the repetitions.
 * Primes are MEASURED (verified by each daemon); energy is MODELLED: each node's twin, driven by
 * its own agents' measured CPU time (`daemon.twinDrive: agents`), because this machine has no
 * energy sensor and every namespace shares its two cores.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SpawnRequest } from '../api/control.js';
import { ratioInterval, type RatioInterval } from '../experiment/stats.js';
import { commandFor, type ExperimentOptions } from '../experiment/runner.js';
import { FleetLabError } from '../errors.js';
import { FleetLab, fleetLabUnavailable, type LabNode } from './fleet-lab.js';
import type { AgentView } from '../session/types.js';

export const FLEET_ARMS = ['gossip', 'alone'] as const;
export type FleetArm = (typeof FLEET_ARMS)[number];
const NODES = 3;

/** The workload, as the main experiment describes it (`{start}` in a scientist's argv: runner.ts). */
type Workload = Pick<ExperimentOptions, 'scientists' | 'leeches' | 'scientistCommand' | 'leechCommand' | 'scientistWalletJ' | 'leechWalletJ' | 'scientistBidJ' | 'leechBidJ'>;

export interface FleetExperimentOptions extends Workload {
  readonly repetitions: number;
  /** Seconds from the first submission to the reading. */
  readonly armS: number;
  /** Seconds the daemons run before the first submission (the twins warm to their ambient). */
  readonly warmS: number;
  readonly hotAmbientC: number;
  readonly coolAmbientC: number;
  readonly onProgress?: (index: number, total: number, label: string) => void;
  /** Stops the run between steps; the daemons and namespaces are still removed. */
  readonly signal?: AbortSignal;
}

export interface FleetNodeOutcome {
  readonly node: number;
  readonly ambientC: number;
  readonly primes: number;
  readonly energyJ: number;
  /** Agents that ran on it (ended ones included), by role. */
  readonly scientists: number;
  readonly leeches: number;
  readonly meanTemperatureC: number;
  readonly meanReservePriceJ: number;
  readonly stress: number;
}

export interface FleetArmRun {
  readonly arm: FleetArm;
  readonly repetition: number;
  readonly seconds: number;
  readonly primes: number;
  readonly energyJ: number;
  readonly primesPerJ: number;
  readonly nodes: readonly FleetNodeOutcome[];
  /** Where each submitted agent was placed (node index), in submission order. */
  readonly placedOn: readonly number[];
  /** Agents stopped on one node and respawned on another. */
  readonly migrations: number;
  readonly leechesDead: number;
}

/** An arm that could not run, and why. */
export interface FleetArmFailure {
  readonly arm: FleetArm;
  readonly repetition: number;
  readonly error: string;
}

export interface FleetExperimentReport {
  readonly experiment: 'fleet-scientist-vs-leech';
  readonly options: Omit<FleetExperimentOptions, 'onProgress' | 'signal'>;
  readonly runs: readonly FleetArmRun[];
  readonly failures: readonly FleetArmFailure[];
  /** First tries that failed and were run again on fresh daemons (each arm gets one retry). */
  readonly retried: readonly FleetArmFailure[];
  /** Fleet primes per joule, gossip ÷ alone (Fieller, paired by repetition), over the repetitions with both arms; null below two. */
  readonly ratio: RatioInterval | null;
  readonly provenance: { readonly primes: string; readonly energy: string; readonly temperature: string };
  readonly verdict: { readonly goal: string; readonly met: boolean | null; readonly because: string };
  readonly notes: readonly string[];
}

const mean = (xs: readonly number[]): number => (xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length);

function requests(o: FleetExperimentOptions): SpawnRequest[] {
  const out: SpawnRequest[] = [];
  for (let i = 0; i < Math.max(o.scientists, o.leeches); i++) {
    if (i < o.scientists) out.push({ ...commandFor(o.scientistCommand, i), id: `sci${String(i)}`, role: 'scientist', walletJ: o.scientistWalletJ, bid: { pricePerQuantumJ: o.scientistBidJ } });
    if (i < o.leeches) out.push({ ...commandFor(o.leechCommand, i), id: `leech${String(i)}`, role: 'leech', walletJ: o.leechWalletJ, bid: { pricePerQuantumJ: o.leechBidJ } });
  }
  return out;
}

function environment(arm: FleetArm, o: FleetExperimentOptions, peerToken: string) {
  return (index: number, addr: string, seed: string): Record<string, string> => ({
    MAXWELL_DAEMON__TWIN_DRIVE: 'agents',
    MAXWELL_TWIN__AMBIENT_C: String(index === 0 ? o.hotAmbientC : o.coolAmbientC),
    ...(arm === 'gossip'
      ? {
          MAXWELL_FLEET__ENABLED: 'true',
          MAXWELL_FLEET__HOST: addr,
          MAXWELL_FLEET__SEEDS: JSON.stringify(index === 0 ? [] : [seed]),
          MAXWELL_FLEET__NODE_NAME: `node${String(index)}`,
          MAXWELL_FLEET__PEER_TOKEN: peerToken,
          // One row, a rack each: a node's heat reaches the others at the row's coupling.
          MAXWELL_FLEET__LOCATION__RACK: `k${String(index)}`,
        }
      : {}),
  });
}

/** Until node 0 sees every peer alive with a control API it can forward to (placement needs both). */
async function converged(node0: LabNode, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const fleet = await node0.client.fleet();
    const peers = fleet.members.filter((m) => !m.self && m.state === 'alive' && m.apiUrl !== null);
    if (peers.length === NODES - 1) return;
    if (performance.now() > deadline) throw new Error(`the fleet did not converge in ${String(timeoutMs / 1000)} s: node 0 sees ${fleet.members.map((m) => `${m.nodeName}=${m.state}`).join(' ')}`);
    await sleep(250);
  }
}

async function runArm(arm: FleetArm, repetition: number, o: FleetExperimentOptions, tick: (label: string) => void): Promise<FleetArmRun> {
  const peerToken = `lab-${randomBytes(12).toString('hex')}`;
  const lab = await FleetLab.start({ nodes: NODES, env: environment(arm, o, peerToken) });
  try {
    const [node0] = lab.nodes as [LabNode, ...LabNode[]];
    const warmUntil = performance.now() + o.warmS * 1000;
    if (arm === 'gossip') await converged(node0, 30_000);
    await sleep(Math.max(0, warmUntil - performance.now()), undefined, { signal: o.signal });
    const before = await Promise.all(lab.nodes.map((n) => n.client.snapshot()));
    const t0 = performance.now();
    const placedOn: number[] = [];
    for (const request of requests(o)) {
      if (arm === 'gossip') {
        const placed = await node0.client.spawnOnFleet(request);
        placedOn.push(Math.max(0, Number(/(\d+)$/.exec(placed.node)?.[1] ?? 0)));
      } else {
        await node0.client.spawnAgent(request);
        placedOn.push(0);
      }
    }
    tick(`${arm}, repetition ${String(repetition + 1)}: ${String(placedOn.length)} agents submitted to node 0`);
    await sleep(Math.max(0, t0 + o.armS * 1000 - performance.now()), undefined, { signal: o.signal });
    const after = await Promise.all(lab.nodes.map((n) => n.client.snapshot()));
    const seconds = (performance.now() - t0) / 1000;
    const nodes = after.map((s, i): FleetNodeOutcome => {
      const agents: readonly AgentView[] = s.agents;
      return {
        node: i,
        ambientC: i === 0 ? o.hotAmbientC : o.coolAmbientC,
        primes: agents.reduce((sum, a) => sum + a.verifiedPrimes, 0),
        energyJ: s.energyJ - (before[i]?.energyJ ?? 0),
        scientists: agents.filter((a) => a.role === 'scientist').length,
        leeches: agents.filter((a) => a.role === 'leech').length,
        meanTemperatureC: mean(s.planes.map((p) => p.temperatureC)),
        meanReservePriceJ: mean(s.planes.map((p) => p.reservePerQuantumJ)),
        stress: s.fleet.stress.external,
      };
    });
    const all = after.flatMap((s) => s.agents);
    const primes = nodes.reduce((a, n) => a + n.primes, 0);
    const energyJ = nodes.reduce((a, n) => a + n.energyJ, 0);
    return {
      arm,
      repetition,
      seconds,
      primes,
      energyJ,
      primesPerJ: energyJ > 0 ? primes / energyJ : Number.NaN,
      nodes,
      placedOn,
      migrations: all.filter((a) => a.ended?.reason === 'migrated').length,
      leechesDead: all.filter((a) => a.role === 'leech' && a.ended !== null && a.ended.reason !== 'migrated').length,
    };
  } finally {
    await lab.close();
  }
}

/** Runs the arms, alternating their order from one repetition to the next. */
export async function runFleetExperiment(o: FleetExperimentOptions): Promise<FleetExperimentReport> {
  const unavailable = fleetLabUnavailable();
  if (unavailable !== null) throw new FleetLabError(`cannot run a fleet lab here: ${unavailable}`);
  const runs: FleetArmRun[] = [];
  const failures: FleetArmFailure[] = [];
  const retried: FleetArmFailure[] = [];
  const total = 2 * o.repetitions;
  let step = 0;
  const tick = (label: string): void => o.onProgress?.(step, total, label);
  for (let r = 0; r < o.repetitions; r++) {
    const order: readonly FleetArm[] = r % 2 === 0 ? FLEET_ARMS : [...FLEET_ARMS].reverse();
    for (const arm of order) {
      o.signal?.throwIfAborted();
      step++;
      tick(`${arm}, repetition ${String(r + 1)}: starting ${String(NODES)} daemons`);
      // One arm that could not run (a daemon that did not start in time on a busy machine, a fleet
      // that did not converge) is run once more on fresh daemons; a second failure is reported,
      // not allowed to discard the others, and its repetition leaves the ratio.
      for (let attempt = 1; ; attempt++) {
        try {
          runs.push(await runArm(arm, r, o, tick));
          break;
        } catch (err) {
          if (o.signal?.aborted === true) throw err;
          const failure = { arm, repetition: r, error: err instanceof Error ? err.message : String(err) };
          if (attempt >= 2) {
            failures.push(failure);
            break;
          }
          retried.push(failure);
          tick(`${arm}, repetition ${String(r + 1)}: failed (${failure.error.split('\n', 1)[0] ?? ''}); once more on fresh daemons`);
        }
      }
    }
  }
  const complete = [...new Set(runs.map((x) => x.repetition))].filter((r) => FLEET_ARMS.every((arm) => runs.some((x) => x.arm === arm && x.repetition === r))).sort((a, b) => a - b);
  const ppj = (arm: FleetArm): number[] => complete.map((r) => runs.find((x) => x.arm === arm && x.repetition === r)?.primesPerJ ?? Number.NaN);
  const ratio = complete.length >= 2 ? ratioInterval(ppj('gossip'), ppj('alone'), { paired: true }) : null;
  const options = { ...o };
  delete options.onProgress;
  delete options.signal;
  return { experiment: 'fleet-scientist-vs-leech', options, runs, failures, retried, ratio, provenance: PROVENANCE, verdict: verdictOf(ratio, complete.length), notes: NOTES };
}

const PROVENANCE = {
  primes: 'MEASURED: primes verified by each daemon (sampled Miller–Rabin re-checks), summed over the three nodes',
  energy: "MODELLED: each node's thermal twin (package energy), driven by the measured CPU time of that node's own agents (cgroup cpuacct); no energy sensor on this machine",
  temperature: "MODELLED: the same twins; node 0's ambient is set hot (twin.ambientC)",
};

const NOTES = [
  'All three namespaced nodes share this machine’s CPUs: work moved off the hot node runs on the same cores. The comparison is between what each node’s Maxwell sells and what its model says it costs, not between separate machines.',
  'Demand arrives at the hot node only: with demand spread evenly, gossip could move only the hot node’s share and the effect would be smaller.',
  'Idle nodes draw their twins’ idle and leakage power in both arms: a fleet pays for machines that are on.',
];

function verdictOf(ratio: RatioInterval | null, complete: number): FleetExperimentReport['verdict'] {
  const goal = 'the fleet with gossip makes more primes per joule than per-node Maxwell without it (interval above 1)';
  if (ratio === null) return { goal, met: null, because: `${String(complete)} repetition(s) with both arms: no interval (at least 2 needed)` };
  if (!ratio.bounded || ratio.low === null) return { goal, met: null, because: `ratio ${ratio.estimate.toFixed(2)} with an unbounded interval` };
  const interval = `ratio ${ratio.estimate.toFixed(2)} [${ratio.low.toFixed(2)}, ${(ratio.high ?? Number.NaN).toFixed(2)}]`;
  return ratio.low > 1 ? { goal, met: true, because: interval } : { goal, met: false, because: `${interval}: the interval reaches 1` };
}
