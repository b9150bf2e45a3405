/** Compiles the .wat fixtures to .wasm files in a temporary directory (wabt, a dev dependency). */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import initWabt from 'wabt';
import { repoPath } from './repo.js';

let dir: string | undefined;

export async function wasmFixture(name: string): Promise<string> {
  dir ??= mkdtempSync(join(tmpdir(), 'maxwell-wasm-'));
  const out = join(dir, `${name}.wasm`);
  const wabt = await initWabt();
  const module = wabt.parseWat(`${name}.wat`, readFileSync(repoPath(`test/fixtures/wasm/${name}.wat`), 'utf8'), { sat_float_to_int: true });
  writeFileSync(out, module.toBinary({}).buffer);
  module.destroy();
  return out;
}

export async function watBytes(text: string): Promise<Uint8Array> {
  const wabt = await initWabt();
  const module = wabt.parseWat('inline.wat', text, { bulk_memory: true, reference_types: true, sign_extension: true, sat_float_to_int: true });
  const bytes = module.toBinary({}).buffer;
  module.destroy();
  return bytes;
}
