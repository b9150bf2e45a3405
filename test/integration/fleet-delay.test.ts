/**
 * The fleet with delay: four `maxwell run` daemons in network namespaces whose every gossip
 * datagram crosses a delaying proxy (src/research/fleet-delay-lab.ts; this kernel has no netem).
 * Node 1's links are delayed 50, 150 and 350 ms ± jitter each way (a probe of it, or by it, waits
 * twice that: the last is past the 500 ms probe timeout, within the 1 s probe period): membership
 * converges at each, node 1 is never declared dead, and a node killed meanwhile is declared dead by
 * every survivor within a bound. An observer (a FleetNode in this process, a member like the
 * others) records every suspicion of node 1 that reaches it: the false positives.
 *
 * MAXWELL_FLEET_DELAY_SWEEP=1 instead runs the measurement of docs/research/fleet-delay.md:
 * MAXWELL_FLEET_DELAY_RUNS labs (default 2), each through delays up to past the probe period,
 * printing detection times and false positives per delay as a table.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import type { FleetSnapshot } from '../../src/api/control.js';
import { fleetIdentity } from '../../src/fleet/envelope.js';
import type { MemberEvent } from '../../src/fleet/swim.js';
import { FleetNode } from '../../src/fleet/transport.js';
import { DelayedFleet, delayOnNodes } from '../../src/research/fleet-delay-lab.js';
import { fleetLabUnavailable, type LabNode } from '../../src/research/fleet-lab.js';
import { until } from '../helpers/wait.js';

const NODES = 4;
/** The delayed node and the one killed (or silenced): both not node 0, the seed. */
const SLOW = 1;
const VICTIM = 3;
const SWEEP = process.env['MAXWELL_FLEET_DELAY_SWEEP'] === '1';
const SKIP = fleetLabUnavailable() ?? (spawnSync('nft', ['--version']).status !== 0 ? 'nft is not installed (apt-get install nftables): the delay proxies are guarded with it' : false);

async function fleetOf(node: LabNode): Promise<FleetSnapshot | null> {
  try {
    return await node.client.fleet();
  } catch {
    return null;
  }
}

const stateOf = (f: FleetSnapshot | null, name: string): string | undefined => f?.members.find((m) => m.nodeName === name)?.state;

interface Lab {
  readonly fleet: DelayedFleet;
  readonly observer: FleetNode;
  /** Every state change the observer saw, with its time (performance.now()). */
  readonly events: { readonly at: number; readonly name: string; readonly state: string; readonly previous: string | null }[];
  close(): Promise<void>;
}

async function startLab(seed: number): Promise<Lab> {
  const key = generateKeyPairSync('ed25519').privateKey;
  const fleet = await DelayedFleet.start({
    nodes: NODES,
    seed,
    extraMembers: 1,
    extraAllowedIds: [fleetIdentity(key).id],
    env: (i) => ({ MAXWELL_FLEET__ENABLED: 'true', MAXWELL_FLEET__NODE_NAME: `node${String(i)}`, MAXWELL_FLEET__LOCATION__RACK: `k${String(i)}` }),
  });
  const events: Lab['events'][number][] = [];
  const observer = new FleetNode({
    key,
    // Behind a proxy of its own (member NODES), as the daemons are: no path around the proxies.
    ...fleet.extraBind(0),
    advertise: fleet.gossipAddr(NODES),
    seeds: [fleet.gossipAddr(0)],
    localMetadata: () => ({ headroom: 1, meanPrice: 0, powerW: 0, location: { zone: 'z0', row: 'r9', rack: 'k9', chassis: 'c9' }, nodeName: 'observer' }),
  });
  observer.on('member', (e: MemberEvent) => { events.push({ at: performance.now(), name: e.meta.nodeName ?? e.id, state: e.state, previous: e.previous }); });
  try {
    await observer.start();
  } catch (err) {
    await fleet.close();
    throw err;
  }
  return { fleet, observer, events, close: async () => { await observer.stop(); await fleet.close(); } };
}

const views = (lab: Lab, nodes: readonly LabNode[] = lab.fleet.lab.nodes): Promise<(FleetSnapshot | null)[]> => Promise.all(nodes.map((n) => fleetOf(n)));

/** Every node in `nodes` sees `alive` members alive (the observer included). */
async function converged(lab: Lab, alive: readonly string[], nodes: readonly LabNode[] = lab.fleet.lab.nodes): Promise<boolean> {
  const vs = await views(lab, nodes);
  return vs.every((v) => v !== null && alive.every((name) => stateOf(v, name) === 'alive'));
}

const everyone = [...Array.from({ length: NODES }, (_, i) => `node${String(i)}`), 'observer'];

/** What the fleet thought of `name` over `ms`: suspicions and deaths reaching the observer, deaths any daemon showed. */
async function watch(lab: Lab, name: string, ms: number): Promise<{ suspicions: number; deaths: number; deadSeenBy: number; awareness: number }> {
  const from = performance.now();
  let deadSeenBy = 0;
  let awareness = 0;
  while (performance.now() - from < ms) {
    const vs = await views(lab);
    deadSeenBy = Math.max(deadSeenBy, vs.filter((v) => stateOf(v, name) === 'dead').length);
    awareness = Math.max(awareness, lab.observer.awareness);
    await new Promise((r) => setTimeout(r, 200));
  }
  const mine = lab.events.filter((e) => e.at >= from && e.name === name);
  return { suspicions: mine.filter((e) => e.state === 'suspect' && e.previous === 'alive').length, deaths: mine.filter((e) => e.state === 'dead').length, deadSeenBy, awareness };
}

/**
 * Time until every survivor's daemon says `name` is dead, s (polled every 100 ms), or null past
 * `capMs`; and the observer's peak Lifeguard awareness meanwhile (a healthy prober: 0 expected).
 */
async function detect(lab: Lab, name: string, survivors: readonly LabNode[], capMs: number): Promise<{ s: number | null; awareness: number }> {
  const t0 = performance.now();
  let awareness = 0;
  const dead = async (): Promise<boolean> => {
    awareness = Math.max(awareness, lab.observer.awareness);
    return (await views(lab, survivors)).every((v) => stateOf(v, name) === 'dead');
  };
  const s = await until(`every survivor to declare ${name} dead`, dead, capMs, 100).then(() => (performance.now() - t0) / 1000, () => null);
  return { s, awareness };
}

test('four daemons whose links cross delaying proxies converge with node 1 delayed up to past the probe timeout, never declare it dead, and detect a killed node', { skip: SWEEP ? 'MAXWELL_FLEET_DELAY_SWEEP=1: the measurement runs instead' : SKIP, timeout: 150_000 }, async (t) => {
  const lab = await startLab(1);
  t.after(() => lab.close());
  const { fleet } = lab;
  const nodes = fleet.lab.nodes;
  const t0 = performance.now();
  await until('every daemon to see every member alive', () => converged(lab, everyone), 30_000, 200).catch(async (err: unknown) => {
    const seen = (await views(lab)).map((v, i) => `node ${String(i)}: ${v?.members.map((m) => `${m.nodeName}=${m.state}`).join(' ') ?? 'no answer'}`);
    throw new Error(`${String(err)}\n${seen.join('\n')}\nproxies ${JSON.stringify(fleet.proxies.map((p) => p.counts))}`, { cause: err });
  });
  process.stdout.write(`fleet-delay: converged through the proxies in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);

  const rows: string[] = [];
  for (const [delayMs, jitterMs] of [[50, 10], [150, 30], [350, 50]] as const) {
    fleet.setLaw(delayOnNodes([SLOW], delayMs, jitterMs));
    const drawnFrom = fleet.proxies[SLOW]?.delays.length ?? 0;
    const c0 = performance.now();
    await until(`every member alive with node 1 at ${String(delayMs)} ms`, () => converged(lab, everyone), 20_000, 200);
    const convergedS = (performance.now() - c0) / 1000;
    const seen = await watch(lab, `node${String(SLOW)}`, 6_000);
    assert.equal(seen.deadSeenBy, 0, `node 1 at ${String(delayMs)} ± ${String(jitterMs)} ms was declared dead by ${String(seen.deadSeenBy)} daemons`);
    assert.equal(seen.deaths, 0, `the observer saw node 1 declared dead at ${String(delayMs)} ms`);
    // The proxy in front of node 1 delayed what it forwarded by the law.
    const drawn = fleet.proxies[SLOW]?.delays.slice(drawnFrom) ?? [];
    assert.ok(drawn.length > 10, `node 1's proxy forwarded ${String(drawn.length)} datagrams at ${String(delayMs)} ms`);
    assert.ok(drawn.every((d) => d >= delayMs - jitterMs && d <= delayMs + jitterMs), `delays drawn outside ${String(delayMs)} ± ${String(jitterMs)}`);
    rows.push(`${String(delayMs)} ± ${String(jitterMs)} ms: converged ${convergedS.toFixed(1)} s, ${String(seen.suspicions)} suspicions of node 1 in 6 s, 0 deaths`);
  }
  process.stdout.write(`fleet-delay: node 1 delayed (each way) ${rows.join('; ')}\n`);

  // A crash with node 1 still at 350 ms: the survivors (node 1 included) declare node 3 dead.
  const victim = nodes[VICTIM] as LabNode;
  victim.child.kill('SIGKILL');
  const survivors = nodes.filter((n) => n !== victim);
  const detectS = (await detect(lab, `node${String(VICTIM)}`, survivors, 30_000)).s;
  assert.ok(detectS !== null, `node 3 was not declared dead by every survivor within 30 s: ${(await views(lab, survivors)).map((v) => stateOf(v, 'node3')).join(' ')}`);
  process.stdout.write(`fleet-delay: node 3 (SIGKILL) declared dead by all 3 survivors ${detectS.toFixed(1)} s after, node 1 at 350 ms\n`);
  const alive = await views(lab, survivors);
  assert.ok(alive.every((v) => stateOf(v, `node${String(SLOW)}`) !== 'dead'), 'node 1 is still not dead');
  assert.equal(fleet.bypassed(), 0, 'no gossip went around the proxies');
  for (const n of survivors) assert.equal(n.child.exitCode, null, `node ${String(n.index)} exited:\n${n.log().slice(-800)}`);
});

/** One-way delays on node 1's links for the sweep, ms (jitter ± 10 %): up to past the probe period. */
const SWEEP_DELAYS = (process.env['MAXWELL_FLEET_DELAY_DELAYS'] ?? '0,100,250,400,600,1000,2000,4000').split(',').map(Number);
const HOLD_MS = 20_000;

test('measurement: detection time and false positives against delay (MAXWELL_FLEET_DELAY_SWEEP=1)', { skip: SWEEP ? SKIP : 'opt-in: MAXWELL_FLEET_DELAY_SWEEP=1', timeout: 3_600_000 }, async () => {
  const runs = Number(process.env['MAXWELL_FLEET_DELAY_RUNS'] ?? '2');
  const rows = new Map<number, { converged: number; susp: number[]; deaths: number[]; detect: (number | null)[]; aware: number[] }>();
  const kills: number[] = [];
  for (let run = 0; run < runs; run++) {
    const lab = await startLab(100 + run);
    try {
      const nodes = lab.fleet.lab.nodes;
      await until('every daemon to see every member alive', () => converged(lab, everyone), 30_000, 200);
      for (const delayMs of SWEEP_DELAYS) {
        const row = rows.get(delayMs) ?? { converged: 0, susp: [], deaths: [], detect: [], aware: [] };
        rows.set(delayMs, row);
        lab.fleet.setLaw(delayOnNodes([SLOW], delayMs, delayMs / 10));
        if (await until('convergence', () => converged(lab, everyone), 30_000, 200).then(() => true, () => false)) row.converged++;
        const seen = await watch(lab, `node${String(SLOW)}`, HOLD_MS);
        row.susp.push(seen.suspicions);
        row.deaths.push(seen.deaths);
        // A silent node 3 (every datagram to and from it lost: a crash to the network), then back.
        lab.fleet.silence(VICTIM);
        const found = await detect(lab, `node${String(VICTIM)}`, nodes.filter((n) => n.index !== VICTIM), 60_000);
        row.detect.push(found.s);
        row.aware.push(Math.max(seen.awareness, found.awareness));
        lab.fleet.unsilence(VICTIM);
        lab.fleet.setLaw(delayOnNodes([], 0, 0));
        await until('the fleet to heal', () => converged(lab, everyone), 60_000, 200);
        process.stdout.write(`fleet-delay sweep run ${String(run)}: ${String(delayMs)} ms: ${JSON.stringify({ seen, detect: found })}\n`);
      }
      // The cross-check of silencing against a real crash, undelayed.
      (nodes[VICTIM] as LabNode).child.kill('SIGKILL');
      const k = (await detect(lab, `node${String(VICTIM)}`, nodes.filter((n) => n.index !== VICTIM), 60_000)).s;
      if (k !== null) kills.push(k);
      assert.equal(lab.fleet.bypassed(), 0);
    } finally {
      await lab.close();
    }
  }
  const fmt = (xs: readonly number[]): string => {
    const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
    return s.length === 0 ? '—' : `${(s[Math.floor((s.length - 1) / 2)] ?? 0).toFixed(1)} (${(s[0] ?? 0).toFixed(1)}–${(s.at(-1) ?? 0).toFixed(1)})`;
  };
  const lines = ['| one-way delay on node 1 (± 10 %) | probe RTT to/from node 1 | every member alive everywhere (runs) | suspicions of node 1 per 20 s (per run) | node 1 declared dead (runs) | detection of a silent node, s: median (min–max) | peak awareness of the observer |', '|---|---|---|---|---|---|---|'];
  for (const [d, r] of rows) {
    const missed = r.detect.filter((x) => x === null).length;
    lines.push(`| ${String(d)} ms | ${String(2 * d)} ms | ${String(r.converged)} of ${String(r.deaths.length)} | ${r.susp.join(', ')} | ${String(r.deaths.filter((x) => x > 0).length)} of ${String(r.deaths.length)} | ${fmt(r.detect.filter((x): x is number => x !== null))}${missed > 0 ? `, ${String(missed)} not within 60 s` : ''} | ${r.aware.join(', ')} |`);
  }
  process.stdout.write(`\n${lines.join('\n')}\n\nreal SIGKILL (undelayed), detection s: ${kills.map((k) => k.toFixed(1)).join(', ')}\n`);
});
