/**
 * A user's own step response from a CSV file: one `time, temperature` pair per line
 * (`maxwell calibrate --from-csv FILE --step-at S`).
 *
 * - Columns: time in seconds, then temperature (°C, or any output unit). Extra columns are
 *   refused rather than guessed at.
 * - Separators: comma, semicolon, tab or spaces.
 * - One optional header line, recognised because its cells are not numbers; accepted names
 *   are listed in {@link TIME_COLUMN_NAMES} and {@link VALUE_COLUMN_NAMES} (case-insensitive,
 *   a unit in brackets or after `_` is ignored: `time_s`, `Temperature (°C)`).
 * - Blank lines and lines starting with `#` are skipped.
 *
 * Every problem is a `MXW_ERR_CSV_INVALID` that names the line (1-based). Pure: the CLI reads
 * the file (`src/cli/step-csv-file.ts`, `MXW_ERR_CSV_FILE` when it cannot).
 */
import { CsvInvalidError, InvalidArgumentError } from '../errors.js';
import type { StepRecord } from './fopdt.js';

/** Header names accepted for the time column. */
export const TIME_COLUMN_NAMES = ['time', 't', 'seconds', 'timestamp', 'elapsed'] as const;
/** Header names accepted for the temperature column. */
export const VALUE_COLUMN_NAMES = ['temperature', 'temp', 'celsius', 'value', 'y', 'reading'] as const;
/** Fewest samples a record may have (the fit needs at least 20, and some before the step). */
export const MIN_CSV_SAMPLES = 20;

/** Comma, semicolon or tab when the line has one (a header cell may hold spaces), else spaces. */
function splitCells(line: string): string[] {
  const cells = /[,;\t]/.test(line) ? line.split(/[,;\t]/) : line.split(/\s+/);
  return cells.map((c) => c.trim()).filter((c) => c !== '');
}

function headerName(cell: string): string {
  return cell
    .trim()
    .replace(/^"|"$/g, '')
    .toLowerCase()
    .replace(/\s*[([].*$/, '')
    .replace(/_[a-z°]+$/, '');
}

/** Parses CSV text into times and values. `name` labels messages (the file's path). */
export function parseStepCsv(text: string, name: string): { timesS: Float64Array; values: Float64Array } {
  const lines = text.split(/\r?\n/);
  const times: number[] = [];
  const values: number[] = [];
  let sawHeader = false;
  for (let index = 0; index < lines.length; index++) {
    const line = (lines[index] ?? '').trim();
    const lineNo = index + 1;
    if (line === '' || line.startsWith('#')) continue;
    const cells = splitCells(line);
    const numbers = cells.map((c) => (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(c) ? Number(c) : Number.NaN));
    if (times.length === 0 && !sawHeader && numbers.every((v) => Number.isNaN(v))) {
      const [timeName = '', valueName = ''] = cells.map(headerName);
      if (cells.length !== 2 || !(TIME_COLUMN_NAMES as readonly string[]).includes(timeName) || !(VALUE_COLUMN_NAMES as readonly string[]).includes(valueName)) {
        throw new CsvInvalidError(
          `${name}:${lineNo}: header "${line}" is not "time, temperature" (time: ${TIME_COLUMN_NAMES.join('/')}; ` +
            `temperature: ${VALUE_COLUMN_NAMES.join('/')})`,
        );
      }
      sawHeader = true;
      continue;
    }
    if (cells.length !== 2) throw new CsvInvalidError(`${name}:${lineNo}: expected 2 columns (time, temperature), found ${cells.length}: "${line}"`);
    const [t = Number.NaN, y = Number.NaN] = numbers;
    if (!Number.isFinite(t) || !Number.isFinite(y)) throw new CsvInvalidError(`${name}:${lineNo}: not two finite numbers: "${line}"`);
    const previous = times[times.length - 1];
    if (previous !== undefined && !(t > previous)) {
      throw new CsvInvalidError(`${name}:${lineNo}: time ${t} s does not increase (previous sample ${previous} s)`);
    }
    times.push(t);
    values.push(y);
  }
  if (times.length === 0) throw new CsvInvalidError(`${name}: holds no samples`);
  if (times.length < MIN_CSV_SAMPLES) throw new CsvInvalidError(`${name}: holds ${times.length} samples; at least ${MIN_CSV_SAMPLES} are needed`);
  return { timesS: Float64Array.from(times), values: Float64Array.from(values) };
}

/**
 * Parses CSV text and checks that `stepAtS` lies inside the record, after its first sample
 * (`MXW_ERR_INVALID_ARG` naming `--step-at` when not).
 */
export function stepRecordFromCsv(text: string, name: string, stepAtS: number): StepRecord {
  const { timesS, values } = parseStepCsv(text, name);
  const first = timesS[0] ?? Number.NaN;
  const last = timesS[timesS.length - 1] ?? Number.NaN;
  if (!Number.isFinite(stepAtS) || !(stepAtS > first) || !(stepAtS < last)) {
    throw new InvalidArgumentError(
      `--step-at ${String(stepAtS)} s lies outside the record (${first} s to ${last} s); give the time the input stepped, on the file's time base`,
    );
  }
  return { timesS, values, stepTimeS: stepAtS };
}
