import assert from 'node:assert/strict';
import { test } from 'node:test';
import { temperatureOrigin, type ArmSources } from '../../../src/experiment/runner.js';

const base: ArmSources = { temperature: 'described', energy: 'e', energyMeasured: false, temperatureSensor: null, measuredCores: 0, cores: 4 };

test('report: temperatures are measured only when a sensor covers every core', () => {
  assert.deepEqual(temperatureOrigin(base), { provenance: 'modelled', source: 'thermal-twin', note: 'described' });
  assert.deepEqual(temperatureOrigin({ ...base, temperatureSensor: 'hwmon coretemp', measuredCores: 4 }), { provenance: 'measured', source: 'hwmon coretemp', note: 'described' });
  assert.deepEqual(temperatureOrigin({ ...base, temperatureSensor: 'hwmon coretemp', measuredCores: 3 }), {
    provenance: 'modelled',
    source: 'hwmon coretemp for 3 of 4 cores, thermal-twin for the rest',
    note: 'described',
  });
});
