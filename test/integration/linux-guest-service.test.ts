/**
 * Maxwell as a systemd service on the Linux its users run (docs/RUNTIMES.md, docs/OPERATIONS.md): a
 * Debian guest with systemd as PID 1 on a pure cgroup v2 hierarchy, booted under QEMU (TCG) by
 * scripts/guest-run.mjs. Maxwell installed as deploy/systemd/maxwell.service says, driven with the
 * CLI: the daemon in its delegated unit, knobs in the cgroup files, a SIGKILL with an agent frozen,
 * a graceful stop, a reboot with agents running (test/guest/service.sh says what each check looks at).
 *
 * Needs root and the system image `sudo npm run setup` builds; skips, saying which is missing,
 * otherwise. About 5 minutes under TCG on the 2-core development VM.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checks, guest, prepareGuest } from '../helpers/guest.js';

const SKIP = prepareGuest();

test('in the guest: Maxwell as a systemd service — delegated cgroups, knobs, a crash, a graceful stop, a reboot', { skip: SKIP, timeout: 590_000 }, async (t) => {
  const r = await guest.guestRun({ command: 'bash test/guest/service.sh', timeoutMs: 570_000, reboots: true });
  const c = checks(r.stdout);
  const context = `\n--- guest stdout ---\n${r.stdout.slice(-6000)}\n--- stderr ---\n${r.stderr.slice(-3000)}`;
  const expect = (name: string, value: string | RegExp): void => {
    const got = c.get(name);
    if (value instanceof RegExp) assert.match(got ?? '', value, `${name}: ${String(got)}${context}`);
    else assert.equal(got, value, `${name}: ${String(got)}${context}`);
  };
  assert.equal(r.code, 0, context);
  t.diagnostic(`guest: kernel ${String(c.get('kernel'))}, systemd ${String(c.get('systemd'))}, node ${String(c.get('node'))}; boots ${r.boots.map((b) => `${b.state} at ${String(b.uptimeS)} s`).join(', ')}; command ${(r.timings.commandMs / 1000).toFixed(0)} s`);

  // systemd as PID 1 on pure cgroup v2, with the controllers Maxwell uses.
  expect('system-state', 'running');
  expect('init', '/usr/lib/systemd/systemd');
  expect('v1-hierarchies', '0');
  for (const controller of ['cpu', 'cpuset', 'memory']) expect('controllers', new RegExp(`\\b${controller}\\b`));
  expect('node', process.version);

  // Started by systemctl; the daemon moved itself into its unit's leaf and handed the controllers down.
  expect('started', '0');
  expect('daemon-json', 'yes');
  expect('daemon-cgroup', '/system.slice/maxwell.service/daemon');
  for (const controller of ['cpu', 'cpuset', 'memory']) expect('unit-subtree', new RegExp(`\\b${controller}\\b`));
  expect('outside-unit', 'none');

  // Agents spawned with the CLI: a frozen leech, pinned and CPU-capped scientists, a memory cap.
  expect('leech-frozen', 'yes');
  expect('scientist-pinned', 'yes');
  expect('scientist-cpu-max', 'yes');
  expect('sci2-memory-max', String(64 * 2 ** 20));
  expect('sci1-memory-max', 'max');

  // systemctl kill -s KILL with an agent frozen: everything in the unit dies, the sweep ran, nothing frozen, restarted.
  expect('leech-frozen-before-kill', '1');
  expect('agents-gone-after-kill', 'yes');
  expect('restarted', 'yes');
  expect('old-instance-left', '0');
  expect('frozen-anywhere', '0');

  // systemctl stop with a frozen agent: a clean stop, no process, no cgroup left, the root's knobs as they were.
  expect('leech2-frozen', 'yes');
  expect('stop-exit', '0');
  expect('stop-result', 'success');
  expect('alive-after-stop', '0');
  expect('unit-cgroup-after-stop', '');
  expect('maxwell-dirs-after-stop', '0');
  expect('root-subtree-restored', 'yes');
  expect('ledger-verify', '0');
  expect('journal-stop', '1');
  assert.ok(Number(c.get('journal-decisions')) > 0, `journalctl -u maxwell shows the decisions: ${String(c.get('journal-decisions'))}${context}`);

  // A reboot with agents running (one frozen): Maxwell back by itself, nothing of the boot before left.
  expect('enabled-daemon', 'yes');
  expect('leech3-frozen-before-reboot', 'yes');
  assert.equal(r.boots.length, 2, `two boots: ${JSON.stringify(r.boots)}`);
  expect('after-reboot-daemon', 'yes');
  expect('after-reboot-active', 'active');
  expect('after-reboot-agent-groups', '0');
  expect('after-reboot-agent-processes', '0');
  expect('after-reboot-frozen-anywhere', '0');
  expect('after-reboot-outside-unit', 'none');
  expect('after-reboot-ledger-verify', '0');
});
