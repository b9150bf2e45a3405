/**
 * Output conventions of every command: results on stdout (a table, or one JSON document
 * with `--json`), progress and logs on stderr.
 */
import { isMaxwellError, toError } from '../errors.js';
import { toJson } from '../internal/format.js';

export { fmt, formatTable, toJson } from '../internal/format.js';

/** Where a command writes. Injected so tests can capture it. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown; readonly isTTY?: boolean };
}

/** Reports progress of long work on stderr: a bar on a terminal, one line per step otherwise. */
export interface Progress {
  step(index: number, total: number, label: string): void;
  phase(label: string): void;
  done(): void;
}

const BAR_WIDTH = 24;

export function createProgress(io: CliIo, quiet: boolean): Progress {
  const tty = io.stderr.isTTY === true;
  let open = false;
  return {
    step(index, total, label) {
      if (quiet) return;
      if (!tty) {
        io.stderr.write(`[${index}/${total}] ${label}\n`);
        return;
      }
      const filled = Math.round((BAR_WIDTH * (index - 1)) / total);
      io.stderr.write(`\r\x1b[2K[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${index}/${total} ${label}`);
      open = true;
    },
    phase(label) {
      if (quiet) return;
      if (open) io.stderr.write('\n');
      open = false;
      io.stderr.write(`${label}…\n`);
    },
    done() {
      if (open) io.stderr.write('\r\x1b[2K');
      open = false;
    },
  };
}

/** Prints an error: coded on stderr (and as JSON on stdout with --json). Returns the exit code. */
export function reportError(io: CliIo, err: unknown, json: boolean): number {
  const error = toError(err);
  const code = isMaxwellError(error) ? error.code : 'MXW_ERR_INTERNAL';
  if (json) io.stdout.write(`${toJson({ error: { code, message: error.message } })}\n`);
  io.stderr.write(`maxwell: ${code}: ${error.message}\n`);
  if (!isMaxwellError(error) && error.stack !== undefined) io.stderr.write(`${error.stack}\n`);
  return isMaxwellError(error) ? 1 : 70;
}
