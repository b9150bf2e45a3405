/** `maxwell twin`: the twin demo, the main job until the experiment exists. */
import type { Command } from 'commander';
import { runTwinDemo, type TwinDemoReport } from '../../simulation/twin-demo.js';
import { createProgress, fmt, formatTable, toJson, type CliIo } from '../output.js';
import { addConfigFlags, configFor, TWIN_FLAGS, type ConfigFlag, type GlobalOptions } from './common.js';

const FLAGS: readonly ConfigFlag[] = [
  ...TWIN_FLAGS,
  { flags: '--setpoint <celsius>', description: 'temperature limit the controllers hold', property: 'setpoint', key: 'control.setpointC' },
  { flags: '--rule <rule>', description: 'tuning rule: simc (PI) or imc (PID)', property: 'rule', key: 'control.rule' },
  { flags: '--duration <seconds>', description: 'simulated time', property: 'duration', key: 'demo.durationS' },
];

/** A compact timeline and summary. */
export function formatTwinDemo(report: TwinDemoReport): string {
  const t0 = report.tunings[0];
  let out =
    `Thermal twin demo: ${report.cores} cores, every core stepped to full demand at t = ${report.loadStepAtS} s, ` +
    `setpoint ${report.setpointC} °C.\nAll temperatures and powers are MODELLED by the thermal twin; ` +
    `controller gains are derived (${t0?.rule.toUpperCase() ?? '?'}) from the plant identified on the twin, not hand-picked.\n\n`;
  out += formatTable([
    ['core', 'plant gain °C/unit', 'τ s', 'θ s', 'Kp /°C', 'Ti s', 'Td s'],
    ...report.tunings.map((t, i) => [
      `core${i}`, fmt(t.model.gain, 1), fmt(t.model.tauS, 3), fmt(t.model.deadTimeS, 3), fmt(t.params.kp, 4), fmt(t.params.tiS, 3), fmt(t.params.tdS, 3),
    ]),
  ]);
  out += '\n' + formatTable([
    ['t s', 'hottest °C', 'mean °C', 'allowed', 'package W', ''],
    ...report.timeline.map((row) => [
      fmt(row.timeS, 1), fmt(row.hottestCoreC, 2), fmt(row.meanCoreC, 2), fmt(row.meanAllowed, 3), fmt(row.packagePowerW, 1),
      '#'.repeat(Math.max(0, Math.round(row.meanAllowed * 20))),
    ]),
  ]);
  const m = report.metrics;
  const settle = m.settlingTimeS === null ? `not settled within ±${m.bandC} °C` : `settled within ±${m.bandC} °C after ${fmt(m.settlingTimeS, 2)} s`;
  out += `\nOvershoot ${fmt(Math.max(0, m.overshootC), 2)} °C (target ≤ 2 °C); ${settle} ` +
    `(target ≤ 3τ = ${fmt(3 * report.plantTauS, 2)} s); energy ${fmt(report.energyJ, 1)} J (modelled).\n`;
  return out;
}

export function registerTwin(program: Command, io: CliIo, env: Readonly<Record<string, string | undefined>>): void {
  const command = program
    .command('twin')
    .description('identify the thermal twin, tune a PID per core from it, and hold a full load at the setpoint')
    .option('--json', 'print one JSON document on stdout')
    .option('--allow-misfit', 'tune even from planes whose step response is not first order (MXW_WARN_IDENT_MISFIT)');
  addConfigFlags(command, FLAGS);
  command.addHelpText(
    'after',
    '\nGains are refused (MXW_ERR_IDENT_MISFIT) when a core plane\'s fit is a misfit, unless --allow-misfit.\n' +
      'Example: maxwell twin --cores 8 --setpoint 75 --duration 20',
  );
  command.action(async (options: Record<string, unknown>, cmd: Command) => {
    const globals = cmd.optsWithGlobals<GlobalOptions>();
    const config = configFor(options, globals, FLAGS, env);
    const progress = createProgress(io, globals.quiet === true);
    const report = await runTwinDemo(config, { onPhase: (label) => { progress.phase(label); }, allowMisfit: options['allowMisfit'] === true });
    progress.done();
    io.stdout.write(globals.json === true ? `${toJson({ provenance: { kind: 'modelled', source: 'thermal twin' }, ...report })}\n` : formatTwinDemo(report));
  });
}
