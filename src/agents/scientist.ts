/**
 * The Scientist: finds primes with a segmented sieve of Eratosthenes and reports each
 * segment's primes (count, last, and a checksum a verifier can recompute).
 *
 *   node dist/src/agents/scientist.js [--threads N] [--segments-per-second R] [--segment-kib K] [--start S]
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { flags, intFlag, onStop, pause, report } from './common.js';

const USAGE = `scientist: finds primes (segmented sieve) and reports each segment.
  --threads N              sieve threads (default 1)
  --segments-per-second R  rate limit per thread, 0 = as fast as possible (default 0)
  --segment-kib K          numbers per segment / 1024 (default 256)
  --start S                first number to sieve (default 2)
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

/** Sieves [lo, hi) and returns count, last prime and a checksum (sum of primes mod 2^32). */
export function sieveSegment(lo: number, hi: number): { count: number; last: number; checksum: number } {
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
      checksum = (checksum + n) >>> 0;
    }
  }
  return { count, last, checksum };
}

interface Job {
  readonly thread: number;
  readonly threads: number;
  readonly segment: number;
  readonly start: number;
  readonly rate: number;
}

async function sieveLoop(job: Job, emit: (m: Record<string, unknown>) => void): Promise<void> {
  for (let k = job.thread; ; k += job.threads) {
    const lo = job.start + k * job.segment;
    const result = sieveSegment(lo, lo + job.segment);
    emit({ type: 'primes', from: lo, to: lo + job.segment, ...result });
    // Always yield, so signals and messages are handled between segments.
    await pause(job.rate > 0 ? 1000 / job.rate : 0);
  }
}

if (!isMainThread) {
  void sieveLoop(workerData as Job, (m) => parentPort?.postMessage(m));
} else if (process.argv[1]?.endsWith('scientist.js') === true) {
  const v = flags({ threads: { type: 'string' }, 'segments-per-second': { type: 'string' }, 'segment-kib': { type: 'string' }, start: { type: 'string' } }, USAGE);
  const threads = intFlag(v['threads'], 'threads', 1, 1);
  const job = { threads, segment: intFlag(v['segment-kib'], 'segment-kib', 256, 1) * 1024, start: intFlag(v['start'], 'start', 2, 2), rate: intFlag(v['segments-per-second'], 'segments-per-second', 0) };
  let primes = 0;
  let segments = 0;
  const started = Date.now();
  onStop(() => { report({ type: 'summary', segments, primes, seconds: (Date.now() - started) / 1000 }); });
  const emit = (m: Record<string, unknown>): void => {
    segments++;
    primes += Number(m['count']);
    report(m);
  };
  for (let thread = 1; thread < threads; thread++) new Worker(new URL(import.meta.url), { workerData: { ...job, thread } }).on('message', emit);
  void sieveLoop({ ...job, thread: 0 }, emit);
}
