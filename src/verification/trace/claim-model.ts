/**
 * Is a trace consistent with the work an agent claims? An open-set test, not a classifier: a
 * closed-set classifier must name one of its classes, so a process it never saw (or one doing
 * nothing) lands on the nearest class, often the claimed one. Here every check gives a conformal
 * p-value (Vovk, Gammerman & Shafer; Laxhammar's conformal anomaly detection): the share of honest
 * calibration windows of the claimed class that were at least as strange as this one. A window
 * is inconsistent when p ≤ α. With exchangeable honest windows that happens to an honest agent
 * in at most an α share of its windows, whatever the cheats look like; an unfamiliar trace, being
 * far from every honest window, gets a small p.
 *
 * Two nonconformity scores, one per kind of claim:
 * - **passive** (every class): distance to the k nearest reference windows of the claimed class,
 *   features standardised over all classes. Each honest workload ran twice; every window of one
 *   run is scored against the other run (the time split, both ways round), so calibration
 *   measures how far an honest window of a *new* run falls.
 * - **timeline** (inference): the daemon sends the agent requests at times it cannot predict, so
 *   an honest server is busy while a request is open and idle otherwise. The score is
 *   idle CPU − serving CPU, both normalised by what the market allowed the agent (see timeline.ts);
 *   honest servers score near −1, a miner, a replayer or a compressor near 0, an agent that answers
 *   without computing near 0. Calibrated on honest servers measured through the daemon.
 */
import { InvalidArgumentError } from '../../errors.js';
import { FEATURE_NAMES } from './features.js';
import { WORK_CLASSES, type WorkClass } from './classes.js';

/** Neighbours averaged in the passive score. */
const K_NEAREST = 3;
export const CLAIM_MODEL_FORMAT = 'maxwell-claim-model/1';

export interface PassiveClassModel {
  /** Standardised feature vectors of honest windows (both runs). */
  readonly reference: readonly Float64Array[];
  /** Scores of each run's honest windows against the other run's, ascending. */
  readonly calibration: Float64Array;
}

export interface ClaimModelJson {
  readonly format: typeof CLAIM_MODEL_FORMAT;
  /** How and where it was made, in words (machine, date, command, runs). */
  readonly madeBy: string;
  readonly features: readonly string[];
  readonly center: readonly number[];
  readonly scale: readonly number[];
  readonly passive: Partial<Record<WorkClass, { reference: number[][]; calibration: number[] }>>;
  /** Honest inference servers' timeline scores, measured through the daemon; where they came from. */
  readonly timeline: { readonly calibration: number[]; readonly source: string } | null;
}

export interface ConformalVerdict {
  /** The nonconformity score of the window. */
  readonly score: number;
  /** Conformal p-value: (1 + calibration scores ≥ score) / (n + 1). */
  readonly p: number;
  /** Calibration windows behind p (p cannot go below 1 / (n + 1)). */
  readonly n: number;
}

/** Sorted ascending copy. */
function sorted(values: Iterable<number>): Float64Array {
  return Float64Array.from(values).sort();
}

/** (1 + #{c ≥ score}) / (n + 1) over ascending `calibration`. */
export function conformalP(calibration: Float64Array, score: number): number {
  let lo = 0;
  let hi = calibration.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((calibration[mid] ?? 0) < score) lo = mid + 1;
    else hi = mid;
  }
  return (1 + calibration.length - lo) / (calibration.length + 1);
}

export class ClaimModel {
  readonly madeBy: string;
  readonly #center: Float64Array;
  readonly #scale: Float64Array;
  readonly #passive: ReadonlyMap<WorkClass, PassiveClassModel>;
  readonly #timeline: { readonly calibration: Float64Array; readonly source: string } | null;

  private constructor(madeBy: string, center: Float64Array, scale: Float64Array, passive: ReadonlyMap<WorkClass, PassiveClassModel>, timeline: { calibration: Float64Array; source: string } | null) {
    this.madeBy = madeBy;
    this.#center = center;
    this.#scale = scale;
    this.#passive = passive;
    this.#timeline = timeline;
  }

  /**
   * Builds the model from honest windows of two runs per class (`reference`: the earlier,
   * `calibration`: the later; raw feature vectors), and honest servers' timeline scores.
   */
  static build(input: {
    readonly madeBy: string;
    readonly reference: ReadonlyMap<WorkClass, readonly Float64Array[]>;
    readonly calibration: ReadonlyMap<WorkClass, readonly Float64Array[]>;
    readonly timeline: { readonly scores: readonly number[]; readonly source: string } | null;
  }): ClaimModel {
    const all = [...input.reference.values()].flat();
    if (all.length === 0 && input.timeline === null) throw new InvalidArgumentError('a claim model needs reference windows or timeline scores');
    const width = FEATURE_NAMES.length;
    const center = new Float64Array(width);
    const scale = new Float64Array(width).fill(1);
    for (let f = 0; f < width; f++) {
      const column = sorted(all.map((w) => w[f] ?? 0));
      center[f] = column[Math.floor(column.length / 2)] ?? 0;
      // A robust spread (the interquartile range), so a few extreme windows do not squash the rest.
      const iqr = (column[Math.floor(0.75 * (column.length - 1))] ?? 0) - (column[Math.floor(0.25 * (column.length - 1))] ?? 0);
      let sd = 0;
      for (const v of column) sd += (v - (center[f] ?? 0)) ** 2;
      sd = Math.sqrt(sd / Math.max(1, column.length));
      scale[f] = iqr > 1e-9 ? iqr / 1.349 : sd > 1e-9 ? sd : 1;
    }
    const model = new ClaimModel(input.madeBy, center, scale, new Map(), null);
    const passive = new Map<WorkClass, PassiveClassModel>();
    for (const [cls, windows] of input.reference) {
      const first = windows.map((w) => model.#standardise(w));
      const later = (input.calibration.get(cls) ?? []).map((w) => model.#standardise(w));
      if (first.length < K_NEAREST || later.length < K_NEAREST) continue;
      // Both ways round (each run scored against the other), so a class with 60 windows a run has 120
      // calibration scores; the daemon scores against both runs together, which can only lower a
      // score: conservative, fewer honest windows rejected than α, not more.
      const scores = [...later.map((w) => knnScore(first, w)), ...first.map((w) => knnScore(later, w))];
      passive.set(cls, { reference: [...first, ...later], calibration: sorted(scores) });
    }
    const timeline = input.timeline === null || input.timeline.scores.length === 0 ? null : { calibration: sorted(input.timeline.scores), source: input.timeline.source };
    return new ClaimModel(input.madeBy, center, scale, passive, timeline);
  }

  static fromJSON(value: unknown): ClaimModel {
    const json = value as Partial<ClaimModelJson> | null;
    if (json === null || typeof json !== 'object' || json.format !== CLAIM_MODEL_FORMAT) {
      throw new InvalidArgumentError(`not a claim model (format ${JSON.stringify((json as { format?: unknown } | null)?.format ?? null)}, expected ${CLAIM_MODEL_FORMAT}); a closed-set forest from an older Maxwell is not one`);
    }
    const width = FEATURE_NAMES.length;
    if (!Array.isArray(json.features) || json.features.join() !== FEATURE_NAMES.join()) throw new InvalidArgumentError('its features are not the ones this Maxwell computes: make it again');
    const vector = (v: unknown, what: string): Float64Array => {
      if (!Array.isArray(v) || v.length !== width || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) throw new InvalidArgumentError(`${what}: expected ${String(width)} finite numbers`);
      return Float64Array.from(v as number[]);
    };
    const scores = (v: unknown, what: string): Float64Array => {
      if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) throw new InvalidArgumentError(`${what}: expected finite numbers`);
      return sorted(v as number[]);
    };
    const passive = new Map<WorkClass, PassiveClassModel>();
    const classes: Record<string, unknown> = typeof json.passive === 'object' ? json.passive : {};
    for (const [cls, value] of Object.entries(classes)) {
      const entry = value as { reference?: unknown; calibration?: unknown } | null;
      if (!(WORK_CLASSES as readonly string[]).includes(cls) || entry === null || typeof entry !== 'object') throw new InvalidArgumentError(`unknown work class ${JSON.stringify(cls)}`);
      const reference = (Array.isArray(entry.reference) ? (entry.reference as unknown[]) : []).map((w, i) => vector(w, `${cls} reference ${String(i)}`));
      if (reference.length < K_NEAREST) throw new InvalidArgumentError(`${cls}: fewer than ${String(K_NEAREST)} reference windows`);
      passive.set(cls as WorkClass, { reference, calibration: scores(entry.calibration, `${cls} calibration`) });
    }
    const line = json.timeline as { calibration?: unknown; source?: unknown } | null | undefined;
    const timeline = line === null || line === undefined ? null : { calibration: scores(line.calibration, 'timeline calibration'), source: typeof line.source === 'string' ? line.source : 'unknown' };
    return new ClaimModel(typeof json.madeBy === 'string' ? json.madeBy : 'unknown', vector(json.center, 'center'), vector(json.scale, 'scale'), passive, timeline);
  }

  toJSON(): ClaimModelJson {
    const round = (v: number): number => Number(v.toPrecision(6));
    const passive: Partial<Record<WorkClass, { reference: number[][]; calibration: number[] }>> = {};
    for (const [cls, m] of this.#passive) passive[cls] = { reference: m.reference.map((w) => Array.from(w, round)), calibration: Array.from(m.calibration, round) };
    return {
      format: CLAIM_MODEL_FORMAT,
      madeBy: this.madeBy,
      features: FEATURE_NAMES,
      center: Array.from(this.#center, round),
      scale: Array.from(this.#scale, round),
      passive,
      timeline: this.#timeline === null ? null : { calibration: Array.from(this.#timeline.calibration, round), source: this.#timeline.source },
    };
  }

  /** Classes with a passive reference. */
  get passiveClasses(): readonly WorkClass[] {
    return [...this.#passive.keys()];
  }

  /** Where the timeline calibration came from, or null when the model has none. */
  get timelineSource(): string | null {
    return this.#timeline?.source ?? null;
  }

  /** The passive verdict of one window's raw features against the claimed class; null when the model has no reference for it. */
  passive(claims: WorkClass, features: Float64Array): ConformalVerdict | null {
    const m = this.#passive.get(claims);
    if (m === undefined) return null;
    const score = knnScore(m.reference, this.#standardise(features));
    return { score, p: conformalP(m.calibration, score), n: m.calibration.length };
  }

  /** The timeline verdict of a score (timeline.ts); null when the model has no timeline calibration. */
  timeline(score: number): ConformalVerdict | null {
    if (this.#timeline === null) return null;
    return { score, p: conformalP(this.#timeline.calibration, score), n: this.#timeline.calibration.length };
  }

  #standardise(features: Float64Array): Float64Array {
    const out = new Float64Array(features.length);
    for (let f = 0; f < features.length; f++) {
      const z = ((features[f] ?? 0) - (this.#center[f] ?? 0)) / (this.#scale[f] ?? 1);
      // Clipped: one wild feature (a burst count over a near-empty window) must not decide alone.
      out[f] = Math.max(-50, Math.min(50, Number.isFinite(z) ? z : 0));
    }
    return out;
  }
}

/** Mean Euclidean distance to the K nearest reference windows. */
function knnScore(reference: readonly Float64Array[], x: Float64Array): number {
  const nearest: number[] = [];
  for (const r of reference) {
    let d = 0;
    for (let f = 0; f < x.length; f++) d += ((x[f] ?? 0) - (r[f] ?? 0)) ** 2;
    if (nearest.length < K_NEAREST) {
      nearest.push(d);
      nearest.sort((a, b) => a - b);
    } else if (d < (nearest[K_NEAREST - 1] ?? Infinity)) {
      nearest[K_NEAREST - 1] = d;
      nearest.sort((a, b) => a - b);
    }
  }
  return nearest.reduce((a, d) => a + Math.sqrt(d), 0) / Math.max(1, nearest.length);
}
