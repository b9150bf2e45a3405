/** `maxwell experiment scientist-vs-leech`: the headline experiment, to a report folder. */
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { InvalidArgumentError } from '../../errors.js';
import { BUSY_WARNING_FRACTION } from '../../telemetry/procfs/machine-load.js';
import { fmt, toJson, type CliIo } from '../output.js';
import { configFor, type GlobalOptions } from './common.js';
import type { ExperimentOptions } from '../../experiment/runner.js';

const AGENTS_DIR = fileURLToPath(new URL('../../agents/', import.meta.url));

/** The flags that set the workload, shared with `maxwell research ablation`. */
export interface WorkloadFlags {
  scientists?: string;
  leeches?: string;
  scientist?: string;
  leech?: string;
  scientistWallet?: string;
  leechWallet?: string;
  scientistBid?: string;
  scientistBidShare?: string;
  leechBid?: string;
}

interface ExperimentFlags extends WorkloadFlags {
  quick?: boolean;
  duration?: string;
  repetitions?: string;
  maxRepetitions: string;
  targetHalfWidth: string;
  out?: string;
}

export function positiveNumber(value: string | undefined, name: string, fallback: number, integer = false): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) throw new InvalidArgumentError(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(value)}`);
  return n;
}

/** The agents, their commands, wallets and bids, from the flags (defaults: 2 × cores of each role). */
export function experimentWorkload(flags: WorkloadFlags, cores: number): Pick<ExperimentOptions, 'scientists' | 'leeches' | 'scientistCommand' | 'leechCommand' | 'scientistWalletJ' | 'leechWalletJ' | 'scientistBidJ' | 'leechBidJ'> {
  const scientistBid = positiveNumber(flags.scientistBid, 'scientist-bid', 2);
  const bidShare = positiveNumber(flags.scientistBidShare, 'scientist-bid-share', 0.8);
  if (bidShare > 1) throw new InvalidArgumentError(`--scientist-bid-share must be in (0, 1], got ${String(bidShare)}`);
  const leechBid = positiveNumber(flags.leechBid, 'leech-bid', 3);
  return {
    scientists: positiveNumber(flags.scientists, 'scientists', 2 * cores, true),
    leeches: positiveNumber(flags.leeches, 'leeches', 2 * cores, true),
    scientistCommand: flags.scientist === undefined ? [process.execPath, join(AGENTS_DIR, 'scientist.js'), '--method', 'mr', '--bid', String(scientistBid), '--bid-share', String(bidShare), '--start', '{start}'] : ['/bin/sh', '-c', flags.scientist],
    leechCommand: flags.leech === undefined ? [process.execPath, join(AGENTS_DIR, 'leech.js'), '--bid', String(leechBid)] : ['/bin/sh', '-c', flags.leech],
    scientistWalletJ: positiveNumber(flags.scientistWallet, 'scientist-wallet', 100),
    leechWalletJ: positiveNumber(flags.leechWallet, 'leech-wallet', 20),
    scientistBidJ: scientistBid,
    leechBidJ: leechBid,
  };
}

/** The workload's flags, as `experiment scientist-vs-leech` and `research ablation` show them. */
export const WORKLOAD_OPTIONS: readonly (readonly [string, string, string?])[] = [
  ['--scientists <n>', 'scientist agents (default 2 × cores)'],
  ['--leeches <n>', 'leech agents (default 2 × cores)'],
  ['--scientist <cmd>', 'run this shell command as each scientist instead ({i} = its number); it must report primes through the agent protocol (docs/PROTOCOL.md) to earn'],
  ['--leech <cmd>', 'run this shell command as each leech instead'],
  ['--scientist-wallet <J>', 'opening wallet of a scientist, J', '100'],
  ['--leech-wallet <J>', 'opening wallet of a leech, J', '20'],
  ['--scientist-bid <J>', 'opening bid of a scientist, J per quantum', '2'],
  ['--scientist-bid-share <F>', 'after the first second a scientist bids F × what a quantum earns it (0 < F ≤ 1)', '0.8'],
  ['--leech-bid <J>', 'opening bid of a leech, J per quantum (leeches outbid scientists at first)', '3'],
];

export function registerExperiment(program: Command, io: CliIo, env: Readonly<Record<string, string | undefined>>, version: string): void {
  const experiment = program.command('experiment').description('reproducible experiments on this machine');
  const scientistVsLeech = experiment
    .command('scientist-vs-leech')
    .description('scientists (verified primes) and leeches (hash mining) under Linux CFS and under Maxwell; primes per joule with 95 % intervals, a report folder (needs root: cgroups)')
    .option('--quick', 'short arms (10 s) for a first look')
    .option('--duration <s>', 'seconds per arm (default 60, or 10 with --quick)')
    .option('--repetitions <n>', 'exactly n repetitions, arms alternated (default: at least 3, then until the ratio\'s 95 % interval is within ± --target-half-width)')
    .option('--max-repetitions <n>', 'at most this many repetitions under the default rule (each adds 2 arms)', '6')
    .option('--target-half-width <x>', 'stop once the ratio\'s interval is within ± x (default rule)', '0.1')
    .option('--out <dir>', 'report folder (default out/scientist-vs-leech-<time>)')
    .option('--json', 'print results.json on stdout');
  for (const [flags, description, defaultValue] of WORKLOAD_OPTIONS) scientistVsLeech.option(flags, description, defaultValue);
  scientistVsLeech
    .action(async (flags: ExperimentFlags, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const config = configFor({}, globals, [], env);
      const cores = availableParallelism();
      const quick = flags.quick === true;
      const durationS = positiveNumber(flags.duration, 'duration', quick ? 10 : 60);
      const maxRepetitions = positiveNumber(flags.maxRepetitions, 'max-repetitions', 6, true);
      const repetitions =
        flags.repetitions !== undefined
          ? positiveNumber(flags.repetitions, 'repetitions', 3, true)
          : { min: Math.min(3, maxRepetitions), max: maxRepetitions, targetHalfWidth: positiveNumber(flags.targetHalfWidth, 'target-half-width', 0.1) };
      const out = resolve(flags.out ?? join('out', `scientist-vs-leech-${new Date().toISOString().replace(/[:.]/g, '-')}`));
      // Loaded lazily: ECharts takes a second to load, and only this command needs it.
      const [{ runExperiment }, { writeReport, formatSummaryTable }] = await Promise.all([import('../../experiment/runner.js'), import('../../experiment/report/index.js')]);
      const quiet = globals.quiet === true;
      const tty = io.stderr.isTTY === true;
      let lastLabel = '';
      let lastDecile = -1;
      const results = await runExperiment({
        config,
        ...experimentWorkload(flags, cores),
        durationS,
        repetitions,
        quick,
        stateDir: join(out, 'ledgers'),
        version,
        onPreflight: (sample) => {
          if (quiet) return;
          const busy = `${fmt(sample.busyFraction * 100, 1)} %`;
          const who = sample.top.map((p) => `${p.name} (pid ${String(p.pid)}) ${fmt(p.cpuFraction * 100, 0)} %`).join(', ');
          io.stderr.write(
            sample.busyFraction > BUSY_WARNING_FRACTION
              ? `pre-flight: this machine is busy: other processes used ${busy} of its CPU over ${fmt(sample.sampleS, 1)} s${who === '' ? '' : ` (${who})`}; the results will carry their foreign load, but an idle machine gives the reference figure\n`
              : `pre-flight: machine idle enough (${busy} of its CPU used by other processes over ${fmt(sample.sampleS, 1)} s)\n`,
          );
        },
        onProgress: (fraction, label) => {
          if (quiet) return;
          const width = 30;
          const filled = Math.round(fraction * width);
          const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${fmt(100 * fraction, 0)} % ${label}`;
          const decile = Math.floor(fraction * 10);
          if (tty) io.stderr.write(`\r\x1b[2K${line}`);
          else if (label !== lastLabel || decile !== lastDecile) io.stderr.write(`${line}\n`);
          lastLabel = label;
          lastDecile = decile;
        },
      });
      if (!quiet && tty) io.stderr.write('\r\x1b[2K');
      const written = await writeReport(results, out);
      if (globals.json === true) io.stdout.write(`${toJson(results)}\n`);
      else io.stdout.write(`${formatSummaryTable(results)}\nReport: ${written.index}\n`);
    });
}
