/**
 * NVIDIA GPUs through `nvidia-smi` in query-loop mode (`--query-gpu=… -lms N`), parsed from
 * its CSV: power, temperature, utilisation and energy per GPU.
 *
 * Energy: the total-energy counter is preferred over integrating power, but nvidia-smi does
 * not always offer it: driver 580 on an H200 answers `Field "total_energy_consumption" is not
 * a valid field to query` although NVML has the counter (test/fixtures/nvidia-smi). Then
 * energy is integrated from `power.draw.instant` (not `power.draw`, which is a 1 s average on
 * Ampere and later) over nvidia-smi's own timestamps, and the error bound grows with it
 * (NVIDIA documents power as accurate to ±5 W).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { ReaderNotStartedError, SensorsUnavailableError } from '../../errors.js';
import type { WarningSink } from '../health.js';
import { SensorHealth } from '../health.js';
import type { ChannelInfo, ProbeResult, ReadingProvenance, ReadingQuantity, Reading, TelemetryReader } from '../reader.js';

/** NVIDIA's stated accuracy of board power readings, W. */
export const NVIDIA_POWER_ACCURACY_W = 5;
const PROBE_TIMEOUT_MS = 5000;

export interface NvidiaSmiOptions {
  /** The nvidia-smi executable. @default 'nvidia-smi' */
  readonly binary?: string;
  /** Query-loop period, ms. @default 100 */
  readonly intervalMs?: number;
  readonly onWarning?: WarningSink;
  readonly now?: () => number;
}

interface Gpu {
  readonly index: number;
  readonly uuid: string;
  readonly name: string;
}

interface GpuState {
  powerW: number;
  temperatureC: number;
  utilisation: number;
  energyJ: number;
  lastTimeMs: number;
  lastPowerW: number;
  firstCounterJ: number;
  updates: number;
}

/** Parses one numeric CSV cell; "[N/A]", "[Not Supported]" and the like give NaN. */
export function parseCell(cell: string | undefined): number {
  if (cell === undefined) return Number.NaN;
  const trimmed = cell.trim();
  if (trimmed === '' || trimmed.startsWith('[')) return Number.NaN;
  return Number(trimmed);
}

/** Parses nvidia-smi's timestamp (`2026/11/26 04:12:50.245`, local time) to ms. */
export function parseTimestamp(text: string | undefined): number {
  const m = /^(\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2})\.(\d{3})$/.exec((text ?? '').trim());
  if (m === null) return Number.NaN;
  const [, y, mo, d, h, mi, s, ms] = m.map(Number);
  return new Date(y ?? 0, (mo ?? 1) - 1, d ?? 1, h ?? 0, mi ?? 0, s ?? 0, ms ?? 0).getTime();
}

function run(binary: string, args: readonly string[]): Promise<{ code: number | string; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(binary, args, { timeout: PROBE_TIMEOUT_MS, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err === null ? 0 : ((err as { code?: number | string }).code ?? 1);
      resolve({ code, stdout, stderr });
    });
  });
}

export class NvidiaSmiReader implements TelemetryReader {
  readonly name = 'nvidia-smi';
  readonly source = 'nvml' as const;
  readonly #binary: string;
  readonly #intervalMs: number;
  readonly #warn: WarningSink;
  readonly #now: () => number;
  #gpus: Gpu[] = [];
  #hasEnergyCounter = false;
  #powerField = 'power.draw.instant';
  #child: ChildProcess | null = null;
  #states = new Map<number, GpuState>();
  #health = new Map<string, SensorHealth>();
  #failed = false;

  constructor(options: NvidiaSmiOptions = {}) {
    this.#binary = options.binary ?? 'nvidia-smi';
    this.#intervalMs = options.intervalMs ?? 100;
    this.#warn = options.onWarning ?? (() => undefined);
    this.#now = options.now ?? (() => performance.now() / 1000);
  }

  async #supports(field: string): Promise<boolean> {
    const r = await run(this.#binary, [`--query-gpu=${field}`, '--format=csv,noheader,nounits']);
    return r.code === 0 && !/not a valid field/i.test(r.stdout + r.stderr);
  }

  #channels(): ChannelInfo[] {
    return this.#gpus.flatMap((gpu) => {
      const base = `nvidia/${gpu.index}`;
      const measured = (sensor: string, windowS: number, errorBound: number): ReadingProvenance => ({ kind: 'measured', source: 'nvml', sensor, windowS, errorBound });
      const channel = (suffix: string, quantity: ReadingQuantity, description: string, resolution: number, provenance: ReadingProvenance): ChannelInfo => ({
        id: `${base}/${suffix}`,
        quantity,
        description: `${gpu.name} (GPU ${gpu.index}) ${description}`,
        resolution,
        updateHz: 1000 / this.#intervalMs,
        provenance,
      });
      return [
        channel('power', 'power', `board power (${this.#powerField})`, 0.01, measured(`nvidia-smi ${this.#powerField}`, 0, NVIDIA_POWER_ACCURACY_W)),
        channel('temperature', 'temperature', 'die temperature', 1, measured('nvidia-smi temperature.gpu', 0, 1)),
        channel('utilisation', 'utilisation', 'utilisation', 0.01, measured('nvidia-smi utilization.gpu', this.#intervalMs / 1000, 0.01)),
        channel(
          'energy',
          'energy',
          this.#hasEnergyCounter
            ? 'energy (total-energy counter), cumulative'
            : `energy integrated from ${this.#powerField}, cumulative (bound grows ${NVIDIA_POWER_ACCURACY_W} J per second)`,
          0.001,
          measured(
            this.#hasEnergyCounter ? 'nvidia-smi total_energy_consumption' : `integral of ${this.#powerField}`,
            0,
            this.#hasEnergyCounter ? 0.001 : NVIDIA_POWER_ACCURACY_W,
          ),
        ),
      ];
    });
  }

  async probe(): Promise<ProbeResult> {
    const list = await run(this.#binary, ['--query-gpu=index,uuid,name', '--format=csv,noheader,nounits']);
    if (list.code === 'ENOENT') return { state: 'absent', reason: `${this.#binary} not found: no NVIDIA driver on this machine` };
    if (list.code !== 0) {
      const why = (list.stdout + list.stderr).trim().split('\n')[0] ?? '';
      return { state: 'absent', reason: `${this.#binary} found no usable GPU (${why || `exit ${String(list.code)}`})` };
    }
    this.#gpus = list.stdout
      .trim()
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => {
        const [index, uuid, name] = line.split(',').map((c) => c.trim());
        return { index: Number(index), uuid: uuid ?? '', name: name ?? 'NVIDIA GPU' };
      });
    if (this.#gpus.length === 0) return { state: 'absent', reason: `${this.#binary} lists no GPU` };
    this.#hasEnergyCounter = await this.#supports('total_energy_consumption');
    this.#powerField = (await this.#supports('power.draw.instant')) ? 'power.draw.instant' : 'power.draw';
    return { state: 'present', channels: this.#channels() };
  }

  /** True when energy comes from the GPU's counter rather than integrated power (after probe). */
  get hasEnergyCounter(): boolean {
    return this.#hasEnergyCounter;
  }

  async start(): Promise<void> {
    if (this.#child !== null) return;
    const probe = await this.probe();
    if (probe.state !== 'present') throw new SensorsUnavailableError(`NVIDIA: ${probe.reason}`);
    const fields = ['timestamp', 'index', this.#powerField, 'temperature.gpu', 'utilization.gpu'];
    if (this.#hasEnergyCounter) fields.push('total_energy_consumption');
    this.#states = new Map(
      this.#gpus.map((g) => [g.index, { powerW: Number.NaN, temperatureC: Number.NaN, utilisation: Number.NaN, energyJ: 0, lastTimeMs: Number.NaN, lastPowerW: Number.NaN, firstCounterJ: Number.NaN, updates: 0 }]),
    );
    this.#failed = false;
    const child = spawn(this.#binary, [`--query-gpu=${fields.join(',')}`, '--format=csv,noheader,nounits', `-lms`, String(this.#intervalMs)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      this.#onLine(line);
    });
    child.on('exit', (code, signal) => {
      if (this.#child === child) {
        this.#failed = true;
        this.#warn({ code: 'MXW_WARN_READER_FAILED', subject: this.name, message: `nvidia-smi query loop exited (${signal ?? `code ${String(code)}`}); GPU readings are stale and not trusted` });
      }
    });
    child.on('error', (err) => {
      this.#failed = true;
      this.#warn({ code: 'MXW_WARN_READER_FAILED', subject: this.name, message: `nvidia-smi: ${err.message}` });
    });
  }

  #onLine(line: string): void {
    const cells = line.split(',');
    const state = this.#states.get(parseCell(cells[1]));
    if (state === undefined) return;
    const timeMs = parseTimestamp(cells[0]);
    const power = parseCell(cells[2]);
    state.powerW = power;
    state.temperatureC = parseCell(cells[3]);
    state.utilisation = parseCell(cells[4]) / 100;
    if (this.#hasEnergyCounter) {
      const counterJ = parseCell(cells[5]) / 1000;
      if (Number.isNaN(state.firstCounterJ)) state.firstCounterJ = counterJ;
      state.energyJ = counterJ - state.firstCounterJ;
    } else if (Number.isFinite(state.lastTimeMs) && Number.isFinite(timeMs) && Number.isFinite(power) && Number.isFinite(state.lastPowerW)) {
      // Trapezoid between nvidia-smi's own timestamps.
      const dt = (timeMs - state.lastTimeMs) / 1000;
      if (dt > 0 && dt < 10) state.energyJ += 0.5 * (power + state.lastPowerW) * dt;
    }
    state.lastTimeMs = timeMs;
    state.lastPowerW = power;
    state.updates++;
  }

  #check(channel: string, quantity: ReadingQuantity, value: number, now: number): boolean {
    let health = this.#health.get(channel);
    if (health === undefined) {
      health = new SensorHealth(channel, quantity, this.#warn);
      this.#health.set(channel, health);
    }
    return !this.#failed && health.check(value, now);
  }

  sample(): readonly Reading[] {
    if (this.#child === null) throw new ReaderNotStartedError(`${this.name}: sample() before start()`);
    const now = this.#now();
    return this.#gpus.flatMap((gpu): Reading[] => {
      const s = this.#states.get(gpu.index);
      if (s === undefined || s.updates === 0) return [];
      const base = `nvidia/${gpu.index}`;
      const p = (sensor: string, windowS: number, errorBound: number): ReadingProvenance => ({ kind: 'measured', source: 'nvml', sensor, windowS, errorBound });
      const energyBound = this.#hasEnergyCounter ? 0.001 : NVIDIA_POWER_ACCURACY_W * ((s.updates * this.#intervalMs) / 1000);
      return [
        { channel: `${base}/power`, quantity: 'power', value: s.powerW, trusted: this.#check(`${base}/power`, 'power', s.powerW, now), provenance: p(`nvidia-smi ${this.#powerField}`, 0, NVIDIA_POWER_ACCURACY_W) },
        { channel: `${base}/temperature`, quantity: 'temperature', value: s.temperatureC, trusted: this.#check(`${base}/temperature`, 'temperature', s.temperatureC, now), provenance: p('nvidia-smi temperature.gpu', 0, 1) },
        { channel: `${base}/utilisation`, quantity: 'utilisation', value: s.utilisation, trusted: this.#check(`${base}/utilisation`, 'utilisation', s.utilisation, now), provenance: p('nvidia-smi utilization.gpu', this.#intervalMs / 1000, 0.01) },
        {
          channel: `${base}/energy`,
          quantity: 'energy',
          value: s.energyJ,
          trusted: this.#check(`${base}/energy`, 'energy', s.energyJ, now),
          provenance: p(this.#hasEnergyCounter ? 'nvidia-smi total_energy_consumption' : `integral of ${this.#powerField}`, 0, energyBound),
        },
      ];
    });
  }

  stop(): Promise<void> {
    const child = this.#child;
    this.#child = null;
    if (child === null || child.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      child.once('exit', () => {
        resolve();
      });
      child.kill('SIGTERM');
    });
  }
}
