/**
 * The thermal twin: a deterministic simulator of a machine's thermal planes.
 *
 * Planes are the N cores, the optional GPU and the chassis. Each is first order with
 * dead time,
 *
 *     τ_i · dx_i/dt = −x_i + q_i(t − θ_i),     T_i = T_ambient + x_i
 *
 * where the heat input of a core or the GPU is `q_i = R_i · Σ_j K_ij · P_j` (sources
 * coupled by K) and the chassis sees all power, `q = R_c · Σ_j P_j`. Power of a source is
 * `idle + dynamic · utilisation + leakage(T)`, leakage doubling every `leakageDoublingK`.
 *
 * Stepping is exact for the linear part: over a step the input is held (zero-order hold)
 * and the delay, which need not be a whole number of steps, is split into whole steps d
 * and a fraction f. With a = e^(−Δt/τ) and c = e^(−(1−f)Δt/τ):
 *
 *     x[k+1] = a·x[k] + (c − a)·q[k−d−1] + (1 − c)·q[k−d]
 *
 * (the older input acts for f·Δt, the newer for the rest of the step). Leakage is the
 * only non-linear term and is evaluated at the start of each step.
 *
 * Simplification: the chassis is its own plane and does not raise the cores' reference
 * temperature, so each plane's step response is exactly first order plus dead time apart
 * from leakage (docs/ARCHITECTURE.md, "Thermal twin").
 */
import { InvalidArgumentError } from '../errors.js';
import { SeededRandom } from '../internal/seeded-random.js';
import { createWasmMatVec, type DenseMatVec } from './dense-matvec.js';
import { resolveTwinParams, type ResolvedTwinParams, type ThermalTwinParams } from './twin-params.js';

/** What a plane is. */
export type PlaneKind = 'core' | 'gpu' | 'chassis';

/** One plane of the twin. */
export interface PlaneInfo {
  readonly index: number;
  readonly name: string;
  readonly kind: PlaneKind;
  readonly tauS: number;
  readonly deadTimeS: number;
  readonly resistanceKPerW: number;
}

const LEAKAGE_REFERENCE_C = 25;
const FIXED_POINT_ITERATIONS = 200;

/**
 * A stepped simulation of the machine's thermal planes. Sources (cores, then the GPU)
 * take a utilisation in [0, 1]; planes give temperatures, true or as a sensor reads them.
 * @example
 * const twin = new ThermalTwin(DEFAULT_TWIN_PARAMS, 0.01)
 * twin.setUtilisation(0, 1)
 * twin.advance(5)
 * twin.trueTemperature(0) // °C, modelled
 */
export class ThermalTwin {
  /** Validated parameters with derived values. */
  readonly params: ResolvedTwinParams;
  /** The simulation step, seconds. */
  readonly stepS: number;
  /** Cores, then the GPU if present, then the chassis. */
  readonly planes: readonly PlaneInfo[];
  /** Number of heat sources (cores, then the GPU). */
  readonly sourceCount: number;
  /** Number of cores. */
  readonly coreCount: number;

  readonly #planeCount: number;
  readonly #ambient: number;
  // Per plane.
  readonly #x: Float64Array;
  readonly #a: Float64Array;
  readonly #bOld: Float64Array;
  readonly #bNew: Float64Array;
  readonly #lag: Int32Array;
  // Per source.
  readonly #utilisation: Float64Array;
  readonly #power: Float64Array;
  readonly #energy: Float64Array;
  readonly #idle: Float64Array;
  readonly #dynamic: Float64Array;
  readonly #leak0: Float64Array;
  readonly #leakRate: Float64Array;
  /** Computes R_i·Σ_j K_ij·P_j; its input vector *is* the power vector. */
  readonly #coupling: DenseMatVec;
  readonly #chassisR: number;
  /** Ring of past heat inputs, one row of `planeCount` per step; length a power of two. */
  readonly #history: Float64Array;
  readonly #historyMask: number;
  #head = 0;
  #steps = 0;
  readonly #random: SeededRandom;
  readonly #noise: Float64Array;

  constructor(params: ThermalTwinParams, stepS: number) {
    if (!Number.isFinite(stepS) || stepS <= 0 || stepS > 10) {
      throw new InvalidArgumentError(`invalid stepS: must be in (0, 10] s, got ${String(stepS)}`);
    }
    this.params = resolveTwinParams(params);
    this.stepS = stepS;
    const p = this.params;
    this.coreCount = p.cores;
    this.sourceCount = p.sources;
    this.#planeCount = p.sources + 1;
    this.#ambient = p.ambientC;

    const planes: PlaneInfo[] = [];
    for (let i = 0; i < p.cores; i++) {
      planes.push({ index: i, name: `core${i}`, kind: 'core', tauS: p.core.tauS, deadTimeS: p.core.deadTimeS, resistanceKPerW: p.coreResistanceKPerW });
    }
    if (p.gpu) {
      planes.push({ index: p.cores, name: 'gpu', kind: 'gpu', tauS: p.gpuPlane.tauS, deadTimeS: p.gpuPlane.deadTimeS, resistanceKPerW: p.gpuResistanceKPerW });
    }
    planes.push({ index: p.sources, name: 'chassis', kind: 'chassis', tauS: p.chassis.tauS, deadTimeS: p.chassis.deadTimeS, resistanceKPerW: p.chassisResistanceKPerW });
    this.planes = planes;

    const n = this.#planeCount;
    this.#x = new Float64Array(n);
    this.#a = new Float64Array(n);
    this.#bOld = new Float64Array(n);
    this.#bNew = new Float64Array(n);
    this.#lag = new Int32Array(n);
    this.#noise = new Float64Array(n);
    let maxLag = 0;
    for (const plane of planes) {
      const delaySteps = plane.deadTimeS / stepS;
      // Guard against 0.3/0.1 = 2.9999999999999996 turning a whole delay into a fraction.
      const whole = Math.floor(delaySteps + 1e-9);
      const frac = Math.max(0, delaySteps - whole);
      const a = Math.exp(-stepS / plane.tauS);
      const c = Math.exp(-((1 - frac) * stepS) / plane.tauS);
      this.#a[plane.index] = a;
      this.#bOld[plane.index] = c - a;
      this.#bNew[plane.index] = 1 - c;
      this.#lag[plane.index] = whole;
      maxLag = Math.max(maxLag, whole + 1);
    }
    let size = 1;
    while (size < maxLag + 1) size *= 2;
    this.#history = new Float64Array(size * n);
    this.#historyMask = size - 1;

    const s = p.sources;
    const rk = new Float64Array(s * s);
    this.#utilisation = new Float64Array(s);
    this.#energy = new Float64Array(s);
    this.#idle = new Float64Array(s);
    this.#dynamic = new Float64Array(s);
    this.#leak0 = new Float64Array(s);
    this.#leakRate = new Float64Array(s);
    for (let i = 0; i < s; i++) {
      const model = i < p.cores ? p.core : p.gpuPlane;
      this.#idle[i] = model.idleW;
      this.#dynamic[i] = model.dynamicW;
      this.#leak0[i] = model.leakageW;
      this.#leakRate[i] = Math.LN2 / model.leakageDoublingK;
      const r = planes[i]?.resistanceKPerW ?? 0;
      const row = p.coupling[i] ?? [];
      for (let j = 0; j < s; j++) rk[i * s + j] = r * (row[j] ?? 0);
    }
    this.#coupling = createWasmMatVec(rk, s, s);
    this.#power = this.#coupling.input;
    this.#chassisR = p.chassisResistanceKPerW;
    this.#random = new SeededRandom(p.seed);
    this.reset();
  }

  /** Simulated time since the last reset, seconds. */
  get timeS(): number {
    return this.#steps * this.stepS;
  }

  /**
   * Returns to the idle steady state (all utilisations 0, temperatures settled, time 0,
   * energy counters 0). The noise stream continues, so repeated experiments see fresh
   * noise; a new twin with the same seed repeats a run bit for bit.
   */
  reset(): void {
    this.#utilisation.fill(0);
    this.#energy.fill(0);
    this.#steps = 0;
    this.settle();
  }

  /**
   * Jumps to the steady state for the current utilisations (solving the leakage
   * feedback by fixed-point iteration) and fills the delay lines with it.
   */
  settle(): void {
    this.#x.fill(0);
    for (let iteration = 0; iteration < FIXED_POINT_ITERATIONS; iteration++) {
      this.#computeInputs(this.#x, 0, this.#computePowers(0));
    }
    this.#computeInputs(this.#history, 0, this.#computePowers(0));
    const n = this.#planeCount;
    for (let k = 1; k <= this.#historyMask; k++) this.#history.copyWithin(k * n, 0, n);
    this.#head = 0;
  }

  /** Sets the utilisation of one source (cores, then the GPU), clamped to [0, 1]. */
  setUtilisation(source: number, utilisation: number): void {
    if (!Number.isInteger(source) || source < 0 || source >= this.sourceCount) {
      throw new InvalidArgumentError(`invalid source: ${String(source)} (twin has ${this.sourceCount})`);
    }
    if (Number.isNaN(utilisation)) throw new InvalidArgumentError(`invalid utilisation for source ${source}: NaN`);
    this.#utilisation[source] = Math.min(1, Math.max(0, utilisation));
  }

  /**
   * Sets every source's utilisation from `values` (one per source, cores then the GPU),
   * clamped to [0, 1]; NaN counts as 0. For control loops that set all of them each step.
   */
  setUtilisations(values: ArrayLike<number>): void {
    if (values.length !== this.sourceCount) {
      throw new InvalidArgumentError(`expected ${this.sourceCount} utilisations, got ${values.length}`);
    }
    const utilisation = this.#utilisation;
    for (let j = 0; j < values.length; j++) {
      const v = values[j] ?? 0;
      // Written so that NaN fails both comparisons and lands on 0.
      utilisation[j] = v > 0 ? (v < 1 ? v : 1) : 0;
    }
  }

  /** Utilisation of a source. */
  utilisation(source: number): number {
    return this.#utilisation[source] ?? 0;
  }

  /** Advances the simulation by one step. */
  step(): void {
    const totalPower = this.#computePowers(this.stepS);
    const n = this.#planeCount;
    const mask = this.#historyMask;
    const head = (this.#head + 1) & mask;
    this.#head = head;
    const history = this.#history;
    this.#computeInputs(history, head * n, totalPower);

    const x = this.#x;
    const lags = this.#lag;
    const a = this.#a;
    const bOld = this.#bOld;
    const bNew = this.#bNew;
    for (let i = 0; i < n; i++) {
      const lag = lags[i] ?? 0;
      const newer = history[((head - lag) & mask) * n + i] ?? 0;
      const older = history[((head - lag - 1) & mask) * n + i] ?? 0;
      x[i] = (a[i] ?? 0) * (x[i] ?? 0) + (bOld[i] ?? 0) * older + (bNew[i] ?? 0) * newer;
    }
    this.#steps++;
  }

  /** Advances by whole steps covering `durationS` (rounded to the nearest step). */
  advance(durationS: number): void {
    const steps = Math.round(durationS / this.stepS);
    for (let k = 0; k < steps; k++) this.step();
  }

  /** The true (modelled, noise-free) temperature of a plane, °C. */
  trueTemperature(plane: number): number {
    return this.#ambient + (this.#x[plane] ?? Number.NaN);
  }

  /** Writes every plane's true temperature into `out`. */
  trueTemperatures(out: Float64Array): void {
    for (let i = 0; i < this.#planeCount; i++) out[i] = this.#ambient + (this.#x[i] ?? 0);
  }

  /** Writes every plane's temperature as its sensor reads it (noise, then quantisation). */
  readSensors(out: Float64Array): void {
    const { noiseC, quantumC } = this.params.sensor;
    const x = this.#x;
    const ambient = this.#ambient;
    const n = this.#planeCount;
    const noise = this.#noise;
    if (noiseC > 0) this.#random.fillNormal(noise, n);
    else noise.fill(0);
    if (quantumC > 0) {
      const perQuantum = 1 / quantumC;
      for (let i = 0; i < n; i++) out[i] = Math.round((ambient + (x[i] ?? 0) + noiseC * (noise[i] ?? 0)) * perQuantum) * quantumC;
    } else {
      for (let i = 0; i < n; i++) out[i] = ambient + (x[i] ?? 0) + noiseC * (noise[i] ?? 0);
    }
  }

  /** Power of a source over the last step (modelled), W. */
  sourcePower(source: number): number {
    return this.#power[source] ?? Number.NaN;
  }

  /** CPU package power: the sum of the cores' power (modelled), W. */
  packagePower(): number {
    let total = 0;
    for (let i = 0; i < this.coreCount; i++) total += this.#power[i] ?? 0;
    return total;
  }

  /**
   * What the CPU package would draw idle at its current temperatures: idle power plus
   * leakage (modelled), W. Attribution keeps this in its own account.
   */
  packageIdlePower(): number {
    const offset = this.#ambient - LEAKAGE_REFERENCE_C;
    let total = 0;
    for (let i = 0; i < this.coreCount; i++) {
      total += (this.#idle[i] ?? 0) + (this.#leak0[i] ?? 0) * Math.exp((this.#leakRate[i] ?? 0) * ((this.#x[i] ?? 0) + offset));
    }
    return total;
  }

  /** Energy a source has used since the last reset (modelled), J. */
  sourceEnergy(source: number): number {
    return this.#energy[source] ?? Number.NaN;
  }

  /**
   * Sets every source's power for the coming step from its utilisation and temperature,
   * adds `energyStepS` worth of it to the energy counters, and returns the total.
   */
  #computePowers(energyStepS: number): number {
    const x = this.#x;
    const offset = this.#ambient - LEAKAGE_REFERENCE_C;
    const power = this.#power;
    const energy = this.#energy;
    const idle = this.#idle;
    const dynamic = this.#dynamic;
    const utilisation = this.#utilisation;
    const leak0 = this.#leak0;
    const leakRate = this.#leakRate;
    let total = 0;
    for (let j = 0; j < this.sourceCount; j++) {
      const leakage = (leak0[j] ?? 0) * Math.exp((leakRate[j] ?? 0) * ((x[j] ?? 0) + offset));
      const p = (idle[j] ?? 0) + (dynamic[j] ?? 0) * (utilisation[j] ?? 0) + leakage;
      power[j] = p;
      energy[j] = (energy[j] ?? 0) + p * energyStepS;
      total += p;
    }
    return total;
  }

  /** Writes every plane's heat input (°C of steady-state rise) for the current powers at `out[offset…]`. */
  #computeInputs(out: Float64Array, offset: number, totalPower: number): void {
    this.#coupling.run();
    out.set(this.#coupling.output, offset);
    out[offset + this.sourceCount] = this.#chassisR * totalPower;
  }
}
