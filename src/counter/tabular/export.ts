/**
 * The export API: stored months of one report in, one COUNTER file for `begin..end` out (tsv, csv,
 * xlsx or json), streamed. `prepareExport` validates the request and reads what it must before the
 * first byte (a one-month range: only the month's header; a longer range: every month, combined with
 * bounded memory), so an HTTP route can still answer with an error status; then `body()` or
 * `writeTo()` streams the file.
 */
import type { Writable } from 'node:stream';
import type { JsonObject } from '../json.ts';
import {
  isMasterReport,
  isStandardView,
  masterReportOf,
  parseRelease,
  parseReportId,
  type CounterRelease,
} from '../reports.ts';
import { monthsBetween, parseYearMonth, type YearMonth } from '../year-month.ts';
import { ExportError } from './errors.ts';
import { mergedJsonHeader, requestedAttributes, tabularHeaderRows, viewJsonHeader } from './header.ts';
import { masterColumns, viewDefinition, type ColumnId } from './layouts.ts';
import { mergeRange, type MergedRange, type MergeStrategy, type MonthInput } from './merge.ts';
import { mergeR4Range, type R4Merge } from './r4.ts';
import type { SpillOptions, SpillStats } from './spill.ts';
import { checkR4Tabular, r4TabularSource, R4Totals } from './write-r4.ts';
import { headingRows, itemRows, type TabularLayout } from './table.ts';
import {
  MASTER_JSON_PROJECTION,
  ProjectionNotes,
  attributeColumns,
  project,
  viewProjection,
  type Projection,
} from './views.ts';
import {
  CONTENT_TYPES,
  EXPORT_FORMATS,
  csvChunks,
  jsonChunks,
  tsvChunks,
  writeChunks,
  xlsxChunks,
  type ExportFormat,
  type TabularSource,
} from './writers.ts';

export type ExportRelease = CounterRelease | '4';

export interface ExportRequest {
  /** `5.1`, `5` (or `5.0`) or `4`. */
  release: string;
  /** The report asked for: a master report or standard view (R5), a report name such as JR1 (R4). */
  reportId: string;
  /**
   * The stored report the months belong to; default `reportId`. A standard view is derived from its
   * master report when this is the master's id (see `chooseReportSource`).
   */
  sourceReportId?: string;
  /** First and last month, `yyyy-MM`. */
  begin: string;
  end: string;
  format: string;
  /** The stored months of the source report within the range, ascending. */
  months: MonthInput;
  /** How many months `months` holds, when known: a single month is then streamed item by item. */
  monthCount?: number;
  /** Tabular formats: leave out the month columns (Exclude_Monthly_Details=True). */
  excludeMonthlyDetails?: boolean;
  /** `Created` of the export; default now. */
  created?: Date | string;
  /** `Created_By` of the export: a text, or a function of the stored value. */
  createdBy?: string | ((stored: string) => string);
  /** Used in the file name (`{providerId}_{reportId}_{release}_{begin}_{end}.{ext}`, as FOLIO's UI). */
  providerId?: string;
  spill?: SpillOptions;
  /**
   * Merge months that list the same items in the same order side by side, without a table (default
   * true; false always uses the table, for tests).
   */
  lockstep?: boolean;
}

export interface PreparedExport {
  format: ExportFormat;
  contentType: string;
  fileName: string;
  /** `Content-Disposition` header value for `fileName`. */
  contentDisposition: string;
  release: ExportRelease;
  reportId: string;
  sourceReportId: string;
  /** True when a standard view is computed from its master report. */
  derived: boolean;
  /** The months of the range. */
  months: YearMonth[];
  /** Months of the range for which no stored month was handed in (their usage shows as 0). */
  missingMonths(): YearMonth[];
  /** Remarks about the data (complete once the body has been streamed). */
  notes(): string[];
  /** What the range merge wrote to disk (undefined for a streamed month or months side by side). */
  spillStats(): SpillStats | undefined;
  /** How the months were merged (docs/counter-tabular.md, section 6). */
  mergeStrategy: MergeStrategy;
  /** The file's bytes; iterate once. */
  body(): AsyncGenerator<Uint8Array>;
  /** Streams the body into `out` (honouring backpressure); does not end `out`. */
  writeTo(out: Writable): Promise<void>;
  /** Removes temporary files; the body does so when it runs to its end. */
  dispose(): Promise<void>;
}

export const DEFAULT_CREATED_BY_SUFFIX = ' via erm-usage-harvester';

/** RFC 3339 without fractions, UTC (`2024-10-11T14:37:15Z`), as the CoP writes `Created`. */
export function rfc3339(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

function part(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '');
}

/** The download file name: `{providerId}_{reportId}_{release}_{begin}_{end}.{ext}` (providerId optional). */
export function exportFileName(
  request: { providerId?: string; reportId: string; release: string; begin: string; end: string },
  format: ExportFormat,
): string {
  const parts = [request.providerId, request.reportId, request.release, request.begin, request.end]
    .filter((p): p is string => p !== undefined && p !== '')
    .map(part)
    .filter((p) => p !== '');
  return `${parts.join('_')}.${format}`;
}

/** `attachment; filename="…"` with an RFC 5987 `filename*` when the name is not plain ASCII. */
export function contentDisposition(fileName: string): string {
  const ascii = fileName.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  if (ascii === fileName) return `attachment; filename="${fileName}"`;
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(fileName)}`;
}

function parseExportRelease(value: string): ExportRelease {
  const trimmed = value.trim();
  if (/^r?4(\.\d+)?$/i.test(trimmed)) return '4';
  const release = parseRelease(trimmed);
  if (!release) throw new ExportError('invalid_request', `Unknown COUNTER release "${value}"`);
  return release;
}

function parseFormat(value: string): ExportFormat {
  const format = value.trim().toLowerCase() as ExportFormat;
  if (!EXPORT_FORMATS.includes(format))
    throw new ExportError(
      'invalid_request',
      `Requested format "${value}" is not supported (one of ${EXPORT_FORMATS.join(', ')})`,
    );
  return format;
}

function parseMonth(value: string, name: string): YearMonth {
  const month = /^\d{4}-\d{2}$/.test(value.trim()) ? parseYearMonth(value) : undefined;
  if (!month) throw new ExportError('invalid_request', `${name} must be a month as yyyy-MM, got "${value}"`);
  return month;
}

/** Chunks of text as UTF-8 bytes. */
async function* utf8(chunks: AsyncIterable<string>): AsyncGenerator<Uint8Array> {
  for await (const chunk of chunks) yield Buffer.from(chunk, 'utf8');
}

function createdOf(request: ExportRequest): string {
  const created = request.created ?? new Date();
  return typeof created === 'string' ? created : rfc3339(created);
}

function createdByOf(request: ExportRequest, headers: readonly JsonObject[]): string {
  const stored = headers.map((h) => h.Created_By).find((v): v is string => typeof v === 'string') ?? '';
  if (typeof request.createdBy === 'function') return request.createdBy(stored);
  if (typeof request.createdBy === 'string') return request.createdBy;
  return `${stored}${DEFAULT_CREATED_BY_SUFFIX}`.trim();
}

function base(
  request: ExportRequest,
  format: ExportFormat,
  release: ExportRelease,
  months: YearMonth[],
): Pick<PreparedExport, 'format' | 'contentType' | 'fileName' | 'contentDisposition' | 'months'> {
  const fileName = exportFileName(
    {
      providerId: request.providerId,
      reportId: request.reportId,
      release,
      begin: request.begin,
      end: request.end,
    },
    format,
  );
  return {
    format,
    contentType: CONTENT_TYPES[format],
    fileName,
    contentDisposition: contentDisposition(fileName),
    months,
  };
}

function missing(months: readonly YearMonth[], supplied: readonly YearMonth[]): YearMonth[] {
  const have = new Set(supplied);
  return months.filter((m) => !have.has(m));
}

async function prepareR4(
  request: ExportRequest,
  format: ExportFormat,
  months: YearMonth[],
): Promise<PreparedExport> {
  // Checked before any month is read: a report without a tabular layout is json only.
  if (format !== 'json') checkR4Tabular(request.sourceReportId ?? request.reportId);
  const totals = new R4Totals(months.length);
  const merge: R4Merge = await mergeR4Range(
    request.months,
    { begin: months[0], end: months[months.length - 1] },
    request.spill,
    format === 'json' ? undefined : (item, i) => totals.add(item, i),
  );
  let chunks: () => AsyncGenerator<Uint8Array>;
  if (format === 'json') chunks = () => utf8(merge.chunks());
  else {
    const source = r4TabularSource({
      reportName: request.sourceReportId ?? request.reportId,
      header: merge.header,
      months,
      created: createdOf(request).slice(0, 10),
      totals,
      items: () => merge.items(),
    });
    chunks =
      format === 'tsv'
        ? () => utf8(tsvChunks(source))
        : format === 'csv'
          ? () => utf8(csvChunks(source))
          : () => xlsxChunks(source, request.reportId);
  }
  const stream = async function* (): AsyncGenerator<Uint8Array> {
    try {
      yield* chunks();
    } finally {
      await merge.dispose();
    }
  };
  return {
    ...base(request, format, '4', months),
    release: '4',
    reportId: request.reportId,
    sourceReportId: request.sourceReportId ?? request.reportId,
    derived: false,
    missingMonths: () => missing(months, merge.suppliedMonths),
    notes: () => [],
    spillStats: () => merge.stats(),
    mergeStrategy: 'table',
    body: stream,
    writeTo: (out) => writeChunks(stream(), out),
    dispose: () => merge.dispose(),
  };
}

/**
 * Validates the request, reads the months as far as needed and returns the export, ready to stream.
 * Throws `ExportError` for a bad request or input that does not fit it.
 */
export async function prepareExport(request: ExportRequest): Promise<PreparedExport> {
  const release = parseExportRelease(request.release);
  const format = parseFormat(request.format);
  const begin = parseMonth(request.begin, 'begin');
  const end = parseMonth(request.end, 'end');
  if (begin > end) throw new ExportError('invalid_request', `begin ${begin} is after end ${end}`);
  const months = monthsBetween(begin, end);
  if (months[months.length - 1] !== end)
    throw new ExportError('invalid_request', `The range ${begin}..${end} is too long`);
  if (release === '4') return prepareR4(request, format, months);

  const reportId = parseReportId(request.reportId);
  if (!reportId) throw new ExportError('invalid_request', `Unknown report "${request.reportId}"`);
  const sourceId = parseReportId(request.sourceReportId ?? request.reportId);
  if (!sourceId)
    throw new ExportError('invalid_request', `Unknown report "${String(request.sourceReportId)}"`);
  const derived = sourceId !== reportId;
  if (
    derived &&
    !(isStandardView(reportId) && isMasterReport(sourceId) && masterReportOf(reportId) === sourceId)
  )
    throw new ExportError('invalid_request', `${reportId} cannot be derived from ${sourceId}`);
  const definition = isStandardView(reportId) ? viewDefinition(release, reportId) : undefined;
  const projection: Projection = derived && definition ? viewProjection(definition) : MASTER_JSON_PROJECTION;
  const streaming = (begin === end || request.monthCount === 1) && !(release === '5' && derived);

  const merged: MergedRange = await mergeRange(request.months, {
    release,
    sourceReportId: sourceId,
    begin,
    end,
    projection,
    streaming,
    ...(request.spill && { spill: request.spill }),
    ...(request.lockstep === false && { lockstep: false }),
  });
  if (merged.headers.length === 0) {
    await merged.dispose();
    throw new ExportError('invalid_input', `No stored ${sourceId} month in ${begin}..${end}`);
  }

  const created = createdOf(request);
  const masterHeader = mergedJsonHeader(release, merged.headers, {
    begin,
    end,
    created,
    createdBy: createdByOf(request, merged.headers),
    ...(merged.hasUsage !== undefined && { hasUsage: merged.hasUsage }),
  });
  const jsonHeader = derived && definition ? viewJsonHeader(release, definition, masterHeader) : masterHeader;
  const notes = new ProjectionNotes();
  const allNotes = (): string[] => [...merged.notes(), ...notes.list()];

  let body: () => AsyncGenerator<Uint8Array>;
  if (format === 'json') {
    body = () =>
      utf8(
        jsonChunks({
          release,
          groupItemsByParent: release === '5.1' && masterReportOf(reportId) === 'IR',
          header: jsonHeader,
          months,
          items: () => merged.items(),
        }),
      );
  } else {
    const requested = requestedAttributes(masterHeader);
    const columns: readonly ColumnId[] = definition
      ? definition.columns
      : masterColumns(release, masterReportOf(reportId), requested);
    const monthly =
      !request.excludeMonthlyDetails &&
      !requested.excludeMonthlyDetails &&
      !merged.headers.some((h) => requestedAttributes(h).totals);
    const layout: TabularLayout = {
      release,
      reportId,
      columns,
      months,
      monthly,
      headerRows: tabularHeaderRows(jsonHeader, {
        release,
        reportId,
        begin,
        end,
        excludeMonthlyDetails: !monthly,
      }),
    };
    // Usage is summed over the attributes the columns do not show.
    const collapse: Projection = {
      keepAttributes: attributeColumns(columns),
      filters: [],
      keepComponents: columns.includes('Component_Title'),
    };
    const source: TabularSource = {
      headings: headingRows(layout),
      async *rows() {
        for await (const item of merged.items()) {
          const shown = project(item, collapse, notes);
          if (shown) yield itemRows(layout, shown);
        }
      },
    };
    body =
      format === 'tsv'
        ? () => utf8(tsvChunks(source))
        : format === 'csv'
          ? () => utf8(csvChunks(source))
          : () => xlsxChunks(source, reportId);
  }
  const stream = async function* (): AsyncGenerator<Uint8Array> {
    try {
      yield* body();
    } finally {
      await merged.dispose();
    }
  };
  return {
    ...base(request, format, release, months),
    release,
    reportId,
    sourceReportId: sourceId,
    derived,
    missingMonths: () => missing(months, merged.suppliedMonths),
    notes: allNotes,
    spillStats: () => merged.stats(),
    mergeStrategy: merged.strategy,
    body: stream,
    writeTo: (out) => writeChunks(stream(), out),
    dispose: () => merged.dispose(),
  };
}
