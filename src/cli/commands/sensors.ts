/** `maxwell sensors`: every telemetry source found, what it measures, and what is missing. */
import type { Command } from 'commander';
import { discoverSensors, type SensorReport } from '../../telemetry/discovery.js';
import { fmt, formatTable, toJson, type CliIo } from '../output.js';
import type { GlobalOptions } from './common.js';

function bound(value: number): string {
  return Number.isFinite(value) ? `±${value < 0.01 ? value.toExponential(0) : fmt(value, 2)}` : 'unbounded';
}

export function formatSensors(report: SensorReport): string {
  let out = 'Telemetry sources on this machine\n\n';
  out += formatTable([
    ['source', 'state', 'measures / why not'],
    ...report.sources.map((s) => [s.reader, s.state, s.state === 'present' ? s.measures : (s.reason ?? '')]),
  ]);
  const channels = report.sources.flatMap((s) => s.channels);
  if (channels.length > 0) {
    out += '\nChannels\n';
    out += formatTable([
      ['channel', 'quantity', 'resolution', 'updates', 'error bound', 'provenance'],
      ...channels.map((c) => [c.id, c.quantity, String(c.resolution), `${fmt(c.updateHz, 0)} Hz`, bound(c.provenance.errorBound), `${c.provenance.kind} (${c.provenance.source})`]),
    ]);
  }
  out += '\nWhat Maxwell will use\n';
  out += `  energy:       ${report.energy.provenance.toUpperCase()}: ${report.energy.note}\n`;
  out += `  temperature:  ${report.temperature.provenance.toUpperCase()}: ${report.temperature.note}\n`;
  out += `  GPU:          ${report.gpu === null ? 'none' : `${report.gpu.provenance.toUpperCase()}: ${report.gpu.note}`}\n`;
  out += `  CPU time:     ${report.cpuTime.provenance.toUpperCase()}: ${report.cpuTime.note}\n`;
  if (report.missing.length > 0) out += `\nMissing:\n${report.missing.map((m) => `  - ${m}`).join('\n')}\n`;
  return out;
}

export function registerSensors(program: Command, io: CliIo): void {
  program
    .command('sensors')
    .description('list every telemetry source found, what it measures, its resolution and rate, and what is missing')
    .option('--json', 'print one JSON document on stdout')
    .option('--root <dir>', 'read sysfs/procfs under this directory instead of / (for captured trees)')
    .option('--nvidia-smi <path>', 'the nvidia-smi executable', 'nvidia-smi')
    .action(async (options: { root?: string; nvidiaSmi: string }, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const report = await discoverSensors({ ...(options.root === undefined ? {} : { root: options.root }), nvidiaBinary: options.nvidiaSmi });
      io.stdout.write(globals.json === true ? `${toJson(report)}\n` : formatSensors(report));
    });
}
