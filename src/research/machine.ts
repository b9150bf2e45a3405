/** A description of the machine a measurement ran on, printed beside every research table. */
import { readFileSync } from 'node:fs';
import { availableParallelism, release, totalmem } from 'node:os';

export interface MachineDescription {
  readonly kernel: string;
  readonly cpu: string;
  readonly cpus: number;
  readonly memoryGiB: number;
  readonly virtualised: boolean;
  readonly node: string;
}

export function describeMachine(): MachineDescription {
  let cpu = 'unknown';
  let virtualised = false;
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    cpu = /^model name\s*:\s*(.+)$/m.exec(info)?.[1]?.trim() ?? cpu;
    virtualised = /^flags\s*:.*\bhypervisor\b/m.test(info);
  } catch {
    // Not Linux.
  }
  return { kernel: release(), cpu, cpus: availableParallelism(), memoryGiB: Math.round(totalmem() / 2 ** 30), virtualised, node: process.version };
}
