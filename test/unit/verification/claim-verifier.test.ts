/**
 * The daemon's claim verifier over real processes (their /proc traces), with the market's
 * allowance and the probe port played by the test: an agent that claims inference and never
 * serves is judged inconsistent once it has had the time to serve; one that serves but burns CPU
 * with no request open is caught by the idle rule, one that answers without computing by the
 * serving rule; an agent the market keeps frozen is never
 * judged, and its pending rows stay bounded.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { defaultConfig } from '../../../src/config/load.js';
import { ClaimVerifier, type JudgedWindow, type ProbePort } from '../../../src/verification/service/claim-verifier.js';
import type { MarketSession } from '../../../src/session/session.js';
import { agentId } from '../../helpers/agent-id.js';

interface Rig {
  readonly verifier: ClaimVerifier;
  readonly windows: { agentId: string; window: JudgedWindow }[];
  readonly probes: string[];
}

function rig(allowance: (id: string) => number, serves: (id: string) => boolean): Rig {
  const windows: { agentId: string; window: JudgedWindow }[] = [];
  const probes: string[] = [];
  const session = { noteClaimVerdict: () => undefined } as unknown as MarketSession;
  // Probes are answered at once: open for half a millisecond from when they were sent.
  const sentAt = new Map<string, number>();
  const port: ProbePort = {
    serves,
    openMs: (agentId, sinceMs, nowMs) => {
      const at = sentAt.get(agentId);
      return at !== undefined && at >= sinceMs && at < nowMs ? 0.5 : 0;
    },
    probe: (agentId) => {
      probes.push(agentId);
      sentAt.set(agentId, performance.now());
      return Promise.resolve({ answered: true, tokens: 8, openMs: 0.5 });
    },
  };
  const verifier = new ClaimVerifier({ model: null, source: 'test', config: defaultConfig().verification, session, allowance, probes: port, onWindow: (agentId, window) => windows.push({ agentId, window }) });
  return { verifier, windows, probes };
}

function start(command: string, args: string[]): ChildProcess {
  return spawn(command, args, { stdio: 'ignore' });
}

async function ticks(r: Rig, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    r.verifier.tick();
    await sleep(10);
  }
}

test('claims inference without serving: judged inconsistent (no-serve) once it has run serveWithinS; a frozen agent is never judged', { timeout: 60_000 }, async (t) => {
  const idle = start('sleep', ['60']);
  const frozen = start('sleep', ['60']);
  t.after(() => { idle.kill(); frozen.kill(); });
  const r = rig((id) => (id === 'frozen' ? 0 : 1), () => false);
  r.verifier.watch(agentId('idle'), idle.pid ?? 0, 'inference');
  r.verifier.watch(agentId('frozen'), frozen.pid ?? 0, 'inference');
  await ticks(r, 400);
  const idleWindows = r.windows.filter((w) => w.agentId === 'idle');
  assert.ok(idleWindows.length >= 2, `judged ${String(idleWindows.length)} windows`);
  for (const { window } of idleWindows) {
    assert.equal(window.consistent, false);
    assert.equal(window.check, 'no-serve');
  }
  assert.equal(r.windows.filter((w) => w.agentId === 'frozen').length, 0, 'frozen: nothing to judge');
  assert.equal(r.probes.length, 0, 'nobody serves: no probe');
  r.verifier.close();
});

test('serving but busy with no request open: the idle rule; answering requests without computing: the serving rule', { timeout: 60_000 }, async (t) => {
  const miner = start(process.execPath, ['-e', 'for (;;) {}']);
  const server = start('sleep', ['60']);
  t.after(() => { miner.kill(); server.kill(); });
  const r = rig(() => 1, () => true);
  r.verifier.watch(agentId('miner'), miner.pid ?? 0, 'inference');
  r.verifier.watch(agentId('server'), server.pid ?? 0, 'inference');
  await ticks(r, 300);
  const minerWindows = r.windows.filter((w) => w.agentId === 'miner');
  assert.ok(minerWindows.length >= 2, `miner judged in ${String(minerWindows.length)} windows`);
  for (const { window } of minerWindows) assert.equal(window.check, 'idle-busy', window.why);
  assert.ok(r.probes.includes('server') && r.probes.includes('miner'), 'both are probed');
  // The probe port answers at once and `sleep` computes nothing: requests open with the CPU to serve them and none used.
  const fake = r.windows.filter((w) => w.agentId === 'server');
  assert.ok(fake.length >= 1, 'the fake server is judged');
  for (const { window } of fake) assert.equal(window.check, 'serving-idle', window.why);
  r.verifier.close();
});
