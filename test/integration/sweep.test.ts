/**
 * `maxwell sweep` (the service's stop hook): the cgroups a dead daemon left behind, with a frozen
 * agent still in them, are thawed, killed and removed; a live instance's groups are not touched.
 * In every freezing hierarchy the machine has: the v1 freezer (the development VM) and cgroup2's
 * cgroup.freeze (its unified tree, and the pure v2 root of the systemd guest).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoPath } from '../helpers/repo.js';
import { until } from '../helpers/wait.js';

const V1_FREEZER = '/sys/fs/cgroup/freezer';
const V2 = ['/sys/fs/cgroup/unified', '/sys/fs/cgroup'].find((d) => existsSync(join(d, 'cgroup.controllers')));
const ROOT = process.getuid?.() !== 0 ? 'needs root (cgroups)' : false;
const HIERARCHIES = [
  { name: 'the cgroup v1 freezer', base: V1_FREEZER, freeze: ['freezer.state', 'FROZEN'], skip: ROOT || (existsSync(join(V1_FREEZER, 'cgroup.procs')) ? false : 'no cgroup v1 freezer here') },
  { name: 'cgroup2 cgroup.freeze', base: V2 ?? '', freeze: ['cgroup.freeze', '1'], skip: ROOT || (V2 === undefined ? 'no cgroup2 here' : false) },
] as const;
const alive = (pid: number): boolean => existsSync(`/proc/${String(pid)}`) && !/^State:\s+Z/m.test(spawnSync('cat', [`/proc/${String(pid)}/status`], { encoding: 'utf8' }).stdout);

for (const { name, base, freeze: [freezeFile, frozen], skip } of HIERARCHIES) test(`maxwell sweep removes a dead daemon’s frozen agent and its cgroups, and leaves a live one’s alone (${name})`, { skip }, async (t) => {
  // A pid that was alive and is not any more: the dead owner.
  const gone = spawnSync('true');
  const deadPid = gone.pid;
  const deadGroup = join(base, 'maxwell', `p${String(deadPid)}-sweeptest`);
  const liveGroup = join(base, 'maxwell', `p${String(process.pid)}-sweeptest`);
  mkdirSync(join(deadGroup, 'orphan'), { recursive: true });
  mkdirSync(liveGroup, { recursive: true });
  t.after(() => {
    for (const dir of [join(deadGroup, 'orphan'), deadGroup, liveGroup]) if (existsSync(dir)) rmdirSync(dir);
  });
  const orphan = spawn('sleep', ['600'], { stdio: 'ignore' });
  const pid = orphan.pid as number;
  t.after(() => orphan.kill('SIGKILL'));
  writeFileSync(join(deadGroup, 'orphan', 'cgroup.procs'), String(pid));
  writeFileSync(join(deadGroup, 'orphan', freezeFile), frozen);

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
