/**
 * The thermal twin as a telemetry source, for machines without thermal or energy sensors:
 * the twin is driven by the machine's *measured* per-core utilisation and gives core,
 * GPU and chassis temperatures, package power and energy — all marked *modelled*.
 *
 * The error bound of a modelled figure is unbounded (Infinity, shown as "unbounded"): the
 * twin has not been calibrated against a real sensor on this machine, so nothing bounds how
 * far it is from the truth.
 */
import { ReaderNotStartedError, SensorsUnavailableError } from '../errors.js';
import { ThermalTwin } from '../physics/thermal-twin.js';
import type { ThermalTwinParams } from '../physics/twin-params.js';
import type { ChannelInfo, ProbeResult, ReadingProvenance, ReadingQuantity, Reading, TelemetryReader } from './reader.js';

/** Where the twin's utilisation comes from: per-core values in [0, 1], one per twin core. */
export interface UtilisationSource {
  /** Describes the source for provenance, e.g. "/proc/stat". */
  readonly description: string;
  /** Per-core utilisation since the previous call; `undefined` entries keep the last value. */
  sample(): ArrayLike<number>;
}

export interface TwinReaderOptions {
  readonly params: ThermalTwinParams;
  readonly stepS: number;
  readonly utilisation: UtilisationSource;
  /** Seconds since an arbitrary origin. @default performance.now */
  readonly now?: () => number;
}

const MODEL: Omit<ReadingProvenance, 'sensor' | 'windowS'> = { kind: 'modelled', source: 'model', errorBound: Number.POSITIVE_INFINITY };

export class TwinTelemetryReader implements TelemetryReader {
  readonly name = 'thermal-twin';
  readonly source = 'model' as const;
  readonly #options: TwinReaderOptions;
  readonly #now: () => number;
  #twin: ThermalTwin | null = null;
  #startS = 0;
  #stepsDone = 0;
  #lastS = 0;
  #temperatures = new Float64Array(0);
  #utilisation = new Float64Array(0);

  constructor(options: TwinReaderOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => performance.now() / 1000);
  }

  /** The twin being driven (for attribution and tests); `null` before start. */
  get twin(): ThermalTwin | null {
    return this.#twin;
  }

  #sensor(): string {
    return `thermal twin driven by ${this.#options.utilisation.description}`;
  }

  #channels(twin: ThermalTwin): ChannelInfo[] {
    const channel = (id: string, quantity: ReadingQuantity, description: string): ChannelInfo => ({
      id,
      quantity,
      description: `${description} (modelled)`,
      resolution: quantity === 'temperature' ? Math.max(twin.params.sensor.quantumC, 0.001) : 0.001,
      updateHz: 1 / twin.stepS,
      provenance: { ...MODEL, sensor: this.#sensor(), windowS: 0 },
    });
    return [
      ...twin.planes.map((p) => channel(`twin/${p.name}/temperature`, 'temperature', `${p.name} temperature`)),
      channel('twin/package/power', 'power', 'CPU package power'),
      channel('twin/package/energy', 'energy', 'CPU package energy, cumulative'),
      channel('twin/package/idle-power', 'power', 'CPU package idle power (idle + leakage at current temperatures)'),
    ];
  }

  probe(): Promise<ProbeResult> {
    try {
      const twin = new ThermalTwin(this.#options.params, this.#options.stepS);
      return Promise.resolve({ state: 'present', channels: this.#channels(twin) });
    } catch (err) {
      return Promise.resolve({ state: 'absent', reason: `the twin's parameters are invalid: ${String(err)}` });
    }
  }

  async start(): Promise<void> {
    if (this.#twin !== null) return;
    const probe = await this.probe();
    if (probe.state !== 'present') throw new SensorsUnavailableError(`thermal twin: ${probe.reason}`);
    const twin = new ThermalTwin(this.#options.params, this.#options.stepS);
    this.#twin = twin;
    this.#temperatures = new Float64Array(twin.planes.length);
    this.#utilisation = new Float64Array(twin.sourceCount);
    this.#startS = this.#now();
    this.#lastS = this.#startS;
    this.#stepsDone = 0;
  }

  /**
   * The 100 Hz path: drives the twin up to now and reads its sensors, building no readings.
   * After it, `temperatures` (per plane: the cores first, then the GPU, then the chassis),
   * `packagePowerW()` and `packageEnergyJ()` hold this step's values.
   */
  advance(): void {
    const twin = this.#twin;
    if (twin === null) throw new ReaderNotStartedError(`${this.name}: advance() before start()`);
    this.#advance(twin);
  }

  /** Per plane, °C, as of the last `advance` or `sample` (reused). */
  get temperatures(): Float64Array {
    return this.#temperatures;
  }

  packagePowerW(): number {
    return this.#twin?.packagePower() ?? Number.NaN;
  }

  /** Energy of every core since start, J. */
  packageEnergyJ(): number {
    const twin = this.#twin;
    if (twin === null) return Number.NaN;
    let energy = 0;
    for (let i = 0; i < twin.coreCount; i++) energy += twin.sourceEnergy(i);
    return energy;
  }

  /** Returns the window since the previous step, s. */
  #advance(twin: ThermalTwin): number {
    const measured = this.#options.utilisation.sample();
    for (let i = 0; i < twin.coreCount; i++) {
      const u = measured[i];
      if (u !== undefined && Number.isFinite(u)) this.#utilisation[i] = u;
    }
    twin.setUtilisations(this.#utilisation);
    // Keep simulated time in step with real time, in whole twin steps.
    const now = this.#now();
    const target = Math.floor((now - this.#startS) / twin.stepS);
    for (; this.#stepsDone < target; this.#stepsDone++) twin.step();
    const windowS = now - this.#lastS;
    this.#lastS = now;
    twin.readSensors(this.#temperatures);
    return windowS;
  }

  sample(): readonly Reading[] {
    const twin = this.#twin;
    if (twin === null) throw new ReaderNotStartedError(`${this.name}: sample() before start()`);
    const windowS = this.#advance(twin);
    const provenance: ReadingProvenance = { ...MODEL, sensor: this.#sensor(), windowS };
    const readings: Reading[] = twin.planes.map((p) => ({
      channel: `twin/${p.name}/temperature`,
      quantity: 'temperature',
      value: this.#temperatures[p.index] ?? Number.NaN,
      trusted: true,
      provenance,
    }));
    const energy = this.packageEnergyJ();
    readings.push(
      { channel: 'twin/package/power', quantity: 'power', value: twin.packagePower(), trusted: true, provenance },
      { channel: 'twin/package/energy', quantity: 'energy', value: energy, trusted: true, provenance },
      { channel: 'twin/package/idle-power', quantity: 'power', value: twin.packageIdlePower(), trusted: true, provenance },
    );
    return readings;
  }

  stop(): Promise<void> {
    this.#twin = null;
    return Promise.resolve();
  }
}
