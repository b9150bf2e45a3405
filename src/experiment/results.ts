/**
 * The results of the Scientist-vs-Leech experiment: what the runner records, what
 * `results.json` holds, and what the report renders. Pure: no I/O.
 *
 * The document is plain JSON, so quantities are plain numbers whose unit is in the field name
 * (`…J` joules, `…W` watts, `…C` °C, `…S` seconds, `…Ms` milliseconds) rather than branded
 * units: a branded type would not survive `JSON.parse`, and the zod schema below is what
 * checks a document read back.
 *
 * Every figure's origin is recorded: `metadata.sources` says, for energy, temperature,
 * per-agent energy and Maxwell's overhead, whether it was measured or modelled and by what.
 */
import { z } from 'zod';
import { InvalidArgumentError, ResultsInvalidError } from '../errors.js';
import { DEFAULT_CONFIDENCE, mean, meanInterval, ratioInterval, type RatioMethod } from './stats.js';

/** Version of the results document; bumped when a field changes meaning. */
export const RESULTS_SCHEMA_VERSION = 2;

/** The thesis: Maxwell gets at least this many times CFS's primes per joule. */
export const THESIS_RATIO = 1.8;

/** The two arms: plain Linux CFS (control) and the Maxwell daemon (treatment). */
export const ARMS = ['cfs', 'maxwell'] as const;

/** The note that names the treatment arm's entropy sources (the terminal summary quotes it). */
export const LANDAUER_NOTE_PREFIX = 'Landauer tax (treatment arm) from: ';
/** Between the sources in that note: a selection's reason may itself contain "; ". */
export const LANDAUER_NOTE_SEPARATOR = ' | ';

/** Entropy sources as each arm's daemon named them, each once: without the helper's pid, which differs per daemon. */
export function distinctEntropySources(sources: Iterable<string>): string[] {
  return [...new Set([...sources].map((s) => s.replace(/ \([a-z]+ pid \d+\)/, '')))];
}
export type Arm = (typeof ARMS)[number];

export const AGENT_ROLES = ['scientist', 'leech'] as const;
export type AgentRole = (typeof AGENT_ROLES)[number];

/** Why an agent stopped before its arm ended. */
export const DEATH_CAUSES = ['apoptosis', 'killed', 'exited'] as const;
export type DeathCause = (typeof DEATH_CAUSES)[number];

/** Where a kind of figure came from. */
export interface FigureSource {
  readonly provenance: 'measured' | 'modelled';
  /** The reader or mechanism, e.g. `powercap-rapl`, `hwmon`, `thermal-twin`, `procfs`. */
  readonly source: string;
  /** In words, e.g. "package energy measured by powercap-rapl (intel-rapl:0)". */
  readonly note: string;
}

/** The machine the experiment ran on. */
export interface MachineInfo {
  readonly hostname: string;
  readonly cpuModel: string;
  /** Logical CPU cores. */
  readonly cores: number;
  /** `uname -sr`, e.g. "Linux 6.8.0". */
  readonly kernel: string;
  /** Node.js version, e.g. "v20.19.0". */
  readonly node: string;
}

/** How the experiment was run. */
export interface ExperimentMetadata {
  readonly schemaVersion: typeof RESULTS_SCHEMA_VERSION;
  readonly experiment: 'scientist-vs-leech';
  readonly maxwellVersion: string;
  readonly machine: MachineInfo;
  /** ISO 8601 timestamps of the whole run. */
  readonly startedAt: string;
  readonly finishedAt: string;
  /** Planned duration of each arm, s. */
  readonly armDurationS: number;
  /** Repetitions run (each runs both arms). */
  readonly repetitions: number;
  /** Whether `--quick` shortened the arms. */
  readonly quick: boolean;
  readonly scientists: { readonly count: number; readonly command: string };
  readonly leeches: { readonly count: number; readonly command: string };
  /** The same sources serve both arms. */
  readonly sources: {
    /** Package energy and power. */
    readonly energy: FigureSource;
    /** Core temperatures. */
    readonly temperature: FigureSource;
    /** Per-agent energy (package energy attributed by CPU share). */
    readonly agentEnergy: FigureSource;
    /** Maxwell's own CPU time. */
    readonly overhead: FigureSource;
    /** CPU time of processes that are neither agents nor Maxwell. */
    readonly foreignLoad: FigureSource;
  };
  /** The machine sampled for a second before the first arm; null when not sampled. */
  readonly preflight: PreflightSample | null;
  /** How the number of repetitions was chosen. */
  readonly stopping: StoppingRule;
  /** Temperature above which a core counts as throttling, °C. */
  readonly throttlePointC: number;
  /** Unit of the per-core prices in the maxwell arm's series, e.g. "µJ per 10 ms quantum". */
  readonly priceUnit: string;
  /** The thesis threshold the summary is judged against. @default THESIS_RATIO */
  readonly thesisRatio: number;
  /** Confidence level of every interval. @default 0.95 */
  readonly confidenceLevel: number;
}

/** What the pre-flight check saw: the machine's busy share without the experiment, and who used it. */
export interface PreflightSample {
  readonly sampleS: number;
  readonly busyFraction: number;
  readonly stealFraction: number;
  readonly top: readonly { readonly pid: number; readonly name: string; readonly cpuFraction: number }[];
}

/**
 * `fixed`: exactly `maxRepetitions`. `precision`: at least `minRepetitions`, then stop as soon as
 * the ratio's interval is narrower than ± `targetHalfWidth` (or at `maxRepetitions`).
 */
export interface StoppingRule {
  readonly rule: 'fixed' | 'precision';
  readonly minRepetitions: number;
  readonly maxRepetitions: number;
  /** Half-width of the ratio's interval at which `precision` stops; null for `fixed`. */
  readonly targetHalfWidth: number | null;
  /** Why the run stopped, in words. */
  readonly stoppedBecause: string;
}

/** The machine's load over one arm, as shares of all its CPUs' time (measured, /proc/stat). */
export interface ArmLoad {
  /** Processes that are neither agents nor Maxwell (and the kernel's interrupts). */
  readonly foreignFraction: number;
  /** CPU the hypervisor gave to other guests while this VM wanted to run. */
  readonly stealFraction: number;
  /** The whole machine's busy share. */
  readonly busyFraction: number;
}

/** Package energy over the arm by account (J): agents, Maxwell's own process, and the rest. */
export interface EnergyAccounts {
  readonly agentsJ: number;
  readonly maxwellJ: number;
  /** Other processes' and the kernel's share: charged to no agent. */
  readonly unmanagedJ: number;
}

/** One agent in one arm run. */
export interface AgentOutcome {
  readonly id: string;
  readonly role: AgentRole;
  /** Primes the oracle verified and paid for (0 for leeches). */
  readonly verifiedPrimes: number;
  /** Energy attributed to the agent, J. */
  readonly joules: number;
  /** Seconds from the arm's start until the agent died; null when it lived to the end. */
  readonly survivalS: number | null;
}

/** Thermal figures of one core in one arm run. */
export interface CoreThermal {
  readonly core: number;
  readonly peakC: number;
  readonly meanC: number;
  /** Time this core spent above the throttle point, s. */
  readonly aboveThrottleS: number;
}

/** A death marked on the wallet chart. */
export interface DeathEvent {
  readonly agent: string;
  /** Seconds since the arm's start. */
  readonly t: number;
  readonly cause: DeathCause;
}

/** One agent's wallet over time (the maxwell arm; CFS has no wallets). */
export interface WalletSeries {
  readonly agent: string;
  readonly role: AgentRole;
  /** Balance at each `t`, J; null before the agent joined or after it died. */
  readonly balanceJ: readonly (number | null)[];
}

/**
 * Time series of one arm run, column-wise: every array is as long as `t`. A null value is a
 * gap (no trusted reading at that instant).
 */
export interface ArmSeries {
  /** Seconds since the arm's start, non-decreasing. */
  readonly t: readonly number[];
  /** Temperature of each core, °C: `coreC[core][i]`. */
  readonly coreC: readonly (readonly (number | null)[])[];
  /** Package power, W. */
  readonly packageW: readonly (number | null)[];
  /** Clearing price of each core (unit: `metadata.priceUnit`); null under CFS, which has no prices. */
  readonly corePrice: readonly (readonly (number | null)[])[] | null;
  /** Wallet balances; empty under CFS. */
  readonly wallets: readonly WalletSeries[];
  readonly deaths: readonly DeathEvent[];
}

/** Maxwell's own cost in the maxwell arm. */
export interface Overhead {
  /** CPU time the daemon used, s. */
  readonly cpuS: number;
  /** cpuS ÷ (arm duration × cores): the share of the machine the daemon took. */
  readonly fraction: number;
}

/** One arm in one repetition. */
export interface ArmRun {
  readonly arm: Arm;
  /** ISO 8601 start time. */
  readonly startedAt: string;
  /** Measured duration, s. */
  readonly durationS: number;
  /** Primes verified by the oracle, all scientists together. */
  readonly verifiedPrimes: number;
  /** Package energy over the arm, J. */
  readonly packageJ: number;
  /** verifiedPrimes ÷ packageJ. */
  readonly primesPerJ: number;
  readonly agents: readonly AgentOutcome[];
  readonly cores: readonly CoreThermal[];
  /** Time any core spent above the throttle point, s. */
  readonly aboveThrottleS: number;
  /** Null under CFS (no daemon runs). */
  readonly overhead: Overhead | null;
  /** 99th percentile of the auction's clearing time, ms; null under CFS. */
  readonly clearingP99Ms: number | null;
  readonly load: ArmLoad;
  readonly energyAccounts: EnergyAccounts;
  readonly series: ArmSeries;
}

/** One repetition: both arms, in the order they ran (alternated between repetitions). */
export interface Repetition {
  readonly index: number;
  readonly order: readonly [Arm, Arm];
  readonly cfs: ArmRun;
  readonly maxwell: ArmRun;
}

/** A per-arm mean with its interval; the interval is null with fewer than two repetitions. */
export interface ArmEstimate {
  readonly n: number;
  readonly mean: number;
  readonly sd: number | null;
  readonly low: number | null;
  readonly high: number | null;
}

/** Per-arm summary over the repetitions. */
export interface ArmSummary {
  readonly primesPerJ: ArmEstimate;
  /** Means over repetitions. */
  readonly verifiedPrimes: number;
  readonly packageJ: number;
  readonly aboveThrottleS: number;
  /** Highest core temperature seen in any repetition, °C. */
  readonly peakC: number;
  /** Leeches that died, over all repetitions, and leeches run. */
  readonly leechDeaths: number;
  readonly leechesRun: number;
  /** Mean survival of the leeches that died, s; null when none died. */
  readonly meanLeechSurvivalS: number | null;
  /** Mean overhead fraction; null under CFS. */
  readonly overheadFraction: number | null;
  /** Highest clearing p99 over repetitions, ms; null under CFS. */
  readonly clearingP99Ms: number | null;
  /** Mean and highest foreign load over repetitions (shares of the machine). */
  readonly foreignFraction: { readonly mean: number; readonly max: number };
  /** Mean energy charged to the unmanaged account, J. */
  readonly unmanagedJ: number;
}

/** The ratio maxwell ÷ cfs of mean primes per joule. */
export interface RatioSummary {
  readonly estimate: number;
  readonly level: number;
  readonly low: number | null;
  readonly high: number | null;
  /** False when no finite interval exists (one repetition, or the CFS mean is not distinguishable from 0). */
  readonly bounded: boolean;
  /** `none`: fewer than two repetitions, no interval. */
  readonly method: RatioMethod | 'none';
  readonly df: number | null;
  readonly g: number | null;
}

/** The verdict on the thesis. */
export interface ThesisVerdict {
  readonly threshold: number;
  /** The ratio's estimate reaches the threshold. */
  readonly met: boolean;
  /** The whole interval lies at or above the threshold. */
  readonly metWithConfidence: boolean;
  readonly verdict: 'PASS' | 'MISS';
}

export interface ExperimentSummary {
  readonly perArm: { readonly cfs: ArmSummary; readonly maxwell: ArmSummary };
  readonly ratio: RatioSummary;
  readonly thesis: ThesisVerdict;
}

/** The whole results document (`results.json`). */
export interface ExperimentResults {
  readonly metadata: ExperimentMetadata;
  readonly repetitions: readonly Repetition[];
  readonly summary: ExperimentSummary;
  /** Closing notes, e.g. why the ratio missed the thesis. */
  readonly notes: readonly string[];
}

// ---------------------------------------------------------------------------------------------
// Summary

function armEstimate(xs: readonly number[], level: number): ArmEstimate {
  if (xs.length < 2) return { n: xs.length, mean: mean(xs), sd: null, low: null, high: null };
  const ci = meanInterval(xs, level);
  return { n: ci.n, mean: ci.mean, sd: ci.sd, low: ci.low, high: ci.high };
}

function summariseArm(runs: readonly ArmRun[], level: number): ArmSummary {
  const leeches = runs.flatMap((r) => r.agents.filter((a) => a.role === 'leech'));
  const deaths = leeches.flatMap((a) => (a.survivalS === null ? [] : [a.survivalS]));
  const overheads = runs.flatMap((r) => (r.overhead === null ? [] : [r.overhead.fraction]));
  const p99s = runs.flatMap((r) => (r.clearingP99Ms === null ? [] : [r.clearingP99Ms]));
  return {
    primesPerJ: armEstimate(runs.map((r) => r.primesPerJ), level),
    verifiedPrimes: mean(runs.map((r) => r.verifiedPrimes)),
    packageJ: mean(runs.map((r) => r.packageJ)),
    aboveThrottleS: mean(runs.map((r) => r.aboveThrottleS)),
    peakC: Math.max(...runs.flatMap((r) => r.cores.map((c) => c.peakC))),
    leechDeaths: deaths.length,
    leechesRun: leeches.length,
    meanLeechSurvivalS: deaths.length === 0 ? null : mean(deaths),
    overheadFraction: overheads.length === 0 ? null : mean(overheads),
    clearingP99Ms: p99s.length === 0 ? null : Math.max(...p99s),
    foreignFraction: { mean: mean(runs.map((r) => r.load.foreignFraction)), max: Math.max(...runs.map((r) => r.load.foreignFraction)) },
    unmanagedJ: mean(runs.map((r) => r.energyAccounts.unmanagedJ)),
  };
}

/** Options of {@link summarise}. */
export interface SummaryOptions {
  /** @default 0.95 */
  readonly level?: number;
  /** @default THESIS_RATIO (1.8) */
  readonly threshold?: number;
}

/**
 * Summarises repetitions: mean primes per joule per arm with Student-t intervals, the ratio
 * maxwell ÷ cfs with its paired Fieller interval, and the verdict on the thesis.
 * Throws `MXW_ERR_INVALID_ARG` with no repetitions or a CFS mean of 0 primes per joule.
 */
export function summarise(repetitions: readonly Repetition[], options: SummaryOptions = {}): ExperimentSummary {
  const level = options.level ?? DEFAULT_CONFIDENCE;
  const threshold = options.threshold ?? THESIS_RATIO;
  if (repetitions.length === 0) throw new InvalidArgumentError('summarise needs at least one repetition');
  const cfs = repetitions.map((r) => r.cfs);
  const maxwell = repetitions.map((r) => r.maxwell);
  const perArm = { cfs: summariseArm(cfs, level), maxwell: summariseArm(maxwell, level) };
  let ratio: RatioSummary;
  if (repetitions.length < 2) {
    const denominator = perArm.cfs.primesPerJ.mean;
    if (denominator === 0) throw new InvalidArgumentError('the CFS arm verified no primes, so the ratio is undefined');
    ratio = { estimate: perArm.maxwell.primesPerJ.mean / denominator, level, low: null, high: null, bounded: false, method: 'none', df: null, g: null };
  } else {
    const r = ratioInterval(maxwell.map((x) => x.primesPerJ), cfs.map((x) => x.primesPerJ), { level, paired: true });
    ratio = { estimate: r.estimate, level, low: r.low, high: r.high, bounded: r.bounded, method: r.method, df: r.df, g: r.g };
  }
  const met = ratio.estimate >= threshold;
  const metWithConfidence = ratio.low !== null && ratio.low >= threshold;
  return { perArm, ratio, thesis: { threshold, met, metWithConfidence, verdict: met ? 'PASS' : 'MISS' } };
}

/** Builds the results document: the summary is derived from the repetitions and the metadata's level and threshold. */
export function buildResults(metadata: ExperimentMetadata, repetitions: readonly Repetition[], notes: readonly string[] = []): ExperimentResults {
  const summary = summarise(repetitions, { level: metadata.confidenceLevel, threshold: metadata.thesisRatio });
  return { metadata, repetitions, summary, notes };
}

// ---------------------------------------------------------------------------------------------
// Schema (reading results.json back)

const finite = () => z.number().refine(Number.isFinite, 'must be a finite number');
const nonNegative = () => z.number().nonnegative().refine(Number.isFinite, 'must be a finite number');
const count = () => z.number().int().nonnegative();
const gappy = () => z.array(z.number().refine(Number.isFinite, 'must be a finite number').nullable());
const isoDate = () => z.iso.datetime({ offset: true });
const armSchema = z.enum(ARMS);
const roleSchema = z.enum(AGENT_ROLES);

const figureSourceSchema = z.strictObject({
  provenance: z.enum(['measured', 'modelled']),
  source: z.string().min(1),
  note: z.string(),
});

const metadataSchema = z.strictObject({
  schemaVersion: z.literal(RESULTS_SCHEMA_VERSION),
  experiment: z.literal('scientist-vs-leech'),
  maxwellVersion: z.string(),
  machine: z.strictObject({ hostname: z.string(), cpuModel: z.string(), cores: z.number().int().positive(), kernel: z.string(), node: z.string() }),
  startedAt: isoDate(),
  finishedAt: isoDate(),
  armDurationS: z.number().positive(),
  repetitions: z.number().int().positive(),
  quick: z.boolean(),
  scientists: z.strictObject({ count: count(), command: z.string() }),
  leeches: z.strictObject({ count: count(), command: z.string() }),
  sources: z.strictObject({ energy: figureSourceSchema, temperature: figureSourceSchema, agentEnergy: figureSourceSchema, overhead: figureSourceSchema, foreignLoad: figureSourceSchema }),
  preflight: z
    .strictObject({
      sampleS: nonNegative(),
      busyFraction: nonNegative(),
      stealFraction: nonNegative(),
      top: z.array(z.strictObject({ pid: count(), name: z.string(), cpuFraction: nonNegative() })),
    })
    .nullable(),
  stopping: z.strictObject({
    rule: z.enum(['fixed', 'precision']),
    minRepetitions: z.number().int().positive(),
    maxRepetitions: z.number().int().positive(),
    targetHalfWidth: z.number().positive().nullable(),
    stoppedBecause: z.string(),
  }),
  throttlePointC: finite(),
  priceUnit: z.string(),
  thesisRatio: z.number().positive(),
  confidenceLevel: z.number().gt(0).lt(1),
});

const seriesSchema = z
  .strictObject({
    t: z.array(nonNegative()),
    coreC: z.array(gappy()),
    packageW: gappy(),
    corePrice: z.array(gappy()).nullable(),
    wallets: z.array(z.strictObject({ agent: z.string(), role: roleSchema, balanceJ: gappy() })),
    deaths: z.array(z.strictObject({ agent: z.string(), t: nonNegative(), cause: z.enum(DEATH_CAUSES) })),
  })
  .superRefine((s, ctx) => {
    const n = s.t.length;
    for (let i = 1; i < n; i++) {
      if ((s.t[i] ?? 0) < (s.t[i - 1] ?? 0)) {
        ctx.addIssue({ code: 'custom', path: ['t', i], message: 't must be non-decreasing' });
        break;
      }
    }
    const check = (values: readonly unknown[], path: (string | number)[]): void => {
      if (values.length !== n) ctx.addIssue({ code: 'custom', path, message: `has ${values.length} values, t has ${n}` });
    };
    s.coreC.forEach((c, i) => {
      check(c, ['coreC', i]);
    });
    check(s.packageW, ['packageW']);
    s.corePrice?.forEach((c, i) => {
      check(c, ['corePrice', i]);
    });
    s.wallets.forEach((w, i) => {
      check(w.balanceJ, ['wallets', i, 'balanceJ']);
    });
  });

const armRunSchema = z.strictObject({
  arm: armSchema,
  startedAt: isoDate(),
  durationS: nonNegative(),
  verifiedPrimes: count(),
  packageJ: nonNegative(),
  primesPerJ: nonNegative(),
  agents: z.array(z.strictObject({ id: z.string(), role: roleSchema, verifiedPrimes: count(), joules: nonNegative(), survivalS: nonNegative().nullable() })),
  cores: z.array(z.strictObject({ core: count(), peakC: finite(), meanC: finite(), aboveThrottleS: nonNegative() })),
  aboveThrottleS: nonNegative(),
  overhead: z.strictObject({ cpuS: nonNegative(), fraction: nonNegative() }).nullable(),
  clearingP99Ms: nonNegative().nullable(),
  load: z.strictObject({ foreignFraction: nonNegative(), stealFraction: nonNegative(), busyFraction: nonNegative() }),
  energyAccounts: z.strictObject({ agentsJ: nonNegative(), maxwellJ: nonNegative(), unmanagedJ: nonNegative() }),
  series: seriesSchema,
});

const repetitionSchema = z
  .strictObject({ index: count(), order: z.tuple([armSchema, armSchema]), cfs: armRunSchema, maxwell: armRunSchema })
  .superRefine((r, ctx) => {
    if (r.cfs.arm !== 'cfs') ctx.addIssue({ code: 'custom', path: ['cfs', 'arm'], message: 'must be "cfs"' });
    if (r.maxwell.arm !== 'maxwell') ctx.addIssue({ code: 'custom', path: ['maxwell', 'arm'], message: 'must be "maxwell"' });
    if (r.order[0] === r.order[1]) ctx.addIssue({ code: 'custom', path: ['order'], message: 'must name each arm once' });
  });

const armEstimateSchema = z.strictObject({ n: count(), mean: finite(), sd: finite().nullable(), low: finite().nullable(), high: finite().nullable() });
const armSummarySchema = z.strictObject({
  primesPerJ: armEstimateSchema,
  verifiedPrimes: finite(),
  packageJ: finite(),
  aboveThrottleS: finite(),
  peakC: finite(),
  leechDeaths: count(),
  leechesRun: count(),
  meanLeechSurvivalS: finite().nullable(),
  overheadFraction: finite().nullable(),
  clearingP99Ms: finite().nullable(),
  foreignFraction: z.strictObject({ mean: finite(), max: finite() }),
  unmanagedJ: finite(),
});

const summarySchema = z.strictObject({
  perArm: z.strictObject({ cfs: armSummarySchema, maxwell: armSummarySchema }),
  ratio: z.strictObject({
    estimate: finite(),
    level: z.number().gt(0).lt(1),
    low: finite().nullable(),
    high: finite().nullable(),
    bounded: z.boolean(),
    method: z.enum(['fieller-paired', 'fieller-independent', 'none']),
    df: finite().nullable(),
    g: finite().nullable(),
  }),
  thesis: z.strictObject({ threshold: z.number().positive(), met: z.boolean(), metWithConfidence: z.boolean(), verdict: z.enum(['PASS', 'MISS']) }),
});

/** The zod schema of `results.json`. Its output type is checked against {@link ExperimentResults} at compile time. */
export const resultsSchema: z.ZodType<ExperimentResults> = z
  .strictObject({ metadata: metadataSchema, repetitions: z.array(repetitionSchema).min(1), summary: summarySchema, notes: z.array(z.string()) })
  .superRefine((doc, ctx) => {
    if (doc.repetitions.length !== doc.metadata.repetitions) {
      ctx.addIssue({ code: 'custom', path: ['repetitions'], message: `has ${doc.repetitions.length} entries, metadata.repetitions says ${doc.metadata.repetitions}` });
    }
  });

/**
 * Validates a parsed results document. Throws `MXW_ERR_RESULTS_INVALID` naming the first
 * problems (path and message) when it does not match the schema.
 */
export function validateResults(value: unknown): ExperimentResults {
  const parsed = resultsSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  throw new ResultsInvalidError(`results do not match the schema: ${problems.join('; ')}`, { cause: parsed.error });
}

/** Parses and validates `results.json` text. Throws `MXW_ERR_RESULTS_INVALID` for bad JSON or a bad document. */
export function parseResults(text: string): ExperimentResults {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ResultsInvalidError('results are not valid JSON', { cause: err });
  }
  return validateResults(value);
}
