/**
 * Maxwell's public library surface: the interfaces a user implements or drives, and the
 * factories that build them — nothing internal (no typed-array engines, frame codecs, samplers
 * or attribution windows). Every name here is unique: the two `Provenance` types are
 * `ReadingProvenance` (a telemetry reading's) and `StepProvenance` (a step record's), and the
 * units' `Quantity<U>` is the only `Quantity` (telemetry's is `ReadingQuantity`).
 * @packageDocumentation
 */
export * from './errors.js';
export * from './units/units.js';
export { AGENT_ID_PATTERN, AGENT_ID_RULE, isAgentId, parseAgentId, type AgentId } from './agent-id.js';
export { ManualClock, createMonotonicClock, type AbortOptions, type Clock } from './clock/clock.js';
export { loadConfig, configFromAssignments, configFromEnv, defaultConfig, envNameOf, type ConfigSources } from './config/load.js';
export { configSchema, type MaxwellConfig } from './config/schema.js';

// The market session: Maxwell's rules, pure, and the ports it talks to the world through.
export { MarketSession, MAX_WALLET_J, STARTUP_MS, type MarketSessionOptions, type SessionRules, type Admission } from './session/session.js';
export { MARKET_POLICY, OBSERVE_POLICY, policyFor, type ModePolicy, type SessionMode, type TickRules } from './session/policy.js';
export { PHASE_TRANSITIONS, nextPhase, transition, type PhaseEvent } from './session/phase.js';
export type { AgentChannel, EnforcementPort, ErasureFeed, LedgerWriter, ThermalInput, ThermalProvenance } from './session/ports.js';
export type { AgentPhase, AgentRole, AgentView, Decision, WalletView } from './session/types.js';

// What runs agents, and where erasure comes from: implement these to add a runtime or a source.
export { RUNTIME_KINDS, type AgentRuntime, type AgentSpec, type AgentInfo, type AgentExit, type AgentUsage, type AgentState, type RuntimeKind, type PauseResult, type PauseMechanism, type ManagedCpu } from './runtimes/runtime.js';
export type { EntropySource, EntropyProvenance, EntropyQuality, EraseEvent, WatchedAgent } from './market/entropy.js';
export { selectEntropySource, type EntropyBackend, type EntropySelection, type EntropySelectionOptions } from './entropy/ebpf/select.js';

// The daemon as operators drive it.
export type { DaemonControl, DaemonSnapshot, SpawnRequest, TickEvent, PlaneSnapshot } from './api/control.js';

// Physics, identification and control.
export { ThermalTwin, type PlaneInfo, type PlaneKind } from './physics/thermal-twin.js';
export { DEFAULT_TWIN_PARAMS, resolveTwinParams, type ThermalTwinParams, type ResolvedTwinParams } from './physics/twin-params.js';
export { DESIGN_COUPLING_4_CORES, defaultCoreCoupling, validateCoupling, type Matrix } from './physics/coupling.js';
export { fitFopdt, fitGainKnownDynamics, fopdtResponse, IDENT_WARNING_CODES, type FopdtFit, type FitDiagnostics, type IdentWarning, type IdentWarningCode, type StepRecord, type Estimate } from './identification/fopdt.js';
export { parseStepCsv, stepRecordFromCsv } from './identification/step-csv.js';
export { identifyPlant, type IdentifiedPlant, type IdentificationOptions } from './identification/identify-plant.js';
export type { StepPlant, StepRequest, StepTrace, StepProvenance } from './identification/step-plant.js';
export { PidController, createPidParams, validatePidParams, type PidParams, type PidInit } from './control/pid.js';
export { tunePid, type FopdtModel, type Tuning, type TuningRule } from './control/tuning.js';
export { coreCoupling, coreLoopModels, type CoreLoopOptions } from './control/thermal-loop.js';
export { CoupledAllocation } from './control/allocation.js';
export { createTwinStepPlant } from './simulation/twin-step-plant.js';
export { runClosedLoop, loopMetrics, type ClosedLoopTimeline, type LoopMetrics } from './simulation/closed-loop.js';
export { calibrateTwin, effectiveTwinPlant, type TwinCalibrationReport, type Comparison } from './simulation/calibrate-twin.js';
export { runTwinDemo, type TwinDemoReport } from './simulation/twin-demo.js';

// Telemetry: implement `TelemetryReader` to add a sensor.
export type { TelemetryReader, Reading, ReadingProvenance, ChannelInfo, ProbeResult, SourceKind, ReadingQuantity } from './telemetry/reader.js';
export { discoverSensors, type SensorReport } from './telemetry/discovery.js';

// Prices, the tax and the work oracle.
export { ThermalPricing, DEFAULT_PRICING, reservePrice, type PricingParams } from './market/pricing.js';
export { BID_OUTCOMES, type ClearingMode, type BidOutcome } from './market/clearing.js';
export { PrimeOracle, isPrime64, type WorkOracle, type PrimeClaim, type WorkVerdict } from './market/prime-oracle.js';
export { landauerTax, BOLTZMANN_J_PER_K, DEFAULT_LANDAUER_MULTIPLIER, type LandauerCharge } from './market/landauer.js';

// The agent protocol, as an agent speaks it.
export { connectMaxwell, MaxwellClient, type ConnectOptions, type BidRequest, type MaxwellClientEvents } from './protocol/client.js';
export { PROTOCOL_VERSION, PROTOCOL_REJECTION_CODES, type ProtocolLimits, type ProtocolRejectionCode } from './protocol/frames.js';
export type { AgentMessage, DaemonMessage, Notice } from './protocol/messages.js';
