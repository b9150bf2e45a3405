import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { join } from 'node:path';
import { worldReadableCheckout } from '../helpers/readable-copy.js';
import { repoPath } from '../helpers/repo.js';

const BIN = repoPath('dist/src/cli/bin.js');

function maxwell(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '', ...env } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('--version prints the package version and --help lists the commands', () => {
  const pkg = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { version: string };
  assert.equal(maxwell(['--version']).stdout.trim(), pkg.version);
  const help = maxwell(['--help']);
  assert.equal(help.code, 0);
  for (const command of ['twin', 'calibrate', 'config']) assert.match(help.stdout, new RegExp(`\\b${command}\\b`));
  assert.match(maxwell(['calibrate', '--help']).stdout, /--twin/);
});

test('twin --json prints one JSON document on stdout and progress on stderr', () => {
  const run = maxwell(['twin', '--json', '--duration', '6']);
  assert.equal(run.code, 0, run.stderr);
  const report = JSON.parse(run.stdout) as { provenance: { kind: string }; metrics: { overshootC: number }; timeline: unknown[] };
  assert.equal(report.provenance.kind, 'modelled');
  assert.equal(report.timeline.length, 12);
  assert.ok(report.metrics.overshootC <= 2);
  assert.match(run.stderr, /identifying/);
});

test('the human twin output says its numbers are modelled', () => {
  const run = maxwell(['twin', '--quiet', '--duration', '3']);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /MODELLED/);
  assert.match(run.stdout, /Overshoot/);
  assert.equal(run.stderr, '');
});

test('calibrate --twin --json reports true and identified values', () => {
  const run = maxwell(['calibrate', '--twin', '--json', '--repeats', '4', '--cores', '2']);
  assert.equal(run.code, 0, run.stderr);
  const report = JSON.parse(run.stdout) as { planes: { name: string; tauS: { truth: number; identified: number } }[] };
  assert.deepEqual(report.planes.map((p) => p.name), ['core0', 'core1', 'gpu', 'chassis']);
  for (const p of report.planes) assert.ok(Math.abs(p.tauS.identified / p.tauS.truth - 1) < 0.1);
});

test('calibrate without --twin explains that real sensors are not available', () => {
  const run = maxwell(['calibrate', '--json']);
  assert.equal(run.code, 1);
  const doc = JSON.parse(run.stdout) as { error: { code: string } };
  assert.equal(doc.error.code, 'MXW_ERR_SENSORS_UNAVAILABLE');
  assert.match(run.stderr, /MXW_ERR_SENSORS_UNAVAILABLE/);
});

test('configuration errors name the key and exit 1', () => {
  const unknown = maxwell(['twin', '--set', 'twin.coreCount=8']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /MXW_ERR_CONFIG_UNKNOWN_KEY.*twin\.coreCount/);
  const env = maxwell(['config'], { MAXWELL_TWIN__CORS: '3' });
  assert.equal(env.code, 1);
  assert.match(env.stderr, /MAXWELL_TWIN__CORS/);
  const invalid = maxwell(['twin', '--cores', 'many']);
  assert.equal(invalid.code, 1);
  assert.match(invalid.stderr, /MXW_ERR_CONFIG_INVALID.*twin\.cores/);
});

test('config shows the effective value and its environment variable', () => {
  const run = maxwell(['config'], { MAXWELL_TWIN__CORES: '6' });
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /twin\.cores\s+6\s+MAXWELL_TWIN__CORES/);
  const json = JSON.parse(maxwell(['config', '--json']).stdout) as { twin: { cores: number } };
  assert.equal(json.twin.cores, 4);
});

test('an unknown command fails with usage help', () => {
  const run = maxwell(['frobnicate']);
  assert.notEqual(run.code, 0);
  assert.match(run.stderr, /unknown command/);
});

test('sensors tells the truth about this machine: what is present, what is modelled, what is missing', () => {
  const run = maxwell(['sensors', '--json']);
  assert.equal(run.code, 0, run.stderr);
  const report = JSON.parse(run.stdout) as { energy: { provenance: string }; temperature: { provenance: string }; sources: { reader: string; state: string; reason?: string }[]; missing: string[] };
  const state = new Map(report.sources.map((s) => [s.reader, s]));
  assert.equal(state.get('procfs-stat')?.state, 'present');
  // Whatever this machine has, the report must agree with the files that exist.
  const hasRapl = existsSync('/sys/class/powercap/intel-rapl:0/energy_uj');
  assert.equal(report.energy.provenance, hasRapl ? 'measured' : 'modelled');
  if (!hasRapl) assert.ok(report.missing.some((m) => /no CPU energy sensor/.test(m)));
  for (const s of report.sources) if (s.state !== 'present') assert.ok((s.reason ?? '').length > 0, `${s.reader} says why`);
  const human = maxwell(['sensors']);
  assert.match(human.stdout, /What Maxwell will use/);
});

test('sensors on a captured tree finds RAPL, hwmon, thermal zones and the GPU', () => {
  const run = maxwell(['sensors', '--json', '--root', repoPath('test/fixtures/sysfs/intel-server'), '--nvidia-smi', repoPath('test/fixtures/nvidia-smi/fake-nvidia-smi.mjs')]);
  assert.equal(run.code, 0, run.stderr);
  const report = JSON.parse(run.stdout) as { energy: { reader: string; provenance: string }; temperature: { reader: string }; gpu: { reader: string } | null };
  assert.deepEqual(report.energy, { reader: 'rapl-powercap', provenance: 'measured', note: 'package energy measured by rapl-powercap' });
  assert.equal(report.temperature.reader, 'hwmon');
  assert.equal(report.gpu?.reader, 'nvidia-smi');
});

test('the experiment and the daemon say they need root, with the fix, instead of failing somewhere in cgroups', { skip: process.getuid?.() !== 0 ? 'needs root to run the command as another user' : false }, () => {
  // Another user may not be able to reach this checkout (a clone in a 0700 directory): run a copy anyone can read.
  const bin = join(worldReadableCheckout(), 'dist/src/cli/bin.js');
  for (const args of [['experiment', 'scientist-vs-leech', '--quick'], ['run']]) {
    const run = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, bin, ...args], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '', HOME: '/tmp' }, cwd: '/tmp' });
    assert.equal(run.status, 1, run.stderr);
    assert.match(run.stderr, /MXW_ERR_RUNTIME_SETUP: .*needs root here: run it with sudo/);
  }
});

test('research ebpf without the built erase workload says what is missing and how to build it, with a code', () => {
  const run = maxwell(['research', 'ebpf', '--quick', '--workload', '/nonexistent/erase-bench']);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /MXW_ERR_EBPF_UNAVAILABLE: .*erase workload is not built \(\/nonexistent\/erase-bench\): run bash scripts\/build-ebpf\.sh/);
  assert.doesNotMatch(run.stderr, /MXW_ERR_INTERNAL|\n\s+at /, 'no internal error, no stack trace');
});
