/**
 * Wire shapes of the harvester API and of the standalone store, as in docs/folio-contract.md
 * (folio-contract §2, §3, §4). Dates are strings in `yyyy-MM-dd'T'HH:mm:ss.SSS+00:00` on output; the server accepts any
 * ISO-8601 offset on input. Records of the store allow extra properties (*addl: true*), so their
 * interfaces carry an index signature; the harvester's own records (JobInfo, ServiceImplementation) do not.
 */
import type { Readable } from 'node:stream';

// ---- Harvester API (folio-contract §2, §3.1–§3.4) --------------------------------------------------------------

export type JobType = 'periodic' | 'tenant' | 'provider';
export type JobResult = 'success' | 'failure';

/** The bookkeeping record of one job execution (folio-contract §3.1). */
export interface JobInfo {
  id?: string;
  type?: JobType;
  /** Present only on provider jobs. */
  providerId?: string;
  /** Creation time, epoch milliseconds. */
  timestamp?: number;
  startedAt?: string;
  finishedAt?: string;
  /** Present while the job is scheduled (placeholders and queued one-shot jobs). */
  nextStart?: string;
  result?: JobResult;
  /** Present only when `result` is `failure`. */
  errorMessage?: string;
  /**
   * What the harvest noted about the job (not FOLIO's), one sentence each in the order noted: reports
   * the provider does not offer, months a provider sent that were not requested, ...
   */
  notes?: string[];
  /** Added beside FOLIO's fields on provider jobs that harvested: what the harvest did with the months. */
  report?: JobReport;
}

/** Answer of `GET /erm-usage-harvester/providers/{id}/check` (not FOLIO's); messages hold no secrets. */
export interface ProviderCheck {
  providerId: string;
  label?: string;
  serviceType?: string;
  releaseConfigured?: string;
  /** false: the implementation cannot be checked (COUNTER 4, NSS) or the provider cannot be bound. */
  checked: boolean;
  /** Some answer came from the provider. */
  reachable: boolean;
  /** false: rejected (401, 403, 2000–2030); true: the report list came; absent: unknown. */
  credentialsAccepted?: boolean;
  /** `Service_Active` of the provider's `/status`. */
  serviceActive?: boolean;
  /** Report ids the provider's `/reports` lists, upper case. */
  reportsOffered?: string[];
  /** The provider's `requestedReports`, upper case. */
  reportsRequested: string[];
  /** Requested reports its list does not name (a harvest skips them). */
  reportsNotOffered?: string[];
  /** The release its report list names (`5.1` or `5`). */
  releaseDetected?: string;
  messages: string[];
}

/** A provider job's report: months by outcome, failures by COUNTER exception code or HTTP status. */
export interface JobReport {
  stored: number;
  empty: number;
  failed: { [code: string]: number };
  skipped: number;
  deferred: number;
}

/** folio-contract §3.2 */
export interface JobInfos {
  jobInfos: JobInfo[];
  totalRecords: number;
}

/** The job state as FOLIO's UI derives it (folio-contract §6.3). */
export type JobState = 'scheduled' | 'running' | 'finished';

export type PeriodicInterval = 'daily' | 'weekly' | 'monthly';

/** The tenant's periodic harvest configuration (folio-contract §3.3); extra properties are kept by the server. */
export interface PeriodicConfig {
  /** Always `8bf5fe33-5ec8-420c-a86d-6320c55ba554` on output; ignored on input. */
  id?: string;
  startAt: string;
  periodicInterval: PeriodicInterval;
  lastTriggeredAt?: string;
  [extra: string]: unknown;
}

/** One harvesting client (folio-contract §3.4): `cs51`, `cs50`, `cs41`, `NSS`. */
export interface ServiceImplementation {
  name: string;
  description?: string;
  /** The `serviceType` value that selects it. */
  type: string;
  isAggregator: boolean;
  isDefault?: boolean;
  reportRelease?: string;
  supportedReports?: string[];
  /** For aggregators: the keys expected in `aggregatorConfig`. */
  configurationParameters?: string[];
}

export interface ServiceImplementations {
  implementations: ServiceImplementation[];
}

/** Answer of `GET /erm-usage-harvester/start[/{id}]`. */
export interface StartResponse {
  message: string;
}

/** Months and reports of a "harvest again" (`POST /erm-usage-harvester/start/{id}/again`). */
export interface HarvestAgainOptions {
  /** First month, `yyyy-mm`. */
  from: string;
  /** Last month, `yyyy-mm`; default `from`. */
  to?: string;
  /** Report ids; default the provider's requested reports. */
  reports?: string[];
}

export interface HarvestAgainResponse extends StartResponse {
  jobId: string;
}

/** One restated month: a re-harvest found other items than stored and replaced the month. */
export interface ReportChange {
  id: string;
  changedAt: string;
  counterReportId: string;
  providerId: string;
  reportName: string;
  release: string;
  yearMonth: string;
  previousHash?: string;
  newHash: string;
  totalsBefore?: Record<string, number>;
  totalsAfter?: Record<string, number>;
  jobId?: string;
}

export interface ReportChanges {
  changes: ReportChange[];
  totalRecords: number;
}

export interface ListReportChangesOptions {
  providerId?: string;
  /** The changes of one stored month. */
  counterReportId?: string;
  offset?: number;
  limit?: number;
}

/** The diagnostics of one stored month (`GET /erm-usage-harvester/diagnostics`). */
export interface MonthDiagnostics {
  counterReportId?: string;
  reportName: string;
  release: string;
  yearMonth: string;
  itemCount?: number;
  content: 'usage' | 'empty' | 'failed' | 'unknown';
  diagnostics: Array<{ code: string; message: string; count: number }>;
}

export interface ProviderDiagnostics {
  providerId: string;
  months: number;
  monthsWithDiagnostics: number;
  codes: Record<string, { count: number; months: number }>;
  records: MonthDiagnostics[];
}

// ---- Tenant API (folio-contract §2.9) ---------------------------------------------------------------------------

export interface TenantAttributes {
  module_to?: string;
  module_from?: string;
  purge?: boolean;
  parameters?: { key: string; value?: string }[];
  [extra: string]: unknown;
}

/** The job object of an asynchronous `POST /_/tenant`. */
export interface TenantOperation {
  id: string;
  tenant: string;
  tenantAttributes: TenantAttributes;
  complete: boolean;
  /** Present when the operation failed. */
  error?: string;
}

// ---- Store records (folio-contract §3.5–§3.10) -------------------------------------------------------------------

/** folio-contract §3.10; set by the store on every write. */
export interface Metadata {
  createdDate?: string;
  createdByUserId?: string;
  createdByUsername?: string;
  updatedDate?: string;
  updatedByUserId?: string;
  updatedByUsername?: string;
}

export type ActiveStatus = 'active' | 'inactive';

export interface SushiConfig {
  /** `cs41`, `cs50` or `cs51` for direct harvesting. */
  serviceType?: string;
  /** The SUSHI base URL. */
  serviceUrl?: string;
  [extra: string]: unknown;
}

export interface AggregatorRef {
  id: string;
  /** Derived by the store: the label of the aggregator setting. */
  name?: string;
  /** This provider's code at the aggregator. */
  vendorCode?: string;
  [extra: string]: unknown;
}

export interface HarvestingConfig {
  harvestingStatus: ActiveStatus;
  harvestVia?: 'aggregator' | 'sushi';
  sushiConfig?: SushiConfig;
  aggregator?: AggregatorRef;
  /** `"4"`, `"5"` or `"5.1"`. */
  reportRelease?: string;
  requestedReports?: string[];
  /** First month to harvest, `yyyy-MM`. */
  harvestingStart?: string;
  /** Last month to harvest, `yyyy-MM`. */
  harvestingEnd?: string;
  [extra: string]: unknown;
}

export interface SushiCredentials {
  customerId?: string;
  requestorId?: string;
  apiKey?: string;
  platform?: string;
  requestorName?: string;
  requestorMail?: string;
  [extra: string]: unknown;
}

/** A usage data provider (folio-contract §3.5). Fields marked derived are computed by the store and ignored on writes. */
export interface UsageDataProvider {
  id?: string;
  label: string;
  description?: string;
  status: ActiveStatus;
  harvestingConfig: HarvestingConfig;
  sushiCredentials?: SushiCredentials;
  /** Derived: latest month with a successful report. */
  latestReport?: string;
  /** Derived: earliest month with a successful report. */
  earliestReport?: string;
  /** Derived. */
  hasFailedReport?: 'yes' | 'no';
  /** Derived. */
  reportErrorCodes?: string[];
  /** Derived. */
  reportTypes?: string[];
  /** Derived. */
  reportReleases?: string[];
  /** Time of the last harvest attempt, written by the harvester. */
  harvestingDate?: string;
  notes?: string;
  metadata?: Metadata;
  tags?: { tagList?: string[]; [extra: string]: unknown };
  [extra: string]: unknown;
}

/** An aggregator such as the Nationaler Statistikserver (folio-contract §3.6). */
export interface AggregatorSetting {
  id?: string;
  label: string;
  serviceType: string;
  serviceUrl: string;
  aggregatorConfig?: Record<string, string>;
  accountConfig: {
    configType: 'Mail' | 'API' | 'Manual';
    configMail?: string;
    displayContact?: string[];
    [extra: string]: unknown;
  };
  metadata?: Metadata;
  [extra: string]: unknown;
}

/** One stored month of one report (folio-contract §3.7); failed records have `failedAttempts` and `failedReason`. */
export interface CounterReport {
  id?: string;
  downloadTime: string;
  release: string;
  reportName: string;
  /** `yyyy-MM` */
  yearMonth: string;
  providerId?: string;
  /** The month's report data; absent on failed records and with `tiny=true`. */
  report?: unknown;
  failedAttempts?: number;
  failedReason?: string;
  reportEditedManually?: boolean;
  editReason?: string;
  /** Harvester addition: top-level items with usage in the month (0: stored without usage). */
  itemCount?: number;
  /** Harvester addition: the sum of the counts per Metric_Type. */
  usageTotals?: Record<string, number>;
  /** Harvester addition: sha256 (hex) of the month's items as harvested (restatement check). */
  contentHash?: string;
  metadata?: Metadata;
  [extra: string]: unknown;
}

/** folio-contract §3.8 */
export interface UsageDataProviders {
  usageDataProviders: UsageDataProvider[];
  totalRecords: number;
}

export interface AggregatorSettings {
  aggregatorSettings: AggregatorSetting[];
  totalRecords: number;
}

export interface CounterReports {
  counterReports: CounterReport[];
  totalRecords: number;
}

/** RMB's error format, answered with 422 (folio-contract §3.9). */
export interface RmbError {
  message: string;
  type?: string;
  code?: string;
  parameters?: { key: string; value?: string }[];
}

export interface RmbErrors {
  errors: RmbError[];
  total_records?: number;
}

// ---- Request options ------------------------------------------------------------------------------

/** Paging shared by every collection GET. The server's default `limit` is 10. */
export interface PageOptions {
  offset?: number;
  limit?: number;
}

export interface GetJobsOptions extends PageOptions {
  /** CQL over the JobInfo JSON; may contain `sortby`. */
  query?: string;
  /** Only jobs created at or before this time (epoch ms). */
  timestamp?: number;
  /** Only jobs of this provider. */
  providerId?: string;
}

export interface ListOptions extends PageOptions {
  /** CQL over the record JSON; may contain `sortby`. */
  query?: string;
  /** Providers and aggregators: credentials in clear instead of the mask (needs the service token). */
  reveal?: boolean;
}

export interface ListCounterReportsOptions extends ListOptions {
  /** Leave out each record's `report` data. */
  tiny?: boolean;
}

/** Options of the `iterate*` helpers: `limit` is the page size (default 100). */
export interface IterateJobsOptions extends Omit<GetJobsOptions, 'offset' | 'timestamp'> {
  /**
   * Keeps paging stable while jobs are being created, as FOLIO's UI does: only jobs created at or before
   * this time (epoch ms). Default: the client's clock when iteration starts; `null`: no filter.
   */
  timestamp?: number | null;
}
export type IterateOptions = Omit<ListOptions, 'offset'>;
export type IterateCounterReportsOptions = Omit<ListCounterReportsOptions, 'offset'>;

// ---- Exports (issue 6; docs/counter-tabular.md) -----------------------------------------------------------

/** `tsv`, `csv`, `xlsx`: the COUNTER tabular report of the release; `json`: the COUNTER JSON report. */
export type ExportFormat = 'tsv' | 'csv' | 'xlsx' | 'json';

/** A range export: the months `from..to` of one report or standard view of a provider, merged. */
export interface ExportRangeOptions {
  providerId: string;
  /** Master report or standard view (`TR`, `TR_J1`, …), or a COUNTER 4 report name (`JR1`). */
  report: string;
  /** `5.1`, `5` or `4`. */
  release: string;
  /** First and last month, `yyyy-MM`. */
  from: string;
  to: string;
  /** Default `csv`, as mod-erm-usage. */
  format?: ExportFormat;
}

/** A downloaded file: its name and type from the answer's headers, and its bytes as a stream. */
export interface Download {
  /** From `Content-Disposition`, when the server named the file. */
  fileName?: string;
  contentType: string;
  /** The bytes; read once (or call `buffer()`). */
  body: Readable;
  /** Reads the whole body into memory. */
  buffer(): Promise<Buffer>;
}

/** `GET /counter-reports/sorted/{udpId}`: a provider's months by year, then report (without report data). */
export interface CounterReportsSorted {
  counterReportsPerYear: {
    year: number;
    reportsPerType: { reportType: string; counterReports: CounterReport[] }[];
  }[];
}
