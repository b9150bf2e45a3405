/**
 * Starting and stopping the daemon's parts in one order (the `Startable` pattern of js-libp2p's
 * components): start in order, stop in reverse, each at most once. A part that fails to start
 * stops the ones already started; a part that fails to stop does not keep the rest from
 * stopping — the agents are stopped and the cgroups removed whatever else went wrong.
 */
import { toError } from '../errors.js';

export interface Startable {
  /** For error messages: which part failed. */
  readonly name: string;
  start(): Promise<void> | void;
  stop(): Promise<void> | void;
}

export class Lifecycle {
  readonly #parts: readonly Startable[];
  /** The parts started so far, in start order. */
  readonly #started: Startable[] = [];
  #starting: Promise<void> | null = null;
  #stopping: Promise<void> | null = null;

  constructor(parts: readonly Startable[]) {
    this.#parts = parts;
  }

  /** Names of the parts running now, in start order. */
  get running(): readonly string[] {
    return this.#started.map((p) => p.name);
  }

  /** Starts every part in order; on a failure, stops those started and rethrows. Idempotent. */
  start(): Promise<void> {
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    for (const part of this.#parts) {
      if (this.#stopping !== null) return;
      try {
        await part.start();
      } catch (err) {
        // The error is the part's own (its code says what failed); what started is undone.
        await this.#stopStarted().catch(() => undefined);
        throw err;
      }
      this.#started.push(part);
    }
  }

  /**
   * Stops the started parts in reverse order, every one of them even when some fail; rejects
   * with the first failure (all of them in `errors` when there were several). Idempotent.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    // A start still in progress finishes its current part first, so nothing is left half-made.
    await this.#starting?.catch(() => undefined);
    await this.#stopStarted();
  }

  async #stopStarted(): Promise<void> {
    const failures: Error[] = [];
    while (this.#started.length > 0) {
      const part = this.#started.pop() as Startable;
      try {
        await part.stop();
      } catch (err) {
        failures.push(new Error(`${part.name} failed to stop: ${toError(err).message}`, { cause: err }));
      }
    }
    if (failures.length === 1) throw failures[0] as Error;
    if (failures.length > 1) throw new AggregateError(failures, failures.map((f) => f.message).join('; '));
  }
}
