/**
 * The plant a core's thermal controller sees, derived from an identified machine.
 *
 * The controller sets the fraction of compute allowed on its core. Under a uniform load
 * every core's controller moves together, so core i's temperature responds to the
 * fraction u with gain k_i = R_i · Σ_j K_ij · ΔP_j over the cores j (ΔP_j: core j's power
 * from idle to full load). Tuning with this combined gain, rather than the core's own
 * R_i·ΔP_i, keeps the coupled loops from fighting: the own gain alone would be ≈ 3× too
 * small on the 4-core default and the loops would overshoot.
 */
import { InvalidArgumentError } from '../errors.js';
import type { IdentifiedPlant } from '../identification/identify-plant.js';
import type { FopdtModel } from './tuning.js';

/** One FOPDT model per core, in core order. */
export function coreLoopModels(plant: IdentifiedPlant): FopdtModel[] {
  const cores = plant.planes.filter((p) => p.kind === 'core');
  return cores.map((plane, i) => {
    const row = plant.coupling[i];
    if (row === undefined) throw new InvalidArgumentError(`no coupling row for ${plane.name}`);
    let heat = 0;
    for (let j = 0; j < cores.length; j++) heat += (row[j]?.value ?? 0) * (plant.powerStepW[j] ?? 0);
    return { gain: plane.resistanceKPerW.value * heat, tauS: plane.tauS.value, deadTimeS: plane.deadTimeS.value };
  });
}
