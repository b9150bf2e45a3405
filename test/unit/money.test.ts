import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MICROJOULES_PER_JOULE, ZERO_MICRO_J, microJ, toJoules, toMicroJ } from '../../src/units/money.js';

test('toMicroJ rounds to the nearest µJ and toJoules inverts it', () => {
  assert.equal(toMicroJ(1.5), 1_500_000n);
  assert.equal(toMicroJ(0.0000004), 0n);
  assert.equal(toMicroJ(0.0000005), 1n);
  assert.equal(toMicroJ(-2), -2_000_000n);
  assert.equal(toJoules(toMicroJ(12.345678)), 12.345678);
  assert.equal(toJoules(1n), 1 / MICROJOULES_PER_JOULE);
  assert.equal(ZERO_MICRO_J, 0n);
});

test('toMicroJ refuses non-finite joules with the ledger\'s transfer code', () => {
  assert.throws(() => toMicroJ(Number.NaN), { code: 'MXW_ERR_LEDGER_TRANSFER' });
  assert.throws(() => toMicroJ(Number.POSITIVE_INFINITY), { code: 'MXW_ERR_LEDGER_TRANSFER' });
});

test('microJ brands a bigint unchanged and refuses anything else', () => {
  assert.equal(microJ(42n), 42n);
  assert.equal(microJ(-7n), -7n);
  assert.throws(() => microJ(5 as unknown as bigint), { code: 'MXW_ERR_UNIT_RANGE' });
});
