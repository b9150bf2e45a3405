import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseStepCsv, stepRecordFromCsv } from '../../../src/identification/step-csv.js';

const rows = (separator: string): string => Array.from({ length: 25 }, (_, i) => `${(i * 0.1).toFixed(1)}${separator}${20 + i}`).join('\n');

test('comma, semicolon, tab and space separated files parse the same, with or without a header', () => {
  const expected = parseStepCsv(rows(','), 'x');
  for (const text of [rows(';'), rows('\t'), rows('  '), rows(', '), `time,temperature\n${rows(',')}`, `# a comment\nTime (s); Temperature (°C)\n\n${rows(';')}\n`, `t_s temp_C\r\n${rows(' ').replaceAll('\n', '\r\n')}`]) {
    assert.deepEqual(parseStepCsv(text, 'x'), expected);
  }
  assert.equal(expected.timesS.length, 25);
  assert.equal(expected.values[3], 23);
});

test('scientific notation is a number; a second header line or a NaN cell is not', () => {
  assert.equal(parseStepCsv(rows(',').replace('0.0,20', '0e0,2.0e1'), 'x').values[0], 20);
  assert.throws(() => parseStepCsv(`time,temperature\ntime,temperature\n${rows(',')}`, 'f.csv'), { code: 'MXW_ERR_CSV_INVALID', message: /f\.csv:2:/ });
  assert.throws(() => parseStepCsv(rows(',').replace('0.3,23', '0.3,NaN'), 'f.csv'), { code: 'MXW_ERR_CSV_INVALID', message: /f\.csv:4:/ });
});

test('the step must lie after the first sample and before the last', () => {
  assert.equal(stepRecordFromCsv(rows(','), 'x', 1).stepTimeS, 1);
  assert.throws(() => stepRecordFromCsv(rows(','), 'x', 0), { code: 'MXW_ERR_INVALID_ARG' });
  assert.throws(() => stepRecordFromCsv(rows(','), 'x', 2.4), { code: 'MXW_ERR_INVALID_ARG' });
  assert.throws(() => stepRecordFromCsv(rows(','), 'x', Number.NaN), { code: 'MXW_ERR_INVALID_ARG' });
});
