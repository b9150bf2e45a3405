/**
 * The twin driven by this daemon's own agents instead of the whole machine (`daemon.twinDrive:
 * agents`). Several daemons on one machine (the fleet experiment's network namespaces) would
 * otherwise each model the heat of every process on it: with /proc/stat, a node whose agents
 * are all paused still heats up from its neighbours' work. From the agents' parent cgroups
 * (cpuacct.usage_percpu), each daemon models only the work it sold.
 */
import type { ManagedCpu } from '../runtimes/runtime.js';
import type { UtilisationSource } from '../telemetry/twin-reader.js';

/** Re-read the cgroup counters at most this often (the twin's time constant is about a second). */
export const AGENT_UTILISATION_EVERY_S = 0.1;

/**
 * Per-core utilisation of the agents since the previous read: Δ per-CPU cgroup time ÷ Δ wall
 * time, clamped to [0, 1]. Where the counter has no per-CPU split (cgroup2 `cpu.stat`), the
 * total is spread evenly over the cores and the description says so. Before the runtimes count
 * anything (or after a read fails) it reports zeros: no agent has run.
 */
export function agentUtilisation(managedCpu: () => ManagedCpu | null, cores: number, now: () => number): UtilisationSource {
  const values = new Float64Array(cores);
  const last = new Float64Array(cores);
  let lastS = Number.NaN;
  let perCpu: boolean | null = null;
  const read = (out: Float64Array): boolean => {
    const cpu = managedCpu();
    if (cpu === null) return false;
    if (cpu.perCpuS !== null) {
      perCpu = true;
      for (let c = 0; c < cores; c++) out[c] = cpu.perCpuS[c] ?? 0;
    } else {
      perCpu = false;
      out.fill(cpu.totalS / cores);
    }
    return true;
  };
  const scratch = new Float64Array(cores);
  const source: UtilisationSource = {
    get description(): string {
      return perCpu === false
        ? "measured CPU time of this daemon's agents (cgroup2 cpu.stat, spread evenly over the cores)"
        : "measured per-core CPU time of this daemon's agents (cgroup cpuacct.usage_percpu)";
    },
    sample(): ArrayLike<number> {
      const t = now();
      if (Number.isFinite(lastS) && t - lastS < AGENT_UTILISATION_EVERY_S) return values;
      if (!read(scratch)) {
        values.fill(0);
        lastS = Number.NaN;
        return values;
      }
      if (Number.isFinite(lastS) && t > lastS) {
        for (let c = 0; c < cores; c++) values[c] = Math.min(1, Math.max(0, ((scratch[c] ?? 0) - (last[c] ?? 0)) / (t - lastS)));
      }
      last.set(scratch);
      lastS = t;
      return values;
    },
  };
  return source;
}
