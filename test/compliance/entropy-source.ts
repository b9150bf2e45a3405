/**
 * The compliance suite every EntropySource passes on this machine, against real processes that
 * erase memory: provenance, attribution of a watched agent's erasure, drain semantics, vanished
 * processes, unwatch, cgroup watches, helper CPU and a safe close.
 *
 * The erasing process is Node itself: a buffer above glibc's largest mmap threshold (32 MiB) is
 * always mmapped, so dropping it and forcing a GC munmaps exactly that much (what measured
 * sources see), and its pages were touched, so RssAnon falls by as much (what estimates see).
 * Nothing here needs a compiled workload, so every source runs the same agents.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { test } from 'node:test';
import { NO_EVENTS, type EntropyQuality, type EntropySource, type EraseEvent } from '../../src/market/entropy.js';
import { until } from '../helpers/wait.js';

const MIB = 2 ** 20;
/** What one erase cycle of a holder frees. */
export const ERASE_BYTES = 64 * MIB;
/** How long a source may take to report an erasure (bpftrace prints through a perf buffer). */
const ARRIVAL_MS = 20_000;
const CGROUP2 = '/sys/fs/cgroup/unified';

export interface EntropySourceCase<S extends EntropySource = EntropySource> {
  /** Shown in test names. */
  readonly name: string;
  readonly create: () => Promise<S>;
  /** What `provenance().quality` must say. */
  readonly quality: EntropyQuality;
  /** What `provenance().source` must name (which mechanism this is). */
  readonly provenance: RegExp;
  /**
   * Resolves once the `watch` and `unwatch` calls made so far are in effect. A source whose
   * watch acts before it returns (the /proc estimate) leaves it out.
   */
  readonly settle?: (source: S) => Promise<void>;
  /** The source can watch cgroups before any process exists (`watchCgroups` must be there and work). */
  readonly cgroups?: boolean;
  /** The source runs helper processes (`helperCpuS` must be there). */
  readonly helper?: boolean;
  /** Skip with this reason (root, a kernel feature or a build missing here). */
  readonly skip?: string | false;
}

type Child = ChildProcessByStdio<Writable, Readable, null>;

/**
 * A Node process that, per command line on stdin, touches ERASE_BYTES ("hold", answers "held")
 * or drops them and collects ("free", answers "freed"). Between commands it does nothing.
 */
const HOLDER = `
let held = null;
require('node:readline').createInterface({ input: process.stdin }).on('line', (cmd) => {
  if (cmd === 'hold') { held = Buffer.allocUnsafeSlow(${String(ERASE_BYTES)}).fill(1); process.stdout.write('held\\n'); }
  if (cmd === 'free') { held = null; globalThis.gc(); process.stdout.write('freed\\n'); }
});
process.stdout.write('ready\\n');
`;

class Holder {
  readonly pid: number;
  readonly #child: Child;
  readonly #lines: AsyncIterator<string>;
  readonly exited: Promise<unknown>;

  private constructor(child: Child, lines: AsyncIterator<string>) {
    this.#child = child;
    this.#lines = lines;
    this.pid = child.pid ?? 0;
    this.exited = once(child, 'exit');
  }

  static async start(): Promise<Holder> {
    // Each thread's first malloc may make glibc carve a new arena out of a 128 MiB reservation
    // and munmap the unaligned rest: untouched address space that measured sources count, as
    // much as the buffer again whenever a V8 worker thread first allocates. One arena: none.
    const child = spawn(process.execPath, ['--expose-gc', '-e', HOLDER], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, MALLOC_ARENA_MAX: '1' } });
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const holder = new Holder(child, lines);
    await holder.#expect('ready');
    return holder;
  }

  async #expect(answer: string): Promise<void> {
    const next = await this.#lines.next();
    assert.equal(next.value, answer, `holder ${String(this.pid)} answers ${answer}`);
  }

  async hold(): Promise<void> {
    this.#child.stdin.write('hold\n');
    await this.#expect('held');
  }

  async free(): Promise<void> {
    this.#child.stdin.write('free\n');
    await this.#expect('freed');
  }

  signal(signal: NodeJS.Signals): void {
    this.#child.kill(signal);
  }

  async kill(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
    await this.exited;
  }
}

/** Every event drained during a test, each drain kept apart. */
class Collector {
  readonly drains: (readonly EraseEvent[])[] = [];
  readonly #source: EntropySource;

  constructor(source: EntropySource) {
    this.#source = source;
  }

  drain(): readonly EraseEvent[] {
    const events = this.#source.drain();
    this.drains.push(events);
    return events;
  }

  events(agentId?: string): EraseEvent[] {
    return this.drains.flat().filter((e) => agentId === undefined || e.agentId === agentId);
  }

  bytes(agentId: string): number {
    return this.events(agentId).reduce((sum, e) => sum + e.bytes, 0);
  }

  /** Drains until `agentId` has `bytes` attributed, or fails showing what came. */
  async awaitBytes(agentId: string, bytes: number): Promise<void> {
    await until(`${String(bytes / MIB)} MiB erased by ${agentId}`, () => {
      this.drain();
      return this.bytes(agentId) >= bytes;
    }, ARRIVAL_MS).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}; got ${String(this.bytes(agentId) / MIB)} MiB in ${JSON.stringify(this.events(agentId).map((e) => [e.kind, e.bytes]))}`);
    });
  }
}

/** One hold-and-free cycle, draining while the memory is held so an estimate sees it resident. */
async function eraseOnce(holder: Holder, collector: Collector): Promise<void> {
  await holder.hold();
  collector.drain();
  await holder.free();
}

function checkEvent(e: EraseEvent, pids: ReadonlyMap<string, number>): void {
  const pid = pids.get(e.agentId);
  assert.ok(pid !== undefined, `an event for ${e.agentId}, who is not watched`);
  assert.ok(e.pid === 0 || e.pid === pid, `${e.agentId}'s event names pid ${String(e.pid)}, not its process ${String(pid)}`);
  assert.ok(Number.isSafeInteger(e.bytes) && e.bytes > 0, `${e.agentId}: ${String(e.bytes)} bytes`);
  assert.ok(e.kind.length > 0);
  assert.ok(Number.isFinite(e.atMs));
}

/** Oldest first: within a drain, one process's events do not go back in time. */
function checkOrder(drain: readonly EraseEvent[]): void {
  const last = new Map<string, number>();
  for (const e of drain) {
    const key = `${e.agentId}/${String(e.pid)}`;
    assert.ok(e.atMs >= (last.get(key) ?? -Infinity), `${key}: ${String(e.atMs)} ms after ${String(last.get(key))} ms in one drain`);
    last.set(key, e.atMs);
  }
}

/** For an estimate, a little of the freed buffer may be hidden by other memory growing meanwhile. */
function expectedBytes(quality: EntropyQuality): number {
  return quality === 'measured' ? ERASE_BYTES : 0.9 * ERASE_BYTES;
}

export function entropySourceCompliance<S extends EntropySource>(c: EntropySourceCase<S>): void {
  const skip = c.skip === undefined ? false : c.skip;
  const options = { timeout: 120_000, skip };
  const settle = async (source: S): Promise<void> => { await c.settle?.(source); };
  const wanted = expectedBytes(c.quality);

  test(`${c.name}: provenance says how it knows and which source it is`, options, async () => {
    const source = await c.create();
    try {
      const p = source.provenance();
      assert.equal(p.quality, c.quality);
      assert.match(p.source, c.provenance);
      assert.ok(Number.isSafeInteger(p.lostEvents) && p.lostEvents >= 0, `lostEvents ${String(p.lostEvents)}`);
      assert.equal(source.drain(), NO_EVENTS, 'with nothing watched, drain returns the shared NO_EVENTS');
    } finally {
      await source.close();
    }
  });

  test(`${c.name}: two agents erasing at once each get their own bytes, once, oldest first`, options, async (t) => {
    const source = await c.create();
    const holders = await Promise.all([Holder.start(), Holder.start()]);
    t.after(async () => {
      await Promise.all(holders.map((h) => h.kill()));
      await source.close();
    });
    const [a, b] = holders;
    const pids = new Map([['alpha', a.pid], ['beta', b.pid]]);
    source.watch({ agentId: 'alpha', pid: a.pid });
    source.watch({ agentId: 'beta', pid: b.pid });
    await settle(source);
    const collector = new Collector(source);
    await Promise.all([eraseOnce(a, collector), eraseOnce(b, collector)]);
    // The agents are awaited one after the other, but nothing assumes whose events come first.
    await collector.awaitBytes('alpha', wanted);
    await collector.awaitBytes('beta', wanted);
    for (const e of collector.events()) checkEvent(e, pids);
    for (const drain of collector.drains) checkOrder(drain);
    const all = collector.events();
    assert.equal(new Set(all).size, all.length, 'no event is returned twice');
    // Node unmaps a little of its own besides the buffer (V8 pages); not a second buffer's worth.
    for (const id of ['alpha', 'beta']) assert.ok(collector.bytes(id) <= 2 * ERASE_BYTES, `${id}: ${String(collector.bytes(id) / MIB)} MiB for one ${String(ERASE_BYTES / MIB)} MiB buffer`);

    // Stopped processes erase nothing: once what was in flight is out, a drain is the shared empty one.
    for (const h of holders) h.signal('SIGSTOP');
    await settle(source);
    await until('a drain with nothing in it', () => {
      const events = collector.drain();
      for (const e of events) checkEvent(e, pids);
      return events === NO_EVENTS;
    }, ARRIVAL_MS);
    for (const h of holders) h.signal('SIGCONT');
  });

  test(`${c.name}: a vanished process never makes watch, drain or unwatch throw`, options, async (t) => {
    const source = await c.create();
    const holder = await Holder.start();
    t.after(async () => {
      await holder.kill();
      await source.close();
    });
    source.watch({ agentId: 'gone', pid: holder.pid });
    await settle(source);
    const collector = new Collector(source);
    await holder.hold();
    collector.drain();
    await holder.kill();
    // A process reaped between two drains, then one watched when it no longer exists.
    const pids = new Map([['gone', holder.pid], ['ghost', holder.pid]]);
    for (let i = 0; i < 3; i++) {
      await settle(source);
      collector.drain();
    }
    source.watch({ agentId: 'ghost', pid: holder.pid });
    await settle(source);
    collector.drain();
    source.unwatch('ghost');
    source.unwatch('gone');
    source.unwatch('never-watched');
    await settle(source);
    collector.drain();
    for (const e of collector.events()) checkEvent(e, pids);
    assert.equal(source.provenance().quality, c.quality, 'the source is still working');
  });

  test(`${c.name}: after unwatch an agent's erasure is no longer attributed; others' still is`, options, async (t) => {
    const source = await c.create();
    const holders = await Promise.all([Holder.start(), Holder.start()]);
    t.after(async () => {
      await Promise.all(holders.map((h) => h.kill()));
      await source.close();
    });
    const [kept, dropped] = holders;
    const pids = new Map([['kept', kept.pid], ['dropped', dropped.pid]]);
    source.watch({ agentId: 'kept', pid: kept.pid });
    source.watch({ agentId: 'dropped', pid: dropped.pid });
    await settle(source);
    const before = new Collector(source);
    await Promise.all([eraseOnce(kept, before), eraseOnce(dropped, before)]);
    // Everything erased while watched has arrived before the unwatch, so nothing late is mistaken.
    await before.awaitBytes('dropped', wanted);
    source.unwatch('dropped');
    await settle(source);
    before.drain();
    for (const e of before.events()) checkEvent(e, pids);

    const after = new Collector(source);
    await Promise.all([eraseOnce(kept, after), eraseOnce(dropped, after)]);
    await after.awaitBytes('kept', wanted);
    await settle(source);
    after.drain();
    assert.deepEqual(after.events('dropped'), [], 'nothing for the unwatched agent');
    for (const e of after.events()) checkEvent(e, pids);
  });

  if (c.cgroups === true) test(`${c.name}: watchCgroups attributes erasure by any process in the cgroups`, {
    ...options,
    skip: skip !== false ? skip : process.geteuid?.() !== 0 ? 'needs root to make a cgroup' : existsSync(`${CGROUP2}/cgroup.procs`) ? false : `no cgroup2 hierarchy at ${CGROUP2}`,
  }, async (t) => {
    const source = await c.create();
    const dir = `${CGROUP2}/maxwell-compliance-${String(process.pid)}`;
    mkdirSync(dir, { recursive: true });
    const holder = await Holder.start();
    t.after(async () => {
      await holder.kill();
      await source.close();
      rmdirSync(dir);
    });
    assert.ok(source.watchCgroups !== undefined, 'the source has watchCgroups');
    await source.watchCgroups('grouped', [dir]);
    writeFileSync(`${dir}/cgroup.procs`, String(holder.pid));
    const collector = new Collector(source);
    await eraseOnce(holder, collector);
    await collector.awaitBytes('grouped', wanted);
    for (const e of collector.events()) checkEvent(e, new Map([['grouped', holder.pid]]));
  });

  test(`${c.name}: helper CPU, where the source has helpers, is finite and never falls`, options, async (t) => {
    const source = await c.create();
    const holder = await Holder.start();
    t.after(async () => {
      await holder.kill();
      await source.close();
    });
    if (source.helperCpuS === undefined) {
      assert.notEqual(c.helper, true, 'a source with helper processes reports their CPU');
      return;
    }
    const readings: number[] = [source.helperCpuS()];
    source.watch({ agentId: 'cpu', pid: holder.pid });
    await settle(source);
    readings.push(source.helperCpuS());
    const collector = new Collector(source);
    await eraseOnce(holder, collector);
    await collector.awaitBytes('cpu', wanted);
    readings.push(source.helperCpuS());
    await source.close();
    readings.push(source.helperCpuS());
    for (const r of readings) assert.ok(Number.isFinite(r) && r >= 0, `helper CPU ${String(r)} s`);
    for (let i = 1; i < readings.length; i++) assert.ok((readings[i] ?? 0) >= (readings[i - 1] ?? 0), `helper CPU fell: ${readings.join(' → ')} s`);
  });

  test(`${c.name}: close is idempotent, and nothing throws after it`, options, async (t) => {
    const source = await c.create();
    const holder = await Holder.start();
    t.after(() => holder.kill());
    source.watch({ agentId: 'closing', pid: holder.pid });
    await settle(source);
    await Promise.all([source.close(), source.close()]);
    await source.close();
    assert.ok(Array.isArray(source.drain()));
    assert.equal(source.provenance().quality, c.quality);
    source.watch({ agentId: 'late', pid: holder.pid });
    source.unwatch('late');
    source.unwatch('closing');
    if (source.helperCpuS !== undefined) assert.ok(Number.isFinite(source.helperCpuS()));
    await holder.hold();
    await holder.free();
    for (const e of source.drain()) checkEvent(e, new Map([['closing', holder.pid]]));
    await source.close();
  });
}
