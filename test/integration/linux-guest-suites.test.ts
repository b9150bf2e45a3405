/**
 * Maxwell's process runtime on the Linux its users run (docs/RUNTIMES.md): a Debian guest with
 * systemd as PID 1 on a pure cgroup v2 hierarchy, booted under QEMU (TCG) by scripts/guest-run.mjs.
 * The process runtime's integration and compliance suites, the sweep and the delegation tests run
 * inside it as root, and `maxwell research pause` measures the pause latency there beside this
 * machine's. linux-guest-service.test.ts runs Maxwell there as a systemd service.
 *
 * Needs root (the project image is packed from this dist/ before the boot) and the system image
 * `sudo npm run setup` builds (scripts/build-linux-guest.sh --system); skips, saying which is
 * missing, otherwise. About 2 minutes under TCG on the 2-core development VM.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { guest, prepareGuest, tapCount } from '../helpers/guest.js';
import { repoPath } from '../helpers/repo.js';

const SKIP = prepareGuest();

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
