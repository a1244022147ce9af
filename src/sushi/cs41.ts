/**
 * `cs41`: COUNTER-SUSHI 4.1 over SOAP 1.1 (folio-contract §7.10.3). The envelope is built from a template, the
 * response is read as a stream (src/sushi/r4/) and split into FOLIO's camelCase R4 JSON per month.
 */
import type { AggregatorSetting, UsageDataProvider } from '../model/records.ts';
import { fromTransportFailure, javaHeaderMap, makeFailure, retryAfterFacts } from './failure.ts';
import { R4_SUPPORTED_REPORTS } from './r4/reports.ts';
import { soapEnvelope } from './r4/request.ts';
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
import { endpointKeyOf, parseServiceUrl } from './url.ts';

const PREFIX = 'Error getting report: ';
const MAX_ERROR_BODY_CHARS = 64 * 1024;

class Cs41Endpoint implements ServiceEndpoint {
  readonly release: string;
  readonly endpointKey: string;
  readonly secrets: string[];
  private readonly url: string;

  constructor(
    private readonly provider: UsageDataProvider,
    serviceUrl: URL,
    private readonly transport: TransportOptions,
  ) {
    this.url = serviceUrl.toString();
    this.release = provider.harvestingConfig?.reportRelease || '4';
    this.endpointKey = endpointKeyOf(serviceUrl);
    const c = provider.sushiCredentials ?? {};
    this.secrets = secretsOf([c.apiKey, c.requestorId]);
  }

  supports(reportName: string): boolean {
    return reportName.trim() !== '';
  }

  /** The SOAP request body of an item. */
  requestBody(item: FetchItem): string {
    const c = this.provider.sushiCredentials ?? {};
    return soapEnvelope({
      requestorId: c.requestorId ?? '',
      requestorName: c.requestorName ?? '',
      requestorEmail: c.requestorMail ?? '',
      customerId: c.customerId ?? '',
      reportName: item.reportName,
      release: this.provider.harvestingConfig?.reportRelease ?? '4',
      begin: item.beginDate,
      end: item.endDate,
    });
  }

  async fetchReport(item: FetchItem, ctx: FetchContext = {}): Promise<FetchResult> {
    const response = await httpRequest(
      {
        method: 'POST',
        url: this.url,
        headers: {
          'content-type': 'text/xml; charset=UTF-8',
          soapaction: '"SushiService:GetReportIn"',
          accept: 'text/xml, application/xml, */*',
        },
        body: this.requestBody(item),
        signal: ctx.signal,
      },
      this.transport,
    );
    if (isTransportFailure(response)) {
      const reason = response.cause === 'transport' ? `${PREFIX}${response.reason}` : response.reason;
      return fromTransportFailure({ ...response, reason }, this.secrets);
    }
    if (response.status < 200 || response.status >= 300) return this.httpFailure(response);
    return r4Result(response, this.secrets, { unreadablePrefix: PREFIX });
  }

  /** CXF's interceptor text: `Server responded with status code <n>, headers: {<header map>}`. */
  private async httpFailure(response: HttpResponse): Promise<FetchResult> {
    await response.body.text(MAX_ERROR_BODY_CHARS);
    const reason = `${PREFIX}Server responded with status code ${response.status}, headers: ${javaHeaderMap(response.headers)}`;
    return makeFailure('http', reason, this.secrets, {
      httpStatus: response.status,
      ...retryAfterFacts(response.headers),
    });
  }
}

export const cs41: ServiceImplementation = {
  info(): ServiceImplementationInfo {
    return {
      name: 'Counter-Sushi 4.1',
      description: 'SOAP-based implementation for CounterSushi 4.1',
      type: 'cs41',
      isAggregator: false,
      reportRelease: '4',
      supportedReports: [...R4_SUPPORTED_REPORTS],
    };
  },
  create(
    provider: UsageDataProvider,
    _aggregator: AggregatorSetting | undefined,
    transport: TransportOptions,
  ) {
    const url = parseServiceUrl(provider.harvestingConfig?.sushiConfig?.serviceUrl);
    if (url instanceof EndpointInitError) throw url;
    if (!provider.sushiCredentials) throw new EndpointInitError('sushiCredentials is missing');
    return new Cs41Endpoint(provider, url, transport);
  },
};
