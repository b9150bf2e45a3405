import assert from 'node:assert/strict';
import { test } from 'node:test';
import { celsius, energy, fraction, hertz, joules, kelvin, kelvinPerWatt, periodOf, seconds, watts } from '../../src/units/units.js';

const rangeError = { code: 'MXW_ERR_UNIT_RANGE' };

test('constructors accept valid values unchanged', () => {
  assert.equal(celsius(80), 80);
  assert.equal(celsius(-273.15), -273.15);
  assert.equal(kelvin(-3), -3);
  assert.equal(watts(0), 0);
  assert.equal(joules(5000), 5000);
  assert.equal(seconds(0.01), 0.01);
  assert.equal(hertz(100), 100);
  assert.equal(kelvinPerWatt(2), 2);
  assert.equal(fraction(1), 1);
});

test('constructors reject impossible and non-finite values with MXW_ERR_UNIT_RANGE', () => {
  assert.throws(() => celsius(-274), rangeError);
  assert.throws(() => celsius(Number.NaN), rangeError);
  assert.throws(() => watts(-1), rangeError);
  assert.throws(() => joules(Number.POSITIVE_INFINITY), rangeError);
  assert.throws(() => seconds(-0.1), rangeError);
  assert.throws(() => hertz(0), rangeError);
  assert.throws(() => kelvinPerWatt(0), rangeError);
  assert.throws(() => fraction(1.01), rangeError);
  assert.throws(() => kelvin(Number.NaN), rangeError);
  assert.throws(() => celsius('80' as unknown as number), rangeError);
});

test('derived quantities', () => {
  assert.equal(energy(watts(10), seconds(3)), 30);
  assert.equal(periodOf(hertz(100)), 0.01);
});
