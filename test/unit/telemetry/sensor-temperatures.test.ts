import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatCores, planCoreTemperatures, readCpuPlaces, type CpuPlace } from '../../../src/telemetry/sensor-temperatures.js';
import { repoPath } from '../../helpers/repo.js';

const coretemp = (hwmon: string, labels: readonly string[]): string[] => labels.map((l) => `hwmon/${hwmon}:coretemp/${l}`);
const place = (packageId: number, coreId: number): CpuPlace => ({ packageId, coreId });

test('the captured desktop topology: core_id and physical_package_id per logical CPU; none past the last CPU', () => {
  assert.deepEqual(readCpuPlaces(repoPath('test/fixtures/sysfs/intel-desktop'), 7), [place(0, 0), place(0, 1), place(0, 4), place(0, 0), place(0, 1), place(0, 4), null]);
});

test('two sockets: each CPU takes the Core N of its own package\'s chip (core ids repeat across packages)', () => {
  const ids = [...coretemp('hwmon3', ['Package id 1', 'Core 0', 'Core 1']), ...coretemp('hwmon2', ['Package id 0', 'Core 0', 'Core 1'])];
  const plan = planCoreTemperatures(ids, [], [place(0, 0), place(0, 1), place(1, 0), place(1, 1)]);
  assert.ok(plan !== null);
  assert.deepEqual(
    plan.coreSensor.map((s) => plan.sensors[s]?.channels),
    [['hwmon/hwmon2:coretemp/Core 0'], ['hwmon/hwmon2:coretemp/Core 1'], ['hwmon/hwmon3:coretemp/Core 0'], ['hwmon/hwmon3:coretemp/Core 1']],
  );
});

test('coretemp chips without a package label are not guessed onto several packages; one chip on one package is placed', () => {
  const unlabelled = [...coretemp('hwmon0', ['Core 0']), ...coretemp('hwmon1', ['Core 0'])];
  assert.equal(planCoreTemperatures(unlabelled, [], [place(0, 0), place(1, 0)]), null);
  const single = planCoreTemperatures(coretemp('hwmon0', ['Core 0', 'Core 1']), [], [place(0, 1), place(0, 0)]);
  assert.deepEqual(single?.coreSensor.map((s) => single.sensors[s]?.name), ['Core 1 (package 0)', 'Core 0 (package 0)']);
});

test('AMD: Tdie is preferred to Tctl (which may carry an offset); two sockets give every core the hottest', () => {
  const ids = ['hwmon/hwmon0:k10temp/Tctl', 'hwmon/hwmon0:k10temp/Tdie', 'hwmon/hwmon0:k10temp/Tccd1', 'hwmon/hwmon1:k10temp/Tctl', 'hwmon/hwmon2:nvme/Composite'];
  const plan = planCoreTemperatures(ids, [], [null, null, null]);
  assert.deepEqual(plan?.sensors, [{ name: 'hottest of Tdie, Tctl (2 chips)', channels: ['hwmon/hwmon0:k10temp/Tdie', 'hwmon/hwmon1:k10temp/Tctl'] }]);
  assert.deepEqual(plan.coreSensor, [0, 0, 0]);
});

test('thermal zones: x86_pkg_temp over other CPU zones; ACPI zones never; nothing usable is null', () => {
  const zones = ['thermal/thermal_zone0/acpitz', 'thermal/thermal_zone1/x86_pkg_temp', 'thermal/thermal_zone2/x86_pkg_temp', 'thermal/thermal_zone3/cpu-thermal'];
  assert.deepEqual(planCoreTemperatures([], zones, [null])?.sensors, [{ name: '(hottest of thermal_zone1, thermal_zone2)', channels: [zones[1], zones[2]] }]);
  assert.equal(planCoreTemperatures([], ['thermal/thermal_zone3/cpu-thermal'], [null])?.family, 'thermal zone cpu-thermal');
  assert.equal(planCoreTemperatures(['hwmon/hwmon0:acme/impossible'], ['thermal/thermal_zone0/acpitz'], [null]), null);
});

test('core lists are written as ranges', () => {
  assert.equal(formatCores([0, 1, 2, 5, 7, 8]), '0-2, 5, 7-8');
  assert.equal(formatCores([3]), '3');
  assert.equal(formatCores([]), '');
});
