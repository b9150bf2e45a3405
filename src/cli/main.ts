/** The `maxwell` command line: argument parsing and output only; no business logic. */
import { Command, CommanderError } from 'commander';
import { registerCalibrate } from './commands/calibrate.js';
import { registerConfig } from './commands/config.js';
import { registerExperiment } from './commands/experiment.js';
import { registerDaemonApi } from './commands/daemon-api.js';
import { registerLedger } from './commands/ledger.js';
import { registerRun } from './commands/run.js';
import { registerResearch } from './commands/research.js';
import { registerSensors } from './commands/sensors.js';
import { registerTwin } from './commands/twin.js';
import { reportError, type CliIo } from './output.js';
import { registerDashboard } from './commands/dashboard.js';
import { registerSweep } from './commands/sweep.js';
import { packageVersion } from '../version.js';


function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Builds the program. Exported for tests, which pass their own streams and environment. */
export function createProgram(io: CliIo, env: Readonly<Record<string, string | undefined>>): Command {
  const program = new Command()
    .name('maxwell')
    .description('A thermodynamic hypervisor for autonomous agents: compute sold by price, priced by heat.')
    .version(packageVersion(), '-V, --version')
    .option('-c, --config <file>', 'JSON configuration file (default: $MAXWELL_CONFIG)')
    .option('--set <key=value>', 'set any configuration key, e.g. --set twin.core.tauS=1.5 (repeatable)', collect)
    .option('-q, --quiet', 'no progress on stderr')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    });
  program.addHelpText(
    'after',
    '\nConfiguration: defaults ← --config file ← MAXWELL_* environment ← flags; see `maxwell config`.\n' +
      'Every command that prints results takes --json (one JSON document on stdout; progress on stderr).\n' +
      'Errors carry stable MXW_ERR_* codes, listed in docs/ERRORS.md.',
  );
  registerTwin(program, io, env);
  registerCalibrate(program, io, env);
  registerSensors(program, io);
  registerResearch(program, io);
  registerLedger(program, io, env);
  registerExperiment(program, io, env, packageVersion());
  registerRun(program, io, env);
  registerDashboard(program, io, env);
  registerSweep(program, io);
  registerDaemonApi(program, io, env);
  registerConfig(program, io, env);
  return program;
}

/** Runs the CLI; resolves to the process exit code. */
export async function main(argv: readonly string[], io: CliIo, env: Readonly<Record<string, string | undefined>>): Promise<number> {
  const program = createProgram(io, env);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    return reportError(io, err, argv.includes('--json'));
  }
}

