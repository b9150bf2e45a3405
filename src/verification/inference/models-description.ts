/**
 * The committed models' description (`models/tiny-gpt.json`: vocabulary, shapes, SHA-256 of each
 * file, the products the verifier checks), read without loading onnxruntime: the daemon names the
 * reference model's digest and the claim model's folder without paying for a model it may never run.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ModelLoadError } from '../../errors.js';

/** The folder of the committed models (the repository's `models/`, from dist/src/verification/inference). */
export const MODELS_DIR = fileURLToPath(new URL('../../../../models/', import.meta.url));
/** A product the verifier may check: `c = a · b`, with `b` a weight of the model. */
export interface CheckedProduct {
  /** Graph output holding the left operand (an activation, [T, k]). */
  readonly a: string;
  /** The initializer of the right operand (a weight, [k, n]); the graph outputs it as `weight:<b>`. */
  readonly b: string;
  /** Graph output holding the product ([T, n]). */
  readonly c: string;
  /** [k, n] */
  readonly shape: readonly [number, number];
}

/** One model's entry in `models/tiny-gpt.json`. */
export interface ModelEntry {
  readonly role: string;
  readonly sha256: string;
  readonly bytes: number;
  readonly parameters: number;
  readonly d: number;
  readonly heads: number;
  readonly blocks: number;
  readonly context: number;
  readonly vocab: number;
  readonly mlp: number;
  readonly bigramTrainingLoss: number;
  readonly measuredLoss: number;
  readonly checkedProducts: readonly CheckedProduct[];
}

/** `models/tiny-gpt.json`. */
export interface ModelsDescription {
  readonly generator: string;
  readonly format: string;
  readonly vocab: string;
  readonly unknownSymbol: string;
  readonly text: string;
  /** The training text (public domain), also the source of the research's prompts. */
  readonly corpus: string;
  readonly training: string;
  readonly uniformLoss: number;
  readonly models: Readonly<Record<string, ModelEntry>>;
}

let description: ModelsDescription | undefined;

/** Reads `models/tiny-gpt.json`; throws `MXW_ERR_MODEL_LOAD` when it is missing or malformed. */
export function modelsDescription(dir = MODELS_DIR): ModelsDescription {
  if (dir === MODELS_DIR && description !== undefined) return description;
  const file = `${dir}tiny-gpt.json`;
  let parsed: ModelsDescription;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as ModelsDescription;
  } catch (err) {
    throw new ModelLoadError(`cannot read the models' description ${file}: ${(err as Error).message}; restore models/ or run node scripts/gen-tiny-transformer.mjs`, { cause: err });
  }
  if (typeof parsed.vocab !== 'string' || typeof parsed.models !== 'object') throw new ModelLoadError(`${file} is not a models description (no vocab or models)`);
  if (dir === MODELS_DIR) description = parsed;
  return parsed;
}
