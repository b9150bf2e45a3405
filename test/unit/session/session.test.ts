import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultConfig } from '../../../src/config/load.js';
import { toMicroJ } from '../../../src/units/money.js';
import { STARTUP_MS } from '../../../src/session/session.js';
import { seconds } from '../../../src/units/units.js';
import { sessionRig, thermalInput } from '../../helpers/session-fakes.js';
import { agentId } from '../../helpers/agent-id.js';

const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('the winner pays the clearing price and runs on its core; the loser is paused, and the log says why', () => {
  const rig = sessionRig({ cores: 1 });
  rig.spawn('rich', 10, 0.05);
  rig.spawn('poor', 10, 0.01);
  rig.tick(thermalInput(1, { reserveJ: 0.002 }));
  const rich = rig.session.agent(agentId('rich'));
  const poor = rig.session.agent(agentId('poor'));
  assert.equal(rich.phase, 'running');
  assert.equal(rich.quantaWon, 1);
  assert.equal(poor.phase, 'paused');
  // GSP: the winner pays the next bid (0.01 J), not its own.
  assert.equal(rich.paidJ, 0.01);
  assert.deepEqual(rig.enforcer.wanted.get('rich'), { run: true, core: 0, share: 1, pinning: true }, 'on core 0, within its allowance');
  assert.equal(rig.enforcer.wanted.get('poor')?.run, false);
  const pause = rig.session.decisions().find((d) => d.agentId === 'poor');
  assert.equal(pause?.action, 'pause');
  assert.match(pause.because, /outbid or below reserve: bid 0\.01 J\/quantum.*modelled: test/);
});

test('a newcomer without a bid runs for its start-up time, then is paused for having no bid', () => {
  const rig = sessionRig();
  rig.spawn('quiet', 10);
  for (let i = 0; i < 10; i++) rig.tick();
  assert.equal(rig.session.agent(agentId('quiet')).phase, 'running');
  rig.clock.advance(seconds(STARTUP_MS / 1000));
  rig.tick();
  assert.equal(rig.session.agent(agentId('quiet')).phase, 'paused');
  assert.equal(rig.session.decisions().at(-1)?.because, 'no standing bid');
});

test('an insolvent agent gets its notice, a grace period, then SIGTERM; its wallet is settled on exit', () => {
  const rig = sessionRig({ rules: { graceMs: 500 } });
  rig.spawn('broke', 0.0005, 1);
  rig.tick(thermalInput(2, { reserveJ: 0.001 }));
  assert.equal(rig.channel.of('broke', 'apoptosis').length, 1, 'one notice');
  assert.equal(rig.session.decisions().some((d) => d.action === 'apoptosis-notice' && d.agentId === 'broke'), true);
  rig.clock.advance(seconds(0.6));
  rig.tick(thermalInput(2, { reserveJ: 0.001 }));
  assert.equal(rig.session.agent(agentId('broke')).phase, 'dying');
  assert.equal(rig.enforcer.terminated.get('broke'), defaultConfig().daemon.killTimeoutMs / 1000);
  assert.throws(() => rig.session.topUp(agentId('broke'), 5), { code: 'MXW_ERR_INVALID_ARG', message: /dying: too late/ });
  assert.equal(rig.session.exited(agentId('broke'), 'signal'), true);
  const view = rig.session.agent(agentId('broke'));
  assert.equal(view.phase, 'dead');
  assert.equal(view.ended?.reason, 'apoptosis', 'a kill after the notice is death by insolvency');
  assert.equal(rig.enforcer.forgotten.has('broke'), true);
  rig.session.flush('test');
  assert.equal(rig.ledger.total(), 0n, 'the ledger made and lost nothing');
  assert.equal(rig.ledger.balance('agent:broke'), 0n, 'what was left went back to the treasury');
});

test('a top-up during the grace period rescues the agent', () => {
  const rig = sessionRig({ rules: { graceMs: 500 } });
  rig.spawn('saved', 0.0005, 1);
  rig.tick(thermalInput(2, { reserveJ: 0.001 }));
  rig.session.topUp(agentId('saved'), 1);
  rig.tick(thermalInput(2, { reserveJ: 0.001 }));
  assert.equal(rig.session.decisions().some((d) => d.action === 'rescued' && d.agentId === 'saved'), true);
  rig.clock.advance(seconds(1));
  rig.tick(thermalInput(2, { reserveJ: 0.001 }));
  assert.notEqual(rig.session.agent(agentId('saved')).phase, 'dying');
  assert.equal(rig.enforcer.terminated.size, 0);
});

test('a core above the critical temperature has its agents paused at once, outside the auction', async () => {
  const rig = sessionRig({ cores: 2, rules: { criticalC: 90 } });
  rig.spawn('hot', 10, 1);
  rig.tick();
  assert.equal(rig.session.agent(agentId('hot')).phase, 'running');
  const core = rig.enforcer.wanted.get('hot')?.core ?? 0;
  const temperatures = [50, 50];
  temperatures[core] = 95;
  rig.tick(thermalInput(2, { temperatureC: temperatures }));
  assert.deepEqual(rig.enforcer.emergencyPauses, ['hot']);
  await settled();
  const decision = rig.session.decisions().find((d) => d.action === 'emergency-pause');
  assert.match(decision?.because ?? '', new RegExp(`core ${String(core)} at 95\\.0 °C > critical 90 °C \\(modelled: core ${String(core)}\\); paused in 0\\.25 ms`));
  assert.deepEqual(rig.session.emergencyLatenciesMs, [0.25]);
});

test('verified work earns income in the market; observe mode measures the same and moves no joule', () => {
  for (const mode of ['market', 'observe'] as const) {
    const rig = sessionRig({ mode });
    rig.spawn('sci', 1, 0.01);
    rig.session.receive(agentId('sci'), { type: 'work', seq: 1, kind: 'primes', range: ['10', '20'], primes: ['11', '13', '17', '19', '23'] });
    const result = rig.channel.of('sci', 'result')[0];
    assert.ok(result?.type === 'result');
    assert.equal(result.outcome, 'partly-accepted');
    assert.equal(rig.session.records()[0]?.verifiedPrimes, 4, `${mode}: 23 is outside the range`);
    rig.session.receive(agentId('sci'), { type: 'bid', seq: 2, pricePerQuantumJ: 0.5 });
    const bid = rig.channel.of('sci', 'result')[1];
    assert.ok(bid?.type === 'result');
    rig.erasure.erase('sci', 1 << 30);
    for (let i = 0; i < 5; i++) rig.tick();
    const view = rig.session.agent(agentId('sci'));
    if (mode === 'market') {
      assert.ok(view.incomeJ > 0 && view.taxJ > 0 && view.paidJ > 0, JSON.stringify(view));
      assert.equal(bid.outcome, 'accepted');
    } else {
      assert.deepEqual([view.incomeJ, view.taxJ, view.paidJ, view.phase, view.balanceJ], [0, 0, 0, 'running', 1]);
      assert.equal(bid.outcome, 'not-auctioned');
      assert.equal(rig.enforcer.wanted.get('sci')?.run, true, 'observe never pauses');
    }
  }
});

test('a failed ledger write keeps every movement pending; the next write carries them all', () => {
  const rig = sessionRig({ rules: { settleEveryTicks: 2 } });
  const failures: string[] = [];
  rig.session.onLedgerFailure((err) => failures.push(err.message));
  rig.spawn('a', 5, 0.1);
  rig.ledger.failWith = new Error('disk full');
  for (let i = 0; i < 4; i++) rig.tick();
  assert.equal(failures.length, 2);
  assert.match(rig.session.ledgerFailures[0] ?? '', /^ticks 0–1: disk full$/);
  assert.equal(rig.ledger.commits.length, 0);
  const balance = rig.session.wallet(agentId('a')).balanceMicroJ;
  rig.ledger.failWith = null;
  rig.tick();
  rig.tick();
  assert.equal(rig.ledger.commits.length, 1);
  const view = rig.session.agent(agentId('a'));
  assert.equal(rig.ledger.balance('agent:a'), BigInt(rig.session.wallet(agentId('a')).balanceMicroJ));
  assert.equal(rig.ledger.balance('burn'), toMicroJ(view.paidJ));
  assert.ok(BigInt(balance) > BigInt(rig.session.wallet(agentId('a')).balanceMicroJ));
  assert.equal(rig.ledger.total(), 0n);
});

test('a start that failed leaves nothing behind: no wallet, no bid, the id free again', () => {
  const rig = sessionRig();
  const admission = { id: 'x' as never, role: 'other' as const, runtime: 'process' as const, walletJ: 3, bid: { pricePerQuantumJ: 1 } };
  rig.session.admit(admission);
  assert.equal(rig.session.agent(agentId('x')).phase, 'starting');
  assert.throws(() => { rig.session.topUp(agentId('x'), 1); }, { code: 'MXW_ERR_INVALID_ARG', message: /opens once it has started/ });
  assert.throws(() => { rig.session.admit(admission); }, { code: 'MXW_ERR_AGENT_EXISTS' });
  rig.session.abandon(agentId('x'));
  assert.throws(() => rig.session.agent(agentId('x')), { code: 'MXW_ERR_AGENT_UNKNOWN' });
  rig.tick();
  rig.session.flush('test');
  assert.equal(rig.ledger.commits.length, 0, 'nothing was minted');
  rig.session.admit(admission);
  rig.session.close();
  assert.throws(() => { rig.session.admit({ ...admission, id: 'y' as never }); }, { message: /stopping/ });
});

test('wallets outside 0–1e9 J and top-ups ≤ 0 are refused with a stable code', () => {
  const rig = sessionRig();
  for (const walletJ of [-1, Number.NaN, 2e9]) assert.throws(() => { rig.session.admit({ id: 'w' as never, role: 'other', runtime: 'process', walletJ }); }, { code: 'MXW_ERR_INVALID_ARG' });
  rig.spawn('ok', 1);
  for (const j of [0, -1, Number.POSITIVE_INFINITY]) assert.throws(() => rig.session.topUp(agentId('ok'), j), { code: 'MXW_ERR_INVALID_ARG' });
  assert.throws(() => rig.session.wallet(agentId('nobody')), { code: 'MXW_ERR_AGENT_UNKNOWN' });
});

test('a claim its trace keeps contradicting is flagged after N windows; while flagged its income is withheld; N agreeing windows unflag it', () => {
  const rig = sessionRig({});
  const id = rig.session;
  id.admit({ id: 'liar' as never, role: 'other', runtime: 'process', walletJ: 1, bid: { pricePerQuantumJ: 0.01 }, claims: 'inference' });
  id.started(agentId('liar'), { pid: 1, pinning: true });
  id.noteClaimVerdict(agentId('liar'), { consistent: false, observed: 'mining', why: 'test' });
  id.noteClaimVerdict(agentId('liar'), { consistent: true, observed: 'inference', why: 'test' });
  id.noteClaimVerdict(agentId('liar'), { consistent: false, observed: 'mining', why: 'test' });
  id.noteClaimVerdict(agentId('liar'), { consistent: false, observed: 'mining', why: 'test' });
  assert.equal(id.agent(agentId('liar')).verification?.flagged, false, 'two in a row are not three');
  id.noteClaimVerdict(agentId('liar'), { consistent: false, observed: 'mining', why: 'test' });
  const view = id.agent(agentId('liar')).verification;
  assert.equal(view?.flagged, true);
  assert.equal(view.inconsistentWindows, 4);
  const flag = id.decisions().find((d) => d.action === 'flag');
  assert.match(flag?.because ?? '', /claims inference, but its trace was inconsistent with it in 3 windows in a row \(last: mining; test\); its verified work earns nothing while flagged/);
  id.receive(agentId('liar'), { type: 'work', seq: 1, kind: 'primes', range: ['10', '20'], primes: ['11', '13'] });
  const result = rig.channel.of('liar', 'result')[0];
  assert.ok(result?.type === 'result');
  assert.equal(result.outcome, 'withheld');
  assert.equal(id.agent(agentId('liar')).incomeJ, 0);
  assert.ok((id.agent(agentId('liar')).verification?.withheldJ ?? 0) > 0);
  for (let i = 0; i < 3; i++) id.noteClaimVerdict(agentId('liar'), { consistent: true, observed: 'inference', why: 'test' });
  assert.equal(id.agent(agentId('liar')).verification?.flagged, false);
  assert.equal(id.decisions().at(-1)?.action, 'unflag');
});

test('the audit policy raises a flagged agent\'s audit rate instead of withholding; agents without a claim are never judged', () => {
  const rig = sessionRig({ verification: { mismatchWindows: 1, onMismatch: 'audit' } });
  rig.session.admit({ id: 'a' as never, role: 'other', runtime: 'process', walletJ: 1, claims: 'inference' });
  rig.session.started(agentId('a'), { pid: 1, pinning: true });
  rig.spawn('plain', 1);
  rig.session.noteClaimVerdict(agentId('a'), { consistent: false, observed: 'science', why: 'test' });
  rig.session.noteClaimVerdict(agentId('plain'), { consistent: false, observed: 'mining', why: 'test' });
  assert.equal(rig.session.agent(agentId('a')).verification?.auditRate, 10);
  assert.equal(rig.session.agent(agentId('plain')).verification, null);
  rig.session.receive(agentId('a'), { type: 'work', seq: 1, kind: 'primes', range: ['10', '20'], primes: ['11'] });
  assert.ok(rig.session.agent(agentId('a')).incomeJ > 0, 'audited, not withheld');
});

test('admission: no auction, every running agent pays its fair share of the machine, and one that cannot pay dies', () => {
  const rig = sessionRig({ mode: 'admission', cores: 2, rules: { graceMs: 100 } });
  for (const id of ['a', 'b', 'c', 'd']) rig.spawn(id, 1, 0.5);
  rig.spawn('broke', 0.0015, 0.5);
  rig.session.receive(agentId('a'), { type: 'bid', seq: 1, pricePerQuantumJ: 0.5 });
  const bid = rig.channel.of('a', 'result')[0];
  assert.ok(bid?.type === 'result');
  assert.equal(bid.outcome, 'not-auctioned');
  rig.tick(thermalInput(2, { reserveJ: 0.001 }));
  // Five agents share two cores: each pays 2/5 of a 0.001 J quantum per tick.
  for (const id of ['a', 'b', 'c', 'd']) {
    const view = rig.session.agent(agentId(id));
    assert.equal(view.phase, 'running');
    assert.equal(view.paidJ, 0.0004, id);
    assert.equal(view.quantaWon, 0, 'nothing is auctioned');
    assert.deepEqual(rig.enforcer.wanted.get(id), { run: true, core: null, share: null, pinning: true }, 'CFS schedules: admitted unpinned, never paused or pinned');
  }
  rig.session.receive(agentId('a'), { type: 'work', seq: 2, kind: 'primes', range: ['10', '20'], primes: ['11', '13', '17', '19'] });
  assert.ok(rig.session.agent(agentId('a')).incomeJ > 0, 'verified work earns');
  for (let i = 0; i < 3; i++) rig.tick(thermalInput(2, { reserveJ: 0.001 }));
  assert.equal(rig.session.decisions().some((d) => d.action === 'apoptosis-notice' && d.agentId === 'broke'), true);
  rig.clock.advance(seconds(0.2));
  rig.tick(thermalInput(2, { reserveJ: 0.001 }));
  assert.equal(rig.session.agent(agentId('broke')).phase, 'dying');
  assert.equal(rig.session.agent(agentId('broke')).balanceJ >= 0, true, 'rent never takes more than the balance');
  rig.session.flush('test');
  assert.equal(rig.ledger.total(), 0n, 'the rent moved joules, made and lost none');
});

test('a balance notice goes to a connected agent when its balance changed, not again while it stays the same', () => {
  const rig = sessionRig({ cores: 1 });
  rig.spawn('payer', 10, 0.05);
  rig.spawn('waiter', 10, 0.01);
  rig.spawn('offline', 10, 0.001);
  rig.channel.connected.add('payer');
  rig.channel.connected.add('waiter');
  rig.session.flush('first');
  assert.equal(rig.channel.of('payer', 'balance').length, 1, 'the first flush tells every connected agent');
  assert.equal(rig.channel.of('waiter', 'balance').length, 1);
  assert.equal(rig.channel.of('offline', 'balance').length, 0, 'nothing is queued for an agent that is not connected');
  for (let i = 0; i < 3; i++) {
    rig.tick(thermalInput(1, { reserveJ: 0.002 }));
    rig.session.flush(`tick ${String(i)}`);
  }
  assert.equal(rig.session.agent(agentId('waiter')).phase, 'paused');
  assert.equal(rig.channel.of('waiter', 'balance').length, 1, 'a paused agent whose balance did not move is not sent the same balance again');
  const told = rig.channel.of('payer', 'balance');
  assert.equal(told.length, 4, 'the winner hears each new balance');
  assert.deepEqual(told.at(-1), { type: 'balance', balanceJ: rig.session.agent(agentId('payer')).balanceJ });
  rig.channel.connected.add('offline');
  rig.session.flush('later');
  assert.equal(rig.channel.of('offline', 'balance').length, 1, 'it is told once it connects');
  rig.session.connected(agentId('waiter'));
  rig.session.flush('after a reconnect');
  assert.equal(rig.channel.of('waiter', 'balance').length, 2, 'a reconnected agent is told its balance again, changed or not');
});

test('the record of an ended agent can be dropped once settled: its id stays taken, totals keep what it counted', () => {
  const rig = sessionRig({ cores: 1 });
  rig.spawn('short', 10, 0.05);
  rig.spawn('alive', 10, 0.01);
  rig.tick(thermalInput(1, { reserveJ: 0.002 }));
  assert.equal(rig.session.forgetEnded(agentId('alive')), false, 'a live agent is kept');
  assert.equal(rig.session.exited(agentId('short'), 'exited'), true);
  rig.session.noteHostedCpu(agentId('short'), 1.5);
  const cpuBefore = rig.session.hostedCpuS();
  const taxBefore = rig.session.taxTotalJ();
  rig.session.flush('settle');
  assert.equal(rig.session.forgetEnded(agentId('short')), true);
  assert.equal(rig.session.hostedCpuS(), cpuBefore, 'hosted CPU does not go backwards');
  assert.equal(rig.session.taxTotalJ(), taxBefore);
  assert.equal(rig.session.listAgents().some((a) => a.id === 'short'), false);
  assert.throws(() => rig.session.agent(agentId('short')), { code: 'MXW_ERR_AGENT_UNKNOWN', message: /record was dropped/ });
  assert.throws(() => rig.spawn('short', 1), { code: 'MXW_ERR_AGENT_EXISTS' });
  assert.equal(rig.ledger.total(), 0n, 'the ledger made and lost nothing');
  assert.equal(rig.ledger.balance('agent:short'), 0n, 'it was settled before it was dropped');
});
