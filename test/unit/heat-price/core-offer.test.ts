import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CoreOffer, MIN_ALLOWANCE } from '../../../src/heat-price/core-offer.js';
import { DEFAULT_TWIN_PARAMS } from '../../../src/physics/twin-params.js';

const options = { twin: DEFAULT_TWIN_PARAMS, setpointC: 80, criticalC: 95, rateHz: 100 };

test('cool cores are all offered at full allowance, cheapest first, each reserve = energy of a full quantum × multiplier', () => {
  const offer = new CoreOffer(options);
  // Clearly different temperatures: the offer order's hysteresis (2 % of reserve) does not hold them back.
  const slots = offer.update([30, 70, 50, 40]);
  assert.equal(slots.quality.length, 4);
  assert.ok(Array.from(slots.quality).every((q) => q > 0.95 && q <= 1), 'cool cores sell (almost) all of a quantum');
  for (let s = 1; s < 4; s++) assert.ok(slots.reserve[s - 1]! <= slots.reserve[s]!);
  const fullCoreW = DEFAULT_TWIN_PARAMS.core.idleW + DEFAULT_TWIN_PARAMS.core.dynamicW;
  for (let c = 0; c < 4; c++) assert.ok(Math.abs(offer.reservePerQuantumJ[c]! - fullCoreW * 0.01 * offer.multipliers[c]!) < 1e-12);
  // Neighbours' stress counts (K): core 0 at 30 °C beside core 1 at 70 °C is dearer than core 3 at 40 °C.
  assert.deepEqual(Array.from(slots.unit), [3, 0, 2, 1], 'cheapest first, the hottest last');
});

test('a core above the setpoint is throttled by its PID; above the critical temperature it is not offered', () => {
  const offer = new CoreOffer(options);
  for (let k = 0; k < 200; k++) offer.update([30, 30, 30, 90]);
  assert.ok(offer.allowance[3]! < 1 - MIN_ALLOWANCE, `allowance ${offer.allowance[3]}`);
  const slots = offer.update([30, 30, 30, 96]);
  assert.equal(offer.allowance[3], 0);
  assert.ok(!Array.from(slots.unit).includes(3));
});

test('setSetpoints moves each PID\'s setpoint: a raised setpoint lets a hot core sell more', () => {
  const held = new CoreOffer(options);
  const raised = new CoreOffer(options);
  raised.setSetpoints([80, 80, 80, 88]);
  for (let k = 0; k < 300; k++) {
    held.update([30, 30, 30, 85]);
    raised.update([30, 30, 30, 85]);
  }
  assert.ok(raised.allowance[3]! > held.allowance[3]! + 0.1, `${raised.allowance[3]} vs ${held.allowance[3]}`);
});

test('a flat price sells every core at the price of a quantum at ambient, however hot; the controllers still throttle', () => {
  const thermal = new CoreOffer(options);
  const flat = new CoreOffer({ ...options, flatPrice: true });
  const fullCoreW = DEFAULT_TWIN_PARAMS.core.idleW + DEFAULT_TWIN_PARAMS.core.dynamicW;
  for (let k = 0; k < 200; k++) {
    thermal.update([30, 30, 30, 90]);
    flat.update([30, 30, 30, 90]);
  }
  for (let c = 0; c < 4; c++) assert.ok(Math.abs(flat.reservePerQuantumJ[c]! - fullCoreW * 0.01) < 1e-12, `core ${String(c)}`);
  assert.ok(thermal.reservePerQuantumJ[3]! > 5 * flat.reservePerQuantumJ[3]!, 'thermal pricing makes the 90 °C core dear');
  assert.ok(flat.allowance[3]! < 1 - MIN_ALLOWANCE, 'the PID still holds the hot core back');
});
