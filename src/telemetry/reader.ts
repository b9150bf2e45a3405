/**
 * The telemetry interface every source implements: RAPL (powercap or MSR), hwmon, thermal
 * zones, NVIDIA GPUs, /proc, cgroups, and the thermal twin as fallback.
 *
 * Every reading carries its provenance: measured or modelled, which source and sensor, the
 * window it covers and an error bound. Readers never throw from `sample()` for a bad sensor:
 * the reading is marked untrusted and a coded warning names the sensor.
 */
import type { AbortOptions } from '../clock/clock.js';

/** Where a figure comes from. */
export type SourceKind = 'rapl' | 'msr' | 'hwmon' | 'thermal' | 'nvml' | 'procfs' | 'cgroup' | 'model';

/** What a channel measures, and its unit. */
export type ReadingQuantity = 'temperature' | 'power' | 'energy' | 'utilisation' | 'cpu-time';

/** Unit of each quantity. */
export const UNIT_OF: Readonly<Record<ReadingQuantity, string>> = {
  temperature: '°C',
  power: 'W',
  energy: 'J',
  utilisation: 'fraction',
  'cpu-time': 's',
};

/** The provenance every figure carries into reports and the ledger. */
export interface ReadingProvenance {
  readonly kind: 'measured' | 'modelled';
  readonly source: SourceKind;
  /** The sensor in words or its path, e.g. `/sys/class/powercap/intel-rapl:0 (package-0)`. */
  readonly sensor: string;
  /** The time the value averages over, seconds (0: instantaneous). */
  readonly windowS: number;
  /** ± bound on the value, in its unit (resolution, documented accuracy, or model error). */
  readonly errorBound: number;
}

/** One channel a reader offers. */
export interface ChannelInfo {
  readonly id: string;
  readonly quantity: ReadingQuantity;
  readonly description: string;
  /** Smallest step of the value, in its unit. */
  readonly resolution: number;
  /** Highest useful sampling rate, Hz (how often the hardware updates it). */
  readonly updateHz: number;
  readonly provenance: ReadingProvenance;
}

/** What probing found. */
export type ProbeResult =
  | { readonly state: 'present'; readonly channels: readonly ChannelInfo[] }
  | { readonly state: 'absent'; readonly reason: string }
  | { readonly state: 'denied'; readonly reason: string };

/** One sampled value. */
export interface Reading {
  readonly channel: string;
  readonly quantity: ReadingQuantity;
  /** In the quantity's unit; energy and CPU time are cumulative since `start()`. */
  readonly value: number;
  /** False when the value failed a sanity check (see health.ts); it must not drive decisions. */
  readonly trusted: boolean;
  readonly provenance: ReadingProvenance;
}

/** A telemetry source. */
export interface TelemetryReader {
  /** Stable name, e.g. `rapl-powercap`. */
  readonly name: string;
  readonly source: SourceKind;
  /** Looks for the hardware or files without starting anything. */
  probe(options?: AbortOptions): Promise<ProbeResult>;
  /** Opens what sampling needs. Throws `MXW_ERR_SENSORS_UNAVAILABLE` when the source is absent or denied. */
  start(options?: AbortOptions): Promise<void>;
  /** Reads every channel now; synchronous and cheap. Throws `MXW_ERR_READER_NOT_STARTED` before `start()`. */
  sample(): readonly Reading[];
  /** Releases everything; idempotent. */
  stop(): Promise<void>;
}
