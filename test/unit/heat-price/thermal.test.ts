import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ThermalState, type ThermalOptions } from '../../../src/heat-price/thermal.js';
import { DEFAULT_TWIN_PARAMS } from '../../../src/physics/twin-params.js';
import type { TelemetryWarning } from '../../../src/telemetry/health.js';
import { copyFixture, emptyRoot, manualNow, writeAttribute } from '../../helpers/fixtures.js';

const twin = { ...DEFAULT_TWIN_PARAMS, cores: 2, gpu: false };

test('without sensors, temperatures and energy are modelled by the twin and say so; the offer lists cores best first', async () => {
  const thermal = await ThermalState.start({ twin, setpointC: 80, criticalC: 95, rateHz: 100, sensorsRoot: '/nonexistent' });
  try {
    assert.equal(thermal.energyMeasured, false);
    assert.match(thermal.energySource, /^modelled: thermal twin \(2 cores\) driven by measured per-core utilisation from \/proc\/stat$/);
    await sleep(50);
    const tick = thermal.read();
    assert.equal(tick.temperaturesC.length, 2);
    assert.ok(tick.temperaturesC.every((t) => t > 20 && t < 100));
    assert.ok(tick.powerW > 0 && tick.energyJ > 0);
    const { quality, reserve, unit } = tick.offer;
    for (let s = 1; s < quality.length; s++) assert.ok((quality[s - 1] ?? 0) >= (quality[s] ?? 0));
    for (let s = 0; s < reserve.length; s++) assert.equal(reserve[s], tick.reservePerQuantumJ[unit[s] ?? 0]);
  } finally {
    await thermal.stop();
  }
});

test('a core above the critical temperature is not offered', async () => {
  const thermal = await ThermalState.start({ twin, setpointC: 80, criticalC: 20, rateHz: 100, sensorsRoot: '/nonexistent' });
  try {
    await sleep(20);
    assert.equal(thermal.read().offer.quality.length, 0);
  } finally {
    await thermal.stop();
  }
});

test('with RAPL powercap present (a captured Intel tree), package energy and power are measured, summed over packages', async () => {
  const root = copyFixture('sysfs/intel-server');
  const thermal = await ThermalState.start({ twin, setpointC: 80, criticalC: 95, rateHz: 100, sensorsRoot: root });
  try {
    assert.equal(thermal.energyMeasured, true);
    assert.match(thermal.energySource, /^measured: RAPL powercap \(package-0, package-1\)$/);
    // coretemp without a CPU topology in the tree: no CPU can be placed, every core gets the hottest sensor.
    assert.equal(thermal.source, 'measured: hwmon coretemp (cores 0-1; no CPU topology in the tree, so every core gets the hottest coretemp sensor)');
    assert.equal(thermal.measuredCores, 2);
    const first = thermal.read();
    assert.deepEqual([...first.temperaturesC], [52, 52], 'Package id 0 (52 °C) is the hottest of Package id 0, Core 0, Core 1');
    assert.equal(first.energyJ, 0, 'energy counts from start');
    // Each package counter advances by 1 J: 2 J in all, whatever the DRAM and core sub-zones do.
    for (const pkg of ['intel-rapl:0', 'intel-rapl:1']) {
      const path = `sys/class/powercap/${pkg}/energy_uj`;
      writeAttribute(root, path, Number(readFileSync(join(root, path), 'utf8')) + 1_000_000);
    }
    await sleep(100);
    const second = thermal.read();
    assert.ok(Math.abs(second.energyJ - 2) < 1e-9, `energy ${String(second.energyJ)} J`);
    assert.ok(second.powerW > 0);
  } finally {
    await thermal.stop();
    rmSync(root, { recursive: true, force: true });
  }
});

// The captured desktop: one package, cores with core_id 0, 1 and 4, two threads each
// (cpu0/cpu3, cpu1/cpu4, cpu2/cpu5); coretemp Package id 0 47 °C, Core 0 45, Core 1 44, Core 4 46.
const DESKTOP_TWIN = { ...DEFAULT_TWIN_PARAMS, cores: 8, gpu: false };
const CORE = { 0: 'sys/class/hwmon/hwmon0/temp2_input', 1: 'sys/class/hwmon/hwmon0/temp3_input', 4: 'sys/class/hwmon/hwmon0/temp6_input' } as const;

/**
 * A thermal state on a copy of the desktop tree (its /proc/stat too), on a manual clock, and a
 * sensorless twin-only one on the same clock and /proc/stat: the twin is deterministic, so the
 * reference gives exactly the values a core falls back to.
 */
async function desktop(t: { after: (fn: () => Promise<void>) => void }, options: Partial<ThermalOptions> = {}, prepare: (root: string) => void = () => undefined) {
  const root = copyFixture('sysfs/intel-desktop');
  prepare(root);
  const clock = manualNow();
  const warnings: TelemetryWarning[] = [];
  const base = { twin: DESKTOP_TWIN, setpointC: 80, criticalC: 95, rateHz: 100, root, now: clock.now };
  const thermal = await ThermalState.start({ ...base, sensorsRoot: root, onWarning: (w) => warnings.push(w), ...options });
  const reference = await ThermalState.start({ ...base, sensorsRoot: emptyRoot() });
  t.after(async () => {
    await thermal.stop();
    await reference.stop();
    rmSync(root, { recursive: true, force: true });
  });
  /** Advances the clock past the sensor period and reads both. */
  const next = (dtS = 0.1) => {
    clock.advance(dtS);
    return { tick: thermal.read(), twin: Float64Array.from(reference.read().temperaturesC) };
  };
  return { root, clock, thermal, warnings, next };
}

test('coretemp through the CPU topology: each logical CPU gets its core\'s sensor, siblings share it; CPUs outside the tree keep the twin', async (t) => {
  const { thermal, next } = await desktop(t);
  const twinText = 'thermal twin driven by measured per-core utilisation from /proc/stat';
  assert.equal(thermal.source, `measured: hwmon coretemp (cores 0-5; per core through the CPU topology (core_id, physical_package_id)); modelled: ${twinText} for cores 6-7 (no sensor)`);
  assert.equal(thermal.measuredCores, 6);
  assert.equal(thermal.temperatureSensor, 'hwmon coretemp');
  assert.deepEqual(thermal.temperatureSources, [
    ...['Core 0', 'Core 1', 'Core 4', 'Core 0', 'Core 1', 'Core 4'].map((core) => `measured: hwmon coretemp ${core} (package 0)`),
    `modelled: ${twinText} (no sensor)`,
    `modelled: ${twinText} (no sensor)`,
  ]);
  assert.equal(thermal.coreSource(1), 'measured: hwmon coretemp Core 1 (package 0)', 'before the first read: the planned sensor');
  const { tick, twin } = next();
  assert.deepEqual([...tick.temperaturesC.subarray(0, 6)], [45, 44, 46, 45, 44, 46]);
  assert.deepEqual([...tick.measured], [1, 1, 1, 1, 1, 1, 0, 0]);
  assert.deepEqual([...tick.temperaturesC.subarray(6)], [...twin.subarray(6)], 'cores 6 and 7 are the twin\'s');
  assert.equal(thermal.coreSource(2), 'measured: hwmon coretemp Core 4 (package 0)');
  assert.equal(thermal.temperatureFallbacks, 0);
});

test('measured temperatures drive the prices; the sensors are read at most every 100 ms', async (t) => {
  const { root, thermal, next } = await desktop(t);
  next();
  writeAttribute(root, CORE[4], 90_000);
  assert.equal(next(0.05).tick.temperaturesC[2], 46, '50 ms later the held value is used');
  const { tick } = next(0.05);
  assert.equal(tick.temperaturesC[2], 90);
  assert.equal(tick.temperaturesC[5], 90, 'its hyperthread sibling too');
  const m = tick.multipliers;
  for (const cool of [0, 1, 3, 4]) {
    assert.ok((m[2] ?? 0) > (m[cool] ?? 0) && (m[5] ?? 0) > (m[cool] ?? 0), `core 2 (${String(m[2])}) dearer than core ${String(cool)} (${String(m[cool])})`);
    assert.ok((tick.reservePerQuantumJ[2] ?? 0) > (tick.reservePerQuantumJ[cool] ?? 0));
  }
  assert.equal(thermal.temperatureFallbacks, 0);
});

test('a sensor that starts returning garbage falls back to the twin for that core until a trusted read, and is counted', async (t) => {
  const { root, thermal, warnings, next } = await desktop(t);
  next();
  writeFileSync(join(root, CORE[1]), 'garbage\n');
  let { tick, twin } = next();
  assert.deepEqual([...tick.measured], [1, 0, 1, 1, 0, 1, 0, 0]);
  assert.equal(tick.temperaturesC[1], twin[1], 'core 1 takes the twin\'s value');
  assert.equal(tick.temperaturesC[4], twin[4], 'so does its sibling');
  assert.equal(tick.temperaturesC[0], 45);
  assert.equal(thermal.temperatureFallbacks, 2);
  assert.match(thermal.source, /; 2 sensor reads rejected \(core 1 ×1, core 4 ×1\): the twin stood in until the next trusted read$/);
  assert.equal(thermal.coreSource(1), 'modelled: thermal twin driven by measured per-core utilisation from /proc/stat (the last read of hwmon coretemp Core 1 (package 0) was not trusted)');
  // Physically impossible is rejected too.
  writeAttribute(root, CORE[1], -274_000);
  ({ tick, twin } = next());
  assert.equal(tick.temperaturesC[1], twin[1]);
  assert.equal(thermal.temperatureFallbacks, 4);
  assert.deepEqual(warnings.map((w) => w.code), ['MXW_WARN_SENSOR_OUT_OF_RANGE']);
  writeAttribute(root, CORE[1], 48_000);
  ({ tick } = next());
  assert.deepEqual([...tick.measured], [1, 1, 1, 1, 1, 1, 0, 0], 'trusted again');
  assert.equal(tick.temperaturesC[4], 48);
  assert.equal(thermal.coreSource(1), 'measured: hwmon coretemp Core 1 (package 0)');
  assert.match(thermal.source, /4 sensor reads rejected \(core 1 ×2, core 4 ×2\)/, 'the count stays in the source');
});

test('a sensor stuck on one value while the load moves is not trusted (the readers\' check, fed with /proc/stat)', async (t) => {
  const { root, thermal, warnings, next } = await desktop(t);
  next();
  // Every CPU busy for 1 s since: the machine's utilisation goes from 0 to 1; the sensors do not move.
  const stat = readFileSync(join(root, 'proc/stat'), 'utf8').replace(/^(cpu\d*\s+)(\d+)/gm, (_, head: string, user: string) => `${head}${String(Number(user) + 600)}`);
  writeFileSync(join(root, 'proc/stat'), stat);
  const { tick, twin } = next(31);
  assert.deepEqual([...tick.measured], [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual([...tick.temperaturesC], [...twin]);
  assert.equal(thermal.temperatureFallbacks, 6);
  assert.ok(warnings.some((w) => w.code === 'MXW_WARN_SENSOR_STUCK'), JSON.stringify(warnings));
});

test('a measured core above the critical temperature is not offered (the emergency path reads the same temperatures)', async (t) => {
  const { root, next } = await desktop(t);
  writeAttribute(root, CORE[0], 99_000);
  const { tick } = next();
  assert.equal(tick.temperaturesC[0], 99);
  assert.equal(tick.allowance[0], 0);
  assert.equal(tick.allowance[3], 0, 'its sibling shares the sensor');
  const offered = Array.from(tick.offer.unit);
  assert.ok(!offered.includes(0) && !offered.includes(3), `offered ${offered.join(',')}`);
  assert.ok([1, 2, 4, 5].every((c) => offered.includes(c)), `offered ${offered.join(',')}`);
});

test('a CPU whose core has no Core sensor uses its package\'s', async (t) => {
  const { thermal, next } = await desktop(t, {}, (root) => {
    for (const suffix of ['input', 'label', 'max', 'crit', 'crit_alarm']) rmSync(join(root, `sys/class/hwmon/hwmon0/temp6_${suffix}`));
  });
  assert.equal(thermal.temperatureSources[2], 'measured: hwmon coretemp Package id 0');
  const { tick } = next();
  assert.deepEqual([...tick.temperaturesC.subarray(0, 6)], [45, 44, 47, 45, 44, 47]);
});

test('no coretemp: the x86_pkg_temp thermal zone, package-level, for every core (ACPI\'s zone and NVMe ignored)', async (t) => {
  const { thermal, next } = await desktop(t, {}, (root) => {
    rmSync(join(root, 'sys/class/hwmon/hwmon0'), { recursive: true });
  });
  assert.equal(thermal.source, 'measured: thermal zone x86_pkg_temp (cores 0-7; package-level: every core gets it)');
  const { tick } = next();
  assert.deepEqual([...tick.temperaturesC], Array.from({ length: 8 }, () => 47));
});

test('AMD k10temp: Tctl, package-level, for every core', async () => {
  const root = copyFixture('sysfs/amd-workstation');
  const thermal = await ThermalState.start({ twin, setpointC: 80, criticalC: 95, rateHz: 100, sensorsRoot: root });
  try {
    assert.equal(thermal.source, 'measured: hwmon k10temp (cores 0-1; package-level: every core gets it)');
    assert.deepEqual(thermal.temperatureSources, ['measured: hwmon k10temp Tctl', 'measured: hwmon k10temp Tctl']);
    assert.deepEqual([...thermal.read().temperaturesC], [45.25, 45.25]);
  } finally {
    await thermal.stop();
    rmSync(root, { recursive: true, force: true });
  }
});

test('sensors that are no CPU\'s (an unknown chip, an ACPI zone): the twin models every core and says so', async () => {
  const root = copyFixture('sysfs/broken-sensors');
  const thermal = await ThermalState.start({ twin, setpointC: 80, criticalC: 95, rateHz: 100, sensorsRoot: root });
  try {
    assert.equal(thermal.source, 'modelled: thermal twin (2 cores) driven by measured per-core utilisation from /proc/stat');
    assert.equal(thermal.measuredCores, 0);
    assert.equal(thermal.temperatureSensor, null);
    assert.deepEqual([...thermal.read().measured], [0, 0]);
  } finally {
    await thermal.stop();
    rmSync(root, { recursive: true, force: true });
  }
});
