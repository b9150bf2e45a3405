/**
 * Maxwell's scheduler extender under a real kube-scheduler (docs/FLEET.md): etcd, kube-apiserver and
 * kube-scheduler built from Debian's source package by scripts/build-kubernetes.sh, on loopback (the
 * kube lab), and three `maxwell run` daemons in network namespaces as the nodes (the fleet lab). The Nodes are
 * registered through the API, node 0 is heated (its twin's ambient raised), pods are created one at
 * a time, and the lab's kubelet starts a scientist on each pod's node when it is bound, so that the
 * nodes that take pods heat up. What the scheduler did is read back from the apiserver. Skips,
 * saying why, without root, the binaries or etcd.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { FleetLab, fleetLabUnavailable } from '../../src/research/fleet-lab.js';
import { KubeLab, fleetConverged, kubeLabUnavailable, kubeNodeEnv, recordingProxy, schedulerConfig } from '../../src/research/kube-lab.js';
import { LabKubelet } from '../../src/research/kube-placement.js';
import { commandFor } from '../../src/experiment/runner.js';
import { repoPath } from '../helpers/repo.js';
import { until } from '../helpers/wait.js';

const SKIP = fleetLabUnavailable() ?? kubeLabUnavailable() ?? false;
const NODES = 3;

test('a real kube-scheduler binds pods where Maxwell prices lowest and spreads them as prices rise, never on the node it heats past its headroom', { skip: SKIP, timeout: 300_000 }, async (t) => {
  const kube = await KubeLab.start();
  t.after(() => kube.close());
  // deploy/'s DaemonSet as `kubectl create -f` sends it: this apiserver parses and validates it. (No
  // controller-manager or kubelet runs here, so no pod of it is started.)
  const daemonSet = await kube.createFromYaml('/apis/apps/v1/namespaces/kube-system/daemonsets', readFileSync(repoPath('deploy/kubernetes/maxwell-daemonset.yaml'), 'utf8'));
  assert.equal(daemonSet.status, 201, JSON.stringify(daemonSet.json).slice(0, 800));
  const podSpec = (daemonSet.json as { spec: { template: { spec: { hostNetwork?: boolean; tolerations?: { key?: string }[] } } } }).spec.template.spec;
  assert.equal(podSpec.hostNetwork, true);
  assert.ok(podSpec.tolerations?.some((x) => x.key === 'node-role.kubernetes.io/control-plane'), 'it tolerates the control-plane taint: the scheduler reaches the Maxwell on its own node');

  // Three Maxwell nodes; node 0 runs hot (its twin's ambient near the critical temperature).
  const lab = await FleetLab.start({
    nodes: NODES,
    env: kubeNodeEnv(0),
  });
  t.after(() => lab.close());
  // The extender is node 0's Maxwell: hot, so never chosen, but it knows every node's price.
  const extender = lab.nodes[0];
  assert.ok(extender !== undefined);
  // Alive, and priced: a member's price arrives with its first gossiped metadata, after it joins.
  await fleetConverged(lab.nodes, 60_000);

  // The Nodes, as a kubelet would register them: Ready, without the not-ready taint.
  await kube.registerNodes(lab.nodes.map((n) => `node${String(n.index)}`));

  // The scheduler, calling node 0's Maxwell (any node knows the fleet's prices through gossip),
  // through a recording proxy: what kube-scheduler really sends, and how long each call takes.
  const proxy = await recordingProxy(extender.client.url);
  t.after(() => proxy.close());
  const calls = proxy.calls;
  // deploy/'s v1beta1 sample as it is, pointed at the proxy.
  const sample = readFileSync(repoPath('deploy/kubernetes/kube-scheduler-config-v1beta1.yaml'), 'utf8');
  assert.match(sample, /http:\/\/127\.0\.0\.1:7940\/v1\/kube/);
  const scheduler = await kube.startScheduler(schedulerConfig(sample, proxy.url));

  // The lab's kubelet: each pod bound starts a scientist on its node, so a node that takes pods heats
  // up. Pods arrive one at a time; as the node that took the first one warms, its price rises and the
  // next go to the other cool node (spreading as prices rise).
  const agents = fileURLToPath(new URL('../../src/agents/', import.meta.url));
  const kubelet = new LabKubelet(kube, lab.nodes, (pod, i) => ({
    ...commandFor([process.execPath, `${agents}scientist.js`, '--method', 'mr', '--bid', '2', '--bid-share', '0.8', '--start', '{start}'], i),
    id: pod, role: 'scientist', walletJ: 200, bid: { pricePerQuantumJ: 2 },
  }), extender);
  kubelet.start();
  t.after(() => kubelet.stop());
  const pods = Array.from({ length: 5 }, (_, i) => `pod${String(i)}`);
  for (const [i, pod] of pods.entries()) {
    if (i > 0) await sleep(3000);
    await kube.createPods([pod]);
  }
  const placement = (): Promise<Map<string, string | undefined>> => kube.placement();
  await until('every pod to be bound and its agent started', () => kubelet.bindings.length === pods.length, 60_000, 250)
    .catch(async (err: unknown) => { throw new Error(`${String(err)}: ${JSON.stringify([...(await placement())])}\n--- scheduler\n${scheduler.log().slice(-4000)}`, { cause: err }); });
  const fleet = await extender.client.fleet();
  const sequence = kubelet.bindings.map((b) => `${b.atS.toFixed(1)} s ${b.pod}→${b.node} (${Object.entries(b.view).map(([n, v]) => `${n} ${v.priceJ.toExponential(2)}/${v.headroom.toFixed(2)}`).join(' ')})`);
  t.diagnostic(`kube-scheduler ${kube.version}, bindings with the extender's view (price J/headroom): ${sequence.join('; ')}`);
  for (const b of kubelet.bindings) assert.equal(b.error, null, `${b.pod}'s agent started on ${b.node}`);
  const bound = new Map(kubelet.bindings.map((b) => [b.pod, b.node]));
  assert.ok(![...bound.values()].includes('node0'), 'no pod on the node Maxwell heats past its headroom');
  assert.ok(fleet.members.some((m) => m.nodeName === 'node0' && m.headroom < 0.05), 'node 0 is below minHeadroom');
  for (const cool of ['node1', 'node2']) assert.ok([...bound.values()].includes(cool), `pods spread to ${cool} as the other's price rose: ${sequence.join('; ')}`);
  const lastTaker = [...bound.values()].at(-1);

  const createPods = (names: string[]): Promise<void> => kube.createPods(names);
  const boundAll = async (names: string[], what: string): Promise<Map<string, string | undefined>> => {
    await until(what, async () => {
      const now = await placement();
      return names.every((n) => now.get(n) !== undefined);
    }, 60_000, 250).catch(async (err: unknown) => {
      throw new Error(`${String(err)}: ${JSON.stringify([...(await placement())])}\n--- scheduler\n${scheduler.log().slice(-3000)}`, { cause: err });
    });
    return placement();
  };

  const verbs = new Set(calls.map((c) => c.verb));
  assert.ok(verbs.has('filter') && verbs.has('prioritize'), `the scheduler called filter and prioritize: ${[...verbs].join(', ')}`);
  for (const c of calls) assert.equal(c.status, 200, `${c.verb}: ${c.response}`);
  const first = (verb: string) => JSON.parse(calls.find((c) => c.verb === verb)?.request ?? '{}') as Record<string, unknown>;
  // nodeCacheCapable: true — the Go field names, the Pod whole, the nodes by name.
  assert.ok('Pod' in first('filter') && Array.isArray(first('filter')['NodeNames']), `filter got Pod and NodeNames: ${Object.keys(first('filter')).join(', ')}`);
  const ms = calls.map((c) => c.ms).sort((a, b) => a - b);
  const pct = (q: number): number => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))] ?? NaN;
  t.diagnostic(`extender calls through the proxy: ${String(calls.length)}, p50 ${pct(0.5).toFixed(2)} ms, p99 ${pct(0.99).toFixed(2)} ms (3 nodes, loopback to a network namespace)`);
  const captureDir = process.env['MXW_KUBE_CAPTURE_DIR'];
  if (captureDir !== undefined) {
    mkdirSync(captureDir, { recursive: true });
    for (const verb of ['filter', 'prioritize']) {
      const c = calls.find((x) => x.verb === verb);
      if (c === undefined) continue;
      writeFileSync(join(captureDir, `kube-scheduler-1.20-${verb}-args.json`), `${JSON.stringify(JSON.parse(c.request), null, 2)}\n`);
      writeFileSync(join(captureDir, `kube-scheduler-1.20-${verb}-result.json`), `${JSON.stringify(JSON.parse(c.response), null, 2)}\n`);
    }
  }

  // A Maxwell daemon killed (the node that took the last pod): once the gossip declares it, the
  // extender filters its node out.
  const victim = lab.nodes.find((n) => `node${String(n.index)}` === lastTaker);
  const survivor = lastTaker === 'node1' ? 'node2' : 'node1';
  assert.ok(victim !== undefined);
  const killedAt = performance.now();
  victim.child.kill('SIGKILL');
  await until(`the extender to see ${String(lastTaker)} gone`, async () => {
    const view = await extender.client.fleet();
    return view.members.some((m) => m.nodeName === lastTaker && m.state !== 'alive');
  }, 60_000, 100);
  const detectedS = (performance.now() - killedAt) / 1000;
  const after = ['after0', 'after1', 'after2'];
  await createPods(after);
  const afterKill = await boundAll(after, 'the pods created after the kill to be bound');
  for (const name of after) assert.equal(afterKill.get(name), survivor, `${name} avoids the dead node and the hot one`);
  t.diagnostic(`${String(lastTaker)} killed: its Maxwell declared not alive after ${detectedS.toFixed(1)} s; the next pods went to ${survivor}`);

  // The extender down (ignorable: true): the scheduler goes on without it.
  extender.child.kill('SIGKILL');
  const orphans = ['noext0', 'noext1'];
  await createPods(orphans);
  const withoutExtender = await boundAll(orphans, 'pods to be bound with the extender down');
  t.diagnostic(`extender down: ${JSON.stringify(orphans.map((n) => withoutExtender.get(n)))} (kube-scheduler's own scoring; ignorable)`);
  assert.match(scheduler.log(), /extender|Extender/, 'the scheduler logged its calls to the extender');
});
