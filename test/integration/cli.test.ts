import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { worldReadableCheckout } from '../helpers/readable-copy.js';
import { stepFixtures } from '../helpers/records.js';
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

test('calibrate without --twin explains that real sensors are not available, and offers --from-csv', () => {
  const run = maxwell(['calibrate', '--json']);
  assert.equal(run.code, 1);
  const doc = JSON.parse(run.stdout) as { error: { code: string } };
  assert.equal(doc.error.code, 'MXW_ERR_SENSORS_UNAVAILABLE');
  assert.match(run.stderr, /MXW_ERR_SENSORS_UNAVAILABLE.*--from-csv FILE --step-at S/);
  assert.match(maxwell(['calibrate', '--help']).stdout, /--from-csv <file>[\s\S]*--step-at <seconds>/);
  assert.match(maxwell(['twin', '--help']).stdout, /--allow-misfit/);
});

const FIXTURES = repoPath('test/fixtures/step-response');

test('the step-response fixtures are what their seeded generator writes', () => {
  for (const [name, text] of Object.entries(stepFixtures())) assert.equal(readFileSync(join(FIXTURES, name), 'utf8'), text, `${name}: run scripts/gen-step-fixtures.mjs`);
});

interface CsvReport {
  provenance: { kind: string; source: string };
  fit: { tauS: { value: number; ci95: number }; deadTimeS: { value: number; ci95: number }; gain: { value: number; ci95: number }; diagnostics: { verdict: string; rSquared: number } };
  warnings: { code: string }[];
}

test('calibrate --from-csv fits a user\'s FOPDT step response and says it is measured from that file', () => {
  const file = join(FIXTURES, 'fopdt.csv');
  const run = maxwell(['calibrate', '--from-csv', file, '--step-at', '2', '--json']);
  assert.equal(run.code, 0, run.stderr);
  const report = JSON.parse(run.stdout) as CsvReport;
  assert.deepEqual(report.provenance, { kind: 'measured', source: `user file ${file}` });
  // Generated with τ 2 s, θ 0.3 s, gain 15: each within its interval (a 1-in-20 miss would show up here as a fixed failure, not a flake).
  for (const [estimate, truth] of [[report.fit.tauS, 2], [report.fit.deadTimeS, 0.3], [report.fit.gain, 15]] as const) {
    assert.ok(Math.abs(estimate.value - truth) <= estimate.ci95, `${estimate.value} ± ${estimate.ci95} vs ${truth}`);
  }
  assert.equal(report.fit.diagnostics.verdict, 'ok');
  assert.deepEqual(report.warnings, []);
  const human = maxwell(['calibrate', '--from-csv', file, '--step-at', '2']);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /MEASURED \(user file .*fopdt\.csv\)/);
  assert.match(human.stdout, /τ identified s[\s\S]*lag-1 autocorr[\s\S]* ok\n/);
});

test('calibrate --from-csv flags a two-pole step response with MXW_WARN_IDENT_MISFIT', () => {
  const run = maxwell(['calibrate', '--from-csv', join(FIXTURES, 'two-pole.csv'), '--step-at', '1']);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /misfit\n/);
  assert.match(run.stdout, /warning MXW_WARN_IDENT_MISFIT: .*two-pole\.csv: the step response is not first order/);
  const json = JSON.parse(maxwell(['calibrate', '--from-csv', join(FIXTURES, 'two-pole.csv'), '--step-at', '1', '--json']).stdout) as CsvReport;
  assert.deepEqual(json.warnings.map((w) => w.code), ['MXW_WARN_IDENT_MISFIT']);
});

test('calibrate --from-csv refuses bad files and bad steps with coded errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'maxwell-csv-'));
  try {
    const good = readFileSync(join(FIXTURES, 'fopdt.csv'), 'utf8').split('\n');
    const write = (name: string, text: string): string => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    };
    const cases: [string[], string, RegExp][] = [
      [[join(dir, 'missing.csv'), '1'], 'MXW_ERR_CSV_FILE', /missing\.csv/],
      [[dir, '1'], 'MXW_ERR_CSV_FILE', /cannot read/],
      [[write('empty.csv', ''), '1'], 'MXW_ERR_CSV_INVALID', /no samples/],
      [[write('header-only.csv', 'time,temperature\n'), '1'], 'MXW_ERR_CSV_INVALID', /no samples/],
      [[write('cell.csv', [...good.slice(0, 10), '1.050,warm', ...good.slice(10)].join('\n')), '2'], 'MXW_ERR_CSV_INVALID', /cell\.csv:11: /],
      [[write('columns.csv', [...good.slice(0, 5), '0.450,40.1,3', ...good.slice(5)].join('\n')), '2'], 'MXW_ERR_CSV_INVALID', /columns\.csv:6: expected 2 columns/],
      [[write('backwards.csv', [...good.slice(0, 20), good[15] ?? '', ...good.slice(20)].join('\n')), '2'], 'MXW_ERR_CSV_INVALID', /backwards\.csv:21: time .* does not increase/],
      [[write('short.csv', good.slice(0, 12).join('\n')), '0.5'], 'MXW_ERR_CSV_INVALID', /10 samples; at least 20/],
      [[write('header.csv', `volts,amps\n${good.slice(2).join('\n')}`), '2'], 'MXW_ERR_CSV_INVALID', /header\.csv:1: header/],
      [[join(FIXTURES, 'fopdt.csv'), '99'], 'MXW_ERR_INVALID_ARG', /--step-at 99 s lies outside the record/],
      [[join(FIXTURES, 'fopdt.csv'), '0.1'], 'MXW_ERR_INVALID_ARG', /outside the record/],
      [[join(FIXTURES, 'fopdt.csv'), 'soon'], 'MXW_ERR_INVALID_ARG', /--step-at S/],
    ];
    for (const [[file, stepAt], code, message] of cases) {
      const run = maxwell(['calibrate', '--from-csv', file ?? '', '--step-at', stepAt ?? '', '--json']);
      assert.equal(run.code, 1, `${file ?? ''}: ${run.stderr}`);
      assert.equal((JSON.parse(run.stdout) as { error: { code: string } }).error.code, code, `${file ?? ''}: ${run.stderr}`);
      assert.match(run.stderr, message);
    }
    const noStep = maxwell(['calibrate', '--from-csv', join(FIXTURES, 'fopdt.csv')]);
    assert.equal(noStep.code, 1);
    assert.match(noStep.stderr, /MXW_ERR_INVALID_ARG.*--step-at/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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
  // Only the command asked for is loaded; a misspelt one still gets commander's suggestion.
  assert.match(maxwell(['--quiet', 'agnets']).stderr, /Did you mean agents\?/);
  assert.match(maxwell(['--set', 'twin.cores=2', 'config', '--json']).stdout, /"cores": 2/);
});

test('a reader that closes the pipe early ends the command quietly: no EPIPE, no stack trace', () => {
  for (const args of ['--help', 'research --help', 'config']) {
    // `true` exits at once, long before node has started: every write meets a closed pipe.
    const run = spawnSync('sh', ['-c', `"$0" "$1" ${args} | true`, process.execPath, BIN], { encoding: 'utf8' });
    assert.doesNotMatch(run.stderr, /EPIPE|Error|at /, `maxwell ${args}`);
  }
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
  for (const args of [['experiment', 'scientist-vs-leech', '--quick'], ['run'], ['sweep']]) {
    const run = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, bin, ...args], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '', HOME: '/tmp' }, cwd: '/tmp' });
    assert.equal(run.status, 1, run.stderr);
    assert.match(run.stderr, /MXW_ERR_RUNTIME_SETUP: .*needs root here: run it with sudo/);
  }
});

test('research ebpf without the built erase workload says what is missing and how to build it, with a code', () => {
  const run = maxwell(['research', 'ebpf', '--quick', '--workload', '/nonexistent/erase-bench']);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /MXW_ERR_EBPF_UNAVAILABLE: .*erase workload is not built \(\/nonexistent\/erase-bench\): npm run build builds it/);
  assert.doesNotMatch(run.stderr, /MXW_ERR_INTERNAL|\n\s+at /, 'no internal error, no stack trace');
});
