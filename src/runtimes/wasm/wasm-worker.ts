/**
 * Worker-thread host of one WASM agent. The module is already fuel-metered (fuel.ts); its
 * `maxwell.refuel` import lands here between quanta, and is where the agent is paused (no
 * more fuel until resumed), slowed to its CPU share (a duty cycle) or asked to stop.
 *
 * Shared control block (Int32Array): [PAUSE] 1 = paused, [STOP] 1 = stop, [STATE] 0 running,
 * 1 waiting for fuel, 2 finished, [SHARE] per-mille of one CPU. Shared figures
 * (Float64Array): [RUN_S] seconds spent running, [FUEL] fuel used, [MEMORY] memory bytes,
 * [TID] the worker's kernel thread id (NaN when unknown), whose CPU time the runtime reads.
 *
 * With a protocol link (`link`: the agent has an endpoint and imports `maxwell.*`), the
 * `maxwell` imports come from protocol-imports.ts and post frames to `link.port`; without
 * one they return `NO_ENDPOINT`. Imports are checked against host-abi.ts before the worker
 * starts, so every import the module names exists here with the right signature.
 */
import { readlinkSync } from 'node:fs';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { argAsNumber, type LinkBlock } from './host-abi.js';
import { createOfflineImports, createProtocolImports } from './protocol-imports.js';

export const PAUSE = 0;
export const STOP = 1;
export const STATE = 2;
export const SHARE = 3;
export const RUN_S = 0;
export const FUEL = 1;
export const MEMORY = 2;
export const TID = 3;
/** Bytes of the shared figures. */
export const FIGURES_BYTES = 4 * Float64Array.BYTES_PER_ELEMENT;

export interface WasmWorkerData {
  readonly modulePath: string;
  readonly metered: Uint8Array;
  readonly quantum: number;
  readonly control: Int32Array;
  readonly figures: Float64Array;
  /** `spec.args`, read by `env.arg_f64`. */
  readonly args: readonly string[];
  readonly link?: {
    readonly port: MessagePort;
    readonly agentId: string;
    readonly token: string;
    readonly block: LinkBlock;
    readonly backlogBytes: number;
  };
}

class StopRequested extends Error {}

const data = workerData as WasmWorkerData | undefined;
if (data !== undefined && parentPort !== null) {
  const port = parentPort;
  const { control, figures, quantum } = data;
  // This thread's id, so that the runtime can read its CPU time in /proc/self/task/<tid>/stat.
  try {
    figures[TID] = Number(readlinkSync('/proc/thread-self').split('/').at(-1));
  } catch {
    figures[TID] = Number.NaN;
  }
  let memory: WebAssembly.Memory | undefined;
  let since = performance.now();
  let dutyShare = -1;
  let dutyStart = since;
  let dutyRun = 0;
  const sleepMs = (ms: number): void => {
    if (ms > 0) Atomics.wait(control, STOP, 0, ms);
  };
  const refuel = (): bigint => {
    const now = performance.now();
    const ran = now - since;
    figures[RUN_S] = (figures[RUN_S] ?? 0) + ran / 1000;
    figures[FUEL] = (figures[FUEL] ?? 0) + quantum;
    if (memory !== undefined) figures[MEMORY] = memory.buffer.byteLength;
    if (Atomics.load(control, STOP) !== 0) throw new StopRequested('stop requested');
    // CPU share below one: keep running time at `share` of elapsed time, resting only when
    // at least a millisecond is owed (sub-millisecond sleeps overshoot, and shares came out at
    // 0.10 for 0.25 that way).
    const share = Atomics.load(control, SHARE) / 1000;
    if (share !== dutyShare) {
      dutyShare = share;
      dutyStart = now;
      dutyRun = 0;
    }
    dutyRun += ran;
    if (share > 0 && share < 1) {
      const owed = dutyRun / share - (performance.now() - dutyStart);
      if (owed >= 1) sleepMs(owed);
    }
    while (Atomics.load(control, PAUSE) !== 0 && Atomics.load(control, STOP) === 0) {
      Atomics.store(control, STATE, 1);
      Atomics.notify(control, STATE);
      Atomics.wait(control, PAUSE, 1, 1000);
    }
    Atomics.store(control, STATE, 0);
    if (Atomics.load(control, STOP) !== 0) throw new StopRequested('stop requested');
    since = performance.now();
    return BigInt(quantum);
  };
  const link = data.link;
  const protocol = link === undefined
    ? createOfflineImports()
    : createProtocolImports(link.port, link, () => memory);
  const imports = {
    maxwell: { refuel, ...protocol },
    env: {
      /** Milliseconds since the agent started. */
      elapsed_ms: (): number => performance.now() - started,
      /** Blocks for `ms` without consuming fuel (a host call the agent cannot be stopped in). */
      block: (ms: number): void => {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
      },
      /** Sends a number to the host (e.g. primes found). */
      report: (value: number): void => {
        port.postMessage({ type: 'report', value });
      },
      /** `spec.args[index]` as a number (NaN when absent or not a number). */
      arg_f64: (index: number): number => argAsNumber(data.args, index),
    },
  };
  const started = performance.now();
  try {
    const module = new WebAssembly.Module(data.metered);
    const instance = new WebAssembly.Instance(module, imports);
    const exported = instance.exports;
    memory = exported['memory'] as WebAssembly.Memory | undefined;
    const entry = exported['run'];
    if (typeof entry !== 'function') throw new Error(`${data.modulePath} exports no function "run"`);
    port.postMessage({ type: 'ready' });
    since = performance.now();
    const result = (entry as () => unknown)();
    figures[RUN_S] = (figures[RUN_S] ?? 0) + (performance.now() - since) / 1000;
    Atomics.store(control, STATE, 2);
    port.postMessage({ type: 'exit', code: typeof result === 'number' ? result : 0 });
  } catch (err) {
    Atomics.store(control, STATE, 2);
    if (err instanceof StopRequested) port.postMessage({ type: 'exit', code: 0, stopped: true });
    else port.postMessage({ type: 'exit', code: null, error: (err as Error).message });
  }
}
