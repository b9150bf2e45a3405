import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { createModel, forward, inputFor } from '../../src/agents/inference.js';
import { leadingZeroBits } from '../../src/agents/leech.js';
import { basePrimes, sieveSegment } from '../../src/agents/scientist.js';
import { valuePerQuantumJ } from '../../src/agents/value-bid.js';
import { repoPath } from '../helpers/repo.js';

test('the segmented sieve counts primes exactly (π(10⁶) = 78 498), across segment boundaries', () => {
  let count = 0;
  for (let lo = 2; lo < 1_000_000; lo += 65_536) count += sieveSegment(lo, Math.min(lo + 65_536, 1_000_000)).count;
  assert.equal(count, 78_498);
  assert.deepEqual(Array.from(basePrimes(30)), [2, 3, 5, 7, 11, 13, 17, 19, 23, 29]);
  assert.deepEqual(sieveSegment(90, 100), { count: 1, last: 97, checksum: 97 });
});

test('a quantum is worth the income per prime times primes per CPU-second times 10 ms; unknown until something was paid', () => {
  // 0.01 J a prime, 12 000 primes per CPU-second: 120 primes in a 10 ms quantum, 1.2 J.
  const value = valuePerQuantumJ({ incomeJ: 30, acceptedPrimes: 3000, primesFound: 24_000, cpuS: 2 });
  assert.ok(value !== null && Math.abs(value - 1.2) < 1e-9, String(value));
  assert.equal(valuePerQuantumJ({ incomeJ: 0, acceptedPrimes: 0, primesFound: 24_000, cpuS: 2 }), null, 'no result yet');
  assert.equal(valuePerQuantumJ({ incomeJ: 1, acceptedPrimes: 100, primesFound: 10, cpuS: 0.01 }), null, 'too little CPU time to tell');
  assert.equal(valuePerQuantumJ({ incomeJ: 0, acceptedPrimes: 100, primesFound: 1000, cpuS: 1 }), 0, 'an observer daemon pays nothing: worth nothing');
});

test('leading zero bits of a digest', () => {
  assert.equal(leadingZeroBits(Buffer.from([0, 0, 0x0f, 0xff])), 20);
  assert.equal(leadingZeroBits(Buffer.from([0x80])), 0);
  assert.equal(leadingZeroBits(Buffer.alloc(4)), 32);
});

test('the inference model is deterministic in its seed and request', () => {
  const a = forward(createModel(32, 3, 7), inputFor(5, 32));
  const b = forward(createModel(32, 3, 7), inputFor(5, 32));
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, forward(createModel(32, 3, 8), inputFor(5, 32)));
  assert.ok(a.every((v) => v >= 0), 'ReLU');
});

for (const [agent, args, type] of [
  ['scientist', ['--segment-kib', '16'], 'primes'],
  ['leech', ['--difficulty', '8'], 'block'],
  ['inference', ['--requests-per-second', '50', '--width', '32'], 'answer'],
  ['churner', ['--mib-per-second', '256', '--chunk-mib', '4'], 'churn'],
] as const) {
  test(`${agent} runs standalone, reports JSON lines and stops with a summary on SIGTERM`, async () => {
    const child = spawn(process.execPath, [repoPath(`dist/src/agents/${agent}.js`), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines = createInterface({ input: child.stdout });
    const seen: { type: string }[] = [];
    let sent = false;
    for await (const line of lines) {
      seen.push(JSON.parse(line) as { type: string });
      if (!sent && seen.some((m) => m.type === type)) {
        sent = true;
        child.kill('SIGTERM');
      }
    }
    const code = await new Promise((resolve) => { if (child.exitCode !== null) resolve(child.exitCode); else child.once('exit', resolve); });
    assert.equal(code, 0);
    assert.equal(seen.at(-1)?.type, 'summary');
  });
}

test('agents refuse bad flags with usage and exit 2', async () => {
  const child = spawn(process.execPath, [repoPath('dist/src/agents/leech.js'), '--threads', 'many'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise((resolve) => child.once('exit', resolve));
  assert.equal(code, 2);
  assert.match(stderr, /--threads must be an integer/);
});

test('the Miller–Rabin scientist finds exactly the primes in the range it claims', async () => {
  const { millerRabinBatch } = await import('../../src/agents/scientist.js');
  const { isPrime64 } = await import('../../src/market/prime-oracle.js');
  const found: bigint[] = [];
  const from = (1n << 62n) + 1n;
  const batch = millerRabinBatch(from, 5, found);
  assert.equal(batch.count, found.length);
  assert.ok(batch.count > 0 && batch.to > from);
  let expected = 0;
  for (let n = from; n < batch.to; n += 2n) if (isPrime64(n)) expected++;
  assert.equal(expected, batch.count);
  assert.equal(batch.last, found.at(-1));
});
