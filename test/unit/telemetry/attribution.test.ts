import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { EnergyLedgerAccumulator, WindowedAttributor, attributeTick } from '../../../src/telemetry/attribution.js';
import type { ReadingProvenance } from '../../../src/telemetry/reader.js';
import { ThermalTwin } from '../../../src/physics/thermal-twin.js';
import { DEFAULT_TWIN_PARAMS } from '../../../src/physics/twin-params.js';
import { USER_HZ } from '../../../src/telemetry/procfs/proc-stat.js';

const MODEL: ReadingProvenance = { kind: 'modelled', source: 'model', sensor: 'twin', windowS: 0.01, errorBound: Number.POSITIVE_INFINITY };

test('dynamic energy is split by CPU share; idle and non-agent work keep their own accounts', () => {
  const tick = attributeTick({
    packageEnergyJ: 1,
    idlePowerW: 20,
    dtS: 0.01,
    agentCpuS: new Map([['a', 0.01], ['b', 0.005]]),
    totalCpuS: 0.02,
    provenance: MODEL,
  });
  assert.ok(Math.abs(tick.idleJ - 0.2) < 1e-12);
  assert.ok(Math.abs(tick.perAgentJ.get('a')! - 0.4) < 1e-12);
  assert.ok(Math.abs(tick.perAgentJ.get('b')! - 0.2) < 1e-12);
  assert.ok(Math.abs(tick.otherJ - 0.2) < 1e-12);
  assert.equal(tick.provenance, MODEL);
});

test('energy is conserved for any tick, and no agent is charged for idle', () => {
  fc.assert(
    fc.property(
      fc.double({ min: 0, max: 10, noNaN: true }),
      fc.double({ min: 0, max: 500, noNaN: true }),
      fc.array(fc.double({ min: 0, max: 0.02, noNaN: true }), { maxLength: 8 }),
      fc.double({ min: 0, max: 0.04, noNaN: true }),
      (energy, idleW, cpus, total) => {
        const tick = attributeTick({ packageEnergyJ: energy, idlePowerW: idleW, dtS: 0.01, agentCpuS: new Map(cpus.map((c, i) => [`a${i}`, c])), totalCpuS: total, provenance: MODEL });
        let sum = tick.idleJ + tick.otherJ;
        for (const j of tick.perAgentJ.values()) {
          assert.ok(j >= 0);
          sum += j;
        }
        assert.ok(Math.abs(sum - energy) <= 1e-9 * Math.max(1, energy));
        assert.ok(tick.idleShortfallJ >= 0);
      },
    ),
  );
  assert.throws(() => attributeTick({ packageEnergyJ: -1, idlePowerW: 0, dtS: 0.01, agentCpuS: new Map(), totalCpuS: 0, provenance: MODEL }), { code: 'MXW_ERR_INVALID_ARG' });
  assert.throws(() => attributeTick({ packageEnergyJ: 1, idlePowerW: 0, dtS: 0.01, agentCpuS: new Map([['x', Number.NaN]]), totalCpuS: 0, provenance: MODEL }), { code: 'MXW_ERR_INVALID_ARG' });
});

/** Kernel-style tick accounting: CPU time is seen only in whole USER_HZ ticks. */
function tickAccounting() {
  const carry = new Map<string, number>();
  return (who: string, seconds: number): number => {
    const total = (carry.get(who) ?? 0) + seconds;
    const whole = Math.floor(total * USER_HZ + 1e-9) / USER_HZ;
    carry.set(who, total - whole);
    return whole;
  };
}

test('on the twin, per-agent energy is within 5 % of each agent\'s true dynamic energy (busy, bursty, idle, shared)', () => {
  const twin = new ThermalTwin(DEFAULT_TWIN_PARAMS, 0.01);
  const dt = twin.stepS;
  // The idle baseline is measured once, at idle, as on a real machine: leakage growing with
  // temperature later is an error the test must absorb.
  const idleBaselineW = twin.packageIdlePower();
  const agents = ['busy', 'bursty', 'idle', 'shareA', 'shareB'] as const;
  const truth = new Map<string, number>(agents.map((a) => [a, 0]));
  const ledger = new EnergyLedgerAccumulator();
  const attributor = new WindowedAttributor(1);
  const account = tickAccounting();
  const dynamicW = DEFAULT_TWIN_PARAMS.core.dynamicW;
  let previousEnergy = 0;
  let windowPackageJ = 0;
  for (let k = 0; k < 60 / dt; k++) {
    const t = k * dt;
    const use: Record<(typeof agents)[number], number> = {
      busy: 1,
      bursty: t % 1 < 0.3 ? 1 : 0,
      idle: 0.02,
      shareA: 0.6,
      shareB: 0.3,
    };
    const background = 0.05; // not an agent: the kernel, Maxwell, other processes
    const perCore = [use.busy, use.bursty, use.idle + background, use.shareA + use.shareB];
    perCore.forEach((u, core) => { twin.setUtilisation(core, u); });
    twin.step();
    let energy = 0;
    for (let core = 0; core < twin.coreCount; core++) energy += twin.sourceEnergy(core);
    const packageEnergyJ = energy - previousEnergy;
    previousEnergy = energy;
    for (const a of agents) truth.set(a, truth.get(a)! + dynamicW * use[a] * dt);
    const agentCpuS = new Map(agents.map((a) => [a, account(a, use[a] * dt)]));
    const totalCpuS = [...agentCpuS.values()].reduce((s, v) => s + v, 0) + account('other', background * dt);
    windowPackageJ += packageEnergyJ;
    const window = attributor.add({ packageEnergyJ, idlePowerW: idleBaselineW, dtS: dt, agentCpuS, totalCpuS, provenance: MODEL });
    if (window !== undefined) {
      ledger.add(window, windowPackageJ);
      windowPackageJ = 0;
    }
  }
  assert.equal(attributor.flush(), undefined, '60 s is a whole number of 1 s windows');
  for (const a of agents) {
    const error = Math.abs(ledger.agentJ(a) - truth.get(a)!) / truth.get(a)!;
    assert.ok(error <= 0.05, `${a}: attributed ${ledger.agentJ(a).toFixed(2)} J, true ${truth.get(a)!.toFixed(2)} J (${(100 * error).toFixed(2)} %)`);
  }
  assert.ok(Math.abs(ledger.conservationErrorJ()) < 1e-6, 'minted = balances: package energy is fully accounted');
  assert.ok(ledger.otherJ > 0, 'non-agent work kept its own account');
  assert.ok(Math.abs(ledger.idleJ - idleBaselineW * 60) < 1e-6);
});

test('the rest is split into Maxwell\'s own account and the unmanaged account (other processes), never charged to agents', () => {
  const tick = attributeTick({
    packageEnergyJ: 10,
    idlePowerW: 0,
    dtS: 1,
    agentCpuS: new Map([['a', 1]]),
    totalCpuS: 2,
    maxwellCpuS: 0.25,
    provenance: MODEL,
  });
  assert.ok(Math.abs(tick.perAgentJ.get('a')! - 5) < 1e-12);
  assert.ok(Math.abs(tick.maxwellJ - 1.25) < 1e-12);
  assert.ok(Math.abs(tick.unmanagedJ - 3.75) < 1e-12);
  assert.ok(Math.abs(tick.maxwellJ + tick.unmanagedJ - tick.otherJ) < 1e-12);
  assert.throws(() => attributeTick({ packageEnergyJ: 1, idlePowerW: 0, dtS: 1, agentCpuS: new Map(), totalCpuS: 1, maxwellCpuS: -1, provenance: MODEL }), { code: 'MXW_ERR_INVALID_ARG' });
});
