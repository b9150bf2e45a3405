/**
 * `maxwell run`: the daemon in the foreground, with its control API on loopback, until SIGINT or
 * SIGTERM; then a graceful shutdown that stops every agent, restores every knob, writes what is
 * pending to the ledger and removes the discovery file.
 */
import type { Command } from 'commander';
import { generateApiToken, removeDaemonFile, writeDaemonFile } from '../../api/discovery.js';
import { peerSpawner } from '../../api/placement.js';
import { isLoopbackHost, startApiServer } from '../../api/server.js';
import { assembleDaemon } from '../../daemon/components.js';
import { VmRuntime } from '../../runtimes/vm/vm-runtime.js';
import type { CliIo } from '../output.js';
import { packageVersion } from '../../version.js';
import { addConfigFlags, configFor, type ConfigFlag, type GlobalOptions } from './common.js';

const FLAGS: readonly ConfigFlag[] = [
  { flags: '--port <n>', description: 'control API port (0: ephemeral)', property: 'port', key: 'api.port' },
  { flags: '--host <addr>', description: 'control API address', property: 'host', key: 'api.host' },
  { flags: '--state-dir <dir>', description: 'state folder (daemon.json)', property: 'stateDir', key: 'state.dir' },
  { flags: '--db <file>', description: 'ledger database', property: 'db', key: 'ledger.path' },
  { flags: '--clearing <mode>', description: 'auction mode: gsp, vcg or uniform', property: 'clearing', key: 'daemon.clearing' },
];

const UNSPECIFIED = new Set(['0.0.0.0', '::', '0:0:0:0:0:0:0:0']);

/**
 * The control API's URL as other nodes dial it: a wildcard listener (0.0.0.0, ::) is published
 * under the gossip address (fleet.host) when that is a specific, non-loopback one, else not at all
 * (another node dialling 0.0.0.0 would reach itself).
 */
export function reachableApiUrl(serverUrl: string, apiHost: string, fleetHost: string): string | null {
  if (!UNSPECIFIED.has(apiHost)) return serverUrl;
  if (UNSPECIFIED.has(fleetHost) || isLoopbackHost(fleetHost)) return null;
  const url = new URL(serverUrl);
  url.hostname = fleetHost.includes(':') ? `[${fleetHost}]` : fleetHost;
  return url.toString().replace(/\/$/, '');
}

export function registerRun(program: Command, io: CliIo, env: Readonly<Record<string, string | undefined>>): void {
  addConfigFlags(
    program
      .command('run')
      .description('run the daemon in the foreground: the 100 Hz market over this machine’s cores, agents over their sockets, the control API on loopback (needs root: cgroups)')
      .option('--log-decisions', 'print every decision (pause, resume, kill, …) on stderr as it happens'),
    FLAGS,
  ).action(async (options: Record<string, unknown> & { logDecisions?: boolean }, cmd: Command) => {
    const globals = cmd.optsWithGlobals<GlobalOptions>();
    const config = configFor(options, globals, FLAGS, env);
    const assembled = await assembleDaemon(config);
    const { daemon } = assembled;
    const token = generateApiToken();
    const readToken = config.api.readToken === '' ? generateApiToken() : config.api.readToken;
    const server = await startApiServer({ control: daemon, token, readToken, version: packageVersion(), host: config.api.host, port: config.api.port, bodyLimitBytes: config.api.bodyLimitBytes, kubeExtender: config.fleet.kubeExtender, peerToken: config.fleet.peerToken }).catch(async (err: unknown) => {
      await assembled.close();
      throw err;
    });
    const discovery = writeDaemonFile(config.state.dir, { url: server.url, token, readToken, pid: process.pid });
    // Placement forwards spawns to the API others can reach: only a non-loopback one is published.
    if (config.fleet.enabled && !isLoopbackHost(config.api.host)) {
      const url = reachableApiUrl(server.url, config.api.host, config.fleet.host);
      if (url === null) io.stderr.write(`maxwell: the control API listens on ${config.api.host}, which other nodes cannot dial, and fleet.host is not an address they can either: not published for placement (set api.host or fleet.host to this node's address)\n`);
      else daemon.publishApiUrl(url);
    }
    const peerToken = config.fleet.peerToken;
    if (config.fleet.enabled && config.fleet.migration.enabled && peerToken !== '') {
      daemon.startMigration(peerSpawner(peerToken), config.fleet.migration);
    }
    daemon.onLedgerFailure((err) => io.stderr.write(`maxwell: ledger write failed, movements kept pending and retried: ${err.message}\n`));
    daemon.onTickFailure((message) => io.stderr.write(`maxwell: a tick failed and was skipped: ${message}\n`));
    if (options.logDecisions === true) {
      daemon.decisionLog.onDecision((d) => io.stderr.write(`[tick ${String(d.tick)}] ${d.action} ${d.agentId ?? '-'}: ${d.because}\n`));
    }
    const vmMissing = VmRuntime.missing();
    io.stdout.write(
      `maxwell daemon running (pid ${String(process.pid)}, ${String(config.daemon.rateHz)} Hz, ${config.daemon.clearing} auction)\n` +
        `  control API   ${server.url} (token in ${discovery}, mode 0600; OpenAPI at /openapi.json)\n` +
        `  dashboard     ${server.url}/dashboard (maxwell dashboard opens it with the read-only token)\n` +
        `  metrics       ${server.url}/metrics (Prometheus; bearer: the read-only token${config.api.readToken === '' ? ', fresh each start' : ', api.readToken'})\n` +
        `  ledger        ${config.ledger.path} (head ${daemon.ledger.headHash.slice(0, 16)}…)\n` +
        `  temperatures  ${assembled.thermal.source}\n` +
        `  entropy       ${assembled.entropySource}\n` +
        `  verification  ${daemon.snapshot().verification.method}\n` +
        `  runtimes      process (cgroups), wasm (worker threads), vm (${vmMissing === null ? 'QEMU, guest in .maxwell/vm' : `unavailable: ${vmMissing}`})\n` +
        `  fleet         ${config.fleet.enabled ? `gossip on ${daemon.fleet().address ?? '?'} (UDP, signed), seeds ${config.fleet.seeds.join(', ') || 'none'}${config.fleet.kubeExtender.enabled ? '; kube-scheduler extender on' : ''}` : 'off (this node alone; fleet.enabled)'}\n` +
        `Spawn an agent: maxwell agent spawn --wallet 5000J --bid 0.5 -- CMD ARGS…   Stop: Ctrl-C\n`,
    );
    await new Promise<void>((resolve) => {
      const stop = (): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    io.stderr.write('maxwell: stopping: agents get SIGTERM, then every knob is restored…\n');
    removeDaemonFile(config.state.dir);
    await server.close();
    await assembled.close();
    const head = daemon.ledger.headHash;
    io.stdout.write(`maxwell daemon stopped; ledger head ${head} (check it later with: maxwell ledger verify --expect-head ${head})\n`);
  });
}
