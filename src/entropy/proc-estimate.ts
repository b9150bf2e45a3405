/**
 * The estimated entropy source: erasure inferred from drops in each watched process's
 * anonymous resident memory (`RssAnon` in /proc/PID/status), the agent's descendants included.
 *
 * Why only an estimate: it sees the net change between two polls, so memory freed and
 * reallocated in between is invisible, and pages swapped out look erased. It needs no
 * privileges, so it is the fallback when eBPF is unavailable, and says `estimated`.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { NO_EVENTS, type EntropyProvenance, type EntropySource, type EraseEvent, type WatchedAgent } from '../market/entropy.js';

interface Tracked {
  readonly agentId: string;
  readonly rootPid: number;
  /** Last RssAnon per pid of the agent's tree, bytes. */
  readonly lastRss: Map<number, number>;
}

export interface ProcEstimateOptions {
  /** Where procfs is mounted (tests pass a captured tree). @default '/proc' */
  readonly procRoot?: string;
  /** Monotonic time, ms. @default performance.now */
  readonly nowMs?: () => number;
}

/** RssAnon of a process, bytes; undefined when it has gone, null when it may not be read. */
export function readRssAnonBytes(procRoot: string, pid: number): number | null | undefined {
  let text: string;
  try {
    text = readFileSync(`${procRoot}/${String(pid)}/status`, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'EACCES' || code === 'EPERM' ? null : undefined;
  }
  const match = /^RssAnon:\s+(\d+)\s+kB$/m.exec(text);
  return match?.[1] === undefined ? undefined : Number(match[1]) * 1024;
}

/** The pid and all its descendants (via /proc/PID/task/TID/children), parents first. */
export function processTree(procRoot: string, pid: number): number[] {
  const tree: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const current = queue.shift() as number;
    tree.push(current);
    let tasks: string[];
    try {
      tasks = readdirSync(`${procRoot}/${String(current)}/task`);
    } catch {
      continue;
    }
    for (const tid of tasks) {
      try {
        for (const child of readFileSync(`${procRoot}/${String(current)}/task/${tid}/children`, 'utf8').split(' ')) {
          const n = Number(child);
          if (n > 0 && !tree.includes(n) && !queue.includes(n)) queue.push(n);
        }
      } catch {
        // The thread ended between readdir and read.
      }
    }
  }
  return tree;
}

export class ProcEntropyEstimate implements EntropySource {
  readonly #procRoot: string;
  readonly #nowMs: () => number;
  readonly #agents = new Map<string, Tracked>();
  #lost = 0;

  constructor(options: ProcEstimateOptions = {}) {
    this.#procRoot = options.procRoot ?? '/proc';
    this.#nowMs = options.nowMs ?? (() => performance.now());
  }

  provenance(): EntropyProvenance {
    return { source: `${this.#procRoot}/PID/status RssAnon drops between polls (agent and descendants)`, quality: 'estimated', lostEvents: this.#lost };
  }

  watch(agent: WatchedAgent): void {
    const tracked: Tracked = { agentId: agent.agentId, rootPid: agent.pid, lastRss: new Map() };
    this.#poll(tracked, null);
    this.#agents.set(agent.agentId, tracked);
  }

  unwatch(agentId: string): void {
    this.#agents.delete(agentId);
  }

  drain(): readonly EraseEvent[] {
    const events: EraseEvent[] = [];
    for (const tracked of this.#agents.values()) this.#poll(tracked, events);
    return events.length === 0 ? NO_EVENTS : events;
  }

  #poll(tracked: Tracked, events: EraseEvent[] | null): void {
    const atMs = this.#nowMs();
    const seen = new Set<number>();
    for (const pid of processTree(this.#procRoot, tracked.rootPid)) {
      const rss = readRssAnonBytes(this.#procRoot, pid);
      if (rss === undefined) continue;
      if (rss === null) {
        this.#lost += 1;
        continue;
      }
      seen.add(pid);
      const last = tracked.lastRss.get(pid);
      tracked.lastRss.set(pid, rss);
      if (events !== null && last !== undefined && rss < last) events.push({ agentId: tracked.agentId, pid, bytes: last - rss, kind: 'rss-drop', atMs });
    }
    // A process that exited released everything it held: that is erasure too.
    for (const [pid, last] of tracked.lastRss) {
      if (seen.has(pid)) continue;
      tracked.lastRss.delete(pid);
      if (events !== null && last > 0) events.push({ agentId: tracked.agentId, pid, bytes: last, kind: 'exit', atMs });
    }
  }

  close(): Promise<void> {
    this.#agents.clear();
    return Promise.resolve();
  }
}
