import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_TWIN_PARAMS } from '../../../src/physics/twin-params.js';
import { ProcStatReader } from '../../../src/telemetry/procfs/proc-stat.js';
import { procStatUtilisation } from '../../../src/telemetry/procfs/utilisation-source.js';
import { TwinTelemetryReader, type UtilisationSource } from '../../../src/telemetry/twin-reader.js';
import { telemetryReaderCompliance } from '../../compliance/telemetry-reader.js';
import { manualNow } from '../../helpers/fixtures.js';

function constant(values: number[]): UtilisationSource {
  return { description: 'a test pattern', sample: () => values };
}

telemetryReaderCompliance({
  name: 'thermal-twin (modelled)',
  kind: 'modelled',
  present: () => new TwinTelemetryReader({ params: DEFAULT_TWIN_PARAMS, stepS: 0.01, utilisation: constant([0.5, 0.5, 0.5, 0.5]) }),
  absent: () => new TwinTelemetryReader({ params: { ...DEFAULT_TWIN_PARAMS, cores: 0 }, stepS: 0.01, utilisation: constant([]) }),
});

test('the twin follows the utilisation it is fed, in step with (injected) real time', async () => {
  const clock = manualNow();
  const reader = new TwinTelemetryReader({ params: { ...DEFAULT_TWIN_PARAMS, sensor: { noiseC: 0, quantumC: 0 } }, stepS: 0.01, utilisation: constant([1, 0, 0, 0]), now: clock.now });
  await reader.start();
  const before = new Map(reader.sample().map((r) => [r.channel, r.value]));
  clock.advance(5);
  const after = new Map(reader.sample().map((r) => [r.channel, r]));
  assert.ok(Math.abs(reader.twin!.timeS - 5) < 1e-9, 'simulated time = real time');
  assert.ok(after.get('twin/core0/temperature')!.value > before.get('twin/core0/temperature')! + 15);
  assert.ok(after.get('twin/core0/temperature')!.value > after.get('twin/core3/temperature')!.value);
  const energy = after.get('twin/package/energy')!;
  assert.ok(energy.value > 5 * 16 && energy.value < 5 * 18, `package energy ${energy.value} J over 5 s`);
  assert.equal(energy.provenance.kind, 'modelled');
  assert.equal(energy.provenance.errorBound, Number.POSITIVE_INFINITY, 'a modelled figure is not bounded by any measurement');
  assert.ok(after.get('twin/package/idle-power')!.value < after.get('twin/package/power')!.value);
  await reader.stop();
});

test('driven by this machine\'s measured /proc/stat utilisation, real load heats the twin', async () => {
  const proc = new ProcStatReader();
  await proc.start();
  const reader = new TwinTelemetryReader({ params: { ...DEFAULT_TWIN_PARAMS, cores: proc.cpuCount, gpu: false, sensor: { noiseC: 0, quantumC: 0 } }, stepS: 0.01, utilisation: procStatUtilisation(proc) });
  await reader.start();
  const hottest = (): number => Math.max(...reader.sample().filter((r) => /core\d+\/temperature/.test(r.channel)).map((r) => r.value));
  const idle = hottest();
  const end = performance.now() + 1500;
  while (performance.now() < end) {
    // Busy for 10 ms, then let the twin sample.
    const slice = performance.now() + 10;
    while (performance.now() < slice) {
      // spin
    }
    hottest();
  }
  const loaded = hottest();
  assert.ok(loaded > idle + 5, `twin core temperature ${idle.toFixed(1)} → ${loaded.toFixed(1)} °C under a real busy loop`);
  const provenance = reader.sample()[0]!.provenance;
  assert.match(provenance.sensor, /\/proc\/stat/);
  await Promise.all([reader.stop(), proc.stop()]);
});
