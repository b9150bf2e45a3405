/** A synthetic, deterministic Scientist-vs-Leech results document for report tests. */
import { buildResults, type Arm, type ArmRun, type ExperimentMetadata, type ExperimentResults, type Repetition } from '../../src/experiment/results.js';

export interface SyntheticOptions {
  readonly repetitions?: number;
  readonly cores?: number;
  /** Maxwell's primes per joule ÷ CFS's, before noise. */
  readonly ratio?: number;
  readonly samples?: number;
  readonly modelled?: boolean;
  /** Prefix of the leeches' ids. @default 'leech' */
  readonly leechPrefix?: string;
  /** Foreign load of every arm (share of the machine). @default 0.004 */
  readonly foreignFraction?: number;
}

const DURATION_S = 10;

function armRun(arm: Arm, rep: number, cores: number, ratio: number, samples: number, leech: string, foreignFraction: number): ArmRun {
  const wobble = 1 + 0.04 * Math.sin(rep * 2.3 + (arm === 'cfs' ? 0 : 1));
  const packageJ = (arm === 'cfs' ? 300 : 220) * wobble;
  const primesPerJ = (arm === 'cfs' ? 2 : 2 * ratio) * (1 + 0.03 * Math.cos(rep * 1.7 + (arm === 'cfs' ? 0.5 : 0)));
  const verifiedPrimes = Math.round(primesPerJ * packageJ);
  const t = Array.from({ length: samples }, (_, i) => (i * DURATION_S) / (samples - 1));
  const hot = arm === 'cfs' ? 92 : 78;
  const coreC = Array.from({ length: cores }, (_, c) => t.map((s) => 40 + (hot - 40 - c) * (1 - Math.exp(-s / 3))));
  const packageW = t.map((s, i) => (i === 3 ? null : (packageJ / DURATION_S) * (1 - 0.3 * Math.exp(-s))));
  const leechDies = (k: number): number | null => (arm === 'maxwell' ? 3 + k * 2 + rep * 0.25 : null);
  const agents = [
    { id: 'scientist-0', role: 'scientist' as const, verifiedPrimes: Math.ceil(verifiedPrimes / 2), joules: packageJ * 0.4, survivalS: null },
    { id: 'scientist-1', role: 'scientist' as const, verifiedPrimes: Math.floor(verifiedPrimes / 2), joules: packageJ * 0.4, survivalS: null },
    { id: `${leech}-0`, role: 'leech' as const, verifiedPrimes: 0, joules: packageJ * 0.1, survivalS: leechDies(0) },
    { id: `${leech}-1`, role: 'leech' as const, verifiedPrimes: 0, joules: packageJ * 0.1, survivalS: leechDies(1) },
  ];
  const deaths = agents.flatMap((a) => (a.survivalS === null ? [] : [{ agent: a.id, t: a.survivalS, cause: 'apoptosis' as const }]));
  const wallets =
    arm === 'cfs'
      ? []
      : agents.map((a) => ({
          agent: a.id,
          role: a.role,
          balanceJ: t.map((s) => (a.survivalS !== null && s > a.survivalS ? null : a.role === 'leech' ? Math.max(0, 100 - (100 / a.survivalS!) * s) : a.id === 'scientist-0' ? 100 + 5 * s : 90 + 3 * s)),
        }));
  const aboveThrottleS = arm === 'cfs' ? 4.2 : 0;
  return {
    arm,
    startedAt: new Date(Date.UTC(2026, 7, 1, 12, 0, rep * 2 * DURATION_S + (arm === 'cfs' ? 0 : DURATION_S))).toISOString(),
    durationS: DURATION_S,
    verifiedPrimes,
    packageJ,
    primesPerJ: verifiedPrimes / packageJ,
    agents,
    cores: coreC.map((series, core) => ({ core, peakC: Math.max(...series), meanC: series.reduce((s, x) => s + x, 0) / series.length, aboveThrottleS })),
    aboveThrottleS,
    overhead: arm === 'cfs' ? null : { cpuS: 0.12, fraction: 0.12 / (DURATION_S * cores) },
    clearingP99Ms: arm === 'cfs' ? null : 0.08 + rep * 0.01,
    load: { foreignFraction, stealFraction: 0, busyFraction: 0.98 },
    energyAccounts: { agentsJ: packageJ * 0.95, maxwellJ: packageJ * 0.03, unmanagedJ: packageJ * 0.02 },
    series: {
      t,
      coreC,
      packageW,
      corePrice: arm === 'cfs' ? null : coreC.map((series) => series.map((x) => 10 + Math.max(0, x - 60))),
      wallets,
      deaths,
    },
  };
}

export function syntheticMetadata(options: SyntheticOptions = {}): ExperimentMetadata {
  const modelled = options.modelled ?? true;
  return {
    schemaVersion: 2,
    experiment: 'scientist-vs-leech',
    maxwellVersion: '0.1.0',
    machine: { hostname: 'test-host', cpuModel: 'Synthetic CPU <&>', cores: options.cores ?? 2, kernel: 'Linux 6.8.0', node: 'v20.19.0' },
    startedAt: '2026-08-01T12:00:00.000Z',
    finishedAt: '2026-08-01T12:01:00.000Z',
    armDurationS: DURATION_S,
    repetitions: options.repetitions ?? 3,
    quick: true,
    scientists: { count: 2, command: 'maxwell-agent scientist' },
    leeches: { count: 2, command: 'maxwell-agent leech' },
    sources: {
      energy: modelled
        ? { provenance: 'modelled', source: 'thermal-twin', note: 'package energy modelled by the thermal twin driven by measured utilisation' }
        : { provenance: 'measured', source: 'powercap-rapl', note: 'package energy measured by powercap-rapl (intel-rapl:0)' },
      temperature: { provenance: 'modelled', source: 'thermal-twin', note: 'core temperatures modelled by the thermal twin' },
      agentEnergy: { provenance: 'modelled', source: 'windowed-attributor', note: 'package energy attributed to agents by CPU share' },
      overhead: { provenance: 'measured', source: 'procfs', note: 'daemon CPU time from /proc/self/stat' },
      foreignLoad: { provenance: 'measured', source: '/proc/stat − cgroups − getrusage', note: 'other processes’ CPU' },
    },
    preflight: { sampleS: 1, busyFraction: 0.01, stealFraction: 0, top: [{ pid: 42, name: 'sshd', cpuFraction: 0.01 }] },
    stopping: { rule: 'fixed', minRepetitions: options.repetitions ?? 3, maxRepetitions: options.repetitions ?? 3, targetHalfWidth: null, stoppedBecause: 'a fixed number of repetitions' },
    throttlePointC: 85,
    priceUnit: 'µJ per 10 ms quantum',
    thesisRatio: 1.8,
    confidenceLevel: 0.95,
  };
}

/** Builds a synthetic results document (with its summary computed by `buildResults`). */
export function syntheticResults(options: SyntheticOptions = {}): ExperimentResults {
  const n = options.repetitions ?? 3;
  const cores = options.cores ?? 2;
  const ratio = options.ratio ?? 2;
  const samples = options.samples ?? 41;
  const repetitions: Repetition[] = Array.from({ length: n }, (_, index) => ({
    index,
    order: index % 2 === 0 ? ['cfs', 'maxwell'] : ['maxwell', 'cfs'],
    cfs: armRun('cfs', index, cores, ratio, samples, options.leechPrefix ?? 'leech', options.foreignFraction ?? 0.004),
    maxwell: armRun('maxwell', index, cores, ratio, samples, options.leechPrefix ?? 'leech', options.foreignFraction ?? 0.004),
  }));
  return buildResults(syntheticMetadata(options), repetitions, ['synthetic data for tests']);
}
