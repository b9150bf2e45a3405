import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { detectCgroups } from '../../src/runtimes/process/cgroups.js';
import { ProcessRuntime } from '../../src/runtimes/process/process-runtime.js';
import type { AgentRuntime, AgentSpec } from '../../src/runtimes/runtime.js';
import { agentRuntimeCompliance } from '../compliance/agent-runtime.js';
import { repoPath } from '../helpers/repo.js';
import { until } from '../helpers/wait.js';
import { agentId } from '../helpers/agent-id.js';

const isRoot = process.getuid?.() === 0;
const layout = detectCgroups();
const SKIP = !isRoot ? 'needs root to create cgroups' : layout.cpuacct === undefined && layout.v2 === undefined ? 'no cgroups on this machine' : false;
const node = process.execPath;

// The SIGTERM handlers are shell traps, not Node's process.on: Node catches SIGTERM from its
// first instant (to restore the terminal), so /proc would not tell when a script's own handler is
// in place. A shell catches it only once `trap` ran. (Its `sleep` gets the signal too, and ends.)
const agents = {
  busy: (id: string): AgentSpec => ({ id: agentId(id), command: node, args: ['-e', 'for(;;){}'] }),
  exitsWith3: (id: string): AgentSpec => ({ id: agentId(id), command: node, args: ['-e', 'setTimeout(() => process.exit(3), 300)'] }),
  graceful: (id: string): AgentSpec => ({ id: agentId(id), command: '/bin/sh', args: ['-c', "trap 'exit 0' TERM; while :; do sleep 1; done"] }),
  stubborn: (id: string): AgentSpec => ({ id: agentId(id), command: '/bin/sh', args: ['-c', "trap ':' TERM; while :; do sleep 1; done"] }),
};

/** SIGTERM's bit (1 << (15 − 1)) in the masks of /proc/<pid>/status. */
const SIGTERM_BIT = 0x4000n;

/** Whether process `pid` has a handler for SIGTERM installed (`SigCgt` in /proc/<pid>/status). */
function catchesSigterm(pid: number): boolean {
  try {
    const mask = /^SigCgt:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${String(pid)}/status`, 'utf8'))?.[1];
    return mask !== undefined && (BigInt(`0x${mask}`) & SIGTERM_BIT) !== 0n;
  } catch {
    return false;
  }
}

/** Resolves once the agent's process catches SIGTERM, so a stop cannot beat its handler. */
function stoppable(runtime: AgentRuntime, id: string): Promise<void> {
  const pid = runtime.info(agentId(id)).pid;
  assert.ok(pid !== null, `${id} has a pid`);
  return until(`${id} to install its SIGTERM handler`, () => catchesSigterm(pid));
}

let tags = 0;
for (const mechanism of ['cgroup2-freeze', 'cgroup1-freezer', 'sigstop'] as const) {
  const present = mechanism === 'sigstop' || (mechanism === 'cgroup1-freezer' ? layout.freezer !== undefined : layout.v2 !== undefined);
  agentRuntimeCompliance({
    name: `process runtime (${mechanism})`,
    create: () => ProcessRuntime.create({ pauseMechanism: mechanism, tag: `t${tags++}` }),
    agents,
    stoppable,
    skip: SKIP === false && !present ? `${mechanism} is not available here` : SKIP,
  });
}

/** Alive and not a zombie (this sandbox's init may not reap reparented children at once). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

test('process runtime reports the mechanisms it found', { skip: SKIP }, async () => {
  const runtime = await ProcessRuntime.create({ tag: 'mech' });
  try {
    assert.equal(runtime.mechanisms['pause'], layout.v2 !== undefined ? 'cgroup2-freeze' : 'cgroup1-freezer');
    assert.ok(runtime.mechanisms['cpuTime']?.includes('cgroup'));
  } finally {
    await runtime.close();
  }
});

test('children an agent forks stay in its cgroups and go with it (1,000 of them)', { skip: SKIP, timeout: 240_000 }, async () => {
  const runtime = await ProcessRuntime.create({ tag: 'fork' });
  try {
    await runtime.start({ id: agentId('forker'), command: '/bin/sh', args: ['-c', 'i=0; while [ $i -lt 1000 ]; do sleep 300 & i=$((i+1)); done; wait'] });
    const dir = join(layout.v2 ?? layout.cpuacct ?? '', 'maxwell');
    let pids: number[] = [];
    // Forking 1,000 processes on 2 busy vCPUs can take a while (37 s in the TCG guest): wait while
    // the count still grows, and give up only after 10 s without a new process.
    for (let grewAt = performance.now(); pids.length < 1001 && performance.now() - grewAt < 10_000; ) {
      await sleep(50);
      const now = findGroupPids(dir, 'forker');
      if (now.length > pids.length) grewAt = performance.now();
      pids = now;
    }
    assert.ok(pids.length >= 1001, `${pids.length} processes in the agent's group`);
    const exit = await runtime.stop(agentId('forker'), { graceS: 1 });
    assert.ok(['stopped', 'killed-after-grace'].includes(exit.reason));
    await until('every forked child to be gone', () => pids.filter(alive).length === 0);
  } finally {
    await runtime.close();
  }
});

/** This process's group of `agent` in the hierarchy mounted at `base`: `<base>/maxwell/<instance>/<agent>`. */
function agentGroup(base: string, agent: string): string {
  const top = join(base, 'maxwell');
  const instance = readdirSync(top).find((d) => d.startsWith(`p${String(process.pid)}-`) && existsSync(join(top, d, agent)));
  assert.ok(instance !== undefined, `a group for ${agent} under ${top}`);
  return join(top, instance, agent);
}

function findGroupPids(top: string, agent: string): number[] {
  for (const instance of readdirSync(top)) {
    const procs = join(top, instance, agent, 'cgroup.procs');
    if (existsSync(procs)) return readFileSync(procs, 'utf8').split('\n').filter((l) => l !== '').map(Number);
  }
  return [];
}

test('a CPU share caps the agent (CFS quota), measured by cpuacct', { skip: SKIP || (layout.cpu === undefined && !layout.v2Controllers.has('cpu') ? 'no cpu controller' : false) }, async () => {
  const runtime = await ProcessRuntime.create({ tag: 'share' });
  try {
    await runtime.start({ ...agents.busy('capped'), cpuShare: 0.25 });
    // The quota as the kernel holds it ("<quota> <period>" in µs), and how often it held the agent back.
    const v1 = layout.cpu !== undefined && !layout.v2Controllers.has('cpu');
    const group = agentGroup((v1 ? layout.cpu : layout.v2) ?? '', 'capped');
    const control = (file: string): string => readFileSync(join(group, file), 'utf8').trim();
    const quota = (): string => (v1 ? `${control('cpu.cfs_quota_us')} ${control('cpu.cfs_period_us')}` : control('cpu.max'));
    const throttled = (): number => Number(/^nr_throttled (\d+)$/m.exec(control('cpu.stat'))?.[1] ?? 0);
    const cpuS = async (): Promise<number> => (await runtime.usage(agentId('capped'))).cpuS;
    assert.equal(quota(), '25000 100000');
    // The cap is in force: the kernel throttles the agent once it has used its quarter of a period.
    await until('the kernel to throttle the capped agent', () => throttled() > 0);
    // And it never gets more than its share (however little a busy machine leaves it).
    const before = await cpuS();
    const t0 = performance.now();
    await sleep(1500);
    const share = ((await cpuS()) - before) / ((performance.now() - t0) / 1000);
    assert.ok(share < 0.35, `measured share ${share.toFixed(3)} for a 0.25 cap`);
    await runtime.setCpuShare(agentId('capped'), null);
    assert.equal(quota(), v1 ? '-1 100000' : 'max 100000');
    // Lifted: it runs past what the cap would have allowed since (a quarter of the time, plus one period's quota).
    const lifted = await cpuS();
    const liftedAt = performance.now();
    await until('the agent to run past its former cap', async () => (await cpuS()) - lifted > 0.25 * ((performance.now() - liftedAt) / 1000) + 0.1);
    await assert.rejects(runtime.setCpuShare(agentId('capped'), 0), { code: 'MXW_ERR_AGENT_SPEC' });
  } finally {
    await runtime.close();
  }
});

// The v1 cpuset hierarchy, or the unified one on a pure cgroup v2 machine (where it used to skip).
test('pinning writes the cpuset and refuses CPUs that do not exist', { skip: SKIP || (layout.cpuset === undefined && !layout.v2Controllers.has('cpuset') ? 'no cpuset' : false) }, async () => {
  const runtime = await ProcessRuntime.create({ tag: 'pin' });
  try {
    await runtime.start({ ...agents.busy('pinned'), cores: [0] });
    const dir = join(layout.cpuset ?? layout.v2 ?? '', 'maxwell');
    const instance = readdirSync(dir).find((d) => existsSync(join(dir, d, 'pinned')));
    assert.equal(readFileSync(join(dir, instance ?? '', 'pinned', 'cpuset.cpus'), 'utf8').trim(), '0');
    await runtime.pin(agentId('pinned'), null);
    assert.notEqual(readFileSync(join(dir, instance ?? '', 'pinned', 'cpuset.cpus'), 'utf8').trim(), '0');
    await assert.rejects(runtime.pin(agentId('pinned'), [4096]), { code: 'MXW_ERR_AGENT_SPEC' });
  } finally {
    await runtime.close();
  }
});

test('a memory cap is enforced: an agent that grows past it is OOM-killed and reported', { skip: SKIP || (layout.memory === undefined && !layout.v2Controllers.has('memory') ? 'no memory controller' : false) }, async () => {
  const runtime = await ProcessRuntime.create({ tag: 'mem' });
  const exits: string[] = [];
  runtime.onExit((e) => exits.push(`${e.id}:${String(e.signal)}:${e.reason}`));
  try {
    const grow = 'setTimeout(() => { const keep = []; setInterval(() => keep.push(Buffer.alloc(8 << 20, 1)), 10); }, 300)';
    await runtime.start({ id: agentId('hog'), command: node, args: ['-e', grow], memoryLimitBytes: 64 * 2 ** 20 });
    await until('the OOM kill', () => exits.length > 0);
    assert.deepEqual(exits, ['hog:SIGKILL:out-of-memory']);
    // At once (within the start-up grace): a failed start that says why.
    const patient = await ProcessRuntime.create({ tag: 'mem2', startupGraceMs: 5000 });
    try {
      await assert.rejects(
        patient.start({ id: agentId('hog2'), command: node, args: [repoPath('dist/src/agents/churner.js'), '--hold-mb', '512'], memoryLimitBytes: 64 * 2 ** 20 }),
        (err: Error & { code?: string }) => err.code === 'MXW_ERR_AGENT_START' && /OOM/.test(err.message),
      );
    } finally {
      await patient.close();
    }
  } finally {
    await runtime.close();
  }
});

test('an agent running as root that moves itself out of its cgroups is killed; an unprivileged one cannot move', { skip: SKIP || (layout.v2 === undefined ? 'no cgroup2' : false) }, async () => {
  const runtime = await ProcessRuntime.create({ tag: 'esc' });
  const exits: string[] = [];
  runtime.onExit((e) => exits.push(`${e.id}:${e.reason}`));
  const escape = `echo $$ > ${join(layout.v2 ?? '', 'cgroup.procs')} 2>/dev/null; sleep 300`;
  try {
    await runtime.start({ id: agentId('rootesc'), command: '/bin/sh', args: ['-c', escape] });
    await runtime.start({ id: agentId('nobody'), command: '/bin/sh', args: ['-c', escape], runAs: { uid: 65534, gid: 65534 } });
    await until('the escapee to be killed', () => exits.length > 0);
    assert.deepEqual(exits, ['rootesc:escaped-cgroup']);
    assert.equal(runtime.info(agentId('nobody')).state, 'running');
    assert.ok((await runtime.pause(agentId('nobody'))).confirmed);
  } finally {
    await runtime.close();
  }
});

test('after the host is SIGKILLed mid-run, the next start sweeps its agents and cgroups away', { skip: SKIP }, async () => {
  const script = `
    const { ProcessRuntime } = await import(${JSON.stringify(repoPath('dist/src/runtimes/process/process-runtime.js'))});
    const rt = await ProcessRuntime.create({ tag: 'crash' });
    const a = await rt.start({ id: 'orphan', command: process.execPath, args: ['-e', 'for(;;){}'] });
    await rt.pause('orphan');
    process.stdout.write(JSON.stringify({ pid: a.pid, host: process.pid }) + '\\n');
    setInterval(() => {}, 1000);`;
  const host = spawn(node, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve) => host.stdout.once('data', (d: Buffer) => { resolve(d.toString()); }));
  const { pid, host: hostPid } = JSON.parse(line) as { pid: number; host: number };
  host.kill('SIGKILL');
  await new Promise((r) => host.once('exit', r));
  assert.ok(alive(pid), 'the orphaned agent outlived its host (frozen)');
  const runtime = await ProcessRuntime.create({ tag: 'after' });
  try {
    assert.ok(runtime.sweep.instances.some((i) => i.startsWith(`p${hostPid}-`)), `swept ${runtime.sweep.instances.join(', ')}`);
    assert.ok(runtime.sweep.killedPids.includes(pid));
    await until('the orphan to be gone', () => !alive(pid));
    for (const base of [layout.v2, layout.cpuacct, layout.cpu, layout.cpuset, layout.memory]) {
      if (base === undefined) continue;
      const top = join(base, 'maxwell');
      if (existsSync(top)) assert.ok(!readdirSync(top).some((d) => d.startsWith(`p${hostPid}-`)), `no leftover in ${top}`);
    }
  } finally {
    await runtime.close();
  }
});

test('close() leaves no cgroup of this runtime behind', { skip: SKIP }, async () => {
  const runtime = await ProcessRuntime.create({ tag: 'tidy' });
  await runtime.start(agents.busy('a'));
  await runtime.pause(agentId('a'));
  await runtime.close();
  for (const base of [layout.v2, layout.cpuacct, layout.cpu, layout.cpuset]) {
    if (base === undefined) continue;
    const top = join(base, 'maxwell');
    if (existsSync(top)) assert.ok(!readdirSync(top).some((d) => d.startsWith(`p${process.pid}-tidy`)), `leftover in ${top}`);
  }
});

test('an unconfirmed pause (the market’s routine turns) requests the freeze and returns; the agent does stop running', { skip: SKIP || (layout.freezer === undefined && layout.v2 === undefined ? 'no freezer' : false) }, async () => {
  const runtime = await ProcessRuntime.create({ tag: 'uncf' });
  try {
    await runtime.start(agents.busy('spinner'));
    await sleep(200);
    const result = await runtime.pause(agentId('spinner'), { confirm: false });
    assert.equal(result.confirmed, false);
    assert.notEqual(result.mechanism, 'sigstop', 'no SIGSTOP fallback without confirmation');
    assert.equal(runtime.info(agentId('spinner')).state, 'paused');
    await sleep(100);
    const before = (await runtime.usage(agentId('spinner'))).cpuS;
    await sleep(300);
    assert.ok((await runtime.usage(agentId('spinner'))).cpuS - before < 0.01, 'frozen: no CPU time while paused');
    await runtime.resume(agentId('spinner'), { confirm: false });
    await until('the spinner to run again after resume', async () => (await runtime.usage(agentId('spinner'))).cpuS - before > 0.1, 10_000);
  } finally {
    await runtime.close();
  }
});
