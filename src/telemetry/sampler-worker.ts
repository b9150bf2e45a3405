/**
 * Worker-thread entry of the sampler: builds its readers from specs, samples on a
 * sub-millisecond schedule without touching the daemon's event loop, and reports.
 *
 * Messages in: `{ type: 'stop' }`. Messages out: `{ type: 'tick', … }` every `reportEvery`
 * ticks (the latest readings), `{ type: 'warning', warning }`, and `{ type: 'stopped', stats }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createMonotonicClock } from '../clock/clock.js';
import { createReaders, type ReaderSpec } from './reader-spec.js';
import { Sampler, createThreadWaiter } from './sampler.js';

export interface SamplerWorkerData {
  readonly rateHz: number;
  readonly readers: readonly ReaderSpec[];
  /** Post the latest tick every this many ticks (0: never). */
  readonly reportEvery: number;
}

const data = workerData as SamplerWorkerData;
const port = parentPort;
if (port === null) throw new Error('sampler-worker must run in a worker thread');

const clock = createMonotonicClock();
const readers = createReaders(data.readers, (warning) => { port.postMessage({ type: 'warning', warning }); });
const sampler = new Sampler({
  clock,
  rateHz: data.rateHz,
  readers,
  waitUntil: createThreadWaiter(clock),
  onWarning: (warning) => { port.postMessage({ type: 'warning', warning }); },
  onTick: (tick) => {
    if (data.reportEvery > 0 && tick.index % data.reportEvery === 0) port.postMessage({ type: 'tick', tick });
  },
});

port.on('message', (message: { type?: string }) => {
  if (message.type === 'stop') {
    void sampler.stop().then((stats) => {
      port.postMessage({ type: 'stopped', stats });
      port.close();
    });
  }
});
await sampler.start();
port.postMessage({ type: 'started' });
