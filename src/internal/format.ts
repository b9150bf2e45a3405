/**
 * Text and JSON formatting shared by the CLI, the reports and the API (a low module: it imports
 * nothing of Maxwell's, so anything may use it without a cycle).
 */

/** Formats rows as an aligned text table (first row: headers). */
export function formatTable(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  // Numbers align right, words left.
  const numeric = (cell: string): boolean => /^[-+±]?(\d|\.\d)/.test(cell) || cell === 'n/a';
  const line = (row: readonly string[]): string =>
    row.map((cell, i) => (i > 0 && numeric(cell) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  const [header, ...body] = rows;
  if (header === undefined) return '';
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n') + '\n';
}

/** A number with a fixed count of decimals, or "n/a". */
export function fmt(value: number, decimals = 2): string {
  return Number.isFinite(value) ? value.toFixed(decimals) : 'n/a';
}

/** Serialises a report: NaN and ±Infinity become null, bigints decimal strings, typed arrays arrays. */
export function toJson(value: unknown, indent = 2): string {
  return JSON.stringify(
    value,
    (_key, v: unknown) => {
      if (typeof v === 'number' && !Number.isFinite(v)) return null;
      if (typeof v === 'bigint') return v.toString();
      if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number>);
      return v;
    },
    indent,
  );
}
