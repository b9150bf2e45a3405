/**
 * From what each plane's controller asks for to what each core may run.
 *
 * Controller i outputs u_i: the share of full heat plane i can take. Heat reaches plane i
 * from every core j in proportion to K_ij, so one core cannot always cool itself: on an
 * 8-core grid a core throttled to zero still sat 4.5 °C over its limit while its
 * neighbours ran free. Each core therefore obeys every plane it heats, weighted by how much
 * it heats it:
 *
 *     allowed_j = min_i ( 1 − K_ij · (1 − u_i) )
 *
 * With K_jj = 1 this is never more than u_j; a neighbour with K_ij = 0.8 gives up 80 % of
 * what plane i asks; a distant core (K ≈ 0) is left alone.
 */
import { InvalidArgumentError } from '../errors.js';
import type { Matrix } from '../physics/coupling.js';

/** Precomputed allocation for a fixed coupling matrix (cores × cores). */
export class CoupledAllocation {
  readonly #k: Float64Array;
  readonly #n: number;

  constructor(coupling: Matrix) {
    const n = coupling.length;
    this.#n = n;
    this.#k = new Float64Array(n * n);
    coupling.forEach((row, i) => {
      if (row.length < n) throw new InvalidArgumentError(`coupling row ${i} has ${row.length} entries, need ${n}`);
      for (let j = 0; j < n; j++) {
        const v = row[j] ?? Number.NaN;
        if (!(v >= 0 && v <= 1.5)) throw new InvalidArgumentError(`coupling[${i}][${j}] = ${String(v)} is not a coupling`);
        // Identified entries carry noise; a share above 1 would over-correct.
        this.#k[i * n + j] = Math.min(1, v);
      }
    });
  }

  /** Writes each core's allowed fraction, in [0, 1], for the controllers' outputs `requested`. */
  allocate(requested: ArrayLike<number>, allowed: Float64Array): void {
    const n = this.#n;
    const k = this.#k;
    for (let j = 0; j < n; j++) {
      let limit = 1;
      for (let i = 0; i < n; i++) {
        const u = requested[i] ?? 1;
        const candidate = 1 - (k[i * n + j] ?? 0) * (1 - u);
        if (candidate < limit) limit = candidate;
      }
      allowed[j] = limit < 0 ? 0 : limit;
    }
  }
}
