import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseResults } from '../../src/experiment/results.js';
import { verifyLedger } from '../../src/ledger/verify.js';
import { repoPath } from '../helpers/repo.js';

const SKIP = process.getuid?.() !== 0 ? 'needs root: the experiment runs its agents in cgroups' : false;

test('maxwell experiment scientist-vs-leech runs both arms to a report; leeches die only under Maxwell; the ledgers verify', { skip: SKIP, timeout: 180_000 }, () => {
  const out = mkdtempSync(join(tmpdir(), 'maxwell-experiment-'));
  try {
    // 6 s per arm: a leech that goes insolvent at once still has its 1 s grace and up to the 2 s
    // kill timeout before it is dead, and 'every leech dies under Maxwell' needs that inside the arm.
    const run = spawnSync(
      process.execPath,
      [repoPath('dist/src/cli/bin.js'), 'experiment', 'scientist-vs-leech', '--duration', '6', '--repetitions', '2', '--scientists', '2', '--leeches', '2', '--leech-wallet', '5', '--out', out],
      { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '' } },
    );
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /efficiency ratio Maxwell\/CFS: [\d.]+×/);
    assert.match(run.stdout, /thesis ≥ 1\.8×: (PASS|MISS)/);
    assert.match(run.stdout, /energy modelled \(thermal-twin\)/);
    assert.match(run.stderr, /repetition 2\/2/, 'progress on stderr');
    for (const file of ['index.html', 'results.json', 'temperature.svg', 'power.svg', 'prices.svg', 'wallets.svg']) assert.ok(existsSync(join(out, file)), file);
    const results = parseResults(readFileSync(join(out, 'results.json'), 'utf8'));
    assert.equal(results.repetitions.length, 2);
    assert.deepEqual(results.repetitions.map((r) => r.order[0]), ['cfs', 'maxwell'], 'arms alternate');
    for (const rep of results.repetitions) {
      assert.ok(rep.cfs.verifiedPrimes > 0 && rep.maxwell.verifiedPrimes > 0);
      assert.ok(rep.cfs.packageJ > 0 && rep.maxwell.packageJ > 0);
      assert.ok(rep.cfs.agents.filter((a) => a.role === 'leech').every((a) => a.survivalS === null), 'no leech dies under CFS');
      assert.ok(rep.maxwell.agents.filter((a) => a.role === 'leech').every((a) => a.survivalS !== null), 'every leech dies under Maxwell');
      assert.ok(rep.maxwell.clearingP99Ms !== null && rep.cfs.clearingP99Ms === null);
      for (const arm of ['cfs', 'maxwell'] as const) {
        const report = verifyLedger(join(out, 'ledgers', `rep${String(rep.index)}-${arm}.sqlite`));
        assert.equal(report.ok, true, report.failure?.message);
      }
    }
    assert.ok(results.summary.ratio.estimate > 0);
    assert.ok(results.notes.some((n) => /^Landauer tax \(treatment arm\) from: (ebpf|bpftrace|estimated)/.test(n)), results.notes.join('\n'));
    // Other WARNING notes (a busy machine before or during an arm) describe the machine, not Maxwell.
    assert.ok(!results.notes.some((n) => /daemon ticks failed/.test(n)), `no daemon tick failed: ${results.notes.join('\n')}`);
    assert.doesNotMatch(run.stdout, /daemon ticks failed/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
