/** Helpers for the export tests: stored months from the project's splitter, readers for the outputs. */
import assert from 'node:assert/strict';
import ExcelJS from 'exceljs';
import {
  splitReportStream,
  type CounterRelease,
  type PreparedExport,
  type StoredMonth,
} from '../../src/counter/index.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, chunked, type Sample } from './counter.ts';

export interface StoredSampleMonth extends StoredMonth {
  texts: string[];
}

/**
 * The months the harvester stores for a report body: the project's streaming splitter, each month as
 * its header plus its item texts (kept, so the months can be read more than once).
 */
export async function storedMonths(
  body: string,
  release: CounterRelease,
  as: 'text' | 'object' = 'text',
): Promise<StoredSampleMonth[]> {
  const result = await splitReportStream(chunked(body, 4096), release, { spillThresholdBytes: 2048 });
  assert.equal(result.kind, 'report');
  if (result.kind !== 'report') return [];
  const months: StoredSampleMonth[] = [];
  for await (const month of result.monthStreams()) {
    const texts: string[] = [];
    for await (const item of month.items()) texts.push(item);
    months.push({
      yearMonth: month.yearMonth,
      header: month.header,
      texts,
      async *items() {
        for (const text of texts) yield as === 'text' ? text : (JSON.parse(text) as Record<string, unknown>);
      },
    });
  }
  return months;
}

/** Begin and end month of a sample (its header's Begin_Date/End_Date). */
export function sampleWindow(sample: Sample): [string, string] {
  const header = sample.json.Report_Header as Record<string, unknown>;
  const filters = header.Report_Filters;
  const value = (name: string): string => {
    if (Array.isArray(filters)) {
      const entry = (filters as Array<{ Name: string; Value: string }>).find((f) => f.Name === name);
      return entry?.Value ?? '';
    }
    return String((filters as Record<string, unknown>)[name]);
  };
  return [value('Begin_Date').slice(0, 7), value('End_Date').slice(0, 7)];
}

export function sampleHeader(sample: Sample): Record<string, unknown> {
  return sample.json.Report_Header as Record<string, unknown>;
}

export async function bodyBytes(exp: PreparedExport): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of exp.body()) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
}

export async function bodyText(exp: PreparedExport): Promise<string> {
  return (await bodyBytes(exp)).toString('utf8');
}

/** TSV text → rows of cells (the BOM and the final line break removed). */
export function parseTsv(text: string): string[][] {
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  assert.equal(lines.pop(), '', 'the file ends with a line break');
  return lines.map((line) => line.split('\t'));
}

/** An RFC 4180 reader written for the tests (quoted fields, doubled quotes, CRLF records). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = text.startsWith('\uFEFF') ? 1 : 0;
  let quoted = false;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
      } else if (c === '"') {
        quoted = false;
        i += 1;
      } else {
        field += c;
        i += 1;
      }
    } else if (c === '"' && field === '') {
      quoted = true;
      i += 1;
    } else if (c === ',') {
      row.push(field);
      field = '';
      i += 1;
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i += 2;
    } else {
      assert.notEqual(c, '\n', `a bare line feed at ${i}`);
      field += c;
      i += 1;
    }
  }
  assert.equal(field, '', 'the file ends with CRLF');
  assert.equal(row.length, 0);
  return rows;
}

export type XlsxCell = string | number | null;

/** The first worksheet's rows, each cell as string, number or null (empty). */
export async function readXlsx(bytes: Buffer): Promise<XlsxCell[][]> {
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.load(bytes as unknown as ArrayBuffer);
  assert.equal(workbook.worksheets.length, 1, 'one worksheet');
  const sheet = workbook.worksheets[0];
  const rows: XlsxCell[][] = [];
  for (let r = 1; r <= sheet.rowCount; r++) {
    const row = sheet.getRow(r);
    const cells: XlsxCell[] = [];
    for (let c = 1; c <= row.cellCount; c++) {
      const value = row.getCell(c).value;
      if (value === null || value === undefined) cells.push(null);
      else if (typeof value === 'number' || typeof value === 'string') cells.push(value);
      else cells.push(JSON.stringify(value));
    }
    rows.push(cells);
  }
  return rows;
}

/** A row without its trailing empty cells. */
export function trimRow<T>(row: readonly T[], empty: (c: T) => boolean): T[] {
  let end = row.length;
  while (end > 0 && empty(row[end - 1])) end -= 1;
  return row.slice(0, end);
}

export function officialTsv(sample: Sample): Buffer {
  return readFileSync(join(FIXTURES, sample.name.replace(/\.json$/, '.tsv')));
}

/** Number of header rows before the blank row. */
export function headerRowCount(sample: Sample): number {
  return sample.release === '5.1' ? 13 : 12;
}

/**
 * Samples whose official row order is not the merge's order (same rows otherwise):
 * - R5.1 IR and IR_A1: the official TSV lists the items by item, while the JSON (which the harvester
 *   stores) must group them under their parents; a merged range keeps the JSON's parent groups.
 * - R5.0 IR: Item 100026 has no usage in the first month; a merged range lists items in the order
 *   of their first month with usage, so it follows the items of January.
 */
export const REORDERED: Partial<Record<string, (official: string[][], sample: Sample) => string[][]>> = {
  'r51/IR_sample_r51.json': byParentGroup,
  'r51/IRA1_sample_r51.json': byParentGroup,
  'r50/Sample-IR.json': byFirstMonthWithUsage,
};

/** Official data rows, stably sorted by the position of their parent group in the JSON. */
function byParentGroup(rows: string[][], sample: Sample): string[][] {
  const groups = (sample.json.Report_Items as Array<{ Title?: string }>).map((g) => g.Title ?? '');
  const parentColumn = rows[0].indexOf('Parent_Title');
  const [headings, ...data] = rows;
  const rank = (row: string[]): number => groups.indexOf(row[parentColumn]);
  return [
    headings,
    ...data
      .map((row, i) => ({ row, i }))
      .sort((a, b) => rank(a.row) - rank(b.row) || a.i - b.i)
      .map((x) => x.row),
  ];
}

/** Official data rows, stably sorted by the first month in which their item has usage. */
function byFirstMonthWithUsage(rows: string[][]): string[][] {
  const [headings, ...data] = rows;
  const total = headings.indexOf('Reporting_Period_Total');
  const firstMonth = new Map<string, number>();
  for (const row of data) {
    const month = row.slice(total + 1).findIndex((n) => n !== '0');
    firstMonth.set(row[0], Math.min(firstMonth.get(row[0]) ?? Infinity, month));
  }
  return [
    headings,
    ...data
      .map((row, i) => ({ row, i }))
      .sort((a, b) => (firstMonth.get(a.row[0]) ?? 0) - (firstMonth.get(b.row[0]) ?? 0) || a.i - b.i)
      .map((x) => x.row),
  ];
}

/**
 * A large R5.1 IR tsv: the official sample's header rows and headings, then `items` rows for each of
 * `parents` journals, item i of every parent before item i+1 (so the rows of one parent lie far apart
 * and are grouped across the whole file); each row 1 request in Jan-2022 and 2 in Feb-2022.
 */
export function spreadIrTsv(parents: number, items: number): string {
  const tsv = readFileSync(join(FIXTURES, 'r51', 'IR_sample_r51.tsv'), 'utf8').replace(/^\uFEFF/, '');
  const lines = tsv.split('\n');
  const headings = lines.findIndex((l) => l.startsWith('Item\t'));
  const cols = lines[headings].split('\t');
  const at = (name: string) => cols.indexOf(name);
  const rows: string[] = [];
  for (let item = 0; item < items; item += 1)
    for (let parent = 0; parent < parents; parent += 1) {
      const cells = cols.map(() => '');
      cells[at('Item')] = `Item ${parent}-${item}`;
      cells[at('Platform')] = 'Platform 1';
      cells[at('Parent_Title')] = `Journal ${parent}`;
      cells[at('Parent_Data_Type')] = 'Journal';
      cells[at('Parent_Online_ISSN')] = `1234-${String(parent).padStart(4, '0')}`;
      cells[at('Data_Type')] = 'Article';
      cells[at('YOP')] = '2022';
      cells[at('Access_Type')] = 'Controlled';
      cells[at('Access_Method')] = 'Regular';
      cells[at('Metric_Type')] = 'Total_Item_Requests';
      cells[at('Reporting_Period_Total')] = '3';
      cells[at('Jan-2022')] = '1';
      cells[at('Feb-2022')] = '2';
      for (const m of ['Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'])
        cells[at(`${m}-2022`)] = '0';
      rows.push(cells.join('\t'));
    }
  return [...lines.slice(0, headings + 1), ...rows, ''].join('\n');
}
