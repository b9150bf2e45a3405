/**
 * RAPL through model-specific registers, for kernels without the powercap driver:
 * `/dev/cpu/N/msr`, where a pread of 8 bytes at offset R reads MSR R (msr driver, root and
 * CAP_SYS_RAWIO). Energy status registers are 32-bit counters in units of 1/2^ESU J, ESU
 * being bits 12:8 of the power-unit register; they wrap within about a minute at high power.
 *
 *  | vendor | unit        | package     | core (per core on AMD)  | dram  |
 *  |--------|-------------|-------------|-------------------------|-------|
 *  | Intel  | 0x606       | 0x611       | 0x639 (PP0, package)    | 0x619 |
 *  | AMD    | 0xC0010299  | 0xC001029B  | 0xC001029A              | —     |
 */
import { closeSync, existsSync, openSync, readdirSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { ReaderNotStartedError, SensorsUnavailableError } from '../../errors.js';
import { WrappingCounter } from '../counter.js';
import { SensorHealth, type WarningSink } from '../health.js';
import type { ChannelInfo, ProbeResult, Reading, TelemetryReader } from '../reader.js';
import { accessProblem, readText } from './attribute.js';
import { RAPL_RELATIVE_ERROR, type SysfsReaderOptions } from './powercap.js';

export const MSR = {
  intel: { unit: 0x606, package: 0x611, core: 0x639, dram: 0x619 },
  amd: { unit: 0xc0010299, package: 0xc001029b, core: 0xc001029a },
} as const;

type Vendor = keyof typeof MSR;
const WRAP = 2 ** 32;
/** Bounds a plausible wrap: 2 kW for a minute, in joules. */
const MAX_PLAUSIBLE_STEP_J = 2000 * 60;

interface Register {
  readonly id: string;
  readonly cpu: number;
  readonly address: number;
  readonly description: string;
}

/**
 * Access to one CPU's MSRs. The device maps file offset R to register R (not bytes), so
 * adjacent registers such as AMD's 0xC001029A and 0xC001029B cannot be mimicked by a plain
 * file; tests of AMD layouts pass an in-memory implementation.
 */
export interface MsrAccess {
  /** Opens CPU `cpu`'s MSR device; throws the system error. */
  open(path: string): number;
  /** Reads register `address` as a number (low 32 bits + high 32 bits × 2³²); NaN on failure. */
  read(handle: number, address: number): number;
  close(handle: number): void;
}

/** The real `/dev/cpu/N/msr`: one pread of 8 bytes at offset = register. */
export function createDevMsrAccess(): MsrAccess {
  const buffer = Buffer.alloc(8);
  return {
    open: (path) => openSync(path, 'r'),
    read(fd, address) {
      const n = readSync(fd, buffer, 0, 8, address);
      if (n !== 8) return Number.NaN;
      return buffer.readUInt32LE(0) + buffer.readUInt32LE(4) * WRAP;
    },
    close: (fd) => {
      closeSync(fd);
    },
  };
}

export class MsrRaplReader implements TelemetryReader {
  readonly name = 'rapl-msr';
  readonly source = 'msr' as const;
  readonly #root: string;
  readonly #warn: WarningSink;
  readonly #now: () => number;
  readonly #access: MsrAccess;
  #open: { reg: Register; fd: number; counter: WrappingCounter; health: SensorHealth; unitJ: number }[] | null = null;

  constructor(options: SysfsReaderOptions & { access?: MsrAccess } = {}) {
    this.#access = options.access ?? createDevMsrAccess();
    this.#root = options.root ?? '/';
    this.#warn = options.onWarning ?? (() => undefined);
    this.#now = options.now ?? (() => performance.now() / 1000);
  }

  #vendor(): Vendor | undefined {
    const cpuinfo = readText(join(this.#root, 'proc/cpuinfo')) ?? '';
    if (cpuinfo.includes('GenuineIntel')) return 'intel';
    if (cpuinfo.includes('AuthenticAMD') || cpuinfo.includes('HygonGenuine')) return 'amd';
    return undefined;
  }

  #msrPath(cpu: number): string {
    return join(this.#root, 'dev/cpu', String(cpu), 'msr');
  }

  /** One register set per package (first CPU of each), plus AMD's per-core counters. */
  #registers(vendor: Vendor): Register[] {
    const cpuDir = join(this.#root, 'sys/devices/system/cpu');
    const cpus = existsSync(cpuDir)
      ? readdirSync(cpuDir).filter((e) => /^cpu\d+$/.test(e)).map((e) => Number(e.slice(3))).sort((a, b) => a - b)
      : [0];
    const seenPackages = new Set<string>();
    const seenCores = new Set<string>();
    const registers: Register[] = [];
    for (const cpu of cpus) {
      if (!existsSync(this.#msrPath(cpu))) continue;
      const pkg = readText(join(cpuDir, `cpu${cpu}`, 'topology/physical_package_id')) ?? '0';
      const core = readText(join(cpuDir, `cpu${cpu}`, 'topology/core_id')) ?? String(cpu);
      if (!seenPackages.has(pkg)) {
        seenPackages.add(pkg);
        registers.push({ id: `msr/package-${pkg}`, cpu, address: MSR[vendor].package, description: `RAPL package ${pkg} energy (MSR), cumulative` });
        if (vendor === 'intel') {
          registers.push({ id: `msr/package-${pkg}/core`, cpu, address: MSR.intel.core, description: `RAPL PP0 (cores) energy of package ${pkg} (MSR), cumulative` });
          registers.push({ id: `msr/package-${pkg}/dram`, cpu, address: MSR.intel.dram, description: `RAPL DRAM energy of package ${pkg} (MSR), cumulative` });
        }
      }
      if (vendor === 'amd' && !seenCores.has(`${pkg}/${core}`)) {
        seenCores.add(`${pkg}/${core}`);
        registers.push({ id: `msr/package-${pkg}/core-${core}`, cpu, address: MSR.amd.core, description: `RAPL core ${core} energy (MSR), cumulative` });
      }
    }
    return registers;
  }

  #channel(reg: Register): ChannelInfo {
    return {
      id: reg.id,
      quantity: 'energy',
      description: reg.description,
      resolution: 1 / 2 ** 16,
      updateHz: 1000,
      provenance: { kind: 'measured', source: 'msr', sensor: `${this.#msrPath(reg.cpu)} @ 0x${reg.address.toString(16)}`, windowS: 0, errorBound: 1 / 2 ** 16 },
    };
  }

  probe(): Promise<ProbeResult> {
    const vendor = this.#vendor();
    if (vendor === undefined) return Promise.resolve({ state: 'absent', reason: 'CPU vendor is neither Intel nor AMD (no RAPL MSRs)' });
    if (!existsSync(this.#msrPath(0))) {
      return Promise.resolve({ state: 'absent', reason: `no ${this.#msrPath(0)}: the msr driver is not loaded (modprobe msr, if the kernel has modules)` });
    }
    try {
      this.#access.close(this.#access.open(this.#msrPath(0)));
    } catch (err) {
      if (accessProblem(err) === 'denied') {
        return Promise.resolve({ state: 'denied', reason: `${this.#msrPath(0)} needs root with CAP_SYS_RAWIO` });
      }
      return Promise.resolve({ state: 'absent', reason: `${this.#msrPath(0)}: ${String(err)}` });
    }
    return Promise.resolve({ state: 'present', channels: this.#registers(vendor).map((r) => this.#channel(r)) });
  }

  async start(): Promise<void> {
    if (this.#open !== null) return;
    const probe = await this.probe();
    const vendor = this.#vendor();
    if (probe.state !== 'present' || vendor === undefined) {
      throw new SensorsUnavailableError(`RAPL (MSR): ${probe.state === 'present' ? 'unknown vendor' : probe.reason}`);
    }
    const fds = new Map<number, number>();
    const fdFor = (cpu: number): number => {
      let fd = fds.get(cpu);
      if (fd === undefined) {
        fd = this.#access.open(this.#msrPath(cpu));
        fds.set(cpu, fd);
      }
      return fd;
    };
    this.#open = this.#registers(vendor).map((reg) => {
      const fd = fdFor(reg.cpu);
      const esu = (this.#access.read(fd, MSR[vendor].unit) >>> 8) & 0x1f;
      const unitJ = 1 / 2 ** esu;
      const counter = new WrappingCounter(WRAP, MAX_PLAUSIBLE_STEP_J / unitJ);
      counter.update(this.#access.read(fd, reg.address) % WRAP);
      return { reg, fd, counter, health: new SensorHealth(reg.id, 'energy', this.#warn), unitJ };
    });
  }

  sample(): readonly Reading[] {
    const open = this.#open;
    if (open === null) throw new ReaderNotStartedError(`${this.name}: sample() before start()`);
    const now = this.#now();
    return open.map(({ reg, fd, counter, health, unitJ }): Reading => {
      let raw = Number.NaN;
      try {
        raw = this.#access.read(fd, reg.address) % WRAP;
      } catch {
        // A failed read leaves the reading untrusted below.
      }
      const joules = Number.isFinite(raw) ? counter.update(raw, health) * unitJ : Number.NaN;
      return {
        channel: reg.id,
        quantity: 'energy',
        value: joules,
        trusted: Number.isFinite(raw) && counter.lastTrusted && health.check(joules, now),
        provenance: { kind: 'measured', source: 'msr', sensor: `${this.#msrPath(reg.cpu)} @ 0x${reg.address.toString(16)}`, windowS: 0, errorBound: unitJ + RAPL_RELATIVE_ERROR * Math.abs(joules) },
      };
    });
  }

  stop(): Promise<void> {
    const fds = new Set((this.#open ?? []).map((o) => o.fd));
    for (const fd of fds) this.#access.close(fd);
    this.#open = null;
    return Promise.resolve();
  }
}
