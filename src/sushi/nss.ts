/**
 * `NSS`: the German Nationaler Statistikserver, an aggregator serving COUNTER 4 XML over GET
 * (folio-contract §7.10.4). The aggregator setting's config supplies the credentials; the UDP's `vendorCode`
 * is sent as `Platform`. A 200 body is a `ReportResponse` without envelope, read like cs41.
 */
import type { AggregatorSetting, UsageDataProvider } from '../model/records.ts';
import { redactSecrets } from '../redact.ts';
import { fromTransportFailure, makeFailure, retryAfterFacts } from './failure.ts';
import { R4_SUPPORTED_REPORTS } from './r4/reports.ts';
import { r4Result } from './r4/result.ts';
import { secretsOf } from './rest.ts';
import { httpRequest, isTransportFailure, type HttpResponse } from './transport.ts';
import {
  EndpointInitError,
  type FetchContext,
  type FetchItem,
  type FetchResult,
  type ServiceEndpoint,
  type ServiceImplementation,
  type ServiceImplementationInfo,
  type TransportOptions,
} from './types.ts';
import { endpointKeyOf, parseServiceUrl, queryString, withQuery } from './url.ts';

export const NSS_MISSING_PARAMETERS = 'Could not create request URL due to missing parameters.';
const MAX_ERROR_BODY_CHARS = 64 * 1024;

class NssEndpoint implements ServiceEndpoint {
  readonly release: string;
  readonly endpointKey: string;
  readonly secrets: string[];

  constructor(
    private readonly serviceUrl: string,
    private readonly config: Record<string, string | undefined>,
    private readonly vendorCode: string,
    provider: UsageDataProvider,
    private readonly transport: TransportOptions,
  ) {
    this.release = provider.harvestingConfig?.reportRelease || '4';
    this.endpointKey = endpointKeyOf(serviceUrl);
    this.secrets = secretsOf([config.apiKey, config.requestorId]);
  }

  supports(reportName: string): boolean {
    return reportName.trim() !== '';
  }

  /** The request URL (contains the API key: never log it unredacted). */
  requestUrl(item: FetchItem): string {
    const cfg = (key: string): string => this.config[key] ?? '';
    return withQuery(
      this.serviceUrl,
      queryString([
        ['APIKey', cfg('apiKey')],
        ['RequestorID', cfg('requestorId')],
        ['CustomerID', cfg('customerId')],
        ['Report', item.reportName],
        ['Release', cfg('reportRelease')],
        ['BeginDate', item.beginDate],
        ['EndDate', item.endDate],
        ['Platform', this.vendorCode],
        ['Format', 'xml'],
      ]),
    );
  }

  async fetchReport(item: FetchItem, ctx: FetchContext = {}): Promise<FetchResult> {
    const url = this.requestUrl(item);
    const response = await httpRequest(
      { method: 'GET', url, headers: { accept: 'application/xml, text/xml, */*' }, signal: ctx.signal },
      this.transport,
    );
    if (isTransportFailure(response)) return fromTransportFailure(response, this.secrets);
    if (response.status !== 200) return this.httpFailure(url, response);
    return r4Result(response, this.secrets, { unreadablePrefix: 'Report not valid: ' });
  }

  /** `<url with APIKey=*** and RequestorID=***> - <status> : <status message>` (folio-contract §8.6). */
  private async httpFailure(url: string, response: HttpResponse): Promise<FetchResult> {
    await response.body.text(MAX_ERROR_BODY_CHARS);
    const reason = `${redactSecrets(url, this.secrets)} - ${response.status} : ${response.statusText}`;
    return makeFailure('http', reason, this.secrets, {
      httpStatus: response.status,
      ...retryAfterFacts(response.headers),
    });
  }
}

function configOf(aggregator: AggregatorSetting): Record<string, string | undefined> | undefined {
  const cfg: unknown = aggregator.aggregatorConfig;
  if (typeof cfg !== 'object' || cfg === null) return undefined;
  const out: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(cfg as Record<string, unknown>)) {
    if (typeof value === 'string') out[key] = value;
    else if (typeof value === 'number' || typeof value === 'boolean') out[key] = String(value);
  }
  return out;
}

export const nss: ServiceImplementation = {
  info(): ServiceImplementationInfo {
    return {
      name: 'Nationaler Statistikserver',
      description: 'Implementation for Germanys National Statistics Server (https://sushi.redi-bw.de).',
      type: 'NSS',
      isAggregator: true,
      reportRelease: '4',
      supportedReports: [...R4_SUPPORTED_REPORTS],
      configurationParameters: ['apiKey', 'requestorId', 'customerId'],
    };
  },
  create(
    provider: UsageDataProvider,
    aggregator: AggregatorSetting | undefined,
    transport: TransportOptions,
  ) {
    const config = aggregator ? configOf(aggregator) : undefined;
    const vendorCode = provider?.harvestingConfig?.aggregator?.vendorCode;
    if (!aggregator || !config || vendorCode === undefined || vendorCode === null) {
      throw new EndpointInitError(NSS_MISSING_PARAMETERS);
    }
    const url = parseServiceUrl(aggregator.serviceUrl);
    if (url instanceof EndpointInitError) throw url;
    return new NssEndpoint(aggregator.serviceUrl.trim(), config, vendorCode, provider, transport);
  },
};
