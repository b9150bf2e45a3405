/**
 * `maxwell run`: the daemon in the foreground, with its control API on loopback, until SIGINT or
 * SIGTERM; then a graceful shutdown that stops every agent, restores every knob, writes what is
 * pending to the ledger and removes the discovery file. It parses flags, assembles (the root in
 * `daemon/components.ts` starts every part, the API included), waits for a signal and stops.
 */
import type { Command } from 'commander';
import { assembleDaemon } from '../../daemon/components.js';
import { InternalError } from '../../errors.js';
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
    const assembled = await assembleDaemon(config, { api: { version: packageVersion(), onNotice: (message) => io.stderr.write(`maxwell: ${message}\n`) } });
    const { daemon } = assembled;
    const api = assembled.api;
    if (api === null) throw new InternalError('the daemon was assembled without its control API');
    daemon.onLedgerFailure((err) => io.stderr.write(`maxwell: ledger write failed, movements kept pending and retried: ${err.message}\n`));
    daemon.onTickFailure((message) => io.stderr.write(`maxwell: a tick failed and was skipped: ${message}\n`));
    if (options.logDecisions === true) {
      daemon.decisionLog.onDecision((d) => io.stderr.write(`[tick ${String(d.tick)}] ${d.action} ${d.agentId ?? '-'}: ${d.because}\n`));
    }
    const vmMissing = VmRuntime.missing();
    io.stdout.write(
      `maxwell daemon running (pid ${String(process.pid)}, ${String(config.daemon.rateHz)} Hz, ${config.daemon.clearing} auction)\n` +
        `  control API   ${api.url} (token in ${api.discoveryFile}, mode 0600; OpenAPI at /openapi.json)\n` +
        `  dashboard     ${api.url}/dashboard (maxwell dashboard opens it with the read-only token)\n` +
        `  metrics       ${api.url}/metrics (Prometheus; bearer: the read-only token${config.api.readToken === '' ? ', fresh each start' : ', api.readToken'})\n` +
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
    await assembled.close();
    const head = daemon.ledger.headHash;
    io.stdout.write(`maxwell daemon stopped; ledger head ${head} (check it later with: maxwell ledger verify --expect-head ${head})\n`);
  });
}
