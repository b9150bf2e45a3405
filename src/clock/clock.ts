/**
 * Time as an injected dependency.
 *
 * Everything that reads time or waits takes a {@link Clock}. Production code gets
 * {@link createMonotonicClock}; tests get {@link ManualClock} and move time by hand,
 * so no test sleeps for real to test timing.
 */
import { AbortedError, ClockBackwardsError, InvalidArgumentError } from '../errors.js';
import type { Seconds } from '../units/units.js';

/** Options accepted by every asynchronous operation. */
export interface AbortOptions {
  signal?: AbortSignal;
}

/** A monotonic time source that can also wait. */
export interface Clock {
  /** Monotonic time since an arbitrary origin, in seconds. Never goes backwards. */
  now(): Seconds;
  /** Resolves after `duration` seconds of this clock's time; rejects with `MXW_ERR_ABORTED` on abort. */
  sleep(duration: Seconds, options?: AbortOptions): Promise<void>;
}

function abortReason(signal: AbortSignal): Error {
  return new AbortedError('operation aborted', { cause: signal.reason });
}

/** The real clock: `performance.now()` (monotonic) and timers. */
export function createMonotonicClock(): Clock {
  return {
    now: () => (performance.now() / 1000) as Seconds,
    sleep: (duration, options = {}) =>
      new Promise<void>((resolve, reject) => {
        const { signal } = options;
        if (signal?.aborted === true) {
          reject(abortReason(signal));
          return;
        }
        const onAbort = (): void => {
          clearTimeout(timer);
          if (signal !== undefined) reject(abortReason(signal));
        };
        const timer = setTimeout(() => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        }, duration * 1000);
        signal?.addEventListener('abort', onAbort, { once: true });
      }),
  };
}

interface Sleeper {
  readonly wakeAt: number;
  readonly resolve: () => void;
}

/**
 * A clock that moves only when told to. Sleepers wake, in order of their wake
 * time, when {@link ManualClock.advance} passes it.
 * @example
 * const clock = new ManualClock()
 * const done = clock.sleep(seconds(1))
 * clock.advance(seconds(1)) // `done` resolves
 */
export class ManualClock implements Clock {
  #now: number;
  #sleepers: Sleeper[] = [];

  constructor(start = 0) {
    if (!Number.isFinite(start)) throw new InvalidArgumentError(`invalid start: ${String(start)}`);
    this.#now = start;
  }

  now(): Seconds {
    return this.#now as Seconds;
  }

  /** Number of sleepers still waiting. */
  get pending(): number {
    return this.#sleepers.length;
  }

  sleep(duration: Seconds, options: AbortOptions = {}): Promise<void> {
    const { signal } = options;
    if (signal?.aborted === true) return Promise.reject(abortReason(signal));
    return new Promise<void>((resolve, reject) => {
      const sleeper: Sleeper = {
        wakeAt: this.#now + duration,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        this.#sleepers = this.#sleepers.filter((s) => s !== sleeper);
        if (signal !== undefined) reject(abortReason(signal));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#sleepers.push(sleeper);
    });
  }

  /** Moves time forward by `duration` and wakes every sleeper that is due. */
  advance(duration: Seconds): void {
    if (!(duration >= 0)) throw new ClockBackwardsError(`cannot advance a clock by ${String(duration)} s`);
    this.#now += duration;
    if (this.#sleepers.length === 0) return;
    const due = this.#sleepers.filter((s) => s.wakeAt <= this.#now).sort((a, b) => a.wakeAt - b.wakeAt);
    this.#sleepers = this.#sleepers.filter((s) => s.wakeAt > this.#now);
    for (const sleeper of due) sleeper.resolve();
  }
}
