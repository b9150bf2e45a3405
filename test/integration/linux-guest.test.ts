/**
 * Maxwell on the Linux its users run (docs/RUNTIMES.md, docs/OPERATIONS.md): a Debian guest with
 * systemd as PID 1 on a pure cgroup v2 hierarchy, booted under QEMU (TCG) by scripts/guest-run.mjs.
 *
 * - The process runtime's integration and compliance suites, the sweep and the delegation tests,
 *   run inside it as root, and `maxwell research pause` measures the pause latency there.
 * - Maxwell installed as deploy/systemd/maxwell.service says, driven with the CLI: the daemon in its
 *   delegated unit, knobs in the cgroup files, a SIGKILL with an agent frozen, a graceful stop, a
 *   reboot with agents running (test/guest/service.sh says what each check looks at).
 *
 * Needs root (the project image is packed from this dist/ before the first boot) and the system
 * image `sudo npm run setup` builds (scripts/build-linux-guest.sh --system); skips, saying which is
 * missing, otherwise. About 8 minutes under TCG on the 2-core development VM.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { repoPath } from '../helpers/repo.js';

interface GuestResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly state: string;
  readonly boots: readonly { state: string; uptimeS: number }[];
  readonly timings: { readonly bootMs: number; readonly commandMs: number; readonly totalMs: number };
}
interface GuestRunModule {
  guestUnavailable(): string | null;
  guestRun(o: { command: string; timeoutMs?: number; reboots?: boolean }): Promise<GuestResult>;
}

const guest = (await import(pathToFileURL(repoPath('scripts/guest-run.mjs')).href)) as GuestRunModule;

/** Packs this dist/ into the project image (seconds); the reason to skip when that cannot be done. */
function prepare(): string | false {
  if (process.getuid?.() !== 0) return 'needs root (packs the project image with mkfs.ext4 -d)';
  const packed = spawnSync('bash', [repoPath('scripts/build-linux-guest.sh'), '--project'], { encoding: 'utf8' });
  if (packed.status !== 0) return (packed.stderr.trim().split('\n').at(-1) ?? 'build-linux-guest.sh --project failed').replace(/^build-linux-guest: /, '');
  return guest.guestUnavailable() ?? false;
}
const SKIP = prepare();

/** `CHECK name value` lines of a guest script, as a map. */
function checks(stdout: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const m = /^CHECK (\S+) ?(.*)$/.exec(line);
    if (m !== null) out.set(m[1] ?? '', (m[2] ?? '').trim());
  }
  return out;
}

function tapCount(stdout: string, what: 'pass' | 'fail' | 'skipped'): number {
  return Number(new RegExp(`^# ${what} (\\d+)$`, 'm').exec(stdout)?.[1] ?? NaN);
}

const PAUSE = 'research pause --trials 500 --mechanisms cgroup2-freeze,sigstop --workloads cpu --memory-mb 64 --json';
interface PauseRow { readonly mechanism: string; readonly p50Ms: number; readonly p99Ms: number; readonly confirmed: number; readonly trials: number }

test('in the guest: the process runtime’s suites pass on pure cgroup v2 under systemd, and pauses are measured there', { skip: SKIP, timeout: 420_000 }, async (t) => {
  const suites = ['integration/process-runtime', 'integration/sweep', 'unit/runtimes/delegation'].map((f) => `dist/test/${f}.test.js`).join(' ');
  const r = await guest.guestRun({
    command: `node --test --test-reporter=tap --test-force-exit ${suites} > /run/suites.tap 2>&1; echo "suites exit $?"; cat /run/suites.tap; echo PAUSE-JSON; node dist/src/cli/bin.js ${PAUSE}`,
    timeoutMs: 400_000,
  });
  const [suitesPart = '', pausePart = ''] = r.stdout.split('PAUSE-JSON\n');
  assert.match(suitesPart, /^suites exit 0$/m, `${suitesPart.split('\n').filter((l) => /^not ok|^# (pass|fail)/.test(l)).join('\n')}\n${r.stderr}`);
  assert.equal(tapCount(suitesPart, 'fail'), 0);
  // The suites' v2 paths ran: freeze, cpu.max, cpuset, memory.max, the escape watch, the sweep after a SIGKILL.
  assert.ok(tapCount(suitesPart, 'pass') >= 20, `passed ${String(tapCount(suitesPart, 'pass'))}`);
  for (const skipped of suitesPart.split('\n').filter((l) => l.includes('# SKIP'))) t.diagnostic(`skipped in the guest: ${skipped.replace(/^ok \d+ - /, '')}`);

  const inGuest = (JSON.parse(pausePart) as { rows: PauseRow[] }).rows;
  const here = spawnSync(process.execPath, [repoPath('dist/src/cli/bin.js'), ...PAUSE.split(' ')], { encoding: 'utf8' });
  const onHost = here.status === 0 ? (JSON.parse(here.stdout) as { rows: PauseRow[] }).rows : [];
  for (const row of inGuest) {
    assert.equal(row.confirmed, row.trials, `${row.mechanism}: every pause confirmed in the guest`);
    const host = onHost.find((h) => h.mechanism === row.mechanism);
    const ms = (r: PauseRow): string => `${r.p99Ms.toFixed(2)} ms (p50 ${r.p50Ms.toFixed(2)})`;
    t.diagnostic(`pause p99 ${row.mechanism}, cpu-bound, 64 MiB, ${String(row.trials)} trials: guest (TCG) ${ms(row)}, this machine ${host === undefined ? 'not measured' : ms(host)}`);
  }
  assert.ok(inGuest.some((row) => row.mechanism === 'cgroup2-freeze'), 'cgroup2 freeze was measured in the guest');
});

test('in the guest: Maxwell as a systemd service — delegated cgroups, knobs, a crash, a graceful stop, a reboot', { skip: SKIP, timeout: 720_000 }, async (t) => {
  const r = await guest.guestRun({ command: 'bash test/guest/service.sh', timeoutMs: 700_000, reboots: true });
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
