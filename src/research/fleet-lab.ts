/**
 * A fleet on one machine: `maxwell run` daemons, each in its own network namespace (a veth pair
 * to a bridge in the root namespace, which is how the caller reaches their control APIs).
 * `nsenter --net` switches the network namespace only: `ip netns exec` also remounts /sys,
 * which hides the cgroup mounts the daemons need. Needs root, iproute2 and util-linux.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApiClient } from '../api/client.js';
import { FleetLabError } from '../errors.js';
import { fleetIdentity } from '../fleet/envelope.js';
import { loadOrCreateNodeKey } from '../ledger/node-key.js';
import { MAXWELL_BIN, stopDaemonChild, tailOf, waitForDaemon } from './daemon-child.js';

const GOSSIP_PORT = 7946;

/**
 * A /24 under 10.78.0.0/16 that no interface of the root namespace is in: each lab gets its own, so
 * that two labs (two test files, or a bridge a killed run left behind) never share a subnet.
 */
function freeSubnet(): string {
  const used = new Set(
    [...spawnSync('ip', ['-4', '-o', 'addr', 'show'], { encoding: 'utf8' }).stdout.matchAll(/inet 10\.78\.(\d+)\./g)].map((m) => Number(m[1])),
  );
  for (let octet = 0; octet < 256; octet++) if (!used.has(octet)) return `10.78.${String(octet)}`;
  throw new FleetLabError('every /24 of 10.78.0.0/16 is in use by some interface: remove stale mxl* bridges (ip -br link | grep mxl)');
}

/** Why a fleet lab cannot run here, or null when it can. */
export function fleetLabUnavailable(): string | null {
  if (process.platform !== 'linux') return 'network namespaces are Linux only';
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, veth, a bridge)';
  if (spawnSync('ip', ['netns', 'list']).status !== 0) return '`ip netns` is not available (apt-get install iproute2)';
  if (spawnSync('nsenter', ['--version']).status !== 0) return 'nsenter is not available (apt-get install util-linux)';
  return null;
}

export interface LabNode {
  readonly index: number;
  /** Its network namespace (for `ip netns exec NS tc|nft …`). */
  readonly ns: string;
  readonly addr: string;
  readonly client: ApiClient;
  /** Its control API's write token (the client holds it too). */
  readonly token: string;
  readonly child: ChildProcess;
  /** stdout and stderr of its daemon, the last 8 kB. */
  readonly log: () => string;
}

export interface FleetLabOptions {
  readonly nodes: number;
  /** Environment for node i's daemon (MAXWELL_* configuration), on top of what the lab sets. */
  readonly env: (index: number, addr: string, seed: string) => Record<string, string>;
  /** How long a daemon has to answer, ms. @default 60 000 */
  readonly startTimeoutMs?: number;
  /** Node ids admitted besides the lab's own (e.g. a test's raw FleetNode). */
  readonly extraAllowedIds?: readonly string[];
  /**
   * Called once the bridge is up (its address given), before any namespace or daemon: e.g. to bind
   * delaying proxies on it that the daemons are told to advertise (fleet-delay-lab.ts).
   */
  readonly onBridge?: (bridgeAddr: string) => Promise<void>;
}

function sh(cmd: string, ...args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new FleetLabError(`${cmd} ${args.join(' ')} failed: ${r.stderr.trim() || `exit ${String(r.status)}`}`);
}

/** Namespaces, a bridge and one daemon per namespace; `close` removes all of it. */
export class FleetLab {
  /** The bridge's address in the root namespace: where a raw FleetNode of the caller's can bind. */
  readonly bridgeAddr: string;
  /** Node 0's gossip address, the seed the others join through. */
  readonly seed: string;
  readonly nodes: readonly LabNode[];
  readonly #tag: string;
  readonly #dir: string;
  readonly #count: number;
  /** Daemons started that have not answered yet. */
  readonly #starting = new Set<ChildProcess>();
  #closed = false;

  private constructor(tag: string, subnet: string, dir: string, count: number, nodes: LabNode[]) {
    this.bridgeAddr = `${subnet}.254`;
    this.seed = `${subnet}.1:${String(GOSSIP_PORT)}`;
    this.#tag = tag;
    this.#dir = dir;
    this.#count = count;
    this.nodes = nodes;
  }

  static async start(options: FleetLabOptions): Promise<FleetLab> {
    const why = fleetLabUnavailable();
    if (why !== null) throw new FleetLabError(`cannot run a fleet lab here: ${why}`);
    const tag = randomBytes(2).toString('hex');
    const dir = mkdtempSync(join(tmpdir(), 'maxwell-lab-'));
    const nodes: LabNode[] = [];
    const subnet = freeSubnet();
    const lab = new FleetLab(tag, subnet, dir, options.nodes, nodes);
    try {
      const bridge = `mxl${tag}`;
      sh('ip', 'link', 'add', bridge, 'type', 'bridge');
      sh('ip', 'addr', 'add', `${lab.bridgeAddr}/24`, 'dev', bridge);
      sh('ip', 'link', 'set', bridge, 'up');
      await options.onBridge?.(lab.bridgeAddr);
      // Node keys made before any daemon starts, so that every node can be told every id: a closed
      // fleet (fleet.allowedIds), as the peer token requires.
      mkdirSync(join(dir, 'keys'), { mode: 0o700 });
      const keyPaths = Array.from({ length: options.nodes }, (_, i) => join(dir, 'keys', `n${String(i)}.pem`));
      const allowedIds = [...keyPaths.map((path) => fleetIdentity(loadOrCreateNodeKey(path).privateKey).id), ...(options.extraAllowedIds ?? [])];
      for (let i = 0; i < options.nodes; i++) {
        const ns = `mxl${tag}n${String(i)}`;
        const addr = `${subnet}.${String(i + 1)}`;
        sh('ip', 'netns', 'add', ns);
        sh('ip', 'link', 'add', `ml${tag}${String(i)}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
        sh('ip', 'link', 'set', `ml${tag}${String(i)}`, 'master', bridge, 'up');
        sh('ip', '-n', ns, 'addr', 'add', `${addr}/24`, 'dev', 'eth0');
        sh('ip', '-n', ns, 'link', 'set', 'eth0', 'up');
        sh('ip', '-n', ns, 'link', 'set', 'lo', 'up');
        const home = join(dir, `n${String(i)}`);
        const env = {
          PATH: process.env['PATH'] ?? '',
          MAXWELL_STATE__DIR: join(home, 'state'),
          MAXWELL_LEDGER__PATH: join(home, 'ledger.sqlite'),
          MAXWELL_LEDGER__KEY_PATH: keyPaths[i] as string,
          MAXWELL_FLEET__ALLOWED_IDS: JSON.stringify(allowedIds),
          MAXWELL_DAEMON__RUNTIME_DIR: join(home, 'run'),
          MAXWELL_API__HOST: addr,
          ...options.env(i, addr, lab.seed),
        };
        const child = spawn('nsenter', [`--net=/run/netns/${ns}`, process.execPath, MAXWELL_BIN, 'run'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
        const log = tailOf(child);
        const stateFile = join(home, 'state', 'daemon.json');
        // Tracked before it answers, so that close() stops it when it never does.
        lab.#starting.add(child);
        const { client, token } = await waitForDaemon(stateFile, child, { timeoutMs: options.startTimeoutMs ?? 60_000, log, fail: (why) => new FleetLabError(`the daemon of node ${String(i)}: ${why}`) });
        lab.#starting.delete(child);
        nodes.push({ index: i, ns, addr, client, token, child, log });
      }
      return lab;
    } catch (err) {
      await lab.close();
      throw err;
    }
  }

  /** Stops every daemon (SIGINT, SIGKILL after 20 s) and removes the namespaces, bridge and state. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await Promise.allSettled([...this.nodes.map((n) => n.child), ...this.#starting].map((child) => stopDaemonChild(child)));
    } finally {
      for (let i = 0; i < this.#count; i++) spawnSync('ip', ['netns', 'del', `mxl${this.#tag}n${String(i)}`]);
      spawnSync('ip', ['link', 'del', `mxl${this.#tag}`]);
      rmSync(this.#dir, { recursive: true, force: true });
    }
  }
}
