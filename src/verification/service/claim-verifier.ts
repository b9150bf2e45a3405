/**
 * Checks claimed work where the claim is made, in the daemon (docs/VERIFICATION.md): each agent
 * that claims a work class is traced every tick (TraceRecorder: /proc), and every row is marked
 * with what Maxwell did to it — the share of a core the market allowed it (0 while frozen) and
 * whether one of the daemon's requests was open. Only rows it was allowed to run count, CPU as a
 * share of the allowance, so the auction's freezing is never read as the agent's behaviour.
 *
 * The question per window is open-set: "is this consistent with the claim?" (claim-model.ts):
 * - **inference**: active. The agent must `serve` (the reference model, or one of its own); the
 *   daemon then sends it requests at random times it cannot predict (probes), and its CPU must
 *   follow them: busy while a request is open, idle otherwise. Plain rules first (no `serve` after
 *   `verification.serveWithinS` of running; CPU while idle above a quarter of the allowance; no CPU while
 *   serving), then the conformal p-value of idle − serving CPU against honest servers.
 * - **other classes**: passive. The features of the window's running rows against the claimed
 *   class's honest reference windows (k nearest neighbours), as a conformal p-value.
 * A window is inconsistent when a rule fires or p ≤ `verification.alpha`; the session flags the
 * agent after `verification.mismatchWindows` such windows in a row.
 */
import type { AgentId } from '../../agent-id.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClassifierLoadError, toError } from '../../errors.js';
import type { MaxwellConfig } from '../../config/schema.js';
import type { MarketSession } from '../../session/session.js';
import { ClaimModel, type ConformalVerdict } from '../trace/claim-model.js';
import type { WorkClass } from '../trace/classes.js';
import { windowFeatures } from '../trace/features.js';
import { TraceRecorder } from '../trace/recorder.js';
import { allowedShare, timelineScore, timelineStats, type RowContext } from '../trace/timeline.js';
import { ActivityTrace, CHANNEL_COUNT } from '../trace/trace.js';
import type { ProbeOutcome } from './inference-service.js';
import { MODELS_DIR } from '../inference/models-description.js';
import { parseCpuCounter, type CpuCounterFile } from '../../runtimes/process/cgroups.js';
import { AttributeFile } from '../../telemetry/sysfs/attribute.js';

/** Running rows per passive window: 1 s of running time at the daemon's 100 Hz (the reference windows' length). */
export const VERIFY_WINDOW_ROWS = 100;
/**
 * Running rows per timeline window: half a second of running. An agent that shares two cores with
 * five others runs about a third of the time, and a cheat should be flagged within seconds.
 */
export const TIMELINE_WINDOW_ROWS = 50;
/** Running rows per window once an inference claimant is past its time to say `serve` and has not: a fact, not a noisy reading, so judged often. */
const NO_SERVE_WINDOW_ROWS = 25;
/** A timeline window grows (up to this many running rows) until it holds enough idle and serving rows. */
const MAX_WINDOW_ROWS = 100;
const MIN_IDLE_ROWS = 15;
const MIN_SERVING_ROWS = 4;
/** Physics, whatever the calibration: a server with no request open has nothing to compute… */
const IDLE_CPU_LIMIT = 0.25;
/** …and one with a request open and the CPU to serve it does compute. */
const SERVING_CPU_FLOOR = 0.05;
/**
 * Rows a window may hold before it is judged: an agent the market keeps frozen fills rows that say
 * nothing, so past this the partial window is dropped (bounded memory; a frozen agent cannot be judged).
 */
const MAX_PENDING_ROWS = 2000;
/** The probes' prompts use the reference model's vocabulary (64 symbols); other models read the ids as they like. */
const PROBE_VOCAB = 64;

/** The claim model shipped with Maxwell (made on the development VM; docs/VERIFICATION.md says what it is good for elsewhere). */
export const SHIPPED_CLAIM_MODEL = join(MODELS_DIR, 'claim-model.json');

/** The claim model at `path` (`shipped`: the one in models/), or null when there is none; a file that is there but unusable is `MXW_ERR_CLASSIFIER_LOAD`. */
export function loadClaimModel(path: string): ClaimModel | null {
  const file = path === 'shipped' ? SHIPPED_CLAIM_MODEL : path;
  if (!existsSync(file)) return null;
  try {
    return ClaimModel.fromJSON(JSON.parse(readFileSync(file, 'utf8')));
  } catch (err) {
    throw new ClassifierLoadError(`${file} is not a usable claim model (${toError(err).message}): make one with \`maxwell research verification --model-out ${file}\`, or set verification.model to shipped`, { cause: err });
  }
}

/** What the verifier needs of the inference service. */
export interface ProbePort {
  serves(agentId: AgentId): boolean;
  /** Milliseconds of [sinceMs, nowMs] (performance.now()) during which one of the daemon's requests was open on the agent. */
  openMs(agentId: AgentId, sinceMs: number, nowMs: number): number;
  probe(agentId: AgentId, prompt: readonly number[], maxNewTokens: number): Promise<ProbeOutcome> | null;
}

export interface ClaimVerifierOptions {
  readonly model: ClaimModel | null;
  readonly source: string;
  readonly config: Readonly<MaxwellConfig['verification']>;
  readonly session: MarketSession;
  /** The share of a core the agent is allowed now (0: frozen): the enforcer's view of the runtime. */
  readonly allowance: (agentId: AgentId) => number;
  readonly probes: ProbePort;
  readonly random?: () => number;
  readonly nowMs?: () => number;
  /**
   * The agent's own cgroup CPU counter (ns or µs), for the request timeline: /proc counts CPU in
   * 10 ms ticks, so a short request's CPU can surface rows later, in what looks like idle time.
   * Without one (or where it cannot be opened) the timeline uses the trace's /proc CPU.
   */
  readonly cpuCounter?: (agentId: AgentId, pid: number) => CpuCounterFile | null;
  /** Every judged window, with its figures (the research job collects honest scores from it). */
  readonly onWindow?: (agentId: AgentId, window: JudgedWindow) => void;
  /** The features of every passive window (of running rows), judged or not (the research job builds references from them). */
  readonly onPassiveFeatures?: (agentId: AgentId, claims: WorkClass, features: Float64Array) => void;
}

/** One judged window: the verdict and what it rests on. */
export interface JudgedWindow {
  readonly claims: WorkClass;
  readonly consistent: boolean;
  readonly observed: string;
  readonly why: string;
  /** Which check decided: a plain rule, the conformal test, or none (no model for the claim). */
  readonly check: 'no-serve' | 'idle-busy' | 'serving-idle' | 'timeline' | 'passive' | 'rules-only';
  /** The timeline's nonconformity score (idle − serving CPU) or the passive k-NN distance; NaN where none. */
  readonly score: number;
  readonly p: number;
}

type Verdict = Omit<JudgedWindow, 'claims'>;

interface Watched {
  readonly claims: WorkClass;
  /** The /proc trace; null for an inference claimant with a cgroup counter (the timeline needs nothing else, and it costs far less). */
  readonly recorder: TraceRecorder | null;
  /** Context of each trace row, same index. */
  readonly contexts: RowContext[];
  /** The cgroup counter's CPU over each trace row (cores), same index; empty without a counter. */
  readonly counterCpu: number[];
  readonly counter: CpuCounter | null;
  lastCounterS: number;
  runningRows: number;
  /** Running rows since it was first watched (the grace to say `serve` counts these). */
  runningSinceStart: number;
  sinceServing: number;
  lastAllowance: number;
  /** When the last row ended (performance.now(), ms). */
  lastSampleMs: number;
  nextProbeAtMs: number;
  probing: boolean;
  /** It has said `serve` (inference claimants). */
  served: boolean;
}

export class ClaimVerifier {
  readonly #model: ClaimModel | null;
  readonly #source: string;
  readonly #options: ClaimVerifierOptions;
  readonly #watched = new Map<AgentId, Watched>();
  readonly #random: () => number;
  readonly #nowMs: () => number;
  readonly #scratch = new ActivityTrace(100, VERIFY_WINDOW_ROWS);
  /** CPU of every tick's work (sampling, probing, judging), s. */
  #costS = 0;

  constructor(options: ClaimVerifierOptions) {
    this.#model = options.model;
    this.#source = options.source;
    this.#options = options;
    this.#random = options.random ?? Math.random;
    this.#nowMs = options.nowMs ?? (() => performance.now());
  }

  /** Where verdicts come from, in words. */
  describe(): string {
    if (this.#model === null) return `inference claims: probed, judged by plain rules only; other claims not judged (no claim model at ${this.#source}: make one with maxwell research verification --model-out FILE)`;
    const timeline = this.#model.timelineSource ?? 'no timeline calibration: plain rules only';
    return `open-set conformal test (α = ${String(this.#options.config.alpha)}), claim model ${this.#source} (${this.#model.madeBy}); inference: probes and the request timeline (${timeline}); passive reference for ${this.#model.passiveClasses.join(', ') || 'no class'}`;
  }

  watch(agentId: AgentId, pid: number, claims: WorkClass): void {
    // Only the request timeline reads the counter; the passive test works on the /proc trace.
    const counterFile = claims === 'inference' ? (this.#options.cpuCounter?.(agentId, pid) ?? null) : null;
    const counter = counterFile === null ? null : CpuCounter.open(counterFile);
    this.#watched.set(agentId, {
      claims,
      recorder: claims === 'inference' && counter !== null ? null : new TraceRecorder({ pid }),
      contexts: [],
      counterCpu: [],
      counter,
      lastCounterS: counter?.readS() ?? Number.NaN,
      runningRows: 0,
      runningSinceStart: 0,
      sinceServing: Number.POSITIVE_INFINITY,
      lastAllowance: 0,
      lastSampleMs: performance.now(),
      nextProbeAtMs: 0,
      probing: false,
      served: false,
    });
  }

  forget(agentId: AgentId): void {
    const w = this.#watched.get(agentId);
    if (w === undefined) return;
    w.recorder?.close();
    w.counter?.close();
    this.#watched.delete(agentId);
  }

  /** One tick: a sample per traced agent, probes where due, a verdict per full window. */
  tick(): void {
    if (this.#watched.size === 0) return;
    const started = process.cpuUsage();
    for (const [agentId, w] of this.#watched) {
      const allowance = this.#options.allowance(agentId);
      const nowMs = performance.now();
      const openMs = w.claims === 'inference' ? this.#options.probes.openMs(agentId, w.lastSampleMs, nowMs) : 0;
      const open = nowMs > w.lastSampleMs ? openMs / (nowMs - w.lastSampleMs) : 0;
      const before = w.recorder?.trace.length ?? 0;
      w.recorder?.sample();
      const counterCpu = this.#readCounter(w, nowMs);
      // A row a tick from the counter; the recorder adds one from its second sample on, while the agent lives.
      if (w.recorder === null || w.recorder.trace.length > before) {
        const context: RowContext = { allowance: Math.min(allowance, w.lastAllowance), serving: openMs > 0, open };
        w.contexts.push(context);
        if (w.counter !== null) w.counterCpu.push(counterCpu);
        if (context.allowance > 0) {
          w.runningRows++;
          w.runningSinceStart++;
        }
      }
      w.lastAllowance = allowance;
      w.lastSampleMs = nowMs;
      if (w.claims === 'inference') this.#maybeProbe(agentId, w, allowance);
      if (!w.served && w.claims === 'inference' && this.#options.probes.serves(agentId)) {
        // From its `serve` on: what it did before (loading a model) is not idle time between requests.
        w.served = true;
        this.#startWindow(w);
      }
      if (w.runningRows >= this.#windowRows(w)) this.#maybeJudge(agentId, w);
      else if (w.contexts.length >= MAX_PENDING_ROWS) this.#startWindow(w);
    }
    const spent = process.cpuUsage(started);
    this.#costS += (spent.user + spent.system) / 1e6;
  }

  #windowRows(w: Watched): number {
    if (w.claims !== 'inference') return VERIFY_WINDOW_ROWS;
    return w.served ? TIMELINE_WINDOW_ROWS : NO_SERVE_WINDOW_ROWS;
  }

  /** Cores of CPU the counter saw over the row ending at `nowMs` (it is read with the row: 0 without a counter). */
  #readCounter(w: Watched, nowMs: number): number {
    if (w.counter === null) return 0;
    const cpuS = w.counter.readS();
    const rowS = (nowMs - w.lastSampleMs) / 1000;
    const cores = Number.isFinite(cpuS) && Number.isFinite(w.lastCounterS) && rowS > 0 ? Math.max(0, (cpuS - w.lastCounterS) / rowS) : 0;
    w.lastCounterS = cpuS;
    return cores;
  }

  #maybeProbe(agentId: AgentId, w: Watched, allowance: number): void {
    const now = this.#nowMs();
    if (w.probing || allowance <= 0 || now < w.nextProbeAtMs || !w.served) return;
    const promptLength = 8 + Math.floor(this.#random() * 17);
    const prompt = Array.from({ length: promptLength }, () => Math.floor(this.#random() * PROBE_VOCAB));
    const tokens = 16 + Math.floor(this.#random() * 33);
    const probe = this.#options.probes.probe(agentId, prompt, tokens);
    if (probe === null) return;
    w.probing = true;
    const gapMs = this.#options.config.probeGapMs * (0.5 + this.#random());
    // An unanswered probe needs no rule of its own: its rows are serving rows without CPU.
    void probe.catch(() => undefined).finally(() => {
      w.probing = false;
      w.nextProbeAtMs = this.#nowMs() + gapMs;
    });
  }

  #maybeJudge(agentId: AgentId, w: Watched): void {
    const to = w.contexts.length;
    const verdict = w.claims === 'inference' ? this.#judgeInference(agentId, w, to) : this.#judgePassive(agentId, w, to);
    if (verdict === 'wait') return;
    this.#startWindow(w);
    if (verdict === null) return;
    this.#options.session.noteClaimVerdict(agentId, verdict);
    this.#options.onWindow?.(agentId, { claims: w.claims, ...verdict });
  }

  /** The window is judged (or dropped): start the next one, keeping only how long ago a request was open. */
  #startWindow(w: Watched): void {
    for (const context of w.contexts) w.sinceServing = context.serving ? 0 : w.sinceServing + 1;
    w.recorder?.trace.keepLast(0);
    w.contexts.length = 0;
    w.counterCpu.length = 0;
    w.runningRows = 0;
  }

  #judgeInference(agentId: AgentId, w: Watched, to: number): Verdict | 'wait' | null {
    const config = this.#options.config;
    if (!w.served) {
      if (w.runningSinceStart < config.serveWithinS * 100) return null;
      return { consistent: false, check: 'no-serve', score: Number.NaN, p: Number.NaN, observed: 'serves no requests', why: `claims inference but has not said serve after ${String(config.serveWithinS)} s of running: nothing it does can be checked against requests` };
    }
    const cpu = w.recorder === null ? w.counterCpu : w.recorder.trace.column(0, 0, to);
    const stats = timelineStats(cpu, w.contexts, 0, to, w.sinceServing);
    const score = timelineScore(stats);
    const figures = `idle CPU ${fmt(stats.idleCpu)} over ${String(stats.idleRows)} rows, serving CPU ${fmt(stats.servingCpu)} per open time (${fmt(stats.servingRowCpu)} a row) over ${String(stats.servingRows)} rows, of the allowed share`;
    // Busy with nothing asked needs no serving rows to be seen; everything else waits for enough of both.
    if (stats.idleRows >= MIN_IDLE_ROWS && stats.idleCpu > IDLE_CPU_LIMIT) return { consistent: false, check: 'idle-busy', score, p: Number.NaN, observed: `busy with no request open (${fmt(stats.idleCpu)} of a core)`, why: `rule: a server with no request open has nothing to compute; ${figures}` };
    const enough = stats.idleRows >= MIN_IDLE_ROWS && stats.servingRows >= MIN_SERVING_ROWS;
    if (!enough && w.runningRows < MAX_WINDOW_ROWS) return 'wait';
    // Enough serving rows, or, at the longest window, requests answered in a row or two each.
    if (stats.servingRows >= (enough ? MIN_SERVING_ROWS : 2) && stats.servingRowCpu < SERVING_CPU_FLOOR) return { consistent: false, check: 'serving-idle', score, p: Number.NaN, observed: `no CPU while serving (${fmt(stats.servingRowCpu)} of a core a row)`, why: `rule: requests open and the CPU to serve them, but nothing computed; ${figures}` };
    // At the longest window, requests answered faster than the trace's rows are judged by the rows they opened in.
    if (stats.idleRows < MIN_IDLE_ROWS || stats.servingRows === 0) return null;
    const verdict = this.#model?.timeline(score) ?? null;
    if (verdict === null) return { consistent: true, check: 'rules-only', score, p: Number.NaN, observed: 'inference', why: `plain rules only (no timeline calibration); ${figures}` };
    return this.#conformal('inference', 'timeline', verdict, `request timeline: idle − serving CPU ${fmt(verdict.score)}; ${figures}`, 'activity that does not follow the requests');
  }

  #judgePassive(agentId: AgentId, w: Watched, to: number): Verdict | null {
    if (this.#model === null && this.#options.onPassiveFeatures === undefined) return null;
    // The running rows only, CPU as a share of the allowance: what the agent did while it could.
    const scratch = this.#scratch;
    scratch.keepLast(0);
    const trace = w.recorder?.trace;
    if (trace === undefined) return null;
    for (let i = 0; i < to; i++) {
      const context = w.contexts[i];
      if (context === undefined || context.allowance <= 0) continue;
      const row = Float64Array.from(trace.row(i));
      row[0] = allowedShare(row[0] ?? 0, context.allowance);
      scratch.push(row.subarray(0, CHANNEL_COUNT));
    }
    if (scratch.length < VERIFY_WINDOW_ROWS) return null;
    const features = windowFeatures(scratch, scratch.length - VERIFY_WINDOW_ROWS, VERIFY_WINDOW_ROWS);
    this.#options.onPassiveFeatures?.(agentId, w.claims, features);
    const verdict = this.#model?.passive(w.claims, features) ?? null;
    if (verdict === null) return null;
    return this.#conformal(w.claims, 'passive', verdict, `${String(VERIFY_WINDOW_ROWS)} running rows against honest ${w.claims} windows (3 nearest neighbours)`, `unlike any honest ${w.claims} window`);
  }

  #conformal(claims: WorkClass, check: 'timeline' | 'passive', verdict: ConformalVerdict, what: string, unlike: string): Verdict {
    const consistent = verdict.p > this.#options.config.alpha;
    return { consistent, check, score: verdict.score, p: verdict.p, observed: consistent ? claims : `${unlike} (p = ${verdict.p.toFixed(3)})`, why: `${what}; conformal p = ${verdict.p.toFixed(3)} over ${String(verdict.n)} honest windows, α = ${String(this.#options.config.alpha)}` };
  }

  /** CPU spent tracing and judging so far, s. */
  costS(): number {
    return this.#costS;
  }

  close(): void {
    for (const id of [...this.#watched.keys()]) this.forget(id);
  }
}

/** A cgroup CPU counter file kept open (one pread a tick). */
class CpuCounter {
  readonly #file: AttributeFile;
  readonly #format: CpuCounterFile['format'];
  readonly #decoder = new TextDecoder();

  private constructor(file: AttributeFile, format: CpuCounterFile['format']) {
    this.#file = file;
    this.#format = format;
  }

  static open(spec: CpuCounterFile): CpuCounter | null {
    const file = new AttributeFile(spec.path, 512);
    try {
      file.open();
    } catch {
      return null;
    }
    return new CpuCounter(file, spec.format);
  }

  readS(): number {
    // cpuacct.usage is one integer: read without making a string (this runs per agent per tick).
    if (this.#format === 'cpuacct.usage') return this.#file.readInt() / 1e9;
    return parseCpuCounter(this.#decoder.decode(this.#file.readBytes()), this.#format);
  }

  close(): void {
    this.#file.close();
  }
}

function fmt(v: number): string {
  return Number.isFinite(v) ? v.toFixed(2) : 'n/a';
}
