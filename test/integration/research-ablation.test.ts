import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { verifyLedger } from '../../src/ledger/verify.js';
import { repoPath } from '../helpers/repo.js';

const SKIP = process.getuid?.() !== 0 ? 'needs root: the arms run their agents in cgroups' : false;

test('research ablation runs the four arms; leeches die wherever they must pay and never under CFS; the ledgers verify', { skip: SKIP, timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'maxwell-ablation-test-'));
  try {
    const out = join(dir, 'ablation.md');
    const run = spawnSync(
      process.execPath,
      [repoPath('dist/src/cli/bin.js'), 'research', 'ablation', '--duration', '6', '--repetitions', '2', '--scientists', '2', '--leeches', '2', '--leech-wallet', '5', '--ledgers', join(dir, 'ledgers'), '--out', out],
      { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '' } },
    );
    assert.equal(run.status, 0, run.stderr);
    for (const label of ['Linux CFS', 'CFS + kill the insolvent', 'Maxwell, flat price', 'Maxwell']) assert.match(run.stdout, new RegExp(`^${label.replace(/[+]/g, '\\+')}\\s+[\\d.]+\\s`, 'm'), label);
    assert.match(run.stdout, /energy: modelled/);
    assert.match(run.stdout, /Maxwell ÷ CFS: [\d.]+×/);
    assert.match(readFileSync(out, 'utf8'), /^# What the gain is made of/);
    const dead = (text: string, label: string): string => new RegExp(`^${label}\\s+.*?(\\d+/\\d+)\\s+\\d+/\\d+\\s*$`, 'm').exec(text)?.[1] ?? '?';
    assert.equal(dead(run.stdout, 'Linux CFS'), '0/4', 'no leech dies under CFS');
    assert.equal(dead(run.stdout, 'CFS \\+ kill the insolvent'), '4/4', 'rent kills every leech');
    assert.equal(dead(run.stdout, 'Maxwell'), '4/4');
    for (const rep of [0, 1]) {
      for (const arm of ['cfs', 'admission', 'flat', 'maxwell']) {
        const report = verifyLedger(join(dir, 'ledgers', `rep${String(rep)}-${arm}.sqlite`));
        assert.equal(report.ok, true, `${arm}: ${report.failure?.message ?? ''}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('research ablation refuses an unknown arm with a stable code', () => {
  const run = spawnSync(process.execPath, [repoPath('dist/src/cli/bin.js'), 'research', 'ablation', '--arm', 'cfs,nonsense'], { encoding: 'utf8' });
  assert.notEqual(run.status, 0);
  assert.match(run.stderr, /MXW_ERR_INVALID_ARG: --arm: "nonsense" is not one of cfs, admission, flat, maxwell/);
});

