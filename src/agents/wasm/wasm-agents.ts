/**
 * Where the reference WASM agents are after `npm run build`: each `src/agents/wasm/<name>.wat`
 * is compiled by `scripts/build-wasm.mjs --agents` to `dist/src/agents/wasm/<name>.wasm`,
 * beside this module's compiled file, so a path here is valid from the build output (and
 * from the installed package) without any toolchain at run time.
 * @example
 * await runtime.start({ id: 'wasm-scientist', command: WASM_SCIENTIST_PATH, args: ['0.002'], env: endpoint.env })
 */
import { fileURLToPath } from 'node:url';

/**
 * The WASM Scientist (`scientist.wat`): trial-division primes in consecutive ranges, reported
 * with `maxwell.work` at most 50 times a second. `args[0]`: a price to bid once at start, J
 * per quantum; `args[1]`: the first number to search (default 2).
 */
export const WASM_SCIENTIST_PATH = fileURLToPath(new URL('./scientist.wasm', import.meta.url));
