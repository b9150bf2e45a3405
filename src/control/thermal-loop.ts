/**
 * The plant a core's thermal controller sees, derived from an identified machine.
 *
 * Controller i's output u_i throttles every core j by K_ij·(1 − u_i) (see
 * `CoupledAllocation`), and core j's power reaches plane i with weight K_ij, so when
 * plane i is the binding constraint its temperature responds to u_i with gain
 * k_i = R_i · Σ_j K_ij² · ΔP_j over the cores j (ΔP_j: core j's power from idle to full
 * load). Tuning with the core's own R_i·ΔP_i alone would be ≈ 2× too aggressive on the
 * 4-core default.
 */
import { InvalidArgumentError } from '../errors.js';
import type { IdentifiedPlant } from '../identification/identify-plant.js';
import type { FopdtModel } from './tuning.js';

/** The identified core-to-core coupling (values only), for `CoupledAllocation`. */
export function coreCoupling(plant: IdentifiedPlant): number[][] {
  const cores = plant.planes.filter((p) => p.kind === 'core').length;
  return plant.coupling.slice(0, cores).map((row) => row.slice(0, cores).map((e) => e.value));
}

/** One FOPDT model per core, in core order. */
export function coreLoopModels(plant: IdentifiedPlant): FopdtModel[] {
  const cores = plant.planes.filter((p) => p.kind === 'core');
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
