import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import type { TelemetryWarning } from '../../../src/telemetry/health.js';
import { NvidiaSmiReader, parseCell, parseTimestamp } from '../../../src/telemetry/nvidia/nvidia-smi.js';
import type { TelemetryReader } from '../../../src/telemetry/reader.js';
import { telemetryReaderCompliance } from '../../compliance/telemetry-reader.js';
import { repoPath } from '../../helpers/repo.js';

const FAKE = repoPath('test/fixtures/nvidia-smi/fake-nvidia-smi.mjs');

async function waitForReadings(reader: TelemetryReader, count = 1): Promise<void> {
  for (let i = 0; i < 100 && reader.sample().length < count; i++) await sleep(20);
}

telemetryReaderCompliance({
  name: 'nvidia-smi (replayed H200 capture)',
  present: () => new NvidiaSmiReader({ binary: FAKE, intervalMs: 20 }),
  absent: () => new NvidiaSmiReader({ binary: '/nonexistent/nvidia-smi' }),
  prime: (reader) => waitForReadings(reader),
});

test('CSV cells: numbers, and nvidia-smi\'s [N/A] / [Not Supported] as NaN', () => {
  assert.equal(parseCell(' 80.38'), 80.38);
  assert.ok(Number.isNaN(parseCell(' [N/A]')));
  assert.ok(Number.isNaN(parseCell('[Not Supported]')));
  assert.ok(Number.isNaN(parseCell(undefined)));
  assert.equal(parseTimestamp('2026/11/26 04:12:50.351') - parseTimestamp('2026/11/26 04:12:50.245'), 106);
  assert.ok(Number.isNaN(parseTimestamp('yesterday')));
});

test('on driver 580 (no energy field) energy is the integral of instant power over nvidia-smi timestamps', async () => {
  const reader = new NvidiaSmiReader({ binary: FAKE, intervalMs: 20 });
  const probe = await reader.probe();
  assert.equal(reader.hasEnergyCounter, false);
  const energy = probe.state === 'present' ? probe.channels.find((c) => c.id === 'nvidia/0/energy') : undefined;
  assert.match(energy?.description ?? '', /integrated from power\.draw\.instant/);
  await reader.start();
  await sleep(400);
  const readings = new Map(reader.sample().map((r) => [r.channel, r]));
  await reader.stop();
  // Recompute the trapezoid from the capture for as many rows as were consumed.
  const rows = readFileSync(repoPath('test/fixtures/nvidia-smi/h200-driver-580/query-loop.csv'), 'utf8').trim().split('\n').map((l) => l.split(', '));
  const power = readings.get('nvidia/0/power')!;
  assert.equal(power.provenance.errorBound, 5);
  const consumed = rows.findIndex((r) => Number(r[4]) === power.value);
  assert.ok(consumed >= 0);
  const e = readings.get('nvidia/0/energy')!;
  assert.ok(e.value > 0);
  assert.ok(e.provenance.errorBound > 0, 'integrated energy carries the ±5 W bound over its span');
  assert.equal(readings.get('nvidia/0/temperature')?.value, 38);
});

test('when the driver offers the energy counter it is preferred', async () => {
  process.env['FAKE_NVSMI_ENERGY'] = '1';
  try {
    const reader = new NvidiaSmiReader({ binary: FAKE, intervalMs: 20 });
    await reader.probe();
    assert.equal(reader.hasEnergyCounter, true);
    await reader.start();
    await waitForReadings(reader);
    await sleep(200);
    const e = reader.sample().find((r) => r.channel === 'nvidia/0/energy')!;
    assert.equal(e.provenance.sensor, 'nvidia-smi total_energy_consumption');
    assert.ok(e.value > 0 && e.value < 100, `${e.value} J since start`);
    await reader.stop();
  } finally {
    delete process.env['FAKE_NVSMI_ENERGY'];
  }
});

test('no GPU and no binary are "absent", with the reason', async () => {
  process.env['FAKE_NVSMI_GPUS'] = '0';
  try {
    const probe = await new NvidiaSmiReader({ binary: FAKE }).probe();
    assert.match(probe.state === 'present' ? '' : probe.reason, /No devices were found/);
  } finally {
    delete process.env['FAKE_NVSMI_GPUS'];
  }
  const missing = await new NvidiaSmiReader({ binary: '/nonexistent/nvidia-smi' }).probe();
  assert.match(missing.state === 'present' ? '' : missing.reason, /not found/);
});

test('a query loop that dies leaves untrusted readings and one warning; nothing throws', async () => {
  process.env['FAKE_NVSMI_EXIT_AFTER'] = '3';
  const warnings: TelemetryWarning[] = [];
  try {
    const reader = new NvidiaSmiReader({ binary: FAKE, intervalMs: 10, onWarning: (w) => warnings.push(w) });
    await reader.start();
    for (let i = 0; i < 100 && warnings.length === 0; i++) await sleep(20);
    assert.equal(warnings[0]?.code, 'MXW_WARN_READER_FAILED');
    assert.ok(reader.sample().every((r) => !r.trusted));
    await reader.stop();
  } finally {
    delete process.env['FAKE_NVSMI_EXIT_AFTER'];
  }
});
