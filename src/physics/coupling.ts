/**
 * Thermal coupling matrices.
 *
 * `K[i][j]` is the share of heat source j's power that reaches plane i, relative to
 * plane i's own power (so `K[i][i] = 1`). A plane's steady-state rise over ambient is
 * `R_i · Σ_j K[i][j] · P_j`. Entries are dimensionless in [0, 1].
 */
import { TwinCouplingError } from '../errors.js';

/** A square matrix as rows. */
export type Matrix = readonly (readonly number[])[];

/**
 * The 4-core example of docs/DESIGN.md §2 (core 0 nearest the GPU). An *assumed* default:
 * `maxwell calibrate` measures the real one.
 */
export const DESIGN_COUPLING_4_CORES = [
  [1.0, 0.85, 0.6, 0.35],
  [0.85, 1.0, 0.75, 0.5],
  [0.6, 0.75, 1.0, 0.7],
  [0.35, 0.5, 0.7, 1.0],
] as const satisfies Matrix;

/**
 * Share of the GPU's power reaching core 0 in the default layout (assumed). Other
 * cores get less with grid distance from core 0, by the same law as core-to-core.
 */
export const DEFAULT_GPU_TO_CORE0_COUPLING = 0.04;

/** Distance (in core pitches) at which generated core-to-core coupling falls to one half. */
const HALF_COUPLING_DISTANCE = 2;

/** Places `cores` on a near-square grid, row by row, and returns each core's (row, column). */
function gridPositions(cores: number): [number, number][] {
  const columns = Math.ceil(Math.sqrt(cores));
  return Array.from({ length: cores }, (_, i) => [Math.floor(i / columns), i % columns]);
}

function decay(distance: number): number {
  return 1 / (1 + (distance / HALF_COUPLING_DISTANCE) ** 2);
}

/**
 * The default core-to-core coupling for `cores` cores: the docs/DESIGN.md matrix for 4,
 * otherwise cores on a near-square grid with coupling `1 / (1 + (d/2)²)` at grid
 * distance d (which gives 0.8, 0.5, 0.31 at 1, 2, 3 pitches, the same profile as the
 * 4-core example).
 */
export function defaultCoreCoupling(cores: number): number[][] {
  if (cores === 4) return DESIGN_COUPLING_4_CORES.map((row) => [...row]);
  const pos = gridPositions(cores);
  return pos.map(([ri, ci]) => pos.map(([rj, cj]) => decay(Math.hypot(ri - rj, ci - cj))));
}

/** Default share of the GPU's power reaching each core: falls with distance from core 0. */
export function defaultGpuToCoreCoupling(cores: number): number[] {
  const pos = gridPositions(cores);
  const [r0, c0] = pos[0] ?? [0, 0];
  return pos.map(([r, c]) => DEFAULT_GPU_TO_CORE0_COUPLING * decay(Math.hypot(r - r0, c - c0)));
}

/** Mean row sum: how much heat a plane sees, relative to its own, when all sources run equally. */
export function meanRowSum(k: Matrix): number {
  let total = 0;
  for (const row of k) for (const v of row) total += v;
  return total / k.length;
}

/**
 * Checks that `k` is an n×n matrix of finite numbers in [0, 1] with ones on the diagonal.
 * Throws `MXW_ERR_TWIN_COUPLING` naming the first bad entry.
 */
export function validateCoupling(k: Matrix, n: number, name = 'coupling'): void {
  if (k.length !== n) throw new TwinCouplingError(`${name} must have ${n} rows, has ${k.length}`);
  k.forEach((row, i) => {
    if (row.length !== n) throw new TwinCouplingError(`${name}[${i}] must have ${n} columns, has ${row.length}`);
    row.forEach((v, j) => {
      if (!Number.isFinite(v) || v < 0 || v > 1) {
        throw new TwinCouplingError(`${name}[${i}][${j}] = ${String(v)} is outside [0, 1]`);
      }
      if (i === j && v !== 1) throw new TwinCouplingError(`${name}[${i}][${i}] must be 1 (a plane's own heat), got ${v}`);
    });
  });
}
