import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { CgroupCpuReader, ProcessCpuReader, parsePidStat } from '../../../src/telemetry/procfs/process-stats.js';
import { ProcStatReader, createCpuTicks, parseProcStat } from '../../../src/telemetry/procfs/proc-stat.js';
import { telemetryReaderCompliance } from '../../compliance/telemetry-reader.js';
import { emptyRoot } from '../../helpers/fixtures.js';
import { repoPath } from '../../helpers/repo.js';

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // spin
  }
}

const V1 = '/sys/fs/cgroup/cpuacct';
const V2 = '/sys/fs/cgroup/unified';

telemetryReaderCompliance({ name: 'procfs-stat (this machine)', present: () => new ProcStatReader(), absent: () => new ProcStatReader({ root: emptyRoot() }), prime: () => { busy(30); } });
telemetryReaderCompliance({ name: 'procfs-stat (captured dev VM)', present: () => new ProcStatReader({ root: repoPath('test/fixtures/procfs/dev-vm') }) });
telemetryReaderCompliance({
  name: 'procfs-processes (this process)',
  present: () => new ProcessCpuReader(),
  absent: () => new ProcessCpuReader({ root: emptyRoot() }),
  prime: (reader) => { reader.watch(process.pid); },
});
telemetryReaderCompliance({
  name: 'cgroup-cpu (v1 cpuacct)',
  present: () => new CgroupCpuReader(),
  prime: (reader) => { reader.watch(V1); },
  skip: existsSync(`${V1}/cpuacct.usage`) ? false : `no cgroup v1 cpuacct at ${V1}`,
});
telemetryReaderCompliance({
  name: 'cgroup-cpu (v2 cpu.stat)',
  present: () => new CgroupCpuReader(),
  prime: (reader) => { reader.watch(V2); },
  skip: existsSync(`${V2}/cpu.stat`) ? false : `no cgroup2 cpu.stat at ${V2}`,
});

test('/proc/stat parsing: busy excludes idle and iowait; every CPU line is read', () => {
  const text = readFileSync(repoPath('test/fixtures/procfs/dev-vm/proc/stat'));
  const ticks = createCpuTicks(8);
  parseProcStat(text, text.length, ticks);
  assert.equal(ticks.count, 3, 'cpu, cpu0, cpu1');
  // An independent reading of the first line: user nice system idle iowait irq softirq steal.
  const [user, nice, system, idle, iowait, irq, softirq, steal] = text.toString().split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  assert.equal(ticks.busy[0], user! + nice! + system! + irq! + softirq! + steal!);
  assert.equal(ticks.total[0], user! + nice! + system! + idle! + iowait! + irq! + softirq! + steal!);
});

test('per-core utilisation follows real load on this machine', async () => {
  const reader = new ProcStatReader();
  await reader.start();
  reader.sample();
  busy(300);
  const readings = reader.sample();
  const all = readings.find((r) => r.channel === 'cpu/all')!;
  assert.ok(all.trusted);
  assert.ok(all.value > 0.3 / reader.cpuCount, `utilisation ${all.value} after 300 ms of one busy thread`);
  assert.ok(readings.every((r) => r.value >= 0 && r.value <= 1));
  assert.ok(all.provenance.errorBound > 0 && all.provenance.windowS > 0);
  await reader.stop();
});

test('/proc/PID/stat parsing survives spaces and parentheses in the command name', () => {
  const captured = readFileSync(repoPath('test/fixtures/procfs/dev-vm/pid-stat'), 'utf8');
  assert.ok(parsePidStat(captured) !== undefined);
  const tricky = '4242 (evil) name (x)) S 1 4242 4242 0 -1 4194560 1234 0 7 0 250 50 0 0 20 0 1 0 100 1000 100';
  assert.deepEqual(parsePidStat(tricky), { minorFaults: 1234, majorFaults: 7, cpuTicks: 300 });
  assert.equal(parsePidStat('garbage'), undefined);
});

test('a watched process: CPU time grows with its work; faults and switches are read; exit is not fatal', async () => {
  const child = spawn(process.execPath, ['-e', 'const e = Date.now() + 400; while (Date.now() < e); setTimeout(() => {}, 5000)'], { stdio: 'ignore' });
  const reader = new ProcessCpuReader();
  reader.watch(child.pid!);
  await reader.start();
  await new Promise((r) => setTimeout(r, 600));
  const [cpu] = reader.sample();
  assert.ok(cpu!.trusted && cpu!.value >= 0.2, `child CPU ${cpu!.value} s`);
  const details = reader.read(child.pid!);
  assert.ok(details !== undefined && details.minorFaults > 0 && details.voluntarySwitches >= 0);
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  await new Promise((r) => setTimeout(r, 50));
  const [gone] = reader.sample();
  assert.equal(gone!.trusted, false, 'an exited process reads untrusted, without throwing');
  assert.throws(() => { reader.watch(999_999_999); }, { code: 'MXW_ERR_INVALID_ARG' });
  await reader.stop();
});

test('cgroup CPU time: v1 in nanoseconds, v2 in microseconds; a directory without accounting is refused', { skip: existsSync(`${V1}/cpuacct.usage`) ? false : 'no cgroup v1 cpuacct' }, async () => {
  const reader = new CgroupCpuReader();
  reader.watch(V1);
  if (existsSync(`${V2}/cpu.stat`)) reader.watch(V2);
  await reader.start();
  const first = reader.sample();
  busy(100);
  const second = reader.sample();
  first.forEach((r, i) => {
    assert.ok(r.trusted && r.value > 0);
    assert.ok(second[i]!.value >= r.value);
  });
  assert.throws(() => { reader.watch(emptyRoot()); }, { code: 'MXW_ERR_INVALID_ARG' });
  await reader.stop();
});
