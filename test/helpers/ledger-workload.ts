/**
 * A deterministic ledger workload for crash tests: what tick t transfers depends only on t and
 * the balances before it, so a test can recompute the exact expected state after any tick.
 */
import { agentAccount } from '../../src/agent-id.js';
import type { AccountId, Transfer } from '../../src/ledger/entries.js';
import { microJ } from '../../src/units/money.js';

const AGENTS = ['a0', 'a1', 'a2', 'a3'].map(agentAccount);

export function workloadTick(tick: number, balance: (account: AccountId) => bigint): Transfer[] {
  const transfers: Transfer[] = [];
  const spent = new Map<AccountId, bigint>();
  const agentOf = (i: number): AccountId => AGENTS[i % AGENTS.length] ?? 'treasury';
  transfers.push({ kind: 'mint', from: 'treasury', to: agentOf(tick), amountMicroJ: microJ(BigInt(1000 + (tick % 17))) });
  for (let i = 0; i < 6; i += 1) {
    const payer = agentOf(tick + i + 1);
    const amount = BigInt(1 + ((tick * 7 + i * 13) % 300));
    const available = balance(payer) + (payer === agentOf(tick) ? BigInt(1000 + (tick % 17)) : 0n) - (spent.get(payer) ?? 0n);
    if (available < amount) continue;
    spent.set(payer, (spent.get(payer) ?? 0n) + amount);
    transfers.push({ kind: i % 3 === 2 ? 'stake' : 'payment', from: payer, to: i % 3 === 2 ? 'escrow' : 'burn', amountMicroJ: microJ(amount), memo: `t${String(tick)}` });
  }
  transfers.push({ kind: 'tax', from: agentOf(tick + 2), to: 'landauer', amountMicroJ: microJ(BigInt(1 + (tick % 5))) });
  return transfers;
}

/** Replays ticks 0..lastTick in memory: the balances and entry counts a correct ledger must hold. */
export function expectedAfter(lastTick: number): { balances: Map<AccountId, bigint>; entriesPerTick: number[] } {
  const balances = new Map<AccountId, bigint>();
  const entriesPerTick: number[] = [];
  for (let tick = 0; tick <= lastTick; tick += 1) {
    const transfers = workloadTick(tick, (a) => balances.get(a) ?? 0n);
    entriesPerTick.push(transfers.length);
    for (const t of transfers) {
      balances.set(t.from, (balances.get(t.from) ?? 0n) - t.amountMicroJ);
      balances.set(t.to, (balances.get(t.to) ?? 0n) + t.amountMicroJ);
    }
  }
  return { balances, entriesPerTick };
}
