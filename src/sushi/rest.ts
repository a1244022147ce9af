/**
 * What cs50 (COUNTER 5.0) and cs51 (COUNTER 5.1) share: request building (folio-contract §7.10.1/§7.10.2, §8.8)
 * and response classification (folio-contract §7.11, §7.9). Each implementation file only sets its flavour.
 */
import {
  findExceptions,
  failedReasonForErrorBody,
  failedReasonForHeaderExceptions,
  folioAttributesToShow,
  folioIncludesParentDetails,
  MASTER_REPORT_IDS,
  splitReportStream,
  STANDARD_VIEW_IDS,
  type CounterRelease,
  type MasterReportId,
  type ReportId,
  type SplitResult,
} from '../counter/index.ts';
import type { AggregatorSetting, UsageDataProvider } from '../model/records.ts';
import {
  fromTransportFailure,
  httpErrorReason,
  makeFailure,
  reportNotValid,
  retryAfterFacts,
  type FailureFacts,
} from './failure.ts';
import { probeProvider, type ProviderOffer } from './probe.ts';
import { httpRequest, isTransportFailure, type HttpResponse } from './transport.ts';
import {
  EndpointInitError,
  type FetchContext,
  type FetchItem,
  type FetchResult,
  type ImplementationOptions,
  type ServiceEndpoint,
  type TransportOptions,
} from './types.ts';
import { endpointKeyOf, parseServiceUrl, queryString, withQuery } from './url.ts';

export interface RestFlavour {
  release: CounterRelease;
  /** The base URL reports are appended to as `/reports/<id>`. */
  base(url: URL): string;
  /** The report id for a requested master report name, or undefined. */
  masterReport(reportName: string): MasterReportId | undefined;
  /** Construction checks beyond the service URL; returns the error message. */
  missingAtInit(provider: UsageDataProvider): string | undefined;
  /** cs50: a 2xx JSON array is an error whose message is the body (Java's ExtendedCounter50Client). */
  arrayBodyIsError: boolean;
}

const MAX_ERROR_BODY_CHARS = 1024 * 1024;

/** A standard view name (`TR_J1`, any case), when views are enabled. */
function standardView(reportName: string): ReportId | undefined {
  const upper = reportName.trim().toUpperCase();
  return (STANDARD_VIEW_IDS as readonly string[]).includes(upper) ? (upper as ReportId) : undefined;
}

export function isMasterReportId(value: string): value is MasterReportId {
  return (MASTER_REPORT_IDS as readonly string[]).includes(value);
}

interface Credentials {
  customerId: string;
  platform: string;
  apiKey: string;
  requestorId: string;
}

function credentialsOf(provider: UsageDataProvider): Credentials {
  const c = provider.sushiCredentials ?? {};
  return {
    customerId: c.customerId ?? '',
    platform: c.platform ?? '',
    apiKey: c.apiKey ?? '',
    requestorId: c.requestorId ?? '',
  };
}

/** Query parameters in FOLIO's order (folio-contract §7.10.1). Views get no attributes (§8.8). */
export function reportQuery(
  release: CounterRelease,
  report: ReportId,
  item: FetchItem,
  credentials: Credentials,
): Array<[string, string]> {
  const params: Array<[string, string]> = [
    ['customer_id', credentials.customerId],
    ['begin_date', item.beginDate],
    ['end_date', item.endDate],
  ];
  if (credentials.platform !== '') params.push(['platform', credentials.platform]);
  if (isMasterReportId(report)) {
    params.push(['attributes_to_show', folioAttributesToShow(release, report)]);
    if (folioIncludesParentDetails(report)) params.push(['include_parent_details', 'True']);
  }
  if (credentials.apiKey !== '') params.push(['api_key', credentials.apiKey]);
  if (credentials.requestorId !== '') params.push(['requestor_id', credentials.requestorId]);
  return params;
}

export function secretsOf(values: ReadonlyArray<string | undefined>): string[] {
  return values.filter((v): v is string => typeof v === 'string' && v !== '');
}

class RestEndpoint implements ServiceEndpoint {
  readonly release: string;
  readonly endpointKey: string;
  readonly secrets: string[];
  private readonly base: string;
  private readonly credentials: Credentials;

  constructor(
    private readonly flavour: RestFlavour,
    serviceUrl: URL,
    provider: UsageDataProvider,
    private readonly transport: TransportOptions,
    private readonly options: ImplementationOptions,
  ) {
    this.release = flavour.release;
    this.base = flavour.base(serviceUrl);
    this.endpointKey = endpointKeyOf(this.base);
    this.credentials = credentialsOf(provider);
    this.secrets = secretsOf([this.credentials.apiKey, this.credentials.requestorId]);
  }

  private reportId(reportName: string): ReportId | undefined {
    const master = this.flavour.masterReport(reportName);
    if (master) return master;
    return this.options.enableStandardViews ? standardView(reportName) : undefined;
  }

  supports(reportName: string): boolean {
    return this.reportId(reportName) !== undefined;
  }

  /** The request URL of an item (exposed for tests and logs; it contains credentials). */
  requestUrl(report: ReportId, item: FetchItem): string {
    const query = queryString(reportQuery(this.flavour.release, report, item, this.credentials));
    return withQuery(`${this.base}/reports/${report.toLowerCase()}`, query);
  }

  probe(opts: { status: boolean } & FetchContext): Promise<ProviderOffer> {
    const query = reportQuery(
      this.flavour.release,
      'TR',
      { reportName: 'TR', beginDate: '', endDate: '' },
      this.credentials,
    ).filter(([name]) => ['customer_id', 'platform', 'api_key', 'requestor_id'].includes(name));
    return probeProvider({ base: this.base, query, secrets: this.secrets, transport: this.transport }, opts);
  }

  async fetchReport(item: FetchItem, ctx: FetchContext = {}): Promise<FetchResult> {
    const report = this.reportId(item.reportName);
    if (!report)
      return makeFailure('unsupported', `Unsupported Report Type: ${item.reportName}`, this.secrets);
    const response = await httpRequest(
      {
        method: 'GET',
        url: this.requestUrl(report, item),
        headers: { accept: 'application/json' },
        signal: ctx.signal,
      },
      this.transport,
    );
    if (isTransportFailure(response)) return fromTransportFailure(response, this.secrets);
    if (response.status >= 200 && response.status < 300) return this.classifySuccess(response, report, item);
    return this.classifyError(response);
  }

  private async classifyError(response: HttpResponse): Promise<FetchResult> {
    const text = await response.body.text(MAX_ERROR_BODY_CHARS);
    const body = typeof text === 'string' ? text : '';
    const facts: FailureFacts = {
      httpStatus: response.status,
      exceptions: exceptionsInText(body),
      ...retryAfterFacts(response.headers),
    };
    return makeFailure(
      'http',
      httpErrorReason(response.status, response.statusText, body),
      this.secrets,
      facts,
    );
  }

  private async classifySuccess(
    response: HttpResponse,
    report: ReportId,
    item: FetchItem,
  ): Promise<FetchResult> {
    const split = await splitReportStream(response.body, this.flavour.release, {
      maxBytes: this.transport.maxResponseBytes,
      requested: { begin: item.beginDate, end: item.endDate },
      reportId: report,
      validate: this.options.validateReports ?? true,
      ...(this.options.splitterBucketBytes !== undefined && {
        memoryBudgetBytes: this.options.splitterBucketBytes,
      }),
    });
    const facts: FailureFacts = { httpStatus: response.status, ...retryAfterFacts(response.headers) };
    const bodyFailure = response.body.failure();
    if (bodyFailure) {
      if (split.kind === 'report') await split.dispose();
      return fromTransportFailure(bodyFailure, this.secrets, facts);
    }
    return this.fromSplit(split, response, facts);
  }

  private async fromSplit(
    split: SplitResult,
    response: HttpResponse,
    facts: FailureFacts,
  ): Promise<FetchResult> {
    switch (split.kind) {
      case 'report':
        if (split.exceptions.length > 0 && split.itemCount === 0) {
          await split.dispose();
          const reason = failedReasonForHeaderExceptions(split.exceptions);
          return makeFailure('exception', reason, this.secrets, { ...facts, exceptions: split.exceptions });
        }
        return { kind: 'data', httpStatus: response.status, data: split };
      case 'exception': {
        const reason = failedReasonForErrorBody(rawBody(response, split.body), split.exceptions);
        return makeFailure('exception', reason, this.secrets, { ...facts, exceptions: split.exceptions });
      }
      case 'invalid': {
        if (split.code === 'too_large') return makeFailure('too-large', split.message, this.secrets, facts);
        // Not about the body: the harvester's own disk, or the connection while the body was read.
        if (split.code === 'local_storage') return makeFailure('local', split.message, this.secrets, facts);
        if (split.code === 'read_error') return makeFailure('transport', split.message, this.secrets, facts);
        const raw = response.body.captured();
        if (this.flavour.arrayBodyIsError && raw.complete && /^\uFEFF?\s*\[/.test(raw.text)) {
          return makeFailure('exception', raw.text, this.secrets, facts);
        }
        return makeFailure('invalid', reportNotValid(split.message), this.secrets, facts);
      }
    }
  }
}

/** The body as received when it was captured whole; otherwise its compact JSON. */
function rawBody(response: HttpResponse, parsed: unknown): string {
  const raw = response.body.captured();
  return raw.complete ? raw.text.replace(/^\uFEFF/, '') : JSON.stringify(parsed);
}

function exceptionsInText(text: string): ReturnType<typeof findExceptions> {
  try {
    return findExceptions(JSON.parse(text.replace(/^\uFEFF/, '')));
  } catch {
    return [];
  }
}

/** Binds a REST flavour to a provider (folio-contract §7.1 step 2 construction checks). */
export function createRestEndpoint(
  flavour: RestFlavour,
  provider: UsageDataProvider,
  _aggregator: AggregatorSetting | undefined,
  transport: TransportOptions,
  options: ImplementationOptions,
): ServiceEndpoint {
  const serviceUrl = provider.harvestingConfig?.sushiConfig?.serviceUrl;
  const url = parseServiceUrl(serviceUrl);
  if (url instanceof EndpointInitError) throw url;
  const missing = flavour.missingAtInit(provider);
  if (missing !== undefined) throw new EndpointInitError(missing);
  return new RestEndpoint(flavour, url, provider, transport, options);
}
