/**
 * RAPL energy through the powercap sysfs interface: `/sys/class/powercap/<zone>/` with
 * `name` (package-0, core, uncore, dram, psys), `energy_uj` and `max_energy_range_uj`.
 * Intel's and AMD's RAPL both appear here (the intel_rapl driver serves both, zones named
 * `intel-rapl:N[:M]`; MMIO zones `intel-rapl-mmio:N`). Since Linux 5.10 `energy_uj` is
 * readable by root only (CVE-2020-8694): that is reported as "denied", with the fix.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ReaderNotStartedError, SensorsUnavailableError } from '../../errors.js';
import { WrappingCounter } from '../counter.js';
import { SensorHealth, type WarningSink } from '../health.js';
import type { ChannelInfo, ProbeResult, Reading, TelemetryReader } from '../reader.js';
import { AttributeFile, accessProblem, readText } from './attribute.js';

/** RAPL counters update about every millisecond. */
const RAPL_UPDATE_HZ = 1000;
/**
 * RAPL's accuracy relative to a wall meter: within a few percent on Haswell and later
 * (Khan et al., "RAPL in Action", ACM TOMPECS 2018). Reported as part of every error bound.
 */
export const RAPL_RELATIVE_ERROR = 0.05;
/** No package draws more than this; bounds what a plausible wrap can add between reads. */
const MAX_PLAUSIBLE_POWER_W = 2000;

export interface SysfsReaderOptions {
  /** Filesystem root to read from (tests pass a captured tree). @default '/' */
  readonly root?: string;
  readonly onWarning?: WarningSink;
  /** Seconds since an arbitrary origin; health checks use it. @default performance.now */
  readonly now?: () => number;
}

interface Zone {
  readonly id: string;
  readonly dir: string;
  readonly name: string;
  readonly rangeUj: number;
}

interface OpenZone extends Zone {
  readonly file: AttributeFile;
  readonly counter: WrappingCounter;
  readonly health: SensorHealth;
  readonly sensor: string;
}

function domainOf(name: string): string {
  if (name.startsWith('package')) return 'package';
  return name;
}

export class PowercapRaplReader implements TelemetryReader {
  readonly name = 'rapl-powercap';
  readonly source = 'rapl' as const;
  readonly #root: string;
  readonly #warn: WarningSink;
  readonly #now: () => number;
  #zones: OpenZone[] | null = null;
  #lastSampleS = Number.NaN;

  constructor(options: SysfsReaderOptions = {}) {
    this.#root = options.root ?? '/';
    this.#warn = options.onWarning ?? (() => undefined);
    this.#now = options.now ?? (() => performance.now() / 1000);
  }

  #classDir(): string {
    return join(this.#root, 'sys/class/powercap');
  }

  #findZones(): Zone[] {
    const dir = this.#classDir();
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((entry) => /^intel-rapl(-mmio)?:\d+(:\d+)?$/.test(entry))
      .sort()
      .flatMap((entry): Zone[] => {
        const zoneDir = join(dir, entry);
        const name = readText(join(zoneDir, 'name'));
        const range = Number(readText(join(zoneDir, 'max_energy_range_uj')));
        if (name === undefined || !existsSync(join(zoneDir, 'energy_uj'))) return [];
        return [{ id: `rapl/${entry}/${name}`, dir: zoneDir, name, rangeUj: Number.isFinite(range) && range > 0 ? range + 1 : 2 ** 32 }];
      });
  }

  #channel(zone: Zone): ChannelInfo {
    return {
      id: zone.id,
      quantity: 'energy',
      description: `RAPL ${domainOf(zone.name)} energy (${zone.name}), cumulative`,
      resolution: 1e-6,
      updateHz: RAPL_UPDATE_HZ,
      provenance: { kind: 'measured', source: 'rapl', sensor: `${zone.dir}/energy_uj`, windowS: 0, errorBound: 1e-6 },
    };
  }

  probe(): Promise<ProbeResult> {
    const zones = this.#findZones();
    if (zones.length === 0) {
      return Promise.resolve({ state: 'absent', reason: `no RAPL zone under ${this.#classDir()} (no powercap driver or no RAPL on this CPU)` });
    }
    const first = zones[0];
    if (first !== undefined) {
      const file = new AttributeFile(join(first.dir, 'energy_uj'));
      try {
        file.open();
      } catch (err) {
        if (accessProblem(err) === 'denied') {
          return Promise.resolve({
            state: 'denied',
            reason: `${file.path} is readable by root only since Linux 5.10 (CVE-2020-8694): run Maxwell as root or grant read access`,
          });
        }
        return Promise.resolve({ state: 'absent', reason: `${file.path}: ${String(err)}` });
      } finally {
        file.close();
      }
    }
    return Promise.resolve({ state: 'present', channels: zones.map((z) => this.#channel(z)) });
  }

  async start(): Promise<void> {
    if (this.#zones !== null) return;
    const probe = await this.probe();
    if (probe.state !== 'present') throw new SensorsUnavailableError(`RAPL (powercap): ${probe.reason}`);
    this.#zones = this.#findZones().map((zone) => {
      const file = new AttributeFile(join(zone.dir, 'energy_uj'));
      file.open();
      const maxStep = MAX_PLAUSIBLE_POWER_W * 1e6 * 60; // a read at least once a minute
      return {
        ...zone,
        file,
        counter: new WrappingCounter(zone.rangeUj, maxStep),
        health: new SensorHealth(zone.id, 'energy', this.#warn),
        sensor: `${zone.dir}/energy_uj`,
      };
    });
    for (const zone of this.#zones) zone.counter.update(zone.file.readInt());
    this.#lastSampleS = this.#now();
  }

  sample(): readonly Reading[] {
    const zones = this.#zones;
    if (zones === null) throw new ReaderNotStartedError(`${this.name}: sample() before start()`);
    const now = this.#now();
    const windowS = Number.isFinite(this.#lastSampleS) ? now - this.#lastSampleS : 0;
    this.#lastSampleS = now;
    return zones.map((zone): Reading => {
      const raw = zone.file.readInt();
      const joules = Number.isFinite(raw) ? zone.counter.update(raw, zone.health) / 1e6 : Number.NaN;
      const trusted = Number.isFinite(raw) && zone.counter.lastTrusted && zone.health.check(joules, now);
      return {
        channel: zone.id,
        quantity: 'energy',
        value: joules,
        trusted,
        provenance: { kind: 'measured', source: 'rapl', sensor: zone.sensor, windowS, errorBound: 1e-6 + RAPL_RELATIVE_ERROR * Math.abs(joules) },
      };
    });
  }

  stop(): Promise<void> {
    for (const zone of this.#zones ?? []) zone.file.close();
    this.#zones = null;
    return Promise.resolve();
  }
}
