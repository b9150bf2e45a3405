import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seconds } from '../../src/units/units.js';

const rangeError = { code: 'MXW_ERR_UNIT_RANGE' };

test('seconds accepts valid durations unchanged', () => {
  assert.equal(seconds(0), 0);
  assert.equal(seconds(0.01), 0.01);
});

test('seconds rejects negative and non-finite durations with MXW_ERR_UNIT_RANGE', () => {
  assert.throws(() => seconds(-0.1), rangeError);
  assert.throws(() => seconds(Number.NaN), rangeError);
  assert.throws(() => seconds(Number.POSITIVE_INFINITY), rangeError);
  assert.throws(() => seconds('1' as unknown as number), rangeError);
});
