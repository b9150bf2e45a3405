/**
 * The composition root: the one place that builds the daemon's real parts from configuration
 * and starts and stops them in one order (`lifecycle.ts`):
 *
 *   runtimes → heat → price (thermal state) → entropy source → ledger → protocol server → session
 *   → fleet gossip → tick loop → [control API → discovery file → fleet publication → migration]
 *
 * and on stop the reverse: the API stops answering and its discovery file goes, the loop stops
 * ticking, the agents are stopped and settled, the sockets close, the ledger closes, the entropy
 * source and the thermal readers stop, and the runtimes remove their cgroups. A part that fails
 * to stop does not keep the others from it. The bracketed parts run when the caller asks for the
 * control API (`maxwell run`); the experiment and the tests use the daemon without it.
 *
 * Parts talk through what the root hands them, not through each other: the fleet link reads the
 * thermal state's figures and pushes its price factor into it; migration drives the daemon through
 * its `migrationHost`. The twin's parameters are resolved here, once.
 */
import { availableParallelism } from 'node:os';
import { reachableApiUrl, isLoopbackHost } from '../api/addresses.js';
import { generateApiToken, removeDaemonFile, writeDaemonFile } from '../api/discovery.js';
import { MIN_PLACEMENT_HEADROOM, peerSpawner } from '../api/placement.js';
import { startApiServer, type ApiServer } from '../api/server.js';
import { createMonotonicClock, type Clock } from '../clock/clock.js';
import type { MaxwellConfig } from '../config/schema.js';
import { RepeatingTask } from '../internal/repeating-task.js';
import { resolveTwinParams } from '../physics/twin-params.js';
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
import { Lifecycle, type Startable } from './lifecycle.js';
import { Migrator } from './migrator.js';
import { ThermalState, ownCpuS } from '../heat-price/thermal.js';
import { FleetLink } from '../fleet/fleet-link.js';
import { InferenceService } from '../verification/service/inference-service.js';
import { ClaimVerifier, loadClaimModel, type ClaimVerifierOptions } from '../verification/service/claim-verifier.js';
import type { ClaimModel } from '../verification/trace/claim-model.js';

export interface AssembleOptions {
  readonly mode?: SessionMode;
  /** `flat`: every core at the price of a quantum at ambient (the ablation's arms). @default 'thermal' */
  readonly pricing?: 'thermal' | 'flat';
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
  /**
   * Serve the control API (`api.*`), write the discovery file (`state.dir`), publish the API to the
   * fleet for placement and start migration (`fleet.*`), as parts of the same lifecycle. @default off
   */
  readonly api?: {
    /** The daemon's version, for the OpenAPI description. */
    readonly version: string;
    /** Told what an operator should know about the API's set-up (a URL that cannot be published, …). */
    readonly onNotice?: (message: string) => void;
  };
}

/** The control API as the root started it. */
export interface AssembledApi {
  readonly url: string;
  /** The discovery file (`daemon.json`, mode 0600) holding the URL and tokens. */
  readonly discoveryFile: string;
}

export interface Assembled {
  readonly daemon: Daemon;
  readonly runtime: CompositeRuntime;
  readonly thermal: ThermalState;
  /** Which entropy source feeds the Landauer tax, and why that one. */
  readonly entropySource: string;
  /** The control API, when asked for (`AssembleOptions.api`); else null. */
  readonly api: AssembledApi | null;
  /** Maxwell's own CPU time so far, s: this process (getrusage) and the entropy source's helper processes. */
  readonly maxwellCpuS: () => number;
  /** The parts running now, in start order (all of them once started, none once closed). */
  readonly running: () => readonly string[];
  /** Stops every part in reverse order of start; idempotent. */
  readonly close: () => Promise<void>;
}

/** The parts as they are built, for the ones that come after. */
interface Built {
  runtime?: CompositeRuntime;
  thermal?: ThermalState;
  entropy?: EntropySource;
  entropySource: string;
  ledger?: Ledger;
  protocol?: ProtocolServer;
  daemon?: Daemon;
  inference?: InferenceService;
  fleet?: FleetLink;
  server?: ApiServer;
  discoveryFile?: string;
}

function need<T>(part: T | undefined, name: string): T {
  if (part === undefined) throw new RuntimeSetupError(`${name} is not started`);
  return part;
}

/** Builds and starts a daemon with the real parts this machine has; on a failure, undoes what started. */
export async function assembleDaemon(config: Readonly<MaxwellConfig>, options: AssembleOptions = {}): Promise<Assembled> {
  if (process.getuid?.() !== 0) {
    throw new RuntimeSetupError('the daemon runs every agent in its own cgroups (freeze, CPU accounting, cpuset), which needs root here: run it with sudo (e.g. sudo npm start)');
  }
  const built: Built = { entropySource: 'given by the caller' };
  const maxwellCpuS = (): number => ownCpuS() + (built.entropy?.helperCpuS?.() ?? 0);
  const lifecycle = new Lifecycle([...daemonParts(config, options, built, maxwellCpuS), ...(options.api === undefined ? [] : apiParts(config, options.api, built))]);
  await lifecycle.start();
  const server = built.server;
  return {
    daemon: need(built.daemon, 'session'),
    runtime: need(built.runtime, 'runtimes'),
    thermal: need(built.thermal, 'thermal state'),
    entropySource: built.entropySource,
    api: server === undefined ? null : { url: server.url, discoveryFile: need(built.discoveryFile, 'discovery file') },
    maxwellCpuS,
    running: () => lifecycle.running,
    close: () => lifecycle.stop(),
  };
}

/** The daemon itself: runtimes, heat and price, entropy, ledger, sockets, the session and its services, gossip and the tick loop. */
function daemonParts(config: Readonly<MaxwellConfig>, options: AssembleOptions, built: Built, maxwellCpuS: () => number): Startable[] {
  const tag = options.tag ?? 'mxd';
  const clock = createMonotonicClock();
  // The twin models this machine's own cores: one plane per CPU the kernel schedules on.
  const twin = resolveTwinParams({ ...config.twin, cores: availableParallelism(), gpu: false });
  return [
    {
      name: 'runtimes',
      start: async () => {
        built.runtime = await CompositeRuntime.create({
          process: () => ProcessRuntime.create({ tag, cgroupParent: config.daemon.cgroupParent }),
          wasm: () => Promise.resolve(new WasmRuntime()),
          vm: () => VmRuntime.create({ tag: `${tag}-vm`, cgroupParent: config.daemon.cgroupParent }),
        });
      },
      stop: () => built.runtime?.close(),
    },
    {
      name: 'thermal state',
      start: async () => {
        const agents = need(built.runtime, 'runtimes');
        built.thermal = await ThermalState.start({
          twin,
          setpointC: config.control.setpointC,
          criticalC: config.daemon.criticalC,
          rateHz: config.daemon.rateHz,
          flatPrice: options.pricing === 'flat',
          ...(config.daemon.twinDrive === 'agents'
            ? { agentCpu: () => agents.managedCpu() }
            : { foreignHeat: { policy: config.control.foreignHeat, managedCpu: () => agents.managedCpu(), maxwellCpuS } }),
          ...(options.sensorsRoot === undefined ? {} : { sensorsRoot: options.sensorsRoot }),
        });
      },
      stop: () => built.thermal?.stop(),
    },
    {
      name: 'entropy source',
      start: async () => {
        if (options.entropy !== undefined) {
          built.entropy = options.entropy;
          return;
        }
        const wanted = config.daemon.entropy;
        const selection = await selectEntropySource({ estimated: () => new ProcEntropyEstimate(), ...(wanted === 'auto' ? {} : { order: [wanted] }) });
        built.entropy = selection.source;
        built.entropySource = `${selection.backend}: ${selection.reason}`;
      },
      stop: () => built.entropy?.close(),
    },
    {
      name: 'ledger',
      start: () => {
        built.ledger = Ledger.open(config.ledger);
      },
      stop: () => built.ledger?.close(),
    },
    {
      name: 'protocol server',
      start: () => {
        built.protocol = new ProtocolServer({ runtimeDir: config.daemon.runtimeDir, limits: config.protocol });
      },
      stop: () => built.protocol?.close(),
    },
    {
      name: 'session',
      start: () => { assembleSession(config, options, built, clock); },
      stop: async () => {
        await built.daemon?.stopAgents();
        await built.inference?.close();
      },
    },
    {
      name: 'fleet gossip',
      start: () => need(built.fleet, 'fleet gossip').start(),
      stop: () => built.fleet?.stop(),
    },
    {
      name: 'tick loop',
      start: () => need(built.daemon, 'session').loop.start(),
      stop: async () => {
        await built.daemon?.loop.stop();
      },
    },
  ];
}

/** The pure market session and the services around it (enforcement, inference, claims, the fleet link), joined by the daemon shell. */
function assembleSession(config: Readonly<MaxwellConfig>, options: AssembleOptions, built: Built, clock: Clock): void {
  const agents = need(built.runtime, 'runtimes');
  const heat = need(built.thermal, 'thermal state');
  const sockets = need(built.protocol, 'protocol server');
  const erasure = need(built.entropy, 'entropy source');
  const ledger = need(built.ledger, 'ledger');
  const enforcer = new Enforcer(agents);
  const session = new MarketSession({
    rules: config.daemon,
    verification: config.verification,
    policy: policyFor(options.mode ?? 'market'),
    clock,
    ledger,
    channel: sockets,
    enforcer,
    entropy: erasure,
    thermal: heat,
  });
  // The fleet reads this node's heat and price from the thermal state and sets the factor on its prices there.
  const fleet = new FleetLink({ config: config.fleet, key: ledger.key.privateKey, local: () => heat.figures(), onPriceMultiplier: (m) => { heat.setExternalPriceFactor(m); } });
  const inference = new InferenceService({ config: config.inference, session, send: (id, notice) => sockets.send(id, notice), usage: (id) => agents.usage(id) });
  const claimModel = options.claimModel !== undefined ? options.claimModel : loadClaimModel(config.verification.model);
  const claimSource = options.claimModel !== undefined ? 'from the caller' : config.verification.model === 'shipped' ? 'models/claim-model.json (shipped)' : config.verification.model;
  const verifier = new ClaimVerifier({
    model: claimModel,
    source: claimSource,
    config: config.verification,
    session,
    allowance: (id) => enforcer.allowance(id),
    probes: inference,
    cpuCounter: (id, pid) => cgroupCpuCounter(pid, id),
    ...(options.onClaimWindow === undefined ? {} : { onWindow: options.onClaimWindow }),
    ...(options.onPassiveFeatures === undefined ? {} : { onPassiveFeatures: options.onPassiveFeatures }),
  });
  built.fleet = fleet;
  built.inference = inference;
  built.daemon = new Daemon({ config, session, runtime: agents, thermal: heat, entropy: erasure, enforcer, ledger, protocol: sockets, clock, verifier, inference, fleet });
}

/** What `maxwell run` adds: the control API, its discovery file, the API's publication to the fleet, and migration. */
function apiParts(config: Readonly<MaxwellConfig>, api: NonNullable<AssembleOptions['api']>, built: Built): Startable[] {
  const token = generateApiToken();
  const readToken = config.api.readToken === '' ? generateApiToken() : config.api.readToken;
  const peerToken = config.fleet.peerToken;
  const migration = config.fleet.enabled && config.fleet.migration.enabled && peerToken !== '' ? config.fleet.migration : null;
  let migrationTask: RepeatingTask | undefined;
  const parts: Startable[] = [
    {
      name: 'control API',
      start: async () => {
        built.server = await startApiServer({ control: need(built.daemon, 'session'), token, readToken, version: api.version, host: config.api.host, port: config.api.port, bodyLimitBytes: config.api.bodyLimitBytes, kubeExtender: config.fleet.kubeExtender, peerToken });
      },
      stop: () => built.server?.close(),
    },
    {
      name: 'discovery file',
      start: () => {
        built.discoveryFile = writeDaemonFile(config.state.dir, { url: need(built.server, 'control API').url, token, readToken, pid: process.pid });
      },
      stop: () => { removeDaemonFile(config.state.dir); },
    },
    {
      name: 'fleet publication',
      start: () => {
        // Placement forwards spawns to the API others can reach: only a non-loopback one is published.
        if (!config.fleet.enabled || isLoopbackHost(config.api.host)) return;
        const url = reachableApiUrl(need(built.server, 'control API').url, config.api.host, config.fleet.host);
        if (url === null) api.onNotice?.(`the control API listens on ${config.api.host}, which other nodes cannot dial, and fleet.host is not an address they can either: not published for placement (set api.host or fleet.host to this node's address)`);
        else need(built.fleet, 'fleet gossip').setApiUrl(url);
      },
      stop: () => { built.fleet?.setApiUrl(null); },
    },
  ];
  if (migration !== null) {
    parts.push({
      name: 'migration',
      start: () => {
        const migrator = new Migrator(need(built.daemon, 'session').migrationHost(), peerSpawner(peerToken), { priceRatio: migration.priceRatio, minHeadroom: MIN_PLACEMENT_HEADROOM });
        migrationTask = new RepeatingTask({ name: 'migration', everyMs: migration.everyS * 1000, run: () => migrator.check().then(() => undefined) });
        migrationTask.start();
      },
      stop: () => migrationTask?.stop(),
    });
  }
  return parts;
}
