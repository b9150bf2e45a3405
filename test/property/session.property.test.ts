/**
 * Model-based test of the market session (fast-check `commands`): random sequences of spawn,
 * failed spawn, bid, tick (cool, hot, pricey), work report, erasure, top-up, exit, the end of a
 * kill, and ledger outages, against the session with fake ports. After every command:
 *
 * - joules are conserved: each wallet is exactly what was minted, earned, paid and taxed, the
 *   ledger's accounts sum to zero, and what it holds plus what is pending is the session's view;
 * - no agent is left frozen: an agent the session wants paused is `paused` (or `dying` with its
 *   kill asked for), a dead agent is forgotten by the enforcer, and at the end, once the session
 *   closes and every agent has ended, nothing is remembered by the enforcer at all.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { toMicroJ } from '../../src/units/money.js';
import { seconds } from '../../src/units/units.js';
import { sessionRig, thermalInput, type SessionRig } from '../helpers/session-fakes.js';
import { agentId } from '../helpers/agent-id.js';

interface Model {
  readonly ids: string[];
  /** µJ minted per agent (opening wallet and top-ups). */
  readonly minted: Map<string, bigint>;
  next: number;
  seq: number;
}

type Command = fc.Command<Model, SessionRig>;

const PRIMES = ['101', '103', '107', '109', '113', '127', '131', '137', '139', '149'];

function pick(model: Model, n: number): string | undefined {
  return model.ids.length === 0 ? undefined : model.ids[n % model.ids.length];
}

const live = (rig: SessionRig, id: string): boolean => {
  const phase = rig.session.agent(agentId(id)).phase;
  return phase !== 'dead';
};

class Spawn implements Command {
  readonly walletJ: number;
  readonly bidJ: number | null;
  constructor(walletJ: number, bidJ: number | null) {
    this.walletJ = walletJ;
    this.bidJ = bidJ;
  }
  check = (): boolean => true;
  run(model: Model, rig: SessionRig): void {
    const id = `a${String(model.next++)}`;
    rig.spawn(id, this.walletJ, this.bidJ ?? undefined);
    model.ids.push(id);
    model.minted.set(id, toMicroJ(this.walletJ));
  }
  toString = (): string => `spawn(${String(this.walletJ)} J, bid ${String(this.bidJ)})`;
}

class FailedSpawn implements Command {
  check = (): boolean => true;
  run(model: Model, rig: SessionRig): void {
    const id = `f${String(model.next++)}`;
    rig.session.admit({ id: id as never, role: 'other', runtime: 'process', walletJ: 5, bid: { pricePerQuantumJ: 1 } });
    rig.session.abandon(agentId(id));
    assert.equal(rig.session.has(agentId(id)), false);
  }
  toString = (): string => 'failed spawn';
}

class Bid implements Command {
  readonly n: number;
  readonly priceJ: number;
  constructor(n: number, priceJ: number) {
    this.n = n;
    this.priceJ = priceJ;
  }
  check = (m: Model): boolean => m.ids.length > 0;
  run(model: Model, rig: SessionRig): void {
    const id = pick(model, this.n) as string;
    rig.session.receive(agentId(id), { type: 'bid', seq: ++model.seq, pricePerQuantumJ: this.priceJ });
  }
  toString = (): string => `bid(#${String(this.n)}, ${String(this.priceJ)} J)`;
}

class Tick implements Command {
  readonly kind: 'cool' | 'hot' | 'pricey';
  readonly jumpS: number;
  constructor(kind: 'cool' | 'hot' | 'pricey', jumpS: number) {
    this.kind = kind;
    this.jumpS = jumpS;
  }
  check = (): boolean => true;
  run(_model: Model, rig: SessionRig): void {
    rig.clock.advance(seconds(this.jumpS));
    const thermal = this.kind === 'hot' ? thermalInput(2, { temperatureC: [99, 50] }) : thermalInput(2, { reserveJ: this.kind === 'pricey' ? 0.5 : 0.001 });
    rig.tick(thermal);
  }
  toString = (): string => `tick(${this.kind}, +${String(this.jumpS)} s)`;
}

class Work implements Command {
  readonly n: number;
  readonly count: number;
  constructor(n: number, count: number) {
    this.n = n;
    this.count = count;
  }
  check = (m: Model): boolean => m.ids.length > 0;
  run(model: Model, rig: SessionRig): void {
    const id = pick(model, this.n) as string;
    rig.session.receive(agentId(id), { type: 'work', seq: ++model.seq, kind: 'primes', range: ['100', '150'], primes: PRIMES.slice(0, this.count) });
  }
  toString = (): string => `work(#${String(this.n)}, ${String(this.count)} primes)`;
}

class Erase implements Command {
  readonly n: number;
  readonly bytes: number;
  constructor(n: number, bytes: number) {
    this.n = n;
    this.bytes = bytes;
  }
  check = (m: Model): boolean => m.ids.length > 0;
  run(model: Model, rig: SessionRig): void {
    rig.erasure.erase(pick(model, this.n) as string, this.bytes);
  }
  toString = (): string => `erase(#${String(this.n)}, ${String(this.bytes)} B)`;
}

class TopUp implements Command {
  readonly n: number;
  readonly joules: number;
  constructor(n: number, joules: number) {
    this.n = n;
    this.joules = joules;
  }
  check = (m: Model): boolean => m.ids.length > 0;
  run(model: Model, rig: SessionRig): void {
    const id = pick(model, this.n) as string;
    const phase = rig.session.agent(agentId(id)).phase;
    if (phase === 'dead' || phase === 'dying') {
      assert.throws(() => rig.session.topUp(agentId(id), this.joules), { code: 'MXW_ERR_INVALID_ARG' });
      return;
    }
    rig.session.topUp(agentId(id), this.joules);
    model.minted.set(id, (model.minted.get(id) ?? 0n) + toMicroJ(this.joules));
  }
  toString = (): string => `topUp(#${String(this.n)}, ${String(this.joules)} J)`;
}

class Exit implements Command {
  readonly n: number;
  constructor(n: number) {
    this.n = n;
  }
  check = (m: Model): boolean => m.ids.length > 0;
  run(model: Model, rig: SessionRig): void {
    const id = pick(model, this.n) as string;
    const wasLive = live(rig, id);
    assert.equal(rig.session.exited(agentId(id), 'exit', 'code 0'), wasLive);
  }
  toString = (): string => `exit(#${String(this.n)})`;
}

/** The runtime carried out the kills the session asked for. */
class Reap implements Command {
  check = (): boolean => true;
  run(_model: Model, rig: SessionRig): void {
    for (const id of rig.enforcer.terminated.keys()) if (live(rig, id)) rig.session.exited(agentId(id), 'signal', 'SIGTERM');
  }
  toString = (): string => 'reap';
}

class LedgerOutage implements Command {
  readonly down: boolean;
  constructor(down: boolean) {
    this.down = down;
  }
  check = (): boolean => true;
  run(_model: Model, rig: SessionRig): void {
    rig.ledger.failWith = this.down ? new Error('disk full') : null;
  }
  toString = (): string => (this.down ? 'ledger down' : 'ledger up');
}

function checkInvariants(model: Model, rig: SessionRig): void {
  for (const id of model.ids) {
    const record = rig.session.records().find((r) => r.id === id);
    assert.ok(record !== undefined, id);
    const expected = (model.minted.get(id) ?? 0n) + record.incomeMicroJ - record.paidMicroJ - record.taxMicroJ;
    const view = rig.session.agent(agentId(id));
    const balance = view.phase === 'dead' ? (record.ended?.finalBalanceMicroJ ?? 0n) : BigInt(rig.session.wallet(agentId(id)).balanceMicroJ);
    assert.equal(balance, expected, `${id}: wallet ${balance.toString()} µJ, but minted + income − paid − tax = ${expected.toString()} µJ`);
    // Never frozen without a way out.
    const wanted = rig.enforcer.wanted.get(id);
    if (view.phase === 'dead') assert.equal(wanted, undefined, `${id} is dead but the enforcer still holds it`);
    else if (wanted !== undefined && !wanted.run) assert.ok(view.phase === 'paused' || (view.phase === 'dying' && rig.enforcer.terminated.has(id)), `${id} is wanted paused while ${view.phase}`);
    if (view.phase === 'paused') assert.equal(wanted?.run, false, `${id} is paused but the enforcer was told to run it`);
  }
  assert.equal(rig.ledger.total(), 0n, 'the ledger created or destroyed joules');
}

test('random sequences of spawns, bids, ticks, work, erasure, top-ups and exits conserve joules and leave no agent frozen', () => {
  const index = fc.nat(20);
  const commands = [
    fc.tuple(fc.double({ min: 0, max: 2, noNaN: true }), fc.option(fc.double({ min: 0, max: 0.2, noNaN: true }))).map(([w, b]) => new Spawn(w, b)),
    fc.constant(new FailedSpawn()),
    fc.tuple(index, fc.double({ min: 0, max: 0.3, noNaN: true })).map(([n, p]) => new Bid(n, p)),
    fc.tuple(fc.constantFrom<'cool' | 'hot' | 'pricey'>('cool', 'cool', 'cool', 'hot', 'pricey'), fc.constantFrom(0, 0, 0.1, 1.5)).map(([k, j]) => new Tick(k, j)),
    fc.tuple(index, fc.integer({ min: 0, max: PRIMES.length })).map(([n, c]) => new Work(n, c)),
    fc.tuple(index, fc.integer({ min: 1, max: 2 ** 34 })).map(([n, b]) => new Erase(n, b)),
    fc.tuple(index, fc.double({ min: 0.001, max: 5, noNaN: true })).map(([n, j]) => new TopUp(n, j)),
    index.map((n) => new Exit(n)),
    fc.constant(new Reap()),
    fc.boolean().map((d) => new LedgerOutage(d)),
  ];
  fc.assert(
    fc.property(fc.commands(commands, { maxCommands: 120 }), (cmds) => {
      const rig = sessionRig({ cores: 2, rules: { graceMs: 1000, settleEveryTicks: 3, criticalC: 95 } });
      const model: Model = { ids: [], minted: new Map(), next: 0, seq: 0 };
      const checked = [...cmds].map((c) => ({
        check: (m: Readonly<Model>) => c.check(m),
        run: (m: Model, r: SessionRig) => {
          c.run(m, r);
          checkInvariants(m, r);
        },
        toString: () => c.toString(),
      }));
      fc.modelRun(() => ({ model, real: rig }), checked);
      // Shutdown as the daemon does it: no more admissions, every agent ends, the ledger is written.
      rig.session.close();
      rig.ledger.failWith = null;
      for (const id of rig.session.liveIds()) rig.session.exited(id, 'runtime-closed');
      rig.session.flush('shutdown');
      checkInvariants(model, rig);
      assert.equal(rig.enforcer.wanted.size, 0, 'agents left with the enforcer after shutdown');
      // What was left went back to the treasury; a debt (the tax may overdraw) stays on the record.
      for (const record of rig.session.records()) {
        const final = record.ended?.finalBalanceMicroJ ?? 0n;
        assert.equal(rig.ledger.balance(`agent:${record.id}`), final < 0n ? final : 0n, `${record.id}: its wallet was not settled`);
      }
    }),
    { numRuns: 150 },
  );
});
