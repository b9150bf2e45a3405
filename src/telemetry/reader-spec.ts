/**
 * Serialisable descriptions of readers, so a worker thread can build its own (readers hold
 * file descriptors and child processes, which do not cross threads).
 */
import type { ThermalTwinParams } from '../physics/twin-params.js';
import { NvidiaSmiReader } from './nvidia/nvidia-smi.js';
import { ProcStatReader } from './procfs/proc-stat.js';
import { ProcessCpuReader } from './procfs/process-stats.js';
import { procStatUtilisation } from './procfs/utilisation-source.js';
import type { TelemetryReader } from './reader.js';
import { HwmonReader } from './sysfs/hwmon.js';
import { MsrRaplReader } from './sysfs/msr.js';
import { PowercapRaplReader } from './sysfs/powercap.js';
import { ThermalZoneReader } from './sysfs/thermal-zone.js';
import { TwinTelemetryReader } from './twin-reader.js';
import type { WarningSink } from './health.js';

export type ReaderSpec =
  | { readonly kind: 'rapl-powercap' | 'rapl-msr' | 'hwmon' | 'thermal-zones'; readonly root?: string }
  | { readonly kind: 'nvidia-smi'; readonly binary?: string; readonly intervalMs?: number }
  | { readonly kind: 'procfs-stat'; readonly root?: string }
  | { readonly kind: 'processes'; readonly pids: readonly number[]; readonly root?: string; readonly spread?: number }
  /** The thermal twin driven by this machine's /proc/stat (its own reader instance). */
  | { readonly kind: 'twin'; readonly params: ThermalTwinParams; readonly stepS: number; readonly root?: string };

function rootOption(root: string | undefined): { root?: string } {
  return root === undefined ? {} : { root };
}

function spread(spec: { readonly spread?: number }): { spread?: number } {
  return spec.spread === undefined ? {} : { spread: spec.spread };
}

/** Whether a reader needs its thread's event loop (child processes, streams). */
export function needsEventLoop(spec: ReaderSpec): boolean {
  return spec.kind === 'nvidia-smi';
}

/**
 * Builds readers from specs. A twin shares the `procfs-stat` reader when the specs have one
 * (placed before it, so each tick reads /proc/stat once); otherwise it owns a private one.
 */
export function createReaders(specs: readonly ReaderSpec[], onWarning?: WarningSink): TelemetryReader[] {
  const warn = onWarning === undefined ? {} : { onWarning };
  let sharedProcStat: ProcStatReader | undefined;
  return specs.map((spec): TelemetryReader => {
    const root = rootOption('root' in spec ? spec.root : undefined);
    switch (spec.kind) {
      case 'rapl-powercap':
        return new PowercapRaplReader({ ...root, ...warn });
      case 'rapl-msr':
        return new MsrRaplReader({ ...root, ...warn });
      case 'hwmon':
        return new HwmonReader({ ...root, ...warn });
      case 'thermal-zones':
        return new ThermalZoneReader({ ...root, ...warn });
      case 'nvidia-smi':
        return new NvidiaSmiReader({ ...warn, ...(spec.binary === undefined ? {} : { binary: spec.binary }), ...(spec.intervalMs === undefined ? {} : { intervalMs: spec.intervalMs }) });
      case 'procfs-stat':
        sharedProcStat = new ProcStatReader(root);
        return sharedProcStat;
      case 'processes': {
        const reader = new ProcessCpuReader({ ...root, ...spread(spec) });
        for (const pid of spec.pids) reader.watch(pid);
        return reader;
      }
      case 'twin': {
        if (sharedProcStat !== undefined) {
          return new TwinTelemetryReader({ params: spec.params, stepS: spec.stepS, utilisation: procStatUtilisation(sharedProcStat, true) });
        }
        const proc = new ProcStatReader(root);
        const twin = new TwinTelemetryReader({ params: spec.params, stepS: spec.stepS, utilisation: procStatUtilisation(proc) });
        // The twin reader owns its private /proc/stat reader's lifecycle.
        return {
          name: twin.name,
          source: twin.source,
          probe: () => twin.probe(),
          start: async () => {
            await proc.start();
            await twin.start();
          },
          sample: () => twin.sample(),
          stop: async () => {
            await twin.stop();
            await proc.stop();
          },
        };
      }
    }
  });
}
