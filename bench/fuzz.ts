/**
 * The fuzz job (`npm run bench -- --only=fuzz`): a million generated inputs per target
 * (fuzz-targets.ts; the control API's routes in fuzz-api.ts), each target's outcomes counted by
 * code, its slowest input, and any failure fast-check found, shrunk. `--fuzz-runs=N` changes the
 * count, `--fuzz-target=TEXT` runs only the targets whose name contains TEXT (any case); the seed
 * is printed so a failure can be replayed.
 */
import { apiFuzzTarget } from './fuzz-api.js';
import { fuzz, fuzzAsync, fuzzTargets, type FuzzResult } from './fuzz-targets.js';

export async function benchFuzz(runs: number, seed: number, log: (text: string) => void, only?: string): Promise<FuzzResult[]> {
  const wanted = (name: string): boolean => only === undefined || name.toLowerCase().includes(only.toLowerCase());
  const results: FuzzResult[] = [];
  for (const target of fuzzTargets(seed).filter((t) => wanted(t.name))) {
    log(`fuzz: ${target.name}, ${runs.toLocaleString('en')} inputs …`);
    results.push(fuzz(target, runs, seed));
  }
  // Built only when wanted: it starts a whole control API.
  const api = wanted('control API: every route') ? await apiFuzzTarget() : null;
  if (api !== null) {
    log(`fuzz: ${api.name} (${String(api.operations.length)} operations), ${runs.toLocaleString('en')} inputs …`);
    try {
      results.push(await fuzzAsync(api, runs, seed));
    } finally {
      await api.close();
    }
  }
  if (results.length === 0) log(`fuzz: no target's name contains "${only ?? ''}"`);
  return results;
}

export function formatFuzz(results: readonly FuzzResult[], seed: number): string {
  let out = `\nFuzzing (fast-check, seed ${String(seed)}): every input ends accepted or refused with a code; anything else is a failure\n`;
  for (const r of results) {
    const outcomes = Object.entries(r.outcomes).sort(([, a], [, b]) => b - a).map(([k, n]) => `${k} ${n.toLocaleString('en')}`).join(', ');
    out += `  ${r.name}: ${r.runs.toLocaleString('en')} inputs in ${r.seconds.toFixed(1)} s, slowest ${r.slowestMs.toFixed(2)} ms: ${r.failure === null ? 'PASS' : `FAIL: ${r.failure}`}\n    ${outcomes}\n`;
  }
  return out;
}
