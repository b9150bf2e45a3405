/**
 * Maxwell's scheduler extender under a real kube-scheduler (docs/FLEET.md): etcd, kube-apiserver and
 * kube-scheduler built from Debian's source package by scripts/build-kubernetes.sh, on loopback (the
 * kube lab), and three `maxwell run` daemons in network namespaces as the nodes (the fleet lab). The Nodes are
 * registered through the API, node 0 is heated (its twin's ambient raised), pods are created, and
 * what the scheduler did is read back from the apiserver. Skips, saying why, without root, the
 * binaries or etcd.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FleetLab, fleetLabUnavailable } from '../../src/research/fleet-lab.js';
import { KubeLab, kubeLabUnavailable, kubeNodeEnv, recordingProxy, schedulerConfig } from '../../src/research/kube-lab.js';
import { repoPath } from '../helpers/repo.js';
import { until } from '../helpers/wait.js';

const SKIP = fleetLabUnavailable() ?? kubeLabUnavailable() ?? false;
const NODES = 3;

test('a real kube-scheduler binds pods where Maxwell prices lowest, never on the node it heats past its headroom', { skip: SKIP, timeout: 300_000 }, async (t) => {
  const kube = await KubeLab.start();
  t.after(() => kube.close());

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
  await until('every node to see three alive, priced members', async () => {
    const views = await Promise.all(lab.nodes.map((n) => n.client.fleet().catch(() => null)));
    return views.every((v) => v !== null && v.members.filter((m) => m.state === 'alive' && m.meanPriceJ > 0).length === NODES);
  }, 60_000, 250);

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

  const pods = Array.from({ length: 6 }, (_, i) => `pod${String(i)}`);
  await kube.createPods(pods);
  const placement = (): Promise<Map<string, string | undefined>> => kube.placement();
  await until('every pod to be bound', async () => [...(await placement()).values()].filter((n) => n !== undefined).length === pods.length, 60_000, 500)
    .catch(async (err: unknown) => { throw new Error(`${String(err)}: ${JSON.stringify([...(await placement())])}\n--- scheduler\n${scheduler.log().slice(-4000)}`, { cause: err }); });
  const bound = await placement();
  const fleet = await extender.client.fleet();
  t.diagnostic(`kube-scheduler ${kube.version}: ${JSON.stringify(Object.fromEntries(bound))}; ` +
    `Maxwell's view: ${fleet.members.map((m) => `${m.nodeName} headroom ${m.headroom.toFixed(2)} price ${m.meanPriceJ.toExponential(2)} J`).join(', ')}`);
  assert.ok(![...bound.values()].includes('node0'), 'no pod on the node Maxwell heats past its headroom');
  const cheapest = fleet.members.filter((m) => m.nodeName !== 'node0').sort((a, b) => a.meanPriceJ - b.meanPriceJ)[0]?.nodeName;
  assert.ok([...bound.values()].includes(cheapest), `some pod on the cheapest cool node, ${String(cheapest)}`);

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

  // A Maxwell daemon killed: once the gossip declares it, the extender filters its node out.
  const victim = lab.nodes.find((n) => `node${String(n.index)}` === cheapest);
  const survivor = cheapest === 'node1' ? 'node2' : 'node1';
  assert.ok(victim !== undefined);
  const killedAt = performance.now();
  victim.child.kill('SIGKILL');
  await until(`the extender to see ${String(cheapest)} gone`, async () => {
    const view = await extender.client.fleet();
    return view.members.some((m) => m.nodeName === cheapest && m.state !== 'alive');
  }, 60_000, 100);
  const detectedS = (performance.now() - killedAt) / 1000;
  const after = ['after0', 'after1', 'after2'];
  await createPods(after);
  const afterKill = await boundAll(after, 'the pods created after the kill to be bound');
  for (const name of after) assert.equal(afterKill.get(name), survivor, `${name} avoids the dead node and the hot one`);
  t.diagnostic(`${String(cheapest)} killed: its Maxwell declared not alive after ${detectedS.toFixed(1)} s; the next pods went to ${survivor}`);

  // The extender down (ignorable: true): the scheduler goes on without it.
  extender.child.kill('SIGKILL');
  const orphans = ['noext0', 'noext1'];
  await createPods(orphans);
  const withoutExtender = await boundAll(orphans, 'pods to be bound with the extender down');
  t.diagnostic(`extender down: ${JSON.stringify(orphans.map((n) => withoutExtender.get(n)))} (kube-scheduler's own scoring; ignorable)`);
  assert.match(scheduler.log(), /extender|Extender/, 'the scheduler logged its calls to the extender');
});
