/**
 * The cells of a tabular report: header rows, the blank row, the column headings and one row per
 * item × attribute combination (× component) × metric, with Reporting_Period_Total and the month
 * columns. Rows whose total is zero are left out; zero months inside a row are 0. Metrics of a row
 * group are in alphabetical order, as in the official samples.
 */
import type { CounterRelease, ReportId } from '../reports.ts';
import type { YearMonth } from '../year-month.ts';
import { cellValue, type CellContext } from './cells.ts';
import type { Counts } from './items.ts';
import { monthHeading, type ColumnId } from './layouts.ts';
import type { MergedItem } from './merge.ts';

/** A cell: text, or a count (written as a number where the format has numbers). */
export type Cell = string | number;

export interface TabularLayout {
  release: CounterRelease;
  reportId: ReportId;
  /** Columns before Metric_Type. */
  columns: readonly ColumnId[];
  months: readonly YearMonth[];
  /** False for Exclude_Monthly_Details=True: no month columns. */
  monthly: boolean;
  headerRows: ReadonlyArray<readonly [string, string]>;
}

export function columnHeadings(layout: TabularLayout): string[] {
  return [
    ...layout.columns,
    'Metric_Type',
    'Reporting_Period_Total',
    ...(layout.monthly ? layout.months.map(monthHeading) : []),
  ];
}

/**
 * Header rows, blank row and column headings. R5.1 pads every header row and the blank row with
 * empty cells to the width of the table; R5.0 leaves a header row's value cell out when it is empty
 * and the blank row has no cells.
 */
export function headingRows(layout: TabularLayout): Cell[][] {
  const headings = columnHeadings(layout);
  const rows: Cell[][] = [];
  const width = headings.length;
  for (const [label, value] of layout.headerRows) {
    if (layout.release === '5.1') {
      const row: Cell[] = new Array<Cell>(width).fill('');
      row[0] = label;
      row[1] = value;
      rows.push(row);
    } else rows.push(value === '' ? [label] : [label, value]);
  }
  rows.push(layout.release === '5.1' ? new Array<Cell>(width).fill('') : []);
  rows.push(headings);
  return rows;
}

function metricRows(prefix: readonly string[], counts: Counts, monthly: boolean, out: Cell[][]): void {
  for (const metric of Object.keys(counts).sort()) {
    const values = counts[metric];
    let total = 0;
    for (const n of values) total += n;
    if (total === 0) continue;
    const row: Cell[] = [...prefix, metric, total];
    if (monthly) for (const n of values) row.push(n);
    out.push(row);
  }
}

/** The data rows of one item. */
export function itemRows(layout: TabularLayout, merged: MergedItem): Cell[][] {
  const rows: Cell[][] = [];
  for (const leaf of merged.leaves) {
    const ctx: CellContext = { item: merged.item, attrs: leaf.attrs };
    if (merged.parent) ctx.parent = merged.parent;
    const cells = layout.columns.map((column) => cellValue(column, ctx));
    metricRows(cells, leaf.counts, layout.monthly, rows);
    for (const component of leaf.components) {
      const componentCells = layout.columns.map((column) =>
        cellValue(column, { ...ctx, component: { meta: component.meta, attrs: component.attrs } }),
      );
      metricRows(componentCells, component.counts, layout.monthly, rows);
    }
  }
  return rows;
}
