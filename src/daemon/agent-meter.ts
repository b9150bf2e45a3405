/**
 * Per-agent CPU and energy for the operator (the `/metrics` endpoint): every second each live
 * agent's CPU time (its cgroup, from the runtime) and the machine's busy CPU time (/proc/stat)
 * over the same window split that window's package energy by CPU share (`attributeTick`, as the
 * experiment does). An agent's energy is therefore as measured or as modelled as the package
 * energy it is a share of, and `provenance` says which.
 */
import type { AgentId } from '../agent-id.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentUsage } from '../runtimes/runtime.js';
import { attributeTick } from '../telemetry/attribution.js';
import { createCpuTicks, parseProcStat, USER_HZ } from '../telemetry/procfs/proc-stat.js';

export interface AgentMeterReading {
  readonly agentId: AgentId;
  /** CPU time since start, s (its last reading once it ended). */
  readonly cpuS: number;
  /** Where the CPU time came from, e.g. `cgroup v1 cpuacct.usage`. */
  readonly cpuSource: string;
  /** Its share of the package energy since start, J. */
  readonly energyJ: number;
}

export interface AgentMeterOptions {
  readonly usage: (agentId: AgentId) => Promise<AgentUsage>;
  /** Agents whose CPU is read now (live ones; an ended agent keeps its last reading). */
  readonly liveIds: () => readonly AgentId[];
  /** Package energy since start, J. */
  readonly packageEnergyJ: () => number;
  /** Where the package energy comes from, in words. */
  readonly energySource: () => string;
  /** Root for /proc (tests). @default '/' */
  readonly root?: string;
}

interface Meter {
  cpuS: number;
  cpuSource: string;
  energyJ: number;
}

/** Busy CPU time of the whole machine since boot, s (all but idle and iowait, from /proc/stat). */
export function machineBusyS(root = '/'): number {
  const bytes = readFileSync(join(root, 'proc/stat'));
  const ticks = createCpuTicks(0);
  parseProcStat(bytes, bytes.length, ticks);
  return (ticks.busy[0] ?? 0) / USER_HZ;
}

export class AgentMeter {
  readonly #options: AgentMeterOptions;
  readonly #meters = new Map<AgentId, Meter>();
  #last: { busyS: number; energyJ: number } | null = null;
  #sampling = false;
  #failures = 0;

  constructor(options: AgentMeterOptions) {
    this.#options = options;
  }

  /** Reads every live agent and attributes the energy since the last sample; overlapping calls are skipped. */
  async sample(): Promise<void> {
    if (this.#sampling) return;
    this.#sampling = true;
    try {
      const ids = this.#options.liveIds();
      const usages = await Promise.all(ids.map((id) => this.#options.usage(id).then((u) => u, () => null)));
      const busyS = machineBusyS(this.#options.root);
      const energyJ = this.#options.packageEnergyJ();
      const deltas = new Map<string, number>();
      ids.forEach((id, i) => {
        const usage = usages[i];
        if (usage === null || usage === undefined || !Number.isFinite(usage.cpuS)) return;
        const meter = this.#meters.get(id) ?? { cpuS: 0, cpuSource: usage.cpuSource, energyJ: 0 };
        deltas.set(id, Math.max(0, usage.cpuS - meter.cpuS));
        meter.cpuS = Math.max(meter.cpuS, usage.cpuS);
        meter.cpuSource = usage.cpuSource;
        this.#meters.set(id, meter);
      });
      const last = this.#last;
      this.#last = { busyS, energyJ };
      if (last === null) return;
      const split = attributeTick({
        packageEnergyJ: Math.max(0, energyJ - last.energyJ),
        idlePowerW: 0,
        dtS: 1,
        agentCpuS: deltas,
        totalCpuS: Math.max(0, busyS - last.busyS),
        provenance: { kind: 'modelled', source: 'model', sensor: 'cpu-share attribution', windowS: 1, errorBound: 0 },
      });
      for (const [id, meter] of this.#meters) {
        const joules = split.perAgentJ.get(id);
        if (joules !== undefined) meter.energyJ += joules;
      }
    } catch {
      // A failed read loses one window's split, never the daemon; the count is shown.
      this.#failures++;
    } finally {
      this.#sampling = false;
    }
  }

  /** Drops an ended agent's meter (the daemon keeps a bounded number of ended agents). */
  forget(id: AgentId): void {
    this.#meters.delete(id);
  }

  readings(): AgentMeterReading[] {
    return [...this.#meters].map(([agentId, m]) => ({ agentId, cpuS: m.cpuS, cpuSource: m.cpuSource, energyJ: m.energyJ }));
  }

  /** How the energy was split, in words (names the package energy's own source). */
  get provenance(): string {
    return `package energy (${this.#options.energySource()}) split each second by the agent's CPU share of the machine's busy CPU time (/proc/stat)`;
  }

  /** Samples that failed (a window's split lost). */
  get failures(): number {
    return this.#failures;
  }
}
