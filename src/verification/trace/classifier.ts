/**
 * The work-class classifier: a random forest (ml-random-forest) over window features, and the
 * figures it is judged by — balanced accuracy, per-class precision and recall, the confusion
 * matrix — on windows it was not trained on.
 */
import { RandomForestClassifier } from 'ml-random-forest';
import { InvalidArgumentError } from '../../errors.js';
import { FEATURE_NAMES } from './features.js';

import { WORK_CLASSES, type WorkClass } from './classes.js';

export { WORK_CLASSES, type WorkClass } from './classes.js';

export interface LabelledWindow {
  readonly features: Float64Array;
  readonly label: WorkClass;
}

export interface ClassMetrics {
  readonly precision: number;
  readonly recall: number;
  readonly support: number;
}

export interface Evaluation {
  readonly windows: number;
  readonly balancedAccuracy: number;
  readonly accuracy: number;
  readonly perClass: Readonly<Partial<Record<WorkClass, ClassMetrics>>>;
  /** confusion[truth][predicted] = windows. */
  readonly confusion: Readonly<Partial<Record<WorkClass, Partial<Record<WorkClass, number>>>>>;
  /** Honest inference windows classified as something else. */
  readonly inferenceFalsePositiveRate: number;
}

export interface ForestOptions {
  readonly trees?: number;
  readonly seed?: number;
}

export class WorkClassifier {
  readonly classes: readonly WorkClass[];
  readonly #forest: RandomForestClassifier;

  private constructor(forest: RandomForestClassifier, classes: readonly WorkClass[]) {
    this.#forest = forest;
    this.classes = classes;
  }

  static train(windows: readonly LabelledWindow[], options: ForestOptions = {}): WorkClassifier {
    if (windows.length === 0) throw new InvalidArgumentError('nothing to train on');
    const classes = WORK_CLASSES.filter((c) => windows.some((w) => w.label === c));
    const forest = new RandomForestClassifier({
      nEstimators: options.trees ?? 60,
      maxFeatures: Math.max(2, Math.round(Math.sqrt(FEATURE_NAMES.length))),
      replacement: true,
      useSampleBagging: true,
      // Judged on later windows (the time split), not out of bag; OOB also fails on small sets.
      noOOB: true,
      seed: options.seed ?? 7,
    });
    forest.train(
      windows.map((w) => Array.from(w.features)),
      windows.map((w) => classes.indexOf(w.label)),
    );
    return new WorkClassifier(forest, classes);
  }

  static fromJSON(json: { classes: WorkClass[]; forest: unknown }): WorkClassifier {
    return new WorkClassifier(RandomForestClassifier.load(json.forest as Parameters<typeof RandomForestClassifier.load>[0]), json.classes);
  }

  toJSON(): { classes: readonly WorkClass[]; features: readonly string[]; forest: unknown } {
    return { classes: this.classes, features: FEATURE_NAMES, forest: this.#forest.toJSON() };
  }

  predict(features: readonly Float64Array[]): WorkClass[] {
    if (features.length === 0) return [];
    return this.#forest.predict(features.map((f) => Array.from(f))).map((i) => this.classes[i] ?? 'stress');
  }
}

export function evaluate(truth: readonly WorkClass[], predicted: readonly WorkClass[]): Evaluation {
  const confusion: Partial<Record<WorkClass, Partial<Record<WorkClass, number>>>> = {};
  for (let i = 0; i < truth.length; i++) {
    const t = truth[i] as WorkClass;
    const p = predicted[i] as WorkClass;
    const row = (confusion[t] ??= {});
    row[p] = (row[p] ?? 0) + 1;
  }
  const perClass: Partial<Record<WorkClass, ClassMetrics>> = {};
  const recalls: number[] = [];
  for (const c of WORK_CLASSES) {
    const support = truth.filter((t) => t === c).length;
    const predictedAs = predicted.filter((p) => p === c).length;
    const hits = truth.filter((t, i) => t === c && predicted[i] === c).length;
    if (support === 0 && predictedAs === 0) continue;
    const recall = support === 0 ? Number.NaN : hits / support;
    perClass[c] = { precision: predictedAs === 0 ? Number.NaN : hits / predictedAs, recall, support };
    if (support > 0) recalls.push(recall);
  }
  const correct = truth.filter((t, i) => predicted[i] === t).length;
  const inference = truth.filter((t) => t === 'inference').length;
  const inferenceMissed = truth.filter((t, i) => t === 'inference' && predicted[i] !== 'inference').length;
  return {
    windows: truth.length,
    balancedAccuracy: recalls.length === 0 ? Number.NaN : recalls.reduce((a, b) => a + b, 0) / recalls.length,
    accuracy: truth.length === 0 ? Number.NaN : correct / truth.length,
    perClass,
    confusion,
    inferenceFalsePositiveRate: inference === 0 ? Number.NaN : inferenceMissed / inference,
  };
}
