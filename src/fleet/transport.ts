/**
 * A fleet node on real UDP (`node:dgram`): SWIM + Lifeguard membership (swim.ts), push-sum
 * aggregation of (headroom, mean price, power) (push-sum.ts), every datagram a signed envelope
 * (envelope.ts). One timer, armed at the earliest deadline of the state machines; nothing is
 * blocking. Drops are counted per reason in {@link FleetNode.drops}.
 *
 * @example
 * const node = new FleetNode({ key, port: 7946, seeds: ['10.0.0.1:7946'], localMetadata: () => meta });
 * node.on('member', (e) => log(e.id, e.state));
 * node.on('aggregate', (a) => log(a.mean, a.totalPowerW));
 * await node.start();
 */
import { randomInt, type KeyObject } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import { FleetBindError, FleetConfigError, FleetStateError, toError } from '../errors.js';
import { SeededRandom } from '../internal/seeded-random.js';
import { createAliveAuth, DROP_REASONS, EnvelopeCodec, fleetIdentity, type DropReason, type FleetIdentity } from './envelope.js';
import { isValidMeta, type FleetMessage, type MemberMeta, type PushSumShare } from './messages.js';
import { PushSum, type PushSumConfig, type Vec3 } from './push-sum.js';
import { requestStreamSync, StreamSyncServer } from './stream-sync.js';
import { Swim, type MemberEvent, type MemberView, type Outgoing } from './swim.js';
import type { SwimConfig } from './swim-config.js';
import { NeighbourTrust, type TrustConfig } from './trust.js';

export interface FleetNodeOptions {
  /** The node's Ed25519 private key; its id is derived from it (envelope.ts). */
  readonly key: KeyObject;
  /** Address to bind. @default '127.0.0.1' */
  readonly host?: string;
  /** UDP port to bind; 0 picks a free one. @default 0 */
  readonly port?: number;
  /** `host:port` others should send to. @default host:bound port */
  readonly advertise?: string;
  /** `host:port` of members to join through. @default [] */
  readonly seeds?: readonly string[];
  readonly swim?: Partial<SwimConfig>;
  readonly pushSum?: Partial<PushSumConfig>;
  /** Time between push-sum rounds, ms; an epoch is pushSum.epochRounds rounds of wall-clock time. @default 200 */
  readonly pushSumRoundMs?: number;
  /** This node's current metadata; read at start, every `metaIntervalMs`, and at each push-sum epoch. */
  readonly localMetadata: () => MemberMeta;
  /** How often metadata is re-read and, when changed, gossiped (a new incarnation), ms. @default 5000 */
  readonly metaIntervalMs?: number;
  /** Envelope limits (envelope.ts); with `allowedIds`, datagrams from other ids are dropped (`unknown-sender`) and gossip about them is refused (`refused-member`). */
  readonly maxDatagramBytes?: number;
  readonly maxSkewMs?: number;
  readonly allowedIds?: ReadonlySet<string>;
  /** Seed of the protocol's randomness (member choice). @default random */
  readonly seed?: number;
  /**
   * Exchange full state over TCP on the same port for the periodic push-pull (stream-sync.ts),
   * falling back to the one-datagram sync when the peer does not answer. false: UDP only (a
   * sync then carries as many members as fit in a datagram). @default true
   */
  readonly pushPullOverTcp?: boolean;
  /** Largest push-pull frame over TCP, bytes. @default 1 MiB */
  readonly maxStreamBytes?: number;
  /** Damping of members whose headroom disagrees with their rack's (trust.ts); judged every `metaIntervalMs`. */
  readonly trust?: Partial<TrustConfig>;
}

/** How long a push-pull connection may take, ms (memberlist's TCPTimeout is 10 s). */
const STREAM_TIMEOUT_MS = 10_000;

/** The fleet-wide aggregate of one complete push-sum epoch. */
export interface FleetAggregate {
  readonly epoch: number;
  /** Fleet means of (headroom, mean price, power W). */
  readonly mean: Vec3;
  /** Live members (this node included) when the epoch ended. */
  readonly members: number;
  /** mean power × members, W. */
  readonly totalPowerW: number;
  /**
   * The same over this node's cooling zone only (a second push-sum whose shares go to members of
   * the same `location.zone`); null before its first complete epoch.
   */
  readonly zone: { readonly name: string; readonly mean: Vec3; readonly members: number; readonly totalPowerW: number } | null;
}

export interface FleetNodeEvents {
  member: [MemberEvent];
  aggregate: [FleetAggregate];
  /** Members were judged again (every `metaIntervalMs`): trust may have moved. */
  judged: [];
}

function parseAddress(addr: string, what: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(addr);
  const port = Number(m?.[2]);
  if (m?.[1] === undefined || isIP(m[1]) === 0 || !(port > 0 && port < 65536)) throw new FleetConfigError(`invalid ${what}: "${addr}" (expected ip:port)`);
  return { host: m[1], port };
}

export class FleetNode extends EventEmitter<FleetNodeEvents> {
  readonly id: string;
  readonly #o: FleetNodeOptions;
  readonly #identity: FleetIdentity;
  readonly #codec: EnvelopeCodec;
  readonly #random: SeededRandom;
  readonly #pushSum: PushSum;
  readonly #trust: NeighbourTrust;
  /** Push-sum among the members of this node's zone. */
  readonly #zoneSum: PushSum;
  #zone = '';
  readonly #roundMs: number;
  readonly #drops = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>;
  #swim: Swim | null = null;
  #socket: Socket | null = null;
  #timer: NodeJS.Timeout | null = null;
  #state: 'new' | 'running' | 'stopped' = 'new';
  #address = '';
  #nextRoundAt = 0;
  #nextMetaAt = 0;
  #metaJson = '';
  #aggregate: FleetAggregate | null = null;
  readonly #streamCodec: EnvelopeCodec | null;
  #stream: StreamSyncServer | null = null;
  /** Aborts outbound push-pulls when the node stops. */
  #outbound = new AbortController();
  /** Messages not sent because their envelope would exceed the datagram limit (a bug if not 0). */
  unsendable = 0;
  /** Push-pulls over TCP: completed, and failed (those fell back to a datagram). */
  readonly pushPulls = { stream: 0, failed: 0 };

  constructor(o: FleetNodeOptions) {
    super();
    this.#o = o;
    this.#identity = fleetIdentity(o.key);
    this.id = this.#identity.id;
    this.#codec = new EnvelopeCodec({ identity: this.#identity, ...(o.maxDatagramBytes === undefined ? {} : { maxBytes: o.maxDatagramBytes }), ...(o.maxSkewMs === undefined ? {} : { maxSkewMs: o.maxSkewMs }), ...(o.allowedIds === undefined ? {} : { allowedIds: o.allowedIds }) });
    this.#streamCodec =
      o.pushPullOverTcp === false
        ? null
        : new EnvelopeCodec({ identity: this.#identity, channel: 'stream', maxBytes: o.maxStreamBytes ?? 1024 * 1024, ...(o.maxSkewMs === undefined ? {} : { maxSkewMs: o.maxSkewMs }), ...(o.allowedIds === undefined ? {} : { allowedIds: o.allowedIds }) });
    this.#random = new SeededRandom(o.seed ?? randomInt(2 ** 31));
    this.#pushSum = new PushSum(o.pushSum);
    this.#trust = new NeighbourTrust(o.trust);
    this.#zoneSum = new PushSum(o.pushSum);
    this.#roundMs = o.pushSumRoundMs ?? 200;
    if (!(this.#roundMs >= 1)) throw new FleetConfigError(`invalid pushSumRoundMs: ${this.#roundMs}`);
    for (const s of o.seeds ?? []) parseAddress(s, 'seed');
    // Checked here, before anything is bound (a bad one found after binding would leave sockets open).
    if (o.advertise !== undefined) parseAddress(o.advertise, 'advertise');
  }

  /** `host:port` this node advertises (after start). */
  get address(): string {
    return this.#address;
  }
  /**
   * Datagrams dropped, by reason (forged also counts alive updates with bad subject signatures;
   * refused-relay, ping-reqs for a target this node does not know).
   */
  get drops(): Readonly<Record<DropReason | 'refused-member' | 'refused-relay', number>> {
    const swim = this.#swim;
    return { ...this.#drops, forged: this.#drops.forged + (swim?.forgedAlive ?? 0), 'refused-member': swim?.refusedMembers ?? 0, 'refused-relay': swim?.refusedRelays ?? 0 };
  }
  /** Lifeguard's awareness score (0 healthy … awarenessMaxMultiplier − 1). */
  get awareness(): number {
    return this.#swim?.awareness ?? 0;
  }
  members(): MemberView[] {
    return this.#swim?.members() ?? [];
  }
  /** How far this node believes a member, in [floor, 1] (trust.ts); 1 for one never judged. */
  trust(id: string): number {
    return this.#trust.trust(id);
  }
  /** Why this node believes a member less than fully, in words; null when it believes it. */
  distrusted(id: string): string | null {
    return this.#trust.explain(id, performance.now());
  }
  /** The aggregate of the last complete push-sum epoch, or null before one. */
  aggregate(): FleetAggregate | null {
    return this.#aggregate;
  }

  /** Binds the socket and joins through the seeds. Throws `MXW_ERR_FLEET_BIND` when it cannot bind. */
  async start(): Promise<void> {
    if (this.#state !== 'new') throw new FleetStateError(`fleet node ${this.id} was already started`);
    this.#state = 'running';
    const meta = this.#o.localMetadata();
    if (!isValidMeta(meta)) throw new FleetConfigError('invalid localMetadata(): finite numbers and short ASCII location names expected');
    const host = this.#o.host ?? '127.0.0.1';
    // Port 0: a free UDP port whose TCP twin may be taken; a few tries find one free for both.
    const tries = (this.#o.port ?? 0) === 0 && this.#streamCodec !== null ? 5 : 1;
    let bound: { socket: Socket; port: number } | null = null;
    for (let attempt = 1; bound === null; attempt++) {
      try {
        bound = await this.#bind(host);
      } catch (err) {
        if (attempt >= tries || !(err instanceof FleetBindError && err.message.includes('TCP'))) {
          this.#state = 'stopped';
          throw err;
        }
      }
    }
    const { socket } = bound;
    this.#socket = socket;
    const port = bound.port;
    this.#address = this.#o.advertise ?? (isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`);
    parseAddress(this.#address, 'advertise');
    const now = performance.now();
    const allowed = this.#o.allowedIds;
    this.#swim = new Swim({ id: this.id, addr: this.#address, meta, now: () => performance.now(), random: this.#random, auth: createAliveAuth(this.#identity), incarnation: Math.floor(Date.now() / 100), ...(allowed === undefined ? {} : { admit: (id: string) => allowed.has(id) }), ...(this.#o.swim === undefined ? {} : { config: this.#o.swim }) });
    this.#metaJson = JSON.stringify(meta);
    this.#zone = meta.location.zone;
    this.#nextRoundAt = now + this.#random.uniform() * this.#roundMs;
    this.#nextMetaAt = now + (this.#o.metaIntervalMs ?? 5000);
    socket.on('message', (buf, rinfo) => { this.#onDatagram(buf, rinfo); });
    socket.on('error', () => { /* send errors (unreachable peers) are SWIM's to detect */ });
    this.#swim.join(this.#o.seeds ?? []);
    this.#run();
  }

  /** The UDP socket and, with push-pull over TCP, the TCP listener on the same port. */
  async #bind(host: string): Promise<{ socket: Socket; port: number }> {
    const socket = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(this.#o.port ?? 0, host, () => {
          socket.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      socket.close();
      throw new FleetBindError(`cannot bind the fleet socket to ${host}:${this.#o.port ?? 0}: ${toError(err).message}`, { cause: err });
    }
    const { port } = socket.address();
    if (this.#streamCodec !== null) {
      try {
        this.#stream = await StreamSyncServer.listen(host, port, this.#streamCodec, STREAM_TIMEOUT_MS, {
          onRequest: (from, message) => this.#onStreamSync(from, message),
          onDrop: (reason) => { this.#drops[reason]++; },
        });
      } catch (err) {
        socket.close();
        throw err;
      }
    }
    return { socket, port };
  }

  /** Closes the socket without a word (peers detect the silence); {@link leave} first for a graceful exit. */
  async stop(): Promise<void> {
    if (this.#state !== 'running') return;
    this.#state = 'stopped';
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const socket = this.#socket;
    this.#socket = null;
    if (socket !== null) await new Promise<void>((resolve) => { socket.close(() => { resolve(); }); });
    this.#outbound.abort();
    const stream = this.#stream;
    this.#stream = null;
    await stream?.close();
  }

  /** A peer's push-pull over TCP: take its state, answer with ours (swim must not answer again by datagram). */
  #onStreamSync(from: string, message: Extract<FleetMessage, { t: 'sync' }>): FleetMessage {
    const swim = this.#swim;
    if (swim === null || this.#state !== 'running') return { t: 'sync', reply: false, u: [] };
    swim.receive(from, '', { ...message, reply: false });
    const reply: FleetMessage = { t: 'sync', reply: false, u: swim.fullState(this.#streamBudget(), this.#streamCodec?.maxUpdates ?? 1) };
    this.#run();
    return reply;
  }

  #streamBudget(): number {
    return (this.#streamCodec?.maxBodyBytes ?? 0) - 64;
  }

  /** The periodic push-pull over TCP; the datagram sync it replaces goes out when TCP fails. */
  async #pushPullOverStream(o: Outgoing, codec: EnvelopeCodec): Promise<void> {
    const swim = this.#swim;
    if (swim === null) return;
    const envelope = codec.encode({ t: 'sync', reply: true, u: swim.fullState(this.#streamBudget(), codec.maxUpdates) }, o.toId);
    try {
      if (envelope === null) throw new Error('our state does not fit in a push-pull frame');
      const { host, port } = parseAddress(o.to, 'address');
      const reply = await requestStreamSync(host, port, envelope, codec, STREAM_TIMEOUT_MS, this.#outbound.signal);
      if (!reply.ok) {
        this.#drops[reply.reason]++;
        throw new Error(`push-pull reply dropped: ${reply.reason}`);
      }
      if (reply.message.t !== 'sync' || reply.from !== o.toId) throw new Error('push-pull reply is not the member\'s sync');
      if (this.#swim === null || this.#state !== 'running') return;
      this.pushPulls.stream++;
      this.#swim.receive(reply.from, o.to, { ...reply.message, reply: false });
      this.#run();
    } catch {
      if (this.#state !== 'running') return; // stopped meanwhile: nothing failed
      this.pushPulls.failed++;
      this.#send(o.to, o.toId, o.message);
    }
  }

  /** Announces a graceful leave (gossiped on the next rounds); then {@link stop}. */
  leave(): void {
    this.#swim?.leave();
    this.#flush();
  }

  #onDatagram(buf: Buffer, rinfo: RemoteInfo): void {
    const swim = this.#swim;
    if (swim === null) return;
    const d = this.#codec.decode(buf);
    if (!d.ok) {
      this.#drops[d.reason]++;
      return;
    }
    const from = rinfo.family === 'IPv6' ? `[${rinfo.address}]:${rinfo.port}` : `${rinfo.address}:${rinfo.port}`;
    if (d.message.t === 'push-sum') this.#onShare(d.from, d.message.share, d.message.scope === 'zone');
    else swim.receive(d.from, from, d.message);
    this.#run();
  }

  #onShare(from: string, share: PushSumShare, zone: boolean): void {
    // A peer may be one epoch ahead of our clock; further ahead would let it restart us at will.
    if (share.epoch > this.#wallEpoch() + 1) return;
    // Shares count only from live members: each sender's weight is capped, so shares from throwaway
    // keys that never joined would add weight without bound. (Not counted as a drop: an honest new
    // member's first shares can arrive before the news of its join.)
    const member = this.#swim?.member(from);
    if (member === undefined || (member.state !== 'alive' && member.state !== 'suspect')) return;
    // A zone share counts only from a member this node knows to be in its zone.
    if (zone && member.meta.location.zone !== this.#zone) return;
    const sum = zone ? this.#zoneSum : this.#pushSum;
    const trust = this.#trust.trust(from);
    if (sum.receive(from, share, trust) === 'future') {
      this.#beginEpoch(share.epoch);
      sum.receive(from, share, trust);
    }
  }

  /** Alive members of this node's zone (itself not included). */
  #zonePeers(): MemberView[] {
    return (this.#swim?.members() ?? []).filter((m) => m.state === 'alive' && m.meta.location.zone === this.#zone);
  }

  #wallEpoch(): number {
    return Math.floor(Date.now() / (this.#roundMs * this.#pushSum.config.epochRounds));
  }

  #beginEpoch(epoch: number): void {
    const swim = this.#swim;
    if (swim === null) return;
    const meta = this.#o.localMetadata();
    const value: Vec3 = [meta.headroom, meta.meanPrice, meta.powerW];
    // The zone's count as of the end of the epoch that closes now (it sizes the zone's total).
    const zoneMembers = this.#zonePeers().length + 1;
    this.#pushSum.begin(epoch, value, swim.liveCount);
    this.#zoneSum.begin(epoch, value, zoneMembers);
    const last = this.#pushSum.last();
    if (last !== null && last.epoch !== this.#aggregate?.epoch) {
      const members = swim.liveCount;
      const z = this.#zoneSum.last();
      const zone = z === null || z.epoch !== last.epoch ? null : { name: this.#zone, mean: z.estimate, members: zoneMembers, totalPowerW: z.estimate[2] * zoneMembers };
      this.#aggregate = { epoch: last.epoch, mean: last.estimate, members, totalPowerW: last.estimate[2] * members, zone };
      this.emit('aggregate', this.#aggregate);
    }
  }

  #pushSumRound(): void {
    const swim = this.#swim;
    if (swim === null) return;
    const epoch = this.#wallEpoch();
    if (epoch > this.#pushSum.epoch) this.#beginEpoch(epoch);
    const live = swim.members().filter((m) => m.state === 'alive');
    const peer = live[Math.floor(this.#random.uniform() * live.length)];
    if (peer === undefined) return;
    this.#send(peer.addr, peer.id, { t: 'push-sum', share: this.#pushSum.share() });
    // The zone's peers from the same member list (not a second copy of it).
    const zone = live.filter((m) => m.meta.location.zone === this.#zone);
    const zonePeer = zone[Math.floor(this.#random.uniform() * zone.length)];
    if (zonePeer !== undefined) this.#send(zonePeer.addr, zonePeer.id, { t: 'push-sum', share: this.#zoneSum.share(), scope: 'zone' });
  }

  /** Runs what is due, sends what the state machines produced, and re-arms the one timer. */
  #run(): void {
    const swim = this.#swim;
    if (swim === null || this.#state !== 'running') return;
    const now = performance.now();
    if (now >= this.#nextMetaAt) {
      this.#nextMetaAt = now + (this.#o.metaIntervalMs ?? 5000);
      const meta = this.#o.localMetadata();
      const json = JSON.stringify(meta);
      if (json !== this.#metaJson && isValidMeta(meta)) {
        this.#metaJson = json;
        this.#zone = meta.location.zone;
        swim.setMeta(meta);
      }
      this.#trust.update(now, { id: this.id, location: meta.location, headroom: meta.headroom }, swim.members());
      this.emit('judged');
    }
    if (now >= this.#nextRoundAt) {
      this.#nextRoundAt = Math.max(this.#nextRoundAt + this.#roundMs, now);
      this.#pushSumRound();
    }
    swim.tick();
    this.#flush();
    if (this.#timer !== null) clearTimeout(this.#timer);
    const next = Math.min(swim.nextDeadlineMs(), this.#nextRoundAt, this.#nextMetaAt);
    this.#timer = setTimeout(() => { this.#run(); }, Math.max(1, Math.ceil(next - performance.now())));
  }

  #flush(): void {
    const swim = this.#swim;
    if (swim === null) return;
    const codec = this.#streamCodec;
    for (const o of swim.drain()) {
      if (o.pushPull === true && codec !== null && o.toId !== null) void this.#pushPullOverStream(o, codec);
      else this.#send(o.to, o.toId, o.message);
    }
    for (const e of swim.drainEvents()) this.emit('member', e);
  }

  #send(to: string, toId: string | null, message: FleetMessage): void {
    const socket = this.#socket;
    if (socket === null) return;
    const buf = this.#codec.encode(message, toId);
    if (buf === null) {
      this.unsendable++;
      return;
    }
    let addr: { host: string; port: number };
    try {
      addr = parseAddress(to, 'address');
    } catch {
      return; // a member advertised an address we cannot send to; SWIM will find it silent
    }
    socket.send(buf, addr.port, addr.host, () => { /* errors: see the socket's error handler */ });
  }
}
