/**
 * The experiment report folder: `results.json`, `index.html` and one SVG per chart.
 * `renderReport` builds the files in memory; `writeReport` writes them.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { toJson } from '../../internal/format.js';
import { ReportWriteError, ResultsInvalidError } from '../../errors.js';
import { parseResults, validateResults, type ExperimentResults } from '../results.js';
import { renderCharts, type ChartOptions, type RenderedChart } from './charts.js';
import { renderHtml } from './html.js';

export { CHART_IDS, DEATH_MARK, renderCharts, type ChartId, type ChartOptions, type RenderedChart } from './charts.js';
export { CHARTS_STATUS_ID, escapeHtml, renderHtml } from './html.js';
export { formatSummaryTable } from './terminal.js';

/** The name of the results file in a report folder. */
export const RESULTS_FILE = 'results.json';
/** The name of the page in a report folder. */
export const INDEX_FILE = 'index.html';

/** One file of a report folder. */
export interface ReportFile {
  /** Name relative to the folder. */
  readonly name: string;
  readonly content: string;
}

/** A rendered report, not yet written. */
export interface RenderedReport {
  readonly files: readonly ReportFile[];
  readonly charts: readonly RenderedChart[];
}

/**
 * Serialises a results document as indented JSON with every array of plain values (the time
 * series) on one line: a 60 s arm sampled at 100 Hz stays a few megabytes instead of one number
 * per line, and the structure stays readable. Non-finite numbers become null, as in JSON.
 */
export function stringifyResults(value: unknown, indent = ''): string {
  if (Array.isArray(value)) {
    if (value.every((v) => v === null || typeof v !== 'object')) return JSON.stringify(value);
    const inner = `${indent}  `;
    return `[\n${value.map((v) => inner + stringifyResults(v, inner)).join(',\n')}\n${indent}]`;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return '{}';
    const inner = `${indent}  `;
    return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${stringifyResults(v, inner)}`).join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(value);
}

/**
 * Renders every file of the report. The results are validated first (`MXW_ERR_RESULTS_INVALID`
 * when they do not match the schema), so a report is never drawn from a broken document.
 */
export function renderReport(results: ExperimentResults, options: ChartOptions = {}): RenderedReport {
  const valid = validateResults(JSON.parse(toJson(results)));
  const charts = renderCharts(valid, options);
  const files: ReportFile[] = [
    { name: RESULTS_FILE, content: `${stringifyResults(valid)}\n` },
    ...charts.map((c) => ({ name: c.file, content: c.svg })),
    { name: INDEX_FILE, content: renderHtml(valid, charts, RESULTS_FILE) },
  ];
  return { files, charts };
}

/** What {@link writeReport} wrote. */
export interface WrittenReport {
  readonly dir: string;
  /** Absolute or `dir`-relative paths, as `dir` was given. */
  readonly paths: readonly string[];
  readonly index: string;
  readonly results: string;
}

/**
 * Renders the report and writes it into `dir` (created, with parents, if missing; existing
 * files of the same names are replaced). Throws `MXW_ERR_REPORT_WRITE` naming the path when
 * the folder or a file cannot be written.
 */
export async function writeReport(results: ExperimentResults, dir: string, options: ChartOptions = {}): Promise<WrittenReport> {
  const report = renderReport(results, options);
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    throw new ReportWriteError(`cannot create the report folder ${dir}`, { cause: err });
  }
  const paths: string[] = [];
  for (const file of report.files) {
    const path = join(dir, file.name);
    try {
      await writeFile(path, file.content, 'utf8');
    } catch (err) {
      throw new ReportWriteError(`cannot write ${path}`, { cause: err });
    }
    paths.push(path);
  }
  return { dir, paths, index: join(dir, INDEX_FILE), results: join(dir, RESULTS_FILE) };
}

/** Reads and validates a `results.json` file. Throws `MXW_ERR_RESULTS_INVALID` when it cannot be read or is invalid. */
export async function readResultsFile(path: string): Promise<ExperimentResults> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ResultsInvalidError(`cannot read ${path}`, { cause: err });
  }
  return parseResults(text);
}
