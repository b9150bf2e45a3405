/**
 * A Kubernetes control plane on loopback for Maxwell's scheduler extender (docs/FLEET.md): Debian's
 * etcd, and kube-apiserver and kube-scheduler built from Debian's source package by
 * scripts/build-kubernetes.sh (cached under /var/cache/maxwell/kubernetes/<version>). The apiserver
 * takes a static token with `AlwaysAllow`, the three service-account flags 1.20 requires, and no
 * `ServiceAccount` admission (no controller-manager runs to create the default account). Nodes are
 * registered as a kubelet would (Ready, without the `not-ready` taint admission adds); no kubelet
 * runs, so pods are bound (`spec.nodeName`) and stay there. Needs root for nothing but the
 * fleet lab beside it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FleetLabError } from '../errors.js';
import type { LabNode } from './fleet-lab.js';

const KUBE_CACHE = process.env['MXW_KUBE_CACHE'] ?? '/var/cache/maxwell/kubernetes';

/** The folder holding kube-apiserver and kube-scheduler, if built. */
export function kubeBinaries(): string | undefined {
  if (!existsSync(KUBE_CACHE)) return undefined;
  return readdirSync(KUBE_CACHE)
    .filter((d) => !d.startsWith('.'))
    .map((d) => join(KUBE_CACHE, d))
    .find((d) => existsSync(join(d, 'kube-scheduler')) && existsSync(join(d, 'kube-apiserver')));
}

/** Why the control plane cannot run here, or null when it can. */
export function kubeLabUnavailable(): string | null {
  if (kubeBinaries() === undefined) return `no kube-apiserver/kube-scheduler under ${KUBE_CACHE}: run sudo bash scripts/build-kubernetes.sh`;
  if (spawnSync('etcd', ['--version']).status !== 0) return 'no etcd (apt-get install etcd-server)';
  return null;
}

/** A child process with the tail of its output. */
export interface Started {
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
  for (let i = 0; i < 40 && running(); i++) await sleep(50);
  if (running()) s.child.kill('SIGKILL');
}

/** One HTTPS call (the apiserver's certificate is self-signed in --cert-dir: not verified). */
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

export interface KubeAnswer {
  readonly status: number;
  readonly json: Record<string, unknown>;
}

export class KubeLab {
  readonly api: string;
  readonly version: string;
  readonly #dir: string;
  readonly #token: string;
  readonly #bin: string;
  readonly #processes: Started[] = [];
  #scheduler: Started | null = null;

  private constructor(dir: string, api: string, token: string, bin: string) {
    this.#dir = dir;
    this.api = api;
    this.#token = token;
    this.#bin = bin;
    this.version = spawnSync(join(bin, 'kube-scheduler'), ['--version'], { encoding: 'utf8' }).stdout.trim();
  }

  /** etcd and the apiserver, ready (`/readyz` 200). Throws `MXW_ERR_FLEET_LAB` with their logs' tails. */
  static async start(): Promise<KubeLab> {
    const why = kubeLabUnavailable();
    const bin = kubeBinaries();
    if (why !== null || bin === undefined) throw new FleetLabError(`cannot run Kubernetes here: ${why ?? 'no binaries'}`);
    const dir = mkdtempSync(join(tmpdir(), 'maxwell-kube-'));
    const etcdPort = 23790 + Math.floor(Math.random() * 100);
    const apiPort = 26443 + Math.floor(Math.random() * 100);
    const token = randomBytes(16).toString('hex');
    const lab = new KubeLab(dir, `https://127.0.0.1:${String(apiPort)}`, token, bin);
    try {
      const etcd = start('etcd', ['--data-dir', join(dir, 'etcd'), '--listen-client-urls', `http://127.0.0.1:${String(etcdPort)}`,
        '--advertise-client-urls', `http://127.0.0.1:${String(etcdPort)}`, '--listen-peer-urls', `http://127.0.0.1:${String(etcdPort + 1000)}`]);
      lab.#processes.push(etcd);
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      writeFileSync(join(dir, 'sa.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
      writeFileSync(join(dir, 'tokens.csv'), `${token},maxwell-lab,1,"system:masters"\n`);
      const apiserver = start(join(bin, 'kube-apiserver'), [
        `--etcd-servers=http://127.0.0.1:${String(etcdPort)}`, '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1', `--secure-port=${String(apiPort)}`,
        `--cert-dir=${join(dir, 'certs')}`, `--token-auth-file=${join(dir, 'tokens.csv')}`, '--authorization-mode=AlwaysAllow',
        '--service-account-issuer=https://kubernetes.default.svc', `--service-account-key-file=${join(dir, 'sa.pem')}`, `--service-account-signing-key-file=${join(dir, 'sa.pem')}`,
        '--disable-admission-plugins=ServiceAccount', '--service-cluster-ip-range=10.96.0.0/24', '--insecure-port=0',
        // As kubeadm sets it: Maxwell's DaemonSet is privileged (cgroups, eBPF).
        '--allow-privileged=true',
      ]);
      lab.#processes.push(apiserver);
      const deadline = performance.now() + 90_000;
      while ((await lab.request('GET', '/readyz').catch(() => ({ status: 0 }))).status !== 200) {
        if (performance.now() > deadline || apiserver.child.exitCode !== null) {
          throw new FleetLabError(`kube-apiserver not ready within 90 s:\n${apiserver.log().slice(-3000)}\n--- etcd\n${etcd.log().slice(-1500)}`);
        }
        await sleep(250);
      }
      writeFileSync(join(dir, 'kubeconfig'), JSON.stringify({
        apiVersion: 'v1', kind: 'Config', 'current-context': 'c',
        clusters: [{ name: 'k', cluster: { server: lab.api, 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'u', user: { token } }],
        contexts: [{ name: 'c', context: { cluster: 'k', user: 'u' } }],
      }));
      return lab;
    } catch (err) {
      await lab.close();
      throw err;
    }
  }

  /** One apiserver call with the lab's token. */
  async request(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown, type = 'application/json'): Promise<KubeAnswer> {
    const r = await call(`${this.api}${path}`, method, { authorization: `Bearer ${this.#token}`, 'content-type': type, accept: 'application/json' }, body === undefined ? undefined : JSON.stringify(body));
    return { status: r.status, json: r.text.startsWith('{') ? (JSON.parse(r.text) as Record<string, unknown>) : { text: r.text } };
  }

  /** Creates an object from a YAML manifest, as `kubectl create -f` would: the apiserver parses, defaults and validates it. */
  async createFromYaml(path: string, yaml: string): Promise<KubeAnswer> {
    const r = await call(`${this.api}${path}`, 'POST', { authorization: `Bearer ${this.#token}`, 'content-type': 'application/yaml', accept: 'application/json' }, yaml);
    return { status: r.status, json: r.text.startsWith('{') ? (JSON.parse(r.text) as Record<string, unknown>) : { text: r.text } };
  }

  async #expect(status: number, method: 'POST' | 'PATCH', path: string, body: unknown, type?: string): Promise<void> {
    const r = await this.request(method, path, body, type);
    if (r.status !== status) throw new FleetLabError(`${method} ${path}: ${String(r.status)} ${JSON.stringify(r.json).slice(0, 500)}`);
  }

  /** Nodes as a kubelet registers them: 4 CPUs, Ready, and without the not-ready taint admission adds. */
  async registerNodes(names: readonly string[]): Promise<void> {
    const capacity = { cpu: '4', memory: '8Gi', pods: '110' };
    for (const name of names) {
      await this.#expect(201, 'POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name } } });
      const now = new Date().toISOString();
      await this.#expect(200, 'PATCH', `/api/v1/nodes/${name}/status`, { status: { capacity, allocatable: capacity, conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'maxwell kube lab', lastHeartbeatTime: now, lastTransitionTime: now }] } }, 'application/merge-patch+json');
      await this.#expect(200, 'PATCH', `/api/v1/nodes/${name}`, { spec: { taints: null } }, 'application/merge-patch+json');
    }
  }

  /** Pods in `default` that request a little CPU (no kubelet will run them). */
  async createPods(names: readonly string[]): Promise<void> {
    for (const name of names) {
      await this.#expect(201, 'POST', '/api/v1/namespaces/default/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c', image: 'registry.invalid/pause:3', resources: { requests: { cpu: '10m' } } }] } });
    }
  }

  /** Every pod in `default` and the node it is bound to (undefined: pending). */
  async placement(): Promise<Map<string, string | undefined>> {
    const list = await this.request('GET', '/api/v1/namespaces/default/pods');
    const items = (list.json['items'] ?? []) as { metadata: { name: string }; spec: { nodeName?: string } }[];
    return new Map(items.map((p) => [p.metadata.name, p.spec.nodeName]));
  }

  /**
   * Starts kube-scheduler with a KubeSchedulerConfiguration (YAML, without `clientConnection` and
   * `leaderElection`, which the lab adds), stopping the one before.
   */
  async startScheduler(configYaml: string): Promise<Started> {
    if (this.#scheduler !== null) await stop(this.#scheduler);
    const file = join(this.#dir, `scheduler-${String(this.#processes.length)}.yaml`);
    writeFileSync(file, `${configYaml.trimEnd()}\nclientConnection:\n  kubeconfig: ${join(this.#dir, 'kubeconfig')}\nleaderElection:\n  leaderElect: false\n`);
    const scheduler = start(join(this.#bin, 'kube-scheduler'), [`--config=${file}`, '--port=0', '--secure-port=0', '--v=2']);
    this.#processes.push(scheduler);
    this.#scheduler = scheduler;
    return scheduler;
  }

  async stopScheduler(): Promise<void> {
    if (this.#scheduler !== null) await stop(this.#scheduler);
    this.#scheduler = null;
  }

  /** Stops everything it started (the scheduler first) and removes its folder. Idempotent. */
  async close(): Promise<void> {
    for (const p of [...this.#processes].reverse()) await stop(p);
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

/** One extender call as the recording proxy saw it. */
export interface ExtenderCall {
  /** `filter` or `prioritize`. */
  readonly verb: string;
  /** The pod it was for (`Pod.metadata.name`). */
  readonly pod: string;
  /** From the request's last byte to the answer's, through the proxy to Maxwell and back, ms. */
  readonly ms: number;
  readonly status: number;
  readonly request: string;
  readonly response: string;
}

export interface RecordingProxy {
  /** The `urlPrefix` to give kube-scheduler: `http://127.0.0.1:PORT/v1/kube`. */
  readonly url: string;
  readonly calls: ExtenderCall[];
  close(): Promise<void>;
}

/**
 * An HTTP proxy on loopback in front of a Maxwell control API: it forwards kube-scheduler's
 * extender calls and records each one (what the scheduler really sends, and how long it waits).
 */
export async function recordingProxy(maxwellApiUrl: string): Promise<RecordingProxy> {
  const calls: ExtenderCall[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      chunks.push(c);
    });
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const t0 = performance.now();
      const verb = (req.url ?? '').split('/').at(-1) ?? '';
      let pod = '';
      try {
        pod = (JSON.parse(body) as { Pod?: { metadata?: { name?: string } } }).Pod?.metadata?.name ?? '';
      } catch {
        // Not JSON: recorded as it came, for the assertion that reads it.
      }
      void fetch(`${maxwellApiUrl}${req.url ?? ''}`, { method: req.method ?? 'POST', headers: { 'content-type': 'application/json' }, body })
        .then(async (r) => {
          const text = await r.text();
          calls.push({ verb, pod, ms: performance.now() - t0, status: r.status, request: body, response: text });
          res.writeHead(r.status, { 'content-type': 'application/json' }).end(text);
        })
        .catch(() => {
          res.writeHead(502).end();
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${String(port)}/v1/kube`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

/** deploy/'s v1beta1 sample with its urlPrefix replaced, or with no extender at all (`null`). */
export function schedulerConfig(sample: string, extenderUrl: string | null): string {
  if (extenderUrl === null) return sample.slice(0, sample.indexOf('\nextenders:') + 1);
  return sample.replace('http://127.0.0.1:7940/v1/kube', extenderUrl);
}

/**
 * Fleet-lab environment for Maxwell daemons that serve as Kubernetes nodes: gossip through node 0,
 * the extender on, `fleet.nodeName` = `node<i>` (the Node objects' names), each twin driven by its
 * own node's agents (the namespaces share the machine's CPUs), and node `hot`'s twin at a hot
 * ambient (80 °C by default: its headroom is gone).
 */
export function kubeNodeEnv(hot = 0, ambient: { readonly hotAmbientC?: number; readonly coolAmbientC?: number } = {}): (index: number, addr: string, seed: string) => Record<string, string> {
  return (i, addr, seed) => {
    const ambientC = i === hot ? (ambient.hotAmbientC ?? 80) : ambient.coolAmbientC;
    return {
      MAXWELL_FLEET__ENABLED: 'true',
      MAXWELL_FLEET__HOST: addr,
      MAXWELL_FLEET__SEEDS: JSON.stringify(i === 0 ? [] : [seed]),
      MAXWELL_FLEET__NODE_NAME: `node${String(i)}`,
      MAXWELL_FLEET__KUBE_EXTENDER__ENABLED: 'true',
      // The lab's nodes share one chassis but not one ambient, which the fleet's damping of liars
      // rightly disbelieves (a rack neighbour's heat that never shows here): the lab measures the
      // extender's scores, so it keeps every node's word.
      MAXWELL_FLEET__TRUST__ENABLED: 'false',
      MAXWELL_DAEMON__TWIN_DRIVE: 'agents',
      ...(ambientC === undefined ? {} : { MAXWELL_TWIN__AMBIENT_C: String(ambientC) }),
    };
  };
}

/** Until every node sees every node alive and priced (a member's price comes with its first gossiped metadata). */
export async function fleetConverged(nodes: readonly LabNode[], timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const views = await Promise.all(nodes.map((n) => n.client.fleet().catch(() => null)));
    if (views.every((v) => v !== null && v.members.filter((m) => m.state === 'alive' && m.meanPriceJ > 0).length === nodes.length)) return;
    if (performance.now() > deadline) throw new FleetLabError(`the fleet did not converge on ${String(nodes.length)} alive, priced members within ${String(timeoutMs / 1000)} s`);
    await sleep(250);
  }
}
