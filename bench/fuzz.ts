/**
 * The fuzz job (`npm run bench -- --only=fuzz`): a million generated inputs per target
 * (fuzz-targets.ts), each target's outcomes counted by code, its slowest input, and any failure
 * fast-check found, shrunk. `--fuzz-runs=N` changes the count; the seed is printed so a failure
 * can be replayed.
 */
import { fuzz, fuzzTargets, type FuzzResult } from './fuzz-targets.js';

export function benchFuzz(runs: number, seed: number, log: (text: string) => void): FuzzResult[] {
  return fuzzTargets(seed).map((target) => {
    log(`fuzz: ${target.name}, ${runs.toLocaleString('en')} inputs …`);
    return fuzz(target, runs, seed);
  });
}

export function formatFuzz(results: readonly FuzzResult[], seed: number): string {
  let out = `\nFuzzing (fast-check, seed ${String(seed)}): every input ends accepted or refused with a code; anything else is a failure\n`;
  for (const r of results) {
    const outcomes = Object.entries(r.outcomes).sort(([, a], [, b]) => b - a).map(([k, n]) => `${k} ${n.toLocaleString('en')}`).join(', ');
    out += `  ${r.name}: ${r.runs.toLocaleString('en')} inputs in ${r.seconds.toFixed(1)} s, slowest ${r.slowestMs.toFixed(2)} ms: ${r.failure === null ? 'PASS' : `FAIL: ${r.failure}`}\n    ${outcomes}\n`;
  }
  return out;
}
