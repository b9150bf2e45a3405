#!/usr/bin/env node
/** The `maxwell` executable. */
import { main } from './main.js';

const code = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }, process.env);
// A command that completed may still have set a failing exit code (e.g. research fleet with an arm
// that could not run): keep it rather than overwrite it with success.
if (code !== 0) {
  process.exitCode = code;
  // A failed command may leave handles open (a socket, a timer): the error is reported, so leave.
  // (stdout and stderr are synchronous for files and pipes on Linux: nothing printed is lost.)
  process.exit(code);
}
