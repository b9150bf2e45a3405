/**
 * `maxwell research fleet --quick` as a user runs it: three real daemons in network namespaces,
 * node 0 hot, both arms twice. Asserts what the mechanism must do (with gossip no work lands on
 * the hot node; without it everything stays there), that every figure is measured or labelled,
 * that the ratio comes from the runs, and that the namespaces are gone afterwards. Prints the table.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fleetLabUnavailable } from '../../src/research/fleet-lab.js';
import type { FleetExperimentReport } from '../../src/research/fleet-experiment.js';
import { repoPath } from '../helpers/repo.js';

const BIN = repoPath('dist/src/cli/bin.js');
const SKIP = fleetLabUnavailable() ?? false;

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // SIGTERM (the CLI's clean stop: it removes its namespaces) before the test's own timeout, so a stuck run cannot outlive the test.
    const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env['PATH'] ?? '' }, stdio: ['ignore', 'pipe', 'pipe'], timeout: 540_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => { resolve({ code, stdout, stderr }); });
  });
}

const labNamespaces = (): string[] => (spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.match(/^mxl\S+/gm) ?? []);

test('research fleet --quick: work placed away from the hot node with gossip, kept on it without; primes measured, energy labelled modelled; nothing left behind', { skip: SKIP, timeout: 600_000 }, async (t) => {
  const before = labNamespaces();
  // Shorter arms than --quick's own (15 s, 6 s warm-up): the test asserts where work went, not the ratio's size.
  const result = await run(['research', 'fleet', '--quick', '--arm', '10', '--warm', '4', '--json']);
  const report = JSON.parse(result.stdout) as FleetExperimentReport;
  // An arm that could not run is in the report and makes the exit code 1: say why here.
  assert.deepEqual(report.failures, [], 'every arm ran');
  if (report.retried.length > 0) t.diagnostic(`arms run again after a failed first try: ${JSON.stringify(report.retried)}`);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(report.runs.length, 4, 'two repetitions of two arms');
  for (const r of report.runs) {
    assert.ok(r.primes > 0, `${r.arm} ${String(r.repetition)}: some primes were verified`);
    assert.ok(r.energyJ > 0 && Number.isFinite(r.primesPerJ));
    assert.equal(r.nodes.length, 3);
    assert.equal(r.placedOn.length, report.options.scientists + report.options.leeches);
    if (r.arm === 'gossip') {
      assert.ok(r.placedOn.every((n) => n !== 0), `gossip placed nothing on the hot node: ${r.placedOn.join(',')}`);
      assert.equal(r.nodes[0]?.primes, 0, 'no primes on the hot node with gossip');
    } else {
      assert.ok(r.placedOn.every((n) => n === 0));
      assert.equal(r.nodes[1]?.primes, 0, 'without gossip nothing runs on node 1');
    }
  }
  assert.ok(report.ratio !== null);
  const mean = (arm: string): number => {
    const xs = report.runs.filter((r) => r.arm === arm).map((r) => r.primesPerJ);
    return xs.reduce((a, b) => a + b, 0) / xs.length;
  };
  assert.ok(Math.abs(report.ratio.estimate - mean('gossip') / mean('alone')) < 1e-9 * report.ratio.estimate, 'the ratio is the ratio of the arms’ means');
  assert.match(report.provenance.energy, /^MODELLED/);
  assert.match(report.provenance.primes, /^MEASURED/);
  assert.ok(result.stderr.includes('[4/4]'), 'progress on stderr');
  assert.deepEqual(labNamespaces(), before, 'the lab removed its namespaces');
  const table = await run(['research', 'fleet', '--help']);
  assert.match(table.stdout, /needs root/);
  t.diagnostic(`fleet primes per joule, gossip ÷ alone (quick): ${report.ratio.estimate.toFixed(2)} [${String(report.ratio.low?.toFixed(2))}, ${String(report.ratio.high?.toFixed(2))}]; verdict ${String(report.verdict.met)}`);
});

test('research fleet refuses a bad --hot-ambient with a coded error', async () => {
  const result = await run(['research', 'fleet', '--hot-ambient', '200']);
  assert.notEqual(result.code, 0);
  assert.match(result.stderr, /MXW_ERR_INVALID_ARG: --hot-ambient must be a temperature/);
});
