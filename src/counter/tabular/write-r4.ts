/**
 * COUNTER Release 4 tabular reports (JR1, JR1 GOA, JR1a, JR2, BR1, BR2, BR3, BR5, DB1, DB2, PR1, MR1)
 * written from the stored R4 months of a range: the layout `read-r4.ts` reads, so that a file uploaded
 * and exported again gives the same rows. Layout and metric mapping: docs/counter-tabular.md, section 8.
 */
import { isJsonObject, type JsonObject } from '../json.ts';
import { lastDayOf, type YearMonth } from '../year-month.ts';
import { ExportError } from './errors.ts';
import { monthHeading } from './layouts.ts';
import type { R4MergedItem } from './r4.ts';
import type { Cell } from './table.ts';
import type { TabularSource } from './writers.ts';

/** One row per item and line: a metric type, labelled by its user activity / access denied category. */
interface Line {
  label?: string;
  metricType: string;
}

interface Column {
  heading: string;
  /** `publisher`, `platform` or an identifier type (DOI, PROPRIETARY, PRINT_ISSN …). */
  field: string;
}

interface R4Layout {
  title: string;
  description: string;
  nameHeading: string;
  columns: Column[];
  kindHeading?: string;
  lines: Line[];
  /** JR1 family: the period's HTML and PDF totals after Reporting Period Total. */
  htmlPdf: boolean;
  /** The label of the totals row(s) under the headings, one per line. */
  totalLabel?: string;
}

const REQUESTS: Line[] = [{ metricType: 'FT_TOTAL' }];
const SEARCHES: Line[] = [
  { label: 'Regular Searches', metricType: 'SEARCH_REG' },
  { label: 'Searches-federated and automated', metricType: 'SEARCH_FED' },
];
const ACTIVITIES: Line[] = [
  ...SEARCHES,
  { label: 'Result Clicks', metricType: 'RESULT_CLICK' },
  { label: 'Record Views', metricType: 'RECORD_VIEW' },
];
const DENIED: Line[] = [
  { label: 'Access denied: concurrent/simultaneous user licence limit exceeded', metricType: 'TURNAWAY' },
  { label: 'Access denied: content item not licensed', metricType: 'NO_LICENSE' },
];

const PUBLISHER: Column = { heading: 'Publisher', field: 'publisher' };
const PLATFORM: Column = { heading: 'Platform', field: 'platform' };
const JOURNAL_COLUMNS: Column[] = [
  PUBLISHER,
  PLATFORM,
  { heading: 'Journal DOI', field: 'DOI' },
  { heading: 'Proprietary Identifier', field: 'PROPRIETARY' },
  { heading: 'Print ISSN', field: 'PRINT_ISSN' },
  { heading: 'Online ISSN', field: 'ONLINE_ISSN' },
];
const BOOK_COLUMNS: Column[] = [
  PUBLISHER,
  PLATFORM,
  { heading: 'Book DOI', field: 'DOI' },
  { heading: 'Proprietary Identifier', field: 'PROPRIETARY' },
  { heading: 'ISBN', field: 'ISBN' },
  { heading: 'ISSN', field: 'ISSN' },
];

function journalRequests(title: string, description: string): R4Layout {
  return {
    title,
    description,
    nameHeading: 'Journal',
    columns: JOURNAL_COLUMNS,
    lines: REQUESTS,
    htmlPdf: true,
    totalLabel: 'Total for all journals',
  };
}

function bookRequests(title: string, description: string): R4Layout {
  return {
    title,
    description,
    nameHeading: '',
    columns: BOOK_COLUMNS,
    lines: REQUESTS,
    htmlPdf: false,
    totalLabel: 'Total for all titles',
  };
}

const LAYOUTS: Record<string, R4Layout> = {
  JR1: journalRequests(
    'Journal Report 1 (R4)',
    'Number of Successful Full-Text Article Requests by Month and Journal',
  ),
  'JR1 GOA': journalRequests(
    'Journal Report 1 GOA (R4)',
    'Number of Successful Gold Open Access Full-Text Article Requests by Month and Journal',
  ),
  JR1a: journalRequests(
    'Journal Report 1a (R4)',
    'Number of Successful Full-Text Article Requests from an Archive by Month and Journal',
  ),
  JR2: {
    title: 'Journal Report 2 (R4)',
    description: 'Access Denied to Full-Text Articles by Month, Journal and Category',
    nameHeading: 'Journal',
    columns: JOURNAL_COLUMNS,
    kindHeading: 'Access Denied Category',
    lines: DENIED,
    htmlPdf: false,
    totalLabel: 'Total for all journals',
  },
  BR1: bookRequests('Book Report 1 (R4)', 'Number of Successful Title Requests by Month and Title'),
  BR2: bookRequests('Book Report 2 (R4)', 'Number of Successful Section Requests by Month and Title'),
  BR3: {
    title: 'Book Report 3 (R4)',
    description: 'Access Denied to Content Items by Month, Title and Category',
    nameHeading: '',
    columns: BOOK_COLUMNS,
    kindHeading: 'Access Denied Category',
    lines: DENIED,
    htmlPdf: false,
    totalLabel: 'Total for all titles',
  },
  BR5: {
    title: 'Book Report 5 (R4)',
    description: 'Total Searches by Month and Title',
    nameHeading: '',
    columns: BOOK_COLUMNS,
    kindHeading: 'User Activity',
    lines: SEARCHES,
    htmlPdf: false,
  },
  DB1: {
    title: 'Database Report 1 (R4)',
    description: 'Total Searches, Result Clicks and Record Views by Month and Database',
    nameHeading: 'Database',
    columns: [PUBLISHER, PLATFORM],
    kindHeading: 'User Activity',
    lines: ACTIVITIES,
    htmlPdf: false,
  },
  DB2: {
    title: 'Database Report 2 (R4)',
    description: 'Access Denied by Month, Database and Category',
    nameHeading: 'Database',
    columns: [PUBLISHER, PLATFORM],
    kindHeading: 'Access Denied Category',
    lines: DENIED,
    htmlPdf: false,
  },
  PR1: {
    title: 'Platform Report 1 (R4)',
    description: 'Total Searches, Result Clicks and Record Views by Month and Platform',
    nameHeading: 'Platform',
    columns: [PUBLISHER],
    kindHeading: 'User Activity',
    lines: ACTIVITIES,
    htmlPdf: false,
  },
  MR1: {
    title: 'Multimedia Report 1 (R4)',
    description: 'Number of Successful Multimedia Full Content Unit Requests by Month and Collection',
    nameHeading: 'Collection',
    columns: [{ heading: 'Content Provider', field: 'publisher' }, PLATFORM],
    lines: [{ metricType: 'MULTIMEDIA' }],
    htmlPdf: false,
  },
};

/** The Release 4 reports written as tabular files. */
export const R4_TABULAR_REPORTS: readonly string[] = Object.keys(LAYOUTS);

/** The layout of a stored report name (`JR1`, `jr1 goa` …); an ExportError when it is not written as a table. */
function layoutOf(reportName: string): R4Layout {
  const key = R4_TABULAR_REPORTS.find((k) => k.toLowerCase() === reportName.trim().toLowerCase());
  if (!key)
    throw new ExportError(
      'invalid_request',
      `COUNTER 4 report ${reportName} can be exported as json only (tabular: ${R4_TABULAR_REPORTS.join(', ')})`,
    );
  return LAYOUTS[key];
}

function text(value: unknown): string {
  return typeof value === 'string' ? value.trim() : typeof value === 'number' ? String(value) : '';
}

/** The value of a publisher / platform / identifier column for an item description. */
function fieldOf(description: JsonObject, field: string): string {
  if (field === 'publisher') return text(description.itemPublisher);
  if (field === 'platform') return text(description.itemPlatform);
  const ids = Array.isArray(description.itemIdentifier) ? description.itemIdentifier : [];
  const id = ids.find((i) => isJsonObject(i) && text(i.type).toUpperCase() === field);
  return isJsonObject(id) ? text(id.value) : '';
}

/** Counts of one item per metric type (upper case) and month index. */
function countsOf(
  performance: ReadonlyArray<readonly [number, JsonObject]>,
  months: number,
): Map<string, number[]> {
  const counts = new Map<string, number[]>();
  for (const [month, entry] of performance) {
    const instances = Array.isArray(entry.instance) ? entry.instance : [];
    for (const instance of instances) {
      if (!isJsonObject(instance)) continue;
      const n = typeof instance.count === 'number' ? instance.count : Number(instance.count);
      if (!Number.isFinite(n)) continue;
      const type = text(instance.metricType).toUpperCase();
      let row = counts.get(type);
      if (!row) counts.set(type, (row = new Array<number>(months).fill(0)));
      row[month] += n;
    }
  }
  return counts;
}

const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);

/** Totals of every item by metric type and month, and the publisher/platform all items share. */
export class R4Totals {
  private readonly counts = new Map<string, number[]>();
  private readonly shared = new Map<string, string | null>();

  constructor(private readonly months: number) {}

  /** Adds one stored item of the month at `monthIndex` (the `observe` callback of `mergeR4Range`). */
  add(item: JsonObject, monthIndex: number): void {
    const performance = Array.isArray(item.itemPerformance) ? item.itemPerformance.filter(isJsonObject) : [];
    for (const [type, row] of countsOf(
      performance.map((p) => [monthIndex, p] as const),
      this.months,
    )) {
      let total = this.counts.get(type);
      if (!total) this.counts.set(type, (total = new Array<number>(this.months).fill(0)));
      total[monthIndex] += row[monthIndex];
    }
    for (const field of ['publisher', 'platform']) {
      const value = fieldOf(item, field);
      const seen = this.shared.get(field);
      if (seen === undefined) this.shared.set(field, value);
      else if (seen !== null && seen !== value) this.shared.set(field, null);
    }
  }

  row(type: string): number[] {
    return this.counts.get(type) ?? new Array<number>(this.months).fill(0);
  }

  /** The publisher or platform when every item has the same one, else ''. */
  common(field: string): string {
    return this.shared.get(field) ?? '';
  }
}

export interface R4TableInput {
  reportName: string;
  header: JsonObject;
  months: YearMonth[];
  /** `yyyy-mm-dd` of the Date run row. */
  created: string;
  totals: R4Totals;
  items(): AsyncIterable<R4MergedItem>;
}

/** Throws an ExportError when `reportName` has no Release 4 tabular layout here. */
export function checkR4Tabular(reportName: string): void {
  layoutOf(reportName);
}

/** The cells of the Release 4 tabular report: the header rows, headings, totals rows, then the items. */
export function r4TabularSource(input: R4TableInput): TabularSource {
  const layout = layoutOf(input.reportName);
  const n = input.months.length;
  const customers = Array.isArray(input.header.customer) ? input.header.customer : [];
  const customer = isJsonObject(customers[0]) ? customers[0] : {};
  const begin = input.months[0];
  const end = input.months[n - 1];
  const headings: Cell[] = [
    layout.nameHeading,
    ...layout.columns.map((c) => c.heading),
    ...(layout.kindHeading !== undefined ? [layout.kindHeading] : []),
    'Reporting Period Total',
    ...(layout.htmlPdf ? ['Reporting Period HTML', 'Reporting Period PDF'] : []),
    ...input.months.map(monthHeading),
  ];
  const row = (name: string, columns: string[], line: Line, counts: (type: string) => number[]): Cell[] => {
    const months = counts(line.metricType);
    return [
      name,
      ...columns,
      ...(layout.kindHeading !== undefined ? [line.label ?? ''] : []),
      sum(months),
      ...(layout.htmlPdf ? [sum(counts('FT_HTML')), sum(counts('FT_PDF'))] : []),
      ...months,
    ];
  };
  const totalRows: Cell[][] =
    layout.totalLabel === undefined
      ? []
      : layout.lines.map((line) =>
          row(
            layout.totalLabel ?? '',
            layout.columns.map((c) =>
              c.field === 'publisher' || c.field === 'platform' ? input.totals.common(c.field) : '',
            ),
            line,
            (type) => input.totals.row(type),
          ),
        );
  return {
    headings: [
      [layout.title, layout.description],
      [text(customer.name)],
      [text(customer.id)],
      ['Period covered by Report:'],
      [`${begin}-01 to ${lastDayOf(end)}`],
      ['Date run:'],
      [input.created],
      headings,
      ...totalRows,
    ],
    async *rows() {
      for await (const item of input.items()) {
        const counts = countsOf(item.performance, n);
        const zero = new Array<number>(n).fill(0);
        const columns = layout.columns.map((c) => fieldOf(item.description, c.field));
        yield layout.lines.map((line) =>
          row(text(item.description.itemName), columns, line, (type) => counts.get(type) ?? zero),
        );
      }
    },
  };
}
