/**
 * The Scientist: finds primes and reports each batch (count, last, and a checksum a verifier
 * can recompute) as JSON lines. Two methods:
 * - `sieve` (default): a segmented sieve of Eratosthenes from small numbers — millions of
 *   primes a second, far more than any verifier can check one by one.
 * - `mr`: Miller–Rabin over odd numbers from a large start (default 2⁶²): ≈ 10⁴ primes a
 *   second per thread, each costing about as much to find as to verify, so a verifier that
 *   samples a few per batch spends a fraction of a percent of the scientist's work. The
 *   Scientist-vs-Leech experiment uses this one.
 * Under Maxwell (MAXWELL_SOCKET set) it also bids for compute and reports every prime it finds
 * through the agent protocol, to be verified and paid (docs/PROTOCOL.md).
 *
 *   node dist/src/agents/scientist.js [--threads N] [--segments-per-second R] [--segment-kib K] [--start S] [--bid J] [--bid-share F] [--budget J]
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { isPrime64 } from '../market/prime-oracle.js';
import type { MaxwellClient } from '../protocol/client.js';
import { flags, intFlag, numberFlag, onStop, pause, report, underMaxwell } from './common.js';
import { bidFromValue } from './value-bid.js';

const USAGE = `scientist: finds primes (segmented sieve) and reports each segment.
  --threads N              sieve threads (default 1)
  --segments-per-second R  rate limit per thread, 0 = as fast as possible (default 0)
  --segment-kib K          numbers per segment / 1024 (default 256)
  --start S                first number to search (default 2; with --method mr 2^62)
  --method sieve|mr        segmented sieve, or Miller-Rabin on 62-bit numbers (default sieve)
  --batch-ms T             with --method mr: report a batch every T ms (default 100)
  --bid J                  under Maxwell: price offered per 10 ms quantum, J (default: keep the
                           opening bid the operator placed when spawning it)
  --bid-share F            under Maxwell: every second, re-bid F (0 < F <= 1) times what a quantum
                           earns it (income per verified prime x primes per CPU-second x 10 ms)
  --budget J               under Maxwell: most to spend, J (default: the whole wallet)
Under Maxwell (MAXWELL_SOCKET, MAXWELL_TOKEN, MAXWELL_AGENT_ID set) with --bid it bids once at start; it
reports every segment's primes as protocol work; it exits on apoptosis. Without them it runs
standalone. Either way each segment is a JSON line on stdout and SIGTERM prints a summary.
`;

/** Primes below `limit` by a plain sieve (the base primes of a segment). */
export function basePrimes(limit: number): Uint32Array {
  const composite = new Uint8Array(limit + 1);
  const out: number[] = [];
  for (let i = 2; i <= limit; i++) {
    if (composite[i] === 1) continue;
    out.push(i);
    for (let j = i * i; j <= limit; j += i) composite[j] = 1;
  }
  return Uint32Array.from(out);
}

/**
 * Sieves [lo, hi) and returns count, last prime and a checksum (sum of primes mod 2^32);
 * with `collect`, the primes themselves too (in order).
 */
export function sieveSegment(lo: number, hi: number, collect?: number[]): { count: number; last: number; checksum: number } {
  const base = basePrimes(Math.ceil(Math.sqrt(hi)));
  const composite = new Uint8Array(hi - lo);
  for (const p of base) {
    let start = Math.max(p * p, Math.ceil(lo / p) * p);
    for (; start < hi; start += p) composite[start - lo] = 1;
  }
  let count = 0;
  let last = 0;
  let checksum = 0;
  for (let n = Math.max(lo, 2); n < hi; n++) {
    if (composite[n - lo] === 0) {
      count++;
      last = n;
      collect?.push(n);
      checksum = (checksum + n) >>> 0;
    }
  }
  return { count, last, checksum };
}

/** One Miller–Rabin batch: odd candidates from `from` (odd) for about `ms` milliseconds. */
export function millerRabinBatch(from: bigint, ms: number, collect?: bigint[]): { to: bigint; count: number; last: bigint; checksum: number } {
  const deadline = performance.now() + ms;
  let n = from;
  let count = 0;
  let last = 0n;
  let checksum = 0;
  do {
    // Check the clock every 256 candidates: cheap next to the tests themselves.
    for (let i = 0; i < 256; i++, n += 2n) {
      if (!isPrime64(n)) continue;
      count++;
      last = n;
      collect?.push(n);
      checksum = (checksum + Number(n & 0xffffffffn)) >>> 0;
    }
  } while (performance.now() < deadline);
  return { to: n, count, last, checksum };
}

interface Job {
  readonly thread: number;
  readonly threads: number;
  readonly segment: number;
  readonly start: number;
  readonly rate: number;
  /** Collect the primes of each segment (to report them through the protocol). */
  readonly collect: boolean;
  readonly method: 'sieve' | 'mr';
  /** For `mr`: the odd start (decimal) and the batch length. */
  readonly bigStart: string;
  readonly batchMs: number;
}

/** One sieved segment; `primes` only when the job collects them. */
interface Segment {
  readonly type: 'primes';
  /** Numbers, or decimal strings for 62-bit values (`mr`). */
  readonly from: number | string;
  readonly to: number | string;
  readonly count: number;
  readonly last: number | string;
  readonly checksum: number;
  readonly primes?: readonly (number | bigint)[];
}

/** Miller–Rabin batches; threads take disjoint strides of 2⁴⁰ numbers so they never overlap. */
async function millerRabinLoop(job: Job, emit: (m: Segment) => Promise<void>): Promise<void> {
  let n = BigInt(job.bigStart) + BigInt(job.thread) * (1n << 40n);
  if ((n & 1n) === 0n) n += 1n;
  for (;;) {
    const primes: bigint[] | undefined = job.collect ? [] : undefined;
    const batch = millerRabinBatch(n, job.batchMs, primes);
    await emit({ type: 'primes', from: n.toString(), to: batch.to.toString(), count: batch.count, last: batch.last.toString(), checksum: batch.checksum, ...(primes === undefined ? {} : { primes }) });
    n = batch.to;
    await pause(job.rate > 0 ? 1000 / job.rate : 0);
  }
}

/** Sieves segment after segment; `emit` resolves when the segment has been reported. */
async function sieveLoop(job: Job, emit: (m: Segment) => Promise<void>): Promise<void> {
  if (job.method === 'mr') return millerRabinLoop(job, emit);
  for (let k = job.thread; ; k += job.threads) {
    const lo = job.start + k * job.segment;
    const primes: number[] | undefined = job.collect ? [] : undefined;
    const result = sieveSegment(lo, lo + job.segment, primes);
    // Waiting for the report paces the sieve to what the protocol accepts.
    await emit(primes === undefined ? { type: 'primes', from: lo, to: lo + job.segment, ...result } : { type: 'primes', from: lo, to: lo + job.segment, ...result, primes });
    // Always yield, so signals and messages are handled between segments.
    await pause(job.rate > 0 ? 1000 / job.rate : 0);
  }
}

if (!isMainThread) {
  const port = parentPort;
  // Each segment waits for the main thread's acknowledgement once it is reported.
  void sieveLoop(workerData as Job, (m) => new Promise<void>((resolve) => { port?.once('message', () => { resolve(); }); port?.postMessage(m); }));
} else if (process.argv[1]?.endsWith('scientist.js') === true) {
  const v = flags({ threads: { type: 'string' }, 'segments-per-second': { type: 'string' }, 'segment-kib': { type: 'string' }, start: { type: 'string' }, method: { type: 'string' }, 'batch-ms': { type: 'string' }, bid: { type: 'string' }, 'bid-share': { type: 'string' }, budget: { type: 'string' } }, USAGE);
  const threads = intFlag(v['threads'], 'threads', 1, 1);
  const bid = v['bid'] === undefined ? undefined : numberFlag(v['bid'], 'bid', 0);
  const budget = v['budget'] === undefined ? undefined : numberFlag(v['budget'], 'budget', 0);
  const bidShare = v['bid-share'] === undefined ? undefined : numberFlag(v['bid-share'], 'bid-share', 0);
  if (bidShare !== undefined && !(bidShare > 0 && bidShare <= 1)) {
    process.stderr.write(`scientist: --bid-share must be in (0, 1], got ${String(bidShare)}\n`);
    process.exit(2);
  }
  let finish = (): void => undefined;
  const client: MaxwellClient | null = await underMaxwell(() => { finish(); });
  const method = v['method'] ?? 'sieve';
  if (method !== 'sieve' && method !== 'mr') {
    process.stderr.write(`scientist: --method must be sieve or mr, got ${String(method)}\n${USAGE}`);
    process.exit(2);
  }
  const bigStart = typeof v['start'] === 'string' && method === 'mr' ? v['start'] : (2n ** 62n).toString();
  if (!/^\d{1,20}$/.test(bigStart) || BigInt(bigStart) >= 2n ** 63n) {
    process.stderr.write(`scientist: --start must be a decimal integer below 2^63 with --method mr\n`);
    process.exit(2);
  }
  const job: Omit<Job, 'thread'> = {
    threads,
    segment: intFlag(v['segment-kib'], 'segment-kib', 256, 1) * 1024,
    start: method === 'sieve' ? intFlag(v['start'], 'start', 2, 2) : 2,
    rate: intFlag(v['segments-per-second'], 'segments-per-second', 0),
    collect: client !== null,
    method,
    bigStart,
    batchMs: intFlag(v['batch-ms'], 'batch-ms', 100, 1),
  };
  let primes = 0;
  let segments = 0;
  const started = Date.now();
  const summary = (): void => { report({ type: 'summary', segments, primes, seconds: (Date.now() - started) / 1000 }); };
  finish = summary;
  onStop(summary);
  const emit = async (m: Segment): Promise<void> => {
    segments++;
    primes += m.count;
    const { primes: found, ...line } = m;
    report(line);
    if (client !== null && found !== undefined && !client.closed) await client.reportPrimes([m.from, m.to], found).catch(() => undefined);
  };
  if (client !== null) {
    if (bid !== undefined) await client.bid(budget === undefined ? { pricePerQuantumJ: bid } : { pricePerQuantumJ: bid, budgetJ: budget });
    if (bidShare !== undefined) bidFromValue(client, { share: bidShare, primesFound: () => primes, ...(budget === undefined ? {} : { budgetJ: budget }) });
  }
  for (let thread = 1; thread < threads; thread++) {
    const worker = new Worker(new URL(import.meta.url), { workerData: { ...job, thread } });
    worker.on('message', (m: Segment) => { void emit(m).then(() => { worker.postMessage('ack'); }); });
  }
  void sieveLoop({ ...job, thread: 0 }, emit);
}
