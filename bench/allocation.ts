/**
 * Heap allocated per tick on the 100 Hz path (docs/DAEMON.md): the thermal state's read (/proc/stat,
 * the twin, the controllers and the offer), the clearing, and the market session's step with
 * 8 agents bidding (0.5–0.85 J a quantum: above the twin's idle reserve) for this machine's cores — without and with the ledger write every
 * `settleEveryTicks` (a real SQLite ledger in a temporary folder). Goal: ≈ 0 bytes per tick in
 * steady state for what can be kept; a ledger write (hashes, a signature, an SQLite commit)
 * allocates by nature, so it is reported on its own.
 *
 * Bytes allocated, not retained: V8's GC profiler reports the used heap before and after every
 * collection, so Σ(before − previous after) + (end − last after) is everything allocated in the
 * window, whatever the collector did. 2,000 ticks warm the JIT first; then three windows of
 * 10,000 ticks are measured and the least is reported (the JIT's own allocations only add).
 * The session's enforcer runs against a runtime that does nothing (this measures the session,
 * not cgroup writes); everything else is the real code.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import v8 from 'node:v8';
import { parseAgentId } from '../src/agent-id.js';
import { ManualClock } from '../src/clock/clock.js';
import { defaultConfig } from '../src/config/load.js';
import { Enforcer } from '../src/daemon/enforcer.js';
import { ThermalState } from '../src/heat-price/thermal.js';
import { Ledger } from '../src/ledger/ledger.js';
import { ClearingEngine, type PlaneOffer } from '../src/market/engine.js';
import { NO_EVENTS } from '../src/market/entropy.js';
import { OrderBook, type Plane } from '../src/market/order-book.js';
import type { AgentRuntime } from '../src/runtimes/runtime.js';
import { MARKET_POLICY } from '../src/session/policy.js';
import type { ThermalInput } from '../src/session/ports.js';
import { MarketSession } from '../src/session/session.js';
import { seconds } from '../src/units/units.js';

export interface AllocationRow {
  readonly name: string;
  readonly ticks: number;
  /** The least of three windows of `ticks` ticks. */
  readonly bytesPerTick: number;
  readonly maxBytesPerTick: number;
  readonly gcs: number;
}

export interface AllocationResult {
  readonly agents: number;
  readonly cores: number;
  readonly rows: readonly AllocationRow[];
  readonly goal: string;
}

const WARM_UP = 2000;
const MEASURED = 10_000;
const AGENTS = 8;

/** Bytes allocated while `tick` runs `ticks` times (after a warm-up), from the GC profiler. */
export function allocatedPerTick(name: string, tick: (i: number) => void, ticks = MEASURED): AllocationRow {
  for (let i = 0; i < WARM_UP; i++) tick(i);
  // Three windows: the JIT's own allocations (code, feedback) land in some of them and only ever
  // add, so the least is the code's and the spread is shown beside it.
  const windows = [0, 1, 2].map((w) => window(tick, WARM_UP + w * ticks, ticks));
  const least = windows.reduce((a, b) => (b.bytes < a.bytes ? b : a));
  return { name, ticks, bytesPerTick: least.bytes / ticks, maxBytesPerTick: Math.max(...windows.map((w) => w.bytes)) / ticks, gcs: least.gcs };
}

function window(tick: (i: number) => void, first: number, ticks: number): { bytes: number; gcs: number } {
  const profiler = new v8.GCProfiler();
  profiler.start();
  const startUsed = v8.getHeapStatistics().used_heap_size;
  for (let i = 0; i < ticks; i++) tick(first + i);
  const endUsed = v8.getHeapStatistics().used_heap_size;
  const { statistics } = profiler.stop();
  let allocated = 0;
  let previousAfter = startUsed;
  for (const gc of statistics) {
    allocated += gc.beforeGC.heapStatistics.usedHeapSize - previousAfter;
    previousAfter = gc.afterGC.heapStatistics.usedHeapSize;
  }
  allocated += endUsed - previousAfter;
  return { bytes: Math.max(0, allocated), gcs: statistics.length };
}

/** A runtime whose every call succeeds at once: the enforcer's reconciling without cgroups. */
const IDLE_RUNTIME = {
  kind: 'process',
  pause: () => Promise.resolve({ latencyMs: 0, mechanism: 'cgroup1-freezer' }),
  resume: () => Promise.resolve({ latencyMs: 0, mechanism: 'cgroup1-freezer' }),
  pin: () => Promise.resolve(),
  setCpuShare: () => Promise.resolve(),
  stop: () => Promise.resolve(),
} as unknown as AgentRuntime;

function session(settleEveryTicks: number, ledger: Ledger, clock: ManualClock): MarketSession {
  const rules = { ...defaultConfig().daemon, settleEveryTicks };
  const s = new MarketSession({
    rules,
    policy: MARKET_POLICY,
    clock,
    ledger,
    channel: { send: () => undefined, isConnected: () => true },
    enforcer: new Enforcer(IDLE_RUNTIME),
    entropy: { drain: () => NO_EVENTS, watch: () => undefined, unwatch: () => undefined },
    thermal: { source: 'modelled: bench', coreSource: () => 'modelled: bench' },
  });
  for (let i = 0; i < AGENTS; i++) {
    const id = parseAgentId(`agent-${String(i)}`);
    s.admit({ id, role: 'other', runtime: 'process', walletJ: 1e6, bid: { pricePerQuantumJ: 0.5 + i * 0.05 } });
    s.started(id, { pid: null, pinning: true });
  }
  return s;
}

export async function benchAllocation(): Promise<AllocationResult> {
  const cores = availableParallelism();
  const clock = new ManualClock();
  const advance = (): void => { clock.advance(seconds(0.01)); };
  const config = defaultConfig();
  const thermal = await ThermalState.start({
    twin: { ...config.twin, cores, gpu: false },
    setpointC: config.control.setpointC,
    criticalC: config.daemon.criticalC,
    rateHz: config.daemon.rateHz,
    now: () => clock.now(),
  });
  const dir = mkdtempSync(join(tmpdir(), 'mxw-alloc-'));
  const rows: AllocationRow[] = [];
  try {
    rows.push(allocatedPerTick('thermal state read (/proc/stat, twin, PIDs, offer)', () => {
      advance();
      thermal.read();
    }));

    const book = new OrderBook();
    for (let i = 0; i < AGENTS; i++) {
      book.register(`agent-${String(i)}`);
      book.place(`agent-${String(i)}`, 0.5 + i * 0.05);
    }
    const offer: PlaneOffer = { quality: new Float64Array(cores).fill(1), reserve: new Float64Array(cores).fill(0.001), unit: Int32Array.from({ length: cores }, (_, c) => c) };
    const offers = new Map<Plane, PlaneOffer>([['cpu', offer]]);
    const engine = new ClearingEngine({ book, walletJ: () => 1e6 });
    rows.push(allocatedPerTick(`clearing (${String(AGENTS)} bids, ${String(cores)} cores)`, (i) => {
      engine.clearTick(i, offers);
    }));

    const fixed: ThermalInput = { temperaturesC: new Float64Array(cores).fill(50), reservePerQuantumJ: new Float64Array(cores).fill(0.001), allowance: new Float64Array(cores).fill(1), offer };
    const dear: ThermalInput = { ...fixed, reservePerQuantumJ: new Float64Array(cores).fill(100), offer: { ...offer, reserve: new Float64Array(cores).fill(100) } };
    const idle = Ledger.open({ path: join(dir, 'idle.db'), keyPath: join(dir, 'node.key') });
    const nobodyWins = session(Number.MAX_SAFE_INTEGER, idle, clock);
    rows.push(allocatedPerTick('session step, no winner (reserve above every bid), no ledger write', (i) => {
      advance();
      nobodyWins.step(i, dear);
    }));
    idle.close();
    const quiet = Ledger.open({ path: join(dir, 'quiet.db'), keyPath: join(dir, 'node.key') });
    const noWrites = session(Number.MAX_SAFE_INTEGER, quiet, clock);
    rows.push(allocatedPerTick(`session step, ${String(Math.min(cores, AGENTS))} winners pay, no ledger write`, (i) => {
      advance();
      noWrites.step(i, fixed);
    }));
    quiet.close();

    const ledger = Ledger.open({ path: join(dir, 'ledger.db'), keyPath: join(dir, 'node.key') });
    const writing = session(config.daemon.settleEveryTicks, ledger, clock);
    rows.push(allocatedPerTick(`session step, ledger write every ${String(config.daemon.settleEveryTicks)} ticks (SQLite)`, (i) => {
      advance();
      writing.step(i, fixed);
    }));
    ledger.close();
    const own = Ledger.open({ path: join(dir, 'daemon.db'), keyPath: join(dir, 'node.key') });
    const daemonLike = session(config.daemon.settleEveryTicks, own, clock);
    rows.push(allocatedPerTick('the daemon’s tick: thermal read + session step + ledger', (i) => {
      advance();
      daemonLike.step(i, thermal.read());
    }));
    own.close();
  } finally {
    await thermal.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return { agents: AGENTS, cores, rows, goal: '≈ 0 bytes per tick for what can be kept (the ledger write allocates by nature)' };
}

export function formatAllocation(result: AllocationResult): string {
  const lines = [`\nHeap allocated per tick (measured: V8 GC profiler, least of 3 windows of ${String(MEASURED)} ticks after ${String(WARM_UP)} warm-up; ${result.goal}):`];
  for (const r of result.rows) lines.push(`  ${r.name.padEnd(68)} ${r.bytesPerTick.toFixed(1).padStart(9)} B/tick  (most of 3 windows: ${r.maxBytesPerTick.toFixed(1)})`);
  return `${lines.join('\n')}\n`;
}
