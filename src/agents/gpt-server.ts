/**
 * An inference server: serves the tiny GPT (models/tiny-gpt.onnx, onnxruntime-node) over the
 * agent protocol and earns income per verified token (docs/VERIFICATION.md). Under Maxwell it
 * bids for CPU, says `serve` with the model's SHA-256, and for each `infer` streams a `token`
 * frame per token, sends its `claim` (commitments, tokens, logits), and opens the committed
 * tensors a `challenge` names. `--cheat KIND` makes it one of the measured cheaters instead
 * (each a real code path: a smaller model, skipped layers, replays, random answers, a miner, a
 * cache), for tests and demonstrations of what the verifier catches.
 *
 *   node dist/src/agents/gpt-server.js [--cheat KIND] [--bid J] [--seed S]
 *
 * Outside Maxwell (no MAXWELL_SOCKET) it answers one request read from stdin per line (text)
 * and prints the tokens, so the model can be tried by hand; with `--self-serve` it serves
 * requests it makes itself from the corpus, with idle gaps between them (the real model's trace
 * for `maxwell research verification`).
 */
import { createInterface } from 'node:readline';
import type { ServedClaim } from '../verification/inference/claim.js';
import { CHEATERS, createAgent, type AgentKind, type Pace } from '../verification/inference/agents.js';
import { SeededRandom } from '../internal/seeded-random.js';
import { TinyGpt, modelsDescription, type Matrix } from '../verification/inference/model.js';
import { flags, intFlag, numberFlag, onStop, report, underMaxwell } from './common.js';

const USAGE = `gpt-server: serves models/tiny-gpt.onnx over the Maxwell agent protocol.
  --cheat KIND   behave as a cheater: ${CHEATERS.join(', ')} (default: honest)
  --bid J        price offered per 10 ms quantum (default: keep the opening bid of the spawn)
  --seed S       seed of a cheater's randomness (default 1)
  --self-serve   outside Maxwell: serve requests made from the corpus instead of stdin
  --tokens N     with --self-serve: tokens per request (default 64)
  --gap-ms G     with --self-serve: mean idle gap between requests, ms (default 60; exponential)
Outside Maxwell: reads prompts from stdin, one per line, and prints 16 generated symbols each.
`;

/** Claims kept for challenges (the daemon challenges the request it is judging). */
const KEEP_SERVED = 8;
/** A refused announcement is repeated this often, this far apart. */
const MAX_SERVE_TRIES = 60;
const SERVE_RETRY_MS = 500;

/** The pace a cheater imitates: this machine's own honest medians, measured at start. */
async function measurePace(model: TinyGpt): Promise<Pace> {
  const prefill: number[] = [];
  const decode: number[] = [];
  for (let i = 0; i < 5; i++) {
    const run = await model.generate(model.encode('Four score and seven years ago'), 8, { spot: true });
    prefill.push(run.prefillMs);
    decode.push(...run.decodeMs);
  }
  const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)] ?? 0;
  return { prefillMs: median(prefill), decodeMs: median(decode) };
}

if (process.argv[1]?.endsWith('gpt-server.js') === true) {
  const v = flags({ cheat: { type: 'string' }, bid: { type: 'string' }, seed: { type: 'string' }, 'self-serve': { type: 'boolean' }, tokens: { type: 'string' }, 'gap-ms': { type: 'string' } }, USAGE);
  const kind = (v['cheat'] ?? 'honest') as AgentKind;
  if (kind !== 'honest' && !(CHEATERS as readonly string[]).includes(kind)) {
    process.stderr.write(`--cheat must be one of ${CHEATERS.join(', ')}, got ${JSON.stringify(kind)}\n\n${USAGE}`);
    process.exit(2);
  }
  const bid = v['bid'] === undefined ? null : numberFlag(v['bid'], 'bid', 0);
  const seed = intFlag(v['seed'], 'seed', 1);
  const reference = await TinyGpt.load();
  const agent = await createAgent(kind, reference, await measurePace(reference), seed);
  let served = 0;
  onStop(() => { report({ type: 'summary', kind, served }); });
  const client = await underMaxwell(() => { report({ type: 'summary', kind, served }); });
  if (client === null && v['self-serve'] === true) {
    const tokens = intFlag(v['tokens'], 'tokens', 64, 1);
    const gapMs = intFlag(v['gap-ms'], 'gap-ms', 60);
    const random = new SeededRandom(seed);
    const corpus = modelsDescription().corpus;
    const running = { now: true };
    onStop(() => { running.now = false; });
    while (running.now) {
      const at = Math.floor(random.uniform() * Math.max(1, corpus.length - 40));
      await agent.serve({ id: served++, prompt: reference.encode(corpus.slice(at, at + 8 + Math.floor(random.uniform() * 24))), maxNewTokens: tokens, bidMicroJ: 0n }, () => undefined);
      await new Promise((resolve) => setTimeout(resolve, -gapMs * Math.log(1 - random.uniform())));
    }
  } else if (client === null) {
    createInterface({ input: process.stdin }).on('line', (line) => {
      void agent.serve({ id: served++, prompt: reference.encode(line), maxNewTokens: 16, bidMicroJ: 0n }, () => undefined).then((s) => {
        report({ type: 'answer', kind, text: reference.decode(s.claim.tokens), output: s.claim.outputCommitment });
      });
    });
  } else {
    const claims = new Map<number, ServedClaim>();
    // One request at a time, in arrival order: the daemon times each as it is served.
    let queue: Promise<void> = Promise.resolve();
    client.on('infer', (request) => {
      queue = queue.then(async () => {
        const answer = await agent.serve({ id: request.requestId, prompt: request.prompt, maxNewTokens: request.maxNewTokens, bidMicroJ: 0n }, (index) => { void client.token(request.requestId, index).catch(() => undefined); });
        claims.set(request.requestId, answer);
        if (claims.size > KEEP_SERVED) claims.delete(claims.keys().next().value as number);
        served++;
        await client.claim(answer.claim);
      }).catch((err: unknown) => { process.stderr.write(`request ${String(request.requestId)}: ${(err as Error).message}\n`); });
    });
    client.on('challenge', (challenge) => {
      void (async () => {
        const answer = claims.get(challenge.requestId);
        const opened: ReadonlyMap<string, Matrix> = answer === undefined ? new Map() : await answer.reveal(challenge.names);
        for (const name of challenge.names) await client.reveal(challenge.requestId, name, opened.get(name) ?? null);
      })().catch(() => undefined);
    });
    client.on('verdict', (verdict) => { report({ ...verdict }); });
    if (bid !== null) await client.bid({ pricePerQuantumJ: bid });
    // The daemon answers the announcement with a result; one refused while it cannot take it yet
    // (its stake not escrowed, its start not complete) is repeated, a wrong model is final.
    let announced = await client.serve(reference.entry.sha256);
    let tries = 1;
    client.on('result', (result) => {
      if (result.seq !== announced) return;
      if (result.outcome === 'serving' || result.outcome === 'serving-unverified') {
        report({ type: 'serving', kind, model: reference.name, tries, outcome: result.outcome });
        return;
      }
      process.stderr.write(`gpt-server: serve refused: ${result.outcome}${result.outcome === 'unknown-model' ? '' : ` (try ${String(tries)}, again in ${String(SERVE_RETRY_MS)} ms)`}\n`);
      if (result.outcome === 'unknown-model' || tries >= MAX_SERVE_TRIES) process.exit(1);
      setTimeout(() => {
        tries++;
        void client.serve(reference.entry.sha256).then((seq) => { announced = seq; });
      }, SERVE_RETRY_MS);
    });
  }
}
