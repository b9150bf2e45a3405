/**
 * A delaying UDP proxy: what tc netem would do to a link, in user space, for kernels without
 * sch_netem (this development VM's has none). It listens on one address and forwards each
 * datagram, whole, to one target after a delay drawn from a {@link DelayLaw} (delay ± jitter,
 * uniform or normal, from a seeded stream), or drops it with the law's loss probability.
 *
 * Like a NAT, it gives each client (source address) its own upstream socket, so the target sees
 * one address per client and its replies, sent back to that address, are delayed the same way on
 * their way back and leave from the listening address. A protocol that answers the source of a
 * datagram (SWIM's acks and sync replies, transport.ts) is delayed both ways by one proxy in front
 * of the target; what the target itself sends to others goes through their proxies when they have
 * one. Jitter reorders datagrams, as netem's does. TCP connections to the same port can be passed
 * through undelayed (the fleet's push-pull); a law with loss 1 refuses them, so a silent node is
 * silent on both.
 *
 * @example
 * const p = await UdpDelayProxy.start({ listen: { host: '10.78.0.254', port: 17946 }, forward: { host: '10.78.0.1', port: 7947 } });
 * p.setLaw(() => ({ delayMs: 150, jitterMs: 30, distribution: 'uniform', loss: 0 }));
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { createConnection, createServer, type Server, type Socket as TcpSocket } from 'node:net';
import { FleetLabError } from '../errors.js';
import { SeededRandom } from '../internal/seeded-random.js';

/** How one datagram is delayed: delayMs ± jitterMs (never below 0), lost with probability `loss`. */
export interface DelayLaw {
  readonly delayMs: number;
  /** uniform: delay drawn from [delay − jitter, delay + jitter]; normal: jitter is the standard deviation. */
  readonly jitterMs: number;
  readonly distribution: 'uniform' | 'normal';
  /** Probability in [0, 1] that a datagram is dropped. */
  readonly loss: number;
}

export const NO_DELAY: DelayLaw = Object.freeze({ delayMs: 0, jitterMs: 0, distribution: 'uniform', loss: 0 });

/** Which way a datagram goes through the proxy: from a client to the target, or the target's reply. */
export type Direction = 'forward' | 'reply';

/** The law for one datagram, from its direction and its client's `ip:port`. */
export type LawOf = (direction: Direction, client: string) => DelayLaw;

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

export interface UdpDelayProxyOptions {
  /** Where clients send; port 0 picks a free one. */
  readonly listen: Endpoint;
  readonly forward: Endpoint;
  /** @default every datagram undelayed ({@link NO_DELAY}) */
  readonly law?: LawOf;
  /** Seed of the delay and loss draws. @default 1 */
  readonly seed?: number;
  /** Pass TCP connections to the listening port through to the target's (undelayed). @default false */
  readonly tcp?: boolean;
  /** An upstream socket idle this long is closed, ms. @default 60 000 */
  readonly idleMs?: number;
}

/** Datagrams forwarded, replied, lost (by the law) and failed (a send error: e.g. the target gone). */
export interface ProxyCounts {
  forwarded: number;
  replied: number;
  lost: number;
  failed: number;
  tcpPassed: number;
  tcpRefused: number;
}

/** Validates a law; throws naming the bad field. */
export function checkLaw(law: DelayLaw): DelayLaw {
  if (!(law.delayMs >= 0 && law.delayMs <= 600_000)) throw new FleetLabError(`invalid delayMs: ${law.delayMs}`);
  if (!(law.jitterMs >= 0 && law.jitterMs <= 600_000)) throw new FleetLabError(`invalid jitterMs: ${law.jitterMs}`);
  if (!(law.loss >= 0 && law.loss <= 1)) throw new FleetLabError(`invalid loss: ${law.loss}`);
  // Typed, but a law may come from JSON or a caller's cast.
  if (!['uniform', 'normal'].includes(law.distribution)) throw new FleetLabError(`invalid distribution: ${law.distribution}`);
  return law;
}

/** One delay drawn from `law`, ms (≥ 0). */
export function drawDelayMs(law: DelayLaw, random: SeededRandom): number {
  const offset = law.distribution === 'uniform' ? (2 * random.uniform() - 1) * law.jitterMs : random.normal() * law.jitterMs;
  return Math.max(0, law.delayMs + offset);
}

const key = (r: RemoteInfo): string => (r.family === 'IPv6' ? `[${r.address}]:${String(r.port)}` : `${r.address}:${String(r.port)}`);

interface Upstream {
  readonly socket: Socket;
  readonly client: RemoteInfo;
  lastUsed: number;
}

export class UdpDelayProxy {
  readonly #o: UdpDelayProxyOptions;
  readonly #listen: Socket;
  readonly #random: SeededRandom;
  readonly #upstreams = new Map<string, Upstream>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #tcpSockets = new Set<TcpSocket>();
  #server: Server | null = null;
  #law: LawOf;
  #sweeper: NodeJS.Timeout | null = null;
  #closed = false;
  readonly counts: ProxyCounts = { forwarded: 0, replied: 0, lost: 0, failed: 0, tcpPassed: 0, tcpRefused: 0 };
  /** The delays drawn so far, ms (for checking the law). Kept up to 100,000. */
  readonly delays: number[] = [];

  private constructor(o: UdpDelayProxyOptions, listen: Socket) {
    this.#o = o;
    this.#listen = listen;
    this.#random = new SeededRandom(o.seed ?? 1);
    this.#law = o.law ?? (() => NO_DELAY);
  }

  /** Binds the listening socket (and the TCP pass-through); throws `MXW_ERR_FLEET_LAB` when it cannot. */
  static async start(o: UdpDelayProxyOptions): Promise<UdpDelayProxy> {
    const listen = createSocket(o.listen.host.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      listen.once('error', reject);
      listen.bind(o.listen.port, o.listen.host, () => {
        listen.off('error', reject);
        resolve();
      });
    }).catch((err: unknown) => {
      listen.close();
      throw new FleetLabError(`the delay proxy cannot bind ${o.listen.host}:${String(o.listen.port)}: ${String(err)}`, { cause: err });
    });
    const proxy = new UdpDelayProxy(o, listen);
    listen.on('message', (buf, rinfo) => { proxy.#fromClient(buf, rinfo); });
    listen.on('error', () => { proxy.counts.failed++; });
    if (o.tcp === true) {
      try {
        await proxy.#listenTcp();
      } catch (err) {
        await proxy.close();
        throw new FleetLabError(`the delay proxy cannot listen on TCP ${o.listen.host}:${String(proxy.address.port)}: ${String(err)}`, { cause: err });
      }
    }
    const idle = o.idleMs ?? 60_000;
    proxy.#sweeper = setInterval(() => { proxy.#sweep(idle); }, Math.min(idle, 10_000));
    proxy.#sweeper.unref();
    return proxy;
  }

  /** The listening address (its port when 0 was asked). */
  get address(): Endpoint {
    const a = this.#listen.address();
    return { host: a.address, port: a.port };
  }

  /** Replaces the law; datagrams already in flight keep the delay they were given. */
  setLaw(law: LawOf): void {
    this.#law = law;
  }

  #draw(direction: Direction, client: string): number | null {
    const law = checkLaw(this.#law(direction, client));
    if (law.loss > 0 && this.#random.uniform() < law.loss) return null;
    const ms = drawDelayMs(law, this.#random);
    if (this.delays.length < 100_000) this.delays.push(ms);
    return ms;
  }

  /** Runs `send` after `ms` (at once when 0: no extra event-loop turn for the undelayed). */
  #later(ms: number, send: () => void): void {
    if (ms <= 0) {
      send();
      return;
    }
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (!this.#closed) send();
    }, ms);
    this.#timers.add(timer);
  }

  #fromClient(buf: Buffer, rinfo: RemoteInfo): void {
    const client = key(rinfo);
    const ms = this.#draw('forward', client);
    if (ms === null) {
      this.counts.lost++;
      return;
    }
    const up = this.#upstream(client, rinfo);
    up.lastUsed = performance.now();
    this.#later(ms, () => {
      up.socket.send(buf, this.#o.forward.port, this.#o.forward.host, (err) => {
        if (err) this.counts.failed++;
        else this.counts.forwarded++;
      });
    });
  }

  #upstream(client: string, rinfo: RemoteInfo): Upstream {
    const known = this.#upstreams.get(client);
    if (known !== undefined) return known;
    const socket = createSocket(this.#o.listen.host.includes(':') ? 'udp6' : 'udp4');
    const up: Upstream = { socket, client: rinfo, lastUsed: performance.now() };
    // Bound on the listening host (port chosen by the kernel) before the first send, so the target sees that address.
    socket.bind(0, this.#o.listen.host);
    socket.on('error', () => { this.counts.failed++; });
    socket.on('message', (buf, from) => {
      // Only the target's replies go back: anything else reaching an upstream port is not ours to relay.
      if (from.port !== this.#o.forward.port || from.address !== this.#o.forward.host) return;
      const ms = this.#draw('reply', client);
      if (ms === null) {
        this.counts.lost++;
        return;
      }
      up.lastUsed = performance.now();
      this.#later(ms, () => {
        this.#listen.send(buf, up.client.port, up.client.address, (err) => {
          if (err) this.counts.failed++;
          else this.counts.replied++;
        });
      });
    });
    this.#upstreams.set(client, up);
    return up;
  }

  #sweep(idleMs: number): void {
    const now = performance.now();
    for (const [client, up] of this.#upstreams) {
      if (now - up.lastUsed < idleMs) continue;
      this.#upstreams.delete(client);
      up.socket.close();
    }
  }

  async #listenTcp(): Promise<void> {
    const server = createServer((inbound) => {
      const client = `${inbound.remoteAddress ?? ''}:${String(inbound.remotePort ?? 0)}`;
      // A silent law (loss 1 either way) refuses the connection too.
      if (checkLaw(this.#law('forward', client)).loss >= 1 || checkLaw(this.#law('reply', client)).loss >= 1) {
        this.counts.tcpRefused++;
        inbound.destroy();
        return;
      }
      this.counts.tcpPassed++;
      const outbound = createConnection({ host: this.#o.forward.host, port: this.#o.forward.port });
      for (const s of [inbound, outbound]) {
        this.#tcpSockets.add(s);
        s.on('close', () => { this.#tcpSockets.delete(s); });
        s.on('error', () => { inbound.destroy(); outbound.destroy(); });
      }
      inbound.pipe(outbound);
      outbound.pipe(inbound);
    });
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.address.port, this.#o.listen.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  /** Closes every socket and drops what is in flight. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#sweeper !== null) clearInterval(this.#sweeper);
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    for (const up of this.#upstreams.values()) up.socket.close();
    this.#upstreams.clear();
    for (const s of this.#tcpSockets) s.destroy();
    const server = this.#server;
    if (server !== null) await new Promise<void>((resolve) => { server.close(() => { resolve(); }); });
    await new Promise<void>((resolve) => { this.#listen.close(() => { resolve(); }); });
  }
}
