/**
 * A fleet lab with delay on its links, for kernels without tc netem: every gossip datagram between
 * the daemons goes through a delaying proxy (udp-delay.ts) in the root namespace, on the bridge.
 *
 * Node i's daemon binds its namespace's address on port 7947 and advertises the bridge address on
 * port 17946 + i, where proxy i listens and forwards to it. Members reach each other only by the
 * addresses they advertise, and SWIM answers the source of a datagram (acks, sync replies), which
 * for a proxied datagram is the proxy's upstream socket: so every datagram from node a to node b
 * crosses proxy b once (a ping from a and its ack both cross b's), and the proxy, which knows
 * which node each client address is, delays it by `law(a, b)`. A delay on one node's links is
 * thus seen by every probe of it and every probe it sends: a ping and its ack each wait one draw.
 * The daemons' cooperation is their configuration only (fleet.port, fleet.advertise). An
 * nftables guard in each namespace drops and counts gossip that would bypass the proxies.
 * TCP push-pulls pass through undelayed (they are not what probe timeouts see), except that a
 * silent law (loss 1) refuses them: {@link DelayedFleet.silence} makes a node a crashed one to the
 * network, and can be undone.
 */
import { spawnSync } from 'node:child_process';
import { FleetLabError } from '../errors.js';
import { FleetLab, type FleetLabOptions } from './fleet-lab.js';
import { NO_DELAY, UdpDelayProxy, type DelayLaw } from './udp-delay.js';

/** The port the daemons bind; peers never send to it directly (the guard drops what would). */
export const REAL_GOSSIP_PORT = 7947;
const PROXY_BASE_PORT = 17946;
/** Extra member k (e.g. a test's observer, in the root namespace) binds the bridge address on this + k. */
const EXTRA_BASE_PORT = 18946;

/** The law of a datagram from node `from` to node `to` (null: a client that is not a lab node, e.g. an observer). */
export type LinkLaw = (from: number | null, to: number | null) => DelayLaw;

/** `delayMs ± jitterMs` uniform, on every link that touches one of `nodes`, none elsewhere. */
export function delayOnNodes(nodes: readonly number[], delayMs: number, jitterMs: number): LinkLaw {
  const law: DelayLaw = { delayMs, jitterMs, distribution: 'uniform', loss: 0 };
  return (from, to) => ((from !== null && nodes.includes(from)) || (to !== null && nodes.includes(to)) ? law : NO_DELAY);
}

export interface DelayedFleetOptions extends Omit<FleetLabOptions, 'onBridge'> {
  /** Seed of the proxies' draws (proxy i uses seed + i). @default 1 */
  readonly seed?: number;
  /**
   * Members besides the daemons (raw FleetNodes of the caller's, in the root namespace), each behind
   * a proxy too, member index nodes + k: one that bound the bridge address directly would be a path
   * around the proxies (it could relay a silenced node's refutations). @default 0
   */
  readonly extraMembers?: number;
}

export class DelayedFleet {
  readonly lab: FleetLab;
  readonly proxies: readonly UdpDelayProxy[];
  readonly #subnet: string;
  #law: LinkLaw = () => NO_DELAY;
  readonly #silent = new Set<number>();

  private constructor(lab: FleetLab, proxies: UdpDelayProxy[]) {
    this.lab = lab;
    this.proxies = proxies;
    this.#subnet = lab.bridgeAddr.replace(/\.254$/, '');
  }

  /**
   * Proxies on the bridge, then the lab, its daemons told to bind port 7947 and advertise their
   * proxy (node 0's is every other's seed), then the nftables guards. Needs `nft`.
   */
  static async start(options: DelayedFleetOptions): Promise<DelayedFleet> {
    if (spawnSync('nft', ['--version']).status !== 0) throw new FleetLabError('nft is not installed (apt-get install nftables): the delayed fleet guards its proxies with it');
    const proxies: UdpDelayProxy[] = [];
    let self: DelayedFleet | null = null;
    const lawOf = (i: number) => (direction: 'forward' | 'reply', client: string): DelayLaw => {
      if (self === null) return NO_DELAY;
      const c = self.#nodeOf(client);
      const [from, to] = direction === 'forward' ? [c, i] : [i, c];
      if ((from !== null && self.#silent.has(from)) || (to !== null && self.#silent.has(to))) return { ...NO_DELAY, loss: 1 };
      return self.#law(from, to);
    };
    let bridge = '';
    let lab: FleetLab;
    try {
      lab = await FleetLab.start({
        ...options,
        onBridge: async (bridgeAddr) => {
          bridge = bridgeAddr;
          const subnet = bridgeAddr.replace(/\.254$/, '');
          for (let i = 0; i < options.nodes + (options.extraMembers ?? 0); i++) {
            const extra = i - options.nodes;
            proxies.push(await UdpDelayProxy.start({
              listen: { host: bridgeAddr, port: PROXY_BASE_PORT + i },
              forward: extra >= 0 ? { host: bridgeAddr, port: EXTRA_BASE_PORT + extra } : { host: `${subnet}.${String(i + 1)}`, port: REAL_GOSSIP_PORT },
              seed: (options.seed ?? 1) + i,
              tcp: true,
              law: lawOf(i),
            }));
          }
        },
        env: (i, addr, seed) => ({
          ...options.env(i, addr, seed),
          MAXWELL_FLEET__HOST: addr,
          MAXWELL_FLEET__PORT: String(REAL_GOSSIP_PORT),
          MAXWELL_FLEET__ADVERTISE: `${bridge}:${String(PROXY_BASE_PORT + i)}`,
          MAXWELL_FLEET__SEEDS: JSON.stringify(i === 0 ? [] : [`${bridge}:${String(PROXY_BASE_PORT)}`]),
        }),
      });
    } catch (err) {
      await Promise.allSettled(proxies.map((p) => p.close()));
      throw err;
    }
    self = new DelayedFleet(lab, proxies);
    try {
      for (const n of lab.nodes) {
        const nft = (...args: string[]): void => {
          const r = spawnSync('ip', ['netns', 'exec', n.ns, 'nft', ...args], { encoding: 'utf8' });
          if (r.status !== 0) throw new FleetLabError(`nft ${args.join(' ')} in ${n.ns}: ${r.stderr.trim()}`);
        };
        nft('add', 'table', 'inet', 'mxdelay');
        nft('add', 'chain', 'inet', 'mxdelay', 'in', '{ type filter hook input priority 0; }');
        for (const proto of ['udp', 'tcp']) nft('add', 'rule', 'inet', 'mxdelay', 'in', 'ip', 'saddr', '!=', bridge, proto, 'dport', String(REAL_GOSSIP_PORT), 'counter', 'drop');
      }
    } catch (err) {
      await self.close();
      throw err;
    }
    return self;
  }

  /** Where extra member k binds (the bridge address, port 18946 + k); it advertises {@link gossipAddr}(nodes + k). */
  extraBind(k: number): { host: string; port: number } {
    return { host: this.lab.bridgeAddr, port: EXTRA_BASE_PORT + k };
  }

  /** The address member i advertises (its proxy's): node 0's is the seed. */
  gossipAddr(i: number): string {
    return `${this.lab.bridgeAddr}:${String(PROXY_BASE_PORT + i)}`;
  }

  /** The law of every datagram from now on (those in flight keep theirs). */
  setLaw(law: LinkLaw): void {
    this.#law = law;
  }

  /** Node i's gossip all lost, both ways, TCP refused: a crash as the network sees it, until {@link unsilence}. */
  silence(i: number): void {
    this.#silent.add(i);
  }

  unsilence(i: number): void {
    this.#silent.delete(i);
  }

  /** Datagrams and segments the guards dropped: gossip that went around a proxy (0 when the design holds). */
  bypassed(): number {
    let total = 0;
    for (const n of this.lab.nodes) {
      const out = spawnSync('ip', ['netns', 'exec', n.ns, 'nft', 'list', 'table', 'inet', 'mxdelay'], { encoding: 'utf8' }).stdout;
      for (const m of out.matchAll(/counter packets (\d+)/g)) total += Number(m[1]);
    }
    return total;
  }

  #nodeOf(client: string): number | null {
    // A daemon by its address alone (its datagrams come from its gossip port, its push-pulls from any
    // port); an extra member by its port on the bridge address (its push-pulls' ports are unknown: null).
    const m = /^(\d+\.\d+\.\d+)\.(\d+):(\d+)$/.exec(client);
    if (m?.[1] !== this.#subnet) return null;
    const i = m[2] === '254' ? this.lab.nodes.length + Number(m[3]) - EXTRA_BASE_PORT : Number(m[2]) - 1;
    return i >= 0 && i < this.proxies.length ? i : null;
  }

  /** Stops the daemons, removes the namespaces and bridge (the guards go with them), closes the proxies. */
  async close(): Promise<void> {
    try {
      await this.lab.close();
    } finally {
      await Promise.allSettled(this.proxies.map((p) => p.close()));
    }
  }
}
