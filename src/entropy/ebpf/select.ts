/**
 * Which entropy source Maxwell uses, chosen automatically and reported with the reason:
 *
 * 1. `ebpf`: the libbpf loader and its ring buffer (measured, every erase, ≈ 1 µs each);
 * 2. `bpftrace`: when the loader cannot run but bpftrace can (measured; text, slower, loses
 *    events at high rates);
 * 3. `estimated`: the /proc estimate (no root, no BTF, lockdown), built by a factory the caller
 *    passes in, so this module does not depend on how that estimate is made.
 *
 * The chosen source is wrapped in a {@link FallbackEntropySource}: when the measured source dies
 * (the loader crashed or was killed, bpftrace exited), Maxwell keeps running on the estimate,
 * the agents being watched are handed over, and the provenance says so.
 */
import { toError } from '../../errors.js';
import type { EntropyProvenance, EntropySource, EraseEvent, WatchedAgent } from '../../market/entropy.js';
import { BpftraceEntropySource, type BpftraceSourceOptions } from './bpftrace-source.js';
import { EbpfEntropySource, type EbpfSourceOptions } from './ebpf-source.js';
import { DEFAULT_LOADER_PATH, bpftraceBlocker, ebpfBlocker } from './paths.js';

export type EntropyBackend = 'ebpf' | 'bpftrace' | 'estimated';
export const ENTROPY_BACKENDS: readonly EntropyBackend[] = ['ebpf', 'bpftrace', 'estimated'];

export interface EntropySelectionOptions {
  /** Builds the /proc-estimated source (src/entropy/proc-estimate.ts); used when nothing measured works. */
  readonly estimated: () => EntropySource;
  /** Backends to try, in order. @default ['ebpf', 'bpftrace', 'estimated'] */
  readonly order?: readonly EntropyBackend[];
  readonly ebpf?: Omit<EbpfSourceOptions, 'onFailure'>;
  readonly bpftrace?: Omit<BpftraceSourceOptions, 'onFailure'>;
  /** Checks, replaceable in tests. */
  readonly checks?: {
    readonly ebpf?: () => string | undefined;
    readonly bpftrace?: () => string | undefined;
  };
  /** Told when a measured source dies and the estimate takes over. */
  readonly onFallback?: (from: EntropyBackend, error: Error) => void;
}

export interface EntropySelection {
  readonly source: FallbackEntropySource;
  readonly backend: EntropyBackend;
  /** Why this backend: the reasons each earlier one was passed over, then what was chosen. */
  readonly reason: string;
  readonly skipped: readonly { readonly backend: EntropyBackend; readonly why: string }[];
}

/**
 * An entropy source that survives its measured source: on failure it switches to the estimate
 * and re-watches every agent there.
 */
export class FallbackEntropySource implements EntropySource {
  #active: EntropySource;
  #backend: EntropyBackend;
  readonly #estimated: () => EntropySource;
  readonly #agents = new Map<string, WatchedAgent>();
  readonly #onFallback: ((from: EntropyBackend, error: Error) => void) | undefined;
  #fellBack: { from: EntropyBackend; why: string; lostBefore: number } | undefined;
  #carried: readonly EraseEvent[] = [];
  #closing: Promise<void> | undefined;
  #failedHelperCpuS = 0;

  /**
   * There only when the source chosen at the start can watch cgroups, since callers ask for
   * it by its presence (the daemon then watches an agent before its first instruction). Once
   * fallen back to the estimate, which follows pids only, it does nothing: the agent's pid
   * watch still follows it after start.
   */
  readonly watchCgroups?: (agentId: string, cgroupDirs: readonly string[]) => Promise<void>;

  constructor(active: EntropySource, backend: EntropyBackend, estimated: () => EntropySource, onFallback?: (from: EntropyBackend, error: Error) => void) {
    this.#active = active;
    this.#backend = backend;
    this.#estimated = estimated;
    this.#onFallback = onFallback;
    if (active.watchCgroups !== undefined) {
      this.watchCgroups = async (agentId, cgroupDirs) => { await this.#active.watchCgroups?.(agentId, cgroupDirs); };
    }
  }

  /** The backend in use now. */
  get backend(): EntropyBackend {
    return this.#backend;
  }

  /** The source in use now (for its own counters). */
  get active(): EntropySource {
    return this.#active;
  }

  provenance(): EntropyProvenance {
    const p = this.#active.provenance();
    if (this.#fellBack === undefined) return p;
    return {
      source: `${p.source} (fallback: the ${this.#fellBack.from} source stopped: ${this.#fellBack.why})`,
      quality: p.quality,
      lostEvents: p.lostEvents + this.#fellBack.lostBefore,
    };
  }

  watch(agent: WatchedAgent): void {
    this.#agents.set(agent.agentId, agent);
    this.#active.watch(agent);
  }

  unwatch(agentId: string): void {
    this.#agents.delete(agentId);
    this.#active.unwatch(agentId);
  }

  drain(): readonly EraseEvent[] {
    const now = this.#active.drain();
    if (this.#carried.length === 0) return now;
    const out = [...this.#carried, ...now];
    this.#carried = [];
    return out;
  }

  /** Switches to the estimate; called by the measured source's failure hook. */
  fallBack(error: Error): void {
    if (this.#backend === 'estimated' || this.#closing !== undefined) return;
    const failed = this.#active;
    const from = this.#backend;
    this.#failedHelperCpuS += failed.helperCpuS?.() ?? 0;
    // What the dead source delivered before it died is still real: hand it on at the next drain.
    this.#carried = failed.drain();
    this.#fellBack = { from, why: error.message, lostBefore: failed.provenance().lostEvents };
    let next: EntropySource;
    try {
      next = this.#estimated();
    } catch (err) {
      this.#fellBack = { from, why: `${error.message}; and the estimate failed too: ${toError(err).message}`, lostBefore: this.#fellBack.lostBefore };
      return;
    }
    this.#active = next;
    this.#backend = 'estimated';
    for (const agent of this.#agents.values()) next.watch(agent);
    void failed.close().catch(() => undefined);
    this.#onFallback?.(from, error);
  }

  /** Helper CPU of the source in use and of the one it fell back from. */
  helperCpuS(): number {
    return this.#failedHelperCpuS + (this.#active.helperCpuS?.() ?? 0);
  }

  close(): Promise<void> {
    this.#closing ??= this.#active.close();
    return this.#closing;
  }
}

/** Picks the best entropy source this machine offers and says why. Never throws for a missing feature. */
export async function selectEntropySource(options: EntropySelectionOptions): Promise<EntropySelection> {
  const order = options.order ?? ENTROPY_BACKENDS;
  const skipped: { backend: EntropyBackend; why: string }[] = [];
  let wrapper: FallbackEntropySource | undefined;
  const onFailure = (error: Error): void => { wrapper?.fallBack(error); };
  const chosen = (source: EntropySource, backend: EntropyBackend, why: string): EntropySelection => {
    wrapper = new FallbackEntropySource(source, backend, options.estimated, options.onFallback);
    const passed = skipped.map((s) => `${s.backend}: ${s.why}`).join('; ');
    return { source: wrapper, backend, reason: passed === '' ? why : `${why} (passed over: ${passed})`, skipped };
  };
  for (const backend of order) {
    if (backend === 'ebpf') {
      const blocker = (options.checks?.ebpf ?? (() => ebpfBlocker(options.ebpf?.loaderPath ?? DEFAULT_LOADER_PATH)))();
      if (blocker !== undefined) {
        skipped.push({ backend, why: blocker });
        continue;
      }
      try {
        const source = await EbpfEntropySource.start({ ...options.ebpf, onFailure });
        return chosen(source, backend, `eBPF ring buffer attached (loader pid ${source.loaderPid})`);
      } catch (err) {
        skipped.push({ backend, why: toError(err).message });
      }
    } else if (backend === 'bpftrace') {
      const blocker = (options.checks?.bpftrace ?? (() => bpftraceBlocker(options.bpftrace?.bpftracePath)))();
      if (blocker !== undefined) {
        skipped.push({ backend, why: blocker });
        continue;
      }
      const why = skipped.some((s) => s.backend === 'ebpf') ? 'bpftrace present (the libbpf loader is not usable)' : 'bpftrace present';
      return chosen(new BpftraceEntropySource({ ...options.bpftrace, onFailure }), backend, why);
    } else {
      return chosen(options.estimated(), backend, 'no measured source: erasure is estimated from /proc');
    }
  }
  // Every backend in `order` was passed over: the estimate is the floor, always.
  return chosen(options.estimated(), 'estimated', 'no measured source: erasure is estimated from /proc');
}
