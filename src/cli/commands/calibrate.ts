/** `maxwell calibrate`: identify τ, dead time, resistance and coupling K by step experiments. */
import type { Command } from 'commander';
import { InvalidArgumentError, SensorsUnavailableError } from '../../errors.js';
import { fitFopdt, type FitDiagnostics, type FopdtFit, type IdentWarning } from '../../identification/fopdt.js';
import { readStepCsv } from '../step-csv-file.js';
import { calibrateTwin, type Comparison, type TwinCalibrationReport } from '../../simulation/calibrate-twin.js';
import { createProgress, fmt, formatTable, toJson, type CliIo } from '../output.js';
import { addConfigFlags, configFor, TWIN_FLAGS, type ConfigFlag, type GlobalOptions } from './common.js';

const FLAGS: readonly ConfigFlag[] = [
  ...TWIN_FLAGS,
  { flags: '--sample-hz <hz>', description: 'sampling rate of the experiments', property: 'sampleHz', key: 'calibration.sampleHz' },
  { flags: '--repeats <n>', description: 'runs of each experiment, averaged', property: 'repeats', key: 'calibration.repeats' },
];

function cell(c: Comparison, decimals: number): string[] {
  return [
    fmt(c.effective, decimals),
    `${fmt(c.identified, decimals)} ± ${fmt(c.ci95, decimals)}`,
    `${fmt(c.effectiveErrorPct, 1)}%${c.covered ? '' : ' ✗'}`,
  ];
}

function nominal(c: Comparison, decimals: number): string[] {
  return [fmt(c.truth, decimals), `${fmt(percent(c.effective, c.truth), 2)}%`, `${fmt(c.errorPct, 1)}%`];
}

function percent(value: number, reference: number): number {
  return (100 * (value - reference)) / reference;
}

/** The goodness-of-fit table: one row per fitted record. */
export function formatDiagnostics(rows: readonly { readonly name: string; readonly diagnostics: FitDiagnostics }[]): string {
  return formatTable([
    ['plane', 'R²', 'noise σ', 'resid σ / noise σ', 'lag-1 autocorr', 'runs z', 'at bound', 'verdict'],
    ...rows.map(({ name, diagnostics: d }) => [
      name,
      fmt(d.rSquared, 4),
      fmt(d.noiseStd, 3),
      Number.isFinite(d.residualToNoise) ? fmt(d.residualToNoise, 2) : '∞',
      fmt(d.lag1Autocorrelation, 3),
      fmt(d.runsZ, 1),
      d.atBounds.length === 0 ? '-' : d.atBounds.map((b) => (b === 'tauS' ? 'τ' : 'θ')).join(' '),
      d.verdict,
    ]),
  ]);
}

function formatWarnings(warnings: readonly IdentWarning[]): string {
  return warnings.map((w) => `warning ${w.code}: ${w.message}\n`).join('');
}

/** The human-readable report. */
export function formatCalibration(report: TwinCalibrationReport): string {
  const e = report.experiment;
  let out =
    `Calibration on the thermal twin — every figure below is MODELLED (simulated sensors, σ = ${e.noiseC} °C, ` +
    `step ${e.quantumC} °C), sampled at ${e.sampleHz} Hz, ${e.repeats} runs per experiment averaged ` +
    `(${fmt(e.simulatedS, 0)} s simulated). Identified values carry 95 % confidence intervals.\n` +
    'Effective = what the twin really does once its leakage feeds back (its noise-free response, fitted the same way);\n' +
    'the intervals are judged against it (✗: the interval misses it).\n\n';
  out += formatTable([
    ['plane', 'τ effective s', 'τ identified s', 'err', 'θ effective s', 'θ identified s', 'err', 'R effective K/W', 'R identified K/W', 'err'],
    ...report.planes.map((p) => [p.name, ...cell(p.tauS, 3), ...cell(p.deadTimeS, 4), ...cell(p.resistanceKPerW, 3)]),
  ]);
  const c = report.intervalsCovering;
  out += `Intervals holding the effective value: ${c.covered} of ${c.total}.\n`;
  out += '\nThe twin\'s nominal parameters, the leakage bias of its effective plant, and the identified error against nominal:\n';
  out += formatTable([
    ['plane', 'τ nominal s', 'leakage', 'err', 'θ nominal s', 'leakage', 'err', 'R nominal K/W', 'leakage', 'err'],
    ...report.planes.map((p) => [p.name, ...nominal(p.tauS, 3), ...nominal(p.deadTimeS, 4), ...nominal(p.resistanceKPerW, 3)]),
  ]);
  out += '\nGoodness of fit of each plane\'s own step response (docs/PHYSICS.md, "Goodness of fit"):\n';
  out += formatDiagnostics(report.identified.planes);
  out += '\nCoupling K[i][j] (share of source j\'s heat reaching plane i): nominal / identified (error against nominal)\n';
  out += formatTable([
    ['', ...report.sourceNames],
    ...report.coupling.map((row, i) => [
      report.sourceNames[i] ?? '',
      ...row.map((k) => (k.truth === 1 && k.identified === 1 ? '1' : `${fmt(k.truth, 3)} / ${fmt(k.identified, 3)} (${fmt(k.errorPct, 1)}%)`)),
    ]),
  ]);
  const w = report.worstErrorPct;
  const x = report.worstEffectiveErrorPct;
  out += `\nWorst error against nominal: τ ${fmt(w.tau, 2)}%, θ ${fmt(w.deadTime, 2)}%, core-to-core K ${fmt(w.coreCoupling, 2)}%, ` +
    `GPU↔core K ${fmt(w.gpuCoupling, 2)}% (target: within 5 %).\n`;
  out += `Worst error against the effective plant: τ ${fmt(x.tau, 2)}%, θ ${fmt(x.deadTime, 2)}%, core-to-core K ${fmt(x.coreCoupling, 2)}%, ` +
    `GPU↔core K ${fmt(x.gpuCoupling, 2)}%.\n`;
  out += formatWarnings(report.identified.warnings);
  return out;
}

/** What `--from-csv` reports. */
export interface CsvCalibrationReport {
  readonly file: string;
  readonly stepAtS: number;
  readonly fit: FopdtFit;
  readonly warnings: readonly IdentWarning[];
}

/** The human-readable report of a user's own step response. */
export function formatCsvCalibration(report: CsvCalibrationReport): string {
  const f = report.fit;
  const est = (value: number, ci: number, decimals: number): string => `${fmt(value, decimals)} ± ${fmt(ci, decimals)}`;
  let out =
    `Step response from ${report.file} (step at ${report.stepAtS} s, ${f.samples} samples) — every figure below is MEASURED ` +
    `(user file ${report.file}), fitted as first order plus dead time. Identified values carry 95 % confidence intervals.\n\n`;
  out += formatTable([
    ['plane', 'τ identified s', 'θ identified s', 'gain identified', 'initial identified', 'residual σ'],
    [report.file, est(f.tauS.value, f.tauS.ci95, 3), est(f.deadTimeS.value, f.deadTimeS.ci95, 4), est(f.gain.value, f.gain.ci95, 3), est(f.initial.value, f.initial.ci95, 3), fmt(f.residualStd, 3)],
  ]);
  out += '\nGoodness of fit (docs/PHYSICS.md, "Goodness of fit"):\n';
  out += formatDiagnostics([{ name: report.file, diagnostics: f.diagnostics }]);
  out += formatWarnings(report.warnings);
  return out;
}

/** Fits a user's step-response CSV. */
export async function calibrateCsv(file: string, stepAtS: number): Promise<CsvCalibrationReport> {
  const record = await readStepCsv(file, stepAtS);
  const fit = fitFopdt(record);
  const warnings = fit.warnings.map((w) => ({ ...w, subject: file, message: w.message.replace(/^record:/, `${file}:`) }));
  return { file, stepAtS, fit, warnings };
}

function parseStepAt(value: unknown): number {
  const text = typeof value === 'string' ? value.trim() : '';
  const number = text === '' ? Number.NaN : Number(text);
  if (!Number.isFinite(number)) {
    throw new InvalidArgumentError(`--from-csv needs --step-at S, the time (s, on the file's time base) at which the input stepped; got ${typeof value === 'string' ? `"${value}"` : 'none'}`);
  }
  return number;
}

export function registerCalibrate(program: Command, io: CliIo, env: Readonly<Record<string, string | undefined>>): void {
  const command = program
    .command('calibrate')
    .description('identify each thermal plane (τ, dead time, resistance) and the coupling matrix K by step experiments')
    .option('--twin', 'run the experiments on the thermal twin and compare with its true parameters')
    .option('--from-csv <file>', 'fit your own step response: a CSV of time (s) and temperature (°C) columns')
    .option('--step-at <seconds>', 'with --from-csv: when the input stepped, on the file\'s time base')
    .option('--json', 'print one JSON document on stdout');
  addConfigFlags(command, FLAGS);
  command.addHelpText(
    'after',
    '\nReal thermal sensors need the telemetry layer, which is not built yet: use --twin, or record a step\n' +
      'response yourself and fit it with --from-csv FILE --step-at S. The CSV has one "time, temperature" pair\n' +
      'per line (comma, semicolon, tab or space separated; an optional header such as "time,temperature";\n' +
      'lines starting with # are skipped). Every fit prints its goodness of fit; a plant that is not first\n' +
      'order is flagged MXW_WARN_IDENT_MISFIT.\n' +
      'Examples: maxwell calibrate --twin --cores 8 --noise 0.25 --json\n' +
      '          maxwell calibrate --from-csv step.csv --step-at 1.0',
  );
  command.action(async (options: Record<string, unknown>, cmd: Command) => {
    const globals = cmd.optsWithGlobals<GlobalOptions>();
    const csv = options['fromCsv'];
    if (typeof csv === 'string') {
      if (options['twin'] === true) throw new InvalidArgumentError('--twin and --from-csv exclude each other: pick one');
      const report = await calibrateCsv(csv, parseStepAt(options['stepAt']));
      io.stdout.write(
        globals.json === true ? `${toJson({ provenance: { kind: 'measured', source: `user file ${csv}` }, ...report })}\n` : formatCsvCalibration(report),
      );
      return;
    }
    if (options['stepAt'] !== undefined) throw new InvalidArgumentError('--step-at goes with --from-csv FILE');
    if (options['twin'] !== true) {
      throw new SensorsUnavailableError(
        'calibration on real sensors needs the telemetry layer, which is not built yet; run `maxwell calibrate --twin`, ' +
          'or fit a step response you recorded with `maxwell calibrate --from-csv FILE --step-at S`',
      );
    }
    const config = configFor(options, globals, FLAGS, env);
    const progress = createProgress(io, globals.quiet === true);
    const report = await calibrateTwin(config, { onExperiment: (i, n, label) => { progress.step(i, n, label); } });
    progress.done();
    io.stdout.write(globals.json === true ? `${toJson({ provenance: { kind: 'modelled', source: report.identified.source }, ...report })}\n` : formatCalibration(report));
  });
}
