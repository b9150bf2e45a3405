/**
 * The daemon's view of heat, once per tick: per-core temperatures and package power, one PID
 * per core turning temperature error into how much of the core may be sold (its allowance),
 * and the pricing that turns temperatures into reserve prices — packed as the auction's offer.
 *
 * Where the figures come from (`source`, `energySource`, `temperatureSources`, docs/DAEMON.md):
 *
 * - Temperatures: *measured* per core where `sensorsRoot` has CPU temperature sensors
 *   (hwmon coretemp per core through the CPU topology, k10temp/zenpower or an x86_pkg_temp zone
 *   package-level; `sensor-temperatures.ts`), read at most every 100 ms. Every other core, and a
 *   covered core whose last sensor read was not trusted, gets the thermal twin's value for the
 *   tick; rejected reads are counted and `source` says so.
 * - The thermal twin always runs, driven by the *measured* per-core utilisation in /proc/stat:
 *   it is the fallback, and on machines without sensors (the development VMs) the only source.
 * - Package energy: *measured* from RAPL powercap package zones where present, else the twin's.
 *
 * The PID gains come from the twin's model of a core (τ, θ, and the gain R·ΣK²·ΔP), the same
 * derivation `maxwell calibrate` uses on identified parameters.
 */
import type { PlaneOffer } from '../market/engine.js';
import type { PricingParams } from '../market/pricing.js';
import { resolveTwinParams, type ThermalTwinParams } from '../physics/twin-params.js';
import type { WarningSink } from '../telemetry/health.js';
import { ProcStatReader } from '../telemetry/procfs/proc-stat.js';
import { PowercapRaplReader } from '../telemetry/sysfs/powercap.js';
import { procStatUtilisation } from '../telemetry/procfs/utilisation-source.js';
import { TwinTelemetryReader, type UtilisationSource } from '../telemetry/twin-reader.js';
import { SensorTemperatures } from '../telemetry/sensor-temperatures.js';
import { CoreOffer } from './core-offer.js';
import { agentUtilisation } from './agent-utilisation.js';
import { ForeignHeat, type ForeignHeatPolicy } from './foreign-heat.js';
import type { ManagedCpu } from '../runtimes/runtime.js';
import { readMachineCpu } from '../telemetry/procfs/machine-load.js';

export interface ThermalOptions {
  readonly twin: ThermalTwinParams;
  readonly setpointC: number;
  /** A core above this is not offered at all (the daemon's emergency path pauses its agents). */
  readonly criticalC: number;
  readonly rateHz: number;
  readonly pricing?: PricingParams;
  /** Price every core as if at ambient (the ablation's flat-price arm; core-offer.ts). @default false */
  readonly flatPrice?: boolean;
  /** Where /proc is (tests); @default '/' */
  readonly root?: string;
  /** Where /sys is searched for temperature and energy sensors (tests pass a captured tree); @default '/' */
  readonly sensorsRoot?: string;
  /** Seconds since an arbitrary origin, for the twin, sensor reads and power (tests pass a manual clock). @default performance.now */
  readonly now?: () => number;
  /** Receives the sensor readers' coded warnings (out of range, stuck, cannot open). @default ignored */
  readonly onWarning?: WarningSink;
  /**
   * What to do about heat from processes that are not agents (foreign-heat.ts), and where the
   * agents' CPU time is counted. Without it the controllers hold the setpoint against all heat.
   */
  readonly foreignHeat?: {
    readonly policy: ForeignHeatPolicy;
    readonly managedCpu: () => ManagedCpu | null;
    /** Maxwell's own cumulative CPU, s: its process and its helpers. @default this process's getrusage */
    readonly maxwellCpuS?: () => number;
  };
  /**
   * Drive the twin by the agents' own CPU time (`daemon.twinDrive: agents`, agent-utilisation.ts)
   * instead of /proc/stat. The twin then never sees foreign heat, so pass no `foreignHeat` with it.
   */
  readonly agentCpu?: () => ManagedCpu | null;
}

/** This process's CPU time so far, s. */
export function ownCpuS(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** How far below the critical temperature compensation for foreign heat may raise a setpoint, K. */
const FOREIGN_CEILING_MARGIN_K = 5;

/** Smoothing of the measured package power (RAPL counters tick at ≈ 1 kHz; a tick is 10 ms). */
const POWER_EMA = 0.2;

export interface ThermalTick {
  readonly temperaturesC: Float64Array;
  /** Per core, 1 where this tick's temperature was measured by a sensor, 0 where the twin gave it. */
  readonly measured: Uint8Array;
  readonly powerW: number;
  /** Package energy since start, J. */
  readonly energyJ: number;
  readonly allowance: Float64Array;
  readonly multipliers: Float64Array;
  /** Per core, J for a full quantum. */
  readonly reservePerQuantumJ: Float64Array;
  /** The cores on sale, best first. */
  readonly offer: PlaneOffer;
}

/** The twin's description, as every modelled figure says it. */
const TWIN = 'thermal twin driven by measured per-core utilisation from /proc/stat';
/** The same with `daemon.twinDrive: agents`. */
const AGENT_TWIN = "thermal twin driven by the measured CPU time of this daemon's agents (their cgroups)";

export class ThermalState {
  /** Where package energy and power come from. */
  readonly energySource: string;
  readonly energyMeasured: boolean;
  readonly cores: number;
  /** Per core, where its temperature comes from when its sensor reads trusted (`modelled: …` for cores without one). */
  readonly temperatureSources: readonly string[];
  /** Cores whose temperature a sensor measures (the others are modelled by the twin). */
  readonly measuredCores: number;
  /** The sensor family that measures them, e.g. `hwmon coretemp`; null without sensors. */
  readonly temperatureSensor: string | null;
  readonly #modelledSource: string;
  /** What drives the twin, in words (TWIN or AGENT_TWIN). */
  readonly #twinText: string;
  readonly #stat: ProcStatReader;
  readonly #twin: TwinTelemetryReader;
  readonly #sensors: SensorTemperatures | null;
  readonly #now: () => number;
  /** Per core, what `coreSource` says after a rejected read. */
  readonly #fallbackSources: readonly string[];
  #source = { rejected: -1, text: '' };
  readonly #rapl: PowercapRaplReader | null;
  readonly #packageChannels: ReadonlySet<string>;
  #lastEnergy = { joules: Number.NaN, atS: Number.NaN };
  #measuredPowerW = Number.NaN;
  /** Controllers, pricing and the offer order (pure; the research simulation uses the same). */
  readonly #offer: CoreOffer;
  /** Foreign load and the setpoints it leads to; null when not asked for. */
  readonly foreign: ForeignHeat | null;
  readonly #tick: ThermalTick;
  /** Whether `read` has run: before it the tick's arrays hold no prices yet. */
  #read = false;

  private constructor(
    options: ThermalOptions,
    parts: { stat: ProcStatReader; twin: TwinTelemetryReader; rapl: { reader: PowercapRaplReader; packages: string[] } | null; sensors: SensorTemperatures | null; now: () => number },
  ) {
    const params = resolveTwinParams(options.twin);
    const cores = params.cores;
    const { stat, twin, rapl, sensors } = parts;
    this.cores = cores;
    this.#stat = stat;
    this.#twin = twin;
    this.#sensors = sensors;
    this.#now = parts.now;
    const twinText = options.agentCpu === undefined ? TWIN : AGENT_TWIN;
    this.#twinText = twinText;
    this.#modelledSource = `modelled: ${twinText.replace('thermal twin', `thermal twin (${String(cores)} cores)`)}`;
    // Precomputed once (H3): the daemon asks per core when it explains a decision or a snapshot.
    const sensorNames = Array.from({ length: cores }, (_, c) => sensors?.sensorOf(c) ?? null);
    this.temperatureSources = sensorNames.map((name) => (name === null ? `modelled: ${twinText} (no sensor)` : `measured: ${name}`));
    this.#fallbackSources = sensorNames.map((name) => `modelled: ${twinText} (the last read of ${name ?? 'its sensor'} was not trusted)`);
    this.measuredCores = sensorNames.filter((n) => n !== null).length;
    this.temperatureSensor = sensors?.plan.family ?? null;
    this.#rapl = rapl?.reader ?? null;
    this.#packageChannels = new Set(rapl?.packages ?? []);
    this.energyMeasured = rapl !== null;
    this.energySource = rapl === null ? this.#modelledSource : `measured: RAPL powercap (${rapl.packages.map((p) => p.split('/').at(-1) ?? p).join(', ')})`;
    const coupling = params.coupling.slice(0, cores).map((row) => row.slice(0, cores));
    this.#offer = new CoreOffer({ twin: options.twin, setpointC: options.setpointC, criticalC: options.criticalC, rateHz: options.rateHz, flatPrice: options.flatPrice ?? false, ...(options.pricing === undefined ? {} : { pricing: options.pricing }) });
    const foreign = options.foreignHeat;
    const root = options.root ?? '/';
    this.foreign =
      foreign === undefined
        ? null
        : new ForeignHeat(cores, {
            policy: foreign.policy,
            setpointC: options.setpointC,
            ceilingC: Math.max(options.setpointC, options.criticalC - FOREIGN_CEILING_MARGIN_K),
            // The twin's steady state: core c rises R · K_cj · P_dynamic per unit of load on core j.
            riseK: coupling.map((row) => row.map((k) => params.coreResistanceKPerW * k * params.core.dynamicW)),
            managedCpu: foreign.managedCpu,
            readCpu: () => readMachineCpu(root),
            selfCpuS: foreign.maxwellCpuS ?? ownCpuS,
            now: parts.now,
          });
    this.#tick = {
      temperaturesC: new Float64Array(cores),
      measured: new Uint8Array(cores),
      powerW: 0,
      energyJ: 0,
      allowance: this.#offer.allowance,
      multipliers: this.#offer.multipliers,
      reservePerQuantumJ: this.#offer.reservePerQuantumJ,
      offer: { quality: new Float64Array(0), reserve: new Float64Array(0), unit: new Int32Array(0) },
    };
  }

  /**
   * What this node tells its fleet: the mean allowance as headroom, the mean reserve price and the
   * package power, from the last tick (full headroom, no price, no power before the first).
   */
  figures(): { readonly headroom: number; readonly meanPriceJ: number; readonly powerW: number } {
    if (!this.#read) return { headroom: 1, meanPriceJ: 0, powerW: 0 };
    const t = this.#tick;
    const mean = (v: Float64Array): number => (v.length === 0 ? 0 : v.reduce((a, b) => a + b, 0) / v.length);
    return { headroom: mean(t.allowance), meanPriceJ: mean(t.reservePerQuantumJ), powerW: t.powerW };
  }

  /** Multiplies every reserve price from the next tick on (the fleet's stress; 1: none). */
  setExternalPriceFactor(factor: number): void {
    this.#offer.setExternalFactor(factor);
  }

  static async start(options: ThermalOptions): Promise<ThermalState> {
    const now = options.now ?? (() => performance.now() / 1000);
    const stat = new ProcStatReader(options.root === undefined ? {} : { root: options.root });
    await stat.start();
    const cores = resolveTwinParams(options.twin).cores;
    const measured = options.agentCpu === undefined ? procStatUtilisation(stat) : agentUtilisation(options.agentCpu, cores, now);
    // The machine's mean utilisation, for the sensors' stuck check (a live sensor follows the load).
    let activity: number | undefined;
    const utilisation: UtilisationSource = {
      get description() {
        return measured.description;
      },
      sample() {
        const values = measured.sample();
        let sum = 0;
        for (let i = 0; i < values.length; i++) sum += values[i] ?? 0;
        activity = values.length > 0 ? sum / values.length : undefined;
        return values;
      },
    };
    const twin = new TwinTelemetryReader({ params: options.twin, stepS: 0.01, utilisation, now });
    await twin.start();
    const root = options.sensorsRoot ?? '/';
    const rapl = await startRapl(root, now);
    const sensors = await SensorTemperatures.start({
      root,
      cores,
      now,
      activity: () => activity,
      ...(options.onWarning === undefined ? {} : { onWarning: options.onWarning }),
    });
    return new ThermalState(options, { stat, twin, rapl, sensors, now });
  }

  /**
   * Where temperatures come from, in words: `modelled: thermal twin …` without sensors, else the
   * measured cores, the sensor family and mapping, the twin's cores, and rejected reads so far.
   */
  get source(): string {
    const sensors = this.#sensors;
    if (sensors === null) return this.#modelledSource;
    // Rebuilt only when a read was rejected since (it is read per decision and snapshot, not per tick).
    if (this.#source.rejected !== sensors.rejected) this.#source = { rejected: sensors.rejected, text: sensors.describe(this.#twinText) };
    return this.#source.text;
  }

  /** Sensor reads rejected so far (each made a core take the twin's value until the next read). */
  get temperatureFallbacks(): number {
    return this.#sensors?.rejected ?? 0;
  }

  /** Where core `core`'s temperature in the last tick came from, in words. */
  coreSource(core: number): string {
    // Unmeasured with rejected reads behind it: the last read failed (before the first read, nothing has).
    const fellBack = this.#tick.measured[core] === 0 && (this.#sensors?.rejectedOf(core) ?? 0) > 0;
    return (fellBack ? this.#fallbackSources[core] : this.temperatureSources[core]) ?? this.#modelledSource;
  }

  /** Samples, steps the controllers, prices every core and builds the offer (reusing its arrays). */
  read(): ThermalTick {
    const tick = this.#tick as { -readonly [K in keyof ThermalTick]: ThermalTick[K] };
    // The twin's values straight from its arrays: no readings, no channel names built and parsed.
    this.#twin.advance();
    const planes = this.#twin.temperatures;
    for (let core = 0; core < this.cores; core++) tick.temperaturesC[core] = planes[core] ?? Number.NaN;
    tick.powerW = this.#twin.packagePowerW();
    tick.energyJ = this.#twin.packageEnergyJ();
    const sensors = this.#sensors;
    if (sensors !== null) {
      sensors.refresh(this.#now());
      sensors.apply(tick.temperaturesC, tick.measured);
    }
    if (this.#rapl !== null) this.#measureEnergy(tick);
    if (this.foreign?.tick() === true) this.#offer.setSetpoints(this.foreign.setpointsC);
    tick.offer = this.#offer.update(tick.temperaturesC);
    this.#read = true;
    return tick;
  }

  /** Package energy from RAPL (every package zone summed) replaces the twin's; power is its smoothed rate. */
  #measureEnergy(tick: { energyJ: number; powerW: number }): void {
    let joules = 0;
    for (const r of this.#rapl?.sample() ?? []) if (this.#packageChannels.has(r.channel) && r.trusted) joules += r.value;
    const now = this.#now();
    const last = this.#lastEnergy;
    if (Number.isFinite(last.joules) && now > last.atS) {
      const watts = (joules - last.joules) / (now - last.atS);
      this.#measuredPowerW = Number.isFinite(this.#measuredPowerW) ? (1 - POWER_EMA) * this.#measuredPowerW + POWER_EMA * watts : watts;
    }
    tick.powerW = Number.isFinite(this.#measuredPowerW) ? this.#measuredPowerW : 0;
    tick.energyJ = joules;
    this.#lastEnergy = { joules, atS: now };
  }

  async stop(): Promise<void> {
    await this.#sensors?.stop();
    await this.#rapl?.stop();
    await this.#twin.stop();
    await this.#stat.stop();
  }
}

/** The RAPL package zones under `root`, started; null when there are none (or they cannot be read). */
async function startRapl(root: string, now: () => number): Promise<{ reader: PowercapRaplReader; packages: string[] } | null> {
  const reader = new PowercapRaplReader({ root, now });
  const probe = await reader.probe();
  if (probe.state !== 'present') return null;
  const packages = probe.channels.filter((c) => /\/package-\d+$/.test(c.id)).map((c) => c.id);
  if (packages.length === 0) return null;
  await reader.start();
  return { reader, packages };
}
