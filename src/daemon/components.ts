/**
 * The composition root: the one place that builds the daemon's real parts from configuration
 * and starts and stops them in one order (`lifecycle.ts`):
 *
 *   runtimes → thermal state → entropy source → ledger → protocol server → session → fleet gossip → tick loop
 *
 * and on stop the reverse: the loop stops ticking, the agents are stopped and settled, the
 * sockets close, the ledger closes, the entropy source and the thermal readers stop, and the
 * runtimes remove their cgroups. A part that fails to stop does not keep the others from it.
 *
 * The runtimes are processes in cgroups (WASM modules and QEMU VMs created on their first
 * agent), the thermal state is the sensors or the twin driven by /proc/stat, and the entropy
 * source is the best this machine has. Used by `maxwell run`, the experiment and the
 * end-to-end tests.
 */
import { availableParallelism } from 'node:os';
import { createMonotonicClock } from '../clock/clock.js';
import type { MaxwellConfig } from '../config/schema.js';
import { RuntimeSetupError } from '../errors.js';
import { selectEntropySource } from '../entropy/ebpf/select.js';
import { ProcEntropyEstimate } from '../entropy/proc-estimate.js';
import { Ledger } from '../ledger/ledger.js';
import type { EntropySource } from '../market/entropy.js';
import { ProtocolServer } from '../protocol/server.js';
import { CompositeRuntime } from '../runtimes/composite.js';
import { ProcessRuntime } from '../runtimes/process/process-runtime.js';
import { cgroupCpuCounter } from '../runtimes/process/cgroups.js';
import { VmRuntime } from '../runtimes/vm/vm-runtime.js';
import { WasmRuntime } from '../runtimes/wasm/wasm-runtime.js';
import { policyFor, type SessionMode } from '../session/policy.js';
import { MarketSession } from '../session/session.js';
import { Daemon } from './daemon.js';
import { Enforcer } from './enforcer.js';
import { Lifecycle } from './lifecycle.js';
import { ThermalState, ownCpuS } from '../heat-price/thermal.js';
import { FleetLink } from '../fleet/fleet-link.js';
import { InferenceService } from '../verification/service/inference-service.js';
import { ClaimVerifier, loadClaimModel, type ClaimVerifierOptions } from '../verification/service/claim-verifier.js';
import type { ClaimModel } from '../verification/trace/claim-model.js';

export interface AssembleOptions {
  readonly mode?: SessionMode;
  /** Distinguishes this daemon's cgroups from another's. @default 'mxd' */
  readonly tag?: string;
  /** The entropy source; default: the best this machine offers (eBPF → bpftrace → /proc estimate). */
  readonly entropy?: EntropySource;
  /** Where /sys is searched for temperature and energy sensors (tests pass a captured tree). @default '/' */
  readonly sensorsRoot?: string;
  /** The claim model (null: plain rules only); default: the one `verification.model` names, if it is there. */
  readonly claimModel?: ClaimModel | null;
  /** Every window the claim verifier judges (the research job's measurements). */
  readonly onClaimWindow?: ClaimVerifierOptions['onWindow'];
  /** Every passive window's features (the research job's in-daemon references). */
  readonly onPassiveFeatures?: ClaimVerifierOptions['onPassiveFeatures'];
}

export interface Assembled {
  readonly daemon: Daemon;
  readonly runtime: CompositeRuntime;
  readonly thermal: ThermalState;
  /** Which entropy source feeds the Landauer tax, and why that one. */
  readonly entropySource: string;
  /** Maxwell's own CPU time so far, s: this process (getrusage) and the entropy source's helper processes. */
  readonly maxwellCpuS: () => number;
  /** The parts running now, in start order (all of them once started, none once closed). */
  readonly running: () => readonly string[];
  /** Stops every part in reverse order of start; idempotent. */
  readonly close: () => Promise<void>;
}

/** Builds and starts a daemon with the real parts this machine has; on a failure, undoes what started. */
export async function assembleDaemon(config: Readonly<MaxwellConfig>, options: AssembleOptions = {}): Promise<Assembled> {
  if (process.getuid?.() !== 0) {
    throw new RuntimeSetupError('the daemon runs every agent in its own cgroups (freeze, CPU accounting, cpuset), which needs root here: run it with sudo (e.g. sudo npm start)');
  }
  const tag = options.tag ?? 'mxd';
  const clock = createMonotonicClock();
  let runtime: CompositeRuntime | undefined;
  let thermal: ThermalState | undefined;
  let entropy: EntropySource | undefined;
  let entropySource = 'given by the caller';
  let ledger: Ledger | undefined;
  let protocol: ProtocolServer | undefined;
  let daemon: Daemon | undefined;
  let inference: InferenceService | undefined;
  let fleet: FleetLink | undefined;
  const maxwellCpuS = (): number => ownCpuS() + (entropy?.helperCpuS?.() ?? 0);
  const need = <T>(part: T | undefined, name: string): T => {
    if (part === undefined) throw new RuntimeSetupError(`${name} is not started`);
    return part;
  };

  const lifecycle = new Lifecycle([
    {
      name: 'runtimes',
      start: async () => {
        runtime = await CompositeRuntime.create({
          process: () => ProcessRuntime.create({ tag }),
          wasm: () => Promise.resolve(new WasmRuntime()),
          vm: () => VmRuntime.create({ tag: `${tag}-vm` }),
        });
      },
      stop: () => runtime?.close(),
    },
    {
      name: 'thermal state',
      start: async () => {
        const agents = need(runtime, 'runtimes');
        // The twin models this machine's own cores: one plane per CPU the kernel schedules on.
        thermal = await ThermalState.start({
          twin: { ...config.twin, cores: availableParallelism(), gpu: false },
          setpointC: config.control.setpointC,
          criticalC: config.daemon.criticalC,
          rateHz: config.daemon.rateHz,
          ...(config.daemon.twinDrive === 'agents'
            ? { agentCpu: () => agents.managedCpu() }
            : { foreignHeat: { policy: config.control.foreignHeat, managedCpu: () => agents.managedCpu(), maxwellCpuS } }),
          ...(options.sensorsRoot === undefined ? {} : { sensorsRoot: options.sensorsRoot }),
        });
      },
      stop: () => thermal?.stop(),
    },
    {
      name: 'entropy source',
      start: async () => {
        if (options.entropy !== undefined) {
          entropy = options.entropy;
          return;
        }
        const selection = await selectEntropySource({ estimated: () => new ProcEntropyEstimate() });
        entropy = selection.source;
        entropySource = `${selection.backend}: ${selection.reason}`;
      },
      stop: () => entropy?.close(),
    },
    {
      name: 'ledger',
      start: () => {
        ledger = Ledger.open(config.ledger);
      },
      stop: () => ledger?.close(),
    },
    {
      name: 'protocol server',
      start: () => {
        protocol = new ProtocolServer({ runtimeDir: config.daemon.runtimeDir, limits: config.protocol });
      },
      stop: () => protocol?.close(),
    },
    {
      name: 'session',
      start: () => {
        const agents = need(runtime, 'runtimes');
        const heat = need(thermal, 'thermal state');
        const sockets = need(protocol, 'protocol server');
        const erasure = need(entropy, 'entropy source');
        const enforcer = new Enforcer(agents);
        const session = new MarketSession({
          rules: config.daemon,
          verification: config.verification,
          policy: policyFor(options.mode ?? 'market'),
          clock,
          ledger: need(ledger, 'ledger'),
          channel: sockets,
          enforcer,
          entropy: erasure,
          thermal: heat,
        });
        // The fleet gossips what the daemon reads each tick; it starts with the next part, once there is a daemon to read.
        fleet = new FleetLink({ config: config.fleet, key: need(ledger, 'ledger').key.privateKey, local: () => daemon?.localFigures() ?? { headroom: 1, meanPriceJ: 0, powerW: 0 } });
        inference = new InferenceService({ config: config.inference, session, send: (id, notice) => sockets.send(id, notice), usage: (id) => agents.usage(id) });
        const claimModel = options.claimModel !== undefined ? options.claimModel : loadClaimModel(config.verification.model);
        const verifier = new ClaimVerifier({ model: claimModel, source: options.claimModel !== undefined ? 'from the caller' : config.verification.model === 'shipped' ? 'models/claim-model.json (shipped)' : config.verification.model, config: config.verification, session, allowance: (id) => enforcer.allowance(id), probes: inference, cpuCounter: (id, pid) => cgroupCpuCounter(pid, id), ...(options.onClaimWindow === undefined ? {} : { onWindow: options.onClaimWindow }), ...(options.onPassiveFeatures === undefined ? {} : { onPassiveFeatures: options.onPassiveFeatures }) });
        daemon = new Daemon({ config, session, runtime: agents, thermal: heat, entropy: erasure, enforcer, ledger: need(ledger, 'ledger'), protocol: sockets, clock, verifier, inference, fleet });
      },
      stop: async () => {
        await daemon?.stopAgents();
        await inference?.close();
      },
    },
    {
      name: 'fleet gossip',
      start: () => need(fleet, 'fleet gossip').start(),
      stop: () => fleet?.stop(),
    },
    {
      name: 'tick loop',
      start: () => need(daemon, 'session').loop.start(),
      stop: async () => {
        await daemon?.loop.stop();
      },
    },
  ]);

  await lifecycle.start();
  const started = need(daemon, 'session');
  const close = (): Promise<void> => lifecycle.stop();
  started.setStop(close);
  return {
    daemon: started,
    runtime: need(runtime, 'runtimes'),
    thermal: need(thermal, 'thermal state'),
    entropySource,
    maxwellCpuS,
    running: () => lifecycle.running,
    close,
  };
}
