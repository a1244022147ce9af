/** The pure COUNTER domain layer: report ids, exceptions, month splitting. */
export * from './reports.ts';
export * from './exceptions.ts';
export * from './year-month.ts';
export { type Finding, type FindingCode } from './item-split.ts';
export { type BucketStats } from './month-buckets.ts';
export { headerForMonth, headerPeriod, isTotalsGranularity, type HeaderPeriod } from './report-header.ts';
export * from './month-splitter.ts';
export { isJsonObject, getLoose, type JsonObject } from './json.ts';
export * from './tabular/index.ts';
