/**
 * What the gain is made of (docs/EXPERIMENT.md): Scientist vs Leech under four arms, alternated
 * within each repetition on fresh daemons, so a reader sees how much of Maxwell's ratio over CFS
 * is admission (parasites die when they stop paying) and how much is pricing by heat.
 *
 * - `cfs`: plain Linux CFS; nothing is charged or killed (the experiment's control arm).
 * - `admission`: CFS shares the machine, but every agent pays rent for its fair share at a flat
 *   price (a quantum at ambient), verified primes earn and the insolvent die. No auction.
 * - `flat`: Maxwell's auction with every core at that flat price, however hot; the controllers
 *   and the emergency pause still run.
 * - `maxwell`: Maxwell as it ships (the experiment's treatment arm).
 *
 * Primes are MEASURED (the prime oracle); energy and temperatures come from whatever the
 * experiment uses on this machine (the thermal twin where there is no sensor), and say so.
 */
import { availableParallelism } from 'node:os';
import { meanInterval, ratioInterval, mean, type RatioInterval } from '../experiment/stats.js';
import { CFS_VARIANT, MAXWELL_VARIANT, runArm, type ArmVariant, type ExperimentOptions } from '../experiment/runner.js';
import { distinctEntropySources, type ArmRun } from '../experiment/results.js';

export interface AblationArm {
  readonly key: 'cfs' | 'admission' | 'flat' | 'maxwell';
  readonly label: string;
  readonly what: string;
  readonly variant: ArmVariant;
}

export const ABLATION_ARMS: readonly AblationArm[] = [
  { key: 'cfs', label: 'Linux CFS', what: 'CFS shares the machine; nothing is charged or killed', variant: CFS_VARIANT },
  {
    key: 'admission',
    label: 'CFS + kill the insolvent',
    what: 'CFS shares the machine; each agent pays rent for its fair share at a flat price, verified primes earn, the insolvent die; no auction',
    variant: { arm: 'cfs', name: 'admission', mode: 'admission', pricing: 'flat' },
  },
  {
    key: 'flat',
    label: 'Maxwell, flat price',
    what: 'the auction, every core at the price of a quantum at ambient however hot; controllers and the emergency pause still run',
    variant: { arm: 'maxwell', name: 'flat', mode: 'market', pricing: 'flat' },
  },
  { key: 'maxwell', label: 'Maxwell', what: 'the auction with thermal prices, as it ships', variant: MAXWELL_VARIANT },
];

// Each variant's first letter tags its daemon's cgroups (runner.ts): they must differ.
if (new Set(ABLATION_ARMS.map((a) => a.variant.name.charAt(0))).size !== ABLATION_ARMS.length) throw new Error('ablation arms must differ in the first letter of their names');

export interface AblationOptions {
  /** The workload and machine settings; its `repetitions` and `onProgress` are not used. */
  readonly experiment: ExperimentOptions;
  readonly repetitions: number;
  readonly arms?: readonly AblationArm[];
  readonly onProgress?: (index: number, total: number, label: string) => void;
  readonly signal?: AbortSignal;
}

/** One arm in one repetition, as the table needs it. */
export interface AblationRun {
  readonly repetition: number;
  readonly primes: number;
  readonly packageJ: number;
  readonly primesPerJ: number;
  /** The hottest core's peak, °C. */
  readonly peakC: number;
  readonly leechesDead: number;
  readonly scientistsDead: number;
  readonly overheadPercent: number | null;
}

export interface AblationArmResult {
  readonly key: AblationArm['key'];
  readonly label: string;
  readonly what: string;
  readonly runs: readonly AblationRun[];
  readonly primesPerJ: { readonly mean: number; readonly low: number | null; readonly high: number | null };
  /** Its primes per joule ÷ CFS's, paired over repetitions (Fieller); null for CFS itself or with one repetition. */
  readonly ratioToCfs: RatioInterval | null;
  readonly peakC: number;
  readonly leechesDead: number;
  readonly leeches: number;
  readonly scientistsDead: number;
  readonly scientists: number;
}

export interface AblationReport {
  readonly generatedAt: string;
  readonly cores: number;
  readonly armS: number;
  readonly repetitions: number;
  readonly scientists: number;
  readonly leeches: number;
  readonly provenance: { readonly primes: string; readonly energy: string; readonly temperature: string };
  readonly arms: readonly AblationArmResult[];
  /** What a reader should take from the table, computed from it. */
  readonly findings: readonly string[];
  readonly warnings: readonly string[];
}

function toRun(run: ArmRun, repetition: number): AblationRun {
  const deadOf = (role: string) => run.agents.filter((a) => a.role === role && a.survivalS !== null).length;
  return {
    repetition,
    primes: run.verifiedPrimes,
    packageJ: run.packageJ,
    primesPerJ: run.primesPerJ,
    peakC: Math.max(...run.cores.map((c) => c.peakC)),
    leechesDead: deadOf('leech'),
    scientistsDead: deadOf('scientist'),
    overheadPercent: run.overhead === null ? null : run.overhead.fraction * 100,
  };
}

/**
 * The arms' order in repetition `rep`: rows of a Williams square, so over n repetitions (n arms)
 * every arm runs first once and follows every other arm once. Heat and page cache carried from
 * one arm into the next then weigh on each arm alike, which a plain rotation does not give.
 */
export function armOrder(arms: number, rep: number): number[] {
  // The standard construction for an even number of arms: 0, 1, n−1, 2, n−2, … shifted by the row.
  const base: number[] = [];
  for (let i = 0, lo = 1, hi = arms - 1; i < arms; i++) base.push(i === 0 ? 0 : i % 2 === 1 ? lo++ : hi--);
  const row = rep % arms;
  const order = base.map((a) => (a + row) % arms);
  // With an odd number of arms the square needs its mirror rows too (Williams 1949).
  return arms % 2 === 1 && Math.floor(rep / arms) % 2 === 1 ? order.reverse() : order;
}

/** Runs every arm in every repetition, in a Williams-square order. */
export async function runAblation(options: AblationOptions): Promise<AblationReport> {
  const arms = options.arms ?? ABLATION_ARMS;
  const runs = new Map<string, AblationRun[]>(arms.map((a) => [a.key, []]));
  const warnings: string[] = [];
  const entropySources = new Set<string>();
  let sources = { temperature: 'unknown', energy: 'unknown' };
  const total = options.repetitions * arms.length;
  let index = 0;
  for (let rep = 0; rep < options.repetitions; rep++) {
    const order = armOrder(arms.length, rep).map((i) => arms[i] as AblationArm);
    for (const arm of order) {
      options.signal?.throwIfAborted();
      options.onProgress?.(index, total, `repetition ${String(rep + 1)}/${String(options.repetitions)}: ${arm.label}`);
      const run = await runArm({
        experiment: options.experiment,
        variant: arm.variant,
        rep,
        progress: () => undefined,
        sources: (s) => (sources = { temperature: s.temperature, energy: s.energy }),
        failures: warnings,
        entropySources,
      });
      runs.get(arm.key)?.push(toRun(run, rep));
      index++;
    }
  }
  options.onProgress?.(total, total, 'done');
  const cfsRuns = runs.get('cfs') ?? [];
  const results = arms.map((arm): AblationArmResult => {
    const mine = runs.get(arm.key) ?? [];
    const ppj = mine.map((r) => r.primesPerJ);
    const interval = ppj.length >= 2 ? meanInterval(ppj) : null;
    const pairedCfs = mine.map((r) => cfsRuns.find((c) => c.repetition === r.repetition)?.primesPerJ ?? Number.NaN);
    const ratio = arm.key !== 'cfs' && ppj.length >= 2 && pairedCfs.every(Number.isFinite) ? ratioInterval(ppj, pairedCfs) : null;
    return {
      key: arm.key,
      label: arm.label,
      what: arm.what,
      runs: mine,
      primesPerJ: { mean: mean(ppj), low: interval?.low ?? null, high: interval?.high ?? null },
      ratioToCfs: ratio,
      peakC: mean(mine.map((r) => r.peakC)),
      leechesDead: mine.reduce((n, r) => n + r.leechesDead, 0),
      leeches: options.experiment.leeches * mine.length,
      scientistsDead: mine.reduce((n, r) => n + r.scientistsDead, 0),
      scientists: options.experiment.scientists * mine.length,
    };
  });
  return {
    generatedAt: new Date().toISOString(),
    cores: availableParallelism(),
    armS: options.experiment.durationS,
    repetitions: options.repetitions,
    scientists: options.experiment.scientists,
    leeches: options.experiment.leeches,
    provenance: {
      primes: 'MEASURED: verified by the prime oracle (Miller–Rabin on sampled primes of each report)',
      energy: sources.energy,
      temperature: sources.temperature,
    },
    arms: results,
    findings: ablationFindings(results),
    warnings: distinctEntropySources(entropySources).map((s) => `entropy source of the arms that charge the Landauer tax: ${s}`).concat(warnings),
  };
}

/** The share of Maxwell's gain over CFS that each step brings, from the table's means. */
export function ablationFindings(arms: readonly AblationArmResult[]): string[] {
  const by = (key: AblationArm['key']) => arms.find((a) => a.key === key)?.primesPerJ.mean;
  const cfs = by('cfs');
  const admission = by('admission');
  const flat = by('flat');
  const maxwell = by('maxwell');
  if (cfs === undefined || maxwell === undefined || !(cfs > 0)) return [];
  const gain = maxwell - cfs;
  const pct = (x: number) => `${(100 * x).toFixed(0)} %`;
  const out = [`Maxwell ÷ CFS: ${(maxwell / cfs).toFixed(2)}× (means of the repetitions).`];
  if (admission !== undefined) {
    out.push(`Admission alone (CFS, the insolvent killed): ${(admission / cfs).toFixed(2)}×${gain > 0 ? `, ${pct((admission - cfs) / gain)} of Maxwell's gain` : ''}.`);
  }
  if (flat !== undefined) {
    const heat = maxwell / flat;
    out.push(
      `The auction at a flat price: ${(flat / cfs).toFixed(2)}×${gain > 0 ? `, ${pct((flat - cfs) / gain)} of the gain` : ''}; ` +
        (heat > 1 ? `pricing by heat adds ${heat.toFixed(2)}× over the flat price.` : `pricing by heat adds no primes per joule in these repetitions (${heat.toFixed(2)}× the flat price).`),
    );
  }
  const treated = arms.filter((a) => a.key !== 'cfs' && a.primesPerJ.low !== null && a.primesPerJ.high !== null);
  const overlap = treated.length > 1 && Math.max(...treated.map((a) => a.primesPerJ.low ?? 0)) <= Math.min(...treated.map((a) => a.primesPerJ.high ?? 0));
  if (overlap) out.push(`The primes/J intervals of ${treated.map((a) => a.label).join(', ')} overlap: these repetitions cannot tell them apart.`);
  const peakOf = (key: AblationArm['key']) => arms.find((a) => a.key === key)?.peakC;
  const peakCfs = peakOf('cfs');
  const peakMaxwell = peakOf('maxwell');
  if (peakCfs !== undefined && peakMaxwell !== undefined) out.push(`Peak temperature: ${peakCfs.toFixed(1)} °C under CFS, ${peakMaxwell.toFixed(1)} °C under Maxwell${peakOf('admission') === undefined ? '' : `, ${(peakOf('admission') ?? 0).toFixed(1)} °C with admission alone`}.`);
  return out;
}
