/**
 * The fleet through Kubernetes (docs/FLEET.md): the same pods placed by a real kube-scheduler
 * without and with Maxwell's extender, on three Maxwell daemons in network namespaces, node 0's
 * twin at a hot ambient. No kubelet runs in the lab, so the lab plays one (`LabKubelet`): each pod
 * bound to a node starts a scientist agent on that node's Maxwell, and where the scheduler puts
 * pods is where the heat goes. Pods arrive one at a time, so a node that fills up heats up and
 * its price rises before the next pod is scheduled.
 *
 * Reported per arm and node: pods bound, primes (MEASURED, verified by each daemon), energy
 * (MODELLED: each node's twin driven by its own agents' measured CPU time, `daemon.twinDrive:
 * agents`; this machine has no energy sensor and every namespace shares its two cores), peak
 * core temperature (MODELLED, the same twins), and the extender's view of each node's price and
 * headroom when each pod was bound.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SpawnRequest } from '../api/control.js';
import { FleetLabError } from '../errors.js';
import { commandFor } from '../experiment/runner.js';
import { mean } from '../experiment/stats.js';
import { RepeatingTask } from '../internal/repeating-task.js';
import { FleetLab, fleetLabUnavailable, type LabNode } from './fleet-lab.js';
import { KubeLab, fleetConverged, kubeLabUnavailable, kubeNodeEnv, schedulerConfig } from './kube-lab.js';

export const KUBE_ARMS = ['default', 'maxwell'] as const;
export type KubeArmName = (typeof KUBE_ARMS)[number];
const NODES = 3;

/** One pod's binding as the lab's kubelet saw it. */
export interface PodBinding {
  readonly pod: string;
  readonly node: string;
  /** Seconds from the first pod's creation. */
  readonly atS: number;
  /** Each node's mean price (J per quantum) and headroom in the extender's fleet view when the binding was seen. */
  readonly view: Readonly<Record<string, { readonly priceJ: number; readonly headroom: number }>>;
  /** Why its agent could not be started on that node; null when it was. */
  readonly error: string | null;
}

/**
 * The lab's kubelet: watches the apiserver and, for each pod newly bound to `node<k>`, starts
 * `workload(pod)` as an agent on node k's Maxwell. `observer` is the Maxwell whose fleet view is
 * recorded with each binding (the extender's).
 */
export class LabKubelet {
  readonly bindings: PodBinding[] = [];
  readonly #task: RepeatingTask;
  readonly #t0 = performance.now();

  constructor(kube: KubeLab, nodes: readonly LabNode[], workload: (pod: string, index: number) => SpawnRequest, observer: LabNode) {
    const seen = new Set<string>();
    this.#task = new RepeatingTask({
      name: 'lab kubelet',
      everyMs: 200,
      runAtStart: true,
      run: async () => {
        const placement = await kube.placement();
        for (const [pod, node] of placement) {
          if (node === undefined || seen.has(pod)) continue;
          seen.add(pod);
          const view = await observer.client.fleet().then(
            (f) => Object.fromEntries(f.members.map((m) => [m.nodeName, { priceJ: m.meanPriceJ, headroom: m.headroom }])),
            () => ({}),
          );
          const target = nodes.find((n) => `node${String(n.index)}` === node);
          let error: string | null = target === undefined ? `no Maxwell runs ${node}` : null;
          if (target !== undefined) await target.client.spawnAgent(workload(pod, seen.size - 1)).catch((err: unknown) => { error = err instanceof Error ? err.message : String(err); });
          this.bindings.push({ pod, node, atS: (performance.now() - this.#t0) / 1000, view, error });
        }
      },
    });
  }

  start(): void {
    this.#task.start();
  }

  stop(): Promise<void> {
    return this.#task.stop();
  }
}

export interface KubePlacementOptions {
  readonly arms: readonly KubeArmName[];
  readonly pods: number;
  /** Seconds between one pod's creation and the next. */
  readonly podIntervalS: number;
  /** Seconds the workload runs after the last pod is bound. */
  readonly holdS: number;
  /** Seconds the daemons run before the first pod (the twins settle at their ambient). */
  readonly warmS: number;
  readonly hotAmbientC: number;
  readonly coolAmbientC: number;
  /** The scientist each pod runs (`{start}` as in the main experiment). */
  readonly scientistCommand: readonly string[];
  readonly scientistWalletJ: number;
  readonly scientistBidJ: number;
  /** deploy/'s v1beta1 KubeSchedulerConfiguration; the extender's URL is replaced with node 0's Maxwell. */
  readonly schedulerSample: string;
  readonly onProgress?: (index: number, total: number, label: string) => void;
  readonly signal?: AbortSignal;
}

export interface KubeNodeOutcome {
  readonly node: string;
  readonly ambientC: number;
  readonly pods: number;
  readonly primes: number;
  readonly energyJ: number;
  readonly peakTemperatureC: number;
  readonly meanTemperatureC: number;
  /** The extender's view at the end. */
  readonly priceJ: number;
  readonly headroom: number;
}

export interface KubeArmRun {
  readonly arm: KubeArmName;
  readonly seconds: number;
  readonly nodes: readonly KubeNodeOutcome[];
  readonly bindings: readonly PodBinding[];
  readonly primes: number;
  readonly energyJ: number;
  readonly primesPerJ: number;
}

export interface KubePlacementReport {
  readonly version: string;
  readonly options: Omit<KubePlacementOptions, 'onProgress' | 'signal' | 'schedulerSample'>;
  readonly runs: readonly KubeArmRun[];
  readonly provenance: { readonly primes: string; readonly energy: string; readonly temperature: string };
  readonly notes: readonly string[];
}

async function runArm(arm: KubeArmName, o: KubePlacementOptions, progress: (label: string) => void): Promise<KubeArmRun & { version: string }> {
  const kube = await KubeLab.start();
  let lab: FleetLab | undefined;
  let kubelet: LabKubelet | undefined;
  let sampler: RepeatingTask | undefined;
  try {
    lab = await FleetLab.start({ nodes: NODES, env: kubeNodeEnv(0, { hotAmbientC: o.hotAmbientC, coolAmbientC: o.coolAmbientC }) });
    const nodes = lab.nodes;
    const extender = nodes[0];
    if (extender === undefined) throw new FleetLabError('the fleet lab started no node');
    await fleetConverged(nodes, 60_000);
    await kube.registerNodes(nodes.map((n) => `node${String(n.index)}`));
    await sleep(o.warmS * 1000, undefined, { signal: o.signal });
    await kube.startScheduler(schedulerConfig(o.schedulerSample, arm === 'maxwell' ? `${extender.client.url}/v1/kube` : null));

    const temperatures: number[][] = nodes.map(() => []);
    sampler = new RepeatingTask({
      name: 'temperature sampler',
      everyMs: 500,
      run: async () => {
        const snapshots = await Promise.all(nodes.map((n) => n.client.snapshot().catch(() => null)));
        snapshots.forEach((s, i) => { if (s !== null) temperatures[i]?.push(Math.max(...s.planes.map((p) => p.temperatureC))); });
      },
    });
    sampler.start();
    const before = await Promise.all(nodes.map((n) => n.client.snapshot()));
    const t0 = performance.now();
    const workload = (pod: string, index: number): SpawnRequest => ({
      ...commandFor(o.scientistCommand, index), id: pod, role: 'scientist', walletJ: o.scientistWalletJ, bid: { pricePerQuantumJ: o.scientistBidJ },
    });
    kubelet = new LabKubelet(kube, nodes, workload, extender);
    kubelet.start();
    const names = Array.from({ length: o.pods }, (_, i) => `${arm}-pod${String(i)}`);
    for (const [i, name] of names.entries()) {
      if (i > 0) await sleep(o.podIntervalS * 1000, undefined, { signal: o.signal });
      await kube.createPods([name]);
      progress(`${arm}: ${name} created (${String(kubelet.bindings.length)} of ${String(o.pods)} bound so far)`);
    }
    const deadline = performance.now() + 60_000;
    while (kubelet.bindings.length < o.pods) {
      if (performance.now() > deadline) throw new FleetLabError(`${arm}: ${String(kubelet.bindings.length)} of ${String(o.pods)} pods bound within 60 s of the last one's creation`);
      await sleep(200, undefined, { signal: o.signal });
    }
    progress(`${arm}: every pod bound; the workload runs ${String(o.holdS)} s more`);
    await sleep(o.holdS * 1000, undefined, { signal: o.signal });
    await kubelet.stop();
    await sampler.stop();
    const seconds = (performance.now() - t0) / 1000;
    const after = await Promise.all(nodes.map((n) => n.client.snapshot()));
    const view = await extender.client.fleet();
    const outcomes = after.map((s, i): KubeNodeOutcome => {
      const name = `node${String(nodes[i]?.index ?? i)}`;
      const member = view.members.find((m) => m.nodeName === name);
      const seen = temperatures[i] ?? [];
      return {
        node: name,
        ambientC: i === 0 ? o.hotAmbientC : o.coolAmbientC,
        pods: kubelet?.bindings.filter((b) => b.node === name).length ?? 0,
        primes: s.agents.reduce((sum, a) => sum + a.verifiedPrimes, 0),
        energyJ: s.energyJ - (before[i]?.energyJ ?? 0),
        peakTemperatureC: seen.length === 0 ? Number.NaN : Math.max(...seen),
        meanTemperatureC: seen.length === 0 ? Number.NaN : mean(seen),
        priceJ: member?.meanPriceJ ?? Number.NaN,
        headroom: member?.headroom ?? Number.NaN,
      };
    });
    const primes = outcomes.reduce((a, n) => a + n.primes, 0);
    const energyJ = outcomes.reduce((a, n) => a + n.energyJ, 0);
    return { arm, version: kube.version, seconds, nodes: outcomes, bindings: [...kubelet.bindings], primes, energyJ, primesPerJ: energyJ > 0 ? primes / energyJ : Number.NaN };
  } finally {
    await kubelet?.stop();
    await sampler?.stop();
    await lab?.close();
    await kube.close();
  }
}

/** Runs each arm on a fresh control plane and fresh daemons. */
export async function runKubePlacement(o: KubePlacementOptions): Promise<KubePlacementReport> {
  const unavailable = fleetLabUnavailable() ?? kubeLabUnavailable();
  if (unavailable !== null) throw new FleetLabError(`cannot run the Kubernetes lab here: ${unavailable}`);
  const runs: KubeArmRun[] = [];
  let version = '';
  for (const [i, arm] of o.arms.entries()) {
    o.signal?.throwIfAborted();
    const progress = (label: string): void => o.onProgress?.(i + 1, o.arms.length, label);
    progress(`${arm}: starting etcd, kube-apiserver and ${String(NODES)} Maxwell daemons`);
    const run = await runArm(arm, o, progress);
    version = run.version;
    runs.push(run);
  }
  return {
    version,
    options: { arms: o.arms, pods: o.pods, podIntervalS: o.podIntervalS, holdS: o.holdS, warmS: o.warmS, hotAmbientC: o.hotAmbientC, coolAmbientC: o.coolAmbientC, scientistCommand: o.scientistCommand, scientistWalletJ: o.scientistWalletJ, scientistBidJ: o.scientistBidJ },
    runs,
    provenance: {
      primes: 'MEASURED: primes verified by each daemon (sampled Miller–Rabin re-checks), summed over the nodes',
      energy: "MODELLED: each node's thermal twin driven by its own agents' measured CPU time (daemon.twinDrive: agents); no energy sensor here",
      temperature: 'MODELLED: the same twins; peak = the hottest core seen by polling every 0.5 s',
    },
    notes: [
      "No kubelet runs in the lab: the lab plays one, starting a scientist agent on a pod's node when the scheduler binds it.",
      "All three namespaced nodes share this machine's CPUs: the comparison is between what each node's model says the work cost where it ran, not between separate machines.",
      'One run per arm, so no interval: a difference smaller than the run-to-run spread of `maxwell research fleet` (docs/FLEET.md) is not a finding.',
    ],
  };
}

/** deploy/'s v1beta1 sample, read from the installed package. */
export function readSchedulerSample(): string {
  return readFileSync(new URL('../../../deploy/kubernetes/kube-scheduler-config-v1beta1.yaml', import.meta.url), 'utf8');
}
