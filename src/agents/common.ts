/**
 * Shared plumbing of the reference agents: flags, JSON-line reports on stdout, graceful
 * stop on SIGTERM/SIGINT, and optional resident memory. Each agent runs the same outside
 * Maxwell (`node dist/src/agents/<name>.js --help`).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { MaxwellClient } from '../protocol/client.js';

// A reader that goes away (a closed pipe) ends the agent quietly.
process.stdout.on('error', () => process.exit(0));

/** Writes one report as a JSON line on stdout. */
export function report(message: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ ...message, t: Date.now() })}\n`);
}

/** Parses flags; prints `usage` and exits on --help or a bad flag. */
export function flags(options: NonNullable<ParseArgsConfig['options']>, usage: string): Record<string, string | boolean | undefined> {
  try {
    const parsed = parseArgs({ options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: false });
    const values = parsed.values as Record<string, string | boolean | undefined>;
    if (values['help'] === true) {
      process.stdout.write(usage);
      process.exit(0);
    }
    return values;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${usage}`);
    process.exit(2);
  }
}

/** A positive integer flag with a default. */
export function intFlag(value: unknown, name: string, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    process.stderr.write(`--${name} must be an integer ≥ ${min}, got ${JSON.stringify(value)}\n`);
    process.exit(2);
  }
  return n;
}

/** A non-negative number flag with a default. */
export function numberFlag(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (typeof value !== 'string' || value.trim() === '' || !Number.isFinite(n) || n < 0) {
    process.stderr.write(`--${name} must be a number ≥ 0, got ${JSON.stringify(value)}\n`);
    process.exit(2);
  }
  return n;
}

/**
 * Connects to Maxwell when the agent runs under it (MAXWELL_SOCKET set), else returns null.
 * The protocol client is loaded only then. On apoptosis the agent calls `finish` and exits 0;
 * when the daemon closes the connection it calls `finish` and exits (1 when it closed with
 * an error, which is printed). A failed connection exits 1.
 */
export async function underMaxwell(finish: () => void): Promise<MaxwellClient | null> {
  if ((process.env['MAXWELL_SOCKET'] ?? '') === '') return null;
  const { connectMaxwell } = await import('../protocol/client.js');
  let client: MaxwellClient;
  try {
    client = await connectMaxwell();
  } catch (err) {
    const e = err as { code?: string; message?: string };
    process.stderr.write(`${e.code ?? 'error'}: ${e.message ?? String(err)}\n`);
    process.exit(1);
  }
  client.on('apoptosis', (n) => {
    process.stderr.write(`apoptosis notice (balance ${n.balanceJ} J, grace ${n.graceMs} ms): stopping\n`);
    finish();
    process.exit(0);
  });
  client.on('close', ({ error }) => {
    if (error !== null) process.stderr.write(`Maxwell closed the connection: ${error.code}: ${error.message}\n`);
    finish();
    process.exit(error === null ? 0 : 1);
  });
  return client;
}

/** Calls `onStop` once on SIGTERM or SIGINT, then exits 0. */
export function onStop(onStopHandler: () => void): void {
  let stopping = false;
  const handler = (): void => {
    if (stopping) return;
    stopping = true;
    onStopHandler();
    process.exit(0);
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}

/** Keeps `mb` MiB resident (touched pages), for experiments on memory size. */
export function holdMemory(mb: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < mb; i += 64) {
    const chunk = new Uint8Array(Math.min(64, mb - i) * 2 ** 20);
    for (let p = 0; p < chunk.length; p += 4096) chunk[p] = 1;
    chunks.push(chunk);
  }
  return chunks;
}

/** Sleeps `ms` (for rate limiting). */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
