/**
 * Where erase events come from (docs/DESIGN.md §1.4). The Landauer tax is charged on bytes an agent
 * erases; an `EntropySource` reports them. Sources differ in how they know: the eBPF ring buffer
 * sees every munmap/madvise (`measured`), a /proc poller infers erasure from resident-set drops
 * (`estimated`). Every charge carries its source's provenance so the ledger can say which.
 */

/** One erase event: an agent released `bytes` of memory. */
export interface EraseEvent {
  /** The agent Maxwell charges (resolved by the source from pid or cgroup). */
  readonly agentId: string;
  /** Process that erased, when known (0 when the source works per agent). */
  readonly pid: number;
  readonly bytes: number;
  /** Why the bytes went away, e.g. `munmap`, `madvise-dontneed`, `rss-drop`. */
  readonly kind: string;
  /** Monotonic time of the event, ms (the source's clock). */
  readonly atMs: number;
}

export type EntropyQuality = 'measured' | 'estimated';

/** What a source is and how far to trust it. */
export interface EntropyProvenance {
  /** e.g. `ebpf ring buffer (sys_enter_munmap, sys_enter_madvise)` or `/proc/PID/status VmRSS drops`. */
  readonly source: string;
  readonly quality: EntropyQuality;
  /** Events the source knows it lost (ring-buffer drops, unreadable /proc files). */
  readonly lostEvents: number;
}

/** An agent to watch: its main pid and, where the runtime made them, its cgroup directories. */
export interface WatchedAgent {
  readonly agentId: string;
  readonly pid: number;
  /**
   * The agent's cgroup directories (absolute paths), when it has them. Sources that filter by
   * cgroup (eBPF: `bpf_get_current_cgroup_id()` is the inode number of the cgroup2 directory,
   * or of a v1 directory with `bpf_get_current_ancestor_cgroup_id` unavailable) use them;
   * others follow `pid` and its descendants.
   */
  readonly cgroupDirs?: readonly string[];
}

/**
 * A stream of erase events for the agents being watched. The daemon calls `watch` as agents
 * start and `unwatch` as they end, and `drain` once per tick.
 */
export interface EntropySource {
  provenance(): EntropyProvenance;
  /** Starts attributing erasure by the agent's processes to it. */
  watch(agent: WatchedAgent): void;
  /**
   * Starts attributing erasure in these cgroups to the agent before any of its processes exist,
   * resolving once that is in effect. Sources that can only follow pids do not have it.
   */
  watchCgroups?(agentId: string, cgroupDirs: readonly string[]): Promise<void>;
  unwatch(agentId: string): void;
  /** Everything seen since the last drain, oldest first. Never throws for a vanished process. */
  drain(): readonly EraseEvent[];
  /**
   * CPU seconds used so far by the helper processes this source runs (the eBPF loader,
   * bpftrace), ended ones included: Maxwell's own cost, not an agent's and not foreign load.
   * Sources without helper processes leave it out.
   */
  helperCpuS?(): number;
  close(): Promise<void>;
}

/** What `drain` returns when nothing was erased (shared, so an idle tick builds nothing). */
export const NO_EVENTS: readonly EraseEvent[] = Object.freeze([]);

/** Sums drained events per agent, bytes. */
export function erasedBytesByAgent(events: readonly EraseEvent[]): Map<string, number> {
  const totals = new Map<string, number>();
  for (const event of events) totals.set(event.agentId, (totals.get(event.agentId) ?? 0) + event.bytes);
  return totals;
}
