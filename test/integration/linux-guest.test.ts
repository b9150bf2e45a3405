/**
 * The Debian guest with systemd on pure cgroup v2 (docs/RUNTIMES.md; scripts/build-linux-guest.sh, booted by scripts/guest-run.mjs):
 * systemd is PID 1 on a pure cgroup v2 hierarchy with the controllers Maxwell uses, it finishes
 * starting up, and Node runs in it. Skips, saying why, where the guest image was not built
 * (nothing builds it in CI yet) or QEMU is missing. ~30 s under TCG.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { repoPath } from '../helpers/repo.js';

interface GuestResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly state: string;
}
interface GuestRunModule {
  guestUnavailable(): string | null;
  guestRun(o: { command: string; timeoutMs?: number }): Promise<GuestResult>;
}

const guest = (await import(pathToFileURL(repoPath('scripts/guest-run.mjs')).href)) as GuestRunModule;
const SKIP = guest.guestUnavailable() ?? false;

test('the Linux guest: systemd as PID 1 on pure cgroup v2, running, with this Node', { skip: SKIP, timeout: 240_000 }, async () => {
  const r = await guest.guestRun({
    command: 'cat /sys/fs/cgroup/cgroup.controllers; systemctl is-system-running; node --version; readlink /proc/1/exe; ls /sys/fs/cgroup | grep -c "^cpu,cpuacct$\\|^freezer$" || true',
    timeoutMs: 200_000,
  });
  assert.equal(r.code, 0, r.stderr);
  const [controllers = '', state, version, init, v1] = r.stdout.trim().split('\n');
  for (const c of ['cpu', 'cpuset', 'memory', 'pids']) assert.ok(controllers.split(' ').includes(c), `cgroup2 controllers "${controllers}" lack ${c}`);
  assert.equal(state, 'running');
  assert.equal(r.state, 'running');
  assert.equal(version, process.version);
  assert.equal(init, '/usr/lib/systemd/systemd');
  assert.equal(v1, '0', 'no cgroup v1 hierarchy is mounted');
});
