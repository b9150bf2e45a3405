/**
 * `maxwell sweep` (the service's stop hook): the cgroups a dead daemon left behind, with a frozen
 * agent still in them, are thawed, killed and removed; a live instance's groups are not touched.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoPath } from '../helpers/repo.js';
import { until } from '../helpers/wait.js';

const FREEZER = '/sys/fs/cgroup/freezer';
const SKIP = process.getuid?.() !== 0 ? 'needs root (cgroups)' : !existsSync(join(FREEZER, 'cgroup.procs')) ? 'no cgroup v1 freezer here' : false;
const alive = (pid: number): boolean => existsSync(`/proc/${String(pid)}`) && !/^State:\s+Z/m.test(spawnSync('cat', [`/proc/${String(pid)}/status`], { encoding: 'utf8' }).stdout);

test('maxwell sweep removes a dead daemon’s frozen agent and its cgroups, and leaves a live one’s alone', { skip: SKIP }, async (t) => {
  // A pid that was alive and is not any more: the dead owner.
  const gone = spawnSync('true');
  const deadPid = gone.pid;
  const deadGroup = join(FREEZER, 'maxwell', `p${String(deadPid)}-sweeptest`);
  const liveGroup = join(FREEZER, 'maxwell', `p${String(process.pid)}-sweeptest`);
  mkdirSync(join(deadGroup, 'orphan'), { recursive: true });
  mkdirSync(liveGroup, { recursive: true });
  t.after(() => {
    for (const dir of [join(deadGroup, 'orphan'), deadGroup, liveGroup]) if (existsSync(dir)) rmdirSync(dir);
  });
  const orphan = spawn('sleep', ['600'], { stdio: 'ignore' });
  const pid = orphan.pid as number;
  t.after(() => orphan.kill('SIGKILL'));
  writeFileSync(join(deadGroup, 'orphan', 'cgroup.procs'), String(pid));
  writeFileSync(join(deadGroup, 'orphan', 'freezer.state'), 'FROZEN');

  const run = spawnSync(process.execPath, [repoPath('dist/src/cli/bin.js'), 'sweep', '--json'], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const report = JSON.parse(run.stdout) as { instances: string[]; killedPids: number[] };
  assert.ok(report.instances.includes(`p${String(deadPid)}-sweeptest`), `swept ${report.instances.join(', ')}`);
  assert.ok(!report.instances.includes(`p${String(process.pid)}-sweeptest`), 'a live owner’s groups are left alone');
  assert.ok(report.killedPids.includes(pid));
  await until('the frozen orphan to die', () => !alive(pid), 10_000);
  assert.ok(!existsSync(deadGroup), 'its groups are removed');
  assert.ok(existsSync(liveGroup));
});
