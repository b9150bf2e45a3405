/**
 * `maxwell sweep`: thaws, kills and removes the cgroups of Maxwell instances whose daemon is dead
 * (a crash, a SIGKILL after a stop timed out), as the next `maxwell run` does at start. For a
 * service manager's stop hook (deploy/systemd: `ExecStopPost=`): with `daemon.cgroupParent: root` an
 * agent lives in Maxwell's own cgroups, not the service's, so a killed daemon's agents would otherwise
 * keep running, or stay frozen, until the daemon next starts. Run by a unit whose cgroup was delegated
 * to the daemon, it also sweeps that unit's `maxwell/` subtree (systemd kills what is in it, but only
 * after ExecStopPost). Live instances are left alone.
 */
import type { Command } from 'commander';
import { RuntimeSetupError } from '../../errors.js';
import { detectCgroups, sweepOrphans } from '../../runtimes/process/cgroups.js';
import { delegatedParentOfSelf } from '../../runtimes/process/delegation.js';
import { toJson, type CliIo } from '../output.js';
import type { GlobalOptions } from './common.js';

export function registerSweep(program: Command, io: CliIo): void {
  program
    .command('sweep')
    .description("remove what dead Maxwell daemons left behind: thaw, kill and remove their agents' cgroups (needs root; live daemons are left alone)")
    .option('--json', 'print one JSON document on stdout')
    .option('--cgroup-root <dir>', 'where the cgroup hierarchies are mounted', '/sys/fs/cgroup')
    .action((options: { cgroupRoot: string }, cmd: Command) => {
      if (process.getuid?.() !== 0) throw new RuntimeSetupError('maxwell sweep needs root here: run it with sudo (it writes to cgroups)');
      const layout = detectCgroups(options.cgroupRoot);
      const unit = delegatedParentOfSelf(layout);
      const report = sweepOrphans(layout, unit === undefined ? [] : [unit]);
      if (cmd.optsWithGlobals<GlobalOptions>().json === true) {
        io.stdout.write(`${toJson(report)}\n`);
        return;
      }
      io.stdout.write(
        report.instances.length === 0
          ? 'nothing to sweep: no cgroups of a dead Maxwell daemon\n'
          : `swept ${String(report.instances.length)} dead instance(s) (${report.instances.join(', ')}); killed ${String(report.killedPids.length)} process(es)${report.killedPids.length === 0 ? '' : ` (${report.killedPids.join(', ')})`}\n`,
      );
    });
}
