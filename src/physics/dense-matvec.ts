/**
 * `out = A · v` for the twin's coupling step, in WebAssembly SIMD.
 *
 * Why: the coupling product is the twin's hot spot (65×65 for 64 cores + GPU, 100 times
 * per simulated second). Measured on the development VM (Node 20, 2 vCPU EPYC), 360 000
 * products: plain JS 1.3–1.8 s, JS with two rows and two accumulators 1.1 s; see
 * `npm run bench` for this implementation side by side with the JS one.
 */
import { assert } from '../internal/assert.js';
import { MATVEC_WASM_BASE64 } from './matvec-wasm.generated.js';

const WASM_PAGE_BYTES = 65536;

/** A fixed matrix with an input vector to fill and an output vector to read. */
export interface DenseMatVec {
  /** Write v here (length = columns). */
  readonly input: Float64Array;
  /** Read A · v here after {@link DenseMatVec.run} (length = rows). */
  readonly output: Float64Array;
  run(): void;
}

let compiled: WebAssembly.Module | undefined;

function decodeBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (ch) => ch.charCodeAt(0));
}

interface MatVecExports {
  readonly memory: WebAssembly.Memory;
  readonly matvec: (rows: number, stride: number, matrix: number, vector: number, out: number) => void;
}

/** The WebAssembly SIMD implementation. `matrix` is row-major, rows × columns. */
export function createWasmMatVec(matrix: Float64Array, rows: number, columns: number): DenseMatVec {
  assert(matrix.length === rows * columns, 'matrix size matches rows × columns');
  compiled ??= new WebAssembly.Module(decodeBase64(MATVEC_WASM_BASE64));
  const instance = new WebAssembly.Instance(compiled, {});
  const exports = instance.exports as unknown as MatVecExports;
  // Rows padded with zeros to a multiple of 4 doubles: the kernel reads 4 per iteration.
  const stride = Math.ceil(columns / 4) * 4;
  const matrixBytes = rows * stride * 8;
  const vectorOffset = matrixBytes;
  const outOffset = vectorOffset + stride * 8;
  const totalBytes = outOffset + rows * 8;
  const needPages = Math.ceil(totalBytes / WASM_PAGE_BYTES) - exports.memory.buffer.byteLength / WASM_PAGE_BYTES;
  if (needPages > 0) exports.memory.grow(needPages);
  // The memory never grows after this point, so these views stay valid.
  const buffer = exports.memory.buffer;
  const padded = new Float64Array(buffer, 0, rows * stride);
  for (let i = 0; i < rows; i++) padded.set(matrix.subarray(i * columns, (i + 1) * columns), i * stride);
  const input = new Float64Array(buffer, vectorOffset, columns);
  const output = new Float64Array(buffer, outOffset, rows);
  const kernel = exports.matvec;
  return { input, output, run: () => { kernel(rows, stride, 0, vectorOffset, outOffset); } };
}

/** The plain JavaScript implementation, kept as a reference for tests and benchmarks. */
export function createJsMatVec(matrix: Float64Array, rows: number, columns: number): DenseMatVec {
  assert(matrix.length === rows * columns, 'matrix size matches rows × columns');
  const a = Float64Array.from(matrix);
  const input = new Float64Array(columns);
  const output = new Float64Array(rows);
  return {
    input,
    output,
    run(): void {
      for (let i = 0; i < rows; i++) {
        let sum = 0;
        const row = i * columns;
        for (let j = 0; j < columns; j++) sum += (a[row + j] ?? 0) * (input[j] ?? 0);
        output[i] = sum;
      }
    },
  };
}
