/**
 * Layer 2 of the proof of inference: commitments to a request's input and output tensors, and
 * the request's timing signature checked against the model's measured profile.
 *
 * Output floats (the logits, which the verifier recomputes in an audit) are hashed after
 * quantisation to a fixed grid: each value is clamped to ±2^20 and
 * rounded to the nearest multiple of 2^-10, as an int32 (little-endian). Quantisation makes the
 * hash independent of how a runtime prints or stores floats, and of differences far below the grid;
 * it does NOT make two runtimes agree when their floats fall on opposite sides of a grid
 * boundary, which happens with probability ≈ |difference| / 2^-10 per value. Prover and verifier
 * therefore run the same runtime configuration (onnxruntime-node, one thread), where it is exact.
 * Committed activations (the spot tensors) are hashed as exact float32 bytes: see {@link commitTensor}.
 */
import { createHash } from 'node:crypto';
import { endianness } from 'node:os';
import { InvalidArgumentError } from '../../errors.js';

/** Grid step of the quantisation: 2^-10. */
export const QUANT_STEP = 2 ** -10;
/** Values are clamped to ±QUANT_CLAMP before rounding (so every value fits an int32). */
export const QUANT_CLAMP = 2 ** 20;

const LITTLE_ENDIAN = endianness() === 'LE';

/** Rounds each value to the 2^-10 grid after clamping (NaN becomes 0). */
export function quantise(values: ArrayLike<number>): Int32Array {
  const out = new Int32Array(values.length);
  const inv = 1 / QUANT_STEP;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] ?? 0;
    out[i] = Math.round((v > QUANT_CLAMP ? QUANT_CLAMP : v < -QUANT_CLAMP ? -QUANT_CLAMP : v) * inv);
  }
  return out;
}

function int32Bytes(values: Int32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const bytes = new Uint8Array(values.byteLength);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => { view.setInt32(4 * i, v, true); });
  return bytes;
}

/**
 * SHA-256 (hex) of a committed activation: a header (version, name, shape) and its float32 bytes
 * (little-endian). Not quantised: the verifier hashes the tensor the agent opens, never a
 * recomputation of its own, so the exact bytes are what must match (and hashing them is cheaper).
 */
export function commitTensor(name: string, dims: readonly number[], values: Float32Array): string {
  const count = dims.reduce((a, b) => a * b, 1);
  if (count !== values.length) throw new InvalidArgumentError(`tensor ${name}: shape [${dims.join(', ')}] holds ${String(count)} values, got ${String(values.length)}`);
  let bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  if (!LITTLE_ENDIAN) {
    bytes = new Uint8Array(values.byteLength);
    const view = new DataView(bytes.buffer);
    values.forEach((v, i) => { view.setFloat32(4 * i, v, true); });
  }
  return createHash('sha256').update(`mxw-tensor-v1\0${name}\0${dims.join('x')}\0f32le\0`).update(bytes).digest('hex');
}

/** The input commitment of a request: the model's SHA-256 and the prompt's token ids. */
export function commitInput(modelSha256: string, prompt: readonly number[]): string {
  return createHash('sha256').update(`mxw-input-v1\0${modelSha256}\0`).update(int32Bytes(Int32Array.from(prompt))).digest('hex');
}

/**
 * The output commitment: the generated tokens and the quantised last-position logits of every
 * step. It does not include the input, so that the same answer given to two different inputs
 * (a replay) shows as the same commitment.
 */
export function commitOutput(tokens: readonly number[], logits: readonly Float32Array[]): string {
  const hash = createHash('sha256').update(`mxw-output-v1\0${String(tokens.length)}\0`).update(int32Bytes(Int32Array.from(tokens)));
  for (const row of logits) hash.update(int32Bytes(quantise(row)));
  return hash.digest('hex');
}

/** A request's timing as the verifier sees it: time to first token and the gaps between later tokens. */
export interface TimingSignature {
  readonly prefillMs: number;
  readonly decodeMeanMs: number;
  readonly decodeP90Ms: number;
}

/** The q-quantile (linear interpolation) of `values`; NaN when empty. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return (sorted[lo] ?? 0) + ((sorted[hi] ?? 0) - (sorted[lo] ?? 0)) * (pos - lo);
}

export function timingSignature(prefillMs: number, decodeMs: readonly number[]): TimingSignature {
  const mean = decodeMs.length === 0 ? Number.NaN : decodeMs.reduce((a, b) => a + b, 0) / decodeMs.length;
  return { prefillMs, decodeMeanMs: mean, decodeP90Ms: quantile(decodeMs, 0.9) };
}

/** An interval [lo, hi]. */
export interface Bounds {
  readonly lo: number;
  readonly hi: number;
}

/** The model's measured profile on this machine: bounds from a calibration run of honest requests. */
export interface InferenceProfile {
  readonly model: string;
  readonly calibrationRequests: number;
  /** The bounds are [low × p5, high × p99] of the calibration. */
  readonly factors: { readonly low: number; readonly high: number };
  /** CPU seconds per generated token (layer 1). */
  readonly cpuSecondsPerToken: Bounds;
  readonly prefillMs: Bounds;
  readonly decodeMeanMs: Bounds;
  readonly decodeP90Ms: Bounds;
  /** Medians of the calibration (what a pacing cheater aims at). */
  readonly median: { readonly cpuSecondsPerToken: number; readonly prefillMs: number; readonly decodeMeanMs: number };
}

/** One honest calibration request. */
export interface CalibrationSample {
  readonly signature: TimingSignature;
  readonly cpuSecondsPerToken: number;
}

export interface ProfileSlack {
  /** Lower bound = lowFactor × the 5th percentile. @default 0.75 */
  readonly lowFactor?: number;
  /** Upper bound = highFactor × the 99th percentile (a loaded machine is slower, never faster; a 2-core VM shared with other work was seen to stall a request several-fold). @default 10 */
  readonly highFactor?: number;
}

/** Bounds from a calibration run: [lowFactor × p5, highFactor × p99] of each quantity. */
export function calibrateProfile(model: string, samples: readonly CalibrationSample[], slack: ProfileSlack = {}): InferenceProfile {
  if (samples.length < 3) throw new InvalidArgumentError(`a profile needs at least 3 calibration requests, got ${String(samples.length)}`);
  const low = slack.lowFactor ?? 0.75;
  const high = slack.highFactor ?? 10;
  const bounds = (values: number[]): Bounds => ({ lo: low * quantile(values, 0.05), hi: high * quantile(values, 0.99) });
  const cpu = samples.map((s) => s.cpuSecondsPerToken);
  const prefill = samples.map((s) => s.signature.prefillMs);
  const mean = samples.map((s) => s.signature.decodeMeanMs);
  return {
    model,
    calibrationRequests: samples.length,
    factors: { low, high },
    cpuSecondsPerToken: bounds(cpu),
    prefillMs: bounds(prefill),
    decodeMeanMs: bounds(mean),
    decodeP90Ms: bounds(samples.map((s) => s.signature.decodeP90Ms)),
    median: { cpuSecondsPerToken: quantile(cpu, 0.5), prefillMs: quantile(prefill, 0.5), decodeMeanMs: quantile(mean, 0.5) },
  };
}

/** A profile that accepts any timing and CPU (for tests that must not depend on timing). */
export function openProfile(model: string): InferenceProfile {
  const any: Bounds = { lo: 0, hi: Number.POSITIVE_INFINITY };
  return { model, calibrationRequests: 0, factors: { low: 0, high: Number.POSITIVE_INFINITY }, cpuSecondsPerToken: any, prefillMs: any, decodeMeanMs: any, decodeP90Ms: any, median: { cpuSecondsPerToken: 0, prefillMs: 0, decodeMeanMs: 0 } };
}

const outside = (v: number, b: Bounds): boolean => !(v >= b.lo && v <= b.hi);

/** Why a timing signature is outside the profile (empty when inside). */
export function checkTiming(signature: TimingSignature, profile: InferenceProfile): string[] {
  const reasons: string[] = [];
  const check = (what: string, v: number, b: Bounds): void => {
    if (Number.isNaN(v)) return;
    if (outside(v, b)) reasons.push(`timing: ${what} ${v.toFixed(3)} ms outside [${b.lo.toFixed(3)}, ${b.hi.toFixed(3)}]`);
  };
  check('prefill', signature.prefillMs, profile.prefillMs);
  check('mean decode', signature.decodeMeanMs, profile.decodeMeanMs);
  check('p90 decode', signature.decodeP90Ms, profile.decodeP90Ms);
  return reasons;
}

/** Whether a CPU-seconds-per-token figure is outside the profile (layer 1). */
export function cpuOutsideProfile(cpuSecondsPerToken: number, profile: InferenceProfile): boolean {
  return outside(cpuSecondsPerToken, profile.cpuSecondsPerToken);
}
