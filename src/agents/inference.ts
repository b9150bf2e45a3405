/**
 * Inference: a small deterministic integer model — a few dense layers with weights from a
 * fixed seed, int32 arithmetic with ReLU and a right shift — answering requests. The same
 * seed and request give the same answer bit for bit, so answers can be verified later
 * (Freivalds checks, re-execution). Each answer carries SHA-256 commitments of its input
 * and output.
 *
 *   node dist/src/agents/inference.js [--requests-per-second R] [--width W] [--layers L] [--seed S] [--stdin]
 */
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { SeededRandom } from '../internal/seeded-random.js';
import { flags, intFlag, onStop, pause, report } from './common.js';

const USAGE = `inference: a deterministic integer model answering requests.
  --requests-per-second R   generated requests per second, 0 = as fast as possible (default 20)
  --width W                 layer width (default 256)
  --layers L                dense layers (default 4)
  --seed S                  weight seed (default 1)
  --stdin                   answer requests read from stdin (one integer per line) instead
`;

/** The model: `layers` W×W int8 weight matrices. */
export function createModel(width: number, layers: number, seed: number): Int32Array[] {
  const random = new SeededRandom(seed);
  return Array.from({ length: layers }, () => Int32Array.from({ length: width * width }, () => Math.floor(random.uniform() * 255) - 127));
}

/** The input vector of a request: deterministic in the request number. */
export function inputFor(request: number, width: number): Int32Array {
  const random = new SeededRandom(request);
  return Int32Array.from({ length: width }, () => Math.floor(random.uniform() * 255) - 127);
}

/** One forward pass: x ← ReLU(W·x) >> 7 per layer, in int32 (wrapping like the hardware). */
export function forward(model: readonly Int32Array[], input: Int32Array): Int32Array {
  const width = input.length;
  let x = input;
  for (const w of model) {
    const y = new Int32Array(width);
    for (let i = 0; i < width; i++) {
      let acc = 0;
      const row = i * width;
      for (let j = 0; j < width; j++) acc = (acc + Math.imul(w[row + j] ?? 0, x[j] ?? 0)) | 0;
      y[i] = acc > 0 ? acc >> 7 : 0;
    }
    x = y;
  }
  return x;
}

function commit(v: Int32Array): string {
  return createHash('sha256').update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)).digest('hex');
}

if (process.argv[1]?.endsWith('inference.js') === true) {
  const v = flags({ 'requests-per-second': { type: 'string' }, width: { type: 'string' }, layers: { type: 'string' }, seed: { type: 'string' }, stdin: { type: 'boolean' } }, USAGE);
  const width = intFlag(v['width'], 'width', 256, 1);
  const model = createModel(width, intFlag(v['layers'], 'layers', 4, 1), intFlag(v['seed'], 'seed', 1));
  const rate = intFlag(v['requests-per-second'], 'requests-per-second', 20);
  let answered = 0;
  onStop(() => { report({ type: 'summary', answered }); });
  const answer = (request: number): void => {
    const input = inputFor(request, width);
    const output = forward(model, input);
    answered++;
    report({ type: 'answer', request, input: commit(input), output: commit(output), head: Array.from(output.subarray(0, 4)) });
  };
  if (v['stdin'] === true) {
    createInterface({ input: process.stdin }).on('line', (line) => {
      const request = Number(line.trim());
      if (Number.isSafeInteger(request)) answer(request);
      else report({ type: 'error', message: `not a request number: ${line.slice(0, 40)}` });
    });
  } else {
    void (async () => {
      for (let request = 0; ; request++) {
        answer(request);
        await pause(rate > 0 ? 1000 / rate : 0);
      }
    })();
  }
}
