/**
 * What this machine can measure: every reader is probed, and for energy, temperature and
 * GPU the best present source is chosen — or the thermal twin, said plainly, where there is
 * none. This is what `maxwell sensors` prints.
 */
import { NvidiaSmiReader } from './nvidia/nvidia-smi.js';
import { ProcStatReader } from './procfs/proc-stat.js';
import { ProcessCpuReader } from './procfs/process-stats.js';
import type { ChannelInfo, ProbeResult, SourceKind, TelemetryReader } from './reader.js';
import { HwmonReader } from './sysfs/hwmon.js';
import { MsrRaplReader } from './sysfs/msr.js';
import { PowercapRaplReader } from './sysfs/powercap.js';
import { ThermalZoneReader } from './sysfs/thermal-zone.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export interface DiscoveryOptions {
  /** Filesystem root. @default '/' */
  readonly root?: string;
  /** @default 'nvidia-smi' */
  readonly nvidiaBinary?: string;
}

export interface SourceReport {
  readonly reader: string;
  readonly source: SourceKind;
  readonly measures: string;
  readonly state: ProbeResult['state'];
  readonly reason?: string;
  readonly channels: readonly ChannelInfo[];
}

/** The choice for one kind of figure. */
export interface Choice {
  readonly reader: string;
  readonly provenance: 'measured' | 'modelled';
  readonly note: string;
}

export interface SensorReport {
  readonly sources: readonly SourceReport[];
  readonly energy: Choice;
  readonly temperature: Choice;
  readonly gpu: Choice | null;
  readonly cpuTime: Choice;
  /** What this machine lacks, in words. */
  readonly missing: readonly string[];
}

interface Candidate {
  readonly reader: TelemetryReader;
  readonly measures: string;
}

/** Probes every source. Nothing is started. */
export async function discoverSensors(options: DiscoveryOptions = {}): Promise<SensorReport> {
  const root = options.root ?? '/';
  const candidates: Candidate[] = [
    { reader: new PowercapRaplReader({ root }), measures: 'CPU package / core / DRAM energy (RAPL, powercap sysfs)' },
    { reader: new MsrRaplReader({ root }), measures: 'CPU package / core energy (RAPL, model-specific registers)' },
    { reader: new HwmonReader({ root }), measures: 'chip temperatures, power and energy (hwmon)' },
    { reader: new ThermalZoneReader({ root }), measures: 'temperatures (ACPI / platform thermal zones)' },
    { reader: new NvidiaSmiReader({ binary: options.nvidiaBinary ?? 'nvidia-smi' }), measures: 'NVIDIA GPU power, temperature, utilisation, energy' },
    { reader: new ProcStatReader({ root }), measures: 'per-core utilisation (/proc/stat)' },
    { reader: new ProcessCpuReader({ root }), measures: 'per-process CPU time, faults, context switches (/proc/PID)' },
  ];
  const sources: SourceReport[] = [];
  for (const { reader, measures } of candidates) {
    const probe = await reader.probe();
    sources.push({
      reader: reader.name,
      source: reader.source,
      measures,
      state: probe.state,
      ...(probe.state === 'present' ? {} : { reason: probe.reason }),
      channels: probe.state === 'present' ? probe.channels : [],
    });
  }
  const present = (name: string): SourceReport | undefined => sources.find((s) => s.reader === name && s.state === 'present');
  const hasQuantity = (name: string, quantity: string): boolean => present(name)?.channels.some((c) => c.quantity === quantity) === true;

  const energyReader = ['rapl-powercap', 'rapl-msr'].find((n) => present(n) !== undefined) ?? (hasQuantity('hwmon', 'energy') ? 'hwmon' : undefined);
  const temperatureReader = ['hwmon', 'thermal-zones'].find((n) => hasQuantity(n, 'temperature'));
  const gpu = present('nvidia-smi');
  const cgroupV1 = existsSync(join(root, 'sys/fs/cgroup/cpuacct/cpuacct.usage'));
  const cgroupV2 = existsSync(join(root, 'sys/fs/cgroup/cpu.stat')) || existsSync(join(root, 'sys/fs/cgroup/unified/cpu.stat'));

  const missing: string[] = [];
  if (energyReader === undefined) missing.push('no CPU energy sensor (no RAPL through powercap or MSRs, no hwmon energy input)');
  if (temperatureReader === undefined) missing.push('no temperature sensor (no hwmon temperature, no thermal zone)');
  if (gpu === undefined) missing.push('no NVIDIA GPU (nvidia-smi absent or found no device)');
  if (!cgroupV1 && !cgroupV2) missing.push('no cgroup CPU accounting (neither cpuacct nor cgroup2 cpu.stat)');

  const twinNote = 'modelled by the thermal twin, driven by the measured per-core utilisation from /proc/stat';
  return {
    sources,
    energy:
      energyReader === undefined
        ? { reader: 'thermal-twin', provenance: 'modelled', note: `package energy and power are ${twinNote}` }
        : { reader: energyReader, provenance: 'measured', note: `package energy measured by ${energyReader}` },
    temperature:
      temperatureReader === undefined
        ? { reader: 'thermal-twin', provenance: 'modelled', note: `core, GPU and chassis temperatures are ${twinNote}` }
        : { reader: temperatureReader, provenance: 'measured', note: `temperatures measured by ${temperatureReader}` },
    gpu: gpu === undefined ? null : { reader: 'nvidia-smi', provenance: 'measured', note: `${gpu.channels.length / 4} GPU(s) measured by nvidia-smi` },
    cpuTime: {
      reader: cgroupV1 || cgroupV2 ? 'cgroup-cpu' : 'procfs-processes',
      provenance: 'measured',
      note: cgroupV1 || cgroupV2
        ? `per-agent CPU time from cgroup ${cgroupV1 ? 'v1 cpuacct (ns)' : 'v2 cpu.stat (µs)'}, per process from /proc/PID`
        : 'per-process CPU time from /proc/PID (10 ms ticks)',
    },
    missing,
  };
}
