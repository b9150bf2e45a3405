/**
 * The daemon runs all three kinds of agent side by side: a WASM Scientist (worker thread,
 * protocol over a message port) and a VM Scientist (QEMU under TCG, protocol over the guest's
 * serial channel) bid, win quanta, report primes and are paid, next to a process leech that
 * dies by apoptosis; the ledger verifies.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { test } from 'node:test';
import { WASM_SCIENTIST_PATH } from '../../src/agents/wasm/wasm-agents.js';
import { assembleDaemon } from '../../src/daemon/components.js';
import { verifyLedger } from '../../src/ledger/verify.js';
import { detectCgroups } from '../../src/runtimes/process/cgroups.js';
import { repoPath } from '../helpers/repo.js';
import { VM_INITRD, VM_SKIP } from '../helpers/vm.js';
import { wasmFixture } from '../helpers/wasm.js';
import { until } from '../helpers/wait.js';
import { daemonConfigIn as configIn } from '../helpers/daemon-config.js';
import { agentId } from '../helpers/agent-id.js';

const layout = detectCgroups();
const SKIP = process.getuid?.() !== 0 ? 'needs root to create cgroups' : layout.freezer === undefined && layout.v2 === undefined ? 'no freezer cgroup here' : false;
const VM_DAEMON_SKIP =
  SKIP !== false ? SKIP : VM_SKIP !== false ? VM_SKIP : !gunzipSync(readFileSync(VM_INITRD)).includes('scientist)') ? 'the guest image predates the scientist program: rerun scripts/build-vm-guest.sh' : false;
const LEECH = repoPath('dist/src/agents/leech.js');

test('a WASM scientist under the daemon bids over its message port, wins quanta, is paid for verified primes; never pinned', { skip: SKIP, timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'maxwell-daemon-rt-'));
  const config = configIn(dir);
  const { daemon, runtime, close } = await assembleDaemon(config, { tag: 'drt1' });
  t.after(async () => {
    await close();
    rmSync(dir, { recursive: true, force: true });
  });
  // The module bids 5 J a quantum itself (args[0]); no opening bid from the operator.
  const spawned = await daemon.spawnAgent({ id: 'wasm-sci', runtime: 'wasm', command: WASM_SCIENTIST_PATH, args: ['5'], walletJ: 500, role: 'scientist' });
  assert.equal(spawned.runtime, 'wasm');
  assert.equal(spawned.pid, null, 'a WASM agent is a thread, not a process');
  assert.equal(runtime.kindOf(agentId('wasm-sci')), 'wasm');
  // The leech's opening bid comes from the operator too (equal to its --bid): one that had not bid
  // within the daemon's start-up window would be paused for good on a slow machine.
  await daemon.spawnAgent({ id: 'leech', command: process.execPath, args: [LEECH, '--bid', '1'], walletJ: 3, role: 'leech', bid: { pricePerQuantumJ: 1 } });
  await until('the WASM scientist to bid, win and earn', () => {
    const a = daemon.agent(agentId('wasm-sci'));
    return a.connected && a.bid?.pricePerQuantumJ === 5 && a.quantaWon > 0 && a.verifiedPrimes > 0 && a.incomeJ > 0;
  });
  await until('the leech to die', () => daemon.agent(agentId('leech')).phase === 'dead');
  assert.equal(daemon.agent(agentId('leech')).ended?.reason, 'apoptosis');
  assert.equal(daemon.oracle.totals.composite, 0, 'the WASM scientist reports only primes');
  assert.ok(daemon.decisions(10_000).every((d) => d.agentId !== 'wasm-sci' || d.action !== 'kill'));
  assert.match(JSON.stringify(runtime.mechanisms), /wasm\.pause/);
  const stopped = await daemon.stopAgent(agentId('wasm-sci'));
  assert.equal(stopped.phase, 'dead');
  await close();
  const report = verifyLedger(config.ledger.path);
  assert.equal(report.ok, true, report.failure?.message);
});

test('a WASM agent is a thread of the daemon process: its CPU is not counted as daemon overhead', { skip: SKIP, timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'maxwell-daemon-rt-'));
  const { daemon, runtime, close } = await assembleDaemon(configIn(dir), { tag: 'drt3' });
  t.after(async () => {
    await close();
    rmSync(dir, { recursive: true, force: true });
  });
  await daemon.spawnAgent({ id: 'spin', runtime: 'wasm', command: await wasmFixture('busy'), walletJ: 5000, bid: { pricePerQuantumJ: 5 } });
  await until('two CPU-seconds of the spinning module, read by the daemon', () => daemon.records().some((r) => r.id === 'spin' && r.hostedCpuS > 2), 20_000);
  // CPU-seconds, not shares of the uptime: how much of a core the module got depends on the machine.
  const { overheadFraction, uptimeMs } = daemon.snapshot();
  const overheadCpuS = overheadFraction * (uptimeMs / 1000);
  const usage = await runtime.usage(agentId('spin'));
  t.diagnostic(`daemon overhead ${overheadCpuS.toFixed(2)} CPU-s while the module used ${usage.cpuS.toFixed(2)} CPU-s`);
  assert.match(usage.cpuSource, /worker thread utime \+ stime/);
  assert.ok(overheadCpuS < usage.cpuS / 2, `overhead ${overheadCpuS.toFixed(2)} CPU-s excludes the module's ${usage.cpuS.toFixed(2)} CPU-s`);
});

test('a VM scientist under the daemon speaks the protocol over its serial channel and is paid for verified primes', { skip: VM_DAEMON_SKIP, timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'maxwell-daemon-rt-'));
  const config = configIn(dir);
  const { daemon, runtime, close } = await assembleDaemon(config, { tag: 'drt2' });
  t.after(async () => {
    await close();
    rmSync(dir, { recursive: true, force: true });
  });
  const spawned = await daemon.spawnAgent({ id: 'vm-sci', runtime: 'vm', command: 'scientist', args: ['maxwell.bid=5', 'maxwell.start=1000'], walletJ: 500, role: 'scientist' });
  assert.equal(spawned.runtime, 'vm');
  assert.ok(spawned.pid !== null, 'its QEMU process');
  assert.equal(runtime.kindOf(agentId('vm-sci')), 'vm');
  await until('the VM scientist to bid, win and earn', () => {
    const a = daemon.agent(agentId('vm-sci'));
    return a.connected && a.bid?.pricePerQuantumJ === 5 && a.quantaWon > 0 && a.verifiedPrimes > 0 && a.incomeJ > 0;
  }, 90_000);
  assert.equal(daemon.oracle.totals.composite, 0);
  // A process spawn still works beside it, and an unknown kind is refused with a code.
  await assert.rejects(daemon.spawnAgent({ id: 'x', runtime: 'docker' as 'vm', command: 'x', walletJ: 1 }), { code: 'MXW_ERR_AGENT_SPEC' });
  await daemon.stopAgent(agentId('vm-sci'));
  assert.equal(daemon.agent(agentId('vm-sci')).phase, 'dead');
  await close();
  const report = verifyLedger(config.ledger.path);
  assert.equal(report.ok, true, report.failure?.message);
});
