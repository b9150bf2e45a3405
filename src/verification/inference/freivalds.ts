/**
 * Layer 3 of the proof of inference: Freivalds' check of a committed matrix product C = A·B.
 *
 * Instead of recomputing A·B (n·k·m multiply-adds), draw a random vector r ∈ {0,1}^m and compare
 * C·r with A·(B·r) (n·m + k·m + n·k). In exact arithmetic, if C ≠ A·B then C·r ≠ A·(B·r) with
 * probability ≥ 1/2 for each r, so k independent vectors accept a wrong product with probability
 * ≤ 2^-k.
 *
 * Floating point: an honest C is A·B rounded (float32 in onnxruntime), so the comparison needs a
 * tolerance. The residual of row i is scaled by the size of what was summed,
 * (|A|·(|B|·r))_i, the standard bound on a dot product's rounding error; an honest float32 product
 * of inner dimension k stays below ≈ k·2^-24 of it. The tolerance {@link DEFAULT_TOLERANCE} is
 * stated here and its margin over the largest honest residual is MEASURED by
 * `maxwell research proof-of-inference` (docs/VERIFICATION.md). A wrong entry of C changed by δ is
 * caught (when its column is drawn) only if |δ| > tolerance × (|A|·(|B|·r))_i: perturbations below
 * that are accepted by design, so the 2^-k bound holds for errors above the tolerance only.
 */
import { InvalidArgumentError } from '../../errors.js';
import type { SeededRandom } from '../../internal/seeded-random.js';
import type { Matrix } from './model.js';

/**
 * Relative residual above which a product is rejected: 10^-6, about 17 × the float32 unit
 * roundoff u = 2^-24. The worst-case bound on a dot product of length 64 is 64·u ≈ 3.8·10^-6,
 * reached only when every rounding error has the same sign; the largest honest residual measured
 * on this model is about 10^-8 (docs/research/proof-of-inference-dev-vm.md), so the margin over
 * what honest float32 arithmetic was seen to do is about 100×.
 */
export const DEFAULT_TOLERANCE = 1e-6;
/** Random vectors per check: false accept ≤ 2^-16 in exact arithmetic. */
export const DEFAULT_VECTORS = 16;

export interface FreivaldsOptions {
  /** Random vectors, ≥ 1. @default 16 */
  readonly vectors?: number;
  /** @default {@link DEFAULT_TOLERANCE} */
  readonly tolerance?: number;
  /** Draws the vectors; seed it for a reproducible check. */
  readonly rng: SeededRandom;
}

export interface FreivaldsResult {
  readonly accepted: boolean;
  /** Largest relative residual over all vectors and rows. */
  readonly worstResidual: number;
  readonly vectors: number;
  /** Why it was rejected without arithmetic (shapes), if it was. */
  readonly reason?: string;
}

/** max_i |(C·r − A·(B·r))_i| / (|A|·(|B|·r))_i for one 0/1 vector r (rows whose bound is 0 compare absolutely). */
export function freivaldsResidual(a: Matrix, b: Matrix, c: Matrix, r: Uint8Array): number {
  const { rows: n, cols: k } = a;
  const m = b.cols;
  // The columns r selects: B·r and C·r only sum those.
  const picked = new Int32Array(m);
  let count = 0;
  for (let j = 0; j < m; j++) if (r[j] !== 0) picked[count++] = j;
  const br = new Float64Array(k);
  const absBr = new Float64Array(k);
  const bd = b.data;
  for (let i = 0; i < k; i++) {
    let s = 0;
    let t = 0;
    const off = i * m;
    for (let q = 0; q < count; q++) {
      const v = bd[off + (picked[q] as number)] as number;
      s += v;
      t += v < 0 ? -v : v;
    }
    br[i] = s;
    absBr[i] = t;
  }
  let worst = 0;
  const ad = a.data;
  const cd = c.data;
  for (let row = 0; row < n; row++) {
    let abr = 0;
    let bound = 0;
    const aoff = row * k;
    for (let i = 0; i < k; i++) {
      const v = ad[aoff + i] as number;
      abr += v * (br[i] as number);
      bound += (v < 0 ? -v : v) * (absBr[i] as number);
    }
    let cr = 0;
    const coff = row * m;
    for (let q = 0; q < count; q++) cr += cd[coff + (picked[q] as number)] as number;
    const diff = Math.abs(cr - abr);
    const residual = bound > 0 ? diff / bound : diff;
    if (!(residual <= worst)) worst = residual; // NaN propagates as a rejection
  }
  return worst;
}

/** Fills `r` with independent fair bits, 32 from each uniform draw. */
export function fillBits(r: Uint8Array, rng: SeededRandom): void {
  for (let j = 0; j < r.length; j += 32) {
    let bits = Math.floor(rng.uniform() * 2 ** 32);
    for (let b = 0; b < 32 && j + b < r.length; b++) {
      r[j + b] = bits & 1;
      bits >>>= 1;
    }
  }
}

/** Freivalds' check of C = A·B with `vectors` random 0/1 vectors. */
export function freivalds(a: Matrix, b: Matrix, c: Matrix, options: FreivaldsOptions): FreivaldsResult {
  const vectors = options.vectors ?? DEFAULT_VECTORS;
  const tolerance = options.tolerance ?? DEFAULT_TOLERANCE;
  if (!Number.isInteger(vectors) || vectors < 1) throw new InvalidArgumentError(`vectors must be a positive integer, got ${String(vectors)}`);
  if (!(tolerance >= 0)) throw new InvalidArgumentError(`tolerance must be ≥ 0, got ${String(tolerance)}`);
  if (a.cols !== b.rows || c.rows !== a.rows || c.cols !== b.cols) {
    return { accepted: false, worstResidual: Number.POSITIVE_INFINITY, vectors: 0, reason: `shapes do not chain: [${String(a.rows)}×${String(a.cols)}]·[${String(b.rows)}×${String(b.cols)}] ≠ [${String(c.rows)}×${String(c.cols)}]` };
  }
  const r = new Uint8Array(b.cols);
  let worst = 0;
  for (let v = 0; v < vectors; v++) {
    fillBits(r, options.rng);
    const residual = freivaldsResidual(a, b, c, r);
    if (!(residual <= worst)) worst = residual;
    if (!(worst <= tolerance)) return { accepted: false, worstResidual: worst, vectors: v + 1 };
  }
  return { accepted: true, worstResidual: worst, vectors };
}

/** C = A·B accumulated in float32, as a runtime would (what a forger computes; the full cost Freivalds avoids). */
export function multiply(a: Matrix, b: Matrix): Matrix {
  if (a.cols !== b.rows) throw new InvalidArgumentError(`cannot multiply [${String(a.rows)}×${String(a.cols)}] by [${String(b.rows)}×${String(b.cols)}]`);
  const out = new Float32Array(a.rows * b.cols);
  for (let i = 0; i < a.rows; i++) {
    for (let k = 0; k < a.cols; k++) {
      const v = a.data[i * a.cols + k] ?? 0;
      if (v === 0) continue;
      const boff = k * b.cols;
      const ooff = i * b.cols;
      for (let j = 0; j < b.cols; j++) out[ooff + j] = (out[ooff + j] ?? 0) + v * (b.data[boff + j] ?? 0);
    }
  }
  return { rows: a.rows, cols: b.cols, data: out };
}
