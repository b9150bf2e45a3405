/**
 * Work that repeats every so often (migration checks, helper restarts, slow reads), as one
 * `Startable`: a run is scheduled only after the previous one has finished, so runs never
 * overlap however slow one is; `stop` aborts the run in flight (its signal) and resolves once it
 * has ended, so nothing the task touches is used after its owner stopped. A run that throws is
 * reported and the task goes on. Timers are unref'd: a repeating task never keeps the process alive.
 */
import { toError } from '../errors.js';

export interface RepeatingTaskOptions {
  /** For error messages and the lifecycle's list of running parts. */
  readonly name: string;
  /** Time from the end of one run to the start of the next, ms. */
  readonly everyMs: number;
  /** One run; `signal` aborts when the task stops. */
  readonly run: (signal: AbortSignal) => Promise<void> | void;
  /** A run that threw; the task goes on. @default ignored */
  readonly onError?: (error: Error) => void;
  /** Run once at start rather than after the first interval. @default false */
  readonly runAtStart?: boolean;
}

export class RepeatingTask {
  readonly name: string;
  readonly #options: RepeatingTaskOptions;
  #timer: NodeJS.Timeout | null = null;
  #controller: AbortController | null = null;
  #inFlight: Promise<void> | null = null;
  #runs = 0;

  constructor(options: RepeatingTaskOptions) {
    if (!(options.everyMs > 0) || !Number.isFinite(options.everyMs)) throw new RangeError(`${options.name}: everyMs must be a positive number of milliseconds, not ${String(options.everyMs)}`);
    this.name = options.name;
    this.#options = options;
  }

  /** Runs completed or failed so far. */
  get runs(): number {
    return this.#runs;
  }

  get running(): boolean {
    return this.#controller !== null;
  }

  start(): void {
    if (this.#controller !== null) return;
    this.#controller = new AbortController();
    if (this.#options.runAtStart === true) this.#fire();
    else this.#schedule(this.#controller);
  }

  /** Stops scheduling, aborts the run in flight and resolves once it has ended. Idempotent. */
  async stop(): Promise<void> {
    const controller = this.#controller;
    if (controller === null) return;
    this.#controller = null;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    controller.abort();
    await this.#inFlight;
  }

  /** Schedules the next run of the start that made `controller`, unless the task has stopped (or restarted) since. */
  #schedule(controller: AbortController): void {
    if (this.#controller !== controller) return;
    this.#timer = setTimeout(() => { this.#fire(); }, this.#options.everyMs);
    this.#timer.unref();
  }

  #fire(): void {
    this.#timer = null;
    const controller = this.#controller;
    if (controller === null) return;
    this.#inFlight = (async () => {
      try {
        await this.#options.run(controller.signal);
      } catch (err) {
        if (!controller.signal.aborted) this.#options.onError?.(toError(err));
      } finally {
        this.#runs++;
        this.#inFlight = null;
      }
      this.#schedule(controller);
    })();
  }
}
