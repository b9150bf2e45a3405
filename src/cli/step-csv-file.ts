/** Reads a user's step-response CSV for `maxwell calibrate --from-csv` (format: src/identification/step-csv.ts). */
import { readFile, stat } from 'node:fs/promises';
import { CsvFileError, CsvInvalidError, isMaxwellError, toError } from '../errors.js';
import type { StepRecord } from '../identification/fopdt.js';
import { stepRecordFromCsv } from '../identification/step-csv.js';

/** Largest CSV accepted, bytes (a day at 100 Hz is ≈ 150 MB): refused rather than exhaust memory. */
export const MAX_CSV_BYTES = 256 * 1024 * 1024;

/**
 * Reads `path` and returns its step record. `MXW_ERR_CSV_FILE` when it cannot be read,
 * `MXW_ERR_CSV_INVALID` (with the line) when it is malformed or too large.
 */
export async function readStepCsv(path: string, stepAtS: number): Promise<StepRecord> {
  let text: string;
  try {
    const info = await stat(path);
    if (info.size > MAX_CSV_BYTES) throw new CsvInvalidError(`${path}: ${info.size} bytes, larger than the ${MAX_CSV_BYTES} accepted`);
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (isMaxwellError(err, 'MXW_ERR_CSV_INVALID')) throw err;
    throw new CsvFileError(`cannot read ${path}: ${toError(err).message}`, { cause: err });
  }
  return stepRecordFromCsv(text, path, stepAtS);
}
