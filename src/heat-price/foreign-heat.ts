/**
 * Heat the daemon does not control. The die (and the twin, which models it) is warmed by every
 * process, not only by agents: a neighbour using a quarter of a core raises the temperature the
 * PIDs hold, and a controller that holds its setpoint regardless answers by selling fewer quanta
 * — starving the agents for heat they did not make, while the neighbour's heat stays.
 *
 * Policy `sell-remaining` (the default): the controllers hold the setpoint against the agents'
 * heat only. Ten times a second the foreign share of each core is measured — /proc/stat busy
 * time less the agents' cgroup CPU time (cpuacct.usage_percpu) less the daemon's own, which
 * stays the daemon's to answer for — and each core's setpoint is raised by the steady-state rise
 * that foreign load causes (R · Σ_j K_cj · P_dynamic · f_j), up to a ceiling below the critical
 * temperature. The emergency path is unchanged: a core above critical is still paused at once.
 * Policy `hold-setpoint`: the setpoint stays; foreign heat is answered by selling less.
 *
 * docs/DAEMON.md has the measurements behind the choice.
 */
import type { ManagedCpu } from '../runtimes/runtime.js';
import type { MachineCpu } from '../telemetry/procfs/machine-load.js';

export const FOREIGN_HEAT_POLICIES = ['sell-remaining', 'hold-setpoint'] as const;
export type ForeignHeatPolicy = (typeof FOREIGN_HEAT_POLICIES)[number];

/** Ticks between measurements (10 Hz at the daemon's 100 Hz): /proc/stat counts in 10 ms jiffies. */
export const FOREIGN_EVERY_TICKS = 10;
/** Smoothing of the measured foreign share per window (≈ 0.5 s time constant at 10 Hz). */
const FOREIGN_EMA = 0.2;

export interface ForeignHeatOptions {
  readonly policy: ForeignHeatPolicy;
  readonly setpointC: number;
  /** Highest setpoint compensation may reach, °C (below the critical temperature). */
  readonly ceilingC: number;
  /** Steady-state rise of core c per unit of utilisation on core j, K: rise[c][j]. */
  readonly riseK: readonly (readonly number[])[];
  /** The agents' cumulative CPU time (their runtimes' parent cgroups). */
  readonly managedCpu: () => ManagedCpu | null;
  readonly readCpu: () => MachineCpu;
  /** The daemon process's cumulative CPU time, s. */
  readonly selfCpuS: () => number;
  /** Seconds, monotonic. */
  readonly now: () => number;
}

/**
 * Foreign utilisation per core over a window: the busy time no agent used, less the daemon's
 * own time (spread over the cores in proportion to that residual), as a share of the window.
 * Writes `out`; returns the machine's total foreign share (mean over cores).
 */
export function foreignUtilisation(
  busyS: ArrayLike<number>,
  managedS: ArrayLike<number> | null,
  selfS: number,
  dtS: number,
  out: Float64Array,
): number {
  let residual = 0;
  for (let c = 0; c < out.length; c++) {
    const r = Math.max(0, (busyS[c] ?? 0) - (managedS?.[c] ?? 0));
    out[c] = r;
    residual += r;
  }
  const keep = residual > 0 ? Math.max(0, residual - selfS) / residual : 0;
  let total = 0;
  for (let c = 0; c < out.length; c++) {
    const f = dtS > 0 ? Math.min(1, ((out[c] ?? 0) * keep) / dtS) : 0;
    out[c] = f;
    total += f;
  }
  return out.length > 0 ? total / out.length : 0;
}

export class ForeignHeat {
  readonly policy: ForeignHeatPolicy;
  /** Smoothed foreign share of each core (0–1), measured. */
  readonly utilisation: Float64Array;
  /** The setpoint each core's controller holds now, °C. */
  readonly setpointsC: Float64Array;
  readonly #options: ForeignHeatOptions;
  readonly #window: Float64Array;
  readonly #busy: Float64Array;
  readonly #managed: Float64Array;
  /** The previous reading (cumulative), kept in place. */
  readonly #lastBusy: Float64Array;
  readonly #lastManaged: Float64Array;
  #lastSelfS = Number.NaN;
  #lastAtS = Number.NaN;
  #ticks = 0;
  #measured = false;

  constructor(cores: number, options: ForeignHeatOptions) {
    this.policy = options.policy;
    this.#options = options;
    this.utilisation = new Float64Array(cores);
    this.setpointsC = new Float64Array(cores).fill(options.setpointC);
    this.#window = new Float64Array(cores);
    this.#busy = new Float64Array(cores);
    this.#managed = new Float64Array(cores);
    this.#lastBusy = new Float64Array(cores);
    this.#lastManaged = new Float64Array(cores);
  }

  /** Whether foreign load has been measured at least once (false where it cannot be: no per-CPU counter). */
  get measured(): boolean {
    return this.#measured;
  }

  /** Machine-wide foreign share (mean over cores), smoothed. */
  get share(): number {
    let sum = 0;
    for (const u of this.utilisation) sum += u;
    return this.utilisation.length > 0 ? sum / this.utilisation.length : 0;
  }

  /** Call once per tick; every FOREIGN_EVERY_TICKS it measures and returns true when the setpoints were updated. */
  tick(): boolean {
    if (++this.#ticks % FOREIGN_EVERY_TICKS !== 0) return false;
    const o = this.#options;
    const cpu = o.readCpu();
    const managed = o.managedCpu();
    const selfS = o.selfCpuS();
    const atS = o.now();
    const perCpu = managed?.perCpuS ?? null;
    const first = Number.isNaN(this.#lastAtS);
    const cores = this.utilisation.length;
    for (let c = 0; c < cores; c++) {
      const busy = cpu.perCpuBusyS[c] ?? 0;
      const agents = perCpu?.[c] ?? 0;
      this.#busy[c] = busy - (this.#lastBusy[c] ?? 0);
      this.#managed[c] = agents - (this.#lastManaged[c] ?? 0);
      this.#lastBusy[c] = busy;
      this.#lastManaged[c] = agents;
    }
    const dtS = atS - this.#lastAtS;
    const selfDeltaS = selfS - this.#lastSelfS;
    this.#lastAtS = atS;
    this.#lastSelfS = selfS;
    // Without a per-CPU agent counter the residual would count the agents as foreign: measure nothing.
    if (first || perCpu === null) return false;
    foreignUtilisation(this.#busy, this.#managed, selfDeltaS, dtS, this.#window);
    for (let c = 0; c < cores; c++) {
      const u = this.utilisation[c] ?? 0;
      this.utilisation[c] = this.#measured ? u + FOREIGN_EMA * ((this.#window[c] ?? 0) - u) : (this.#window[c] ?? 0);
    }
    this.#measured = true;
    if (this.policy === 'hold-setpoint') return false;
    for (let c = 0; c < cores; c++) {
      let rise = 0;
      const row = o.riseK[c] ?? [];
      for (let j = 0; j < cores; j++) rise += (row[j] ?? 0) * (this.utilisation[j] ?? 0);
      this.setpointsC[c] = Math.min(o.ceilingC, o.setpointC + rise);
    }
    return true;
  }
}
