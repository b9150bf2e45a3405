/** `maxwell config`: the effective configuration and where each key can be set. */
import type { Command } from 'commander';
import { configKeyPaths, envNameOf } from '../../config/load.js';
import { formatTable, toJson, type CliIo } from '../output.js';
import { configFor, type GlobalOptions } from './common.js';

function valueAt(tree: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], tree);
}

export function registerConfig(program: Command, io: CliIo, env: Readonly<Record<string, string | undefined>>): void {
  program
    .command('config')
    .description('print the effective configuration (defaults ← file ← environment ← flags)')
    .option('--json', 'print one JSON document on stdout')
    .action((_options: Record<string, unknown>, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const config = configFor({}, globals, [], env);
      if (globals.json === true) {
        io.stdout.write(`${toJson(config)}\n`);
        return;
      }
      io.stdout.write(
        formatTable([
          ['key', 'value', 'environment variable'],
          ...configKeyPaths(config as unknown as Record<string, unknown>).map((path) => [path, JSON.stringify(valueAt(config, path)), envNameOf(path)]),
        ]),
      );
    });
}
