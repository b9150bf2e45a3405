/**
 * The one error catalogue of Maxwell.
 *
 * Every failure Maxwell reports is a {@link MaxwellError} with a stable `code`
 * (`MXW_ERR_<AREA>_<WHAT>`). Callers match on `code`, never on `message`: messages
 * may be reworded, codes never change meaning and are never reused.
 * `docs/ERRORS.md` has one row per code and a test fails when the two disagree.
 */

const kMaxwellError = Symbol.for('maxwell.error');

/**
 * Every error code Maxwell can raise, with the class that raises it.
 * Adding a code means adding a row to `docs/ERRORS.md` as well.
 */
export const ERROR_CODES = [
  'MXW_ERR_INVALID_ARG',
  'MXW_ERR_UNIT_RANGE',
  'MXW_ERR_CLOCK_BACKWARDS',
  'MXW_ERR_CONFIG_UNKNOWN_KEY',
  'MXW_ERR_CONFIG_INVALID',
  'MXW_ERR_CONFIG_FILE',
  'MXW_ERR_TWIN_PARAMS',
  'MXW_ERR_TWIN_COUPLING',
  'MXW_ERR_IDENT_TOO_SHORT',
  'MXW_ERR_IDENT_UNDERSAMPLED',
  'MXW_ERR_IDENT_NO_RESPONSE',
  'MXW_ERR_IDENT_FIT_FAILED',
  'MXW_ERR_IDENT_MISFIT',
  'MXW_ERR_CSV_FILE',
  'MXW_ERR_CSV_INVALID',
  'MXW_ERR_PID_PARAMS',
  'MXW_ERR_PID_MEASUREMENT',
  'MXW_ERR_SENSORS_UNAVAILABLE',
  'MXW_ERR_READER_NOT_STARTED',
  'MXW_ERR_RUNTIME_SETUP',
  'MXW_ERR_AGENT_UNKNOWN',
  'MXW_ERR_AGENT_EXISTS',
  'MXW_ERR_AGENT_SPEC',
  'MXW_ERR_AGENT_ID',
  'MXW_ERR_CLASSIFIER_LOAD',
  'MXW_ERR_AGENT_START',
  'MXW_ERR_AGENT_STATE',
  'MXW_ERR_AGENT_UNSUPPORTED',
  'MXW_ERR_RUNTIME_UNSUPPORTED',
  'MXW_ERR_LEDGER_OPEN',
  'MXW_ERR_LEDGER_KEY',
  'MXW_ERR_LEDGER_TRANSFER',
  'MXW_ERR_LEDGER_FUNDS',
  'MXW_ERR_LEDGER_REPLAY',
  'MXW_ERR_LEDGER_CORRUPT',
  'MXW_ERR_RESULTS_INVALID',
  'MXW_ERR_REPORT_WRITE',
  'MXW_ERR_PROTOCOL_FRAME_TOO_LARGE',
  'MXW_ERR_PROTOCOL_MALFORMED',
  'MXW_ERR_PROTOCOL_TRUNCATED',
  'MXW_ERR_PROTOCOL_SCHEMA',
  'MXW_ERR_PROTOCOL_UNAUTHENTICATED',
  'MXW_ERR_PROTOCOL_AUTH',
  'MXW_ERR_PROTOCOL_VERSION',
  'MXW_ERR_PROTOCOL_RATE_LIMIT',
  'MXW_ERR_PROTOCOL_BUSY',
  'MXW_ERR_PROTOCOL_SLOW_READER',
  'MXW_ERR_PROTOCOL_CLOSED',
  'MXW_ERR_PROTOCOL_CONNECT',
  'MXW_ERR_EBPF_UNAVAILABLE',
  'MXW_ERR_EBPF_PROTOCOL',
  'MXW_ERR_EBPF_COMMAND',
  'MXW_ERR_API_AUTH',
  'MXW_ERR_API_FORBIDDEN',
  'MXW_ERR_API_VALIDATION',
  'MXW_ERR_API_NOT_FOUND',
  'MXW_ERR_API_BID_REJECTED',
  'MXW_ERR_API_OPTIONS',
  'MXW_ERR_API_DISCOVERY',
  'MXW_ERR_DAEMON_UNREACHABLE',
  'MXW_ERR_MODEL_LOAD',
  'MXW_ERR_MODEL_RUN',
  'MXW_ERR_INFERENCE_NO_SERVER',
  'MXW_ERR_INFERENCE_TIMEOUT',
  'MXW_ERR_INFERENCE_AGENT_GONE',
  'MXW_ERR_FLEET_CONFIG',
  'MXW_ERR_FLEET_BIND',
  'MXW_ERR_FLEET_KEY',
  'MXW_ERR_FLEET_STATE',
  'MXW_ERR_FLEET_PLACEMENT',
  'MXW_ERR_FLEET_LAB',
  'MXW_ERR_SOAK',
  'MXW_ERR_ABORTED',
  'MXW_ERR_INTERNAL',
] as const satisfies readonly `MXW_ERR_${string}`[];

/** A stable Maxwell error code. */
export type MaxwellErrorCode = (typeof ERROR_CODES)[number];

/**
 * Base class of every Maxwell error. Branded with `Symbol.for` so that
 * `instanceof` holds across two loaded copies of the package.
 */
export class MaxwellError extends Error {
  /** Stable machine-readable code; match on this, not on the message. */
  readonly code: MaxwellErrorCode;

  constructor(code: MaxwellErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = 'MaxwellError';
  }

  get [kMaxwellError](): true {
    return true;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kMaxwellError] === true;
  }
}

function defineError<C extends MaxwellErrorCode>(name: string, code: C) {
  const cls = class extends MaxwellError {
    declare readonly code: C;
    constructor(message: string, options?: ErrorOptions) {
      super(code, message, options);
      this.name = name;
    }
  };
  Object.defineProperty(cls, 'name', { value: name });
  return cls;
}

/** An argument had the wrong type or was out of its documented range. */
export const InvalidArgumentError = defineError('InvalidArgumentError', 'MXW_ERR_INVALID_ARG');
/** A physical quantity was not finite or outside what physics allows (e.g. below 0 K). */
export const UnitRangeError = defineError('UnitRangeError', 'MXW_ERR_UNIT_RANGE');
/** A manual clock was asked to move backwards. */
export const ClockBackwardsError = defineError('ClockBackwardsError', 'MXW_ERR_CLOCK_BACKWARDS');
/** A configuration source named a key the schema does not have. */
export const ConfigUnknownKeyError = defineError('ConfigUnknownKeyError', 'MXW_ERR_CONFIG_UNKNOWN_KEY');
/** A configuration value failed validation. */
export const ConfigInvalidError = defineError('ConfigInvalidError', 'MXW_ERR_CONFIG_INVALID');
/** A configuration file could not be read or parsed. */
export const ConfigFileError = defineError('ConfigFileError', 'MXW_ERR_CONFIG_FILE');
/** Thermal twin parameters are inconsistent (e.g. a negative time constant). */
export const TwinParamsError = defineError('TwinParamsError', 'MXW_ERR_TWIN_PARAMS');
/** A coupling matrix is not square, has the wrong size, or has entries outside [0, 1]. */
export const TwinCouplingError = defineError('TwinCouplingError', 'MXW_ERR_TWIN_COUPLING');
/** A step-response record is shorter than three time constants. */
export const IdentTooShortError = defineError('IdentTooShortError', 'MXW_ERR_IDENT_TOO_SHORT');
/** A step-response record has fewer than ten samples per time constant. */
export const IdentUndersampledError = defineError('IdentUndersampledError', 'MXW_ERR_IDENT_UNDERSAMPLED');
/** A step-response record shows no response distinguishable from sensor noise. */
export const IdentNoResponseError = defineError('IdentNoResponseError', 'MXW_ERR_IDENT_NO_RESPONSE');
/** The curve fit did not converge to a usable model. */
export const IdentFitFailedError = defineError('IdentFitFailedError', 'MXW_ERR_IDENT_FIT_FAILED');
/** Controller gains were asked of an identified plant whose fit is a misfit (not first order). */
export const IdentMisfitError = defineError('IdentMisfitError', 'MXW_ERR_IDENT_MISFIT');
/** A step-response CSV file is missing or cannot be read. */
export const CsvFileError = defineError('CsvFileError', 'MXW_ERR_CSV_FILE');
/** A step-response CSV file is empty or malformed (the message names the line). */
export const CsvInvalidError = defineError('CsvInvalidError', 'MXW_ERR_CSV_INVALID');
/** PID parameters are inconsistent (e.g. min output above max output). */
export const PidParamsError = defineError('PidParamsError', 'MXW_ERR_PID_PARAMS');
/** A PID controller was fed a measurement that is not a finite number. */
export const PidMeasurementError = defineError('PidMeasurementError', 'MXW_ERR_PID_MEASUREMENT');
/** Real thermal sensors were requested but are not available. */
export const SensorsUnavailableError = defineError('SensorsUnavailableError', 'MXW_ERR_SENSORS_UNAVAILABLE');
/** A telemetry reader was sampled before `start()` or after `stop()`. */
export const ReaderNotStartedError = defineError('ReaderNotStartedError', 'MXW_ERR_READER_NOT_STARTED');
/** A runtime could not create, write or remove what it needs (a cgroup file, a directory). */
export const RuntimeSetupError = defineError('RuntimeSetupError', 'MXW_ERR_RUNTIME_SETUP');
/** No agent with this id exists in the runtime. */
export const AgentUnknownError = defineError('AgentUnknownError', 'MXW_ERR_AGENT_UNKNOWN');
/** An agent with this id already exists. */
export const AgentExistsError = defineError('AgentExistsError', 'MXW_ERR_AGENT_EXISTS');
/** An agent spec is invalid (id, command, limits). */
export const AgentSpecError = defineError('AgentSpecError', 'MXW_ERR_AGENT_SPEC');
/** A string is not an agent id (`agent-id.ts`: one rule for the API, the daemon, the protocol, the runtimes and the ledger). */
export const AgentIdError = defineError('AgentIdError', 'MXW_ERR_AGENT_ID');
/** The claim model file exists but cannot be used (not JSON, not a claim model, other features). */
export const ClassifierLoadError = defineError('ClassifierLoadError', 'MXW_ERR_CLASSIFIER_LOAD');
/** An agent could not be started (command not found, exited at once, could not join its cgroups). */
export const AgentStartError = defineError('AgentStartError', 'MXW_ERR_AGENT_START');
/** The operation does not fit the agent's state (e.g. pausing an agent that has exited). */
export const AgentStateError = defineError('AgentStateError', 'MXW_ERR_AGENT_STATE');
/** This runtime cannot do what was asked for this kind of agent (e.g. pin a WASM agent to a core). */
export const AgentUnsupportedError = defineError('AgentUnsupportedError', 'MXW_ERR_AGENT_UNSUPPORTED');
/** An agent-protocol frame's length prefix exceeds the frame size limit. */
export const ProtocolFrameTooLargeError = defineError('ProtocolFrameTooLargeError', 'MXW_ERR_PROTOCOL_FRAME_TOO_LARGE');
/** An agent-protocol frame is not a UTF-8 JSON document (or has length 0). */
export const ProtocolMalformedError = defineError('ProtocolMalformedError', 'MXW_ERR_PROTOCOL_MALFORMED');
/** An agent-protocol connection ended in the middle of a frame. */
export const ProtocolTruncatedError = defineError('ProtocolTruncatedError', 'MXW_ERR_PROTOCOL_TRUNCATED');
/** An agent-protocol message is valid JSON but not a valid message (unknown type, bad or extra fields). */
export const ProtocolSchemaError = defineError('ProtocolSchemaError', 'MXW_ERR_PROTOCOL_SCHEMA');
/** An agent-protocol connection sent something other than `hello` first, or no `hello` in time. */
export const ProtocolUnauthenticatedError = defineError('ProtocolUnauthenticatedError', 'MXW_ERR_PROTOCOL_UNAUTHENTICATED');
/** An agent-protocol `hello` carried the wrong token or agent id. */
export const ProtocolAuthError = defineError('ProtocolAuthError', 'MXW_ERR_PROTOCOL_AUTH');
/** An agent-protocol `hello` asked for a protocol version this daemon does not speak. */
export const ProtocolVersionError = defineError('ProtocolVersionError', 'MXW_ERR_PROTOCOL_VERSION');
/** An agent sent frames faster than its connection's rate limit. */
export const ProtocolRateLimitError = defineError('ProtocolRateLimitError', 'MXW_ERR_PROTOCOL_RATE_LIMIT');
/** An agent already has an authenticated connection; a second one was refused. */
export const ProtocolBusyError = defineError('ProtocolBusyError', 'MXW_ERR_PROTOCOL_BUSY');
/** An agent does not read its socket: notices for it queued beyond the limit. */
export const ProtocolSlowReaderError = defineError('ProtocolSlowReaderError', 'MXW_ERR_PROTOCOL_SLOW_READER');
/** An agent-protocol connection is closed; nothing more can be sent on it. */
export const ProtocolClosedError = defineError('ProtocolClosedError', 'MXW_ERR_PROTOCOL_CLOSED');
/** An agent could not connect to its Maxwell socket or was not welcomed. */
export const ProtocolConnectError = defineError('ProtocolConnectError', 'MXW_ERR_PROTOCOL_CONNECT');
/** The Node.js runtime lacks something Maxwell needs. */
export const RuntimeUnsupportedError = defineError('RuntimeUnsupportedError', 'MXW_ERR_RUNTIME_UNSUPPORTED');
/** The ledger database could not be opened, or is not a Maxwell ledger. */
export const LedgerOpenError = defineError('LedgerOpenError', 'MXW_ERR_LEDGER_OPEN');
/** The node's signing key could not be created or read, or is readable by others. */
export const LedgerKeyError = defineError('LedgerKeyError', 'MXW_ERR_LEDGER_KEY');
/** A transfer is malformed: not a positive integer amount, unknown account, or a kind/account mismatch. */
export const LedgerTransferError = defineError('LedgerTransferError', 'MXW_ERR_LEDGER_TRANSFER');
/** A payment or stake exceeds the payer's balance. */
export const LedgerFundsError = defineError('LedgerFundsError', 'MXW_ERR_LEDGER_FUNDS');
/** A tick was committed twice or out of order. */
export const LedgerReplayError = defineError('LedgerReplayError', 'MXW_ERR_LEDGER_REPLAY');
/** `ledger verify` found a broken chain, a bad signature, or joules that do not add up. */
export const LedgerCorruptError = defineError('LedgerCorruptError', 'MXW_ERR_LEDGER_CORRUPT');
/** An experiment results document (`results.json`) is not valid JSON or does not match the schema. */
export const ResultsInvalidError = defineError('ResultsInvalidError', 'MXW_ERR_RESULTS_INVALID');
/** The experiment report folder or one of its files could not be written. */
export const ReportWriteError = defineError('ReportWriteError', 'MXW_ERR_REPORT_WRITE');
/** The eBPF erase loader could not start here (not root, no BTF, not built, attach refused). */
export const EbpfUnavailableError = defineError('EbpfUnavailableError', 'MXW_ERR_EBPF_UNAVAILABLE');
/** The eBPF loader's output broke the frame protocol (bad magic, version or size). */
export const EbpfProtocolError = defineError('EbpfProtocolError', 'MXW_ERR_EBPF_PROTOCOL');
/** The eBPF loader refused a command (a watch map full, a bad id) or died before answering. */
export const EbpfCommandError = defineError('EbpfCommandError', 'MXW_ERR_EBPF_COMMAND');
/** A control-API request carried no bearer token, or a wrong one. */
export const ApiAuthError = defineError('ApiAuthError', 'MXW_ERR_API_AUTH');
export const ApiForbiddenError = defineError('ApiForbiddenError', 'MXW_ERR_API_FORBIDDEN');
/** A control-API request was malformed: not JSON, too large, an unknown or out-of-range field. */
export const ApiValidationError = defineError('ApiValidationError', 'MXW_ERR_API_VALIDATION');
/** A control-API request named a route that does not exist. */
export const ApiNotFoundError = defineError('ApiNotFoundError', 'MXW_ERR_API_NOT_FOUND');
/** The order book refused a bid set through the control API (the message carries its outcome). */
export const ApiBidRejectedError = defineError('ApiBidRejectedError', 'MXW_ERR_API_BID_REJECTED');
/** The control API was started with invalid options (a short token, a bad port or host). */
export const ApiOptionsError = defineError('ApiOptionsError', 'MXW_ERR_API_OPTIONS');
/** The daemon discovery file (`daemon.json`) could not be written or read, is malformed, or is readable by others. */
export const ApiDiscoveryError = defineError('ApiDiscoveryError', 'MXW_ERR_API_DISCOVERY');
/** No Maxwell daemon answers: none is running, or the URL or discovery file is stale. */
export const DaemonUnreachableError = defineError('DaemonUnreachableError', 'MXW_ERR_DAEMON_UNREACHABLE');
/** A model file (.onnx) or its description is missing, corrupt, or not the file its description names. */
export const ModelLoadError = defineError('ModelLoadError', 'MXW_ERR_MODEL_LOAD');
/** The ONNX runtime failed while running a loaded model, or the model returned an unexpected output. */
export const ModelRunError = defineError('ModelRunError', 'MXW_ERR_MODEL_RUN');
/** No agent serves inference (none staked and said `serve`, or the one named does not). */
/** No fleet node qualifies for an agent submitted with `--fleet`. */
export const FleetPlacementError = defineError('FleetPlacementError', 'MXW_ERR_FLEET_PLACEMENT');
/** The fleet experiment's network namespaces could not be set up, or a daemon in one did not start. */
export const FleetLabError = defineError('FleetLabError', 'MXW_ERR_FLEET_LAB');
export const SoakError = defineError('SoakError', 'MXW_ERR_SOAK');
export const InferenceNoServerError = defineError('InferenceNoServerError', 'MXW_ERR_INFERENCE_NO_SERVER');
/** The serving agent did not answer a request in `inference.requestTimeoutMs`. */
export const InferenceTimeoutError = defineError('InferenceTimeoutError', 'MXW_ERR_INFERENCE_TIMEOUT');
/** The serving agent ended before it answered the request. */
export const InferenceAgentGoneError = defineError('InferenceAgentGoneError', 'MXW_ERR_INFERENCE_AGENT_GONE');
/** Fleet (gossip) options are invalid: a SWIM or push-sum parameter out of range, a bad seed address, inconsistent timeouts. */
export const FleetConfigError = defineError('FleetConfigError', 'MXW_ERR_FLEET_CONFIG');
/** The fleet's UDP socket could not be bound to the given address and port. */
export const FleetBindError = defineError('FleetBindError', 'MXW_ERR_FLEET_BIND');
/** The fleet's signing key is not an Ed25519 private key. */
export const FleetKeyError = defineError('FleetKeyError', 'MXW_ERR_FLEET_KEY');
/** A fleet node was started twice, or used after it was stopped. */
export const FleetStateError = defineError('FleetStateError', 'MXW_ERR_FLEET_STATE');
/** An operation was cancelled through its AbortSignal. */
export const AbortedError = defineError('AbortedError', 'MXW_ERR_ABORTED');

/** An unexpected failure inside Maxwell: a bug. The CLI reports any non-Maxwell error with this code. */
export const InternalError = defineError('InternalError', 'MXW_ERR_INTERNAL');

/** Normalises anything thrown into an `Error`. */
export function toError(value: unknown): Error {
  if (value instanceof Error) return value;
  return new Error(typeof value === 'string' ? value : JSON.stringify(value));
}

/** True when `value` is a Maxwell error, optionally with the given code. */
export function isMaxwellError(value: unknown, code?: MaxwellErrorCode): value is MaxwellError {
  return value instanceof MaxwellError && (code === undefined || value.code === code);
}
