/**
 * Clearing cost (docs/MARKET.md): 1,000 bids over 64 slots (target p99 ≤ 1 ms) and 10,000 bids
 * (target p99 ≤ 5 ms), GSP and VCG, measured with tinybench.
 */
import { Bench } from 'tinybench';
import { SeededRandom } from '../src/internal/seeded-random.js';
import { Clearing, type ClearingMode } from '../src/market/clearing.js';

export interface ClearingBenchRow {
  readonly name: string;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly targetP99Ms: number;
  readonly verdict: 'PASS' | 'MISS';
}

export async function benchClearing(): Promise<ClearingBenchRow[]> {
  const random = new SeededRandom(5);
  const slots = 64;
  const quality = Float64Array.from({ length: slots }, (_, s) => 1 - s / 128);
  const reserve = Float64Array.from({ length: slots }, (_, s) => 0.1 + s * 0.01);
  const offer = { quality, reserve };
  const cases: [number, ClearingMode, number][] = [
    [1000, 'gsp', 1],
    [1000, 'vcg', 1],
    [10_000, 'gsp', 5],
    [10_000, 'vcg', 5],
  ];
  const bench = new Bench({ name: 'clearing', time: 400 });
  let tick = 0;
  for (const [n, mode] of cases) {
    const price = Float64Array.from({ length: n }, () => random.uniform() * 10);
    const budget = Float64Array.from({ length: n }, () => random.uniform() * 100);
    const bids = { price, budget, tieKey: Float64Array.from({ length: n }, (_, i) => i), count: n };
    const clearing = new Clearing(n);
    bench.add(`${n} bids over ${slots} slots (${mode})`, () => {
      clearing.clear(mode, offer, bids, tick++);
    });
  }
  await bench.run();
  return bench.tasks.map((task, i) => {
    const latency = task.result.state === 'completed' ? task.result.latency : undefined;
    const target = cases[i]?.[2] ?? Number.NaN;
    const p99 = latency?.p99 ?? Number.NaN;
    return { name: task.name, p50Ms: latency?.p50 ?? Number.NaN, p99Ms: p99, targetP99Ms: target, verdict: p99 <= target ? 'PASS' : 'MISS' };
  });
}
