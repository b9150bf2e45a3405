/** Twin parameter sets for tests. */
import { DEFAULT_TWIN_PARAMS, type ThermalTwinParams } from '../../src/physics/twin-params.js';

/** A linear, noise-free twin: no leakage, no sensor noise or quantisation. */
export function linearParams(overrides: Partial<ThermalTwinParams> = {}): ThermalTwinParams {
  return {
    ...DEFAULT_TWIN_PARAMS,
    core: { ...DEFAULT_TWIN_PARAMS.core, leakageW: 0 },
    gpuPlane: { ...DEFAULT_TWIN_PARAMS.gpuPlane, leakageW: 0 },
    sensor: { noiseC: 0, quantumC: 0 },
    ...overrides,
  };
}
