import assert from 'node:assert/strict';
import { test } from 'node:test';
import { execFileSync } from 'node:child_process';
import { createJsMatVec, createWasmMatVec } from '../../../src/physics/dense-matvec.js';
import { SeededRandom } from '../../../src/internal/seeded-random.js';
import { repoPath } from '../../helpers/repo.js';

test('the WebAssembly SIMD product equals the JavaScript one for sizes 1 to 70', () => {
  const random = new SeededRandom(3);
  for (let n = 1; n <= 70; n++) {
    const matrix = Float64Array.from({ length: n * n }, () => random.uniform());
    const wasm = createWasmMatVec(matrix, n, n);
    const js = createJsMatVec(matrix, n, n);
    for (let j = 0; j < n; j++) wasm.input[j] = js.input[j] = random.uniform() * 100;
    wasm.run();
    js.run();
    for (let i = 0; i < n; i++) assert.ok(Math.abs(wasm.output[i]! - js.output[i]!) <= 1e-12 * Math.abs(js.output[i]!), `n=${n} row ${i}`);
  }
});

test('non-square products and repeated runs work', () => {
  const matrix = Float64Array.from([1, 2, 3, 4, 5, 6]);
  const mv = createWasmMatVec(matrix, 2, 3);
  mv.input.set([1, 1, 1]);
  mv.run();
  assert.deepEqual([...mv.output], [6, 15]);
  mv.input.set([0, 1, 0]);
  mv.run();
  assert.deepEqual([...mv.output], [2, 5]);
});

test('the generated WebAssembly module matches src/physics/matvec.wat (npm run build:wasm)', () => {
  assert.doesNotThrow(() => execFileSync(process.execPath, [repoPath('scripts/build-wasm.mjs'), '--check'], { stdio: 'pipe' }));
});
