import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { soakUnavailable } from '../../src/cli/commands/research-soak.js';
import type { SoakReport } from '../../src/research/soak.js';
import { verifyLedger } from '../../src/ledger/verify.js';
import { repoPath } from '../helpers/repo.js';

const why = soakUnavailable();
const SKIP = why === null ? false : why;
const BIN = repoPath('dist/src/cli/bin.js');

test('research soak: maxwell run under a churning population of soak-agents and WASM scientists; after stop the ledger verifies, every agent is settled, nothing is left', { skip: SKIP, timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'maxwell-soak-test-'));
  try {
    const run = spawnSync(
      process.execPath,
      [BIN, 'research', 'soak', '--agents', '40', '--duration', '25', '--warmup', '5', '--sample', '2', '--churn-every', '1', '--wasm', '0.1', '--keep', join(dir, 'work'), '--charts', join(dir, 'charts'), '--out', join(dir, 'soak.md'), '--json'],
      { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '' }, maxBuffer: 64 * 2 ** 20 },
    );
    // A flatness or lateness goal may be missed on a loaded machine in 25 s (exit 1); the report is printed either way.
    assert.ok(run.status === 0 || run.status === 1, run.stderr);
    const report = JSON.parse(run.stdout) as SoakReport;
    const failed = report.verdicts.filter((v) => !v.pass).map((v) => v.goal);
    assert.equal(run.status, failed.length === 0 ? 0 : 1, `exit code follows the verdicts: ${failed.join('; ')}`);
    assert.ok(report.samples.length >= 8, `samples: ${String(report.samples.length)}`);
    assert.ok(report.samples.every((s) => s.rssMiB > 0 && s.fds > 0 && s.agentsAlive > 0), 'RSS, descriptors and agents read from outside');
    assert.ok(report.counts.spawned > 40, `the operator refilled what died or was stopped: ${String(report.counts.spawned)} spawned`);
    assert.ok(report.counts.stoppedByOperator > 0 && report.counts.toppedUp > 0);
    for (const goal of ['ledger verifies', 'every agent that ran is settled', 'nothing left frozen']) {
      const verdict = report.verdicts.find((v) => v.goal.startsWith(goal));
      assert.equal(verdict?.pass, true, `${goal}: ${verdict?.measured ?? 'missing'}`);
    }
    assert.equal(report.afterStop.agents, report.counts.spawned, 'every agent spawned was checked after stop');
    assert.equal(verifyLedger(join(dir, 'work', 'ledger.sqlite')).ok, true);
    for (const chart of ['soak-memory.svg', 'soak-fds.svg', 'soak-ticks.svg', 'soak-ledger.svg']) assert.match(readFileSync(join(dir, 'charts', chart), 'utf8'), /^<svg/, chart);
    assert.match(readFileSync(join(dir, 'soak.md'), 'utf8'), /^# The soak/);
    assert.equal(existsSync(join(dir, 'work', 'state', 'daemon.json')), false, 'the daemon stopped cleanly (its discovery file is gone)');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('research soak refuses a share outside [0, 1] with a stable code', { skip: SKIP }, () => {
  const run = spawnSync(process.execPath, [BIN, 'research', 'soak', '--leeches', '1.5'], { encoding: 'utf8' });
  assert.notEqual(run.status, 0);
  assert.match(run.stderr, /MXW_ERR_INVALID_ARG: --leeches must be in \[0, 1\], got 1\.5/);
});
