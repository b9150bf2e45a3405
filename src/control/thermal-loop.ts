/**
 * The plant a core's thermal controller sees, derived from an identified machine.
 *
 * Controller i's output u_i throttles every core j by K_ij·(1 − u_i) (see
 * `CoupledAllocation`), and core j's power reaches plane i with weight K_ij, so when
 * plane i is the binding constraint its temperature responds to u_i with gain
 * k_i = R_i · Σ_j K_ij² · ΔP_j over the cores j (ΔP_j: core j's power from idle to full
 * load). Tuning with the core's own R_i·ΔP_i alone would be ≈ 2× too aggressive on the
 * 4-core default.
 *
 * The rules behind the gains assume each plane *is* first order plus dead time. A plane whose
 * fit was judged a misfit (`MXW_WARN_IDENT_MISFIT`) is refused with `MXW_ERR_IDENT_MISFIT`
 * unless the caller says, with `allowMisfit`, that it accepts the approximation.
 */
import { IdentMisfitError, InvalidArgumentError } from '../errors.js';
import type { IdentifiedPlant } from '../identification/identify-plant.js';
import type { FopdtModel } from './tuning.js';

/** The identified core-to-core coupling (values only), for `CoupledAllocation`. */
export function coreCoupling(plant: IdentifiedPlant): number[][] {
  const cores = plant.planes.filter((p) => p.kind === 'core').length;
  return plant.coupling.slice(0, cores).map((row) => row.slice(0, cores).map((e) => e.value));
}

/** Options of {@link coreLoopModels}. */
export interface CoreLoopOptions {
  /**
   * Derive models even from planes whose fit is a misfit (the gains then rest on a poor
   * first-order summary of the plane).
   * @default false
   */
  readonly allowMisfit?: boolean;
}

/**
 * One FOPDT model per core, in core order. Throws `MXW_ERR_IDENT_MISFIT` when a core plane's
 * fit is a misfit and `options.allowMisfit` is not `true`.
 * @example coreLoopModels(identified).map((m) => tunePid(m, options))
 */
export function coreLoopModels(plant: IdentifiedPlant, options: CoreLoopOptions = {}): FopdtModel[] {
  const cores = plant.planes.filter((p) => p.kind === 'core');
  const misfits = cores.filter((p) => p.diagnostics.verdict === 'misfit');
  if (misfits.length > 0 && options.allowMisfit !== true) {
    throw new IdentMisfitError(
      `cannot derive controller gains: the step response of ${misfits.map((p) => `${p.name} (${p.diagnostics.reasons.join('; ')})`).join(', ')} ` +
        'is not first order plus dead time; model the plane, or pass allowMisfit / --allow-misfit to tune from the approximation anyway',
    );
  }
  return cores.map((plane, i) => {
    const row = plant.coupling[i];
    if (row === undefined) throw new InvalidArgumentError(`no coupling row for ${plane.name}`);
    let heat = 0;
    for (let j = 0; j < cores.length; j++) {
      const k = Math.min(1, Math.max(0, row[j]?.value ?? 0));
      heat += k * k * (plant.powerStepW[j] ?? 0);
    }
    return { gain: plane.resistanceKPerW.value * heat, tauS: plane.tauS.value, deadTimeS: plane.deadTimeS.value };
  });
}
