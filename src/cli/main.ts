/** The `maxwell` command line: argument parsing and output only; no business logic. */
import { Command, CommanderError } from 'commander';
import { reportError, type CliIo } from './output.js';
import { packageVersion } from '../version.js';

type Env = Readonly<Record<string, string | undefined>>;
type Register = (program: Command, io: CliIo, env: Env) => void;

/**
 * Each top-level command's module, loaded only when that command runs: loading every command's
 * dependencies (the daemon, zod, ws, the research harnesses) took 0.7 s per call, which every
 * `maxwell agent …` paid, and 3–5 s under QEMU's TCG. Order is the order `maxwell --help` lists them.
 */
const COMMAND_GROUPS: readonly { readonly names: readonly string[]; readonly load: () => Promise<Register> }[] = [
  { names: ['twin'], load: async () => (await import('./commands/twin.js')).registerTwin },
  { names: ['calibrate'], load: async () => (await import('./commands/calibrate.js')).registerCalibrate },
  { names: ['sensors'], load: async () => (await import('./commands/sensors.js')).registerSensors },
  { names: ['research'], load: async () => (await import('./commands/research.js')).registerResearch },
  { names: ['ledger'], load: async () => (await import('./commands/ledger.js')).registerLedger },
  { names: ['experiment'], load: async () => { const { registerExperiment } = await import('./commands/experiment.js'); return (p, io, env) => { registerExperiment(p, io, env, packageVersion()); }; } },
  { names: ['run'], load: async () => (await import('./commands/run.js')).registerRun },
  { names: ['dashboard'], load: async () => (await import('./commands/dashboard.js')).registerDashboard },
  { names: ['sweep'], load: async () => (await import('./commands/sweep.js')).registerSweep },
  {
    names: ['agent', 'infer', 'fleet', 'agents', 'wallet', 'status', 'decisions', 'watch'],
    load: async () => (await import('./commands/daemon-api.js')).registerDaemonApi,
  },
  { names: ['config'], load: async () => (await import('./commands/config.js')).registerConfig },
];

/** Root options that take a value: their value is not the command's name. */
const VALUE_OPTIONS = new Set(['-c', '--config', '--set']);

/** The first word of `argv` that is not an option or an option's value: the command asked for, if any. */
export function commandWord(argv: readonly string[]): string | undefined {
  let skipValue = false;
  for (const [i, arg] of argv.entries()) {
    if (skipValue) skipValue = false;
    else if (arg === '--') return argv[i + 1];
    else if (VALUE_OPTIONS.has(arg)) skipValue = true;
    else if (!arg.startsWith('-')) return arg;
  }
  return undefined;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/**
 * Builds the program with the command `argv` names, or with every command when it names none
 * or one that does not exist (root help, and commander's "did you mean" need them all).
 * Exported for tests, which pass their own streams and environment.
 */
export async function createProgram(io: CliIo, env: Env, argv: readonly string[] = []): Promise<Command> {
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
  const word = commandWord(argv);
  const asked = COMMAND_GROUPS.find((group) => word !== undefined && group.names.includes(word));
  for (const group of asked === undefined ? COMMAND_GROUPS : [asked]) (await group.load())(program, io, env);
  return program;
}

/** Runs the CLI; resolves to the process exit code. */
export async function main(argv: readonly string[], io: CliIo, env: Readonly<Record<string, string | undefined>>): Promise<number> {
  try {
    const program = await createProgram(io, env, argv);
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    return reportError(io, err, argv.includes('--json'));
  }
}

