/**
 * Per-agent energy, each tick: the package's energy above its idle baseline (the dynamic
 * energy) is split by CPU-time share; idle energy and the dynamic energy of work that is no
 * agent's (the kernel, Maxwell itself, other processes) stay in their own accounts, never
 * silently spread over the agents.
 *
 *     dynamic = max(0, E_package − P_idle · Δt)
 *     agent a: dynamic · cpu_a / cpu_total        "other": dynamic · (cpu_total − Σ cpu_a) / cpu_total
 *
 * `cpu_total` is all CPU time used on the machine in the tick (from /proc/stat), so agents
 * pay only for their own share. Conservation: Σ agents + other + idle = E_package whenever
 * the package used at least its idle energy (the excess idle estimate, if any, is reported
 * as `idleShortfallJ`).
 */
import { InvalidArgumentError } from '../errors.js';
import type { ReadingProvenance } from './reader.js';

export interface TickEnergy {
  /** Package energy used in the tick, J. */
  readonly packageEnergyJ: number;
  /** Idle (baseline) package power during the tick, W. */
  readonly idlePowerW: number;
  readonly dtS: number;
  /** CPU seconds each agent used in the tick. */
  readonly agentCpuS: ReadonlyMap<string, number>;
  /** CPU seconds used on the whole machine in the tick (≥ the agents' sum; raised to it if lower). */
  readonly totalCpuS: number;
  /** CPU seconds Maxwell's own process used in the tick (part of the rest, kept apart from it). @default 0 */
  readonly maxwellCpuS?: number;
  /** ReadingProvenance of the package energy (carried into each share). */
  readonly provenance: ReadingProvenance;
}

export interface TickAttribution {
  readonly perAgentJ: ReadonlyMap<string, number>;
  readonly idleJ: number;
  /** Dynamic energy of CPU time that belongs to no agent (= maxwellJ + unmanagedJ). */
  readonly otherJ: number;
  /** The part of `otherJ` for Maxwell's own CPU time. */
  readonly maxwellJ: number;
  /** The part of `otherJ` for everything else: other processes and the kernel ("unmanaged"). */
  readonly unmanagedJ: number;
  /** Idle estimate above what the package used (measurement noise); not charged to anyone. */
  readonly idleShortfallJ: number;
  readonly provenance: ReadingProvenance;
}

/** Splits one tick's package energy. Throws `MXW_ERR_INVALID_ARG` for negative or non-finite inputs. */
export function attributeTick(input: TickEnergy): TickAttribution {
  const { packageEnergyJ, idlePowerW, dtS, agentCpuS, provenance } = input;
  for (const [name, v] of [['packageEnergyJ', packageEnergyJ], ['idlePowerW', idlePowerW], ['dtS', dtS], ['totalCpuS', input.totalCpuS]] as const) {
    if (!Number.isFinite(v) || v < 0) throw new InvalidArgumentError(`invalid ${name}: ${String(v)}`);
  }
  let agentsCpu = 0;
  for (const [agent, cpu] of agentCpuS) {
    if (!Number.isFinite(cpu) || cpu < 0) throw new InvalidArgumentError(`invalid CPU time for agent ${agent}: ${String(cpu)}`);
    agentsCpu += cpu;
  }
  const idleBudget = idlePowerW * dtS;
  const idleJ = Math.min(idleBudget, packageEnergyJ);
  const dynamicJ = packageEnergyJ - idleJ;
  const totalCpu = Math.max(input.totalCpuS, agentsCpu);
  const perAgentJ = new Map<string, number>();
  let charged = 0;
  for (const [agent, cpu] of agentCpuS) {
    // Share first, then energy: tiny CPU times must not underflow to a zero product.
    const j = totalCpu > 0 ? dynamicJ * (cpu / totalCpu) : 0;
    perAgentJ.set(agent, j);
    charged += j;
  }
  // What is left is, by construction, exactly what no agent used: conservation holds.
  const otherJ = Math.max(0, dynamicJ - charged);
  const maxwellCpu = input.maxwellCpuS ?? 0;
  if (!Number.isFinite(maxwellCpu) || maxwellCpu < 0) throw new InvalidArgumentError(`invalid maxwellCpuS: ${String(maxwellCpu)}`);
  const otherCpu = totalCpu - agentsCpu;
  const maxwellJ = otherCpu > 0 ? otherJ * Math.min(1, maxwellCpu / otherCpu) : 0;
  return { perAgentJ, idleJ, otherJ, maxwellJ, unmanagedJ: otherJ - maxwellJ, idleShortfallJ: idleBudget - idleJ, provenance };
}

/**
 * Accumulates ticks and splits them over a window. Per-tick splitting is biased when CPU
 * time is counted in whole 10 ms ticks (as /proc/PID/stat does): a share that shows 0 in
 * one tick and 10 ms in the next shifts energy to agents that always show 10 ms. On the
 * twin's busy/bursty/idle mix, per-tick splitting charged the busy agent 23 % too much;
 * over one-second windows the error is below 1 %.
 */
export class WindowedAttributor {
  readonly #windowS: number;
  #packageJ = 0;
  #idleJ = 0;
  #dtS = 0;
  #totalCpuS = 0;
  #agentCpuS = new Map<string, number>();
  #provenance: ReadingProvenance | undefined;

  /** @param windowS attribution window, s. @default 1 */
  constructor(windowS = 1) {
    if (!(windowS > 0)) throw new InvalidArgumentError(`invalid windowS: ${String(windowS)}`);
    this.#windowS = windowS;
  }

  /** Adds a tick; returns the window's attribution when the window is complete, else undefined. */
  add(input: TickEnergy): TickAttribution | undefined {
    attributeTick(input); // validates
    this.#packageJ += input.packageEnergyJ;
    this.#idleJ += input.idlePowerW * input.dtS;
    this.#dtS += input.dtS;
    this.#totalCpuS += input.totalCpuS;
    for (const [agent, cpu] of input.agentCpuS) this.#agentCpuS.set(agent, (this.#agentCpuS.get(agent) ?? 0) + cpu);
    this.#provenance = input.provenance;
    return this.#dtS >= this.#windowS - 1e-9 ? this.flush() : undefined;
  }

  /** Splits whatever has accumulated (e.g. at shutdown) and starts a new window. */
  flush(): TickAttribution | undefined {
    if (this.#provenance === undefined || this.#dtS === 0) return undefined;
    const result = attributeTick({
      packageEnergyJ: this.#packageJ,
      idlePowerW: this.#idleJ / this.#dtS,
      dtS: this.#dtS,
      agentCpuS: this.#agentCpuS,
      totalCpuS: this.#totalCpuS,
      provenance: { ...this.#provenance, windowS: this.#dtS },
    });
    this.#packageJ = 0;
    this.#idleJ = 0;
    this.#dtS = 0;
    this.#totalCpuS = 0;
    this.#agentCpuS = new Map();
    return result;
  }

  /** Package energy in the open window (not yet attributed), J. */
  get pendingJ(): number {
    return this.#packageJ;
  }
}

/** Running per-agent totals over many windows. */
export class EnergyLedgerAccumulator {
  readonly #perAgent = new Map<string, number>();
  #idleJ = 0;
  #otherJ = 0;
  #packageJ = 0;

  add(tick: TickAttribution, packageEnergyJ: number): void {
    for (const [agent, j] of tick.perAgentJ) this.#perAgent.set(agent, (this.#perAgent.get(agent) ?? 0) + j);
    this.#idleJ += tick.idleJ;
    this.#otherJ += tick.otherJ;
    this.#packageJ += packageEnergyJ;
  }

  agentJ(agent: string): number {
    return this.#perAgent.get(agent) ?? 0;
  }

  get idleJ(): number {
    return this.#idleJ;
  }

  get otherJ(): number {
    return this.#otherJ;
  }

  get packageJ(): number {
    return this.#packageJ;
  }

  /** Σ agents + other + idle − package: zero up to rounding when energy is conserved. */
  conservationErrorJ(): number {
    let sum = this.#idleJ + this.#otherJ;
    for (const j of this.#perAgent.values()) sum += j;
    return sum - this.#packageJ;
  }
}
