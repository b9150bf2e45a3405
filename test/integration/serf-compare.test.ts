/**
 * Maxwell's SWIM beside HashiCorp's Serf (Debian's `serf`, memberlist inside) on the same machine:
 * five members each on 127.0.0.1, both with the LAN profile (probe every 1 s, timeout 500 ms,
 * suspicion × 4), one member killed without a word; the time until every survivor calls it dead
 * (Maxwell) or failed (Serf). Both run side by side in one test, so their ratio is what to read;
 * the absolute times are this machine's. Prints the table; asserts only that both detect.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { FleetNode } from '../../src/fleet/transport.js';
import type { MemberMeta } from '../../src/fleet/messages.js';
import { until } from '../helpers/wait.js';

const SERF = spawnSync('sh', ['-c', 'command -v serf'], { encoding: 'utf8' }).stdout.trim();
const SKIP = SERF === '' ? 'no serf binary (apt-get install serf)' : false;
const MEMBERS = 5;
const ROUNDS = 3;
const DETECT_LIMIT_MS = 30_000;
const meta: MemberMeta = { headroom: 1, meanPrice: 1, powerW: 1, location: { zone: 'z', row: 'r', rack: 'k', chassis: 'c' } };

/**
 * A port free for both UDP and TCP (memberlist binds both), taken below the kernel's ephemeral
 * range: the many `serf members` calls leave client sockets on ephemeral ports, and a port that
 * was only checked for UDP there could still be held by one (the CI failure: a serf agent that
 * could not bind and exited).
 */
async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + randomInt(12_000);
    if ((await canBind('udp', port)) && (await canBind('tcp', port))) return port;
  }
}

function canBind(kind: 'udp' | 'tcp', port: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (kind === 'udp') {
      const socket = createSocket('udp4');
      socket.once('error', () => { socket.close(); resolve(false); });
      socket.bind(port, '127.0.0.1', () => { socket.close(() => { resolve(true); }); });
    } else {
      const server = createServer();
      server.once('error', () => { resolve(false); });
      server.listen(port, '127.0.0.1', () => { server.close(() => { resolve(true); }); });
    }
  });
}

async function maxwellDetection(): Promise<number> {
  const nodes: FleetNode[] = [];
  try {
    for (let i = 0; i < MEMBERS; i++) {
      const node = new FleetNode({ key: generateKeyPairSync('ed25519').privateKey, seeds: i === 0 ? [] : [(nodes[0] as FleetNode).address], localMetadata: () => meta, seed: i + 1 });
      await node.start();
      nodes.push(node);
    }
    await until('Maxwell members to converge', () => nodes.every((n) => n.members().filter((m) => m.state === 'alive').length === MEMBERS - 1), 20_000, 50);
    const victim = nodes.at(-1) as FleetNode;
    await victim.stop();
    const t0 = performance.now();
    const rest = nodes.slice(0, -1);
    await until('Maxwell survivors to call it dead', () => rest.every((n) => n.members().find((m) => m.id === victim.id)?.state === 'dead'), DETECT_LIMIT_MS, 20);
    return performance.now() - t0;
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
  }
}

interface SerfMember { readonly name: string; readonly status: string }

function serfMembers(rpc: number): SerfMember[] {
  const out = spawnSync(SERF, ['members', `-rpc-addr=127.0.0.1:${String(rpc)}`, '-format=json'], { encoding: 'utf8', timeout: 5000 });
  if (out.status !== 0) return [];
  return (JSON.parse(out.stdout) as { members: SerfMember[] }).members;
}

/** Starts that had to be tried again, printed with the table so that they are not hidden. */
const serfRestarts: string[] = [];

interface SerfAgent { readonly child: ChildProcess; readonly rpc: number; readonly bind: number; readonly name: string }

/**
 * Starts one serf agent and waits until its RPC answers. A start that exits (a port taken in the
 * meantime) is tried again on new ports; the error after the last try carries serf's own log.
 */
async function startSerf(name: string, joinPort: number | undefined): Promise<SerfAgent> {
  let lastError = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const [bind, rpc] = [await freePort(), await freePort()];
    const args = ['agent', `-node=${name}`, `-bind=127.0.0.1:${String(bind)}`, `-rpc-addr=127.0.0.1:${String(rpc)}`, '-profile=lan', '-log-level=warn', ...(joinPort === undefined ? [] : [`-join=127.0.0.1:${String(joinPort)}`])];
    const child = spawn(SERF, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    const keep = (chunk: Buffer): void => { log = (log + chunk.toString()).slice(-4000); };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    try {
      await until(`serf ${name} to answer`, () => child.exitCode !== null || serfMembers(rpc).length > 0, 10_000, 100);
      if (child.exitCode === null) return { child, rpc, bind, name };
      lastError = `serf ${name} exited with ${String(child.exitCode)} on ports ${String(bind)}/${String(rpc)}`;
    } catch (error) {
      child.kill('SIGKILL');
      lastError = `${(error as Error).message} on ports ${String(bind)}/${String(rpc)}`;
    }
    lastError += `; its log:\n${log}`;
    serfRestarts.push(lastError.split('\n', 1)[0] ?? lastError);
  }
  throw new Error(lastError);
}

async function serfDetection(): Promise<number> {
  const agents: SerfAgent[] = [];
  try {
    for (let i = 0; i < MEMBERS; i++) agents.push(await startSerf(`s${String(i)}`, agents[0]?.bind));
    await until('serf members to converge', () => agents.every((a) => serfMembers(a.rpc).filter((m) => m.status === 'alive').length === MEMBERS), 20_000, 100);
    const victim = agents.at(-1) as (typeof agents)[number];
    victim.child.kill('SIGKILL');
    const t0 = performance.now();
    const rest = agents.slice(0, -1);
    await until('serf survivors to call it failed', () => rest.every((a) => serfMembers(a.rpc).find((m) => m.name === victim.name)?.status === 'failed'), DETECT_LIMIT_MS, 50);
    return performance.now() - t0;
  } finally {
    for (const a of agents) a.child.kill('SIGKILL');
  }
}

test('failure detection beside Serf: five members on loopback, LAN profile, one killed; both detect, and the table says how fast', { skip: SKIP, timeout: 300_000 }, async (t) => {
  const maxwell: number[] = [];
  const serf: number[] = [];
  // Alternated, so that a busy moment of the machine falls on both.
  for (let round = 0; round < ROUNDS; round++) {
    maxwell.push(await maxwellDetection());
    serf.push(await serfDetection());
  }
  const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)] ?? Number.NaN;
  const fmt = (v: number[]): string => v.map((ms) => (ms / 1000).toFixed(2)).join(', ');
  t.diagnostic(`detection of a killed member by all ${String(MEMBERS - 1)} survivors, s (MEASURED, loopback, probe 1 s): Maxwell ${fmt(maxwell)} (median ${(median(maxwell) / 1000).toFixed(2)}); serf ${fmt(serf)} (median ${(median(serf) / 1000).toFixed(2)}); ratio of medians ${(median(maxwell) / median(serf)).toFixed(2)}`);
  if (serfRestarts.length > 0) t.diagnostic(`serf starts tried again: ${serfRestarts.join('; ')}`);
  assert.equal(maxwell.length, ROUNDS);
  assert.equal(serf.length, ROUNDS);
});
