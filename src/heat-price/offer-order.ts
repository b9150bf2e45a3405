/**
 * The order in which cores are offered, best first: most allowance, then the cheapest (coolest).
 * Slot k of the auction's result is pinned to the k-th core, so a reordering moves running
 * winners between cores. With near-identical cores the plain sort flipped the order on the
 * controller's and the twin's noise most ticks, and every flip cost two cpuset writes: 2.5 % of
 * a core in the daemon's profile (scientist-vs-leech, two cores). So a core overtakes another
 * only when it is clearly better; otherwise last tick's order stands.
 */

/**
 * Allowance difference that counts, as a fraction of a core. The per-core PID outputs differ by
 * 0.1–0.15 from tick to tick on identical cores (their inputs are /proc/stat's 10 ms counts):
 * at 0.05 the daemon still re-pinned 24 times a second, at 0.2 4 times (10 s runs, 2 cores).
 */
export const ALLOWANCE_TOLERANCE = 0.2;
/** Relative reserve difference that counts. */
export const RESERVE_TOLERANCE = 0.02;

function clearlyBetter(b: number, a: number, allowance: ArrayLike<number>, reserve: ArrayLike<number>): boolean {
  const more = (allowance[b] ?? 0) - (allowance[a] ?? 0);
  if (more > ALLOWANCE_TOLERANCE) return true;
  if (more < -ALLOWANCE_TOLERANCE) return false;
  return (reserve[b] ?? 0) < (reserve[a] ?? 0) * (1 - RESERVE_TOLERANCE);
}

/**
 * Reorders `order` (core indices, last tick's order) in place: insertion sort in which a core
 * moves ahead only of cores it is clearly better than. Allocation-free; O(n) when nothing
 * changed, O(n²) at worst (n is the core count, and this runs once per tick).
 */
export function reorderOffer(order: number[], allowance: ArrayLike<number>, reserve: ArrayLike<number>): void {
  for (let i = 1; i < order.length; i++) {
    const core = order[i] as number;
    let j = i - 1;
    while (j >= 0 && clearlyBetter(core, order[j] as number, allowance, reserve)) {
      order[j + 1] = order[j] as number;
      j--;
    }
    order[j + 1] = core;
  }
}

/** The offer's arrays, filled in place (allocated once by the caller). */
export interface OfferArrays {
  readonly quality: Float64Array;
  readonly reserve: Float64Array;
  readonly unit: Int32Array;
}

/**
 * Writes the offer in `order`, skipping cores with less than `minAllowance`; returns the slot
 * count. The clearing needs qualities best first (non-increasing), and the order above may keep
 * a core whose allowance is up to the tolerance above the one before it: such a slot's quality
 * is capped at the previous slot's (its winner still gets the core's whole allowance as quota;
 * only the clearing's view of the slot is the lower one). Without the cap the clearing refused
 * the offer and the daemon skipped the tick.
 */
export function fillOffer(order: readonly number[], allowance: ArrayLike<number>, reserve: ArrayLike<number>, minAllowance: number, out: OfferArrays): number {
  let slots = 0;
  let cap = Number.POSITIVE_INFINITY;
  for (const core of order) {
    const a = allowance[core] ?? 0;
    if (!(a >= minAllowance)) continue;
    const quality = Math.min(a, cap);
    out.quality[slots] = quality;
    out.reserve[slots] = reserve[core] ?? 0;
    out.unit[slots] = core;
    cap = quality;
    slots++;
  }
  return slots;
}
