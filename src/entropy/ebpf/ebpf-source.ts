/**
 * The measured entropy source: erase events from the kernel through the eBPF loader
 * (`native/ebpf/erase-loader.c`), a child process that writes binary frames on its stdout and
 * takes watch commands on its stdin (see `frames.ts` for the format).
 *
 * Attribution costs nothing here: the kernel filter matched each record by its tgid (or by a
 * fork of a watched process) or its cgroup id, and stamped it with the tag this source gave the
 * agent when it asked the loader to watch it. A record whose tag this source no longer knows
 * (an agent unwatched long ago) is counted as unattributed and not charged.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { statSync, statfsSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { EbpfCommandError, EbpfUnavailableError, toError } from '../../errors.js';
import { NO_EVENTS, type EntropyProvenance, type EntropySource, type EraseEvent, type WatchedAgent } from '../../market/entropy.js';
import { processCpuS } from '../../telemetry/procfs/machine-load.js';
import { DEFAULT_LOADER_PATH } from './paths.js';
import { EraseLog, FrameDecoder, eraseKindName, type LoaderHello, type LoaderStats, type Transport } from './frames.js';

export interface EbpfSourceOptions {
  /** @default `.maxwell/ebpf/erase-loader` in the repository */
  readonly loaderPath?: string;
  /** How records reach user space. Only `ringbuf` is meant for production; the others exist for `maxwell research ebpf`. @default 'ringbuf' */
  readonly transport?: Transport;
  /** Perf buffer only: records per wakeup. @default 1 */
  readonly wakeupEvents?: number;
  /** Ring buffer size, MiB, a power of two. @default 16 */
  readonly ringMiB?: number;
  /** Perf buffer pages per CPU, a power of two. @default 256 */
  readonly perfPages?: number;
  /** How often the loader consumes the ring, ms. @default 10 */
  readonly intervalMs?: number;
  /** How often the loader reports its counters, ms. @default 100 */
  readonly statsMs?: number;
  /** Also probe brk shrinks. @default true */
  readonly brk?: boolean;
  /** How long to wait for the loader to attach, ms. @default 15000 */
  readonly startTimeoutMs?: number;
  /**
   * Merge consecutive records of the same agent, process and kind into one event per drain
   * (bytes summed, time of the first). The tax needs only the sums; this keeps a drain at a
   * handful of objects however many munmaps a tick saw. @default true
   */
  readonly coalesce?: boolean;
  /** Called once when the loader dies or its stream breaks while the source is open. */
  readonly onFailure?: (error: Error) => void;
}

type Loader = ChildProcessByStdio<Writable, Readable, Readable>;

interface PendingCommand {
  readonly line: string;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

const EMPTY_STATS: LoaderStats = { submitted: 0, dropped: 0, unwatched: 0, forks: 0, delivered: 0, perfLost: 0, atNs: 0 };
const CGROUP2_SUPER_MAGIC = 0x63677270;
/** How long a retired tag still attributes records that were in flight when it was unwatched. */
const RETIRED_TAG_MS = 2000;

/** The cgroup id `bpf_get_current_cgroup_id()` reports for a cgroup2 directory: its inode. */
export function cgroupIdOf(dir: string): number | undefined {
  try {
    if (statfsSync(dir).type !== CGROUP2_SUPER_MAGIC) return undefined; // a v1 hierarchy: not what the helper sees
    return Number(statSync(dir, { bigint: true }).ino);
  } catch {
    return undefined;
  }
}

export class EbpfEntropySource implements EntropySource {
  readonly hello: LoaderHello;
  readonly #loader: Loader;
  readonly #log: EraseLog;
  readonly #decoder: FrameDecoder;
  readonly #coalesce: boolean;
  readonly #onFailure: ((error: Error) => void) | undefined;
  readonly #tagToAgent = new Map<number, string>();
  readonly #agentToTag = new Map<string, number>();
  readonly #retired = new Map<number, number>();
  #loaderCpuS = 0;
  readonly #pending: PendingCommand[] = [];
  #stderr: string;
  #nextTag = 1;
  #replies = 0;
  #stats: LoaderStats = EMPTY_STATS;
  #unattributed = 0;
  #failure: Error | undefined;
  #closing = false;
  #exited: Promise<void>;

  private constructor(loader: Loader, log: EraseLog, decoder: FrameDecoder, hello: LoaderHello, stderr: string, options: EbpfSourceOptions, exited: Promise<void>) {
    this.#loader = loader;
    this.#log = log;
    this.#decoder = decoder;
    this.hello = hello;
    this.#stderr = stderr;
    this.#coalesce = options.coalesce ?? true;
    this.#onFailure = options.onFailure;
    this.#exited = exited;
  }

  /**
   * Starts the loader and waits until its probes are attached. Throws `MXW_ERR_EBPF_UNAVAILABLE`
   * (with the loader's stderr) when it cannot load or attach.
   */
  static async start(options: EbpfSourceOptions = {}): Promise<EbpfEntropySource> {
    const args = ['--transport', options.transport ?? 'ringbuf'];
    if (options.wakeupEvents !== undefined) args.push('--wakeup-events', String(options.wakeupEvents));
    if (options.ringMiB !== undefined) args.push('--ring-mib', String(options.ringMiB));
    if (options.perfPages !== undefined) args.push('--perf-pages', String(options.perfPages));
    if (options.intervalMs !== undefined) args.push('--interval-ms', String(options.intervalMs));
    if (options.statsMs !== undefined) args.push('--stats-ms', String(options.statsMs));
    if (options.brk === false) args.push('--no-brk');
    const path = options.loaderPath ?? DEFAULT_LOADER_PATH;
    const log = new EraseLog();
    let source: EbpfEntropySource | undefined;
    let stderr = '';
    let resolveHello: (hello: LoaderHello) => void = () => undefined;
    let rejectStart: (error: Error) => void = () => undefined;
    const helloPromise = new Promise<LoaderHello>((resolve, reject) => {
      resolveHello = resolve;
      rejectStart = reject;
    });
    const decoder = new FrameDecoder(log, {
      onHello: (hello) => { resolveHello(hello); },
      onStats: (stats) => source?.onStats(stats),
      onReply: (result, seq) => source?.onReply(result, seq),
      onLog: (text) => { stderr = tail(`${stderr}${text}\n`); },
    });
    let loader: Loader;
    try {
      loader = spawn(path, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (err) {
      throw new EbpfUnavailableError(`cannot run ${path}: ${toError(err).message}`, { cause: err });
    }
    const exited = new Promise<void>((resolve) => loader.once('close', () => { resolve(); }));
    loader.stdin.on('error', () => undefined); // EPIPE after a crash is reported through 'exit'
    loader.stderr.on('data', (chunk: Buffer) => {
      stderr = tail(stderr + chunk.toString('utf8'));
      if (source !== undefined) source.#stderr = stderr;
    });
    loader.stdout.on('data', (chunk: Buffer) => {
      try {
        decoder.push(chunk);
      } catch (err) {
        if (source === undefined) rejectStart(toError(err));
        else source.fail(toError(err));
        loader.kill('SIGKILL');
      }
    });
    loader.once('error', (err) => { rejectStart(new EbpfUnavailableError(`cannot run ${path}: ${err.message}`, { cause: err })); });
    // 'close' rather than 'exit': it comes after stdout has ended, so the last records are decoded first.
    loader.once('close', (code, signal) => {
      const why = `the eBPF loader exited (${signal ?? `status ${String(code)}`})${stderr.trim() === '' ? '' : `: ${stderr.trim()}`}`;
      if (source === undefined) rejectStart(new EbpfUnavailableError(why));
      else if (!source.#closing) source.fail(new EbpfUnavailableError(why));
    });
    const timeoutMs = options.startTimeoutMs ?? 15_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => { reject(new EbpfUnavailableError(`the eBPF loader did not attach within ${timeoutMs} ms${stderr === '' ? '' : `: ${stderr.trim()}`}`)); }, timeoutMs);
    });
    try {
      const hello = await Promise.race([helloPromise, timeout]);
      source = new EbpfEntropySource(loader, log, decoder, hello, stderr, options, exited);
      return source;
    } catch (err) {
      loader.kill('SIGKILL');
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The loader's latest counters (cumulative). */
  stats(): LoaderStats {
    return this.#stats;
  }

  /** Why the loader stopped, when it has. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  /** Records drained that no watched agent claimed (in flight past an unwatch). */
  get unattributed(): number {
    return this.#unattributed;
  }

  /** Event records decoded from the loader so far. */
  get decodedRecords(): number {
    return this.#decoder.records;
  }

  /** The tail of the loader's stderr and LOG frames. */
  get loaderMessages(): string {
    return this.#stderr;
  }

  /** The loader's CPU time so far, s (its last reading once it has ended). */
  helperCpuS(): number {
    const now = processCpuS(this.hello.pid);
    if (now > this.#loaderCpuS) this.#loaderCpuS = now;
    return this.#loaderCpuS;
  }

  /** Loader process id (for measuring its CPU time). */
  get loaderPid(): number {
    return this.hello.pid;
  }

  provenance(): EntropyProvenance {
    const base = `ebpf ${this.hello.transport === 'perfbuf' ? `perf buffer (wakeup_events ${this.hello.wakeupEvents})` : this.hello.transport === 'ringbuf' ? 'ring buffer (no wakeup, consumed every ' + String(this.hello.intervalMs) + ' ms)' : 'ring buffer (wakeup per event)'} of sys_enter_munmap, sys_enter_madvise, sys_enter_brk`;
    return {
      source: this.#failure === undefined ? base : `${base}; stopped: ${this.#failure.message}`,
      quality: 'measured',
      lostEvents: this.#stats.dropped + this.#stats.perfLost,
    };
  }

  watch(agent: WatchedAgent): void {
    void this.watchAsync(agent).catch(() => undefined);
  }

  /**
   * Like `watch`, resolving once the kernel filter includes the agent (erasures from then on
   * are seen); rejects with `MXW_ERR_EBPF_COMMAND` when the loader refused.
   */
  async watchAsync(agent: WatchedAgent): Promise<void> {
    const tag = this.#tagFor(agent.agentId);
    await Promise.all([this.#command(`watch-tgid ${agent.pid} ${tag}`), ...this.#cgroupCommands(agent.cgroupDirs ?? [], tag)]);
  }

  /**
   * Watches the agent's cgroups before its first process runs (the runtime's `beforeExec`):
   * every task in them is attributed to the agent from its first instruction. Only cgroup2
   * directories can match (`bpf_get_current_cgroup_id()` is the task's cgroup2 id); v1
   * directories are sent too and simply never match.
   */
  async watchCgroups(agentId: string, cgroupDirs: readonly string[]): Promise<void> {
    await Promise.all(this.#cgroupCommands(cgroupDirs, this.#tagFor(agentId)));
  }

  #tagFor(agentId: string): number {
    let tag = this.#agentToTag.get(agentId);
    if (tag === undefined) {
      tag = this.#nextTag++;
      this.#agentToTag.set(agentId, tag);
      this.#tagToAgent.set(tag, agentId);
    }
    return tag;
  }

  #cgroupCommands(dirs: readonly string[], tag: number): Promise<void>[] {
    const commands: Promise<void>[] = [];
    for (const dir of dirs) {
      const id = cgroupIdOf(dir);
      if (id !== undefined) commands.push(this.#command(`watch-cgroup ${id} ${tag}`));
    }
    return commands;
  }

  unwatch(agentId: string): void {
    void this.unwatchAsync(agentId).catch(() => undefined);
  }

  /** Like `unwatch`, resolving once the kernel filter no longer includes the agent. */
  async unwatchAsync(agentId: string): Promise<void> {
    const tag = this.#agentToTag.get(agentId);
    if (tag === undefined) return;
    this.#agentToTag.delete(agentId);
    this.#retired.set(tag, Date.now() + RETIRED_TAG_MS);
    await this.#command(`unwatch ${tag}`);
  }

  /**
   * Consumes everything the kernel holds now and resolves with the counters after it: every
   * erase made before the call is then in the next `drain()`.
   */
  async flush(): Promise<LoaderStats> {
    await this.#command('flush');
    // The loader writes its STATS frame before the REPLY, so these are the counters after the flush.
    return this.#stats;
  }

  drain(): readonly EraseEvent[] {
    const log = this.#log;
    // Most ticks see no erasure: nothing is built (retired tags are swept on the next busy drain).
    if (log.length === 0) return NO_EVENTS;
    const out: EraseEvent[] = [];
    const now = Date.now();
    for (const [tag, until] of this.#retired) {
      if (until > now) continue;
      this.#retired.delete(tag);
      this.#tagToAgent.delete(tag);
    }
    let runAgent: string | undefined;
    let runTgid = -1;
    let runKind = -1;
    let runBytes = 0;
    let runAt = 0;
    const close = (): void => {
      if (runAgent !== undefined) out.push({ agentId: runAgent, pid: runTgid, bytes: runBytes, kind: eraseKindName(runKind), atMs: runAt });
    };
    for (let i = 0; i < log.length; i++) {
      const agentId = this.#tagToAgent.get(log.tag[i] ?? 0);
      if (agentId === undefined) {
        this.#unattributed++;
        continue;
      }
      const tgid = log.tgid[i] ?? 0;
      const kind = log.kind[i] ?? 0;
      const bytes = log.bytes[i] ?? 0;
      if (this.#coalesce && agentId === runAgent && tgid === runTgid && kind === runKind) {
        runBytes += bytes;
        continue;
      }
      close();
      runAgent = agentId;
      runTgid = tgid;
      runKind = kind;
      runBytes = bytes;
      runAt = (log.tsNs[i] ?? 0) / 1e6;
    }
    close();
    log.clear();
    return out;
  }

  async close(): Promise<void> {
    if (this.#closing) return this.#exited;
    this.helperCpuS(); // the last reading before the loader ends
    this.#closing = true;
    this.#loader.stdin.end('quit\n');
    const timer = setTimeout(() => this.#loader.kill('SIGKILL'), 3000);
    try {
      await this.#exited;
    } finally {
      clearTimeout(timer);
    }
    for (const p of this.#pending.splice(0)) p.reject(new EbpfCommandError(`the loader closed before answering "${p.line}"`));
  }

  #command(line: string): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(new EbpfCommandError(`"${line}": ${this.#failure.message}`));
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ line, resolve, reject });
      this.#loader.stdin.write(`${line}\n`);
    });
  }

  private onStats(stats: LoaderStats): void {
    this.#stats = stats;
  }

  private onReply(result: number, seq: number): void {
    // Replies come in command order, one per line; a gap means the stream is broken.
    const p = this.#pending.shift();
    if (p === undefined) return;
    if (seq !== ++this.#replies) {
      p.reject(new EbpfCommandError(`"${p.line}": reply out of order`));
      this.fail(new EbpfCommandError(`the loader answered command ${seq}, expected ${this.#replies}`));
      return;
    }
    if (result === 0) p.resolve();
    else p.reject(new EbpfCommandError(`the loader refused "${p.line}": errno ${-result}`));
  }

  private fail(error: Error): void {
    if (this.#failure !== undefined) return;
    this.#failure = error;
    for (const p of this.#pending.splice(0)) p.reject(new EbpfCommandError(`"${p.line}": ${error.message}`, { cause: error }));
    this.#onFailure?.(error);
  }
}

function tail(text: string): string {
  return text.length > 2000 ? text.slice(-2000) : text;
}
