/**
 * Judges claimed work by its trace, in the daemon: each agent that claims a work class is
 * traced every tick (TraceRecorder: /proc, 100 Hz), and each full window of 1 s is classified
 * by the trained forest; the verdict goes to the session, whose rule flags an agent whose trace
 * keeps disagreeing with its claim (session.noteWorkClass). Without a trained classifier the
 * claims are recorded and not judged, and `describe()` says so.
 */
import { existsSync, readFileSync } from 'node:fs';
import { ClassifierLoadError, toError } from '../errors.js';
import type { MarketSession } from '../session/session.js';
import { WorkClassifier, type WorkClass } from '../verification/trace/classifier.js';
import { windowFeatures } from '../verification/trace/features.js';
import { TraceRecorder } from '../verification/trace/recorder.js';

/** Rows per judged window: 1 s at the daemon's 100 Hz (the classifier's training windows). */
export const VERIFY_WINDOW_ROWS = 100;

/** The classifier at `path`, or null when there is none; a file that is there but unusable is `MXW_ERR_CLASSIFIER_LOAD`. */
export function loadClassifier(path: string): WorkClassifier | null {
  if (!existsSync(path)) return null;
  try {
    return WorkClassifier.fromJSON(JSON.parse(readFileSync(path, 'utf8')) as Parameters<typeof WorkClassifier.fromJSON>[0]);
  } catch (err) {
    throw new ClassifierLoadError(`${path} is not a work-class classifier (${toError(err).message}): train one with \`maxwell research verification --model-out ${path}\``, { cause: err });
  }
}

export class WorkVerifier {
  readonly #classifier: WorkClassifier | null;
  readonly #source: string;
  readonly #session: MarketSession;
  readonly #recorders = new Map<string, TraceRecorder>();
  #classifyS = 0;
  #retiredTraceS = 0;

  constructor(options: { readonly classifier: WorkClassifier | null; readonly source: string; readonly session: MarketSession }) {
    this.#classifier = options.classifier;
    this.#source = options.source;
    this.#session = options.session;
  }

  /** Where verdicts come from, in words. */
  describe(): string {
    return this.#classifier === null ? `not judged: no classifier at ${this.#source} (train one: maxwell research verification --model-out ${this.#source})` : `random forest from ${this.#source} (classes: ${this.#classifier.classes.join(', ')})`;
  }

  watch(agentId: string, pid: number): void {
    if (this.#classifier !== null) this.#recorders.set(agentId, new TraceRecorder({ pid }));
  }

  forget(agentId: string): void {
    const recorder = this.#recorders.get(agentId);
    if (recorder === undefined) return;
    this.#retiredTraceS += recorder.costS;
    recorder.close();
    this.#recorders.delete(agentId);
  }

  /** One tick: a sample per traced agent; a verdict per full window. */
  tick(): void {
    const classifier = this.#classifier;
    if (classifier === null) return;
    for (const [agentId, recorder] of this.#recorders) {
      recorder.sample();
      if (recorder.trace.length < VERIFY_WINDOW_ROWS) continue;
      const started = process.cpuUsage();
      const features = windowFeatures(recorder.trace, recorder.trace.length - VERIFY_WINDOW_ROWS, VERIFY_WINDOW_ROWS);
      const observed: WorkClass = classifier.predict([features])[0] ?? 'stress';
      recorder.trace.keepLast(0);
      const spent = process.cpuUsage(started);
      this.#classifyS += (spent.user + spent.system) / 1e6;
      this.#session.noteWorkClass(agentId, observed, `1 s window, ${this.describe()}`);
    }
  }

  /** CPU spent tracing and classifying so far, s. */
  costS(): number {
    let trace = this.#retiredTraceS;
    for (const r of this.#recorders.values()) trace += r.costS;
    return trace + this.#classifyS;
  }

  close(): void {
    for (const id of [...this.#recorders.keys()]) this.forget(id);
  }
}
