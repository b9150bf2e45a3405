/**
 * The compact terminal summary of an experiment: one row per arm, the ratio with its interval,
 * and PASS/MISS against the thesis. Uses the CLI's table formatter so it lines up with every
 * other command's output.
 */
import { fmt, formatTable } from '../../internal/format.js';
import { LANDAUER_NOTE_PREFIX, LANDAUER_NOTE_SEPARATOR, distinctEntropySources, type ArmEstimate, type ExperimentResults } from '../results.js';

function estimate(e: ArmEstimate): string {
  return e.low === null || e.high === null ? fmt(e.mean, 3) : `${fmt(e.mean, 3)} [${fmt(e.low, 3)}, ${fmt(e.high, 3)}]`;
}

function orNa(value: number | null, decimals: number): string {
  return value === null ? 'n/a' : fmt(value, decimals);
}

/**
 * Formats the summary for a terminal (plain text, no colour).
 * @example
 * process.stdout.write(formatSummaryTable(results));
 */
export function formatSummaryTable(results: ExperimentResults): string {
  const { metadata: m, summary: s } = results;
  const level = `${Math.round(s.ratio.level * 100)} %`;
  const rows: string[][] = [
    ['arm', `primes/J [${level} CI]`, 'primes', 'package J', 'peak °C', `s > ${m.throttlePointC} °C`, 'leeches dead', 'overhead %', 'foreign %', 'p99 clear ms'],
  ];
  for (const arm of ['cfs', 'maxwell'] as const) {
    const a = s.perArm[arm];
    rows.push([
      arm === 'cfs' ? 'CFS' : 'Maxwell',
      estimate(a.primesPerJ),
      fmt(a.verifiedPrimes, 0),
      fmt(a.packageJ, 1),
      fmt(a.peakC, 1),
      fmt(a.aboveThrottleS, 1),
      `${a.leechDeaths}/${a.leechesRun}`,
      orNa(a.overheadFraction === null ? null : a.overheadFraction * 100, 2),
      fmt(a.foreignFraction.mean * 100, 2),
      orNa(a.clearingP99Ms, 3),
    ]);
  }
  const interval =
    s.ratio.low !== null && s.ratio.high !== null
      ? `[${fmt(s.ratio.low)}, ${fmt(s.ratio.high)}] (${level}, Fieller${s.ratio.method === 'fieller-paired' ? ', paired' : ''}, n = ${results.repetitions.length})`
      : s.ratio.method === 'none'
        ? '(one repetition: no interval)'
        : '(unbounded: the CFS mean is not distinguishable from 0)';
  const qualifier = s.thesis.metWithConfidence ? '' : !s.thesis.met ? '' : s.ratio.low === null ? ' (estimate only: no interval)' : ' (interval reaches below the threshold)';
  const taxNote = results.notes.find((n) => n.startsWith(LANDAUER_NOTE_PREFIX));
  // Each repetition's daemon names its own helper's pid; the summary needs only which source.
  const taxSources = taxNote === undefined ? [] : distinctEntropySources(taxNote.slice(LANDAUER_NOTE_PREFIX.length).replace(/\.$/, '').split(LANDAUER_NOTE_SEPARATOR));
  const sources = `energy ${m.sources.energy.provenance} (${m.sources.energy.source}), temperature ${m.sources.temperature.provenance} (${m.sources.temperature.source})`;
  return [
    formatTable(rows),
    `efficiency ratio Maxwell/CFS: ${fmt(s.ratio.estimate)}× ${interval}`,
    `thesis ≥ ${fmt(s.thesis.threshold, 1)}×: ${s.thesis.verdict}${qualifier}`,
    sources,
    // The source says itself whether it measured (ebpf, bpftrace) or estimated.
    ...(taxSources.length === 0 ? [] : [`erasure (Landauer tax) from: ${taxSources.join(LANDAUER_NOTE_SEPARATOR)}`]),
    `foreign %: CPU of other processes, measured (${m.sources.foreignLoad.source}); unmanaged energy (charged to no agent): CFS ${fmt(s.perArm.cfs.unmanagedJ, 1)} J, Maxwell ${fmt(s.perArm.maxwell.unmanagedJ, 1)} J per arm`,
    `repetitions: ${m.stopping.stoppedBecause}`,
    // Warnings from the run itself (e.g. failed daemon ticks) belong next to the verdict they qualify.
    ...results.notes.filter((n) => n.startsWith('WARNING')),
    '',
  ].join('\n');
}
