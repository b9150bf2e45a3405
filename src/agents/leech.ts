/**
 * The Leech: mines SHA-256 hashes below a difficulty target. Nobody buys them.
 * Under Maxwell (MAXWELL_SOCKET set) it bids for compute like anyone else but reports no
 * useful work; with --report-garbage it claims composites as primes for each block, which
 * the prime oracle rejects (docs/PROTOCOL.md).
 *
 *   node dist/src/agents/leech.js [--threads N] [--difficulty BITS] [--hashes-per-second R] [--hold-mb M] [--bid J] [--report-garbage]
 */
import { createHash } from 'node:crypto';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { flags, holdMemory, intFlag, numberFlag, onStop, pause, report, underMaxwell } from './common.js';

const USAGE = `leech: mines SHA-256 hashes with a difficulty target; produces nothing anyone buys.
  --threads N             mining threads (default 1)
  --difficulty BITS       leading zero bits a block needs (default 20)
  --hashes-per-second R   rate limit per thread, 0 = as fast as possible (default 0)
  --hold-mb M             keep M MiB resident (default 0)
  --bid J                 under Maxwell: price offered per 10 ms quantum, J (default: keep the
                          opening bid the operator placed when spawning it)
  --report-garbage        under Maxwell: claim four composites as primes for every block found
Under Maxwell (MAXWELL_SOCKET, MAXWELL_TOKEN, MAXWELL_AGENT_ID set) with --bid it bids once at start, and it
exits on apoptosis. Without them it runs standalone. Either way blocks are JSON lines on stdout
and SIGTERM prints a summary.
`;

/** Four composites (multiples of 3 above 3) in [lo, lo + 64): what --report-garbage claims. */
export function garbageClaim(nonce: number): { range: [bigint, bigint]; primes: bigint[] } {
  const lo = 1_000_000n + BigInt(nonce) * 64n;
  const first = lo + ((3n - (lo % 3n)) % 3n);
  return { range: [lo, lo + 64n], primes: [first, first + 3n, first + 6n, first + 9n] };
}

/** Number of leading zero bits of a digest. */
export function leadingZeroBits(digest: Buffer): number {
  let bits = 0;
  for (const byte of digest) {
    if (byte === 0) {
      bits += 8;
      continue;
    }
    return bits + Math.clz32(byte) - 24;
  }
  return bits;
}

interface Job {
  readonly thread: number;
  readonly threads: number;
  readonly difficulty: number;
  readonly rate: number;
}

async function mine(job: Job, emit: (m: Record<string, unknown>) => void): Promise<void> {
  const batch = job.rate > 0 ? Math.max(1, Math.round(job.rate / 10)) : 10_000;
  for (let nonce = job.thread; ; ) {
    for (let i = 0; i < batch; i++, nonce += job.threads) {
      const digest = createHash('sha256').update(`maxwell-leech:${nonce}`).digest();
      if (leadingZeroBits(digest) >= job.difficulty) emit({ type: 'block', nonce, hash: digest.toString('hex') });
    }
    emit({ type: 'hashes', count: batch });
    await pause(job.rate > 0 ? (1000 * batch) / job.rate : 0);
  }
}

if (!isMainThread) {
  void mine(workerData as Job, (m) => parentPort?.postMessage(m));
} else if (process.argv[1]?.endsWith('leech.js') === true) {
  const v = flags({ threads: { type: 'string' }, difficulty: { type: 'string' }, 'hashes-per-second': { type: 'string' }, 'hold-mb': { type: 'string' }, bid: { type: 'string' }, 'report-garbage': { type: 'boolean' } }, USAGE);
  const bid = v['bid'] === undefined ? undefined : numberFlag(v['bid'], 'bid', 0);
  const garbage = v['report-garbage'] === true;
  const threads = intFlag(v['threads'], 'threads', 1, 1);
  const job = { threads, difficulty: intFlag(v['difficulty'], 'difficulty', 20, 1), rate: intFlag(v['hashes-per-second'], 'hashes-per-second', 0) };
  const held = holdMemory(intFlag(v['hold-mb'], 'hold-mb', 0));
  let hashes = 0;
  let blocks = 0;
  const started = Date.now();
  const summary = (): void => { report({ type: 'summary', hashes, blocks, heldMiB: held.length * 64, seconds: (Date.now() - started) / 1000 }); };
  onStop(summary);
  const client = await underMaxwell(summary);
  if (client !== null && bid !== undefined) await client.bid({ pricePerQuantumJ: bid });
  const emit = (m: Record<string, unknown>): void => {
    if (m['type'] === 'hashes') hashes += Number(m['count']);
    else {
      blocks++;
      report(m);
      if (client !== null && garbage && !client.closed) {
        const claim = garbageClaim(Number(m['nonce']));
        void client.reportPrimes(claim.range, claim.primes).catch(() => undefined);
      }
    }
  };
  for (let thread = 1; thread < threads; thread++) new Worker(new URL(import.meta.url), { workerData: { ...job, thread } }).on('message', emit);
  void mine({ ...job, thread: 0 }, emit);
}
