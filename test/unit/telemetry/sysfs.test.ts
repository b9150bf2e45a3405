import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TelemetryWarning } from '../../../src/telemetry/health.js';
import { HwmonReader, hwmonChannelParts } from '../../../src/telemetry/sysfs/hwmon.js';
import { PowercapRaplReader } from '../../../src/telemetry/sysfs/powercap.js';
import { ThermalZoneReader } from '../../../src/telemetry/sysfs/thermal-zone.js';
import { telemetryReaderCompliance } from '../../compliance/telemetry-reader.js';
import { copyFixture, emptyRoot, manualNow, writeAttribute } from '../../helpers/fixtures.js';
import { worldReadableCheckout } from '../../helpers/readable-copy.js';
import { repoPath } from '../../helpers/repo.js';

const fixture = (name: string): string => repoPath(`test/fixtures/sysfs/${name}`);

for (const machine of ['intel-server', 'amd-workstation']) {
  telemetryReaderCompliance({ name: `rapl-powercap (${machine})`, present: () => new PowercapRaplReader({ root: fixture(machine) }), absent: () => new PowercapRaplReader({ root: emptyRoot() }) });
  telemetryReaderCompliance({ name: `hwmon (${machine})`, present: () => new HwmonReader({ root: fixture(machine) }), absent: () => new HwmonReader({ root: emptyRoot() }) });
}
telemetryReaderCompliance({ name: 'thermal-zones (intel-server)', present: () => new ThermalZoneReader({ root: fixture('intel-server') }), absent: () => new ThermalZoneReader({ root: emptyRoot() }) });

test('hwmon and thermal zones read only the chips and zones asked for', async () => {
  const hwmon = await new HwmonReader({ root: fixture('intel-server'), includeChip: (name) => name === 'coretemp' }).probe();
  assert.deepEqual(hwmon.state === 'present' ? hwmon.channels.map((c) => c.id) : [], ['hwmon/hwmon0:coretemp/Package id 0', 'hwmon/hwmon0:coretemp/Core 0', 'hwmon/hwmon0:coretemp/Core 1']);
  const zones = await new ThermalZoneReader({ root: fixture('intel-server'), includeZone: (type) => type === 'x86_pkg_temp' }).probe();
  assert.deepEqual(zones.state === 'present' ? zones.channels.map((c) => c.id) : [], ['thermal/thermal_zone0/x86_pkg_temp']);
  assert.deepEqual(hwmonChannelParts('hwmon/hwmon0:coretemp/Package id 0'), { hwmon: 'hwmon0', chip: 'coretemp', label: 'Package id 0' });
  assert.equal(hwmonChannelParts('thermal/thermal_zone0/x86_pkg_temp'), null);
});

test('powercap finds package and DRAM zones and skips the control-type directory', async () => {
  const probe = await new PowercapRaplReader({ root: fixture('intel-server') }).probe();
  assert.deepEqual(probe.state === 'present' ? probe.channels.map((c) => c.id) : [], [
    'rapl/intel-rapl:0/package-0',
    'rapl/intel-rapl:0:0/dram',
    'rapl/intel-rapl:1/package-1',
    'rapl/intel-rapl:1:0/dram',
  ]);
});

test('powercap energy follows energy_uj, across a wrap at max_energy_range_uj', async () => {
  const root = copyFixture('sysfs/amd-workstation');
  const zone = 'sys/class/powercap/intel-rapl:0';
  const range = 65532610987;
  writeAttribute(root, `${zone}/energy_uj`, range - 2_000_000);
  const reader = new PowercapRaplReader({ root });
  await reader.start();
  writeAttribute(root, `${zone}/energy_uj`, range - 500_000);
  assert.ok(Math.abs(reader.sample()[0]!.value - 1.5) < 1e-9);
  // The counter wraps: range - 500 000 → 1 000 000 is 1.5 J more (the range includes its maximum).
  writeAttribute(root, `${zone}/energy_uj`, 999_999);
  const [after] = reader.sample();
  assert.ok(Math.abs(after!.value - 3) < 1e-6, `energy ${after!.value}`);
  assert.ok(after!.trusted);
  assert.equal(after!.provenance.source, 'rapl');
  assert.ok(after!.provenance.errorBound >= 0.05 * 3, 'the error bound includes RAPL accuracy');
  await reader.stop();
});

test('a counter that goes backwards without a wrap is not trusted and warns once', async () => {
  const root = copyFixture('sysfs/intel-server');
  const warnings: TelemetryWarning[] = [];
  const reader = new PowercapRaplReader({ root, onWarning: (w) => warnings.push(w) });
  await reader.start();
  const path = 'sys/class/powercap/intel-rapl:0/energy_uj';
  writeAttribute(root, path, 84216493712 - 1000);
  const back = reader.sample().find((r) => r.channel === 'rapl/intel-rapl:0/package-0')!;
  assert.equal(back.trusted, false);
  assert.equal(back.value, 0, 'no energy is invented');
  writeAttribute(root, path, 84216493712 - 500);
  const next = reader.sample().find((r) => r.channel === 'rapl/intel-rapl:0/package-0')!;
  assert.ok(next.trusted, 'later steps are trusted again');
  assert.ok(Math.abs(next.value - 0.0005) < 1e-9);
  reader.sample();
  assert.deepEqual(warnings.map((w) => w.code), ['MXW_WARN_SENSOR_BACKWARDS']);
  assert.match(warnings[0]!.message, /intel-rapl:0/);
  await reader.stop();
});

test('RAPL readable by root only is reported as denied, with the fix', { skip: process.getuid?.() !== 0 ? 'needs root to create a root-only file' : false }, () => {
  const root = copyFixture('sysfs/intel-server');
  // The copy keeps the checkout's modes: from a umask-077 checkout nobody else could read any of it.
  const readable = spawnSync('chmod', ['-R', 'a+rX', root], { encoding: 'utf8' });
  assert.equal(readable.status, 0, readable.stderr);
  const zones = ['intel-rapl:0', 'intel-rapl:0:0', 'intel-rapl:1', 'intel-rapl:1:0'];
  for (const z of zones) chmodSync(join(root, 'sys/class/powercap', z, 'energy_uj'), 0o400);
  chownSync(root, 65534, 65534);
  // Uid 65534 may not reach this checkout (a clone in a 0700 directory): import from a copy anyone can read.
  const powercap = join(worldReadableCheckout(), 'dist/src/telemetry/sysfs/powercap.js');
  const script = `import('${powercap}').then(async (m) => {
    const probe = await new m.PowercapRaplReader({ root: ${JSON.stringify(root)} }).probe();
    process.stdout.write(JSON.stringify(probe));
  })`;
  // From /tmp: uid 65534 may not be allowed into this process's working directory.
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { uid: 65534, gid: 65534, encoding: 'utf8', cwd: '/tmp' });
  assert.equal(run.status, 0, run.stderr);
  const probe = JSON.parse(run.stdout) as { state: string; reason: string };
  assert.equal(probe.state, 'denied');
  assert.match(probe.reason, /root only since Linux 5\.10/);
});

test('hwmon reads coretemp, nvme and a power meter by label, in °C and W', async () => {
  const reader = new HwmonReader({ root: fixture('intel-server') });
  await reader.start();
  const byId = new Map(reader.sample().map((r) => [r.channel, r]));
  assert.equal(byId.get('hwmon/hwmon0:coretemp/Package id 0')?.value, 52);
  assert.equal(byId.get('hwmon/hwmon0:coretemp/Core 1')?.value, 51);
  assert.equal(byId.get('hwmon/hwmon1:nvme/Composite')?.value, 38.85);
  assert.equal(byId.get('hwmon/hwmon2:power_meter/power1')?.value, 215);
  assert.equal(byId.get('hwmon/hwmon0:coretemp/Core 0')?.provenance.errorBound, 2, 'coretemp: 1 °C steps ± 1 °C accuracy');
  await reader.stop();
});

test('hwmon handles k10temp, amdgpu, old device/ layouts and cumulative energy inputs', async () => {
  const root = copyFixture('sysfs/amd-workstation');
  const reader = new HwmonReader({ root });
  await reader.start();
  writeAttribute(root, 'sys/class/hwmon/hwmon3/energy1_input', 3091837123 + 2_500_000);
  const byId = new Map(reader.sample().map((r) => [r.channel, r]));
  assert.equal(byId.get('hwmon/hwmon0:k10temp/Tctl')?.value, 45.25);
  assert.equal(byId.get('hwmon/hwmon0:k10temp/Tccd1')?.value, 41.5);
  assert.equal(byId.get('hwmon/hwmon1:amdgpu/power1')?.value, 15);
  assert.equal(byId.get('hwmon/hwmon2:it8686/temp1')?.value, 33);
  assert.ok(Math.abs(byId.get('hwmon/hwmon3:amd_energy/Esocket0')!.value - 2.5) < 1e-9);
  await reader.stop();
});

test('garbage temperatures are flagged, not trusted, and named in one warning each', async () => {
  const warnings: TelemetryWarning[] = [];
  const clock = manualNow();
  let activity = 0;
  const root = copyFixture('sysfs/broken-sensors');
  const hwmon = new HwmonReader({ root, onWarning: (w) => warnings.push(w), now: clock.now, activity: () => activity });
  await hwmon.start();
  for (let k = 0; k < 40; k++) {
    const readings = new Map(hwmon.sample().map((r) => [r.channel, r]));
    assert.equal(readings.get('hwmon/hwmon0:acme/impossible')?.trusted, false);
    clock.advance(1);
    activity = k < 20 ? 0.1 : 0.9;
  }
  const stuck = hwmon.sample().find((r) => r.channel === 'hwmon/hwmon0:acme/stuck');
  assert.equal(stuck?.trusted, false, 'unchanged for 40 s while load moved 80 %');
  // A sensor that changes is trusted again.
  writeAttribute(root, 'sys/class/hwmon/hwmon0/temp2_input', 66000);
  assert.equal(hwmon.sample().find((r) => r.channel === 'hwmon/hwmon0:acme/stuck')?.trusted, true);
  assert.deepEqual(warnings.map((w) => w.code).sort(), ['MXW_WARN_SENSOR_OUT_OF_RANGE', 'MXW_WARN_SENSOR_STUCK']);
  assert.ok(warnings.every((w) => w.message.includes('hwmon/hwmon0:acme/')));

  const zones = new ThermalZoneReader({ root, onWarning: (w) => warnings.push(w) });
  await zones.start();
  const [garbage] = zones.sample();
  assert.equal(garbage?.trusted, false);
  assert.equal(warnings.at(-1)?.subject, 'thermal/thermal_zone0/acpitz');
  await Promise.all([hwmon.stop(), zones.stop()]);
});

test('a stuck-looking sensor on an idle machine is not flagged', async () => {
  const clock = manualNow();
  const warnings: TelemetryWarning[] = [];
  const hwmon = new HwmonReader({ root: fixture('intel-server'), onWarning: (w) => warnings.push(w), now: clock.now, activity: () => 0.02 });
  await hwmon.start();
  for (let k = 0; k < 100; k++) {
    assert.ok(hwmon.sample().every((r) => r.trusted));
    clock.advance(1);
  }
  assert.deepEqual(warnings, []);
  await hwmon.stop();
});
