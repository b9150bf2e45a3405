/**
 * VM agents: a QEMU guest per agent, paused and resumed through QMP (`stop`, `cont`,
 * confirmed by `query-status`). The QEMU process itself runs as a process agent (cgroups), so
 * CPU share, pinning, memory cap, usage, the escape watchdog and the crash sweep apply to it
 * unchanged. On these machines `/dev/kvm` runs only PVM guests, so QEMU uses TCG (software
 * emulation): slow guest CPU, real pause semantics.
 *
 * The guest (scripts/build-vm-guest.sh) runs the program named by `spec.command` (passed as
 * `maxwell.mode=` on the kernel command line) and talks to the host over its second serial
 * port, a Unix socket here: it says `READY <mode>` when up and `EXIT <code>` before powering
 * off; the host may send `stop`. `spec.args` are appended to the kernel command line.
 *
 * Agent protocol: when `spec.env` carries `MAXWELL_SOCKET`, `MAXWELL_TOKEN` and
 * `MAXWELL_AGENT_ID` (what `ProtocolServer.addAgent` returns), the guest gets a third serial
 * port. A guest that says `READY <mode> protocol` has it connected by QEMU to that socket (QMP
 * `chardev-change`) and then receives `TOKEN <agentId> <token>` on the control channel; its
 * frames reach the daemon unchanged. The token never appears on a command line
 * (protocol-channel.ts says why each step is done this way).
 */
import type { AgentId } from '../../agent-id.js';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMonotonicClock, type AbortOptions, type Clock } from '../../clock/clock.js';
import { seconds } from '../../units/units.js';
import { AgentTable, type StopOptions, type TableEntry } from '../agent-table.js';
import { AgentSpecError, AgentStartError, RuntimeSetupError, toError } from '../../errors.js';
import { ProcessRuntime, type CgroupParent } from '../process/process-runtime.js';
import type { AgentExit, AgentInfo, AgentRuntime, AgentSpec, AgentUsage, ManagedCpu, PauseResult, StartOptions } from '../runtime.js';
import { connectProtocolPort, protocolEndpointOf, protocolPortArgs, tokenLine } from './protocol-channel.js';
import { QmpClient } from './qmp.js';

/**
 * `.maxwell/vm` in the repository (from `dist/src/runtimes/vm/`), where `scripts/build-vm-guest.sh`
 * puts the guest: found from this module, whatever the working directory.
 */
export const VM_GUEST_DIR = fileURLToPath(new URL('../../../../.maxwell/vm/', import.meta.url));
/** The guest kernel and initramfs that `scripts/build-vm-guest.sh` builds. */
export const DEFAULT_VM_GUEST = { kernel: `${VM_GUEST_DIR}vmlinuz`, initrd: `${VM_GUEST_DIR}initramfs.gz` } as const;

export interface VmRuntimeOptions {
  /** Guest kernel and initramfs. @default {@link DEFAULT_VM_GUEST}: .maxwell/vm/{vmlinuz,initramfs.gz} in the repository */
  readonly kernel?: string;
  readonly initrd?: string;
  /** @default 'qemu-system-x86_64' */
  readonly qemu?: string;
  /** Guest memory, MiB. @default 256 */
  readonly memoryMiB?: number;
  /** How long a guest may take to say READY, ms. @default 60000 */
  readonly bootTimeoutMs?: number;
  /** Distinguishes this runtime's cgroups. @default 'vm' */
  readonly tag?: string;
  /** Where the QEMU processes' cgroups live (the process runtime's option). @default 'root' */
  readonly cgroupParent?: CgroupParent;
  /** Handed on to the process runtime the QEMU processes run in, so both wait on one clock. */
  readonly clock?: Clock;
}

interface Vm extends TableEntry {
  readonly dir: string;
  readonly qmp: QmpClient;
  readonly channel: Socket;
  guestExitCode: number | null;
}

type Settings = Required<Omit<VmRuntimeOptions, 'clock' | 'cgroupParent'>>;

function withDefaults(options: VmRuntimeOptions): Settings {
  return {
    kernel: options.kernel ?? DEFAULT_VM_GUEST.kernel,
    initrd: options.initrd ?? DEFAULT_VM_GUEST.initrd,
    qemu: options.qemu ?? 'qemu-system-x86_64',
    memoryMiB: options.memoryMiB ?? 256,
    bootTimeoutMs: options.bootTimeoutMs ?? 60_000,
    tag: options.tag ?? 'vm',
  };
}

/** After READY, a guest that exits within this time failed to start (e.g. an unknown program). */
const GUEST_GRACE_MS = 300;

async function waitForFile(path: string, timeoutMs: number, clock: Clock): Promise<boolean> {
  const deadline = clock.now() + timeoutMs / 1000;
  while (clock.now() < deadline) {
    if (existsSync(path)) return true;
    await clock.sleep(seconds(0.01));
  }
  return existsSync(path);
}

export class VmRuntime implements AgentRuntime {
  readonly kind = 'vm' as const;
  readonly mechanisms: Readonly<Record<string, string>>;
  readonly #processes: ProcessRuntime;
  readonly #options: Settings;
  readonly #clock: Clock;
  readonly #vms: AgentTable<Vm>;
  readonly #exitHandlers = new Map<string, (exit: AgentExit) => void>();

  private constructor(processes: ProcessRuntime, options: Settings, clock: Clock) {
    this.#processes = processes;
    processes.onExit((e) => this.#exitHandlers.get(e.id)?.(e));
    this.#options = options;
    this.#clock = clock;
    this.#vms = new AgentTable<Vm>(clock, {
      pid: (vm) => this.#processes.info(vm.spec.id).pid,
      askToStop: async (vm) => {
        // A stopped guest cannot read the stop line.
        if (vm.state === 'paused') await this.resume(vm.spec.id).catch(() => undefined);
        vm.channel.write('stop\n');
      },
      kill: async (vm) => {
        await this.#processes.stop(vm.spec.id, { graceS: 0.5 });
      },
    });
    this.mechanisms = {
      pause: 'QMP stop / cont, confirmed by query-status',
      accelerator: 'TCG (software emulation)',
      cpuShare: `${processes.mechanisms['cpuShare'] ?? 'none'} on the QEMU process`,
      pin: `${processes.mechanisms['pin'] ?? 'none'} on the QEMU process`,
      memory: `guest RAM ${options.memoryMiB} MiB; ${processes.mechanisms['memory'] ?? 'none'} on the QEMU process`,
      cpuTime: `${processes.mechanisms['cpuTime'] ?? 'unknown'} of the QEMU process (emulation included)`,
      protocol: 'guest ttyS2 bridged by QEMU to the agent socket; token over the control channel',
    };
  }

  /** What stops VM agents from running here (no QEMU, no guest), in words; null when nothing does. */
  static missing(options: VmRuntimeOptions = {}): string | null {
    const full = withDefaults(options);
    for (const [what, path] of [['kernel', full.kernel], ['initramfs', full.initrd]] as const) {
      if (!existsSync(path)) return `no guest ${what} at ${path}: run scripts/build-vm-guest.sh`;
    }
    const found = full.qemu.includes('/') ? existsSync(full.qemu) : (process.env['PATH'] ?? '').split(':').some((dir) => dir !== '' && existsSync(join(dir, full.qemu)));
    return found ? null : `${full.qemu} is not installed (apt-get install qemu-system-x86)`;
  }

  /** Checks for QEMU and the guest, and sets up the process runtime the VMs run in. Throws `MXW_ERR_RUNTIME_SETUP`. */
  static async create(options: VmRuntimeOptions = {}): Promise<VmRuntime> {
    const full = withDefaults(options);
    const missing = VmRuntime.missing(full);
    if (missing !== null) throw new RuntimeSetupError(missing);
    const clock = options.clock ?? createMonotonicClock();
    const processes = await ProcessRuntime.create({ tag: full.tag, startupGraceMs: 50, clock, ...(options.cgroupParent === undefined ? {} : { cgroupParent: options.cgroupParent }) });
    return new VmRuntime(processes, full, clock);
  }

  async start(spec: AgentSpec, options: StartOptions = {}): Promise<AgentInfo> {
    this.#vms.checkSpec(spec, 'command (the guest program)');
    if (/\s/.test(spec.command)) {
      throw new AgentSpecError(`agent "${spec.id}": command (the guest program) must be one word`);
    }
    const endpoint = protocolEndpointOf(spec);
    options.signal?.throwIfAborted();
    const dir = mkdtempSync(join(tmpdir(), `maxwell-vm-${spec.id}-`));
    const channelPath = join(dir, 'agent.sock');
    const qmpPath = join(dir, 'qmp.sock');
    const append = ['console=ttyS0', 'quiet', 'panic=-1', `maxwell.mode=${spec.command}`, ...(spec.args ?? [])].join(' ');
    const o = this.#options;
    const qemuArgs = [
      '-accel', 'tcg', '-cpu', 'max', '-smp', '1', '-m', String(o.memoryMiB), '-display', 'none', '-vga', 'none', '-no-reboot', '-monitor', 'none',
      '-kernel', o.kernel, '-initrd', o.initrd, '-append', append,
      '-serial', `file:${join(dir, 'console.log')}`,
      '-chardev', `socket,id=agent,path=${channelPath},server=on,wait=off`, '-serial', 'chardev:agent',
      '-qmp', `unix:${qmpPath},server=on,wait=off`,
      ...(endpoint === null ? [] : protocolPortArgs()),
    ];
    const cleanup = (): void => {
      rmSync(dir, { recursive: true, force: true });
    };
    try {
      await this.#processes.start({
        id: spec.id,
        command: o.qemu,
        args: qemuArgs,
        ...(spec.cpuShare === undefined ? {} : { cpuShare: spec.cpuShare }),
        ...(spec.cores === undefined ? {} : { cores: spec.cores }),
        ...(spec.memoryLimitBytes === undefined ? {} : { memoryLimitBytes: spec.memoryLimitBytes }),
      }, options.beforeExec === undefined ? {} : { beforeExec: options.beforeExec });
    } catch (err) {
      cleanup();
      throw err;
    }
    const fail = async (why: string): Promise<never> => {
      await this.#processes.stop(spec.id, { graceS: 0.5 }).catch(() => undefined);
      const console = existsSync(join(dir, 'console.log')) ? readFileSync(join(dir, 'console.log'), 'utf8').trim().split('\n').slice(-3).join(' | ') : '';
      cleanup();
      throw new AgentStartError(`agent "${spec.id}": ${why}${console === '' ? '' : `; console: ${console}`}`);
    };
    if (!(await waitForFile(channelPath, 5000, this.#clock)) || !(await waitForFile(qmpPath, 5000, this.#clock))) return fail('QEMU did not open its sockets');
    let qmp: QmpClient;
    try {
      qmp = await QmpClient.connect(qmpPath);
    } catch (err) {
      return fail((err as Error).message);
    }
    const channel = connect(channelPath);
    channel.setEncoding('utf8');
    const vm = this.#vms.entry(spec, { dir, qmp, channel, guestExitCode: null });
    let ready: ((words: string[]) => void) | null = null;
    const readyPromise = new Promise<string[]>((resolve) => { ready = resolve; });
    let buffer = '';
    channel.on('data', (chunk: string) => {
      buffer = (buffer + chunk).slice(-65536);
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (line.startsWith('READY')) ready?.(line.split(/\s+/).slice(1));
        const exit = /^EXIT (\d+)$/.exec(line);
        if (exit?.[1] !== undefined) vm.guestExitCode = Number(exit[1]);
      }
    });
    channel.on('error', () => undefined);
    // One listener on the process runtime (registered in the constructor) dispatches here.
    this.#exitHandlers.set(spec.id, (e) => {
      this.#exitHandlers.delete(spec.id);
      qmp.close();
      channel.destroy();
      cleanup();
      this.#vms.end(vm, vm.guestExitCode ?? e.code, e.signal, e.reason);
    });
    this.#vms.add(vm);
    const bootTimer = new AbortController();
    let readyWords: string[] = [];
    const booted = await Promise.race([
      readyPromise.then((words) => {
        readyWords = words;
        return 'ready' as const;
      }),
      vm.exited.then(() => 'exited' as const),
      this.#clock.sleep(seconds(o.bootTimeoutMs / 1000), { signal: bootTimer.signal }).then(
        () => 'timeout' as const,
        () => 'exited' as const,
      ),
    ]);
    // The boot timer must not hold the process open for a minute after a quick boot.
    bootTimer.abort();
    if (booted !== 'ready') {
      this.#vms.forget(spec.id);
      return fail(booted === 'timeout' ? `the guest did not boot within ${o.bootTimeoutMs / 1000} s` : 'QEMU exited before the guest booted');
    }
    // `READY <mode> protocol`: the guest will speak the protocol on ttyS2 once it has its token.
    if (endpoint !== null && readyWords.includes('protocol')) {
      try {
        await connectProtocolPort(qmp, endpoint);
      } catch (err) {
        this.#vms.forget(spec.id);
        return fail(`cannot connect the protocol channel to ${endpoint.socketPath}: ${toError(err).message}`);
      }
      channel.write(tokenLine(endpoint));
    }
    const early = await Promise.race([vm.exited, this.#clock.sleep(seconds(GUEST_GRACE_MS / 1000)).then(() => null)]);
    if (early !== null && early.code !== 0) {
      this.#vms.forget(spec.id);
      throw new AgentStartError(`agent "${spec.id}": the guest program "${spec.command}" exited at once with code ${String(early.code)}`);
    }
    return this.info(spec.id);
  }

  async pause(id: AgentId, options: AbortOptions = {}): Promise<PauseResult> {
    const vm = this.#vms.live(id);
    options.signal?.throwIfAborted();
    const t0 = this.#clock.now();
    await vm.qmp.execute('stop');
    const status = (await vm.qmp.execute('query-status')) as { running?: boolean; status?: string };
    vm.state = 'paused';
    return { latencyMs: (this.#clock.now() - t0) * 1000, mechanism: 'qmp-stop', confirmed: status.running === false };
  }

  async resume(id: AgentId): Promise<void> {
    const vm = this.#vms.get(id);
    if (vm.state !== 'paused') return;
    await vm.qmp.execute('cont');
    vm.state = 'running';
  }

  setCpuShare(id: AgentId, share: number | null): Promise<void> {
    this.#vms.get(id);
    return this.#processes.setCpuShare(id, share);
  }

  pin(id: AgentId, cores: readonly number[] | null): Promise<void> {
    this.#vms.get(id);
    return this.#processes.pin(id, cores);
  }

  /** The QEMU processes' cgroups: a guest's CPU is its QEMU process's. */
  managedCpu(): ManagedCpu | null {
    return this.#processes.managedCpu();
  }

  usage(id: AgentId): Promise<AgentUsage> {
    this.#vms.get(id);
    return this.#processes.usage(id);
  }

  stop(id: AgentId, options?: StopOptions): Promise<AgentExit> {
    return this.#vms.stop(id, options);
  }

  info(id: AgentId): AgentInfo {
    return this.#vms.info(id);
  }

  list(): readonly AgentInfo[] {
    return this.#vms.list();
  }

  forgetEnded(id: AgentId): void {
    this.#vms.forgetEnded(id);
  }

  onExit(listener: (exit: AgentExit) => void): void {
    this.#vms.onExit(listener);
  }

  async close(): Promise<void> {
    if (this.#vms.closed) return;
    await this.#vms.close(2);
    await this.#processes.close();
  }
}
