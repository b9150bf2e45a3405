import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { TelemetryWarning } from '../../../src/telemetry/health.js';
import { NVIDIA_POWER_ACCURACY_W, NvidiaSmiReader, parseCell, parseTimestamp } from '../../../src/telemetry/nvidia/nvidia-smi.js';
import type { Reading, TelemetryReader } from '../../../src/telemetry/reader.js';
import { telemetryReaderCompliance } from '../../compliance/telemetry-reader.js';
import { repoPath } from '../../helpers/repo.js';
import { until } from '../../helpers/wait.js';

const FAKE = repoPath('test/fixtures/nvidia-smi/fake-nvidia-smi.mjs');
/** The capture the fake replays, one array of cells per line (power.draw.instant is cell 4, temperature.gpu cell 7). */
const ROWS = readFileSync(repoPath('test/fixtures/nvidia-smi/h200-driver-580/query-loop.csv'), 'utf8').trim().split('\n').map((l) => l.split(', '));

function waitForReadings(reader: TelemetryReader): Promise<void> {
  return until('a first nvidia-smi line', () => reader.sample().length > 0);
}

/** Waits until the energy reading is above 0 J (two lines or more consumed) and returns that sample. */
async function sampleWithEnergy(reader: TelemetryReader): Promise<Map<string, Reading>> {
  let readings = new Map<string, Reading>();
  await until('energy above 0 J', () => {
    readings = new Map(reader.sample().map((r) => [r.channel, r]));
    return (readings.get('nvidia/0/energy')?.value ?? 0) > 0;
  });
  return readings;
}

/** Row `k` of the fake's output: it replays the capture in a loop. */
function row(k: number): string[] {
  return ROWS[k % ROWS.length] ?? [];
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
  const readings = await sampleWithEnergy(reader);
  await reader.stop();
  const power = readings.get('nvidia/0/power')!;
  assert.equal(power.provenance.errorBound, NVIDIA_POWER_ACCURACY_W);
  const e = readings.get('nvidia/0/energy')!;
  // The bound grows ±5 W over each 20 ms line, so it tells how many lines were consumed.
  const consumed = Math.round(e.provenance.errorBound / (NVIDIA_POWER_ACCURACY_W * 0.02));
  assert.ok(consumed >= 2, `integrated energy carries the ±5 W bound over its span (${String(consumed)} lines)`);
  // The latest line gives power and temperature; recompute the trapezoid over the lines consumed.
  assert.equal(power.value, Number(row(consumed - 1)[4]));
  assert.equal(readings.get('nvidia/0/temperature')?.value, Number(row(consumed - 1)[7]));
  let expectedJ = 0;
  for (let k = 1; k < consumed; k++) {
    const dtS = (parseTimestamp(row(k)[0]) - parseTimestamp(row(k - 1)[0])) / 1000;
    if (dtS > 0 && dtS < 10) expectedJ += 0.5 * (Number(row(k)[4]) + Number(row(k - 1)[4])) * dtS;
  }
  assert.ok(Math.abs(e.value - expectedJ) < 1e-6, `${String(e.value)} J integrated, ${String(expectedJ)} J from the capture`);
});

test('when the driver offers the energy counter it is preferred', async () => {
  process.env['FAKE_NVSMI_ENERGY'] = '1';
  try {
    const reader = new NvidiaSmiReader({ binary: FAKE, intervalMs: 20 });
    await reader.probe();
    assert.equal(reader.hasEnergyCounter, true);
    await reader.start();
    const e = (await sampleWithEnergy(reader)).get('nvidia/0/energy')!;
    await reader.stop();
    assert.equal(e.provenance.sensor, 'nvidia-smi total_energy_consumption');
    // The fake's counter adds 0.1 s × each line's power after the first: the reading is the energy
    // since the first line (some prefix of that sum), not the counter's absolute 6 645 J.
    const sinceStartJ: number[] = [];
    let sumJ = 0;
    for (let k = 1; k < 10 * ROWS.length; k++) {
      sumJ += Number(row(k)[4]) * 0.1;
      sinceStartJ.push(sumJ);
    }
    assert.ok(sinceStartJ.some((j) => Math.abs(j - e.value) < 0.002), `${String(e.value)} J since start`);
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
    await until('a warning', () => warnings.length > 0);
    assert.equal(warnings[0]?.code, 'MXW_WARN_READER_FAILED');
    assert.ok(reader.sample().every((r) => !r.trusted));
    await reader.stop();
  } finally {
    delete process.env['FAKE_NVSMI_EXIT_AFTER'];
  }
});
