/**
 * WASM agents in worker threads, metered in fuel.
 *
 * An agent is a WebAssembly module (`spec.command` is its path) exporting `run(): i32`; its
 * return value is its exit code. The module is rewritten (fuel.ts) so that it asks the host
 * for fuel every `quantum` instructions (approximately): a pause is simply no more fuel, a
 * CPU share below one is a rest between quanta, and a stop is an exception thrown from the
 * refuel call that unwinds the module. A module that never comes back for fuel (stuck in a
 * host call) is terminated after the grace period. Its linear memory maximum is lowered to
 * the memory cap. The functions it may import are listed in host-abi.ts (`env.elapsed_ms`,
 * `env.block`, `env.report`, `env.arg_f64`, and the protocol's `maxwell.bid`, `maxwell.work`,
 * `maxwell.state`, `maxwell.balance_j`, `maxwell.price_j`); any other import, or a known one
 * with another signature, is refused with `MXW_ERR_AGENT_SPEC` before a worker starts.
 *
 * The agent protocol: when `spec.env` carries `MAXWELL_SOCKET`, `MAXWELL_TOKEN` and
 * `MAXWELL_AGENT_ID` (all three, or none) and the module imports a `maxwell.*` function, the
 * worker gets one end of a `MessageChannel` and this thread connects to the socket: the worker
 * builds the frames, this thread relays their bytes unchanged (protocol-bridge.ts). Without
 * the variables such a module still runs, and its protocol calls return `NO_ENDPOINT`.
 */
import type { AgentId } from '../../agent-id.js';
import { readFileSync } from 'node:fs';
import { MessageChannel, Worker } from 'node:worker_threads';
import { AGENT_ENV } from '../../protocol/server.js';
import { createMonotonicClock, type AbortOptions, type Clock } from '../../clock/clock.js';
import { AgentTable, type StopOptions, type TableEntry } from '../agent-table.js';
import { AgentSpecError, AgentStartError, AgentUnsupportedError, toError } from '../../errors.js';
import { seconds } from '../../units/units.js';
import type { AgentExit, AgentInfo, AgentRuntime, AgentSpec, AgentUsage, PauseResult } from '../runtime.js';
import { listImports, meterModule } from './fuel.js';
import { checkHostImports, createLinkBlock } from './host-abi.js';
import { ProtocolBridge, type LinkInfo } from './protocol-bridge.js';
import { parsePidStat } from '../../telemetry/procfs/process-stats.js';
import { USER_HZ } from '../../telemetry/procfs/proc-stat.js';
import { FIGURES_BYTES, FUEL, MEMORY, PAUSE, RUN_S, SHARE, STATE, STOP, TID, type WasmWorkerData } from './wasm-worker.js';

export interface WasmRuntimeOptions {
  /** Fuel per quantum (≈ instructions between host checks). @default 200000 */
  readonly quantum?: number;
  /** A start that fails within this time is a failed start, ms. @default 150 */
  readonly startupGraceMs?: number;
  /** How long a pause may take to be confirmed, ms. @default 1000 */
  readonly confirmTimeoutMs?: number;
  /**
   * Protocol frame bytes an agent may have waiting to be written to its socket; beyond it its
   * `maxwell.bid`/`maxwell.work` calls return `BUSY`. Bounds what a module that floods can
   * queue in this process before the daemon closes it for its rate. @default 1048576
   */
  readonly protocolBacklogBytes?: number;
  readonly clock?: Clock;
}

/** Default of {@link WasmRuntimeOptions.protocolBacklogBytes}, bytes (1 MiB). */
export const DEFAULT_PROTOCOL_BACKLOG_BYTES = 1_048_576;

const NO_LINK: LinkInfo = { state: 'none', closeCode: null, framesSent: 0, framesReceived: 0 };

/** The endpoint in `env`: all three variables, or none (null); anything between is a spec error. */
function endpointOf(id: AgentId, env: Readonly<Record<string, string>> | undefined): { socketPath: string; token: string; agentId: string } | null {
  const socketPath = env?.[AGENT_ENV.socket];
  const token = env?.[AGENT_ENV.token];
  const agentId = env?.[AGENT_ENV.agentId];
  if (socketPath === undefined && token === undefined && agentId === undefined) return null;
  if (socketPath === undefined || token === undefined || agentId === undefined || socketPath === '' || token === '' || agentId === '') {
    throw new AgentSpecError(`agent "${id}": set all of ${AGENT_ENV.socket}, ${AGENT_ENV.token} and ${AGENT_ENV.agentId}, or none`);
  }
  return { socketPath, token, agentId };
}


interface Agent extends TableEntry {
  readonly worker: Worker;
  readonly control: Int32Array;
  readonly figures: Float64Array;
  reports: number[];
  readonly bridge: ProtocolBridge | null;
}

type WorkerMessage = { type: 'ready' } | { type: 'report'; value: number } | { type: 'exit'; code: number | null; stopped?: boolean; error?: string };

export class WasmRuntime implements AgentRuntime {
  readonly kind = 'wasm' as const;
  readonly mechanisms = {
    pause: 'fuel: no refuel while paused',
    kill: 'stop flag at the next refuel, else worker.terminate()',
    cpuShare: 'duty cycle between fuel quanta',
    pin: 'unsupported (worker threads have no CPU affinity)',
    memory: "the module's linear-memory maximum, lowered to the cap",
    cpuTime: "the worker thread's utime + stime (/proc/self/task/<tid>/stat, 10 ms ticks); wall time while holding fuel where that cannot be read",
  } as const;
  readonly #quantum: number;
  readonly #graceMs: number;
  readonly #confirmMs: number;
  readonly #backlogBytes: number;
  readonly #clock: Clock;
  readonly #agents: AgentTable<Agent>;

  constructor(options: WasmRuntimeOptions = {}) {
    this.#quantum = options.quantum ?? 200_000;
    if (!Number.isInteger(this.#quantum) || this.#quantum < 1000) throw new AgentSpecError(`invalid quantum: ${String(options.quantum)} (an integer ≥ 1000)`);
    this.#graceMs = options.startupGraceMs ?? 150;
    this.#confirmMs = options.confirmTimeoutMs ?? 1000;
    this.#backlogBytes = options.protocolBacklogBytes ?? DEFAULT_PROTOCOL_BACKLOG_BYTES;
    if (!Number.isInteger(this.#backlogBytes) || this.#backlogBytes < 65_536 || this.#backlogBytes > 2 ** 30) {
      throw new AgentSpecError(`invalid protocolBacklogBytes: ${String(options.protocolBacklogBytes)} (an integer in [65536, 2^30])`);
    }
    this.#clock = options.clock ?? createMonotonicClock();
    this.#agents = new AgentTable<Agent>(this.#clock, {
      pid: () => null,
      askToStop: (agent) => {
        // The module sees the stop flag at its next refuel; a paused one must be let out to see it.
        Atomics.store(agent.control, STOP, 1);
        Atomics.notify(agent.control, STOP);
        Atomics.store(agent.control, PAUSE, 0);
        Atomics.notify(agent.control, PAUSE);
        return Promise.resolve();
      },
      kill: async (agent) => {
        await agent.worker.terminate();
      },
    });
  }

  async start(spec: AgentSpec, options: AbortOptions = {}): Promise<AgentInfo> {
    this.#agents.checkSpec(spec, 'command (the .wasm path)');
    if (spec.cores !== undefined) throw new AgentUnsupportedError(`agent "${spec.id}": WASM agents cannot be pinned`);
    options.signal?.throwIfAborted();
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(spec.command);
    } catch (err) {
      throw new AgentStartError(`agent "${spec.id}": cannot read ${spec.command}: ${toError(err).message}`, { cause: err });
    }
    const metered = meterModule(bytes, spec.memoryLimitBytes === undefined ? {} : { memoryLimitBytes: spec.memoryLimitBytes });
    const { usesProtocol } = checkHostImports(listImports(bytes));
    const endpoint = endpointOf(spec.id, spec.env);
    const control = new Int32Array(new SharedArrayBuffer(16));
    const figures = new Float64Array(new SharedArrayBuffer(FIGURES_BYTES));
    figures[TID] = Number.NaN;
    Atomics.store(control, SHARE, Math.round(Math.min(1, spec.cpuShare ?? 1) * 1000));
    const base = { modulePath: spec.command, metered, quantum: this.#quantum, control, figures, args: [...(spec.args ?? [])] };
    let bridge: ProtocolBridge | null = null;
    let worker: Worker;
    if (endpoint !== null && usesProtocol) {
      const { port1, port2 } = new MessageChannel();
      const block = createLinkBlock();
      bridge = new ProtocolBridge(endpoint.socketPath, port1, block);
      const data: WasmWorkerData = { ...base, link: { port: port2, agentId: endpoint.agentId, token: endpoint.token, block, backlogBytes: this.#backlogBytes } };
      worker = new Worker(new URL('./wasm-worker.js', import.meta.url), { workerData: data, transferList: [port2], stdout: false, stderr: false });
    } else {
      const data: WasmWorkerData = base;
      worker = new Worker(new URL('./wasm-worker.js', import.meta.url), { workerData: data, stdout: false, stderr: false });
    }
    const agent = this.#agents.entry(spec, { worker, control, figures, reports: [], bridge });
    let ready: () => void = () => undefined;
    const readyPromise = new Promise<void>((resolve) => { ready = resolve; });
    const finish = (code: number | null, reason: AgentExit['reason']): void => {
      if (agent.exit !== null) return;
      agent.bridge?.end();
      this.#agents.end(agent, code, null, reason);
    };
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'ready') ready();
      else if (message.type === 'report') agent.reports.push(message.value);
      else {
        if (message.error !== undefined) agent.reports.push(Number.NaN);
        finish(message.code, message.stopped === true ? 'stopped' : 'exited');
        void worker.terminate();
      }
    });
    worker.on('error', () => {
      agent.reports.push(Number.NaN);
      finish(null, 'failed-to-start');
    });
    worker.on('exit', () => {
      finish(null, 'exited');
    });
    this.#agents.add(agent);
    const outcome = await Promise.race([
      // With no grace the start ends once the module is instantiated, before any later message
      // (a timer of 0 ms let a module that exits at once win the race and count as a failed start).
      readyPromise.then(() => (this.#graceMs > 0 ? this.#clock.sleep(seconds(this.#graceMs / 1000)) : undefined)).then(() => null),
      agent.exited,
    ]);
    if (outcome !== null && outcome.code !== 0) {
      this.#agents.forget(spec.id);
      throw new AgentStartError(`agent "${spec.id}": ${outcome.reason === 'failed-to-start' ? 'the module could not be instantiated' : `exited at once with code ${String(outcome.code)}`}`);
    }
    return this.info(spec.id);
  }

  async pause(id: AgentId, options: AbortOptions = {}): Promise<PauseResult> {
    const agent = this.#agents.live(id);
    options.signal?.throwIfAborted();
    const t0 = this.#clock.now();
    Atomics.store(agent.control, PAUSE, 1);
    // Confirmed when the agent sits in refuel waiting (or has finished).
    const deadline = performance.now() + this.#confirmMs;
    let confirmed = false;
    while (performance.now() < deadline) {
      const state = Atomics.load(agent.control, STATE);
      if (state !== 0) {
        confirmed = true;
        break;
      }
      Atomics.wait(agent.control, STATE, 0, 0.05);
      await Promise.resolve();
    }
    // The agent may have finished meanwhile (state 2): the exit handler has then set 'exited'.
    if (agent.exit === null) agent.state = 'paused';
    return { latencyMs: (this.#clock.now() - t0) * 1000, mechanism: 'fuel', confirmed };
  }

  resume(id: AgentId): Promise<void> {
    const agent = this.#agents.get(id);
    if (agent.state !== 'paused') return Promise.resolve();
    Atomics.store(agent.control, PAUSE, 0);
    Atomics.notify(agent.control, PAUSE);
    agent.state = 'running';
    return Promise.resolve();
  }

  setCpuShare(id: AgentId, share: number | null): Promise<void> {
    const agent = this.#agents.get(id);
    if (share !== null && !(share >= 0.01)) return Promise.reject(new AgentSpecError(`cpuShare must be ≥ 0.01, got ${String(share)}`));
    Atomics.store(agent.control, SHARE, Math.round(Math.min(1, share ?? 1) * 1000));
    return Promise.resolve();
  }

  pin(id: AgentId): Promise<void> {
    this.#agents.get(id);
    return Promise.reject(new AgentUnsupportedError(`agent "${id}": WASM agents run in worker threads, which have no CPU affinity`));
  }

  usage(id: AgentId): Promise<AgentUsage> {
    const agent = this.#agents.get(id);
    // The thread's CPU time: what the daemon subtracts from its own overhead, since the worker
    // is a thread of its process. Wall time running is the fallback (it counts time descheduled).
    const threadCpuS = threadCpuSeconds(agent.figures[TID] ?? Number.NaN);
    return Promise.resolve({
      cpuS: threadCpuS ?? agent.figures[RUN_S] ?? Number.NaN,
      memoryBytes: agent.figures[MEMORY] ?? Number.NaN,
      minorFaults: Number.NaN,
      majorFaults: Number.NaN,
      cpuSource: `${threadCpuS === null ? 'wall time while holding fuel' : 'worker thread utime + stime'}; fuel used ${String(agent.figures[FUEL] ?? 0)}`,
    });
  }

  /** The agent's protocol link: state, the daemon's closing code, frames each way. */
  protocol(id: AgentId): LinkInfo {
    return this.#agents.get(id).bridge?.info ?? NO_LINK;
  }

  /** Values the agent sent through `env.report`. */
  reports(id: AgentId): readonly number[] {
    return this.#agents.get(id).reports;
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

  close(): Promise<void> {
    return this.#agents.close(1);
  }
}

/** utime + stime of one thread of this process, s, or null when it cannot be read. */
function threadCpuSeconds(tid: number): number | null {
  if (!Number.isInteger(tid) || tid <= 0) return null;
  try {
    const parsed = parsePidStat(readFileSync(`/proc/self/task/${String(tid)}/stat`, 'latin1'));
    return parsed === undefined ? null : parsed.cpuTicks / USER_HZ;
  } catch {
    return null;
  }
}
