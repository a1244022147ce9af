/**
 * The one small interface every service implementation (cs51, cs50, cs41, NSS) stands behind.
 * An implementation turns one request item into raw facts — report data streamed by month, or a
 * failure with its HTTP status, COUNTER exceptions and FOLIO's failedReason text — and decides nothing:
 * the harvest policy (src/harvest/policy.ts) maps the facts to an action.
 */
import type { SushiException, YearMonth } from '../counter/index.ts';
import type { AggregatorSetting, UsageDataProvider } from '../model/records.ts';
import type { HostPolicy } from './host-policy.ts';
import type { ProviderOffer } from './probe.ts';

/** What `/erm-usage-harvester/impl` lists for an implementation (folio-contract §2.3, §3.4). */
export interface ServiceImplementationInfo {
  name: string;
  description?: string;
  type: string;
  isAggregator: boolean;
  isDefault?: boolean;
  reportRelease?: string;
  supportedReports?: string[];
  configurationParameters?: string[];
}

/** One request: a report over whole months, dates as `yyyy-MM-dd` (first day / last day). */
export interface FetchItem {
  reportName: string;
  beginDate: string;
  endDate: string;
}

/** One month of report data in FOLIO's stored form. */
export interface MonthData {
  yearMonth: YearMonth;
  report: unknown;
  /** Items of the month, when the source counts them (COUNTER 4: the report items in the month). */
  itemCount?: number;
  /** sha256 (hex) of the month's items as read, when the source computes it while splitting. */
  contentHash?: string;
}

/**
 * Report data of one response, produced one month at a time so memory stays bounded. The consumer
 * must run `months()` to the end or call `dispose()`.
 */
export interface MonthSource {
  /** The months `months()` will yield, in order. */
  readonly yearMonths: YearMonth[];
  /** Exceptions that came with the data (warnings, 3040 partial, ...). */
  readonly exceptions: SushiException[];
  /** Number of report items in the whole response (0: an empty report). */
  readonly itemCount: number;
  /**
   * COUNTER 5: the release the data is in, read from its layout (`'5'` or `'5.1'`); absent when the
   * source does not detect it (the configured release is the data's).
   */
  readonly detectedRelease?: string;
  /** Months the response covers outside the requested range (not stored), sorted. */
  readonly monthsOutsideRequest?: readonly YearMonth[];
  months(): AsyncGenerator<MonthData>;
  dispose(): Promise<void>;
}

/** Why a request did not give data, as facts for the policy table. */
export type FailureCause =
  /** A non-2xx HTTP answer (the body may carry exceptions). */
  | 'http'
  /** Connection refused/reset, timeouts, TLS, DNS: no complete answer. */
  | 'transport'
  /** A 2xx answer whose content is COUNTER exceptions without report data. */
  | 'exception'
  /** A 2xx answer that is not a valid report (binding errors, garbage, HTML, missing header, null). */
  | 'invalid'
  /** The report name is not supported by the implementation; no request was sent. */
  | 'unsupported'
  /** The body was larger than the configured maximum. */
  | 'too-large'
  /** The provider's address is not allowed by the host policy; no connection was made. */
  | 'host-denied'
  /**
   * The harvester could not process the answer: its own temporary storage failed (disk full, not
   * writable, too many open files). The provider is not at fault.
   */
  | 'local';

export interface FetchFailure {
  kind: 'failure';
  cause: FailureCause;
  httpStatus?: number;
  /** All COUNTER exceptions found (tolerant reader), in document order. */
  exceptions: SushiException[];
  /** Parsed `Retry-After` in milliseconds (delta-seconds or HTTP-date), when the server sent one. */
  retryAfterMs?: number;
  /**
   * FOLIO's failedReason text for this failure (folio-contract §7.9: `HTTP 404: Not Found - <body>`,
   * `Report not valid: [...]`, `Error getting report: ...`, the SUSHI error body itself, ...), already
   * scrubbed of credentials.
   */
  reason: string;
}

export interface FetchData {
  kind: 'data';
  httpStatus: number;
  data: MonthSource;
}

export type FetchResult = FetchData | FetchFailure;

export interface FetchContext {
  signal?: AbortSignal;
}

/** An implementation bound to one provider (and aggregator), ready to fetch items. */
export interface ServiceEndpoint {
  /** The release written into every stored record: `"4"`, `"5"` or `"5.1"`. */
  readonly release: string;
  /**
   * Identifies the remote service for politeness limits (one request in flight per endpoint): the
   * normalised base URL without credentials, e.g. `https://sushi.example.org/counter/r51`.
   */
  readonly endpointKey: string;
  /** Credentials values to scrub from any text (apiKey, requestorId, ...). */
  readonly secrets: string[];
  /** Report names this endpoint can fetch, upper-case (views included when enabled). */
  supports(reportName: string): boolean;
  fetchReport(item: FetchItem, ctx?: FetchContext): Promise<FetchResult>;
  /** COUNTER 5: what the provider's `/reports` (and with `status`, `/status`) say (probe.ts). */
  probe?(opts: { status: boolean } & FetchContext): Promise<ProviderOffer>;
}

/** Construction failed (folio-contract §7.1 step 2): `Invalid Service URL: <url>`, a missing customerId, ... */
export class EndpointInitError extends Error {
  override name = 'EndpointInitError';
}

export interface ImplementationOptions {
  /** Offer the standard views (TR_J1, ...) of 5.0 and 5.1 in addition to the master reports. */
  enableStandardViews?: boolean;
  /** Schema and Code of Practice diagnostics on COUNTER 5 JSON reports (default true). */
  validateReports?: boolean;
  /** Month buckets of one COUNTER 5 response held in memory before the largest spill (memory-budget.ts). */
  splitterBucketBytes?: number;
}

/** One service implementation: its `/impl` entry and how to bind it to a provider. */
export interface ServiceImplementation {
  info(options: ImplementationOptions): ServiceImplementationInfo;
  create(
    provider: UsageDataProvider,
    aggregator: AggregatorSetting | undefined,
    transport: TransportOptions,
    options: ImplementationOptions,
  ): ServiceEndpoint;
}

/** HTTP behaviour shared by all implementations (counter-notes §4 (timing rules); folio-contract §8.4). */
export interface TransportOptions {
  connectTimeoutMs: number;
  /** Until the response headers arrive (first byte). */
  headersTimeoutMs: number;
  /** Longest pause between two body chunks. */
  idleTimeoutMs: number;
  /** Whole request including the body. */
  totalTimeoutMs: number;
  maxResponseBytes: number;
  userAgent: string;
  /** Which addresses may be called (src/sushi/host-policy.ts); default: the built-in denials only. */
  hostPolicy?: HostPolicy;
  /** Told the size of each body chunk received (after decompression), e.g. for a bytes metric. */
  onBytes?: (bytes: number) => void;
}
