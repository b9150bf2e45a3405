import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { loadShares, parseMachineCpu, parseProcessStat, processCpuS, readMachineCpu, samplePreflightLoad } from '../../../src/telemetry/procfs/machine-load.js';
import { USER_HZ } from '../../../src/telemetry/procfs/proc-stat.js';
import { until } from '../../helpers/wait.js';

const STAT = `cpu  1000 10 500 8000 100 20 30 40 0 0
cpu0 600 5 250 4000 50 10 15 20 0 0
cpu1 400 5 250 4000 50 10 15 20 0 0
intr 12345
`;

test('/proc/stat: busy is user + nice + system + irq + softirq; steal is apart; per CPU too', () => {
  const cpu = parseMachineCpu(STAT);
  assert.equal(cpu.busyS, (1000 + 10 + 500 + 20 + 30) / USER_HZ);
  assert.equal(cpu.stealS, 40 / USER_HZ);
  assert.equal(cpu.totalS, (1000 + 10 + 500 + 8000 + 100 + 20 + 30 + 40) / USER_HZ);
  assert.deepEqual([...cpu.perCpuBusyS], [(600 + 5 + 250 + 10 + 15) / USER_HZ, (400 + 5 + 250 + 10 + 15) / USER_HZ]);
});

test('foreign load is busy time less the agents and Maxwell, as a share of the machine, never negative', () => {
  const before = parseMachineCpu(STAT);
  const after = { ...before, busyS: before.busyS + 1.5, stealS: before.stealS + 0.2 };
  const shares = loadShares(before, after, 1, 1, 0.2);
  assert.ok(Math.abs(shares.foreignS - 0.3) < 1e-9);
  assert.ok(Math.abs(shares.foreignFraction - 0.15) < 1e-9, 'two CPUs for one second');
  assert.ok(Math.abs(shares.stealFraction - 0.1) < 1e-9);
  assert.equal(loadShares(before, after, 1, 2, 0).foreignS, 0, 'agents counted above busy (counter skew) leave no negative load');
});

test('a real spinning process shows as foreign load, and the pre-flight check names it', { skip: process.platform !== 'linux' ? 'needs /proc' : false, timeout: 30_000 }, async (t) => {
  const spinner = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
  t.after(() => spinner.kill('SIGKILL'));
  const pid = spinner.pid ?? -1;
  await until('the spinner to use CPU', () => processCpuS(pid) > 0.05);
  const before = readMachineCpu();
  const spun0 = processCpuS(pid);
  const self0 = process.cpuUsage();
  const t0 = performance.now();
  await until('the spinner to use another 0.3 s of CPU', () => processCpuS(pid) - spun0 >= 0.3);
  const wallS = (performance.now() - t0) / 1000;
  const self = process.cpuUsage(self0);
  const shares = loadShares(before, readMachineCpu(), wallS, 0, (self.user + self.system) / 1e6);
  const spun = processCpuS(pid) - spun0;
  // Jiffies are 10 ms: allow two ticks of slack per reading.
  assert.ok(shares.foreignS >= spun - 0.04, `foreign ${shares.foreignS} s, the spinner alone used ${spun} s`);
  const spunBefore = processCpuS(pid);
  const sampledAt = performance.now();
  const sample = await samplePreflightLoad(500);
  const aroundS = (performance.now() - sampledAt) / 1000;
  // The spinner's share within the sample, at least: what it used around the call, less what it
  // could have used outside the sample's own window, less jiffy slack.
  const spinnerShare = (processCpuS(pid) - spunBefore - (aroundS - sample.sampleS) - 0.04) / sample.sampleS;
  // Listed, unless three other processes were at least as busy (a loaded machine).
  const third = sample.top[2]?.cpuFraction ?? 0;
  assert.ok(sample.top.some((p) => p.pid === pid) || third >= spinnerShare, `the spinner (pid ${String(pid)}, ≥ ${spinnerShare.toFixed(2)} of a CPU) is among the busiest: ${JSON.stringify(sample.top)}`);
  assert.ok(sample.busyFraction > 0, 'the machine is busy');
});

test('/proc/PID/stat: a name with spaces and parentheses does not shift the CPU fields', () => {
  const fields = ['S', '1', '1', '1', '0', '-1', '4194304', '100', '0', '0', '0', '250', '50'];
  assert.deepEqual(parseProcessStat(`42 (my (odd) name) ${fields.join(' ')} 0 0 20 0 1`), { name: 'my (odd) name', cpuS: 300 / USER_HZ });
});
