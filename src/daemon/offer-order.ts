/**
 * The order in which cores are offered, best first: most allowance, then the cheapest (coolest).
 * Slot k of the auction's result is pinned to the k-th core, so a reordering moves running
 * winners between cores. With near-identical cores the plain sort flipped the order on the
 * controller's and the twin's noise most ticks, and every flip cost two cpuset writes: 2.5 % of
 * a core in the daemon's profile (scientist-vs-leech, two cores). So a core overtakes another
 * only when it is clearly better; otherwise last tick's order stands.
 */

/** Allowance difference that counts, as a fraction of a core. */
export const ALLOWANCE_TOLERANCE = 0.05;
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
