/**
 * Runs `erase-bench` (native/ebpf/erase-bench.c, built by `npm run build`): it prints
 * "READY <pid>", waits for a line on stdin so the caller can watch it first, runs, and prints
 * one JSON line of what it did. Used by `maxwell research ebpf` and the integration tests.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { DEFAULT_BENCH_PATH } from './paths.js';

export interface BenchResult {
  readonly mode: string;
  readonly iterations?: number;
  readonly elapsedNs: number;
  readonly munmapBytes?: number;
  readonly dontneedBytes?: number;
  readonly freeBytes?: number;
  readonly removeBytes?: number;
  readonly children?: number;
}

export interface BenchRun {
  readonly pid: number;
  /** Starts the workload; resolves with its report when it exits. */
  go(): Promise<BenchResult>;
  kill(): void;
}

/** Starts `erase-bench <args…>` and resolves once it is READY (not yet running). */
export function startBench(args: readonly string[], benchPath = DEFAULT_BENCH_PATH): Promise<BenchRun> {
  const child = spawn(benchPath, [...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines = createInterface({ input: child.stdout });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString('utf8'); });
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => { resolve(code); }));
  const report = new Promise<BenchResult>((resolve, reject) => {
    lines.on('line', (line) => {
      if (line.startsWith('{')) resolve(JSON.parse(line) as BenchResult);
    });
    void exited.then((code) => { reject(new Error(`erase-bench ${args.join(' ')} exited with ${String(code)}: ${stderr.trim()}`)); });
  });
  report.catch(() => undefined);
  return new Promise<BenchRun>((resolve, reject) => {
    child.once('error', reject);
    lines.once('line', (line) => {
      const m = /^READY (\d+)$/.exec(line);
      if (m === null) {
        reject(new Error(`erase-bench said "${line}" instead of READY`));
        return;
      }
      resolve({
        pid: Number(m[1]),
        go: async () => {
          child.stdin.end('go\n');
          const result = await report;
          await exited;
          return result;
        },
        kill: () => { child.kill('SIGKILL'); },
      });
    });
    void exited.then((code) => { reject(new Error(`erase-bench ${args.join(' ')} exited with ${String(code)} before READY: ${stderr.trim()}`)); });
  });
}
