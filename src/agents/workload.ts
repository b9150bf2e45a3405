/**
 * Workloads for trace verification (docs/VERIFICATION.md): each a real process with a characteristic
 * shape, run by `maxwell research verification` beside the reference agents, stress-ng and
 * openssl. The adversary mines but duty-cycles and sleeps to mimic inference's bursts.
 *
 *   node dist/src/agents/workload.js --kind infer|mine|trial|stream|poll|adversary [--hash H] [--seed S] [--prompt N] [--gap-ms G]
 */
import { createHash } from 'node:crypto';
import { SeededRandom } from '../internal/seeded-random.js';
import { flags, intFlag, onStop } from './common.js';
import { createModel, forward, inputFor } from './inference.js';

const USAGE = `workload: a process with a characteristic activity shape.
  --kind K     infer (requests to the integer model of inference.js: a prefill burst over
               the prompt, then token-by-token decode, then an idle gap), mine (hashing flat out), trial (trial division, science), stream (memory-bound
               streaming over 64 MiB), poll (wakes every 20 ms to check for work), adversary
               (mining in bursts of 40–160 ms with 20–200 ms sleeps, to look like inference)
  --hash H     with mine/adversary: sha256, sha512, sha3-256, blake2b512 or md5 (default sha256)
  --seed S     the adversary's burst pattern, infer's arrivals (default 1)
  --prompt N   with infer: prompt tokens (default 32; decode is twice as many)
  --gap-ms G   with infer: mean idle gap between requests, ms (default 250)
`;

const KINDS = ['infer', 'mine', 'trial', 'stream', 'poll', 'adversary'] as const;
const WIDTH = 512;
const LAYERS = 4;
const HASHES = ['sha256', 'sha512', 'sha3-256', 'blake2b512', 'md5'];

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function hashFor(ms: number, algorithm: string, block: Buffer): number {
  const until = performance.now() + ms;
  let n = 0;
  while (performance.now() < until) {
    for (let i = 0; i < 64; i++) {
      block.writeUInt32LE(n++ >>> 0, 0);
      createHash(algorithm).update(block).digest();
    }
  }
  return n;
}

/** Trial division of odd numbers from `from`: the science a simple prime hunter does. Returns where it stopped. */
function trialDivisionFor(ms: number, from: number): number {
  const until = performance.now() + ms;
  let n = from | 1;
  let found = 0;
  while (performance.now() < until) {
    for (let k = 0; k < 200; k++, n += 2) {
      let prime = true;
      for (let d = 3; d * d <= n; d += 2) {
        if (n % d === 0) {
          prime = false;
          break;
        }
      }
      if (prime) found++;
    }
  }
  return found >= 0 ? n : from;
}

async function main(): Promise<void> {
  const v = flags({ kind: { type: 'string' }, hash: { type: 'string' }, seed: { type: 'string' }, prompt: { type: 'string' }, 'gap-ms': { type: 'string' } }, USAGE);
  const kind = String(v['kind'] ?? '');
  if (!(KINDS as readonly string[]).includes(kind)) throw new Error(`--kind must be one of ${KINDS.join(', ')}`);
  const algorithm = String(v['hash'] ?? 'sha256');
  if (!HASHES.includes(algorithm)) throw new Error(`--hash must be one of ${HASHES.join(', ')}`);
  const random = new SeededRandom(intFlag(v['seed'], 'seed', 1));
  const state: { running: boolean } = { running: true };
  onStop(() => {
    state.running = false;
  });
  const block = Buffer.alloc(80);
  const memory = kind === 'stream' ? new Float64Array(8 * 2 ** 20) : new Float64Array(0);
  let n = 1_000_001;
  const model = kind === 'infer' ? createModel(WIDTH, LAYERS, 1) : [];
  const prompt = intFlag(v['prompt'], 'prompt', 32, 1);
  const gapMs = intFlag(v['gap-ms'], 'gap-ms', 250, 0);
  while (state.running) {
    if (kind === 'infer') {
      // Prefill: every prompt token through the model back to back; decode: one token at a
      // time, each answered (a write) before the next; then the next request's idle gap.
      let x = inputFor(n++, WIDTH);
      for (let t = 0; t < prompt; t++) x = forward(model, inputFor(n + t, WIDTH));
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- SIGTERM clears it between awaits
      for (let t = 0; t < 2 * prompt && state.running; t++) {
        x = forward(model, x);
        process.stdout.write(`${String(x[0] ?? 0)}\n`);
        await sleep(1);
      }
      await sleep(-gapMs * Math.log(1 - random.uniform()));
      continue;
    }
    if (kind === 'mine') hashFor(50, algorithm, block);
    else if (kind === 'trial') n = trialDivisionFor(50, n);
    else if (kind === 'stream') {
      // A pass over 64 MiB, stride 8: memory bandwidth, not arithmetic.
      let sum = 0;
      for (let i = 0; i < memory.length; i += 8) {
        memory[i] = (memory[i] ?? 0) + 1;
        sum += memory[i] ?? 0;
      }
      if (sum < 0) process.stdout.write('');
    } else if (kind === 'poll') {
      await sleep(20);
      // The check itself: a little work.
      createHash('sha256').update(block).digest();
      continue;
    } else {
      hashFor(40 + random.uniform() * 120, algorithm, block);
      await sleep(20 + random.uniform() * 180);
      continue;
    }
    // Yield now and then so SIGTERM is seen.
    await sleep(0);
  }
}

if (process.argv[1]?.endsWith('workload.js') === true) {
  main().catch((err: unknown) => {
    process.stderr.write(`workload: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  });
}
