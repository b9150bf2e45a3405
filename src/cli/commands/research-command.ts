/**
 * The skeleton every `maxwell research …` command shares: `--quick`, `--out`, `--json`, progress
 * on stderr, the markdown report file, printing and the exit code. A command brings only its own
 * flags, its run and its formatter.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { abortOnSignals, configFor, type GlobalOptions } from './common.js';
import type { MaxwellConfig } from '../../config/schema.js';
import { InvalidArgumentError } from '../../errors.js';
import { createProgress, toJson, type CliIo } from '../output.js';

/** A flag as commander takes it: flags, description, default value. */
export type ResearchOption = readonly [flags: string, description: string, defaultValue?: string];

/** The flags the skeleton adds to every research command. */
export interface ResearchFlags {
  readonly quick?: boolean;
  readonly out?: string;
  readonly json?: boolean;
}

/** What a research run gets from the skeleton. */
export interface ResearchContext {
  readonly quick: boolean;
  readonly onProgress: (index: number, total: number, label: string) => void;
  /** Fires on SIGINT or SIGTERM when the command `stopsOnSignals`; otherwise never. */
  readonly signal: AbortSignal;
  /** The configuration (file, environment, `--set`), for runs that start daemons in-process. */
  readonly config: () => Readonly<MaxwellConfig>;
}

export interface ResearchCommand<Flags extends object, Report> {
  readonly name: string;
  readonly description: string;
  /** Help of `--quick`; a command without it has no quick mode. */
  readonly quick?: string;
  /** Its own flags, shown between `--quick` and `--out`. */
  readonly options?: readonly ResearchOption[];
  /** What `--out` writes, as its help names it. @default 'report' */
  readonly outWhat?: string;
  /** Flags for further files, shown after `--out`. */
  readonly outputs?: readonly ResearchOption[];
  readonly helpAfter?: string;
  /** Heading of the markdown file `--out` writes; without one the file is the fenced text alone. */
  readonly title?: string;
  /**
   * Whether SIGINT and SIGTERM abort `context.signal`. Only a run that watches the signal may ask:
   * while the handlers are installed, Node no longer exits on Ctrl-C by itself.
   */
  readonly stopsOnSignals?: boolean;
  run(flags: Flags & ResearchFlags, context: ResearchContext): Report | Promise<Report>;
  format(report: Report): string;
  /** The document `--json` prints. @default the report */
  json?(report: Report): unknown;
  /** Writes further files, after `--out` and before anything is printed. */
  save?(report: Report, flags: Flags & ResearchFlags): void;
  /** Whether the run failed although it produced a report (exit code 1 after printing it). */
  failed?(report: Report): boolean;
}

/** Types a command's definition from its run (an identity at run time). */
export function defineResearch<Flags extends object, Report>(command: ResearchCommand<Flags, Report>): ResearchCommand<Flags, Report> {
  return command;
}

/** The markdown file `--out` writes around a report's text. */
export function reportMarkdown(text: string, title?: string): string {
  return `${title === undefined ? '' : `# ${title}\n\n`}\`\`\`\n${text}\`\`\`\n`;
}

function addOption(command: Command, [flags, description, defaultValue]: ResearchOption): void {
  if (defaultValue === undefined) command.option(flags, description);
  else command.option(flags, description, defaultValue);
}

/** Adds `definition` under `maxwell research`. */
export function addResearch<Flags extends object, Report>(
  research: Command,
  io: CliIo,
  definition: ResearchCommand<Flags, Report>,
  env: Readonly<Record<string, string | undefined>> = process.env,
): void {
  const command = research.command(definition.name).description(definition.description);
  if (definition.quick !== undefined) command.option('--quick', definition.quick);
  for (const option of definition.options ?? []) addOption(command, option);
  command.option('--out <file>', `also write the ${definition.outWhat ?? 'report'} (markdown) to this file`);
  for (const option of definition.outputs ?? []) addOption(command, option);
  command.option('--json', 'print one JSON document on stdout');
  if (definition.helpAfter !== undefined) command.addHelpText('after', definition.helpAfter);
  command.action(async (flags: Flags & ResearchFlags, cmd: Command) => {
    const globals = cmd.optsWithGlobals<GlobalOptions>();
    const progress = createProgress(io, globals.quiet === true);
    const abort = definition.stopsOnSignals === true ? abortOnSignals() : undefined;
    try {
      const report = await definition.run(flags, {
        quick: flags.quick === true,
        onProgress: (i, n, label) => { progress.step(i, n, label); },
        signal: abort?.signal ?? new AbortController().signal,
        config: () => configFor({}, globals, [], env),
      });
      progress.done();
      const text = definition.format(report);
      if (flags.out !== undefined) writeFileSync(flags.out, reportMarkdown(text, definition.title));
      definition.save?.(report, flags);
      io.stdout.write(globals.json === true ? `${toJson(definition.json === undefined ? report : definition.json(report))}\n` : text);
      // A failed run still prints and writes what it measured, and says so by its exit code.
      if (definition.failed?.(report) === true) process.exitCode = 1;
    } finally {
      abort?.dispose();
    }
  });
}

/** A comma-separated subset of `allowed`; undefined when the flag is absent. */
export function listFlag<T extends string>(value: string | undefined, allowed: readonly T[], name: string): T[] | undefined {
  if (value === undefined) return undefined;
  const items = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const item of items) if (!allowed.includes(item as T)) throw new InvalidArgumentError(`--${name}: "${item}" is not one of ${allowed.join(', ')}`);
  return items as T[];
}

export function positiveFlag(value: string, name: string, integer = false): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) throw new InvalidArgumentError(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got ${value}`);
  return n;
}

export function seedFlag(value: string): number {
  const seed = Number(value);
  if (!Number.isSafeInteger(seed)) throw new InvalidArgumentError(`--seed must be an integer, got ${value}`);
  return seed;
}

const RANGE_NOUN = { number: '', seconds: 'a number of seconds ', integer: 'an integer ' } as const;

/** A number in [min, max]; `kind` 'integer' also refuses fractions. */
export function rangeFlag(value: string, name: string, min: number, max: number, kind: keyof typeof RANGE_NOUN = 'number'): number {
  const n = Number(value);
  if (!(kind === 'integer' ? Number.isInteger(n) : Number.isFinite(n)) || n < min || n > max) throw new InvalidArgumentError(`--${name} must be ${RANGE_NOUN[kind]}in [${String(min)}, ${String(max)}], got ${value}`);
  return n;
}
