/** Plain-text tables for the CLI: columns padded to their widest cell, long cells cut with an ellipsis. */

export interface Column<T> {
  header: string;
  value: (row: T) => string;
  /** Cut cells longer than this (default: no limit). */
  max?: number;
}

export function formatTable<T>(columns: Column<T>[], rows: readonly T[]): string {
  const cells = rows.map((row) => columns.map((c) => clip(oneLine(c.value(row)), c.max)));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i].length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => (i === values.length - 1 ? v : v.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join('\n') + '\n';
}

/** `2022-09-14T10:14:36.843+00:00` → `2022-09-14 10:14:36` (the service writes UTC). */
export function shortDate(value: string | undefined): string {
  if (!value) return '';
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})/.exec(value);
  return m ? `${m[1]} ${m[2]}` : value;
}

function oneLine(s: string): string {
  return s.replace(/\s*[\r\n]+\s*/g, ' ');
}

function clip(s: string, max: number | undefined): string {
  if (max === undefined || s.length <= max) return s;
  return s.slice(0, Math.max(0, max - 1)) + '…';
}
