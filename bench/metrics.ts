/**
 * What `/metrics` costs the 100 Hz path: the tick-stream listener it holds for the life of the
 * daemon (clearing and lateness histograms, quanta sold and clearing prices per core), for a
 * tick with 2 and with 64 awards. The listener is fed ticks directly; the scrape itself (one
 * snapshot per GET) is off the tick path and not measured here.
 */
import type { DaemonControl, TickEvent } from '../src/api/control.js';
import { createDaemonMetrics } from '../src/api/metrics.js';

export interface MetricsTickCase {
  readonly awards: number;
  readonly tick: () => void;
  readonly close: () => void;
}

/** A listener-only control: createDaemonMetrics subscribes at once; nothing here renders. */
export function metricsTickCase(awards: number): MetricsTickCase {
  let listener: ((event: TickEvent) => void) | null = null;
  const control = { onTick: (l: (event: TickEvent) => void) => { listener = l; return () => { listener = null; }; } } as unknown as DaemonControl;
  const metrics = createDaemonMetrics(control);
  const event: TickEvent = {
    tick: 1,
    atMs: 0,
    awards: Array.from({ length: awards }, (_, i) => ({ agentId: `a${String(i)}`, unit: i, paymentJ: 0.01 + i * 1e-4 })),
    temperaturesC: Array.from({ length: awards }, () => 60),
    reservePerQuantumJ: Array.from({ length: awards }, () => 0.01),
    powerW: 20,
    energyJ: 100,
    clearingMs: 0.05,
    latenessMs: 0.2,
    decisions: [],
  };
  return { awards, tick: () => listener?.(event), close: () => { metrics.close(); } };
}
