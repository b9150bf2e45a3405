/**
 * SWIM membership (Das, Gupta, Motivala 2002) with Lifeguard (Dadgar, Phillips, Currey 2018),
 * as hashicorp memberlist implements them, written as a transport-agnostic deterministic state
 * machine: time comes from an injected `now()` (ms), randomness from a {@link SeededRandom}; it
 * consumes received messages ({@link Swim.receive}), runs its timers when asked ({@link Swim.tick},
 * at {@link Swim.nextDeadlineMs}), and leaves datagrams to send in {@link Swim.drain}. Pure: no I/O.
 *
 * One protocol period: probe the next member of a shuffled round-robin list (ping); no ack
 * within the probe timeout → ask `indirectChecks` random members to probe it (ping-req); no ack
 * by the end of the period → suspect it. A suspicion becomes `dead` after the suspicion timeout
 * unless the suspect refutes it by gossiping `alive` with a higher incarnation. Updates ride on
 * pings, acks and gossip rounds (`gossipNodes` members every `gossipIntervalMs`), each sent
 * retransmitMult × ⌈log10(n + 1)⌉ times; a periodic push-pull exchanges full state.
 *
 * Lifeguard (config `lifeguard`): the local health multiplier (awareness score s ∈ [0, max − 1],
 * +1 per failed probe that the indirect probers did not nack, +1 per refutation, −1 per
 * successful probe) scales this node's probe interval and timeout by s + 1, so a node that is
 * itself slow stops accusing healthy ones; suspicion timeouts start at suspicionMaxTimeoutMult ×
 * the minimum and fall as log(c + 1) / log(k + 1) with c independent confirmations
 * (k = suspicionMult − 2); a ping to a suspect carries the suspicion first (buddy system).
 *
 * Against lying members: with an {@link AliveAuth}, an `alive` update must carry its subject's
 * own signature over (id, incarnation, address, metadata), so no relay can forge another node's
 * metadata or raise its incarnation; `suspect`/`dead` claims about others are clamped to the
 * incarnation this node knows, so a liar cannot push a member out of reach of its refutation.
 *
 * One class of ~560 lines on purpose: probing, suspicion, dissemination and the member table
 * share one state (a member's record, its suspicion timer and its broadcasts change together),
 * and the simulation runs 1,000 of these; the pure parts are already apart (swim-config.ts,
 * broadcast-queue.ts, messages.ts).
 */
import type { SeededRandom } from '../internal/seeded-random.js';
import { BroadcastQueue } from './broadcast-queue.js';
import { aliveSigningPayload, MAX_UPDATES, type FleetMessage, type MemberMeta, type MemberState, type MemberUpdate } from './messages.js';
import { createSwimConfig, dynamicSuspicionMs, pushPullIntervalMs, retransmitLimit, suspicionTimeoutMs, type SwimConfig } from './swim-config.js';

/** Signs this node's `alive` updates and verifies others' (Ed25519 in the transport; absent in simulations). */
export interface AliveAuth {
  /** This node's public key, as carried in its alive updates. */
  readonly key: string;
  sign(payload: string): string;
  /** True when `sig` is `key`'s signature of `payload` and `key` is the key of node `id`. */
  verify(id: string, key: string, payload: string, sig: string): boolean;
}

/** A datagram to send: `to` is an address (opaque to SWIM), `toId` the recipient's id when known. */
export interface Outgoing {
  readonly to: string;
  readonly toId: string | null;
  readonly message: FleetMessage;
  /** The periodic push-pull: a transport with a stream sends {@link Swim.fullState} over it instead. */
  readonly pushPull?: true;
}

export interface MemberView {
  readonly id: string;
  readonly addr: string;
  readonly state: MemberState;
  readonly incarnation: number;
  readonly meta: MemberMeta;
  /** When this node saw the state change, ms of `now()`. */
  readonly changedMs: number;
}

/** A member changed state or metadata (`previous` null: newly learnt). */
export interface MemberEvent extends MemberView {
  readonly previous: MemberState | null;
}

export interface SwimOptions {
  readonly id: string;
  /** This node's address as others should reach it. */
  readonly addr: string;
  readonly meta: MemberMeta;
  readonly now: () => number;
  readonly random: SeededRandom;
  readonly config?: Partial<SwimConfig>;
  readonly auth?: AliveAuth;
  /** Starting incarnation; the transport uses wall-clock deciseconds so a restarted node outranks its old self. @default 0 */
  readonly incarnation?: number;
  /** Which new members may be added (e.g. a list of known node ids); others are refused and counted. @default every one */
  readonly admit?: (id: string) => boolean;
}

interface Rec {
  readonly id: string;
  addr: string;
  inc: number;
  state: MemberState;
  meta: MemberMeta;
  changedMs: number;
  key?: string;
  sig?: string;
}

interface Probe {
  readonly target: string;
  readonly seq: number;
  readonly timeoutAt: number;
  readonly endAt: number;
  indirect: boolean;
  expectedNacks: number;
  nacks: number;
  done: boolean;
}

interface Relay {
  readonly originAddr: string;
  readonly originId: string;
  readonly origSeq: number;
  /** Until then an ack from the target is relayed to the origin. */
  readonly timeoutAt: number;
  readonly nack: boolean;
  /** When to nack if no ack came; null once sent (or not asked for). */
  nackAt: number | null;
}

interface Suspicion {
  readonly startMs: number;
  readonly minMs: number;
  readonly maxMs: number;
  readonly k: number;
  readonly from: Set<string>;
  deadlineMs: number;
}

export class Swim {
  readonly config: SwimConfig;
  readonly #now: () => number;
  readonly #rng: SeededRandom;
  readonly #auth: AliveAuth | undefined;
  readonly #admit: ((id: string) => boolean) | undefined;
  readonly #self: Rec;
  readonly #members = new Map<string, Rec>();
  /** Every known id but our own, for uniform sampling and the probe order. */
  readonly #ids: string[] = [];
  #order: string[] = [];
  #orderIndex = 0;
  readonly #queue = new BroadcastQueue();
  #out: Outgoing[] = [];
  #events: MemberEvent[] = [];
  #probe: Probe | null = null;
  readonly #relays = new Map<number, Relay>();
  readonly #suspicions = new Map<string, Suspicion>();
  #seq = 0;
  #awareness = 0;
  #live = 1;
  /** The join's seeds: asked again, every probe interval, while this node knows no live member (a seed that was not up yet, a lost datagram, a partition that outlasted every member). */
  #seeds: readonly string[] = [];
  #nextRejoinAt = 0;
  #nextProbeAt: number;
  #nextGossipAt: number;
  #nextPushPullAt: number;
  /** Alive updates refused: unsigned or badly signed while signatures are required. */
  forgedAlive = 0;
  /** New members refused: not admitted, or the table already holds `maxMembers` records. */
  refusedMembers = 0;
  /** ping-reqs not relayed: their target is not a member this node knows (or is this node). */
  refusedRelays = 0;
  /** Dead and left members forgotten after `gossipToTheDeadMs` (memberlist reaps them the same way). */
  reapedMembers = 0;
  /**
   * The incarnation each reaped member had, so an old alive update (a delayed sync, a replay) cannot
   * bring it back: it must return with a newer one. Capped at `maxMembers`, oldest forgotten first.
   */
  readonly #reaped = new Map<string, number>();

  constructor(o: SwimOptions) {
    this.config = createSwimConfig(o.config);
    this.#now = o.now;
    this.#rng = o.random;
    this.#auth = o.auth;
    this.#admit = o.admit;
    const now = o.now();
    this.#self = { id: o.id, addr: o.addr, inc: o.incarnation ?? 0, state: 'alive', meta: o.meta, changedMs: now };
    this.#signSelf();
    this.#members.set(o.id, this.#self);
    // Stagger the timers as memberlist does, so a fleet started at once does not probe in lockstep.
    this.#nextProbeAt = now + this.#rng.uniform() * this.config.probeIntervalMs;
    this.#nextGossipAt = now + this.#rng.uniform() * this.config.gossipIntervalMs;
    this.#nextPushPullAt = now + this.#rng.uniform() * this.config.pushPullIntervalMs;
  }

  get id(): string {
    return this.#self.id;
  }
  get incarnation(): number {
    return this.#self.inc;
  }
  /** Lifeguard's awareness score: the probe interval and timeout are multiplied by score + 1. */
  get awareness(): number {
    return this.#awareness;
  }
  /** Members not dead or left, this node included. */
  get liveCount(): number {
    return this.#live;
  }

  /** Asks each seed (an address) for its full state; the answers bring the fleet. */
  join(seeds: readonly string[]): void {
    this.#seeds = [...seeds];
    for (const to of seeds) this.#out.push({ to, toId: null, message: { t: 'sync', reply: true, u: this.#syncUpdates() } });
  }

  /** Applies an update as if received by gossip (and gossips it on). */
  learn(update: MemberUpdate): void {
    this.#apply(update);
  }

  /** Adds an alive member silently: no event, no gossip (a simulation starts converged with it). */
  seed(id: string, addr: string, meta: MemberMeta, incarnation = 0): void {
    if (this.#members.has(id)) return;
    this.#members.set(id, { id, addr, inc: incarnation, state: 'alive', meta, changedMs: this.#now() });
    this.#ids.push(id);
    this.#live++;
  }

  /** New local metadata: a new incarnation, gossiped. */
  setMeta(meta: MemberMeta): void {
    this.#self.meta = meta;
    this.#self.inc++;
    this.#signSelf();
  }

  /** Announces a graceful leave; keep ticking for a few gossip rounds so it spreads. */
  leave(): void {
    this.#self.inc++;
    this.#self.state = 'left';
    this.#queue.push({ k: 'left', id: this.#self.id, inc: this.#self.inc });
  }

  members(): MemberView[] {
    return [...this.#members.values()].filter((r) => r !== this.#self).map(view);
  }
  member(id: string): MemberView | undefined {
    const r = this.#members.get(id);
    return r === undefined ? undefined : view(r);
  }

  /** Datagrams produced since the last call. */
  drain(): Outgoing[] {
    const out = this.#out;
    this.#out = [];
    return out;
  }
  /** Membership changes since the last call. */
  drainEvents(): MemberEvent[] {
    const ev = this.#events;
    this.#events = [];
    return ev;
  }

  /** The earliest time (ms of `now()`) at which {@link tick} has work. */
  nextDeadlineMs(): number {
    let t = Math.min(this.#nextProbeAt, this.#nextGossipAt, this.#nextPushPullAt);
    const p = this.#probe;
    if (p !== null && !p.done) t = Math.min(t, p.indirect ? p.endAt : p.timeoutAt);
    for (const r of this.#relays.values()) t = Math.min(t, r.nackAt ?? r.timeoutAt, r.timeoutAt);
    for (const s of this.#suspicions.values()) t = Math.min(t, s.deadlineMs);
    return t;
  }

  /** Runs every timer that is due. */
  tick(): void {
    const now = this.#now();
    if (this.#self.state === 'left') return;
    const p = this.#probe;
    if (p !== null && !p.done) {
      if (!p.indirect && now >= p.timeoutAt) this.#indirectProbe(p);
      if (now >= p.endAt) this.#probeFailed(p);
    }
    if (now >= this.#nextProbeAt) this.#startProbe(now);
    for (const [seq, r] of this.#relays) {
      if (r.nackAt !== null && now >= r.nackAt) {
        r.nackAt = null;
        this.#out.push({ to: r.originAddr, toId: r.originId, message: { t: 'nack', seq: r.origSeq } });
      }
      if (now >= r.timeoutAt) this.#relays.delete(seq);
    }
    for (const [id, s] of this.#suspicions) if (now >= s.deadlineMs) this.#suspicionExpired(id);
    if (now >= this.#nextGossipAt) {
      this.#nextGossipAt = Math.max(this.#nextGossipAt + this.config.gossipIntervalMs, now);
      this.#gossip(now);
      this.#reap(now);
    }
    if (this.#live <= 1 && this.#seeds.length > 0 && now >= this.#nextRejoinAt) {
      this.#nextRejoinAt = now + this.config.probeIntervalMs;
      for (const to of this.#seeds) if (to !== this.#self.addr) this.#out.push({ to, toId: null, message: { t: 'sync', reply: true, u: this.#syncUpdates() } });
    }
    if (now >= this.#nextPushPullAt) {
      this.#nextPushPullAt = now + pushPullIntervalMs(this.config, this.#live);
      const target = this.#sample(1, (r) => r.state === 'alive')[0];
      if (target !== undefined) this.#out.push({ to: target.addr, toId: target.id, message: { t: 'sync', reply: true, u: this.#syncUpdates() }, pushPull: true });
    }
  }

  /** Consumes a message from member `fromId` at address `fromAddr` (authenticated by the envelope). */
  receive(fromId: string, fromAddr: string, m: FleetMessage): void {
    if (this.#self.state === 'left') return;
    switch (m.t) {
      case 'ping':
        if (m.target !== this.#self.id) return;
        this.#applyAll(m.u);
        this.#out.push({ to: fromAddr, toId: fromId, message: { t: 'ack', seq: m.seq, u: this.#piggyback() } });
        return;
      case 'ack': {
        this.#applyAll(m.u);
        const p = this.#probe;
        if (p !== null && p.seq === m.seq && !p.done) {
          p.done = true;
          this.#adjustAwareness(-1);
        }
        const r = this.#relays.get(m.seq);
        if (r !== undefined) {
          this.#relays.delete(m.seq);
          this.#out.push({ to: r.originAddr, toId: r.originId, message: { t: 'ack', seq: r.origSeq, u: this.#piggyback() } });
        }
        return;
      }
      case 'nack':
        if (this.#probe?.seq === m.seq) this.#probe.nacks++;
        return;
      case 'ping-req': {
        this.#applyAll(m.u);
        // Only to a member this node knows, at the address it knows: relaying to whatever address a
        // ping-req names would make every node a reflector for anyone with a key. A member it holds as
        // dead is still relayed to (the prober may know better, and the address is one this node knows).
        const target = this.#members.get(m.target);
        if (target === undefined || target === this.#self) {
          this.refusedRelays++;
          // Lifeguard: silence would count against the prober's own health; a nack says this node is reachable.
          if (m.nack) this.#out.push({ to: fromAddr, toId: fromId, message: { t: 'nack', seq: m.seq } });
          return;
        }
        const seq = ++this.#seq;
        const now = this.#now();
        this.#relays.set(seq, { originAddr: fromAddr, originId: fromId, origSeq: m.seq, timeoutAt: now + this.config.probeTimeoutMs, nack: m.nack, nackAt: m.nack ? now + nackAfterMs(this.config) : null });
        this.#out.push({ to: target.addr, toId: target.id, message: { t: 'ping', seq, target: target.id, u: this.#piggyback() } });
        return;
      }
      case 'gossip':
        this.#applyAll(m.u);
        return;
      case 'sync':
        this.#applyAll(m.u);
        if (m.reply) this.#out.push({ to: fromAddr, toId: fromId, message: { t: 'sync', reply: false, u: this.#syncUpdates() } });
        return;
      case 'push-sum':
        return; // not SWIM's: the transport hands it to push-sum
    }
  }

  #signSelf(): void {
    const s = this.#self;
    if (this.#auth !== undefined) {
      s.key = this.#auth.key;
      s.sig = this.#auth.sign(aliveSigningPayload(s.id, s.inc, s.addr, s.meta));
    }
    this.#queue.push(this.#aliveOf(s));
  }

  #aliveOf(r: Rec): MemberUpdate {
    return r.key === undefined || r.sig === undefined
      ? { k: 'alive', id: r.id, inc: r.inc, addr: r.addr, meta: r.meta }
      : { k: 'alive', id: r.id, inc: r.inc, addr: r.addr, meta: r.meta, key: r.key, sig: r.sig };
  }

  #piggyback(first?: MemberUpdate): MemberUpdate[] {
    const budget = this.config.maxPayloadBytes - 64;
    if (first === undefined) return this.#queue.take(budget, retransmitLimit(this.config, this.#live));
    return [first, ...this.#queue.take(budget - JSON.stringify(first).length, retransmitLimit(this.config, this.#live))];
  }

  /** This node's view for a push-pull over a stream: up to `budgetBytes` of JSON and `maxUpdates` records (every member when they fit). */
  fullState(budgetBytes: number, maxUpdates: number): MemberUpdate[] {
    return this.#syncUpdates(budgetBytes, maxUpdates);
  }

  /** Full state for push-pull: ourselves first, then members from a random offset, up to the byte budget. */
  #syncUpdates(budgetBytes = this.config.maxPayloadBytes, maxUpdates = MAX_UPDATES): MemberUpdate[] {
    const out: MemberUpdate[] = [this.#aliveOf(this.#self)];
    let used = JSON.stringify(out[0]).length + 64;
    const n = this.#ids.length;
    const start = Math.floor(this.#rng.uniform() * n);
    for (let i = 0; i < n; i++) {
      const r = this.#members.get(this.#ids[(start + i) % n] ?? '');
      if (r === undefined) continue;
      const u: MemberUpdate = r.state === 'alive' ? this.#aliveOf(r) : r.state === 'left' ? { k: 'left', id: r.id, inc: r.inc } : { k: r.state, id: r.id, inc: r.inc, from: this.#self.id };
      const bytes = JSON.stringify(u).length + 1;
      if (used + bytes > budgetBytes || out.length >= maxUpdates) break;
      used += bytes;
      out.push(u);
    }
    return out;
  }

  #startProbe(now: number): void {
    const scale = this.config.lifeguard ? this.#awareness + 1 : 1;
    this.#nextProbeAt = now + this.config.probeIntervalMs * scale;
    const target = this.#nextTarget();
    if (target === undefined) return;
    const seq = ++this.#seq;
    this.#probe = { target: target.id, seq, timeoutAt: now + this.config.probeTimeoutMs * scale, endAt: now + this.config.probeIntervalMs * scale, indirect: false, expectedNacks: 0, nacks: 0, done: false };
    // Buddy system: a suspect hears of its suspicion from its prober at once.
    const buddy: MemberUpdate | undefined = this.config.lifeguard && target.state === 'suspect' ? { k: 'suspect', id: target.id, inc: target.inc, from: this.#self.id } : undefined;
    this.#out.push({ to: target.addr, toId: target.id, message: { t: 'ping', seq, target: target.id, u: this.#piggyback(buddy) } });
  }

  #nextTarget(): Rec | undefined {
    for (let pass = 0; pass < 2; pass++) {
      while (this.#orderIndex < this.#order.length) {
        const r = this.#members.get(this.#order[this.#orderIndex++] ?? '');
        if (r !== undefined && (r.state === 'alive' || r.state === 'suspect')) return r;
      }
      // End of the list: reshuffle (Fisher–Yates) over everyone known.
      this.#order = [...this.#ids];
      for (let i = this.#order.length - 1; i > 0; i--) {
        const j = Math.floor(this.#rng.uniform() * (i + 1));
        const a = this.#order[i] ?? '';
        this.#order[i] = this.#order[j] ?? '';
        this.#order[j] = a;
      }
      this.#orderIndex = 0;
    }
    return undefined;
  }

  #indirectProbe(p: Probe): void {
    p.indirect = true;
    const target = this.#members.get(p.target);
    if (target === undefined) return;
    const helpers = this.#sample(this.config.indirectChecks, (r) => r.state === 'alive' && r.id !== p.target);
    p.expectedNacks = this.config.lifeguard ? helpers.length : 0;
    for (const h of helpers) {
      this.#out.push({ to: h.addr, toId: h.id, message: { t: 'ping-req', seq: p.seq, target: p.target, addr: target.addr, nack: this.config.lifeguard, u: this.#piggyback() } });
    }
  }

  #probeFailed(p: Probe): void {
    p.done = true;
    // memberlist: with nacking helpers, only their silence counts against us; without, any failure does.
    this.#adjustAwareness(p.expectedNacks > 0 ? p.expectedNacks - Math.min(p.nacks, p.expectedNacks) : 1);
    const r = this.#members.get(p.target);
    if (r !== undefined && (r.state === 'alive' || r.state === 'suspect')) this.#apply({ k: 'suspect', id: r.id, inc: r.inc, from: this.#self.id });
  }

  #adjustAwareness(delta: number): void {
    if (!this.config.lifeguard) return;
    this.#awareness = Math.min(this.config.awarenessMaxMultiplier - 1, Math.max(0, this.#awareness + delta));
  }

  #gossip(now: number): void {
    if (this.#queue.size === 0) return;
    const targets = this.#sample(this.config.gossipNodes, (r) => r.state === 'alive' || r.state === 'suspect' || (r.state === 'dead' && now - r.changedMs < this.config.gossipToTheDeadMs));
    for (const t of targets) {
      const u = this.#piggyback();
      if (u.length === 0) return;
      this.#out.push({ to: t.addr, toId: t.id, message: { t: 'gossip', u } });
    }
  }

  /**
   * Forgets members dead or left for `gossipToTheDeadMs`: by then they have been told and could
   * refute, and their records would otherwise hold places in a table capped at `maxMembers`. A
   * member that comes back later joins as new, with an incarnation above the one it was reaped with
   * (a daemon starts at wall-clock time ÷ 100 ms, transport.ts, so a restarted one always is).
   */
  #reap(now: number): void {
    const limit = this.config.gossipToTheDeadMs;
    let reaped = false;
    for (const r of this.#members.values()) {
      if (r === this.#self || (r.state !== 'dead' && r.state !== 'left') || now - r.changedMs < limit) continue;
      this.#members.delete(r.id);
      this.#suspicions.delete(r.id);
      this.#reaped.delete(r.id);
      this.#reaped.set(r.id, r.inc);
      if (this.#reaped.size > this.config.maxMembers) this.#reaped.delete(this.#reaped.keys().next().value ?? '');
      this.reapedMembers++;
      reaped = true;
    }
    if (!reaped) return;
    const known = (id: string): boolean => this.#members.has(id);
    const kept = this.#ids.filter(known);
    this.#ids.length = 0;
    this.#ids.push(...kept);
    const rest = this.#order.slice(this.#orderIndex).filter(known);
    this.#order = rest;
    this.#orderIndex = 0;
  }

  /** Up to `k` distinct random members passing `ok`: rejection sampling, then a scan when rare. */
  #sample(k: number, ok: (r: Rec) => boolean): Rec[] {
    const out: Rec[] = [];
    const n = this.#ids.length;
    if (n === 0 || k === 0) return out;
    for (let tries = 0; tries < 8 * k && out.length < k; tries++) {
      const r = this.#members.get(this.#ids[Math.floor(this.#rng.uniform() * n)] ?? '');
      if (r !== undefined && ok(r) && !out.includes(r)) out.push(r);
    }
    if (out.length < k) {
      const start = Math.floor(this.#rng.uniform() * n);
      for (let i = 0; i < n && out.length < k; i++) {
        const r = this.#members.get(this.#ids[(start + i) % n] ?? '');
        if (r !== undefined && ok(r) && !out.includes(r)) out.push(r);
      }
    }
    return out;
  }

  #applyAll(updates: readonly MemberUpdate[]): void {
    for (const u of updates) this.#apply(u);
  }

  #apply(u: MemberUpdate): void {
    switch (u.k) {
      case 'alive':
        this.#alive(u);
        return;
      case 'suspect':
        this.#suspect(u);
        return;
      case 'dead':
      case 'left':
        this.#dead(u);
        return;
    }
  }

  #alive(u: Extract<MemberUpdate, { k: 'alive' }>): void {
    const r = this.#members.get(u.id);
    if (r !== undefined && u.inc <= r.inc) return;
    if (r === undefined && u.inc <= (this.#reaped.get(u.id) ?? -1)) return;
    // Checked before the signature (the cheaper test): anyone can make keys, so without a cap one
    // push-pull could fill the table with thousands of self-signed members.
    if (r === undefined && (this.#members.size >= this.config.maxMembers || (this.#admit !== undefined && !this.#admit(u.id)))) {
      this.refusedMembers++;
      return;
    }
    if (this.#auth !== undefined && (u.key === undefined || u.sig === undefined || !this.#auth.verify(u.id, u.key, aliveSigningPayload(u.id, u.inc, u.addr, u.meta), u.sig))) {
      this.forgedAlive++;
      return;
    }
    if (r === this.#self) {
      // Our own alive from a previous life, newer than this one: outrank it.
      this.#self.inc = u.inc;
      this.#refute();
      return;
    }
    const now = this.#now();
    if (r === undefined) {
      const rec: Rec = { id: u.id, addr: u.addr, inc: u.inc, state: 'alive', meta: u.meta, changedMs: now, ...(u.key === undefined ? {} : { key: u.key }), ...(u.sig === undefined ? {} : { sig: u.sig }) };
      this.#members.set(u.id, rec);
      this.#ids.push(u.id);
      // memberlist inserts a new member at a random place in the probe order.
      this.#order.splice(this.#orderIndex + Math.floor(this.#rng.uniform() * (this.#order.length - this.#orderIndex + 1)), 0, u.id);
      this.#live++;
      this.#events.push({ ...view(rec), previous: null });
    } else {
      const previous = r.state;
      if (previous === 'dead' || previous === 'left') this.#live++;
      r.inc = u.inc;
      r.addr = u.addr;
      r.meta = u.meta;
      if (u.key !== undefined && u.sig !== undefined) {
        r.key = u.key;
        r.sig = u.sig;
      }
      if (previous !== 'alive') r.changedMs = now;
      r.state = 'alive';
      this.#suspicions.delete(u.id);
      this.#events.push({ ...view(r), previous });
    }
    this.#queue.push(u);
  }

  #suspect(u: Extract<MemberUpdate, { k: 'suspect' }>): void {
    const r = this.#members.get(u.id);
    if (r === undefined || u.inc < r.inc || r.state === 'dead' || r.state === 'left') return;
    if (r === this.#self) {
      this.#refute();
      return;
    }
    const s = this.#suspicions.get(u.id);
    if (r.state === 'suspect') {
      if (s === undefined || s.from.has(u.from)) return;
      s.from.add(u.from);
      if (this.config.lifeguard) s.deadlineMs = s.startMs + dynamicSuspicionMs(s.minMs, s.maxMs, s.k, s.from.size - 1);
      this.#queue.push({ k: 'suspect', id: r.id, inc: r.inc, from: u.from });
      return;
    }
    const now = this.#now();
    const minMs = suspicionTimeoutMs(this.config, this.#live);
    const lg = this.config.lifeguard;
    const maxMs = lg ? this.config.suspicionMaxTimeoutMult * minMs : minMs;
    const k = lg && this.#live - 2 >= this.config.suspicionMult - 2 ? this.config.suspicionMult - 2 : 0;
    this.#suspicions.set(u.id, { startMs: now, minMs, maxMs, k, from: new Set([u.from]), deadlineMs: now + dynamicSuspicionMs(minMs, maxMs, k, 0) });
    this.#setState(r, 'suspect', now);
    // Clamped to the incarnation we know: a liar cannot raise it beyond the subject's refutation.
    this.#queue.push({ k: 'suspect', id: r.id, inc: r.inc, from: u.from });
  }

  #dead(u: Extract<MemberUpdate, { k: 'dead' | 'left' }>): void {
    const r = this.#members.get(u.id);
    if (r === undefined || u.inc < r.inc || r.state === 'dead' || r.state === 'left') return;
    if (r === this.#self) {
      this.#refute();
      return;
    }
    this.#suspicions.delete(u.id);
    this.#setState(r, u.k === 'left' ? 'left' : 'dead', this.#now());
    this.#queue.push(u.k === 'left' ? { k: 'left', id: r.id, inc: r.inc } : { k: 'dead', id: r.id, inc: r.inc, from: u.from });
  }

  #suspicionExpired(id: string): void {
    this.#suspicions.delete(id);
    const r = this.#members.get(id);
    if (r?.state !== 'suspect') return;
    this.#setState(r, 'dead', this.#now());
    this.#queue.push({ k: 'dead', id, inc: r.inc, from: this.#self.id });
  }

  #setState(r: Rec, state: MemberState, now: number): void {
    const previous = r.state;
    const wasLive = previous === 'alive' || previous === 'suspect';
    const isLive = state === 'alive' || state === 'suspect';
    if (wasLive && !isLive) this.#live--;
    r.state = state;
    r.changedMs = now;
    this.#events.push({ ...view(r), previous });
  }

  #refute(): void {
    this.#self.inc++;
    this.#signSelf();
    this.#adjustAwareness(1);
  }
}

/**
 * When a helper nacks a ping-req: the origin sends it a probe timeout into its period and counts nacks
 * only until the period ends, so a nack sent after a whole probe timeout (memberlist's) lands after
 * the period at the defaults (500 + 500 ms of 1,000) and every failed probe of a crashed node raised
 * the prober's awareness as if it were the slow one. 80 % of the shorter of the probe timeout and
 * the rest of the period leaves the nack its way back (swift-cluster-membership, which had the same
 * flaw, nacks at 80 % too). The ack is still relayed until the probe timeout. docs/research/fleet-delay.md.
 */
export function nackAfterMs(c: SwimConfig): number {
  return 0.8 * Math.min(c.probeTimeoutMs, c.probeIntervalMs - c.probeTimeoutMs);
}

function view(r: Rec): MemberView {
  return { id: r.id, addr: r.addr, state: r.state, incarnation: r.inc, meta: r.meta, changedMs: r.changedMs };
}
