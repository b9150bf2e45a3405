/** Thermal zones: `/sys/class/thermal/thermal_zoneN/{type,temp}` (temp in m°C). */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ReaderNotStartedError, SensorsUnavailableError } from '../../errors.js';
import { SensorHealth, type WarningSink } from '../health.js';
import type { ChannelInfo, ProbeResult, Reading, TelemetryReader } from '../reader.js';
import { AttributeFile, readText } from './attribute.js';
import type { SysfsReaderOptions } from './powercap.js';

/** Zones report m°C but most firmware updates them in whole degrees. */
const ZONE_ACCURACY_C = 1;

interface Zone {
  readonly id: string;
  readonly path: string;
  readonly type: string;
}

export interface ThermalZoneReaderOptions extends SysfsReaderOptions {
  /** Machine utilisation (0–1) for the stuck-sensor check, when known. */
  readonly activity?: () => number | undefined;
  /**
   * Only zones whose `type` passes are read (an `acpitz` read may evaluate ACPI methods for
   * milliseconds). @default every zone
   */
  readonly includeZone?: (type: string) => boolean;
}

export class ThermalZoneReader implements TelemetryReader {
  readonly name = 'thermal-zones';
  readonly source = 'thermal' as const;
  readonly #root: string;
  readonly #warn: WarningSink;
  readonly #now: () => number;
  readonly #activity: (() => number | undefined) | undefined;
  readonly #includeZone: (type: string) => boolean;
  #open: { zone: Zone; file: AttributeFile; health: SensorHealth }[] | null = null;

  constructor(options: ThermalZoneReaderOptions = {}) {
    this.#root = options.root ?? '/';
    this.#warn = options.onWarning ?? (() => undefined);
    this.#now = options.now ?? (() => performance.now() / 1000);
    this.#activity = options.activity;
    this.#includeZone = options.includeZone ?? (() => true);
  }

  #find(): Zone[] {
    const dir = join(this.#root, 'sys/class/thermal');
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((e) => /^thermal_zone\d+$/.test(e))
      .sort((a, b) => Number(a.slice(12)) - Number(b.slice(12)))
      .flatMap((entry): Zone[] => {
        const path = join(dir, entry, 'temp');
        if (!existsSync(path)) return [];
        const type = readText(join(dir, entry, 'type')) ?? 'unknown';
        if (!this.#includeZone(type)) return [];
        return [{ id: `thermal/${entry}/${type}`, path, type }];
      });
  }

  #channel(zone: Zone): ChannelInfo {
    return {
      id: zone.id,
      quantity: 'temperature',
      description: `thermal zone ${zone.type}`,
      resolution: 0.001,
      updateHz: 10,
      provenance: { kind: 'measured', source: 'thermal', sensor: zone.path, windowS: 0, errorBound: ZONE_ACCURACY_C },
    };
  }

  probe(): Promise<ProbeResult> {
    const zones = this.#find();
    if (zones.length === 0) return Promise.resolve({ state: 'absent', reason: 'no thermal zone under /sys/class/thermal' });
    return Promise.resolve({ state: 'present', channels: zones.map((z) => this.#channel(z)) });
  }

  async start(): Promise<void> {
    if (this.#open !== null) return;
    const probe = await this.probe();
    if (probe.state !== 'present') throw new SensorsUnavailableError(`thermal zones: ${probe.reason}`);
    this.#open = this.#find().flatMap((zone) => {
      const file = new AttributeFile(zone.path);
      try {
        file.open();
      } catch (err) {
        this.#warn({ code: 'MXW_WARN_READER_FAILED', subject: zone.id, message: `${zone.id}: cannot open ${zone.path}: ${String(err)}` });
        return [];
      }
      return [{ zone, file, health: new SensorHealth(zone.id, 'temperature', this.#warn) }];
    });
  }

  sample(): readonly Reading[] {
    const open = this.#open;
    if (open === null) throw new ReaderNotStartedError(`${this.name}: sample() before start()`);
    const now = this.#now();
    const activity = this.#activity?.();
    return open.map(({ zone, file, health }): Reading => {
      const value = file.readInt() / 1000;
      return {
        channel: zone.id,
        quantity: 'temperature',
        value,
        trusted: health.check(value, now, activity),
        provenance: { kind: 'measured', source: 'thermal', sensor: zone.path, windowS: 0, errorBound: ZONE_ACCURACY_C },
      };
    });
  }

  stop(): Promise<void> {
    for (const { file } of this.#open ?? []) file.close();
    this.#open = null;
    return Promise.resolve();
  }
}
