/**
 * Streaming writers. Tabular formats take the heading rows and the data rows (in batches, one batch
 * per item) and produce bytes as they go:
 *   tsv  — UTF-8 with BOM, tab-separated, LF line ends, no quoting (tabs and line breaks inside a cell
 *          become spaces), exactly as the official COUNTER samples;
 *   csv  — the same cells, RFC 4180 (comma, CRLF, quotes where needed), UTF-8 with BOM;
 *   xlsx — the same cells in one worksheet, counts as numbers (exceljs' streaming WorkbookWriter).
 * The JSON writer takes the merged items and writes the COUNTER JSON report of the release.
 */
import { once } from 'node:events';
import { PassThrough, type Writable } from 'node:stream';
import type { JsonObject } from '../json.ts';
import type { CounterRelease } from '../reports.ts';
import { firstDayOf, lastDayOf, type YearMonth } from '../year-month.ts';
import { ExportError } from './errors.ts';
import type { Counts } from './items.ts';
import type { MergedItem } from './merge.ts';
import type { Cell } from './table.ts';

export type TabularFormat = 'tsv' | 'csv' | 'xlsx';
export type ExportFormat = TabularFormat | 'json';

export const EXPORT_FORMATS: readonly ExportFormat[] = ['tsv', 'csv', 'xlsx', 'json'];

export const CONTENT_TYPES: Record<ExportFormat, string> = {
  tsv: 'text/tab-separated-values; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  json: 'application/json; charset=utf-8',
};

/** The cells of a tabular report: heading rows first, then data rows in batches. */
export interface TabularSource {
  headings: Cell[][];
  rows(): AsyncIterable<Cell[][]>;
}

const BOM = '\uFEFF';
const CHUNK_CHARS = 64 * 1024;

function tsvCell(cell: Cell): string {
  return typeof cell === 'number' ? String(cell) : cell.replace(/[\t\r\n]/g, ' ');
}

function csvCell(cell: Cell): string {
  if (typeof cell === 'number') return String(cell);
  return /[",\r\n]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell;
}

async function* delimited(
  source: TabularSource,
  cell: (c: Cell) => string,
  separator: string,
  newline: string,
): AsyncGenerator<string> {
  let text = BOM;
  for (const row of source.headings) text += row.map(cell).join(separator) + newline;
  for await (const batch of source.rows()) {
    for (const row of batch) text += row.map(cell).join(separator) + newline;
    if (text.length >= CHUNK_CHARS) {
      yield text;
      text = '';
    }
  }
  if (text !== '') yield text;
}

export function tsvChunks(source: TabularSource): AsyncGenerator<string> {
  return delimited(source, tsvCell, '\t', '\n');
}

export function csvChunks(source: TabularSource): AsyncGenerator<string> {
  return delimited(source, csvCell, ',', '\r\n');
}

/** Rows per worksheet in Excel (headings included). */
export const XLSX_MAX_ROWS = 1_048_576;

/** What exceljs' streaming writer exposes at run time but not in its types (pinned 4.4.0). */
interface SheetStreamInternals {
  stream?: {
    pipes?: Array<{
      writableLength?: number;
      _writableState?: { length?: number };
      once?: (event: string, cb: () => void) => void;
    }>;
  };
}

/**
 * Waits while the compressor's input is backed up: exceljs writes each committed row into the zip
 * entry's stream without looking at its return value, so that stream's buffer only grows otherwise.
 * (Its streams come from readable-stream 3, which keeps the length in `_writableState`.)
 */
async function zipBackpressure(sheet: unknown): Promise<void> {
  const pipe = (sheet as SheetStreamInternals).stream?.pipes?.[0];
  const backlog = pipe?.writableLength ?? pipe?._writableState?.length;
  if (pipe?.once && typeof backlog === 'number') {
    if (backlog > 1024 * 1024) {
      const target = pipe;
      await new Promise<void>((resolve) => target.once?.('drain', resolve));
    }
  } else await new Promise((resolve) => setImmediate(resolve));
}

/**
 * The workbook as a byte stream. Rows are committed as they come; the writer waits for the zip
 * compressor and for the consumer of the returned stream, so memory stays bounded.
 */
export async function* xlsxChunks(
  source: TabularSource,
  sheetName: string,
  maxRows = XLSX_MAX_ROWS,
): AsyncGenerator<Uint8Array> {
  // Loaded on first use: the rest of the COUNTER layer (and the harvester) does not need it.
  const { default: ExcelJS } = await import('exceljs');
  const out = new PassThrough({ highWaterMark: 256 * 1024 });
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({
    stream: out,
    useSharedStrings: false,
    useStyles: false,
  });
  const sheet = workbook.addWorksheet(sheetName.slice(0, 31) || 'Report');
  let failure: Error | undefined;
  const produce = async (): Promise<void> => {
    let count = 0;
    const add = (row: Cell[]): void => {
      count += 1;
      if (count > maxRows)
        throw new ExportError(
          'too_large',
          `The report has more than ${maxRows} rows, the limit of an Excel worksheet; export it as tsv or csv`,
        );
      // Empty cells stay empty (no empty-string cells).
      sheet.addRow(row.map((cell) => (cell === '' ? null : cell))).commit();
    };
    for (const row of source.headings) add(row);
    let sinceCheck = 0;
    for await (const batch of source.rows()) {
      for (const row of batch) add(row);
      sinceCheck += batch.length;
      if (sinceCheck >= 500) {
        sinceCheck = 0;
        await zipBackpressure(sheet);
        if (out.writableNeedDrain) await once(out, 'drain');
      }
    }
    sheet.commit();
    await workbook.commit();
  };
  const producer = produce().catch((error: unknown) => {
    failure = error instanceof Error ? error : new Error(String(error));
    out.destroy(failure);
  });
  try {
    for await (const chunk of out) yield chunk as Uint8Array;
  } catch (error) {
    throw failure ?? (error instanceof Error ? error : new Error(String(error)));
  } finally {
    await producer;
  }
  if (failure) throw failure;
}

// ---------------------------------------------------------------------------------------------
// JSON

export interface JsonSource {
  release: CounterRelease;
  /** R5.1 IR: items are written inside parent groups (`{...parent, Items: [...]}`). */
  groupItemsByParent: boolean;
  header: JsonObject;
  months: readonly YearMonth[];
  items(): AsyncIterable<MergedItem>;
}

/** R5.1 `Performance`: `{Metric: {yyyy-MM: n}}` with the months that have usage. */
function r51Performance(counts: Counts, months: readonly YearMonth[]): JsonObject | undefined {
  const performance: JsonObject = {};
  for (const metric of Object.keys(counts)) {
    const byMonth: JsonObject = {};
    let any = false;
    counts[metric].forEach((n, i) => {
      if (n !== 0) {
        byMonth[months[i]] = n;
        any = true;
      }
    });
    if (any) performance[metric] = byMonth;
  }
  return Object.keys(performance).length > 0 ? performance : undefined;
}

/** R5.0 `Performance[]`: one entry per month with usage, instances for its non-zero metrics. */
function r50Performance(counts: Counts, months: readonly YearMonth[]): JsonObject[] {
  const entries: JsonObject[] = [];
  months.forEach((month, i) => {
    const instances: JsonObject[] = [];
    for (const metric of Object.keys(counts)) {
      const n = counts[metric][i];
      if (n !== 0) instances.push({ Metric_Type: metric, Count: n });
    }
    if (instances.length > 0)
      entries.push({
        Period: { Begin_Date: firstDayOf(month), End_Date: lastDayOf(month) },
        Instance: instances,
      });
  });
  return entries;
}

function r51Item(merged: MergedItem, months: readonly YearMonth[]): JsonObject | undefined {
  const entries: JsonObject[] = [];
  for (const leaf of merged.leaves) {
    const performance = r51Performance(leaf.counts, months);
    const components: JsonObject[] = [];
    for (const component of leaf.components) {
      const componentPerformance = r51Performance(component.counts, months);
      if (componentPerformance)
        components.push({
          ...component.meta,
          Attribute_Performance: [{ ...component.attrs, Performance: componentPerformance }],
        });
    }
    if (!performance && components.length === 0) continue;
    entries.push({
      ...leaf.attrs,
      ...(performance && { Performance: performance }),
      ...(components.length > 0 && { Components: components }),
    });
  }
  return entries.length > 0 ? { ...merged.item, Attribute_Performance: entries } : undefined;
}

function r50Items(merged: MergedItem, months: readonly YearMonth[]): JsonObject[] {
  const items: JsonObject[] = [];
  for (const leaf of merged.leaves) {
    const performance = r50Performance(leaf.counts, months);
    const components = leaf.components
      .map((c) => ({ ...c.meta, Performance: r50Performance(c.counts, months) }))
      .filter((c) => c.Performance.length > 0);
    if (performance.length === 0 && components.length === 0) continue;
    items.push({
      ...merged.item,
      ...leaf.attrs,
      ...(components.length > 0 && { Item_Component: components }),
      Performance: performance,
    });
  }
  return items;
}

/**
 * The merged COUNTER JSON report, streamed. R5.1 IR items are grouped under their parent as in the
 * R5.1 JSON (items of one parent arrive together from the merge); the group of an item without
 * parent has no parent members.
 */
export async function* jsonChunks(source: JsonSource): AsyncGenerator<string> {
  let text = `{"Report_Header":${JSON.stringify(source.header)},"Report_Items":[`;
  let first = true;
  let openGroup: string | undefined;
  let firstInGroup = true;
  for await (const merged of source.items()) {
    const items =
      source.release === '5.1'
        ? [r51Item(merged, source.months)].filter((i): i is JsonObject => i !== undefined)
        : r50Items(merged, source.months);
    if (items.length === 0) continue;
    const groupKey = source.groupItemsByParent ? JSON.stringify(merged.parent ?? {}) : undefined;
    if (groupKey !== openGroup) {
      if (openGroup !== undefined) text += ']}';
      openGroup = groupKey;
      if (groupKey !== undefined) {
        const head = groupKey === '{}' ? '{' : `${groupKey.slice(0, -1)},`;
        text += `${first ? '' : ','}${head}"Items":[`;
        first = false;
        firstInGroup = true;
      }
    }
    for (const item of items) {
      if (openGroup !== undefined) {
        text += `${firstInGroup ? '' : ','}${JSON.stringify(item)}`;
        firstInGroup = false;
      } else {
        text += `${first ? '' : ','}${JSON.stringify(item)}`;
        first = false;
      }
    }
    if (text.length >= CHUNK_CHARS) {
      yield text;
      text = '';
    }
  }
  if (openGroup !== undefined) text += ']}';
  yield `${text}]}`;
}

/** Writes chunks to a Writable, waiting for `drain` when its buffer is full. */
export async function writeChunks(chunks: AsyncIterable<string | Uint8Array>, out: Writable): Promise<void> {
  for await (const chunk of chunks) {
    if (!out.write(chunk)) await once(out, 'drain');
  }
}
