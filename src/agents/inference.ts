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
import type { InferMessage } from '../protocol/messages.js';
import type { MaxwellClient } from '../protocol/client.js';
import { flags, intFlag, numberFlag, onStop, pause, report, underMaxwell } from './common.js';

const USAGE = `inference: a deterministic integer model answering requests.
  --requests-per-second R   generated requests per second, 0 = as fast as possible (default 20)
  --width W                 layer width (default 256)
  --layers L                dense layers (default 4)
  --seed S                  weight seed (default 1)
  --stdin                   answer requests read from stdin (one integer per line) instead
  --bid J                   under Maxwell: bid this per quantum (default: the spawn's opening bid)
Under Maxwell (MAXWELL_SOCKET set) it serves the daemon's requests, one forward pass per token.
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

/** Serves the daemon's requests: the state is the running activation, each token one forward pass of it mixed with the last token. */
async function serveUnderMaxwell(client: MaxwellClient, model: readonly Int32Array[], width: number, bid: number | null): Promise<void> {
  const modelSha = createHash('sha256');
  for (const w of model) modelSha.update(new Uint8Array(w.buffer));
  const sha = modelSha.digest('hex');
  let served = 0;
  onStop(() => { report({ type: 'summary', served }); });
  let queue: Promise<void> = Promise.resolve();
  const answer = async (request: InferMessage): Promise<void> => {
    let state = inputFor(request.requestId, width);
    const step = (token: number): number => {
      state[token % width] = (state[token % width] ?? 0) ^ (token + 1);
      state = forward(model, state);
      let best = 0;
      for (let i = 1; i < 64; i++) if ((state[i] ?? 0) > (state[best] ?? 0)) best = i;
      return best;
    };
    let last = 0;
    for (const token of request.prompt) last = step(token);
    const tokens: number[] = [];
    for (let i = 0; i < request.maxNewTokens; i++) {
      last = step(last);
      tokens.push(last);
      await client.token(request.requestId, i);
    }
    served++;
    await client.claim({ requestId: request.requestId, modelSha256: sha, inputCommitment: commit(Int32Array.from(request.prompt)), tokens, logits: [], outputCommitment: commit(Int32Array.from(tokens)), spotCommitments: {} });
  };
  client.on('infer', (request) => {
    queue = queue.then(() => answer(request)).catch((err: unknown) => { process.stderr.write(`request ${String(request.requestId)}: ${(err as Error).message}\n`); });
  });
  if (bid !== null) await client.bid({ pricePerQuantumJ: bid });
  const seq = await client.serve(sha);
  client.on('result', (result) => {
    if (result.seq === seq) report({ type: 'serve', outcome: result.outcome });
  });
}

if (process.argv[1]?.endsWith('inference.js') === true) {
  const v = flags({ 'requests-per-second': { type: 'string' }, width: { type: 'string' }, layers: { type: 'string' }, seed: { type: 'string' }, stdin: { type: 'boolean' }, bid: { type: 'string' } }, USAGE);
  const width = intFlag(v['width'], 'width', 256, 1);
  const model = createModel(width, intFlag(v['layers'], 'layers', 4, 1), intFlag(v['seed'], 'seed', 1));
  const client = await underMaxwell(() => undefined);
  if (client !== null) await serveUnderMaxwell(client, model, width, v['bid'] === undefined ? null : numberFlag(v['bid'], 'bid', 0));
  const rate = intFlag(v['requests-per-second'], 'requests-per-second', 20);
  let answered = 0;
  onStop(() => { report({ type: 'summary', answered }); });
  const answer = (request: number): void => {
    const input = inputFor(request, width);
    const output = forward(model, input);
    answered++;
    report({ type: 'answer', request, input: commit(input), output: commit(output), head: Array.from(output.subarray(0, 4)) });
  };
  if (client !== null) {
    // Serving the daemon's requests (above).
  } else if (v['stdin'] === true) {
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
