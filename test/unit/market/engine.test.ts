import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClearingEngine, type PlaneOffer } from '../../../src/market/engine.js';
import { OrderBook, type BidMessage, type Plane } from '../../../src/market/order-book.js';

function cores(n: number, reserve = 0.01): Map<Plane, PlaneOffer> {
  return new Map([['cpu', { quality: Array.from({ length: n }, () => 1), reserve: Array.from({ length: n }, () => reserve), unit: Array.from({ length: n }, (_, i) => i) }]]);
}

test('garbage bids get a result code each, are counted, and never reach the book', () => {
  const book = new OrderBook();
  book.register('a');
  book.register('b');
  book.retire('b');
  const garbage: [Partial<BidMessage> & { agentId: string }, string][] = [
    [{ agentId: 'a', seq: 1, pricePerQuantumJ: Number.NaN }, 'invalid'],
    [{ agentId: 'a', seq: 1, pricePerQuantumJ: -1 }, 'invalid'],
    [{ agentId: 'a', seq: 1, pricePerQuantumJ: Number.POSITIVE_INFINITY }, 'invalid'],
    [{ agentId: 'a', seq: 1, pricePerQuantumJ: '3' as unknown as number }, 'invalid'],
    [{ agentId: 'a', seq: 1, pricePerQuantumJ: 1, budgetJ: -2 }, 'invalid'],
    [{ agentId: 'a', seq: 1, pricePerQuantumJ: 1, plane: 'tpu' as Plane }, 'invalid'],
    [{ agentId: 'a', seq: 1.5, pricePerQuantumJ: 1 }, 'invalid'],
    [{ agentId: 'a', seq: 1, pricePerQuantumJ: 1e13 }, 'absurd'],
    [{ agentId: 'nobody', seq: 1, pricePerQuantumJ: 1 }, 'unknown-agent'],
    [{ agentId: 'b', seq: 1, pricePerQuantumJ: 1 }, 'dead-agent'],
  ];
  for (const [bid, want] of garbage) assert.equal(book.submit(bid as BidMessage), want, JSON.stringify(bid));
  assert.equal(book.size, 0, 'nothing stored');
  // Garbage did not consume sequence numbers: seq 1 is still fresh.
  assert.equal(book.submit({ agentId: 'a', seq: 1, pricePerQuantumJ: 0.5 }), 'accepted');
  assert.equal(book.submit({ agentId: 'a', seq: 1, pricePerQuantumJ: 9 }), 'replayed');
  assert.equal(book.submit({ agentId: 'a', seq: 0, pricePerQuantumJ: 9 }), 'out-of-order');
  assert.equal([...book.bids()][0]?.pricePerQuantumJ, 0.5, 'a replay does not change the standing bid');
  const counts = book.counts();
  assert.equal(counts.invalid, 7);
  assert.equal(counts.absurd, 1);
  assert.equal(counts['unknown-agent'], 1);
  assert.equal(counts['dead-agent'], 1);
  assert.equal(counts.replayed, 1);
  assert.equal(counts['out-of-order'], 1);
  assert.equal(counts.accepted, 1);
});

test('bids persist across ticks; the best two of four take two cores and pay the next bid (GSP)', () => {
  const book = new OrderBook();
  const wallets = new Map([['s1', 100], ['s2', 100], ['l1', 100], ['l2', 0.015]]);
  for (const id of wallets.keys()) book.register(id);
  book.submit({ agentId: 's1', seq: 1, pricePerQuantumJ: 0.08 });
  book.submit({ agentId: 's2', seq: 1, pricePerQuantumJ: 0.05 });
  book.submit({ agentId: 'l1', seq: 1, pricePerQuantumJ: 0.03 });
  book.submit({ agentId: 'l2', seq: 1, pricePerQuantumJ: 0.5 }); // bids high, but its wallet holds 0.015 J
  const engine = new ClearingEngine({ book, walletJ: (id) => wallets.get(id) ?? 0 });
  for (let tick = 0; tick < 3; tick++) {
    const result = engine.clearTick(tick, cores(2));
    assert.deepEqual(result.awards.map((a) => [a.agentId, a.unit, Number(a.paymentJ.toFixed(6))]), [['s1', 0, 0.05], ['s2', 1, 0.03]]);
    assert.equal(result.outcomes.won, 2);
    assert.equal(result.outcomes.outbid, 2);
    assert.ok(result.costMs >= 0);
  }
  book.retire('s1');
  const after = engine.clearTick(3, cores(2));
  assert.deepEqual(after.awards.map((a) => a.agentId), ['s2', 'l1'], 'a retired agent’s bid is gone');
  // No offer for a plane: nobody wins, nobody pays.
  assert.deepEqual(engine.clearTick(4, new Map()).awards, []);
});

test('equal bids share the cores over time: the rotating tie-break starves no one', () => {
  const book = new OrderBook();
  for (let i = 0; i < 8; i++) {
    book.register(`a${String(i)}`);
    book.submit({ agentId: `a${String(i)}`, seq: 1, pricePerQuantumJ: 1 });
  }
  const engine = new ClearingEngine({ book, walletJ: () => 1e6, mode: 'uniform' });
  const wins = new Map<string, number>();
  for (let tick = 0; tick < 80; tick++) for (const a of engine.clearTick(tick, cores(2)).awards) wins.set(a.agentId, (wins.get(a.agentId) ?? 0) + 1);
  assert.equal(wins.size, 8, 'every tied agent won some quanta');
  for (const [agent, n] of wins) assert.ok(n >= 10, `${agent} won only ${String(n)} of 80 ticks`);
});

test('the result is reused: the next tick overwrites it, and steady clearing makes no new award objects', () => {
  const book = new OrderBook();
  book.register('a');
  book.place('a', 1);
  const engine = new ClearingEngine({ book, walletJ: () => 1e6 });
  const first = engine.clearTick(0, cores(2));
  const award = first.awards[0];
  const second = engine.clearTick(1, cores(2));
  assert.equal(second, first, 'one result object');
  assert.equal(second.tick, 1);
  assert.equal(second.awards[0], award, 'the award object is reused');
  book.retire('a');
  assert.equal(engine.clearTick(2, cores(2)).awards.length, 0);
});
