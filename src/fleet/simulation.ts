/**
 * Deterministic, seeded simulations of the fleet protocols, no sockets: MODELLED numbers for
 * research question 10 (docs/DESIGN.md §6), computed by the code the fleet runs (the {@link Swim} and
 * {@link PushSum} classes), on a simulated clock driven by an event queue. Pure: no I/O.
 *
 * SWIM network model: every datagram is lost independently with probability `loss`, else
 * delivered after a uniform 1–5 ms latency; a slow (overloaded) node handles every message it
 * receives `slowDelayMs` late (its timers fire on time), which is the failure Lifeguard targets:
 * without it, a slow node that hears its acks late accuses healthy members. All nodes start
 * knowing each other (converged); `crashes` nodes fall silent at `warmupMs`.
 */
import { SeededRandom } from '../internal/seeded-random.js';
import type { MemberMeta } from './messages.js';
import { PushSum, relativeError, type Vec3 } from './push-sum.js';
import { Swim } from './swim.js';
import type { SwimConfig } from './swim-config.js';

export interface SwimSimOptions {
  readonly n: number;
  readonly seed: number;
  /** Probability a datagram is lost. */
  readonly loss: number;
  readonly lifeguard: boolean;
  /** Fraction of nodes that are slow. @default 0.05 */
  readonly slowFraction?: number;
  /** How late a slow node handles each received message, ms. @default 1500 */
  readonly slowDelayMs?: number;
  /** Nodes that crash at `warmupMs`. @default max(1, n / 100) */
  readonly crashes?: number;
  /** @default 20000 */
  readonly warmupMs?: number;
  /** Simulated time after the crash, ms. @default 90000 */
  readonly afterCrashMs?: number;
  readonly config?: Partial<SwimConfig>;
}

export interface SwimSimResult {
  readonly n: number;
  readonly loss: number;
  readonly lifeguard: boolean;
  readonly slow: number;
  readonly crashed: number;
  readonly simulatedS: number;
  /** Probe periods from the crash to the first suspicion / first `dead` anywhere, mean over crashed nodes. */
  readonly firstSuspectPeriods: number;
  readonly firstDeadPeriods: number;
  /** Probe periods from the crash until every live node holds it dead: mean and worst; crashed nodes never fully detected. */
  readonly allDeadPeriodsMean: number;
  readonly allDeadPeriodsMax: number;
  readonly undetected: number;
  /** Healthy (not slow, not crashed) nodes that some member declared dead: count and fraction of the healthy. */
  readonly healthyDeclaredDead: number;
  readonly falsePositiveRate: number;
  /** Slow nodes some member declared dead (they are alive, only late). */
  readonly slowDeclaredDead: number;
  /** Refutations (incarnation bumps after a false suspicion) per healthy node per simulated minute. */
  readonly healthyRefutationsPerNodeMinute: number;
  readonly slowRefutationsPerNodeMinute: number;
  /** Datagrams sent per node per simulated second. */
  readonly messagesPerNodeS: number;
}

const META: MemberMeta = { headroom: 0.5, meanPrice: 1, powerW: 200, location: { zone: 'z', row: 'r', rack: 'k', chassis: 'c' } };

/** A binary min-heap of events ordered by (time, insertion). */
class EventHeap<T> {
  readonly #t: number[] = [];
  readonly #o: number[] = [];
  readonly #v: T[] = [];
  #order = 0;
  get size(): number {
    return this.#v.length;
  }
  push(time: number, value: T): void {
    this.#t.push(time);
    this.#o.push(this.#order++);
    this.#v.push(value);
    let i = this.#v.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.#less(i, p)) break;
      this.#swap(i, p);
      i = p;
    }
  }
  peekTime(): number {
    return this.#t[0] ?? Infinity;
  }
  pop(): T | undefined {
    const top = this.#v[0];
    const last = this.#v.length - 1;
    this.#swap(0, last);
    this.#t.pop();
    this.#o.pop();
    this.#v.pop();
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.#v.length && this.#less(l, m)) m = l;
      if (r < this.#v.length && this.#less(r, m)) m = r;
      if (m === i) break;
      this.#swap(i, m);
      i = m;
    }
    return top;
  }
  #less(a: number, b: number): boolean {
    const ta = this.#t[a] ?? 0;
    const tb = this.#t[b] ?? 0;
    return ta < tb || (ta === tb && (this.#o[a] ?? 0) < (this.#o[b] ?? 0));
  }
  #swap(a: number, b: number): void {
    const t = this.#t[a] ?? 0;
    this.#t[a] = this.#t[b] ?? 0;
    this.#t[b] = t;
    const o = this.#o[a] ?? 0;
    this.#o[a] = this.#o[b] ?? 0;
    this.#o[b] = o;
    const v = this.#v[a];
    const w = this.#v[b];
    if (v !== undefined && w !== undefined) {
      this.#v[a] = w;
      this.#v[b] = v;
    }
  }
}

type SimEvent = { readonly kind: 'wake'; readonly node: number } | { readonly kind: 'deliver'; readonly node: number; readonly from: number; readonly message: Parameters<Swim['receive']>[2] };

/** One SWIM run (see the module comment for the model). */
export function simulateSwim(o: SwimSimOptions): SwimSimResult {
  const rng = new SeededRandom(o.seed);
  const n = o.n;
  const warmupMs = o.warmupMs ?? 20_000;
  const endMs = warmupMs + (o.afterCrashMs ?? 90_000);
  const slowDelayMs = o.slowDelayMs ?? 1500;
  let now = 0;
  const config = { ...o.config, lifeguard: o.lifeguard };
  const nodes = Array.from({ length: n }, (_, i) => new Swim({ id: `n${i}`, addr: `n${i}`, meta: META, now: () => now, random: new SeededRandom(o.seed * 7919 + i + 1), config }));
  for (const a of nodes) for (let j = 0; j < n; j++) if (a.id !== `n${j}`) a.seed(`n${j}`, `n${j}`, META);
  const probeMs = nodes[0]?.config.probeIntervalMs ?? 1000;

  // Roles: a shuffled order; the first `crashes` crash, the next slowFraction·n are slow.
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    [order[i], order[j]] = [order[j] ?? 0, order[i] ?? 0];
  }
  const crashes = Math.min(n - 2, o.crashes ?? Math.max(1, Math.floor(n / 100)));
  const slowCount = Math.min(n - crashes, Math.round((o.slowFraction ?? 0.05) * n));
  const crashing = new Set(order.slice(0, crashes));
  const slow = new Set(order.slice(crashes, crashes + slowCount));
  const crashed = new Uint8Array(n);

  const heap = new EventHeap<SimEvent>();
  const wakeAt = new Float64Array(n).fill(Infinity);
  let sent = 0;
  const firstSuspect = new Map<number, number>();
  const firstDead = new Map<number, number>();
  const deadCount = new Map<number, number>();
  const allDead = new Map<number, number>();
  const falseDead = new Set<number>();
  const startInc = nodes.map((s) => s.incarnation);
  const observers = n - crashes;

  const schedule = (i: number): void => {
    const node = nodes[i];
    if (node === undefined || crashed[i] === 1) return;
    const t = Math.max(now + 1e-3, node.nextDeadlineMs());
    if (t < (wakeAt[i] ?? Infinity) || (wakeAt[i] ?? 0) <= now) {
      wakeAt[i] = t;
      heap.push(t, { kind: 'wake', node: i });
    }
  };
  const flush = (i: number): void => {
    const node = nodes[i];
    if (node === undefined) return;
    for (const out of node.drain()) {
      sent++;
      if (rng.uniform() < o.loss) continue;
      const to = Number(out.to.slice(1));
      heap.push(now + 1 + 4 * rng.uniform() + (slow.has(to) ? slowDelayMs : 0), { kind: 'deliver', node: to, from: i, message: out.message });
    }
    for (const e of node.drainEvents()) {
      const subject = Number(e.id.slice(1));
      if (e.state === 'suspect' && crashed[subject] === 1 && !firstSuspect.has(subject)) firstSuspect.set(subject, now);
      if (e.state !== 'dead' && e.state !== 'left') continue;
      if (crashed[subject] !== 1) {
        falseDead.add(subject);
        continue;
      }
      if (!firstDead.has(subject)) firstDead.set(subject, now);
      const c = (deadCount.get(subject) ?? 0) + 1;
      deadCount.set(subject, c);
      if (c === observers) allDead.set(subject, now);
    }
    schedule(i);
  };
  for (let i = 0; i < n; i++) schedule(i);

  let crashDone = false;
  while (heap.size > 0 && heap.peekTime() <= endMs) {
    if (!crashDone && heap.peekTime() >= warmupMs) {
      now = warmupMs;
      for (const c of crashing) crashed[c] = 1;
      crashDone = true;
    }
    now = heap.peekTime();
    const ev = heap.pop();
    if (ev === undefined) break;
    if (crashed[ev.node] === 1) continue;
    const node = nodes[ev.node];
    if (node === undefined) continue;
    if (ev.kind === 'wake') {
      if (wakeAt[ev.node] !== now) continue;
      node.tick();
    } else {
      node.receive(`n${ev.from}`, `n${ev.from}`, ev.message);
    }
    flush(ev.node);
  }

  const periods = (t: number | undefined): number => (t === undefined ? NaN : (t - warmupMs) / probeMs);
  const mean = (xs: number[]): number => (xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length);
  const crashedList = [...crashing];
  const detected = crashedList.filter((c) => allDead.has(c)).map((c) => periods(allDead.get(c)));
  const healthy = nodes.map((_, i) => i).filter((i) => !crashing.has(i) && !slow.has(i));
  const minutes = endMs / 60_000;
  const refutations = (ids: readonly number[]): number => (ids.length === 0 ? 0 : ids.reduce((a, i) => a + (nodes[i]?.incarnation ?? 0) - (startInc[i] ?? 0), 0) / ids.length / minutes);
  const healthyDead = healthy.filter((i) => falseDead.has(i)).length;
  return {
    n,
    loss: o.loss,
    lifeguard: o.lifeguard,
    slow: slowCount,
    crashed: crashes,
    simulatedS: endMs / 1000,
    firstSuspectPeriods: mean(crashedList.filter((c) => firstSuspect.has(c)).map((c) => periods(firstSuspect.get(c)))),
    firstDeadPeriods: mean(crashedList.filter((c) => firstDead.has(c)).map((c) => periods(firstDead.get(c)))),
    allDeadPeriodsMean: mean(detected),
    allDeadPeriodsMax: detected.length === 0 ? NaN : Math.max(...detected),
    undetected: crashes - detected.length,
    healthyDeclaredDead: healthyDead,
    falsePositiveRate: healthy.length === 0 ? 0 : healthyDead / healthy.length,
    slowDeclaredDead: [...slow].filter((i) => falseDead.has(i)).length,
    healthyRefutationsPerNodeMinute: refutations(healthy),
    slowRefutationsPerNodeMinute: refutations([...slow]),
    messagesPerNodeS: sent / n / (endMs / 1000),
  };
}

export interface PushSumSimOptions {
  readonly n: number;
  readonly seed: number;
  readonly loss: number;
  /** Target: every node's largest relative error over the three components ≤ epsilon. @default 1e-3 */
  readonly epsilon?: number;
  /** @default 100 */
  readonly maxRounds?: number;
  /** Liars: each round each sends `liarFanout` honest nodes a full-weight share at the extreme of every range. @default 0 */
  readonly liars?: number;
  /** @default 10 */
  readonly liarFanout?: number;
}

export interface PushSumSimResult {
  readonly n: number;
  readonly loss: number;
  readonly liars: number;
  /** First round after which every honest node is within epsilon, or null when not within maxRounds. */
  readonly roundsToEpsilon: number | null;
  readonly epsilon: number;
  readonly maxRounds: number;
  /** Worst honest node's relative error after maxRounds. */
  readonly finalError: number;
  /** Mean |headroom estimate − true mean| over honest nodes after maxRounds (headroom's range is 1). */
  readonly headroomBias: number;
  /** Shares honest nodes clamped (weight or value), per node. */
  readonly clampedPerNode: number;
}

/** Synchronous push-sum rounds over values drawn from the seed (headroom U[0.1, 1], price U[0.5, 3] J, power U[100, 400] W). */
export function simulatePushSum(o: PushSumSimOptions): PushSumSimResult {
  const rng = new SeededRandom(o.seed);
  const n = o.n;
  const liars = o.liars ?? 0;
  const honest = n - liars;
  const epsilon = o.epsilon ?? 1e-3;
  const maxRounds = o.maxRounds ?? 100;
  const epochRounds = maxRounds + 1;
  const nodes = Array.from({ length: honest }, () => new PushSum({ epochRounds }));
  const truth: [number, number, number] = [0, 0, 0];
  nodes.forEach((p) => {
    const v: Vec3 = [0.1 + 0.9 * rng.uniform(), 0.5 + 2.5 * rng.uniform(), 100 + 300 * rng.uniform()];
    for (let k = 0; k < 3; k++) truth[k] = (truth[k] ?? 0) + (v[k] ?? 0) / honest;
    p.begin(0, v, n);
  });
  const ranges = nodes[0]?.config.ranges ?? [[0, 1], [0, 1], [0, 1]];
  const worst = (): number => nodes.reduce((w, p) => Math.max(w, relativeError(p.estimate() ?? [Infinity, Infinity, Infinity], truth)), 0);
  let roundsToEpsilon: number | null = null;
  for (let round = 1; round <= maxRounds; round++) {
    const inbox: { to: number; from: number; share: ReturnType<PushSum['share']> }[] = [];
    nodes.forEach((p, i) => {
      // A uniform member other than itself; shares to a liar are absorbed.
      let to = Math.floor(rng.uniform() * (n - 1));
      if (to >= i) to++;
      const share = p.share();
      if (rng.uniform() >= o.loss && to < honest) inbox.push({ to, from: i, share });
    });
    for (let l = 0; l < liars; l++) {
      for (let f = 0; f < (o.liarFanout ?? 10); f++) {
        const w = 1;
        inbox.push({ to: Math.floor(rng.uniform() * honest), from: honest + l, share: { epoch: 0, s: [ranges[0][0] * w, ranges[1][1] * w, ranges[2][1] * w], w } });
      }
    }
    for (const m of inbox) nodes[m.to]?.receive(`n${m.from}`, m.share);
    if (roundsToEpsilon === null && worst() <= epsilon) roundsToEpsilon = round;
  }
  const bias = nodes.reduce((a, p) => a + Math.abs((p.estimate()?.[0] ?? 0) - truth[0]), 0) / honest;
  return { n, loss: o.loss, liars, roundsToEpsilon, epsilon, maxRounds, finalError: worst(), headroomBias: bias, clampedPerNode: nodes.reduce((a, p) => a + p.clamped, 0) / honest };
}
