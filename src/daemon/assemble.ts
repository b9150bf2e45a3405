/**
 * Builds a daemon from configuration with the real parts this machine has: the agent runtimes
 * (processes in cgroups; WASM modules and QEMU VMs created on their first agent), the thermal state (sensors, or the twin driven by /proc/stat), and the best
 * entropy source available. Used by `maxwell run`, the experiment and the end-to-end tests.
 */
import { availableParallelism } from 'node:os';
import type { MaxwellConfig } from '../config/schema.js';
import { RuntimeSetupError } from '../errors.js';
import { selectEntropySource } from '../entropy/ebpf/select.js';
import { ProcEntropyEstimate } from '../entropy/proc-estimate.js';
import type { EntropySource } from '../market/entropy.js';
import { CompositeRuntime } from '../runtimes/composite.js';
import { ProcessRuntime } from '../runtimes/process/process-runtime.js';
import { VmRuntime } from '../runtimes/vm/vm-runtime.js';
import { WasmRuntime } from '../runtimes/wasm/wasm-runtime.js';
import { Daemon, type DaemonMode } from './daemon.js';
import { ThermalState, ownCpuS } from './thermal.js';

export interface AssembleOptions {
  readonly mode?: DaemonMode;
  /** Distinguishes this daemon's cgroups from another's. @default 'mxd' */
  readonly tag?: string;
  /** The entropy source; default: the best this machine offers (eBPF → bpftrace → /proc estimate). */
  readonly entropy?: EntropySource;
  /** Where /sys is searched for temperature and energy sensors (tests pass a captured tree). @default '/' */
  readonly sensorsRoot?: string;
}

export interface Assembled {
  readonly daemon: Daemon;
  readonly runtime: CompositeRuntime;
  readonly thermal: ThermalState;
  /** Which entropy source feeds the Landauer tax, and why that one. */
  readonly entropySource: string;
  /** Maxwell's own CPU time so far, s: this process (getrusage) and the entropy source's helper processes. */
  readonly maxwellCpuS: () => number;
  /** Stops the daemon, then the thermal state and the runtime (which removes its cgroups). */
  readonly close: () => Promise<void>;
}

export async function assembleDaemon(config: Readonly<MaxwellConfig>, options: AssembleOptions = {}): Promise<Assembled> {
  if (process.getuid?.() !== 0) {
    throw new RuntimeSetupError('the daemon runs every agent in its own cgroups (freeze, CPU accounting, cpuset), which needs root here: run it with sudo (e.g. sudo npm start)');
  }
  const tag = options.tag ?? 'mxd';
  const runtime = await CompositeRuntime.create({
    process: () => ProcessRuntime.create({ tag }),
    wasm: () => Promise.resolve(new WasmRuntime()),
    vm: () => VmRuntime.create({ tag: `${tag}-vm` }),
  });
  let thermal: ThermalState | undefined;
  // The entropy source is chosen after the thermal state starts; its helpers' CPU is Maxwell's.
  let entropyHelpers: () => number = () => 0;
  const maxwellCpuS = (): number => ownCpuS() + entropyHelpers();
  try {
    // The twin models this machine's own cores: one plane per CPU the kernel schedules on.
    thermal = await ThermalState.start({
      twin: { ...config.twin, cores: availableParallelism(), gpu: false },
      setpointC: config.control.setpointC,
      criticalC: config.daemon.criticalC,
      rateHz: config.daemon.rateHz,
      foreignHeat: { policy: config.control.foreignHeat, managedCpu: () => runtime.managedCpu(), maxwellCpuS },
      ...(options.sensorsRoot === undefined ? {} : { sensorsRoot: options.sensorsRoot }),
    });
    let entropy = options.entropy;
    let entropySource = 'given by the caller';
    if (entropy === undefined) {
      const selection = await selectEntropySource({ estimated: () => new ProcEntropyEstimate() });
      entropy = selection.source;
      entropySource = `${selection.backend}: ${selection.reason}`;
    }
    const chosen = entropy;
    entropyHelpers = () => chosen.helperCpuS?.() ?? 0;
    const daemon = await Daemon.start({ config, mode: options.mode ?? 'market', runtime, thermal, entropy });
    const started = thermal;
    return {
      daemon,
      runtime,
      thermal: started,
      entropySource,
      maxwellCpuS,
      close: async () => {
        // Whatever fails on the way, the agents are stopped and the cgroups removed.
        try {
          await daemon.stop();
        } finally {
          await started.stop();
          await runtime.close();
        }
      },
    };
  } catch (err) {
    await thermal?.stop();
    await runtime.close();
    throw err;
  }
}
