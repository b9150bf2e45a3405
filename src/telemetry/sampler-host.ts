/** Runs the sampler in a worker thread and talks to it from the daemon's thread. */
import { Worker } from 'node:worker_threads';
import { InternalError } from '../errors.js';
import type { TelemetryWarning } from './health.js';
import type { SamplerStats, SamplerTick } from './sampler.js';
import type { SamplerWorkerData } from './sampler-worker.js';

export interface SamplerThread {
  /** Stops sampling and resolves with the loop's figures. */
  stop(): Promise<SamplerStats>;
}

export interface SamplerThreadOptions extends SamplerWorkerData {
  readonly onTick?: (tick: SamplerTick) => void;
  readonly onWarning?: (warning: TelemetryWarning) => void;
}

type WorkerMessage =
  | { type: 'started' }
  | { type: 'tick'; tick: SamplerTick }
  | { type: 'warning'; warning: TelemetryWarning }
  | { type: 'stopped'; stats: SamplerStats };

/** Starts the sampler thread; resolves once its readers are started and the loop runs. */
export function startSamplerThread(options: SamplerThreadOptions): Promise<SamplerThread> {
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const data: SamplerWorkerData & { stop: Int32Array } = { rateHz: options.rateHz, readers: options.readers, reportEvery: options.reportEvery, stop };
  const worker = new Worker(new URL('./sampler-worker.js', import.meta.url), { workerData: data });
  let onStopped: ((stats: SamplerStats) => void) | undefined;
  return new Promise((resolve, reject) => {
    worker.once('error', (err) => {
      reject(new InternalError(`sampler thread failed: ${err.message}`, { cause: err }));
    });
    worker.on('message', (message: WorkerMessage) => {
      switch (message.type) {
        case 'started':
          resolve({
            stop: () =>
              new Promise<SamplerStats>((done) => {
                onStopped = done;
                // Both ways, so either waiting mode sees it.
                Atomics.store(stop, 0, 1);
                Atomics.notify(stop, 0);
                worker.postMessage({ type: 'stop' });
              }),
          });
          break;
        case 'tick':
          options.onTick?.(message.tick);
          break;
        case 'warning':
          options.onWarning?.(message.warning);
          break;
        case 'stopped':
          onStopped?.(message.stats);
          void worker.terminate();
          break;
      }
    });
  });
}
