/**
 * COUNTER Release 4 tabular reports (JR1, JR1 GOA, JR1a, JR2, BR1, BR2, BR3, BR5, DB1, DB2, PR1, MR1 as
 * tsv, csv or xlsx rows) read into the months a COUNTER 4 harvest stores: FOLIO's camelCase R4 JSON
 * (`src/sushi/r4/model.ts`), one report per month with the report items that have usage in that
 * month. Rows are read one at a time and routed to month buckets that spill to disk, as the SUSHI 4
 * reader does; memory holds one item. The layout read and the mapping of columns to the R4 JSON are in
 * docs/counter-tabular.md, section 10.
 */
import { MonthBuckets } from '../month-buckets.ts';
import { r4MonthsOf } from '../r4-months.ts';
import { lastDayOf, monthsBetween, parseYearMonth, type YearMonth } from '../year-month.ts';
import { memoryBudgets } from '../../memory-budget.ts';
import { monthOfHeading, TabularReadError } from './read.ts';

/** A Release 4 report this reader does not take (JR3, JR4, JR5, BR4, TR1 …): answered as an unsupported type. */
export class TabularUnsupportedError extends TabularReadError {
  override name = 'TabularUnsupportedError';
}

type Json = Record<string, unknown>;

/** How a report's rows become R4 metrics. */
interface R4Kind {
  dataType: string;
  /** `requests`: one metric per month; `activity`/`denied`: the metric is named by a column. */
  usage: 'requests' | 'activity' | 'denied';
  /** For `requests`: the metric type. */
  metricType?: string;
}

const KINDS: Record<string, R4Kind> = {
  JR1: { dataType: 'JOURNAL', usage: 'requests', metricType: 'FT_TOTAL' },
  'JR1 GOA': { dataType: 'JOURNAL', usage: 'requests', metricType: 'FT_TOTAL' },
  JR1a: { dataType: 'JOURNAL', usage: 'requests', metricType: 'FT_TOTAL' },
  JR2: { dataType: 'JOURNAL', usage: 'denied' },
  BR1: { dataType: 'BOOK', usage: 'requests', metricType: 'FT_TOTAL' },
  BR2: { dataType: 'BOOK', usage: 'requests', metricType: 'FT_TOTAL' },
  BR3: { dataType: 'BOOK', usage: 'denied' },
  BR5: { dataType: 'BOOK', usage: 'activity' },
  DB1: { dataType: 'DATABASE', usage: 'activity' },
  DB2: { dataType: 'DATABASE', usage: 'denied' },
  PR1: { dataType: 'PLATFORM', usage: 'activity' },
  MR1: { dataType: 'MULTIMEDIA', usage: 'requests', metricType: 'MULTIMEDIA' },
};

const FAMILIES: Record<string, string> = {
  journal: 'JR',
  book: 'BR',
  database: 'DB',
  platform: 'PR',
  multimedia: 'MR',
  title: 'TR',
};

/** `Journal Report 1 GOA (R4)` → `JR1 GOA`; undefined when the text is not a Release 4 report name. */
export function r4ReportName(text: string): string | undefined {
  const match =
    /^\s*(journal|book|database|platform|multimedia|title)\s+report\s+(\d+)([a-z]?)(\s+goa|\s+mobile)?\s*\(\s*r\s*4\s*\)\s*$/i.exec(
      text,
    );
  if (!match) return undefined;
  const suffix = match[4] ? ` ${match[4].trim().toUpperCase() === 'GOA' ? 'GOA' : 'Mobile'}` : '';
  return `${FAMILIES[match[1].toLowerCase()]}${match[2]}${match[3].toLowerCase()}${suffix}`;
}

/** Whether a file's first row names a Release 4 report (`Journal Report 1 (R4)` in its first cell). */
export function isR4FirstRow(cells: readonly string[]): boolean {
  return r4ReportName((cells[0] ?? '').replace(/^\uFEFF/, '')) !== undefined;
}

/** User Activity values (DB1, PR1, BR5) → [category, metric type]. */
const ACTIVITIES: Record<string, [string, string]> = {
  'regular searches': ['SEARCHES', 'SEARCH_REG'],
  'searches-federated and automated': ['SEARCHES', 'SEARCH_FED'],
  'searches: federated and automated': ['SEARCHES', 'SEARCH_FED'],
  'result clicks': ['REQUESTS', 'RESULT_CLICK'],
  'record views': ['REQUESTS', 'RECORD_VIEW'],
};

/** Access denied categories (JR2, BR3, DB2) → metric type. */
function deniedMetric(text: string): string | undefined {
  const t = text.toLowerCase();
  if (/not licen[cs]ed/.test(t)) return 'NO_LICENSE';
  if (/concurrent|simultaneous|limit exceeded|turnaway/.test(t)) return 'TURNAWAY';
  return undefined;
}

/** Column headings (compared lower case, spaces collapsed) → identifier types. */
const IDENTIFIERS: Record<string, string> = {
  'journal doi': 'DOI',
  'book doi': 'DOI',
  doi: 'DOI',
  'proprietary identifier': 'PROPRIETARY',
  'print issn': 'PRINT_ISSN',
  'online issn': 'ONLINE_ISSN',
  issn: 'ISSN',
  isbn: 'ISBN',
};

function norm(heading: string): string {
  return heading.trim().replace(/\s+/g, ' ').toLowerCase();
}

interface R4Columns {
  headings: string[];
  name: number;
  publisher?: number;
  platform?: number;
  identifiers: [number, string][];
  /** User Activity or Access Denied Category. */
  kind?: number;
  total: number;
  html?: number;
  pdf?: number;
  months: [number, YearMonth][];
}

function readColumns(cells: string[], row: number, reportName: string, kind: R4Kind): R4Columns {
  const headings = cells.map((c) => c.trim());
  while (headings.length > 0 && headings[headings.length - 1] === '') headings.pop();
  const find = (...names: string[]) => {
    const i = headings.findIndex((h) => names.includes(norm(h)));
    return i < 0 ? undefined : i;
  };
  const total = find('reporting period total');
  if (total === undefined) throw new TabularReadError('no Reporting Period Total column', row);
  const months: [number, YearMonth][] = [];
  const html = find('reporting period html');
  const pdf = find('reporting period pdf');
  for (let i = total + 1; i < headings.length; i += 1) {
    if (i === html || i === pdf) continue;
    const month = monthOfHeading(headings[i]);
    if (!month)
      throw new TabularReadError(
        `'${headings[i]}' is not a month heading (Mmm-yyyy)`,
        row,
        headings[i] || `#${i + 1}`,
      );
    months.push([i, month]);
  }
  if (months.length === 0)
    throw new TabularReadError(
      `the ${reportName} file has no month columns (Mmm-yyyy after Reporting Period Total): its usage cannot be stored per month`,
      row,
    );
  const identifiers: [number, string][] = [];
  headings.forEach((h, i) => {
    const type = IDENTIFIERS[norm(h)];
    if (type && i !== 0 && i < total) identifiers.push([i, type]);
  });
  const platformColumn = find('platform');
  const columns: R4Columns = {
    headings,
    name: 0,
    publisher: find('publisher', 'content provider'),
    platform: reportName === 'PR1' ? 0 : platformColumn === 0 ? undefined : platformColumn,
    identifiers,
    total,
    html,
    pdf,
    months,
  };
  if (kind.usage === 'activity') {
    columns.kind = find('user activity');
    if (columns.kind === undefined)
      throw new TabularReadError(`no User Activity column, which a ${reportName} report has`, row);
  }
  if (kind.usage === 'denied') {
    columns.kind = find('access denied category', 'access denied categories', 'category');
    if (columns.kind === undefined)
      throw new TabularReadError(`no Access Denied Category column, which a ${reportName} report has`, row);
  }
  return columns;
}

function count(text: string | undefined, row: number, field: string): number {
  const t = (text ?? '').trim();
  if (t === '') return 0;
  if (!/^\d+$/.test(t))
    throw new TabularReadError(`'${t.slice(0, 40)}' is not a count (a whole number ≥ 0)`, row, field);
  const n = Number(t);
  if (!Number.isSafeInteger(n)) throw new TabularReadError(`'${t.slice(0, 40)}' is too large`, row, field);
  return n;
}

export interface R4TabularMonth {
  yearMonth: YearMonth;
  /** The stored R4 report of the month: `{version, name, title, created?, customer: [{…, reportItems}]}`. */
  report: Json;
  itemCount: number;
  /** sha256 of the month's item texts (as a harvested R4 month's `contentHash`). */
  contentHash: string;
}

export interface R4TabularReport {
  /** `JR1`, `JR1 GOA`, `DB1` …, as a harvest names the report. */
  reportName: string;
  /** The months of the file's month columns, ascending. */
  yearMonths: YearMonth[];
  /** Data rows read (the "Total for all …" rows not counted). */
  rows: number;
  /** One month at a time, in month order. */
  months(): AsyncGenerator<R4TabularMonth>;
  dispose(): Promise<void>;
}

export interface R4ReadOptions {
  tmpDir?: string;
  /** A month bucket above this many characters spills to disk (default from src/memory-budget.ts, 32 MiB without a heap limit). */
  spillThresholdBytes?: number;
}

interface OpenItem {
  key: string;
  description: Json;
  /** month → category → metric type → count. */
  usage: Map<YearMonth, Map<string, Map<string, number>>>;
}

const DATE_RANGE = /(\d{4}-\d{2}-\d{2})\s*(?:to|–|-)\s*(\d{4}-\d{2}-\d{2})/i;

/**
 * Reads the rows of a COUNTER 4 tabular report. Throws TabularReadError (TabularUnsupportedError for a
 * report this reader does not take) naming the row and column of the fault; nothing is kept then.
 */
export async function readR4Tabular(
  rows: AsyncIterable<string[]>,
  options: R4ReadOptions = {},
): Promise<R4TabularReport> {
  const buckets = new MonthBuckets({
    spillThresholdBytes: options.spillThresholdBytes ?? memoryBudgets().r4SpillThresholdBytes,
    memoryBudgetBytes: memoryBudgets().r4GroupedBytes,
    ...(options.tmpDir !== undefined && { tmpDir: options.tmpDir }),
  });
  try {
    return await read(rows, buckets);
  } catch (error) {
    await buckets.dispose();
    throw error;
  }
}

async function read(rows: AsyncIterable<string[]>, buckets: MonthBuckets): Promise<R4TabularReport> {
  let rowNumber = 0;
  let reportName: string | undefined;
  let title = '';
  let kind: R4Kind | undefined;
  const headerRows: string[][] = [];
  let columns: R4Columns | undefined;
  let period: { begin: YearMonth; end: YearMonth } | undefined;
  let created: string | undefined;
  let open: OpenItem | undefined;
  let dataRows = 0;

  const closeItem = () => {
    if (!open) return;
    for (const [month, categories] of open.usage) {
      const metrics = [...categories].map(([category, counts]) => ({
        period: { begin: `${month}-01`, end: lastDayOf(month) },
        category,
        instance: [...counts].map(([metricType, n]) => ({ metricType, count: n })),
      }));
      buckets.add(month, JSON.stringify({ ...open.description, itemPerformance: metrics }));
    }
    open = undefined;
  };

  for await (const raw of rows) {
    rowNumber += 1;
    const cells = raw.map((c) => (rowNumber === 1 ? c.replace(/^\uFEFF/, '') : c));
    if (rowNumber === 1) {
      reportName = r4ReportName(cells[0] ?? '');
      if (!reportName)
        throw new TabularReadError(
          'this is not a COUNTER 4 tabular report (the first cell must name it, as `Journal Report 1 (R4)`)',
          1,
        );
      kind = KINDS[reportName];
      if (!kind)
        throw new TabularUnsupportedError(
          `${reportName} is not read from tabular files (supported: ${Object.keys(KINDS).join(', ')}); ${
            reportName === 'JR5'
              ? 'JR5 counts by year of publication over the whole period and cannot be split into months'
              : 'harvest it over SUSHI instead'
          }`,
          1,
        );
      title = (cells[0] ?? '').replace(/\(\s*R\s*4\s*\)\s*$/i, '').trim();
      continue;
    }
    if (!kind || !reportName) continue;
    if (!columns) {
      if (!cells.some((c) => norm(c) === 'reporting period total')) {
        headerRows.push(cells);
        if (rowNumber > 15)
          throw new TabularReadError(
            'no column headings row (with Reporting Period Total) in the first 15 rows',
            rowNumber,
          );
        continue;
      }
      ({ period, created } = readHeaderRows(headerRows));
      columns = readColumns(cells, rowNumber, reportName, kind);
      for (const [i, month] of columns.months)
        if (month < period.begin || month > period.end)
          throw new TabularReadError(
            `the month ${month} lies outside the period covered by the report (${period.begin} to ${period.end})`,
            rowNumber,
            columns.headings[i],
          );
      continue;
    }
    if (cells.every((c) => c.trim() === '')) continue;
    const first = (cells[0] ?? '').trim();
    if (/^total for all\b/i.test(first)) continue;
    dataRows += 1;
    const extra = cells.slice(columns.headings.length).findIndex((c) => c.trim() !== '');
    if (extra >= 0)
      throw new TabularReadError(
        `a value beyond the last column heading (cell ${columns.headings.length + extra + 1})`,
        rowNumber,
      );
    const lastMonth = columns.months[columns.months.length - 1][0];
    if (cells.length <= lastMonth)
      throw new TabularReadError(
        `the row has ${cells.length} cells, the headings ${columns.headings.length}: the file looks truncated`,
        rowNumber,
        columns.headings[cells.length],
      );
    if (first === '') throw new TabularReadError('the name is empty', rowNumber, columns.headings[0] || 'A');
    const usage = rowUsage(cells, columns, kind, rowNumber);
    const description = describe(cells, columns, kind);
    const key = JSON.stringify(description);
    if (!open || open.key !== key) {
      closeItem();
      open = { key, description, usage: new Map() };
    }
    for (const [month, category, metricType, n] of usage) {
      let categories = open.usage.get(month);
      if (!categories) open.usage.set(month, (categories = new Map()));
      let counts = categories.get(category);
      if (!counts) categories.set(category, (counts = new Map()));
      counts.set(metricType, (counts.get(metricType) ?? 0) + n);
    }
    await buckets.spillIfNeeded();
  }
  if (!reportName || !kind) throw new TabularReadError('the file is empty');
  if (!columns)
    throw new TabularReadError(
      'the file ends before the column headings row (with Reporting Period Total)',
      rowNumber,
    );
  closeItem();
  const yearMonths = [...new Set(columns.months.map(([, m]) => m))].sort();
  const meta: Json = {
    ...(created !== undefined && { created }),
    version: '4',
    name: reportName,
    title,
  };
  const customerRow = (n: number) => (headerRows[n - 2]?.[0] ?? '').trim();
  const customer: Json = {
    ...(customerRow(2) !== '' && { name: customerRow(2) }),
    ...(customerRow(3) !== '' && { id: customerRow(3) }),
    contact: [],
    institutionalIdentifier: [],
  };
  return {
    reportName,
    yearMonths,
    rows: dataRows,
    months: () => r4MonthsOf(buckets, yearMonths, meta, customer),
    dispose: () => buckets.dispose(),
  };
}

/** The period covered (rows 4–5, or one row `Period covered by Report: … to …`) and the date run. */
function readHeaderRows(headerRows: string[][]): {
  period: { begin: YearMonth; end: YearMonth };
  created?: string;
} {
  // headerRows[0] is row 2 of the file.
  const text = (i: number) =>
    (headerRows[i] ?? [])
      .map((c) => c.trim())
      .filter((c) => c !== '')
      .join(' ');
  let period: { begin: YearMonth; end: YearMonth } | undefined;
  let created: string | undefined;
  for (let i = 0; i < headerRows.length; i += 1) {
    const here = text(i);
    if (/period covered/i.test(here) && !period) {
      const range = DATE_RANGE.exec(here) ?? DATE_RANGE.exec(text(i + 1));
      const where = DATE_RANGE.test(here) ? i : i + 1;
      if (!range)
        throw new TabularReadError(
          `the period covered must be 'yyyy-mm-dd to yyyy-mm-dd' (found '${text(i + 1).slice(0, 60)}')`,
          where + 2,
          'Period covered by Report',
        );
      const begin = parseYearMonth(range[1]);
      const end = parseYearMonth(range[2]);
      if (
        !begin ||
        !end ||
        range[1] !== `${begin}-01` ||
        range[2] !== lastDayOf(end) ||
        begin > end ||
        monthsBetween(begin, end).length === 0
      )
        throw new TabularReadError(
          `the period covered '${range[0]}' must run from the first day of a month to the last day of a month`,
          where + 2,
          'Period covered by Report',
        );
      period = { begin, end };
    }
    if (/date run/i.test(here)) {
      const date = /(\d{4}-\d{2}-\d{2})/.exec(here) ?? /(\d{4}-\d{2}-\d{2})/.exec(text(i + 1));
      if (date) created = `${date[1]}T00:00:00.000Z`;
    }
  }
  if (!period)
    throw new TabularReadError(
      "the header rows have no 'Period covered by Report' (yyyy-mm-dd to yyyy-mm-dd): the months cannot be told",
    );
  return { period, ...(created !== undefined && { created }) };
}

/** The report item without its performance, in the key order of a harvested item. */
function describe(cells: string[], columns: R4Columns, kind: R4Kind): Json {
  const cell = (i: number | undefined) => (i === undefined ? '' : (cells[i] ?? '').trim());
  const identifiers = columns.identifiers
    .map(([i, type]) => ({ type, value: cell(i) }))
    .filter((id) => id.value !== '');
  const item: Json = {
    itemIdentifier: identifiers,
    itemContributor: [],
    itemDate: [],
    itemAttribute: [],
  };
  const platform = cell(columns.platform);
  const publisher = cell(columns.publisher);
  if (platform !== '') item.itemPlatform = platform;
  if (publisher !== '') item.itemPublisher = publisher;
  item.itemName = cell(columns.name);
  item.itemDataType = kind.dataType;
  return item;
}

/** `[month, category, metric type, count]` of one row (counts of 0 left out). */
function rowUsage(
  cells: string[],
  columns: R4Columns,
  kind: R4Kind,
  row: number,
): [YearMonth, string, string, number][] {
  let category = 'REQUESTS';
  let metricType = kind.metricType ?? '';
  if (kind.usage !== 'requests' && columns.kind !== undefined) {
    const value = (cells[columns.kind] ?? '').trim();
    const heading = columns.headings[columns.kind];
    if (kind.usage === 'activity') {
      const activity = ACTIVITIES[norm(value)];
      if (!activity)
        throw new TabularReadError(
          `'${value.slice(0, 60)}' is not a COUNTER 4 user activity (Regular Searches, Searches-federated and automated, Result Clicks, Record Views)`,
          row,
          heading,
        );
      [category, metricType] = activity;
    } else {
      const denied = deniedMetric(value);
      if (!denied)
        throw new TabularReadError(
          `'${value.slice(0, 60)}' is not a COUNTER 4 access denied category (… user licence limit exceeded, … content item not licensed)`,
          row,
          heading,
        );
      category = 'ACCESS_DENIED';
      metricType = denied;
    }
  }
  const out: [YearMonth, string, string, number][] = [];
  let sum = 0;
  for (const [i, month] of columns.months) {
    const n = count(cells[i], row, columns.headings[i]);
    sum += n;
    if (n > 0) out.push([month, category, metricType, n]);
  }
  const total = count(cells[columns.total], row, columns.headings[columns.total]);
  if (total !== sum)
    throw new TabularReadError(
      `Reporting Period Total is ${total}, the months add up to ${sum}`,
      row,
      columns.headings[columns.total],
    );
  // With one month, the period's HTML and PDF columns are that month's (JR1, JR1 GOA, JR1a).
  if (columns.months.length === 1 && kind.metricType === 'FT_TOTAL' && total > 0) {
    const month = columns.months[0][1];
    const parts: [YearMonth, string, string, number][] = [];
    for (const [i, type] of [
      [columns.html, 'FT_HTML'],
      [columns.pdf, 'FT_PDF'],
    ] as const)
      if (i !== undefined) {
        const n = count(cells[i], row, columns.headings[i]);
        if (n > 0) parts.push([month, 'REQUESTS', type, n]);
      }
    return [...parts, ...out];
  }
  return out;
}
