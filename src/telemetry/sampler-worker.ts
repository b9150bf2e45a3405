/**
 * Worker-thread entry of the sampler: builds its readers from specs and samples on a
 * sub-millisecond schedule without touching the daemon's event loop.
 *
 * With only synchronous readers the thread sleeps in `Atomics.wait` between ticks (cheapest
 * wake-ups, but its own event loop never runs), and is stopped through a shared flag. With a
 * reader that needs an event loop (nvidia-smi's query loop) it waits on timers plus a short
 * fine wait, and is stopped by message.
 *
 * Messages out: `{ type: 'started' }`, `{ type: 'tick', tick }` every `reportEvery` ticks,
 * `{ type: 'warning', warning }`, and `{ type: 'stopped', stats }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createMonotonicClock } from '../clock/clock.js';
import { createReaders, needsEventLoop, type ReaderSpec } from './reader-spec.js';
import { Sampler, createBlockingWaiter, createThreadWaiter } from './sampler.js';

export interface SamplerWorkerData {
  readonly rateHz: number;
  readonly readers: readonly ReaderSpec[];
  /** Post the latest tick every this many ticks (0: never). */
  readonly reportEvery: number;
}

interface WorkerInput extends SamplerWorkerData {
  /** Int32Array over a SharedArrayBuffer: the host stores 1 in [0] to stop. */
  readonly stop: Int32Array;
}

const data = workerData as WorkerInput;
const port = parentPort;
if (port === null) throw new Error('sampler-worker must run in a worker thread');

const clock = createMonotonicClock();
const blocking = !data.readers.some(needsEventLoop);
const readers = createReaders(data.readers, (warning) => { port.postMessage({ type: 'warning', warning }); });
const sampler = new Sampler({
  clock,
  rateHz: data.rateHz,
  readers,
  waitUntil: blocking ? createBlockingWaiter(clock, data.stop) : createThreadWaiter(clock),
  onWarning: (warning) => { port.postMessage({ type: 'warning', warning }); },
  onTick: (tick) => {
    if (data.reportEvery > 0 && tick.index % data.reportEvery === 0) port.postMessage({ type: 'tick', tick });
  },
});

let stopping = false;
async function finish(): Promise<void> {
  if (stopping) return;
  stopping = true;
  const stats = await sampler.stop();
  port?.postMessage({ type: 'stopped', stats });
  port?.close();
}

if (!blocking) {
  port.on('message', (message: { type?: string }) => {
    if (message.type === 'stop') void finish();
  });
}
await sampler.start();
port.postMessage({ type: 'started' });
// In blocking mode the loop ends when the shared flag is raised.
await sampler.done;
await finish();
