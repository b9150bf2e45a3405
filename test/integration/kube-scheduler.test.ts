/**
 * Maxwell's scheduler extender under a real kube-scheduler (docs/FLEET.md): etcd, kube-apiserver and
 * kube-scheduler built from Debian's source package by scripts/build-kubernetes.sh, on loopback, and
 * three `maxwell run` daemons in network namespaces as the nodes (the fleet lab). The Nodes are
 * registered through the API, node 0 is heated (its twin's ambient raised), pods are created, and
 * what the scheduler did is read back from the apiserver. Skips, saying why, without root, the
 * binaries or etcd.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { request as httpsRequest } from 'node:https';
import { FleetLab, fleetLabUnavailable } from '../../src/research/fleet-lab.js';
import { repoPath } from '../helpers/repo.js';
import { until } from '../helpers/wait.js';

const KUBE_CACHE = process.env['MXW_KUBE_CACHE'] ?? '/var/cache/maxwell/kubernetes';
const KUBE_DIR = existsSync(KUBE_CACHE) ? readdirSync(KUBE_CACHE).filter((d) => !d.startsWith('.')).map((d) => join(KUBE_CACHE, d)).find((d) => existsSync(join(d, 'kube-scheduler'))) : undefined;
const SKIP =
  fleetLabUnavailable() ??
  (KUBE_DIR === undefined
    ? `no kube-apiserver/kube-scheduler under ${KUBE_CACHE}: run sudo bash scripts/build-kubernetes.sh`
    : spawnSync('etcd', ['--version']).status !== 0
      ? 'no etcd (apt-get install etcd-server)'
      : false);

const NODES = 3;
const TOKEN = randomBytes(16).toString('hex');

/** One call to the apiserver (its serving certificate is self-signed in --cert-dir: not verified). */
function call(url: string, method: string, headers: Record<string, string>, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method, headers, rejectUnauthorized: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, text });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

interface Started {
  readonly child: ChildProcess;
  readonly log: () => string;
}

function start(command: string, args: string[]): Started {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const keep = (chunk: Buffer): void => {
    log = (log + chunk.toString()).slice(-16_384);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  return { child, log: () => log };
}

async function stop(s: Started): Promise<void> {
  const running = (): boolean => s.child.exitCode === null && s.child.signalCode === null;
  if (!running()) return;
  s.child.kill('SIGTERM');
  await new Promise((resolve) => setTimeout(resolve, 2000));
  if (running()) s.child.kill('SIGKILL');
}

test('a real kube-scheduler binds pods where Maxwell prices lowest, never on the node it heats past its headroom', { skip: SKIP, timeout: 300_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'maxwell-kube-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const bin = (name: string): string => join(KUBE_DIR ?? '', name);
  const ports = { etcd: 23790 + Math.floor(Math.random() * 100), api: 26443 + Math.floor(Math.random() * 100) };

  const etcd = start('etcd', ['--data-dir', join(dir, 'etcd'), '--listen-client-urls', `http://127.0.0.1:${String(ports.etcd)}`,
    '--advertise-client-urls', `http://127.0.0.1:${String(ports.etcd)}`, '--listen-peer-urls', `http://127.0.0.1:${String(ports.etcd + 1000)}`]);
  t.after(() => stop(etcd));

  // The apiserver: a static token, AlwaysAllow, the service-account flags 1.20 requires, and no
  // ServiceAccount admission (no controller-manager creates the default account).
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(dir, 'sa.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(join(dir, 'tokens.csv'), `${TOKEN},maxwell-test,1,"system:masters"\n`);
  const apiserver = start(bin('kube-apiserver'), [
    `--etcd-servers=http://127.0.0.1:${String(ports.etcd)}`, '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1', `--secure-port=${String(ports.api)}`,
    `--cert-dir=${join(dir, 'certs')}`, `--token-auth-file=${join(dir, 'tokens.csv')}`, '--authorization-mode=AlwaysAllow',
    '--service-account-issuer=https://kubernetes.default.svc', `--service-account-key-file=${join(dir, 'sa.pem')}`, `--service-account-signing-key-file=${join(dir, 'sa.pem')}`,
    '--disable-admission-plugins=ServiceAccount', '--service-cluster-ip-range=10.96.0.0/24', '--insecure-port=0',
  ]);
  t.after(() => stop(apiserver));
  const api = `https://127.0.0.1:${String(ports.api)}`;
  const kube = async (method: 'GET' | 'POST' | 'PATCH' | 'PUT', path: string, body?: unknown, type = 'application/json'): Promise<{ status: number; json: Record<string, unknown> }> => {
    const r = await call(`${api}${path}`, method, { authorization: `Bearer ${TOKEN}`, 'content-type': type, accept: 'application/json' }, body === undefined ? undefined : JSON.stringify(body));
    return { status: r.status, json: r.text.startsWith('{') ? (JSON.parse(r.text) as Record<string, unknown>) : { text: r.text } };
  };
  await until('the apiserver to be ready', async () => (await kube('GET', '/readyz').catch(() => ({ status: 0 }))).status === 200, 90_000, 500)
    .catch((err: unknown) => { throw new Error(`${String(err)}\n${apiserver.log().slice(-3000)}\n--- etcd\n${etcd.log().slice(-1500)}`, { cause: err }); });

  // Three Maxwell nodes; node 0 runs hot (its twin's ambient near the critical temperature).
  const lab = await FleetLab.start({
    nodes: NODES,
    env: (i, addr, seed) => ({
      MAXWELL_FLEET__ENABLED: 'true',
      MAXWELL_FLEET__HOST: addr,
      MAXWELL_FLEET__SEEDS: JSON.stringify(i === 0 ? [] : [seed]),
      MAXWELL_FLEET__NODE_NAME: `node${String(i)}`,
      MAXWELL_FLEET__KUBE_EXTENDER__ENABLED: 'true',
      ...(i === 0 ? { MAXWELL_TWIN__AMBIENT_C: '80' } : {}),
    }),
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

  // The Nodes, as a kubelet would register them, Ready, without the not-ready taint admission adds.
  for (let i = 0; i < NODES; i++) {
    const name = `node${String(i)}`;
    const created = await kube('POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name } } });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const capacity = { cpu: '4', memory: '8Gi', pods: '110' };
    const now = new Date().toISOString();
    const status = await kube('PATCH', `/api/v1/nodes/${name}/status`, { status: { capacity, allocatable: capacity, conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'maxwell test', lastHeartbeatTime: now, lastTransitionTime: now }] } }, 'application/merge-patch+json');
    assert.equal(status.status, 200, JSON.stringify(status.json));
    const untainted = await kube('PATCH', `/api/v1/nodes/${name}`, { spec: { taints: null } }, 'application/merge-patch+json');
    assert.equal(untainted.status, 200, JSON.stringify(untainted.json));
  }

  // The scheduler, calling node 0's Maxwell (any node knows the fleet's prices through gossip),
  // through a recording proxy: what kube-scheduler really sends, and how long each call takes.
  const calls: { verb: string; ms: number; request: string; response: string; status: number }[] = [];
  const proxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      chunks.push(c);
    });
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const t0 = performance.now();
      void fetch(`${extender.client.url}${req.url ?? ''}`, { method: req.method ?? 'POST', headers: { 'content-type': 'application/json' }, body })
        .then(async (r) => {
          const text = await r.text();
          calls.push({ verb: (req.url ?? '').split('/').at(-1) ?? '', ms: performance.now() - t0, request: body, response: text, status: r.status });
          res.writeHead(r.status, { 'content-type': 'application/json' }).end(text);
        })
        .catch(() => {
          res.writeHead(502).end();
        });
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => {
    proxy.close(() => {
      resolve();
    });
  }));
  const extenderUrl = `http://127.0.0.1:${String((proxy.address() as { port: number }).port)}/v1/kube`;
  writeFileSync(join(dir, 'kubeconfig'), JSON.stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'c',
    clusters: [{ name: 'k', cluster: { server: api, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'u', user: { token: TOKEN } }],
    contexts: [{ name: 'c', context: { cluster: 'k', user: 'u' } }],
  }));
  // deploy/'s v1beta1 sample as it is, pointed at the proxy, plus how to reach this apiserver.
  const sample = readFileSync(repoPath('deploy/kubernetes/kube-scheduler-config-v1beta1.yaml'), 'utf8');
  assert.match(sample, /http:\/\/127\.0\.0\.1:7940\/v1\/kube/);
  writeFileSync(join(dir, 'scheduler.yaml'), `${sample.replace('http://127.0.0.1:7940/v1/kube', extenderUrl)}clientConnection:\n  kubeconfig: ${join(dir, 'kubeconfig')}\nleaderElection:\n  leaderElect: false\n`);
  const scheduler = start(bin('kube-scheduler'), [`--config=${join(dir, 'scheduler.yaml')}`, '--port=0', '--secure-port=0', '--v=2']);
  t.after(() => stop(scheduler));

  const pods = Array.from({ length: 6 }, (_, i) => `pod${String(i)}`);
  for (const name of pods) {
    const created = await kube('POST', '/api/v1/namespaces/default/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c', image: 'registry.invalid/pause:3', resources: { requests: { cpu: '100m' } } }] } });
    assert.equal(created.status, 201, JSON.stringify(created.json));
  }
  const placement = async (): Promise<Map<string, string | undefined>> => {
    const list = await kube('GET', '/api/v1/namespaces/default/pods');
    const items = (list.json['items'] ?? []) as { metadata: { name: string }; spec: { nodeName?: string } }[];
    return new Map(items.map((p) => [p.metadata.name, p.spec.nodeName]));
  };
  await until('every pod to be bound', async () => [...(await placement()).values()].filter((n) => n !== undefined).length === pods.length, 60_000, 500)
    .catch(async (err: unknown) => { throw new Error(`${String(err)}: ${JSON.stringify([...(await placement())])}\n--- scheduler\n${scheduler.log().slice(-4000)}`, { cause: err }); });
  const bound = await placement();
  const fleet = await extender.client.fleet();
  t.diagnostic(`kube-scheduler ${spawnSync(bin('kube-scheduler'), ['--version'], { encoding: 'utf8' }).stdout.trim()}: ${JSON.stringify(Object.fromEntries(bound))}; ` +
    `Maxwell's view: ${fleet.members.map((m) => `${m.nodeName} headroom ${m.headroom.toFixed(2)} price ${m.meanPriceJ.toExponential(2)} J`).join(', ')}`);
  assert.ok(![...bound.values()].includes('node0'), 'no pod on the node Maxwell heats past its headroom');
  const cheapest = fleet.members.filter((m) => m.nodeName !== 'node0').sort((a, b) => a.meanPriceJ - b.meanPriceJ)[0]?.nodeName;
  assert.ok([...bound.values()].includes(cheapest), `some pod on the cheapest cool node, ${String(cheapest)}`);

  const createPods = async (names: string[]): Promise<void> => {
    for (const name of names) {
      const created = await kube('POST', '/api/v1/namespaces/default/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c', image: 'registry.invalid/pause:3' }] } });
      assert.equal(created.status, 201, JSON.stringify(created.json));
    }
  };
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
