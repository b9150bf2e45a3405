/** What the soak's daemon was doing when its CPU burst: windows split at twice the median CPU (docs/RELIABILITY.md). */
import type { SoakSample } from './soak.js';

/** Means over a set of sample windows. */
export interface WindowMeans {
  readonly windows: number;
  readonly cpu: number;
  readonly agentsRunning: number;
  readonly quantaSold: number;
  readonly primesVerified: number;
  readonly spawned: number;
  readonly heapUsedMiB: number;
}

export interface CpuBursts {
  readonly medianCpu: number;
  /** Windows above 2 × the median, and the rest. */
  readonly bursts: WindowMeans;
  readonly rest: WindowMeans;
}

/** Splits windows at twice the median CPU, so a report can say what bursts coincide with. */
export function cpuBursts(samples: readonly SoakSample[]): CpuBursts {
  const sorted = samples.map((s) => s.cpu).filter(Number.isFinite).sort((a, b) => a - b);
  const medianCpu = sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
  const windows = samples.map((s, i) => ({ ...s, spawned: i === 0 ? Number.NaN : s.spawnedTotal - (samples[i - 1]?.spawnedTotal ?? 0) }));
  type Window = (typeof windows)[number];
  const means = (set: readonly Window[]): WindowMeans => {
    const mean = (pick: (s: Window) => number): number => {
      const values = set.map(pick).filter(Number.isFinite);
      return values.length === 0 ? Number.NaN : values.reduce((a, v) => a + v, 0) / values.length;
    };
    return { windows: set.length, cpu: mean((s) => s.cpu), agentsRunning: mean((s) => s.agentsRunning), quantaSold: mean((s) => s.quantaSold), primesVerified: mean((s) => s.primesVerified), spawned: mean((s) => s.spawned), heapUsedMiB: mean((s) => s.heapUsedMiB) };
  };
  const burst = (s: Window): boolean => s.cpu > 2 * medianCpu;
  return { medianCpu, bursts: means(windows.filter(burst)), rest: means(windows.filter((s) => !burst(s))) };
}
