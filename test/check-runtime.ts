/**
 * Pretest: checks the runtime before the suite, so a failure points at the environment
 * rather than at a test.
 */
import { MATVEC_WASM_BASE64 } from '../src/physics/matvec-wasm.generated.js';

const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
const problems: string[] = [];
if (major < 20 || (major === 20 && minor < 19)) problems.push(`Node.js ${process.versions.node} is too old: Maxwell needs ≥ 20.19`);
try {
  new WebAssembly.Module(Uint8Array.from(atob(MATVEC_WASM_BASE64), (c) => c.charCodeAt(0)));
} catch (err) {
  problems.push(`WebAssembly SIMD is not available: ${String(err)}`);
}
if (problems.length > 0) {
  for (const p of problems) process.stderr.write(`check-runtime: ${p}\n`);
  process.exit(1);
}
process.stderr.write(`check-runtime: Node.js ${process.versions.node}, WebAssembly SIMD ok\n`);
