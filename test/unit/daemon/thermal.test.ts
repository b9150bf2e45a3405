import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ThermalState } from '../../../src/daemon/thermal.js';
import { DEFAULT_TWIN_PARAMS } from '../../../src/physics/twin-params.js';
import { copyFixture, writeAttribute } from '../../helpers/fixtures.js';

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
    assert.match(thermal.source, /^modelled: thermal twin/, 'temperatures still modelled (no per-core sensor wiring)');
    const first = thermal.read();
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
