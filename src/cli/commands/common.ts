/** Flags shared by commands, and how they become a configuration layer. */
import type { Command } from 'commander';
import { configFromAssignments, loadConfig } from '../../config/load.js';
import type { MaxwellConfig } from '../../config/schema.js';

/** Options every command gets from the root program. */
export interface GlobalOptions {
  readonly config?: string;
  readonly set?: string[];
  readonly json?: boolean;
  readonly quiet?: boolean;
}

/** A flag that sets a configuration key. */
export interface ConfigFlag {
  readonly flags: string;
  readonly description: string;
  /** Property commander stores the value under. */
  readonly property: string;
  readonly key: string;
}

/** Adds `flags` to `command`; values are validated by the schema later, with the key named. */
export function addConfigFlags(command: Command, flags: readonly ConfigFlag[]): Command {
  for (const flag of flags) command.option(flag.flags, `${flag.description} (config ${flag.key})`);
  return command;
}

/** Loads the configuration from file, environment, `--set` and the command's own flags. */
export function configFor(
  options: Record<string, unknown>,
  globals: GlobalOptions,
  flags: readonly ConfigFlag[],
  env: Readonly<Record<string, string | undefined>>,
): Readonly<MaxwellConfig> {
  const assignments = flags.flatMap((flag) => {
    const value = options[flag.property];
    return typeof value === 'string' ? [`${flag.key}=${value}`] : [];
  });
  return loadConfig({
    ...(globals.config === undefined ? {} : { file: globals.config }),
    env,
    flags: [configFromAssignments(globals.set ?? []), configFromAssignments(assignments)],
  });
}

export const TWIN_FLAGS: readonly ConfigFlag[] = [
  { flags: '--cores <n>', description: 'CPU cores of the twin', property: 'cores', key: 'twin.cores' },
  { flags: '--seed <n>', description: 'seed of the sensor noise', property: 'seed', key: 'twin.seed' },
  { flags: '--noise <celsius>', description: 'sensor noise σ, °C', property: 'noise', key: 'twin.sensor.noiseC' },
];

/** An abort signal that SIGINT or SIGTERM fires (long research runs stop cleanly); dispose when done. */
export function abortOnSignals(): { readonly signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSignal = (): void => { controller.abort(); };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
