export {
  HarvesterClient,
  DEFAULT_MODULE_ID,
  queryString,
  exportCounterReportPath,
  exportCounterReportRangePath,
  fileNameOf,
  type HarvesterClientOptions,
  type EnableTenantOptions,
} from './harvester-client.ts';
export {
  HarvesterClientError,
  HarvesterApiError,
  HarvesterConnectionError,
  TenantOperationError,
  WaitTimeoutError,
} from './errors.ts';
export { jobState, isFinished } from './job-state.ts';
export { JobsWaitTimeoutError, type JobSelector, type WaitForJobsOptions } from './wait.ts';
/** A value as a CQL term that means exactly itself (quoted, `\`, `"`, `*`, `?`, `^` escaped). */
export { cqlQuote as cqlString } from '../cql/quote.ts';
export type { FetchLike } from './transport.ts';
export type * from './types.ts';
export type * from './usage-types.ts';
export type * from './onboarding-types.ts';
