/**
 * The locally envy-free (LEF) equilibrium of the position auction (Edelman, Ostrovsky & Schwarz,
 * "Internet advertising and the generalized second-price auction", AER 2007, §IV; Varian,
 * "Position auctions", IJIO 2007: the lower symmetric Nash equilibrium), extended to the
 * per-slot reserves of the clearing (`clearing.ts`) — the benchmark the GSP-stability research measures
 * the market against.
 *
 * Slots k = 0…S−1 have qualities q_k (best first) and reserves r_k per unit of quality; agents
 * have values v_0 ≥ v_1 ≥ … per unit of quality. Sorted assortatively, agent k takes slot k
 * while v_k ≥ r_k (the clearing's rule: the first that falls short ends the sale), so m slots
 * are sold. Local envy-freeness — agent k+1 does not want to swap with agent k,
 * q_{k+1}·v_{k+1} − P_{k+1} ≥ q_k·v_{k+1} − P_k — plus the reserve, at the lowest payments:
 *
 *     P_{m−1} = q_{m−1} · max(r_{m−1}, v_m)          (v_m: the best loser's value, 0 if none)
 *     P_k     = max(q_k · r_k, P_{k+1} + (q_k − q_{k+1}) · v_{k+1})      k < m − 1
 *
 * Without reserves this is EOS's lowest LEF outcome, whose payments equal VCG's (their
 * Theorem 2); with one reserve for every slot it equals the Myerson payments Σ_{j≥k}
 * (q_j − q_{j+1})·max(r, v_{j+1}) too. The GSP bids that produce it: agent k+1 bids P_k / q_k
 * (the price per unit of the slot above it), losers bid their values, and the top agent's bid
 * is free above the second's (EOS); it is reported as its value.
 */
import { InvalidArgumentError } from '../errors.js';

/** The LEF outcome for one offer and one set of values. */
export interface EnvyFreeOutcome {
  /** Slots sold, m. */
  readonly sold: number;
  /** Payment of the agent in slot k (k < m), J. */
  readonly payments: Float64Array;
  /** GSP bid of the agent of rank k (values sorted, best first), J per unit of quality; index 0 is its value. */
  readonly bids: Float64Array;
  /** Σ_{k<m} v_k·q_k: the value the truthful assortative allocation creates. */
  readonly welfare: number;
}

/**
 * Computes the LEF outcome into preallocated arrays (no allocation per call once sized).
 * @example
 * const lef = new EnvyFree(8)
 * lef.compute([200, 100], [0, 0], [10, 4, 2]) // payments 600, 200; bids 10, 3, 2
 */
export class EnvyFree {
  #payments: Float64Array;
  #bids: Float64Array;

  constructor(capacity = 16) {
    this.#payments = new Float64Array(capacity);
    this.#bids = new Float64Array(capacity);
  }

  /**
   * `quality` best first (non-increasing, > 0), `reserve` per unit per slot, `valuesDesc` the
   * agents' values sorted best first. The returned arrays are views reused by the next call.
   */
  compute(quality: ArrayLike<number>, reserve: ArrayLike<number>, valuesDesc: ArrayLike<number>): EnvyFreeOutcome {
    const slots = quality.length;
    const n = valuesDesc.length;
    if (reserve.length !== slots) throw new InvalidArgumentError('quality and reserve differ in length');
    for (let i = 1; i < n; i++) {
      if (!((valuesDesc[i] ?? Number.NaN) <= (valuesDesc[i - 1] ?? Number.NaN))) throw new InvalidArgumentError('values must be sorted best first');
    }
    for (let k = 0; k < slots; k++) {
      const q = quality[k] ?? Number.NaN;
      if (!(q > 0) || (k > 0 && q > (quality[k - 1] ?? 0))) throw new InvalidArgumentError('slot qualities must be > 0 and sorted best first');
    }
    if (this.#bids.length < n || this.#payments.length < slots) {
      this.#payments = new Float64Array(Math.max(slots, this.#payments.length * 2));
      this.#bids = new Float64Array(Math.max(n, this.#bids.length * 2));
    }
    let m = 0;
    while (m < slots && m < n && (valuesDesc[m] ?? 0) >= (reserve[m] ?? Infinity) && (valuesDesc[m] ?? 0) > 0) m++;
    const P = this.#payments;
    const b = this.#bids;
    let welfare = 0;
    for (let k = m - 1; k >= 0; k--) {
      const q = quality[k] ?? 0;
      const floor = q * (reserve[k] ?? 0);
      if (k === m - 1) {
        P[k] = Math.max(floor, q * (m < n ? (valuesDesc[m] ?? 0) : 0));
      } else {
        const below = quality[k + 1] ?? 0;
        P[k] = Math.max(floor, (P[k + 1] ?? 0) + (q - below) * (valuesDesc[k + 1] ?? 0));
      }
      welfare += q * (valuesDesc[k] ?? 0);
    }
    for (let i = 0; i < n; i++) {
      // Rank i ≥ 1 within the sold slots bids the unit price of the slot above; the best loser
      // (rank m) and everyone below it bid their values.
      b[i] = i >= 1 && i < m ? (P[i - 1] ?? 0) / (quality[i - 1] ?? 1) : (valuesDesc[i] ?? 0);
    }
    return { sold: m, payments: P.subarray(0, m), bids: b.subarray(0, n), welfare };
  }
}
