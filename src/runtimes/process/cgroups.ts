/**
 * The cgroup hierarchies a process agent lives in, on whatever layout the machine has:
 * a hybrid machine (v1 controllers under /sys/fs/cgroup/<controller>, cgroup2 at
 * /sys/fs/cgroup/unified with no controller but `cgroup.freeze` and `cgroup.kill`, as on the
 * development VMs) or a pure cgroup v2 machine (controllers on the unified tree).
 *
 * Maxwell's groups are `<hierarchy>/maxwell/<instance>/<agent>` (or, under systemd with
 * `Delegate=yes`, `<the unit's cgroup>/maxwell/<instance>/<agent>`: delegation.ts), where the instance name
 * carries the owner's pid (`p<pid>-<tag>`), so that a later start can tell a crashed
 * owner's leftovers from a live neighbour's and sweep only the former.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { RuntimeSetupError } from '../../errors.js';

/** The hierarchies found, each `undefined` when absent. */
export interface CgroupLayout {
  /** cgroup2 directory that supports `cgroup.freeze` (unified or pure v2 root). */
  readonly v2?: string;
  /** Whether `v2` carries the cpu / cpuset / memory controllers (a pure v2 machine). */
  readonly v2Controllers: ReadonlySet<string>;
  readonly cpu?: string;
  readonly cpuacct?: string;
  readonly cpuset?: string;
  readonly memory?: string;
  readonly freezer?: string;
}

export type Hierarchy = 'v2' | 'cpu' | 'cpuacct' | 'cpuset' | 'memory' | 'freezer';

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Detects the cgroup layout under `root` (default `/sys/fs/cgroup`). */
export function detectCgroups(root = '/sys/fs/cgroup'): CgroupLayout {
  const v1 = (name: string): string | undefined => {
    const dir = join(root, name);
    return existsSync(join(dir, 'cgroup.procs')) && !existsSync(join(dir, 'cgroup.controllers')) ? realpathSync(dir) : undefined;
  };
  let v2: string | undefined;
  let controllers = new Set<string>();
  for (const candidate of [join(root, 'unified'), root]) {
    if (existsSync(join(candidate, 'cgroup.controllers'))) {
      v2 = candidate;
      controllers = new Set((read(join(candidate, 'cgroup.subtree_control')) ?? '').trim().split(/\s+/).filter((c) => c !== ''));
      for (const c of (read(join(candidate, 'cgroup.controllers')) ?? '').trim().split(/\s+/)) if (c !== '') controllers.add(c);
      break;
    }
  }
  const layout: { -readonly [K in keyof CgroupLayout]: CgroupLayout[K] } = { v2Controllers: controllers };
  if (v2 !== undefined) layout.v2 = v2;
  for (const name of ['cpu', 'cpuacct', 'cpuset', 'memory', 'freezer'] as const) {
    const dir = v1(name);
    if (dir !== undefined) layout[name] = dir;
  }
  return layout;
}

/** A cgroup's CPU counter file: cgroup v1 `cpuacct.usage` (ns) or cgroup2 `cpu.stat` (`usage_usec`). */
export interface CpuCounterFile {
  readonly path: string;
  readonly format: 'cpuacct.usage' | 'cpu.stat';
}

/**
 * The CPU counter of the cgroup process `pid` is in, from `/proc/PID/cgroup`; null when it has
 * none here, or when that cgroup's path does not end in `leaf` (the agent's own group: a counter
 * shared with other processes would count their CPU as the agent's).
 */
export function cgroupCpuCounter(pid: number, leaf: string, layout: CgroupLayout = detectCgroups(), procRoot = '/proc'): CpuCounterFile | null {
  const lines = (read(join(procRoot, String(pid), 'cgroup')) ?? '').split('\n');
  const own = (path: string | undefined): path is string => path !== undefined && path.split('/').at(-1) === leaf;
  if (layout.cpuacct !== undefined) {
    const path = lines.map((l) => l.split(':')).find((f) => (f[1] ?? '').split(',').includes('cpuacct'))?.[2];
    if (own(path)) return { path: join(layout.cpuacct, path, 'cpuacct.usage'), format: 'cpuacct.usage' };
  }
  if (layout.v2 !== undefined && layout.v2Controllers.has('cpu')) {
    const path = lines.find((l) => l.startsWith('0::'))?.slice(3);
    if (own(path)) return { path: join(layout.v2, path, 'cpu.stat'), format: 'cpu.stat' };
  }
  return null;
}

/** Seconds of CPU in a counter file's text (NaN when it does not parse). */
export function parseCpuCounter(text: string, format: CpuCounterFile['format']): number {
  if (format === 'cpuacct.usage') return Number(text.trim()) / 1e9;
  return Number(/usage_usec (\d+)/.exec(text)?.[1]) / 1e6;
}

/** Writes a cgroup control file, naming it in the error. */
export function writeControl(dir: string, file: string, value: string): void {
  try {
    writeFileSync(join(dir, file), value);
  } catch (err) {
    throw new RuntimeSetupError(`cannot write "${value.trim()}" to ${join(dir, file)}: ${(err as Error).message}`, { cause: err });
  }
}

export function readControl(dir: string, file: string): string | undefined {
  return read(join(dir, file));
}

/** The pids in a group (empty when it is gone). */
export function groupPids(dir: string): number[] {
  return (read(join(dir, 'cgroup.procs')) ?? '')
    .split('\n')
    .filter((l) => l !== '')
    .map(Number);
}

/** Creates a directory level, giving cpuset levels their parent's cpus and mems (else adding a task fails with ENOSPC). */
export function makeLevel(dir: string, hierarchy: Hierarchy, parent: string): void {
  if (!existsSync(dir)) mkdirSync(dir);
  if (hierarchy === 'cpuset') {
    for (const file of ['cpuset.cpus', 'cpuset.mems']) {
      if ((readControl(dir, file) ?? '').trim() === '') writeControl(dir, file, (readControl(parent, file) ?? '').trim());
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM';
  }
}

/**
 * Thaws, kills and removes a group and its children. The steps yield how long to wait before
 * the next try (the kernel takes a moment to empty a group, and to let go of it after its last
 * task exits), so that the same steps run blocking (`destroyGroup`) or without holding up the
 * event loop (`destroyGroupAsync`).
 */
function* destroySteps(dir: string, hierarchy: Hierarchy, killed: Set<number>): Generator<number, void> {
  if (!existsSync(dir)) return;
  for (const child of readdirSync(dir, { withFileTypes: true })) {
    if (child.isDirectory()) yield* destroySteps(join(dir, child.name), hierarchy, killed);
  }
  if (hierarchy === 'v2' && existsSync(join(dir, 'cgroup.freeze'))) writeQuietly(dir, 'cgroup.freeze', '0');
  if (hierarchy === 'freezer') writeQuietly(dir, 'freezer.state', 'THAWED');
  const deadline = Date.now() + 2000;
  for (;;) {
    const pids = groupPids(dir);
    if (pids.length === 0) break;
    if (hierarchy === 'v2' && existsSync(join(dir, 'cgroup.kill'))) writeQuietly(dir, 'cgroup.kill', '1');
    for (const pid of pids) {
      killed.add(pid);
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    if (Date.now() > deadline) throw new RuntimeSetupError(`cannot empty ${dir}: pids ${pids.join(', ')} remain`);
    yield 2;
  }
  for (let attempt = 0; ; attempt++) {
    try {
      rmdirSync(dir);
      return;
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') return;
      if (attempt > 200) throw new RuntimeSetupError(`cannot remove ${dir}: ${(err as Error).message}`, { cause: err });
      yield 5;
    }
  }
}

/** Thaws, kills and removes a group (and its children), blocking until it is gone; returns the pids it killed. */
export function destroyGroup(dir: string, hierarchy: Hierarchy): number[] {
  const killed = new Set<number>();
  for (const waitMs of destroySteps(dir, hierarchy, killed)) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, waitMs);
  return [...killed];
}

/**
 * `destroyGroup` that waits with timers: for an agent's exit, where the daemon's tick loop runs
 * (a group that took long to let go once held it up for a third of a second in the soak).
 */
export async function destroyGroupAsync(dir: string, hierarchy: Hierarchy): Promise<number[]> {
  const killed = new Set<number>();
  for (const waitMs of destroySteps(dir, hierarchy, killed)) await sleep(waitMs);
  return [...killed];
}

function writeQuietly(dir: string, file: string, value: string): void {
  try {
    writeFileSync(join(dir, file), value);
  } catch {
    // Best effort while tearing down.
  }
}

/** What a sweep cleaned. */
export interface SweepReport {
  readonly instances: readonly string[];
  readonly killedPids: readonly number[];
}

/**
 * Removes the groups of Maxwell instances whose owner is dead (a crash, a SIGKILL): thaws,
 * kills and removes them in every hierarchy, and under each of `delegatedParents`. Live
 * instances are left alone.
 */
export function sweepOrphans(layout: CgroupLayout, delegatedParents: readonly string[] = []): SweepReport {
  const instances = new Set<string>();
  const killed = new Set<number>();
  for (const { hierarchy, dir, name, ownerPid } of instanceGroups(layout, delegatedParents)) {
    if (ownerPid !== null && alive(ownerPid)) continue;
    instances.add(name);
    for (const pid of destroyGroup(dir, hierarchy)) killed.add(pid);
  }
  return { instances: [...instances], killedPids: [...killed] };
}

/** One daemon instance's group in one hierarchy: `<base>/maxwell/p<pid>-…`. */
export interface InstanceGroup {
  readonly hierarchy: Hierarchy;
  readonly dir: string;
  readonly name: string;
  /** The pid its name says owns it (null for a name that does not say). */
  readonly ownerPid: number | null;
}

/**
 * Every daemon instance's group under `maxwell/` in every hierarchy, and under each of
 * `delegatedParents` (a systemd unit's delegated cgroup holds the same tree one level down).
 */
export function instanceGroups(layout: CgroupLayout, delegatedParents: readonly string[] = []): InstanceGroup[] {
  const found: InstanceGroup[] = [];
  const places: [Hierarchy, string | undefined][] = [
    ...(['v2', 'cpu', 'cpuacct', 'cpuset', 'memory', 'freezer'] as const).map((h): [Hierarchy, string | undefined] => [h, layout[h]]),
    ...delegatedParents.map((dir): [Hierarchy, string] => ['v2', dir]),
  ];
  for (const [hierarchy, base] of places) {
    if (base === undefined) continue;
    const top = join(base, 'maxwell');
    if (!existsSync(top)) continue;
    for (const entry of readdirSync(top, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const owner = /^p(\d+)-/.exec(entry.name)?.[1];
      found.push({ hierarchy, dir: join(top, entry.name), name: entry.name, ownerPid: owner === undefined ? null : Number(owner) });
    }
  }
  return found;
}
