/**
 * hwmon: any chip under `/sys/class/hwmon/hwmonN/` (k10temp, coretemp, amdgpu, nvme, …):
 * `temp*_input` (m°C), `power*_input` / `power*_average` (µW), `energy*_input` (µJ), each
 * named by its `*_label` when the driver gives one.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ReaderNotStartedError, SensorsUnavailableError } from '../../errors.js';
import { WrappingCounter } from '../counter.js';
import { SensorHealth, type WarningSink } from '../health.js';
import type { ChannelInfo, ProbeResult, ReadingQuantity, Reading, TelemetryReader } from '../reader.js';
import { AttributeFile, readText } from './attribute.js';
import type { SysfsReaderOptions } from './powercap.js';

/** Reading resolution of known chips, °C; others report in m°C. */
const TEMPERATURE_RESOLUTION_C: Readonly<Record<string, number>> = { coretemp: 1, k10temp: 0.125 };
/** Accuracy of on-die thermal sensors near the throttle point (Intel DTS, AMD Tctl): about ±1 °C. */
const DIE_SENSOR_ACCURACY_C = 1;

interface Attribute {
  readonly id: string;
  readonly path: string;
  readonly quantity: ReadingQuantity;
  /** Multiplier from the file's integer to the quantity's unit. */
  readonly scale: number;
  readonly resolution: number;
  readonly accuracy: number;
  readonly description: string;
}

interface OpenAttribute extends Attribute {
  readonly file: AttributeFile;
  readonly health: SensorHealth;
  readonly counter: WrappingCounter | null;
}

const PATTERN = /^(temp|power|energy)(\d+)_(input|average)$/;
const CHANNEL_ID = /^hwmon\/(hwmon\d+):([^/]*)\/(.*)$/;

/**
 * The parts of an hwmon channel id (`hwmon/<hwmonN>:<chip>/<label>`), for consumers that map
 * sensors by chip and label (the daemon's per-core temperatures); null for another reader's id.
 *
 * @example hwmonChannelParts('hwmon/hwmon0:coretemp/Core 4') // { hwmon: 'hwmon0', chip: 'coretemp', label: 'Core 4' }
 */
export function hwmonChannelParts(id: string): { readonly hwmon: string; readonly chip: string; readonly label: string } | null {
  const m = CHANNEL_ID.exec(id);
  if (m === null) return null;
  const [, hwmon = '', chip = '', label = ''] = m;
  return { hwmon, chip, label };
}

export interface HwmonReaderOptions extends SysfsReaderOptions {
  /** Machine utilisation (0–1) for the stuck-sensor check, when known. */
  readonly activity?: () => number | undefined;
  /**
   * Only chips whose `name` passes are read (e.g. the CPU's coretemp, not an NVMe drive, whose
   * every read is an admin command to the drive). @default every chip
   */
  readonly includeChip?: (name: string) => boolean;
}

export class HwmonReader implements TelemetryReader {
  readonly name = 'hwmon';
  readonly source = 'hwmon' as const;
  readonly #root: string;
  readonly #warn: WarningSink;
  readonly #now: () => number;
  #open: OpenAttribute[] | null = null;
  #activity: (() => number | undefined) | undefined;
  readonly #includeChip: (name: string) => boolean;

  constructor(options: HwmonReaderOptions = {}) {
    this.#root = options.root ?? '/';
    this.#warn = options.onWarning ?? (() => undefined);
    this.#now = options.now ?? (() => performance.now() / 1000);
    this.#activity = options.activity;
    this.#includeChip = options.includeChip ?? (() => true);
  }

  #find(): Attribute[] {
    const classDir = join(this.#root, 'sys/class/hwmon');
    if (!existsSync(classDir)) return [];
    return readdirSync(classDir)
      .filter((e) => /^hwmon\d+$/.test(e))
      .sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)))
      .flatMap((hwmon) => {
        // Older drivers keep their attributes under device/.
        let dir = join(classDir, hwmon);
        if (!existsSync(join(dir, 'name')) && existsSync(join(dir, 'device', 'name'))) dir = join(dir, 'device');
        const chip = readText(join(dir, 'name')) ?? 'unknown';
        if (!this.#includeChip(chip)) return [];
        const entries = readdirSync(dir);
        return entries.flatMap((file): Attribute[] => {
          const m = PATTERN.exec(file);
          if (m === null) return [];
          const [, kind = '', index = '', suffix = ''] = m;
          // power*_input and power*_average may both exist: prefer the input.
          if (kind === 'power' && suffix === 'average' && entries.includes(`power${index}_input`)) return [];
          const label = readText(join(dir, `${kind}${index}_label`)) ?? `${kind}${index}`;
          const id = `hwmon/${hwmon}:${chip}/${label}`;
          const path = join(dir, file);
          if (kind === 'temp') {
            const resolution = TEMPERATURE_RESOLUTION_C[chip] ?? 0.001;
            return [{ id, path, quantity: 'temperature', scale: 1e-3, resolution, accuracy: resolution + DIE_SENSOR_ACCURACY_C, description: `${chip} temperature ${label}` }];
          }
          if (kind === 'power') {
            return [{ id, path, quantity: 'power', scale: 1e-6, resolution: 1e-6, accuracy: 1e-6, description: `${chip} power ${label}${suffix === 'average' ? ' (average)' : ''}` }];
          }
          return [{ id, path, quantity: 'energy', scale: 1e-6, resolution: 1e-6, accuracy: 1e-6, description: `${chip} energy ${label}, cumulative` }];
        });
      });
  }

  #channel(a: Attribute): ChannelInfo {
    return {
      id: a.id,
      quantity: a.quantity,
      description: a.description,
      resolution: a.resolution,
      updateHz: 10,
      provenance: { kind: 'measured', source: 'hwmon', sensor: a.path, windowS: 0, errorBound: a.accuracy },
    };
  }

  probe(): Promise<ProbeResult> {
    const found = this.#find();
    if (found.length === 0) return Promise.resolve({ state: 'absent', reason: 'no hwmon chip with temperature, power or energy inputs' });
    return Promise.resolve({ state: 'present', channels: found.map((a) => this.#channel(a)) });
  }

  async start(): Promise<void> {
    if (this.#open !== null) return;
    const probe = await this.probe();
    if (probe.state !== 'present') throw new SensorsUnavailableError(`hwmon: ${probe.reason}`);
    this.#open = this.#find().flatMap((a): OpenAttribute[] => {
      const file = new AttributeFile(a.path);
      try {
        file.open();
      } catch (err) {
        this.#warn({ code: 'MXW_WARN_READER_FAILED', subject: a.id, message: `${a.id}: cannot open ${a.path}: ${String(err)}` });
        return [];
      }
      const counter = a.quantity === 'energy' ? new WrappingCounter(2 ** 64, 1e15) : null;
      // Energy is counted from start(): the first read sets the origin.
      counter?.update(file.readInt());
      return [{ ...a, file, health: new SensorHealth(a.id, a.quantity, this.#warn), counter }];
    });
  }

  sample(): readonly Reading[] {
    const open = this.#open;
    if (open === null) throw new ReaderNotStartedError(`${this.name}: sample() before start()`);
    const now = this.#now();
    const activity = this.#activity?.();
    return open.map((a): Reading => {
      const raw = a.file.readInt();
      let value = raw * a.scale;
      let trusted: boolean;
      if (a.counter !== null) {
        value = Number.isFinite(raw) ? a.counter.update(raw, a.health) * a.scale : Number.NaN;
        trusted = Number.isFinite(raw) && a.counter.lastTrusted && a.health.check(value, now);
      } else {
        trusted = a.health.check(value, now, activity);
      }
      return {
        channel: a.id,
        quantity: a.quantity,
        value,
        trusted,
        provenance: { kind: 'measured', source: 'hwmon', sensor: a.path, windowS: 0, errorBound: a.accuracy },
      };
    });
  }

  stop(): Promise<void> {
    for (const a of this.#open ?? []) a.file.close();
    this.#open = null;
    return Promise.resolve();
  }
}
