/** A daemon configuration whose ledger, key and sockets live in a test's temporary directory. */
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';

export function daemonConfigIn(dir: string, daemon: Record<string, unknown> = {}) {
  return loadConfig({
    env: {},
    flags: [{ ledger: { path: join(dir, 'ledger.sqlite'), keyPath: join(dir, 'node-key.pem') }, daemon: { runtimeDir: join(dir, 'run'), graceMs: 300, killTimeoutMs: 500, ...daemon } }],
  });
}
