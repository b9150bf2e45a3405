/**
 * The daemon's part in the fleet (docs/FLEET.md): a FleetNode (SWIM + Lifeguard membership and
 * push-sum over signed UDP datagrams, `src/fleet/`) that gossips this node's headroom, mean
 * reserve price and power, signed with the ledger's node key; from the members' gossip it
 * computes the stress this node feels from its coupled neighbours (chassis, rack, row, zone)
 * and the multiplier on its reserve prices, so that a hot rack raises prices on its cool members
 * before the shared cooling throttles them. Without `fleet.enabled` the view is this node alone
 * and the multiplier 1.
 */
import type { KeyObject } from 'node:crypto';
import { hostname } from 'node:os';
import { FleetConfigError } from '../errors.js';
import { createHierarchyCoupling, fleetStress, type FleetStress, type HierarchyCoupling } from './coupling.js';
import type { FleetLocation, MemberMeta } from './messages.js';
import { fleetIdentity } from './envelope.js';
import type { SwimConfig } from './swim-config.js';
import type { TrustConfig } from './trust.js';
import { FleetNode } from './transport.js';
import type { FleetMemberSnapshot, FleetSnapshot } from './snapshot.js';

/** What the link needs of the `fleet` config section (docs/CONFIGURATION.md); the fleet depends on no config loader. */
export interface FleetConfig {
  readonly enabled: boolean;
  readonly nodeName: string;
  readonly host: string;
  readonly port: number;
  readonly advertise: string;
  readonly seeds: readonly string[];
  readonly swim: Partial<SwimConfig>;
  readonly pushPullOverTcp: boolean;
  readonly peerToken: string;
  readonly allowedIds: readonly string[];
  readonly location: FleetLocation;
  readonly maxPriceMultiplier: number;
  /** Damping of members whose headroom disagrees with their rack's (trust.ts). @default its defaults */
  readonly trust?: Partial<TrustConfig>;
}

/** This node's own figures, read when the gossip asks. */
export interface LocalFigures {
  readonly headroom: number;
  readonly meanPriceJ: number;
  readonly powerW: number;
}

const NO_STRESS: FleetStress = { external: 0, multiplier: 1, levels: { chassis: { meanStress: 0, peers: 0 }, rack: { meanStress: 0, peers: 0 }, row: { meanStress: 0, peers: 0 }, zone: { meanStress: 0, peers: 0 } } };

export interface FleetLinkOptions {
  readonly config: FleetConfig;
  readonly key: KeyObject;
  /** This node's figures now (read when gossip needs them). */
  readonly local: () => LocalFigures;
  /** Told the factor on this node's reserve prices each time the stress it feels changes (capped; 1: none). */
  readonly onPriceMultiplier?: (multiplier: number) => void;
}

export class FleetLink {
  readonly #config: FleetConfig;
  readonly #local: () => LocalFigures;
  readonly #onPriceMultiplier: ((multiplier: number) => void) | undefined;
  readonly #nodeName: string;
  readonly #node: FleetNode | null;
  readonly #coupling;
  #stress: FleetStress = NO_STRESS;
  #apiUrl: string | null = null;

  constructor(options: FleetLinkOptions) {
    this.#config = options.config;
    this.#local = options.local;
    this.#onPriceMultiplier = options.onPriceMultiplier;
    // A host name that is not a valid node name (too long, odd characters) is cut to one.
    this.#nodeName = options.config.nodeName === '' ? (hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 63) || 'node') : options.config.nodeName;
    this.#coupling = createHierarchyCoupling();
    const c = options.config;
    // The peer token is sent to the API URL other members gossip: in an open fleet anyone who joins
    // could advertise an URL and be sent it (and with it write access to every node's API).
    if (c.enabled && c.peerToken !== '' && c.allowedIds.length === 0) {
      throw new FleetConfigError('fleet.peerToken needs fleet.allowedIds: in an open fleet anyone who can reach the gossip port could join, advertise a control API and be sent the peer token; list the nodes\' ids (`maxwell fleet` prints each node\'s) or leave fleet.peerToken empty (placement then stays on this node)');
    }
    this.#node = !c.enabled
      ? null
      : new FleetNode({
          key: options.key,
          host: c.host,
          port: c.port,
          ...(c.advertise === '' ? {} : { advertise: c.advertise }),
          seeds: c.seeds,
          swim: c.swim,
          pushPullOverTcp: c.pushPullOverTcp,
          localMetadata: () => this.#meta(),
          ...(c.allowedIds.length === 0 ? {} : { allowedIds: new Set([...c.allowedIds, fleetIdentity(options.key).id]) }),
          metaIntervalMs: 1000,
          ...(c.trust === undefined ? {} : { trust: c.trust }),
        });
    this.#node?.on('member', () => { this.#restress(); });
    this.#node?.on('judged', () => { this.#restress(); });
  }

  async start(): Promise<void> {
    await this.#node?.start();
  }

  async stop(): Promise<void> {
    if (this.#node === null) return;
    this.#node.leave();
    await this.#node.stop();
  }

  /** Publishes this node's control API to the fleet (for placement), once it listens on an address others reach; null withdraws it. */
  setApiUrl(url: string | null): void {
    this.#apiUrl = url;
  }

  /** The factor on this node's reserve prices now (1 without a fleet; capped by `fleet.maxPriceMultiplier`). */
  priceMultiplier(): number {
    return Math.min(this.#config.maxPriceMultiplier, this.#stress.multiplier);
  }

  #meta(): MemberMeta {
    const f = this.#local();
    const finite = (v: number, fallback: number): number => (Number.isFinite(v) ? v : fallback);
    return {
      headroom: Math.min(1, Math.max(0, finite(f.headroom, 1))),
      meanPrice: Math.max(0, finite(f.meanPriceJ, 0)),
      powerW: Math.max(0, finite(f.powerW, 0)),
      location: this.#config.location,
      nodeName: this.#nodeName,
      ...(this.#apiUrl === null ? {} : { apiUrl: this.#apiUrl }),
    };
  }

  #restress(): void {
    const node = this.#node;
    if (node === null) return;
    const before = this.priceMultiplier();
    this.#stress = stressFromMembers(this.#config.location, node.id, node.members(), this.#coupling, (id) => node.trust(id));
    const after = this.priceMultiplier();
    if (after !== before) this.#onPriceMultiplier?.(after);
  }

  snapshot(): FleetSnapshot {
    const node = this.#node;
    const self = this.#meta();
    const own: FleetMemberSnapshot = { id: node?.id ?? 'local', nodeName: this.#nodeName, addr: node?.address ?? '', state: 'alive', headroom: self.headroom, meanPriceJ: self.meanPrice, powerW: self.powerW, location: self.location, apiUrl: this.#apiUrl, self: true, trust: 1, distrusted: null };
    if (node === null) return { enabled: false, id: null, address: null, members: [own], aggregate: null, stress: { external: 0, multiplier: 1, applied: 1 }, drops: {}, pushPulls: { stream: 0, failed: 0 } };
    this.#restress();
    const others = node
      .members()
      .filter((m) => m.id !== node.id)
      .map((m): FleetMemberSnapshot => {
        return { id: m.id, nodeName: m.meta.nodeName ?? m.id, addr: m.addr, state: m.state, headroom: m.meta.headroom, meanPriceJ: m.meta.meanPrice, powerW: m.meta.powerW, location: m.meta.location, apiUrl: m.meta.apiUrl ?? null, self: false, trust: node.trust(m.id), distrusted: node.distrusted(m.id) };
      });
    const a = node.aggregate();
    return {
      enabled: true,
      id: node.id,
      address: node.address,
      members: [own, ...others],
      aggregate:
        a === null
          ? null
          : {
              epoch: a.epoch,
              members: a.members,
              meanHeadroom: a.mean[0],
              meanPriceJ: a.mean[1],
              totalPowerW: a.totalPowerW,
              zone: a.zone === null ? null : { name: a.zone.name, members: a.zone.members, meanHeadroom: a.zone.mean[0], meanPriceJ: a.zone.mean[1], totalPowerW: a.zone.totalPowerW },
            },
      stress: { external: this.#stress.external, multiplier: this.#stress.multiplier, applied: this.priceMultiplier() },
      drops: node.drops,
      pushPulls: { ...node.pushPulls },
    };
  }
}

/**
 * The stress this node feels from the members it knows: alive and suspect ones count with their last
 * metadata, the dead and the departed do not. A suspicion is not a death (SWIM refutes most of them
 * within a period), and dropping a suspect's heat for that while made prices, and placement, flap.
 * A member trusted less than fully (trust.ts) counts with its stress × its trust.
 */
export function stressFromMembers(self: FleetLocation, selfId: string, members: readonly { readonly id: string; readonly state: string; readonly meta: { readonly location: FleetLocation; readonly headroom: number } }[], coupling?: HierarchyCoupling, trustOf: (id: string) => number = () => 1): FleetStress {
  const peers = members
    .filter((m) => m.id !== selfId && (m.state === 'alive' || m.state === 'suspect'))
    .map((m) => ({ location: m.meta.location, headroom: 1 - trustOf(m.id) * (1 - Math.min(1, Math.max(0, m.meta.headroom))) }));
  return fleetStress(self, peers, coupling);
}
