/**
 * A scientist's bid from what a quantum is worth to it: the income per verified prime (from the
 * daemon's `result` notices) times the primes it finds per CPU-second (its own measurement)
 * times the length of a quantum. It bids a share of that, so that it keeps a margin whatever
 * the machine's speed: a fixed bid above its value (the experiment's first default, 2 J against
 * ≈ 1.2 J of primes per quantum here) made scientists outbid each other into apoptosis.
 */
import type { MaxwellClient } from '../protocol/client.js';

/** One auction quantum, s (docs/DESIGN.md: the auction clears every 10 ms). */
export const QUANTUM_S = 0.01;

export interface ValueInputs {
  /** Income credited and primes accepted so far (from `result` notices). */
  readonly incomeJ: number;
  readonly acceptedPrimes: number;
  /** Primes found and CPU seconds spent finding them. */
  readonly primesFound: number;
  readonly cpuS: number;
  readonly quantumS?: number;
}

/** Joules a quantum of CPU earns, or null until there is enough to tell. */
export function valuePerQuantumJ(inputs: ValueInputs): number | null {
  const { incomeJ, acceptedPrimes, primesFound, cpuS, quantumS = QUANTUM_S } = inputs;
  if (!(acceptedPrimes > 0 && primesFound > 0 && cpuS > 0.05 && incomeJ >= 0)) return null;
  return (incomeJ / acceptedPrimes) * (primesFound / cpuS) * quantumS;
}

export interface ValueBidderOptions {
  /** Share of the value bid, in (0, 1]. */
  readonly share: number;
  /** Primes this agent has found so far. */
  readonly primesFound: () => number;
  /** Re-estimate this often, ms. @default 1000 */
  readonly everyMs?: number;
  /** Re-bid only when the bid would move by more than this fraction. @default 0.1 */
  readonly deadband?: number;
  /** Kept on every re-bid (undefined: the whole wallet). */
  readonly budgetJ?: number;
}

/**
 * Re-bids `share` × value per quantum every `everyMs` while connected. Returns a function
 * that stops it.
 */
export function bidFromValue(client: MaxwellClient, options: ValueBidderOptions): () => void {
  const { share, primesFound, everyMs = 1000, deadband = 0.1, budgetJ } = options;
  let incomeJ = 0;
  let acceptedPrimes = 0;
  let lastBid = Number.NaN;
  const cpuAtStart = process.cpuUsage();
  client.on('result', (r) => {
    incomeJ += r.incomeJ ?? 0;
    acceptedPrimes += r.counts?.['accepted'] ?? 0;
  });
  const timer = setInterval(() => {
    const cpu = process.cpuUsage(cpuAtStart);
    const value = valuePerQuantumJ({ incomeJ, acceptedPrimes, primesFound: primesFound(), cpuS: (cpu.user + cpu.system) / 1e6 });
    if (value === null || client.closed) return;
    const bid = share * value;
    if (Number.isFinite(lastBid) && Math.abs(bid - lastBid) <= deadband * lastBid) return;
    lastBid = bid;
    client.bid(budgetJ === undefined ? { pricePerQuantumJ: bid } : { pricePerQuantumJ: bid, budgetJ }).catch(() => undefined);
  }, everyMs);
  timer.unref();
  return () => { clearInterval(timer); };
}
