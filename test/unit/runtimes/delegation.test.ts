/**
 * Agents' cgroups inside a delegated systemd unit (src/runtimes/process/delegation.ts), on captured
 * trees: the unit found from /proc/self/cgroup, the daemon moved into its leaf and the controllers
 * handed down, and each thing that must be there named in the error when it is not. The real
 * thing runs in the systemd guest (test/integration/linux-guest-service.test.ts).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { detectCgroups, sweepOrphans, type CgroupLayout } from '../../../src/runtimes/process/cgroups.js';
import { DAEMON_LEAF, delegatedParentOfSelf, enclosingUnit, ownCgroup2Path, takeOverDelegatedUnit } from '../../../src/runtimes/process/delegation.js';
import { ProcessRuntime } from '../../../src/runtimes/process/process-runtime.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A pure v2 tree with one unit, and a /proc whose `self` sits in `own`. */
function captured(own: string, unitControllers = 'cpuset cpu io memory pids'): { root: string; proc: string; unitDir: string; layout: CgroupLayout } {
  const base = mkdtempSync(join(tmpdir(), 'mxw-deleg-'));
  dirs.push(base);
  const root = join(base, 'cgroup');
  const unitDir = join(root, 'system.slice', 'maxwell.service');
  mkdirSync(unitDir, { recursive: true });
  writeFileSync(join(root, 'cgroup.controllers'), 'cpuset cpu io memory hugetlb pids rdma misc\n');
  writeFileSync(join(root, 'cgroup.subtree_control'), 'cpu memory pids\n');
  writeFileSync(join(root, 'cgroup.procs'), '');
  writeFileSync(join(unitDir, 'cgroup.controllers'), `${unitControllers}\n`);
  writeFileSync(join(unitDir, 'cgroup.subtree_control'), '');
  writeFileSync(join(unitDir, 'cgroup.procs'), `${String(process.pid)}\n`);
  const proc = join(base, 'proc');
  mkdirSync(join(proc, 'self'), { recursive: true });
  writeFileSync(join(proc, 'self', 'cgroup'), `0::${own}\n`);
  return { root, proc, unitDir, layout: detectCgroups(root) };
}

test('the enclosing unit is the nearest .service or .scope, from the unit itself or any cgroup below it', () => {
  assert.equal(enclosingUnit('/system.slice/maxwell.service'), '/system.slice/maxwell.service');
  assert.equal(enclosingUnit('/system.slice/maxwell.service/daemon'), '/system.slice/maxwell.service');
  assert.equal(enclosingUnit('/system.slice/maxwell.service/.control'), '/system.slice/maxwell.service');
  assert.equal(enclosingUnit('/user.slice/user-0.slice/session-3.scope'), '/user.slice/user-0.slice/session-3.scope');
  assert.equal(enclosingUnit('/'), undefined);
  assert.equal(enclosingUnit('/maxwell/p1-mxd0/a'), undefined);
});

test('the daemon moves itself into <unit>/daemon and hands cpu, cpuset and memory down to the unit’s children', () => {
  const t = captured('/system.slice/maxwell.service');
  assert.equal(ownCgroup2Path('self', t.proc), '/system.slice/maxwell.service');
  const parent = takeOverDelegatedUnit(t.layout, t.root, t.proc);
  assert.equal(parent, t.unitDir);
  assert.equal(readFileSync(join(t.unitDir, DAEMON_LEAF, 'cgroup.procs'), 'utf8'), String(process.pid));
  assert.equal(readFileSync(join(t.unitDir, 'cgroup.subtree_control'), 'utf8'), '+cpu +cpuset +memory');
  // A second runtime of the same daemon (the VM runtime's) finds the daemon already in its leaf.
  writeFileSync(join(t.proc, 'self', 'cgroup'), `0::/system.slice/maxwell.service/${DAEMON_LEAF}\n`);
  assert.equal(takeOverDelegatedUnit(t.layout, t.root, t.proc), t.unitDir);
  // ExecStopPost's sweep runs in <unit>/.control and sweeps the unit's subtree.
  writeFileSync(join(t.proc, 'self', 'cgroup'), '0::/system.slice/maxwell.service/.control\n');
  assert.equal(delegatedParentOfSelf(t.layout, t.proc), t.unitDir);
});

test('each missing piece is named: not pure v2, no unit, no Delegate=yes, a foreign cgroup inside the unit', () => {
  const code = { code: 'MXW_ERR_RUNTIME_SETUP' };
  const noUnit = captured('/user.slice/user-0.slice');
  assert.throws(() => takeOverDelegatedUnit(noUnit.layout, noUnit.root, noUnit.proc), { ...code, message: /not in a systemd service or scope/ });
  const undelegated = captured('/system.slice/maxwell.service', 'memory pids');
  assert.throws(() => takeOverDelegatedUnit(undelegated.layout, undelegated.root, undelegated.proc), { ...code, message: /lacks the cpu, cpuset controller\(s\): set Delegate=yes/ });
  const elsewhere = captured('/system.slice/maxwell.service/other');
  assert.throws(() => takeOverDelegatedUnit(elsewhere.layout, elsewhere.root, elsewhere.proc), { ...code, message: /not its daemon leaf/ });
  const hybrid: CgroupLayout = { v2: join(noUnit.root, 'unified'), v2Controllers: new Set(), cpu: '/sys/fs/cgroup/cpu' };
  assert.throws(() => takeOverDelegatedUnit(hybrid, noUnit.root, noUnit.proc), { ...code, message: /not a pure cgroup v2 hierarchy/ });
});

test('a sweep also looks in the delegated unit’s maxwell/ subtree, and leaves a live owner’s instance alone', () => {
  const t = captured('/system.slice/maxwell.service/.control');
  const dead = join(t.unitDir, 'maxwell', 'p999999999-mxd0', 'agent-a');
  const live = join(t.unitDir, 'maxwell', `p${String(process.pid)}-mxd0`);
  mkdirSync(dead, { recursive: true });
  mkdirSync(live, { recursive: true });
  const report = sweepOrphans({ v2Controllers: new Set() }, [t.unitDir]);
  assert.deepEqual(report.instances, ['p999999999-mxd0']);
  assert.equal(existsSync(join(t.unitDir, 'maxwell', 'p999999999-mxd0')), false);
  assert.equal(existsSync(live), true);
});

test('on this machine’s layout a delegated runtime is refused with the reason, unless it is pure cgroup v2 in a delegated unit', async (t) => {
  const layout = detectCgroups();
  if (layout.v2 === '/sys/fs/cgroup' && layout.v2Controllers.size > 0 && enclosingUnit(ownCgroup2Path() ?? '/') !== undefined) {
    t.skip('this process runs in a systemd unit on pure cgroup v2: the guest test covers it');
    return;
  }
  await assert.rejects(ProcessRuntime.create({ cgroupParent: 'delegated', tag: 'deleg' }), { code: 'MXW_ERR_RUNTIME_SETUP', message: /daemon\.cgroupParent is "delegated"/ });
});
