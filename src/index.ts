/**
 * Maxwell's public library surface: types and factories, nothing else.
 * @packageDocumentation
 */
export * from './errors.js';
export * from './units/units.js';
export { ManualClock, createMonotonicClock, type AbortOptions, type Clock } from './clock/clock.js';
export { loadConfig, configFromAssignments, configFromEnv, defaultConfig, envNameOf, type ConfigSources } from './config/load.js';
export { configSchema, type MaxwellConfig } from './config/schema.js';
export { ThermalTwin, type PlaneInfo, type PlaneKind } from './physics/thermal-twin.js';
export { DEFAULT_TWIN_PARAMS, resolveTwinParams, type ThermalTwinParams, type ResolvedTwinParams } from './physics/twin-params.js';
export { DESIGN_COUPLING_4_CORES, defaultCoreCoupling, validateCoupling, type Matrix } from './physics/coupling.js';
export {
  fitFopdt,
  fitGainKnownDynamics,
  fopdtResponse,
  misfitWarning,
  IDENT_WARNING_CODES,
  MISFIT_THRESHOLDS,
  type FopdtFit,
  type FitDiagnostics,
  type IdentWarning,
  type IdentWarningCode,
  type StepRecord,
  type Estimate,
} from './identification/fopdt.js';
export { parseStepCsv, stepRecordFromCsv, TIME_COLUMN_NAMES, VALUE_COLUMN_NAMES } from './identification/step-csv.js';
export { identifyPlant, type IdentifiedPlant, type IdentificationOptions } from './identification/identify-plant.js';
export type { StepPlant, StepRequest, StepTrace, Provenance } from './identification/step-plant.js';
export { PidController, createPidParams, validatePidParams, type PidParams, type PidInit } from './control/pid.js';
export { tunePid, type FopdtModel, type Tuning, type TuningRule } from './control/tuning.js';
export { coreCoupling, coreLoopModels, type CoreLoopOptions } from './control/thermal-loop.js';
export { CoupledAllocation } from './control/allocation.js';
export { createTwinStepPlant } from './simulation/twin-step-plant.js';
export { runClosedLoop, loopMetrics, type ClosedLoopTimeline, type LoopMetrics } from './simulation/closed-loop.js';
export { calibrateTwin, effectiveTwinPlant, type TwinCalibrationReport, type Comparison } from './simulation/calibrate-twin.js';
export { runTwinDemo, type TwinDemoReport } from './simulation/twin-demo.js';
export type { TelemetryReader, Reading, Provenance as ReadingProvenance, ChannelInfo, ProbeResult, SourceKind, Quantity } from './telemetry/reader.js';
export { discoverSensors, type SensorReport } from './telemetry/discovery.js';
export { WindowedAttributor, attributeTick, type TickAttribution } from './telemetry/attribution.js';
export { Sampler, type SamplerStats, type SamplerTick } from './telemetry/sampler.js';
export { startSamplerThread } from './telemetry/sampler-host.js';
export type { ReaderSpec } from './telemetry/reader-spec.js';
export { ThermalPricing, DEFAULT_PRICING, reservePrice, type PricingParams } from './market/pricing.js';
export { Clearing, BID_OUTCOMES, type ClearingMode, type BidOutcome } from './market/clearing.js';
export { PrimeOracle, isPrime64, type WorkOracle, type PrimeClaim, type WorkVerdict } from './market/prime-oracle.js';
export { landauerTax, BOLTZMANN_J_PER_K, DEFAULT_LANDAUER_MULTIPLIER, type LandauerCharge } from './market/landauer.js';
export { ProtocolServer, AGENT_ENV, type AgentEndpoint, type ProtocolServerEvents, type ProtocolServerInit } from './protocol/server.js';
export { connectMaxwell, MaxwellClient, type ConnectOptions, type BidRequest, type MaxwellClientEvents } from './protocol/client.js';
export { PROTOCOL_VERSION, PROTOCOL_REJECTION_CODES, FrameDecoder, TokenBucket, createProtocolLimits, encodeFrame, type ProtocolLimits, type ProtocolRejectionCode } from './protocol/frames.js';
export { parseAgentMessage, parseHello, toPrimeClaim, type AgentMessage, type DaemonMessage, type Notice } from './protocol/messages.js';
export { EbpfEntropySource, type EbpfSourceOptions } from './entropy/ebpf/ebpf-source.js';
export { BpftraceEntropySource, type BpftraceSourceOptions } from './entropy/ebpf/bpftrace-source.js';
export { selectEntropySource, FallbackEntropySource, type EntropyBackend, type EntropySelection, type EntropySelectionOptions } from './entropy/ebpf/select.js';
