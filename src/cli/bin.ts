#!/usr/bin/env node
/** The `maxwell` executable. */
import { main } from './main.js';

/**
 * A reader that stops reading (`maxwell research --help | head`) closes the pipe: end quietly, the
 * way a command-line tool ends on SIGPIPE, instead of dying of an unhandled EPIPE. A command that
 * stops on a signal (run, research, experiment) is asked to stop as it would be on one, so it still
 * thaws and removes what it made; any other simply exits.
 */
function endQuietlyOnClosedPipe(stream: NodeJS.WriteStream): void {
  let closed = false;
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (closed) return; // writes after the close fail too; the first one decided
    if (err.code !== 'EPIPE') throw err;
    closed = true;
    const signal = (['SIGTERM', 'SIGINT'] as const).find((name) => process.listenerCount(name) > 0);
    if (signal === undefined) process.exit(0);
    process.emit(signal);
  });
}
endQuietlyOnClosedPipe(process.stdout);
endQuietlyOnClosedPipe(process.stderr);

const code = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }, process.env);
// A command that completed may still have set a failing exit code (e.g. research fleet with an arm
// that could not run): keep it rather than overwrite it with success.
if (code !== 0) {
  process.exitCode = code;
  // A failed command may leave handles open (a socket, a timer): the error is reported, so leave.
  // (stdout and stderr are synchronous for files and pipes on Linux: nothing printed is lost.)
  process.exit(code);
}
