/** The pure COUNTER domain layer: report ids, exceptions, month splitting, usage facts, diagnostics. */
export * from './reports.ts';
export * from './exceptions.ts';
export * from './year-month.ts';
export { type Finding, type FindingCode } from './item-split.ts';
export { type BucketStats } from './month-buckets.ts';
export {
  findLocalStorageError,
  LocalFileWriter,
  LocalStorageError,
  localStorageReason,
  makeLocalDirectory,
  readingLocalStorage,
  removeLocal,
} from './local-storage.ts';
export {
  headerForMonth,
  headerLayout,
  headerPeriod,
  isTotalsGranularity,
  type HeaderPeriod,
} from './report-header.ts';
export * from './month-splitter.ts';
export { isJsonObject, getLoose, type JsonObject } from './json.ts';
export { identifiersOf, type MonthUsage, type TopItem } from './usage-facts.ts';
export {
  type Diagnostic,
  type DiagnosticCode,
  type DiagnosticExample,
  type DiagnosticPlace,
} from './validate/diagnostics.ts';
export * from './tabular/index.ts';
