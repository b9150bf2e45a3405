/**
 * What kube-scheduler sees of Maxwell's extender (docs/FLEET.md): a real kube-scheduler and
 * kube-apiserver (the kube lab) with ten `maxwell run` daemons in network namespaces as the
 * nodes, node 0 heated. The same pods are scheduled twice, side by side in one run: without the
 * extender, then with it (deploy/'s v1beta1 sample, through a recording proxy). Reported: pods
 * bound per second in each arm (from the first pod created to the last bound: the pods are created
 * one request at a time, so this is bounded by creation as much as by scheduling), the extender's call latency and the time it adds per scheduling
 * cycle (filter + prioritize of one pod; goal p99 < 5 ms), and where the pods landed against each
 * node's headroom and price. Needs root and the binaries of scripts/build-kubernetes.sh; says why
 * not otherwise.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { FleetLab, fleetLabUnavailable } from '../src/research/fleet-lab.js';
import { KubeLab, fleetConverged, kubeLabUnavailable, kubeNodeEnv, recordingProxy, schedulerConfig } from '../src/research/kube-lab.js';
import { readSchedulerSample } from '../src/research/kube-placement.js';

export interface KubeArm {
  readonly extender: boolean;
  readonly pods: number;
  readonly seconds: number;
  readonly podsPerSecond: number;
  /** Pods bound per node. */
  readonly placed: Readonly<Record<string, number>>;
}

export interface KubeBench {
  readonly skipped: string | null;
  readonly version: string;
  readonly nodes: number;
  readonly arms: readonly KubeArm[];
  readonly calls: number;
  readonly callP50Ms: number;
  readonly callP99Ms: number;
  readonly cycleP50Ms: number;
  readonly cycleP99Ms: number;
  readonly verdict: 'PASS' | 'MISS' | 'SKIP';
  /** Each node's headroom and mean price as the extender's Maxwell saw them at the end. */
  readonly heat: Readonly<Record<string, { headroom: number; priceJ: number }>>;
}

const GOAL_CYCLE_P99_MS = 5;

function percentile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

async function schedule(kube: KubeLab, prefix: string, count: number, extender: boolean): Promise<KubeArm> {
  const names = Array.from({ length: count }, (_, i) => `${prefix}-${String(i)}`);
  const t0 = performance.now();
  await kube.createPods(names);
  for (;;) {
    const placement = await kube.placement();
    const bound = names.map((n) => placement.get(n)).filter((n): n is string => n !== undefined);
    if (bound.length === count) {
      const seconds = (performance.now() - t0) / 1000;
      const placed: Record<string, number> = {};
      for (const node of bound) placed[node] = (placed[node] ?? 0) + 1;
      return { extender, pods: count, seconds, podsPerSecond: count / seconds, placed };
    }
    if (performance.now() - t0 > 300_000) throw new Error(`${prefix}: ${String(bound.length)} of ${String(count)} pods bound after 300 s`);
    await sleep(100);
  }
}

export async function benchKube(nodes = 10, pods = 200, log: (line: string) => void = () => undefined): Promise<KubeBench> {
  const why = fleetLabUnavailable() ?? kubeLabUnavailable();
  const empty = { version: '', nodes, arms: [], calls: 0, callP50Ms: Number.NaN, callP99Ms: Number.NaN, cycleP50Ms: Number.NaN, cycleP99Ms: Number.NaN, heat: {} };
  if (why !== null) return { skipped: why, verdict: 'SKIP', ...empty };
  const kube = await KubeLab.start();
  let lab: FleetLab | undefined;
  try {
    log(`kube: ${kube.version}; starting ${String(nodes)} Maxwell daemons …`);
    lab = await FleetLab.start({
      nodes,
      env: kubeNodeEnv(0),
    });
    const extender = lab.nodes[0];
    if (extender === undefined) throw new Error('no node');
    await fleetConverged(lab.nodes, 120_000);
    await kube.registerNodes(lab.nodes.map((n) => `node${String(n.index)}`));
    const sample = readSchedulerSample();

    log(`kube: ${String(pods)} pods without the extender …`);
    await kube.startScheduler(schedulerConfig(sample, null));
    const without = await schedule(kube, 'plain', pods, false);
    const proxy = await recordingProxy(extender.client.url);
    try {
      log(`kube: ${String(pods)} pods with the extender …`);
      await kube.startScheduler(schedulerConfig(sample, proxy.url));
      const withExtender = await schedule(kube, 'priced', pods, true);
      await kube.stopScheduler();
      const ms = proxy.calls.map((c) => c.ms);
      const perPod = new Map<string, number>();
      for (const c of proxy.calls) perPod.set(c.pod, (perPod.get(c.pod) ?? 0) + c.ms);
      const cycles = [...perPod.values()];
      const view = await extender.client.fleet();
      const heat = Object.fromEntries(view.members.map((m) => [m.nodeName, { headroom: m.headroom, priceJ: m.meanPriceJ }]));
      const cycleP99Ms = percentile(cycles, 0.99);
      return {
        skipped: null, version: kube.version, nodes, arms: [without, withExtender], calls: proxy.calls.length,
        callP50Ms: percentile(ms, 0.5), callP99Ms: percentile(ms, 0.99), cycleP50Ms: percentile(cycles, 0.5), cycleP99Ms,
        verdict: cycleP99Ms < GOAL_CYCLE_P99_MS ? 'PASS' : 'MISS', heat,
      };
    } finally {
      await proxy.close();
    }
  } finally {
    await lab?.close();
    await kube.close();
  }
}

export function formatKube(b: KubeBench): string {
  if (b.skipped !== null) return `\nkube-scheduler with Maxwell's extender: skipped (${b.skipped})\n`;
  const nodes = Object.keys(b.heat).sort((x, y) => Number(x.slice(4)) - Number(y.slice(4)));
  const rows = b.arms.map((a) => `  ${a.extender ? 'with extender   ' : 'without extender'}  ${a.podsPerSecond.toFixed(1).padStart(6)} pods/s (${String(a.pods)} in ${a.seconds.toFixed(1)} s)  placed: ${nodes.map((n) => `${n}=${String(a.placed[n] ?? 0)}`).join(' ')}`);
  return [
    `\nkube-scheduler (${b.version}) with Maxwell's extender, ${String(b.nodes)} Maxwell nodes (node0 heated), measured side by side in one run:`,
    ...rows,
    `  extender calls: ${String(b.calls)}, p50 ${b.callP50Ms.toFixed(2)} ms, p99 ${b.callP99Ms.toFixed(2)} ms; added per scheduling cycle (filter + prioritize): p50 ${b.cycleP50Ms.toFixed(2)} ms, p99 ${b.cycleP99Ms.toFixed(2)} ms (goal < ${String(GOAL_CYCLE_P99_MS)} ms: ${b.verdict})`,
    `  heat at the end (modelled: each Maxwell's thermal twin): ${nodes.map((n) => `${n} headroom ${(b.heat[n]?.headroom ?? Number.NaN).toFixed(2)} price ${(b.heat[n]?.priceJ ?? Number.NaN).toPrecision(2)} J`).join(', ')}`,
    '',
  ].join('\n');
}
