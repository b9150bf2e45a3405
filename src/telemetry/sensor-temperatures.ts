/**
 * Measured per-core temperatures for the daemon, when the machine has CPU temperature sensors:
 * which sensor each core uses (the *plan*, made once at start), and reading them at most every
 * {@link SENSOR_PERIOD_S} on the 100 Hz path.
 *
 * Sources, best first (only one family is used):
 *
 * 1. hwmon `coretemp` (Intel): `Core N` is the core whose `core_id` is N in the package of the
 *    chip's `Package id P`; logical CPU X is mapped through
 *    `/sys/devices/system/cpu/cpuX/topology/{core_id,physical_package_id}` under the same root,
 *    so hyperthread siblings share their core's sensor. A CPU whose core has no `Core N` uses
 *    its package's `Package id P` (the package reads the hottest core: conservative). Without a
 *    topology in the tree no CPU can be placed, so every core gets the hottest coretemp sensor.
 * 2. hwmon `k10temp` / `zenpower` (AMD): package-level; `Tdie` where the driver gives it, else
 *    `Tctl` (which may carry a vendor offset, i.e. read hot: conservative). Every core gets it;
 *    with several chips (sockets) every core gets the hottest.
 * 3. thermal zone `x86_pkg_temp` (else a zone whose type starts with `cpu`): package-level, the
 *    hottest zone for every core.
 *
 * A core that no sensor covers keeps the thermal twin's value. A reading the reader does not
 * trust (NaN, a read error, outside SensorHealth's plausible −40…150 °C, stuck while the load
 * moves) is not used: the core takes the twin's value until the next sensor read, and the core's
 * fallback count goes up.
 */
import { join } from 'node:path';
import type { WarningSink } from './health.js';
import type { TelemetryReader } from './reader.js';
import { readText } from './sysfs/attribute.js';
import { HwmonReader, hwmonChannelParts } from './sysfs/hwmon.js';
import { ThermalZoneReader } from './sysfs/thermal-zone.js';

/**
 * Sensors are read at most this often, s. hwmon and thermal zones update at about 10 Hz (coretemp
 * refreshes its cached MSR value at most once a second), so reading them on every 10 ms tick would
 * re-read the same value. Measured (`npm run bench -- --only=micro`, Node 20, the shared 2-core
 * dev VM): one read of the captured coretemp tree (4 sensors, files in the page cache) ≈ 4.5 µs;
 * applying the held values to 8 cores on each tick ≈ 0.05 µs. That is a lower bound: a real sysfs
 * read costs more per file (coretemp's rdmsr on the target CPU, an ACPI zone's method
 * evaluation), and a 64-core server has 64+ sensors, so every tick would cost a noticeable share
 * of the daemon's budget for nothing new; 10 reads a second keep it small.
 */
export const SENSOR_PERIOD_S = 0.1;

const CPU_CHIPS: ReadonlySet<string> = new Set(['coretemp', 'k10temp', 'zenpower']);
const isCpuZone = (type: string): boolean => type === 'x86_pkg_temp' || /^cpu/i.test(type);

/** Where one logical CPU sits; null when the tree does not say. */
export interface CpuPlace {
  readonly packageId: number;
  readonly coreId: number;
}

/** One measured figure some cores use: a channel, or the hottest trusted of several. */
export interface PlannedSensor {
  /** In words, e.g. `Core 4 (package 0)`. */
  readonly name: string;
  readonly channels: readonly string[];
}

/** Which sensor each core uses. */
export interface CorePlan {
  /** e.g. `hwmon coretemp`, `thermal zone x86_pkg_temp`. */
  readonly family: string;
  /** How cores were mapped to sensors, in words. */
  readonly mapping: string;
  readonly reader: 'hwmon' | 'thermal';
  readonly sensors: readonly PlannedSensor[];
  /** Per core, the index into `sensors`; -1 where no sensor covers the core. */
  readonly coreSensor: readonly number[];
}

/** The topology of logical CPUs `0 … cores-1` under `root` (null entries where absent). */
export function readCpuPlaces(root: string, cores: number): (CpuPlace | null)[] {
  return Array.from({ length: cores }, (_, cpu) => {
    const dir = join(root, `sys/devices/system/cpu/cpu${String(cpu)}/topology`);
    const coreId = Number(readText(join(dir, 'core_id')) ?? Number.NaN);
    const packageId = Number(readText(join(dir, 'physical_package_id')) ?? Number.NaN);
    return Number.isInteger(coreId) && Number.isInteger(packageId) ? { coreId, packageId } : null;
  });
}

/** The hottest-of-several sensor for every core. */
function everyCore(family: string, mapping: string, reader: CorePlan['reader'], name: string, channels: readonly string[], cores: number): CorePlan {
  return { family, mapping, reader, sensors: [{ name, channels }], coreSensor: Array.from({ length: cores }, () => 0) };
}

function planCoretemp(hwmonIds: readonly string[], places: readonly (CpuPlace | null)[]): CorePlan | null {
  const chips = new Map<string, Map<string, string>>();
  for (const id of hwmonIds) {
    const parts = hwmonChannelParts(id);
    if (parts?.chip !== 'coretemp') continue;
    const labels = chips.get(parts.hwmon) ?? new Map<string, string>();
    labels.set(parts.label, id);
    chips.set(parts.hwmon, labels);
  }
  if (chips.size === 0) return null;
  const cores = places.length;
  if (places.every((p) => p === null)) {
    const all = [...chips.values()].flatMap((labels) => [...labels.values()]);
    return everyCore('hwmon coretemp', 'no CPU topology in the tree, so every core gets the hottest coretemp sensor', 'hwmon', `hottest of ${String(all.length)}`, all, cores);
  }
  const packages = new Set(places.flatMap((p) => (p === null ? [] : [p.packageId])));
  const chipOfPackage = new Map<number, Map<string, string>>();
  for (const labels of chips.values()) {
    const label = [...labels.keys()].find((l) => /^Package id \d+$/.test(l));
    // A chip without its package label can only be placed when there is one chip and one package.
    const packageId = label !== undefined ? Number(label.slice('Package id '.length)) : chips.size === 1 && packages.size === 1 ? [...packages][0] : undefined;
    if (packageId !== undefined) chipOfPackage.set(packageId, labels);
  }
  const sensors: PlannedSensor[] = [];
  const indexOf = new Map<string, number>();
  const coreSensor = places.map((place) => {
    if (place === null) return -1;
    const labels = chipOfPackage.get(place.packageId);
    const coreLabel = `Core ${String(place.coreId)}`;
    const packageLabel = [...(labels?.keys() ?? [])].find((l) => l.startsWith('Package id'));
    const label = labels?.has(coreLabel) === true ? coreLabel : packageLabel;
    const channel = label === undefined ? undefined : labels?.get(label);
    if (label === undefined || channel === undefined) return -1;
    let index = indexOf.get(channel);
    if (index === undefined) {
      index = sensors.length;
      indexOf.set(channel, index);
      sensors.push({ name: label === coreLabel ? `${label} (package ${String(place.packageId)})` : label, channels: [channel] });
    }
    return index;
  });
  if (coreSensor.every((s) => s < 0)) return null;
  return { family: 'hwmon coretemp', mapping: 'per core through the CPU topology (core_id, physical_package_id)', reader: 'hwmon', sensors, coreSensor };
}

function planAmd(hwmonIds: readonly string[], cores: number): CorePlan | null {
  const chips = new Map<string, { chip: string; labels: Map<string, string> }>();
  for (const id of hwmonIds) {
    const parts = hwmonChannelParts(id);
    if (parts === null || (parts.chip !== 'k10temp' && parts.chip !== 'zenpower')) continue;
    const entry = chips.get(parts.hwmon) ?? { chip: parts.chip, labels: new Map<string, string>() };
    entry.labels.set(parts.label, id);
    chips.set(parts.hwmon, entry);
  }
  const chosen = [...chips.values()].flatMap(({ chip, labels }) => {
    const label = labels.has('Tdie') ? 'Tdie' : labels.has('Tctl') ? 'Tctl' : undefined;
    const id = label === undefined ? undefined : labels.get(label);
    return label === undefined || id === undefined ? [] : [{ chip, label, id }];
  });
  const first = chosen[0];
  if (first === undefined) return null;
  const name = chosen.length === 1 ? first.label : `hottest of ${chosen.map((c) => c.label).join(', ')} (${String(chosen.length)} chips)`;
  return everyCore(`hwmon ${first.chip}`, 'package-level: every core gets it', 'hwmon', name, chosen.map((c) => c.id), cores);
}

function planZones(zoneIds: readonly string[], cores: number): CorePlan | null {
  // Zone channel ids are `thermal/<thermal_zoneN>/<type>`.
  const zones = zoneIds.map((id) => ({ id, zone: id.split('/')[1] ?? id, type: id.split('/').slice(2).join('/') })).filter((z) => isCpuZone(z.type));
  const pkg = zones.filter((z) => z.type === 'x86_pkg_temp');
  const chosen = pkg.length > 0 ? pkg : zones;
  const first = chosen[0];
  if (first === undefined) return null;
  const name = chosen.length === 1 ? `(${first.zone})` : `(hottest of ${chosen.map((z) => z.zone).join(', ')})`;
  return everyCore(`thermal zone ${first.type}`, 'package-level: every core gets it', 'thermal', name, chosen.map((z) => z.id), cores);
}

/**
 * Which sensor each of `places.length` cores uses, from the channel ids of the hwmon and
 * thermal-zone readers; null when none is a CPU temperature sensor.
 */
export function planCoreTemperatures(hwmonIds: readonly string[], zoneIds: readonly string[], places: readonly (CpuPlace | null)[]): CorePlan | null {
  return planCoretemp(hwmonIds, places) ?? planAmd(hwmonIds, places.length) ?? planZones(zoneIds, places.length);
}

/** `[0, 1, 2, 5]` → `0-2, 5`. */
export function formatCores(cores: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < cores.length; ) {
    let j = i;
    while (j + 1 < cores.length && cores[j + 1] === (cores[j] ?? 0) + 1) j++;
    parts.push(j === i ? String(cores[i]) : `${String(cores[i])}-${String(cores[j])}`);
    i = j + 1;
  }
  return parts.join(', ');
}

export interface SensorTemperaturesOptions {
  /** Where /sys is (tests pass a captured tree). */
  readonly root: string;
  readonly cores: number;
  /** Seconds since an arbitrary origin (the same clock as the caller's ticks). */
  readonly now: () => number;
  /** Machine utilisation (0–1), for the readers' stuck-sensor check. */
  readonly activity: () => number | undefined;
  readonly onWarning?: WarningSink;
}

/** The measured temperatures of the cores a sensor covers, read at most every {@link SENSOR_PERIOD_S}. */
export class SensorTemperatures {
  readonly plan: CorePlan;
  /** Cores that have a sensor. */
  readonly measuredCores: readonly number[];
  readonly #reader: TelemetryReader;
  readonly #sensorOf: ReadonlyMap<string, number>;
  readonly #coreSensor: Int32Array;
  /** Per sensor, the last trusted value (°C); NaN when the last read gave nothing trusted. */
  readonly #value: Float64Array;
  /** Per core, sensor reads that were rejected (the twin stood in). */
  readonly #rejected: Uint32Array;
  #rejectedTotal = 0;
  #nextReadS = Number.NEGATIVE_INFINITY;

  private constructor(plan: CorePlan, reader: TelemetryReader) {
    this.plan = plan;
    this.#reader = reader;
    this.#sensorOf = new Map(plan.sensors.flatMap((s, i) => s.channels.map((c) => [c, i] as const)));
    this.#coreSensor = Int32Array.from(plan.coreSensor);
    this.measuredCores = plan.coreSensor.flatMap((s, c) => (s >= 0 ? [c] : []));
    this.#value = new Float64Array(plan.sensors.length).fill(Number.NaN);
    this.#rejected = new Uint32Array(plan.coreSensor.length);
  }

  /** Plans and starts the reader; null when `root` has no usable CPU temperature sensor. */
  static async start(options: SensorTemperaturesOptions): Promise<SensorTemperatures | null> {
    const common = { root: options.root, now: options.now, activity: options.activity, ...(options.onWarning === undefined ? {} : { onWarning: options.onWarning }) };
    const hwmon = await new HwmonReader({ ...common, includeChip: (name) => CPU_CHIPS.has(name) }).probe();
    const zones = await new ThermalZoneReader({ ...common, includeZone: isCpuZone }).probe();
    const temperatureIds = (probe: typeof hwmon): string[] => (probe.state === 'present' ? probe.channels.filter((c) => c.quantity === 'temperature').map((c) => c.id) : []);
    const plan = planCoreTemperatures(temperatureIds(hwmon), temperatureIds(zones), readCpuPlaces(options.root, options.cores));
    if (plan === null) return null;
    // Only the chosen family is opened and read: an NVMe drive's or an ACPI zone's read is slow.
    const chips = new Set(plan.sensors.flatMap((s) => s.channels.map((c) => hwmonChannelParts(c)?.chip ?? '')));
    const reader = plan.reader === 'hwmon' ? new HwmonReader({ ...common, includeChip: (name) => chips.has(name) }) : new ThermalZoneReader({ ...common, includeZone: isCpuZone });
    try {
      await reader.start();
    } catch {
      // The sensors vanished or cannot be opened between probe and start: the twin serves.
      return null;
    }
    return new SensorTemperatures(plan, reader);
  }

  /** Sensor reads rejected so far, all cores together. */
  get rejected(): number {
    return this.#rejectedTotal;
  }

  /** Sensor reads of `core` rejected so far. */
  rejectedOf(core: number): number {
    return this.#rejected[core] ?? 0;
  }

  /** Reads the sensors when {@link SENSOR_PERIOD_S} has passed since the last read. */
  refresh(nowS: number): void {
    if (nowS < this.#nextReadS) return;
    this.#nextReadS = nowS + SENSOR_PERIOD_S;
    const value = this.#value;
    value.fill(Number.NEGATIVE_INFINITY);
    try {
      for (const r of this.#reader.sample()) {
        const s = this.#sensorOf.get(r.channel);
        // Untrusted readings are left out; a group keeps its hottest trusted member.
        if (s !== undefined && r.trusted && Number.isFinite(r.value) && r.value > (value[s] ?? Number.POSITIVE_INFINITY)) value[s] = r.value;
      }
    } catch {
      // A reader that throws gives nothing this time: every covered core falls back.
    }
    for (let s = 0; s < value.length; s++) if (value[s] === Number.NEGATIVE_INFINITY) value[s] = Number.NaN;
    for (let c = 0; c < this.#coreSensor.length; c++) {
      const s = this.#coreSensor[c] ?? -1;
      if (s >= 0 && Number.isNaN(value[s])) {
        this.#rejected[c] = (this.#rejected[c] ?? 0) + 1;
        this.#rejectedTotal++;
      }
    }
  }

  /**
   * Overwrites `temperaturesC[c]` with the held measured value of every core whose sensor's last
   * read was trusted, and sets `measured[c]` to 1 for those cores and 0 for the rest.
   */
  apply(temperaturesC: Float64Array, measured: Uint8Array): void {
    for (let c = 0; c < this.#coreSensor.length; c++) {
      const s = this.#coreSensor[c] ?? -1;
      const v = s >= 0 ? (this.#value[s] ?? Number.NaN) : Number.NaN;
      if (Number.isNaN(v)) {
        measured[c] = 0;
      } else {
        temperaturesC[c] = v;
        measured[c] = 1;
      }
    }
  }

  /** The sensor core `core` uses, in words (`hwmon coretemp Core 4 (package 0)`); null for none. */
  sensorOf(core: number): string | null {
    const s = this.#coreSensor[core] ?? -1;
    const sensor = this.plan.sensors[s];
    return sensor === undefined ? null : `${this.plan.family} ${sensor.name}`;
  }

  /**
   * Where temperatures come from, in words: the measured cores and how they were mapped, the
   * cores the twin models (`twin` describes it), and the rejected reads so far.
   */
  describe(twin: string): string {
    const cores = this.#coreSensor.length;
    const modelled = Array.from({ length: cores }, (_, c) => c).filter((c) => (this.#coreSensor[c] ?? -1) < 0);
    let text = `measured: ${this.plan.family} (cores ${formatCores(this.measuredCores)}; ${this.plan.mapping})`;
    if (modelled.length > 0) text += `; modelled: ${twin} for cores ${formatCores(modelled)} (no sensor)`;
    if (this.#rejectedTotal > 0) {
      const per = this.measuredCores.filter((c) => (this.#rejected[c] ?? 0) > 0).map((c) => `core ${String(c)} ×${String(this.#rejected[c])}`);
      text += `; ${String(this.#rejectedTotal)} sensor reads rejected (${per.join(', ')}): the twin stood in until the next trusted read`;
    }
    return text;
  }

  stop(): Promise<void> {
    return this.#reader.stop();
  }
}
