/**
 * Process agents in their own cgroups.
 *
 * Each agent's command starts under a tiny shell that writes its own pid into every cgroup
 * of the agent and then `exec`s the command, so the agent — and every child it forks — is
 * inside its groups before it runs a single instruction of its own. The best mechanism
 * present is used for each job and reported in `mechanisms`:
 *
 * - pause: cgroup2 `cgroup.freeze` (confirmed by `cgroup.events`), else the v1 freezer
 *   (confirmed by `freezer.state`), else SIGSTOP to the process group (confirmed by every
 *   task showing `T`); a freeze not confirmed in time falls back to SIGSTOP;
 * - CPU share: CFS quota (v1 `cpu.cfs_quota_us`, or v2 `cpu.max`); pinning: cpuset;
 *   memory cap: v1 `memory.limit_in_bytes` or v2 `memory.max`;
 * - CPU time: v1 `cpuacct.usage` (ns) or v2 `cpu.stat`.
 */
import type { AgentId } from '../../agent-id.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { createMonotonicClock, type Clock } from '../../clock/clock.js';
import { seconds } from '../../units/units.js';
import { AgentTable, type StopOptions, type TableEntry } from '../agent-table.js';
import { AgentSpecError, AgentStartError, AgentStateError, RuntimeSetupError } from '../../errors.js';
import type { AgentExit, AgentInfo, AgentRuntime, AgentSpec, AgentUsage, ManagedCpu, PauseMechanism, PauseOptions, PauseResult, StartOptions } from '../runtime.js';
import { detectCgroups, destroyGroup, destroyGroupAsync, groupPids, makeLevel, readControl, sweepOrphans, writeControl, type CgroupLayout, type Hierarchy, type SweepReport } from './cgroups.js';
import type { CgroupParent } from './cgroup-parent.js';
import { takeOverDelegatedUnit } from './delegation.js';
import { confirmFrozen, confirmStopped, confirmThawed } from './confirm.js';
import { RepeatingTask } from '../../internal/repeating-task.js';

export interface ProcessRuntimeOptions {
  /** @default '/sys/fs/cgroup' */
  readonly cgroupRoot?: string;
  /** Distinguishes runtimes of one process in cgroup names. @default 'rt' */
  readonly tag?: string;
  /** Force a pause mechanism (research); default: the best present. */
  readonly pauseMechanism?: Exclude<PauseMechanism, 'qmp-stop' | 'fuel'>;
  /** How long a freeze may take to be confirmed before falling back to SIGSTOP, ms. @default 100 */
  readonly confirmTimeoutMs?: number;
  /** A start that exits non-zero within this time is a failed start, ms. @default 150 */
  readonly startupGraceMs?: number;
  /** CFS period for CPU shares, µs. @default 100000 */
  readonly cfsPeriodUs?: number;
  /**
   * Where the agents' cgroups live on cgroup v2: under the hierarchy's root (`root`), or inside
   * the systemd unit that runs this process, delegated to it (`delegated`: pure v2 and
   * `Delegate=yes` only; delegation.ts). @default 'root'
   */
  readonly cgroupParent?: CgroupParent;
  readonly clock?: Clock;
}

export type { CgroupParent } from './cgroup-parent.js';

/** Exit status of the launcher shell when the agent cannot join its cgroups. */
/** `/proc/PID/stat` flags: the task is exiting (include/linux/sched.h). */
const PF_EXITING = 0x4;
const JOIN_FAILED_EXIT = 121;
const LAUNCHER = `for f in $MXW_CGROUP_PROCS; do echo $$ > "$f" || exit ${JOIN_FAILED_EXIT}; done; unset MXW_CGROUP_PROCS; exec "$@"`;
/** How often the runtime checks that no agent has left its cgroups, ms. */
const ESCAPE_CHECK_MS = 250;
const STDERR_TAIL_BYTES = 4096;

interface Agent extends TableEntry {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly dirs: Partial<Record<Hierarchy, string>>;
  pausedBy: PauseMechanism | null;
  stderrTail: string;
  /** Set once the agent was seen inside all its groups; only then can it "escape". */
  joined: boolean;
  /** Its usage read while paused: a frozen group's counters stand still, so it is read once per pause. */
  pausedUsage: AgentUsage | null;
}

let instanceCounter = 0;

export class ProcessRuntime implements AgentRuntime {
  readonly kind = 'process' as const;
  readonly mechanisms: Readonly<Record<string, string>>;
  /** What the start-up sweep cleaned up after a crashed owner. */
  readonly sweep: SweepReport;
  readonly #layout: CgroupLayout;
  /** The directory that holds `maxwell/<instance>` on cgroup v2: the root, or the delegated unit. */
  readonly #v2Parent: string | undefined;
  readonly #instanceDirs: Partial<Record<Hierarchy, string>>;
  readonly #options: Required<Omit<ProcessRuntimeOptions, 'pauseMechanism' | 'clock' | 'cgroupParent'>> & { pauseMechanism: PauseMechanism };
  readonly #clock: Clock;
  readonly #agents: AgentTable<Agent>;
  /** Groups of ended agents being removed (close() waits for them). */
  readonly #removals = new Set<Promise<unknown>>();

  private constructor(layout: CgroupLayout, v2Parent: string | undefined, sweep: SweepReport, options: ProcessRuntimeOptions) {
    this.#layout = layout;
    this.#v2Parent = v2Parent;
    this.sweep = sweep;
    this.#clock = options.clock ?? createMonotonicClock();
    this.#agents = new AgentTable<Agent>(this.#clock, {
      pid: (agent) => agent.pid,
      askToStop: (agent) => this.#askToStop(agent),
      kill: (agent) => {
        this.#kill(agent);
        return Promise.resolve();
      },
    });
    const freeze = v2FreezeSupported(v2Parent);
    const best: PauseMechanism = freeze ? 'cgroup2-freeze' : layout.freezer !== undefined ? 'cgroup1-freezer' : 'sigstop';
    const pauseMechanism = options.pauseMechanism ?? best;
    if (pauseMechanism === 'cgroup2-freeze' && best !== 'cgroup2-freeze') throw new RuntimeSetupError('cgroup2 freeze is not available on this machine');
    if (pauseMechanism === 'cgroup1-freezer' && layout.freezer === undefined) throw new RuntimeSetupError('the cgroup v1 freezer is not mounted');
    this.#options = {
      cgroupRoot: options.cgroupRoot ?? '/sys/fs/cgroup',
      tag: options.tag ?? 'rt',
      confirmTimeoutMs: options.confirmTimeoutMs ?? 100,
      startupGraceMs: options.startupGraceMs ?? 150,
      cfsPeriodUs: options.cfsPeriodUs ?? 100_000,
      pauseMechanism,
    };
    const v2 = layout.v2Controllers;
    this.mechanisms = {
      pause: pauseMechanism,
      kill: freeze ? 'cgroup2 cgroup.kill' : 'SIGKILL to every pid of the group',
      cpuShare: v2.has('cpu') ? 'cgroup2 cpu.max' : layout.cpu !== undefined ? 'cgroup v1 CFS quota' : 'none',
      pin: v2.has('cpuset') ? 'cgroup2 cpuset' : layout.cpuset !== undefined ? 'cgroup v1 cpuset' : 'none',
      memory: v2.has('memory') ? 'cgroup2 memory.max' : layout.memory !== undefined ? 'cgroup v1 memory.limit_in_bytes' : 'none',
      cpuTime: layout.cpuacct !== undefined ? 'cgroup v1 cpuacct.usage (ns)' : layout.v2 !== undefined ? 'cgroup2 cpu.stat (µs)' : '/proc/PID/stat (10 ms ticks)',
    };
    this.#instanceDirs = this.#createInstance();
  }

  /**
   * Detects the cgroup layout, sweeps up after crashed owners, and creates this runtime's
   * groups. Throws `MXW_ERR_RUNTIME_SETUP` without root or cgroups.
   */
  static create(options: ProcessRuntimeOptions = {}): Promise<ProcessRuntime> {
    const layout = detectCgroups(options.cgroupRoot);
    if (layout.v2 === undefined && layout.cpuacct === undefined && layout.freezer === undefined) {
      return Promise.reject(new RuntimeSetupError(`no usable cgroup hierarchy under ${options.cgroupRoot ?? '/sys/fs/cgroup'}`));
    }
    try {
      const v2Parent = options.cgroupParent === 'delegated' ? takeOverDelegatedUnit(layout, options.cgroupRoot ?? '/sys/fs/cgroup') : layout.v2;
      const sweep = sweepOrphans(layout, v2Parent === layout.v2 || v2Parent === undefined ? [] : [v2Parent]);
      return Promise.resolve(new ProcessRuntime(layout, v2Parent, sweep, options));
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  #hierarchies(): Hierarchy[] {
    const l = this.#layout;
    const out: Hierarchy[] = [];
    if (l.v2 !== undefined) out.push('v2');
    if (l.cpu !== undefined && !l.v2Controllers.has('cpu')) out.push('cpu');
    if (l.cpuacct !== undefined && l.cpuacct !== l.cpu) out.push('cpuacct');
    if (l.cpuset !== undefined && !l.v2Controllers.has('cpuset')) out.push('cpuset');
    if (l.memory !== undefined && !l.v2Controllers.has('memory')) out.push('memory');
    if (l.freezer !== undefined && this.#options.pauseMechanism === 'cgroup1-freezer') out.push('freezer');
    return out;
  }

  #createInstance(): Partial<Record<Hierarchy, string>> {
    const name = `p${process.pid}-${this.#options.tag}${instanceCounter++}`;
    const dirs: Partial<Record<Hierarchy, string>> = {};
    for (const h of this.#hierarchies()) {
      const base = h === 'v2' ? this.#v2Parent : this.#layout[h];
      if (base === undefined) continue;
      const top = join(base, 'maxwell');
      makeLevel(top, h, base);
      const dir = join(top, name);
      makeLevel(dir, h, top);
      if (h === 'v2' && this.#layout.v2Controllers.size > 0) {
        // A pure v2 machine: hand the controllers down to the agents' level.
        const wanted = ['cpu', 'cpuset', 'memory'].filter((c) => this.#layout.v2Controllers.has(c)).map((c) => `+${c}`).join(' ');
        if (wanted !== '') {
          // The parent too: a controller is enabled level by level from the root down, and systemd
          // enables at the root only what its own units use (no cpuset, often no cpu): ENOENT otherwise.
          // (Delegated, the parent is the unit, whose controllers delegation.ts has enabled.)
          writeControl(base, 'cgroup.subtree_control', wanted);
          writeControl(top, 'cgroup.subtree_control', wanted);
          writeControl(dir, 'cgroup.subtree_control', wanted);
        }
      }
      dirs[h] = dir;
    }
    return dirs;
  }

  #validate(spec: AgentSpec): void {
    this.#agents.checkSpec(spec);
    const cpus = availableParallelism();
    if (spec.cpuShare !== undefined && !(spec.cpuShare >= 0.01 && spec.cpuShare <= cpus)) {
      throw new AgentSpecError(`agent "${spec.id}": cpuShare must be in [0.01, ${cpus}], got ${String(spec.cpuShare)}`);
    }
    if (spec.runAs !== undefined && !(Number.isInteger(spec.runAs.uid) && spec.runAs.uid >= 0 && Number.isInteger(spec.runAs.gid) && spec.runAs.gid >= 0)) {
      throw new AgentSpecError(`agent "${spec.id}": runAs needs integer uid and gid ≥ 0`);
    }
    if (spec.memoryLimitBytes !== undefined && !(spec.memoryLimitBytes >= 4 * 2 ** 20)) {
      throw new AgentSpecError(`agent "${spec.id}": memoryLimitBytes must be at least 4 MiB`);
    }
    for (const core of spec.cores ?? []) {
      if (!Number.isInteger(core) || core < 0 || core >= cpus) throw new AgentSpecError(`agent "${spec.id}": no CPU ${String(core)} (this machine has 0–${cpus - 1})`);
    }
  }

  async start(spec: AgentSpec, options: StartOptions = {}): Promise<AgentInfo> {
    this.#validate(spec);
    options.signal?.throwIfAborted();
    const dirs: Partial<Record<Hierarchy, string>> = {};
    for (const [h, parent] of Object.entries(this.#instanceDirs) as [Hierarchy, string][]) {
      const dir = join(parent, spec.id);
      makeLevel(dir, h, parent);
      dirs[h] = dir;
    }
    try {
      this.#applyLimits(dirs, spec);
      await options.beforeExec?.(Object.values(dirs));
      options.signal?.throwIfAborted();
    } catch (err) {
      for (const [h, dir] of Object.entries(dirs) as [Hierarchy, string][]) destroyGroup(dir, h);
      throw err;
    }
    const procs = Object.values(dirs).map((d) => join(d, 'cgroup.procs')).join(' ');
    // Privileges are dropped only after the cgroups are joined (joining needs root).
    const drop = spec.runAs === undefined ? [] : ['/usr/bin/setpriv', `--reuid=${spec.runAs.uid}`, `--regid=${spec.runAs.gid}`, '--clear-groups', '--'];
    const child = spawn('/bin/sh', ['-c', LAUNCHER, 'maxwell-agent', ...drop, spec.command, ...(spec.args ?? [])], {
      env: { ...process.env, ...spec.env, MXW_CGROUP_PROCS: procs },
      cwd: spec.cwd,
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const pid = child.pid;
    if (pid === undefined) {
      for (const [h, dir] of Object.entries(dirs) as [Hierarchy, string][]) destroyGroup(dir, h);
      throw new AgentStartError(`agent "${spec.id}": cannot spawn ${spec.command}`);
    }
    const agent = this.#agents.entry(spec, { child, pid, dirs, pausedBy: null, stderrTail: '', joined: false, pausedUsage: null });
    child.stderr.on('data', (chunk: Buffer) => {
      agent.stderrTail = (agent.stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES);
    });
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL' && agent.stopReason === null && this.#oomKilled(agent)) agent.stopReason = 'out-of-memory';
      // The agent is its main process: whatever it forked goes with it. Its exit is reported at once (nothing may
      // pause, pin or signal it after its pid was reaped); its groups are removed without holding up the event
      // loop, and close() waits for that.
      this.#agents.end(agent, code, signal, code === JOIN_FAILED_EXIT ? 'failed-to-start' : 'exited');
      const removal = Promise.all((Object.entries(agent.dirs) as [Hierarchy, string][]).map(([h, dir]) => destroyGroupAsync(dir, h).catch(() => undefined /* close() removes what is left */)));
      this.#removals.add(removal);
      void removal.finally(() => this.#removals.delete(removal));
    });
    this.#agents.add(agent);
    this.#watchEscapes();

    // A command that fails at once is a failed start, with its status and stderr.
    const early = await Promise.race([agent.exited, this.#clock.sleep(seconds(this.#options.startupGraceMs / 1000)).then(() => null)]);
    if (early !== null && (early.code !== 0 || early.signal !== null)) {
      this.#agents.forget(spec.id);
      const why =
        early.reason === 'out-of-memory'
          ? 'killed at once by the OOM killer (memory cap too low)'
          : early.code === JOIN_FAILED_EXIT
            ? 'could not join its cgroups'
            : early.code === 127
              ? 'command not found'
              : `exited at once with ${early.signal ?? `code ${String(early.code)}`}`;
      throw new AgentStartError(`agent "${spec.id}": ${why}${agent.stderrTail.trim() === '' ? '' : `: ${agent.stderrTail.trim().split('\n').slice(-3).join(' | ')}`}`);
    }
    return this.info(spec.id);
  }

  readonly #escapeWatch = new RepeatingTask({
    name: 'cgroup escape watch',
    everyMs: ESCAPE_CHECK_MS,
    run: () => {
      // A paused agent was checked just before it was frozen or stopped, and a frozen process
      // cannot move itself: only the running few are read (each is a read of /proc, and with
      // a thousand agents reading them all blocked the tick loop for tens of milliseconds).
      for (const agent of this.#agents.values()) if (agent.state !== 'paused') this.#checkEscape(agent);
    },
  });

  /** Whether the kernel's OOM killer acted in the agent's memory group. */
  #oomKilled(agent: Agent): boolean {
    const dir = agent.dirs.memory ?? (this.#layout.v2Controllers.has('memory') ? agent.dirs.v2 : undefined);
    if (dir === undefined) return false;
    const v1 = agent.dirs.memory !== undefined;
    const text = readControl(dir, v1 ? 'memory.oom_control' : 'memory.events') ?? '';
    if (Number(/^oom_kill (\d+)/m.exec(text)?.[1] ?? 0) > 0) return true;
    // The oom_kill counter can lag the victim's exit; hitting the limit is recorded first.
    const hits = v1 ? Number(readControl(dir, 'memory.failcnt') ?? 0) : Number(/^max (\d+)/m.exec(text)?.[1] ?? 0);
    return hits > 0;
  }

  /**
   * An agent running as root can write its pid into another cgroup. The runtime checks every
   * 250 ms that each running agent's main process is still in its group (and every agent
   * before it is paused), and kills one that left: it would otherwise run unpaused, unmetered
   * and unlimited.
   */
  #watchEscapes(): void {
    this.#escapeWatch.start();
  }

  /** Returns true (and kills the agent) when its main process has left any of its cgroups after joining them. */
  #checkEscape(agent: Agent): boolean {
    if (agent.state === 'exited') return false;
    let text: string;
    try {
      text = readFileSync(`/proc/${agent.pid}/cgroup`, 'utf8');
    } catch {
      return false; // exited
    }
    // "hierarchy-id:controllers:path"; cgroup2 is "0::path".
    const paths = new Map<string, string>();
    for (const line of text.split('\n')) {
      const [, controllers, path] = line.split(':');
      if (path === undefined || controllers === undefined) continue;
      if (controllers === '') paths.set('v2', path);
      for (const c of controllers.split(',')) paths.set(c, path);
    }
    const outside = (Object.entries(agent.dirs) as [Hierarchy, string][]).some(([h, dir]) => {
      const base = this.#layout[h];
      const actual = paths.get(h);
      return base !== undefined && actual !== undefined && !dir.endsWith(actual);
    });
    if (!agent.joined) {
      // While the launcher shell still runs, "outside" only means "not in yet"; once it has
      // exec'd the command it has joined every group (a failed join exits instead).
      try {
        agent.joined = !readFileSync(`/proc/${agent.pid}/cmdline`, 'latin1').includes('MXW_CGROUP_PROCS');
      } catch {
        return false;
      }
    }
    if (!outside || !agent.joined || agent.stopReason !== null) return false;
    // An exiting task leaves its cgroups before its parent hears of it: that is not an escape.
    // It leaves them in do_exit, after PF_EXITING is set and before it is a zombie (an agent
    // the OOM killer took was once reported as escaped in that window), so the flag counts too.
    try {
      const stat = readFileSync(`/proc/${agent.pid}/stat`, 'latin1');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const state = fields[0] ?? '';
      const flags = Number(fields[6] ?? 0);
      if (state === 'Z' || state === 'X' || (flags & PF_EXITING) !== 0) return false;
    } catch {
      return false;
    }
    agent.stopReason = 'escaped-cgroup';
    try {
      process.kill(agent.pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
    for (const [h, d] of Object.entries(agent.dirs) as [Hierarchy, string][]) destroyGroup(d, h);
    return true;
  }

  #applyLimits(dirs: Partial<Record<Hierarchy, string>>, spec: AgentSpec): void {
    if (spec.cores !== undefined) this.#writePin(dirs, spec.cores);
    if (spec.cpuShare !== undefined) this.#writeShare(dirs, spec.cpuShare);
    if (spec.memoryLimitBytes !== undefined) {
      const bytes = String(Math.floor(spec.memoryLimitBytes));
      if (dirs.memory !== undefined) writeControl(dirs.memory, 'memory.limit_in_bytes', bytes);
      else if (dirs.v2 !== undefined && this.#layout.v2Controllers.has('memory')) writeControl(dirs.v2, 'memory.max', bytes);
      else throw new RuntimeSetupError('no memory controller to cap memory with');
    }
  }

  #writeShare(dirs: Partial<Record<Hierarchy, string>>, share: number | null): void {
    const period = this.#options.cfsPeriodUs;
    // The kernel refuses quotas below 1 ms.
    const quota = share === null ? null : Math.max(1000, Math.round(share * period));
    if (dirs.cpu !== undefined) {
      writeControl(dirs.cpu, 'cpu.cfs_period_us', String(period));
      writeControl(dirs.cpu, 'cpu.cfs_quota_us', quota === null ? '-1' : String(quota));
    } else if (dirs.v2 !== undefined && this.#layout.v2Controllers.has('cpu')) {
      writeControl(dirs.v2, 'cpu.max', `${quota === null ? 'max' : String(quota)} ${period}`);
    } else {
      throw new RuntimeSetupError('no CPU controller to set a share with');
    }
  }

  #writePin(dirs: Partial<Record<Hierarchy, string>>, cores: readonly number[] | null): void {
    const dir = dirs.cpuset ?? (this.#layout.v2Controllers.has('cpuset') ? dirs.v2 : undefined);
    if (dir === undefined) throw new RuntimeSetupError('no cpuset controller to pin with');
    const all = `0-${availableParallelism() - 1}`;
    writeControl(dir, 'cpuset.cpus', cores === null || cores.length === 0 ? all : cores.join(','));
  }

  async pause(id: AgentId, options: PauseOptions = {}): Promise<PauseResult> {
    const agent = this.#agents.live(id);
    if (agent.state === 'paused') return { latencyMs: 0, mechanism: agent.pausedBy ?? this.#options.pauseMechanism, confirmed: true };
    options.signal?.throwIfAborted();
    if (this.#checkEscape(agent)) throw new AgentStateError(`agent "${id}" left its cgroups and was killed`);
    const t0 = this.#clock.now();
    const mechanism = this.#options.pauseMechanism;
    let used: PauseMechanism = mechanism;
    let confirmed = false;
    const confirm = options.confirm ?? true;
    let requested = false;
    if (mechanism === 'cgroup2-freeze' && agent.dirs.v2 !== undefined) {
      writeControl(agent.dirs.v2, 'cgroup.freeze', '1');
      requested = true;
      confirmed = confirm && (await confirmFrozen(agent.dirs.v2, 'v2', this.#options.confirmTimeoutMs));
    } else if (mechanism === 'cgroup1-freezer' && agent.dirs.freezer !== undefined) {
      writeControl(agent.dirs.freezer, 'freezer.state', 'FROZEN');
      requested = true;
      confirmed = confirm && (await confirmFrozen(agent.dirs.freezer, 'freezer', this.#options.confirmTimeoutMs));
    }
    if (!confirmed && !(requested && !confirm)) {
      // Not confirmed in time (or SIGSTOP chosen): stop the whole process group.
      used = 'sigstop';
      process.kill(-agent.pid, 'SIGSTOP');
      confirmed = await confirmStopped(this.#pidsOf(agent), this.#options.confirmTimeoutMs);
    }
    agent.state = 'paused';
    agent.pausedBy = used;
    return { latencyMs: (this.#clock.now() - t0) * 1000, mechanism: used, confirmed };
  }

  async resume(id: AgentId, options: PauseOptions = {}): Promise<void> {
    const agent = this.#agents.get(id);
    if (agent.state !== 'paused') return;
    await this.#thaw(agent, options.confirm ?? true);
    agent.state = 'running';
    agent.pausedBy = null;
    agent.pausedUsage = null;
  }

  async #thaw(agent: Agent, confirm = true): Promise<void> {
    if (agent.dirs.v2 !== undefined && hasFreeze(agent.dirs.v2)) {
      writeControl(agent.dirs.v2, 'cgroup.freeze', '0');
      if (confirm) await confirmThawed(agent.dirs.v2, 'v2', this.#options.confirmTimeoutMs);
    }
    if (agent.dirs.freezer !== undefined) {
      writeControl(agent.dirs.freezer, 'freezer.state', 'THAWED');
      if (confirm) await confirmThawed(agent.dirs.freezer, 'freezer', this.#options.confirmTimeoutMs);
    }
    if (agent.pausedBy === 'sigstop') {
      try {
        process.kill(-agent.pid, 'SIGCONT');
      } catch {
        // The group may be gone.
      }
    }
  }

  #pidsOf(agent: Agent): number[] {
    const dir = agent.dirs.v2 ?? agent.dirs.cpuacct ?? agent.dirs.cpu;
    const pids = dir === undefined ? [] : groupPids(dir);
    return pids.length > 0 ? pids : [agent.pid];
  }

  setCpuShare(id: AgentId, share: number | null): Promise<void> {
    const agent = this.#agents.get(id);
    if (share !== null && !(share >= 0.01 && share <= availableParallelism())) {
      return Promise.reject(new AgentSpecError(`cpuShare must be in [0.01, ${availableParallelism()}], got ${String(share)}`));
    }
    this.#writeShare(agent.dirs, share);
    return Promise.resolve();
  }

  pin(id: AgentId, cores: readonly number[] | null): Promise<void> {
    const agent = this.#agents.get(id);
    for (const core of cores ?? []) {
      if (!Number.isInteger(core) || core < 0 || core >= availableParallelism()) return Promise.reject(new AgentSpecError(`no CPU ${String(core)}`));
    }
    this.#writePin(agent.dirs, cores);
    return Promise.resolve();
  }

  /** The instance cgroup's CPU counter: every agent this runtime started, ended ones included. */
  managedCpu(): ManagedCpu | null {
    const d = this.#instanceDirs;
    if (d.cpuacct !== undefined) {
      const totalS = Number(readControl(d.cpuacct, 'cpuacct.usage')) / 1e9;
      const perCpu = (readControl(d.cpuacct, 'cpuacct.usage_percpu') ?? '').trim().split(/\s+/).map((ns) => Number(ns) / 1e9);
      if (!Number.isFinite(totalS)) return null;
      return { totalS, perCpuS: perCpu.length > 0 && perCpu.every(Number.isFinite) ? Float64Array.from(perCpu) : null };
    }
    if (d.v2 !== undefined && this.#layout.v2Controllers.has('cpu')) {
      const totalS = Number(/usage_usec (\d+)/.exec(readControl(d.v2, 'cpu.stat') ?? '')?.[1]) / 1e6;
      return Number.isFinite(totalS) ? { totalS, perCpuS: null } : null;
    }
    return null;
  }

  usage(id: AgentId): Promise<AgentUsage> {
    const agent = this.#agents.get(id);
    // Read once per pause: the meter asks for every agent every second, and with a thousand
    // agents, nearly all paused, reading three files each held the tick loop up (the soak).
    if (agent.state === 'paused' && agent.pausedUsage !== null) return Promise.resolve(agent.pausedUsage);
    const usage = this.#readUsage(agent);
    if (agent.state === 'paused') agent.pausedUsage = usage;
    return Promise.resolve(usage);
  }

  #readUsage(agent: Agent): AgentUsage {
    const d = agent.dirs;
    let cpuS = Number.NaN;
    if (d.cpuacct !== undefined) cpuS = Number(readControl(d.cpuacct, 'cpuacct.usage')) / 1e9;
    else if (d.v2 !== undefined) cpuS = Number(/usage_usec (\d+)/.exec(readControl(d.v2, 'cpu.stat') ?? '')?.[1]) / 1e6;
    let memoryBytes = Number.NaN;
    let minorFaults = Number.NaN;
    let majorFaults = Number.NaN;
    const memoryDir = d.memory ?? (this.#layout.v2Controllers.has('memory') ? d.v2 : undefined);
    if (memoryDir !== undefined) {
      memoryBytes = Number(readControl(memoryDir, d.memory !== undefined ? 'memory.usage_in_bytes' : 'memory.current'));
      const stat = readControl(memoryDir, 'memory.stat') ?? '';
      minorFaults = Number(/^(?:total_)?pgfault (\d+)/m.exec(stat)?.[1]);
      majorFaults = Number(/^(?:total_)?pgmajfault (\d+)/m.exec(stat)?.[1]);
    }
    if (!Number.isFinite(minorFaults)) {
      // Without a memory cgroup, add up the group's processes.
      minorFaults = 0;
      majorFaults = 0;
      for (const pid of this.#pidsOf(agent)) {
        try {
          const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
          minorFaults += Number(fields[7]);
          majorFaults += Number(fields[9]);
        } catch {
          // Exited meanwhile.
        }
      }
    }
    return { cpuS, memoryBytes, minorFaults, majorFaults, cpuSource: this.mechanisms['cpuTime'] ?? 'unknown' };
  }

  /** A frozen or stopped task cannot act on SIGTERM: thaw first. */
  async #askToStop(agent: Agent): Promise<void> {
    if (agent.state === 'paused') await this.#thaw(agent);
    try {
      process.kill(-agent.pid, 'SIGTERM');
    } catch {
      // Already gone.
    }
  }

  #kill(agent: Agent): void {
    for (const [h, dir] of Object.entries(agent.dirs) as [Hierarchy, string][]) destroyGroup(dir, h);
    try {
      process.kill(-agent.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }

  stop(id: AgentId, options?: StopOptions): Promise<AgentExit> {
    return this.#agents.stop(id, options);
  }

  info(id: AgentId): AgentInfo {
    return this.#agents.info(id);
  }

  list(): readonly AgentInfo[] {
    return this.#agents.list();
  }

  forgetEnded(id: AgentId): void {
    this.#agents.forgetEnded(id);
  }

  onExit(listener: (exit: AgentExit) => void): void {
    this.#agents.onExit(listener);
  }

  async close(): Promise<void> {
    if (this.#agents.closed) return;
    await this.#escapeWatch.stop();
    await this.#agents.close(1);
    await Promise.allSettled([...this.#removals]);
    for (const [h, dir] of Object.entries(this.#instanceDirs) as [Hierarchy, string][]) destroyGroup(dir, h);
  }
}

function hasFreeze(dir: string): boolean {
  return readControl(dir, 'cgroup.freeze') !== undefined;
}

/** The root group has no cgroup.freeze; Maxwell's own top-level group (under the root or the delegated unit) tells whether the kernel has it (5.2+). */
function v2FreezeSupported(v2Parent: string | undefined): boolean {
  if (v2Parent === undefined) return false;
  const top = join(v2Parent, 'maxwell');
  makeLevel(top, 'v2', v2Parent);
  return hasFreeze(top);
}
