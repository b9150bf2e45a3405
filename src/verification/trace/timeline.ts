/**
 * What an agent did *while it was allowed to run*, beside what the daemon asked of it (pure).
 * Each sample row carries, besides the trace, the market's allowance (0 while frozen, else the
 * share of a core it was sold) and whether a request of the daemon's was open. Rows while frozen
 * say nothing of the agent and are dropped, so the auction's own on/off pattern is never read as
 * the agent's burstiness; CPU is read as a share of the allowance.
 */

/** Rows after a request closes that count as neither serving nor idle: /proc's CPU lags by a sample, and a server may finish writing. */
export const SETTLE_ROWS = 3;

export interface RowContext {
  /** Share of one core the agent was allowed over the row (0: frozen at either end). */
  readonly allowance: number;
  /** A request of the daemon's was open at some point of the row. */
  readonly serving: boolean;
  /**
   * The share of the row a request was open (0–1). A request of 25 ms spans three or four 10 ms
   * rows, two of them in part: CPU per open time, not per row, is what an honest server keeps
   * near 1 whatever its requests' length. Absent: the whole row when `serving`.
   */
  readonly open?: number;
}

export interface TimelineStats {
  /** Rows the agent was allowed to run. */
  readonly runningRows: number;
  readonly idleRows: number;
  readonly servingRows: number;
  /** Mean CPU ÷ allowance over idle rows (no request open, none just closed); NaN without idle rows. */
  readonly idleCpu: number;
  /**
   * CPU ÷ allowance per open time over rows with a request open, above the idle rows' level (what
   * the requests added: an agent busy whatever is asked adds nothing), in [0, 1]; NaN without such rows.
   */
  readonly servingCpu: number;
  /** Mean CPU ÷ allowance per serving row (an agent that answers without computing leaves these near 0, however briefly its requests are open). */
  readonly servingRowCpu: number;
}

/** CPU as a share of what the agent was allowed (one row), capped at 1: several threads can use more than a core. */
export function allowedShare(cpu: number, allowance: number): number {
  return allowance > 0 ? Math.min(1, Math.max(0, cpu) / allowance) : 0;
}

/**
 * Idle and serving CPU over rows [from, to) of `cpu` with their contexts. `sinceServing` is the
 * rows since the last serving row before `from` (Infinity: none), so a window starting just after
 * a request does not count its tail as idle.
 */
export function timelineStats(cpu: ArrayLike<number>, context: readonly RowContext[], from = 0, to = context.length, sinceServing = Number.POSITIVE_INFINITY): TimelineStats {
  let running = 0;
  let idle = 0;
  let idleSum = 0;
  const serving: { share: number; open: number }[] = [];
  let since = sinceServing;
  for (let i = from; i < to; i++) {
    const row = context[i];
    if (row === undefined) continue;
    since = row.serving ? 0 : since + 1;
    if (row.allowance <= 0) continue;
    running++;
    const share = allowedShare(cpu[i] ?? 0, row.allowance);
    if (row.serving) serving.push({ share, open: Math.min(1, Math.max(0, row.open ?? 1)) });
    else if (since > SETTLE_ROWS) {
      idle++;
      idleSum += share;
    }
  }
  const idleCpu = idle === 0 ? Number.NaN : idleSum / idle;
  // A serving row's CPU beyond what the agent does anyway (its idle level, which goes on while a request is open).
  const baseline = Number.isFinite(idleCpu) ? idleCpu : 0;
  let added = 0;
  let open = 0;
  let rowSum = 0;
  for (const row of serving) {
    added += row.share - baseline;
    open += row.open;
    rowSum += row.share;
  }
  return {
    runningRows: running,
    idleRows: idle,
    servingRows: serving.length,
    idleCpu,
    servingCpu: serving.length === 0 ? Number.NaN : Math.min(1, Math.max(0, added / Math.max(open, 1e-9))),
    servingRowCpu: serving.length === 0 ? Number.NaN : rowSum / serving.length,
  };
}

/**
 * The timeline's nonconformity score: idle CPU − serving CPU. An honest server is near −1 (busy
 * only when asked); anything whose activity ignores the requests is near 0, and an agent that
 * answers without computing is ≥ 0. NaN when the window lacks either kind of row.
 */
export function timelineScore(stats: TimelineStats): number {
  return stats.idleCpu - stats.servingCpu;
}
