import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_LANDAUER_MULTIPLIER, landauerTax } from '../../../src/market/landauer.js';

test('kT·ln2 per bit: 2.87e-21 J at 300 K; tax = physical × multiplier, reported apart', () => {
  const oneByte = landauerTax(1, 300, 1);
  assert.ok(Math.abs(oneByte.physicalJ / 8 - 2.8710e-21) < 1e-24, `${oneByte.physicalJ / 8} J per bit`);
  const gib = landauerTax(2 ** 30, 300);
  assert.equal(gib.multiplier, DEFAULT_LANDAUER_MULTIPLIER);
  assert.ok(Math.abs(gib.physicalJ - 2.466e-11) < 1e-13);
  assert.equal(gib.taxMicroJ, BigInt(Math.round(gib.physicalJ * DEFAULT_LANDAUER_MULTIPLIER * 1e6)));
  assert.ok(Math.abs(Number(gib.taxMicroJ) / 1e6 - 0.2466) < 1e-3, 'the default taxes 1 GiB at about 0.25 J');
  assert.ok(landauerTax(2 ** 30, 350).taxMicroJ > gib.taxMicroJ, 'hotter erasure costs more');
  assert.equal(landauerTax(0, 300).taxMicroJ, 0n);
});

test('garbage inputs are refused', () => {
  for (const [b, t, m] of [[-1, 300, 1], [Number.NaN, 300, 1], [1, 0, 1], [1, 300, -1], [Infinity, 300, 1]] as const) {
    assert.throws(() => landauerTax(b, t, m), { code: 'MXW_ERR_INVALID_ARG' });
  }
});
