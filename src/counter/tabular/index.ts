/**
 * COUNTER exports: stored months of one report → one COUNTER tabular (tsv, csv, xlsx) or JSON file
 * for a range, streamed with bounded memory. See docs/counter-tabular.md.
 */
export {
  prepareExport,
  exportFileName,
  contentDisposition,
  rfc3339,
  DEFAULT_CREATED_BY_SUFFIX,
  type ExportRequest,
  type PreparedExport,
  type ExportRelease,
} from './export.ts';
export { ExportError, type ExportErrorCode } from './errors.ts';
export { storedMonthFromReport, storedMonthFromJsonPieces } from './input.ts';
export { type StoredMonth, type MonthInput, type MergeStrategy } from './merge.ts';
export { chooseReportSource, type ReportSource } from './views.ts';
export { CONTENT_TYPES, EXPORT_FORMATS, XLSX_MAX_ROWS, type ExportFormat } from './writers.ts';
export {
  VIEW_DEFINITIONS,
  masterColumns,
  viewDefinition,
  type ViewDefinition,
  type ViewFilter,
} from './layouts.ts';
export type { SpillOptions } from './spill.ts';
