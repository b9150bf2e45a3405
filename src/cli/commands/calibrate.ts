/** `maxwell calibrate`: identify τ, dead time, resistance and coupling K by step experiments. */
import type { Command } from 'commander';
import { SensorsUnavailableError } from '../../errors.js';
import { calibrateTwin, type Comparison, type TwinCalibrationReport } from '../../simulation/calibrate-twin.js';
import { createProgress, fmt, formatTable, toJson, type CliIo } from '../output.js';
import { addConfigFlags, configFor, TWIN_FLAGS, type ConfigFlag, type GlobalOptions } from './common.js';

const FLAGS: readonly ConfigFlag[] = [
  ...TWIN_FLAGS,
  { flags: '--sample-hz <hz>', description: 'sampling rate of the experiments', property: 'sampleHz', key: 'calibration.sampleHz' },
  { flags: '--repeats <n>', description: 'runs of each experiment, averaged', property: 'repeats', key: 'calibration.repeats' },
];

function cell(c: Comparison, decimals: number): string[] {
  return [fmt(c.truth, decimals), `${fmt(c.identified, decimals)} ± ${fmt(c.ci95, decimals)}`, `${fmt(c.errorPct, 1)}%`];
}

/** The human-readable report. */
export function formatCalibration(report: TwinCalibrationReport): string {
  const e = report.experiment;
  let out =
    `Calibration on the thermal twin — every figure below is MODELLED (simulated sensors, σ = ${e.noiseC} °C, ` +
    `step ${e.quantumC} °C), sampled at ${e.sampleHz} Hz, ${e.repeats} runs per experiment averaged ` +
    `(${fmt(e.simulatedS, 0)} s simulated). Identified values carry 95 % confidence intervals.\n\n`;
  out += formatTable([
    ['plane', 'τ true s', 'τ identified s', 'err', 'θ true s', 'θ identified s', 'err', 'R true K/W', 'R identified K/W', 'err'],
    ...report.planes.map((p) => [p.name, ...cell(p.tauS, 3), ...cell(p.deadTimeS, 4), ...cell(p.resistanceKPerW, 3)]),
  ]);
  out += '\nCoupling K[i][j] (share of source j\'s heat reaching plane i): true / identified (error)\n';
  out += formatTable([
    ['', ...report.sourceNames],
    ...report.coupling.map((row, i) => [
      report.sourceNames[i] ?? '',
      ...row.map((c) => (c.truth === 1 && c.identified === 1 ? '1' : `${fmt(c.truth, 3)} / ${fmt(c.identified, 3)} (${fmt(c.errorPct, 1)}%)`)),
    ]),
  ]);
  const w = report.worstErrorPct;
  out += `\nWorst error: τ ${fmt(w.tau, 2)}%, θ ${fmt(w.deadTime, 2)}%, core-to-core K ${fmt(w.coreCoupling, 2)}%, ` +
    `GPU↔core K ${fmt(w.gpuCoupling, 2)}% (target: within 5 %).\n`;
  return out;
}

export function registerCalibrate(program: Command, io: CliIo, env: Readonly<Record<string, string | undefined>>): void {
  const command = program
    .command('calibrate')
    .description('identify each thermal plane (τ, dead time, resistance) and the coupling matrix K by step experiments')
    .option('--twin', 'run the experiments on the thermal twin and compare with its true parameters')
    .option('--json', 'print one JSON document on stdout');
  addConfigFlags(command, FLAGS);
  command.addHelpText(
    'after',
    '\nWithout real thermal sensors (this needs the telemetry layer), only --twin is available.\n' +
      'Example: maxwell calibrate --twin --cores 8 --noise 0.25 --json',
  );
  command.action(async (options: Record<string, unknown>, cmd: Command) => {
    const globals = cmd.optsWithGlobals<GlobalOptions>();
    if (options['twin'] !== true) {
      throw new SensorsUnavailableError(
        'calibration on real sensors needs the telemetry layer, which is not built yet; run `maxwell calibrate --twin`',
      );
    }
    const config = configFor(options, globals, FLAGS, env);
    const progress = createProgress(io, globals.quiet === true);
    const report = await calibrateTwin(config, { onExperiment: (i, n, label) => { progress.step(i, n, label); } });
    progress.done();
    io.stdout.write(globals.json === true ? `${toJson({ provenance: { kind: 'modelled', source: report.identified.source }, ...report })}\n` : formatCalibration(report));
  });
}
