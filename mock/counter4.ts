/**
 * COUNTER 4 for the mock server: the SOAP 1.1 `ReportRequest` reader, the `ReportResponse` writer (with
 * or without the SOAP envelope, as NSS sends it), SUSHI exceptions and SOAP faults.
 *
 * Items are deterministic (`counter4Items`): item `i` (0-based), month `yyyy-mm`, metric number `k`
 * count `(i + 1) * 10 + (k + 1) * 3 + month number (1..12)`; `ft_total` is the sum of the report's other
 * `ft_*` metrics of the same item and month.
 */
import { SaxesParser } from 'saxes';
import { firstDay, lastDay, monthsBetween, parseDateParam, type Month } from './months.ts';

export const NS_SOAP = 'http://schemas.xmlsoap.org/soap/envelope/';
export const NS_SUSHI = 'http://www.niso.org/schemas/sushi';
export const NS_SUSHI_COUNTER = 'http://www.niso.org/schemas/sushi/counter';
export const NS_COUNTER = 'http://www.niso.org/schemas/counter';

export interface Counter4Request {
  requestorId: string;
  requestorName: string;
  requestorEmail: string;
  customerId: string;
  reportName: string;
  release: string;
  begin: string;
  end: string;
}

interface R4ReportKind {
  title: string;
  dataType: string;
  category: string;
  metrics: string[];
  items: number;
}

const JOURNAL_REQUESTS: R4ReportKind = {
  title: 'Journal Report 1',
  dataType: 'Journal',
  category: 'Requests',
  metrics: ['ft_html', 'ft_pdf', 'ft_total'],
  items: 3,
};

const R4_REPORTS: Record<string, R4ReportKind> = {
  JR1: JOURNAL_REQUESTS,
  JR1GOA: { ...JOURNAL_REQUESTS, title: 'Journal Report 1 GOA' },
  JR1A: { ...JOURNAL_REQUESTS, title: 'Journal Report 1a' },
  JR5: { ...JOURNAL_REQUESTS, title: 'Journal Report 5', metrics: ['ft_total'] },
  JR2: {
    ...JOURNAL_REQUESTS,
    title: 'Journal Report 2',
    category: 'Access_denied',
    metrics: ['turnaway', 'no_license'],
  },
  BR1: { title: 'Book Report 1', dataType: 'Book', category: 'Requests', metrics: ['ft_total'], items: 2 },
  BR2: { title: 'Book Report 2', dataType: 'Book', category: 'Requests', metrics: ['ft_total'], items: 2 },
  BR3: {
    title: 'Book Report 3',
    dataType: 'Book',
    category: 'Access_denied',
    metrics: ['turnaway', 'no_license'],
    items: 2,
  },
  DB1: {
    title: 'Database Report 1',
    dataType: 'Database',
    category: 'Searches',
    metrics: ['search_reg', 'search_fed', 'result_click', 'record_view'],
    items: 2,
  },
  DB2: {
    title: 'Database Report 2',
    dataType: 'Database',
    category: 'Access_denied',
    metrics: ['turnaway', 'no_license'],
    items: 2,
  },
  PR1: {
    title: 'Platform Report 1',
    dataType: 'Platform',
    category: 'Searches',
    metrics: ['search_reg', 'search_fed', 'result_click', 'record_view'],
    items: 1,
  },
  MR1: {
    title: 'Multimedia Report 1',
    dataType: 'Multimedia',
    category: 'Requests',
    metrics: ['multimedia'],
    items: 1,
  },
};

function reportKind(name: string): R4ReportKind {
  return R4_REPORTS[name.replace(/\s+/g, '').toUpperCase()] ?? { ...JOURNAL_REQUESTS, title: name };
}

export interface Counter4Item {
  name: string;
  identifiers: { type: string; value: string }[];
  platform: string;
  publisher: string;
  dataType: string;
  /** month → metric → count (metrics in the report's order) */
  performance: { month: Month; category: string; counts: [string, number][] }[];
}

function countFor(item: number, metricIndex: number, month: Month): number {
  return (item + 1) * 10 + (metricIndex + 1) * 3 + Number(month.slice(5, 7));
}

function monthCounts(kind: R4ReportKind, item: number, month: Month): [string, number][] {
  const counts = kind.metrics.map((metric, k): [string, number] => [metric, countFor(item, k, month)]);
  const total = counts.find(([metric]) => metric === 'ft_total');
  const parts = counts.filter(([metric]) => metric.startsWith('ft_') && metric !== 'ft_total');
  if (total && parts.length > 0) total[1] = parts.reduce((sum, [, count]) => sum + count, 0);
  return counts;
}

/** The deterministic items of report `reportName` for the given months. */
export function counter4Items(reportName: string, months: Month[]): Counter4Item[] {
  const kind = reportKind(reportName);
  const items: Counter4Item[] = [];
  for (let i = 0; i < kind.items; i++) {
    const n = String(i + 1).padStart(3, '0');
    items.push({
      name: `Mock ${kind.dataType} ${n}`,
      identifiers:
        kind.dataType === 'Journal'
          ? [
              { type: 'Print_ISSN', value: `1000-0${n}` },
              { type: 'Online_ISSN', value: `2000-0${n}` },
            ]
          : [{ type: 'Proprietary', value: `mock:${kind.dataType.toLowerCase()}${n}` }],
      platform: 'Mock Platform',
      publisher: 'Mock Publisher',
      dataType: kind.dataType,
      performance: months.map((month) => ({
        month,
        category: kind.category,
        counts: monthCounts(kind, i, month),
      })),
    });
  }
  return items;
}

function localName(name: string): string {
  const colon = name.indexOf(':');
  return colon < 0 ? name : name.slice(colon + 1);
}

/** Reads the fields of a SOAP `ReportRequest` (namespace prefixes are ignored). Throws on bad XML. */
export function parseCounter4Request(xml: string): Counter4Request {
  const request: Counter4Request = {
    requestorId: '',
    requestorName: '',
    requestorEmail: '',
    customerId: '',
    reportName: '',
    release: '',
    begin: '',
    end: '',
  };
  const stack: string[] = [];
  let text = '';
  const parser = new SaxesParser();
  parser.on('opentag', (tag) => {
    const name = localName(tag.name);
    stack.push(name);
    text = '';
    if (name === 'ReportDefinition') {
      for (const [attribute, value] of Object.entries(tag.attributes)) {
        if (localName(attribute) === 'Name') request.reportName = String(value);
        if (localName(attribute) === 'Release') request.release = String(value);
      }
    }
  });
  parser.on('text', (chunk) => (text += chunk));
  parser.on('cdata', (chunk) => (text += chunk));
  parser.on('closetag', () => {
    assignField(request, stack, text.trim());
    stack.pop();
    text = '';
  });
  parser.write(xml).close();
  return request;
}

function assignField(request: Counter4Request, stack: string[], value: string): void {
  const name = stack[stack.length - 1];
  const parent = stack[stack.length - 2];
  if (parent === 'Requestor' && name === 'ID') request.requestorId = value;
  else if (parent === 'Requestor' && name === 'Name') request.requestorName = value;
  else if (parent === 'Requestor' && name === 'Email') request.requestorEmail = value;
  else if (parent === 'CustomerReference' && name === 'ID') request.customerId = value;
  else if (parent === 'UsageDateRange' && name === 'Begin') request.begin = value;
  else if (parent === 'UsageDateRange' && name === 'End') request.end = value;
}

/** The NSS GET parameters as a `Counter4Request`. */
export function nssRequest(query: Record<string, string>): Counter4Request {
  return {
    requestorId: query.RequestorID ?? '',
    requestorName: '',
    requestorEmail: '',
    customerId: query.CustomerID ?? '',
    reportName: query.Report ?? '',
    release: query.Release ?? '',
    begin: query.BeginDate ?? '',
    end: query.EndDate ?? '',
  };
}

/** The requested months, or undefined when the dates are missing or reversed. */
export function counter4Months(request: Counter4Request): Month[] | undefined {
  const begin = parseDateParam(request.begin);
  const end = parseDateParam(request.end);
  if (!begin || !end || begin > end) return undefined;
  return monthsBetween(begin, end);
}

export function escapeXml(value: string): string {
  return value.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export interface SushiException {
  number: number;
  severity: string;
  message: string;
  data?: string;
  helpUrl?: string;
}

function exceptionXml(exception: SushiException): string {
  return (
    `<s:Exception><s:Number>${exception.number}</s:Number><s:Severity>${escapeXml(exception.severity)}</s:Severity>` +
    `<s:Message>${escapeXml(exception.message)}</s:Message>` +
    (exception.helpUrl ? `<s:HelpUrl>${escapeXml(exception.helpUrl)}</s:HelpUrl>` : '') +
    (exception.data ? `<s:Data>${escapeXml(exception.data)}</s:Data>` : '') +
    `</s:Exception>`
  );
}

function itemXml(item: Counter4Item): string {
  const ids = item.identifiers
    .map(
      (id) =>
        `<c:ItemIdentifier><c:Type>${id.type}</c:Type><c:Value>${escapeXml(id.value)}</c:Value></c:ItemIdentifier>`,
    )
    .join('');
  const performance = item.performance
    .map(
      (p) =>
        `<c:ItemPerformance><c:Period><c:Begin>${firstDay(p.month)}</c:Begin><c:End>${lastDay(p.month)}</c:End></c:Period>` +
        `<c:Category>${p.category}</c:Category>` +
        p.counts
          .map(
            ([metric, count]) =>
              `<c:Instance><c:MetricType>${metric}</c:MetricType><c:Count>${count}</c:Count></c:Instance>`,
          )
          .join('') +
        `</c:ItemPerformance>`,
    )
    .join('');
  return (
    `<c:ReportItems>${ids}<c:ItemPlatform>${escapeXml(item.platform)}</c:ItemPlatform>` +
    `<c:ItemPublisher>${escapeXml(item.publisher)}</c:ItemPublisher><c:ItemName>${escapeXml(item.name)}</c:ItemName>` +
    `<c:ItemDataType>${item.dataType}</c:ItemDataType>${performance}</c:ReportItems>`
  );
}

function reportXml(request: Counter4Request, months: Month[]): string {
  const kind = reportKind(request.reportName);
  const items = counter4Items(request.reportName, months).map(itemXml).join('');
  return (
    `<sc:Report><c:Reports><c:Report Created="2024-01-01T00:00:00Z" ID="${escapeXml(`${request.customerId}:${request.reportName}`)}" ` +
    `Version="${escapeXml(request.release || '4')}" Name="${escapeXml(request.reportName)}" Title="${escapeXml(kind.title)}">` +
    `<c:Vendor><c:Name>Mock Vendor</c:Name><c:ID>mock</c:ID><c:Contact><c:Contact>Mock Support</c:Contact>` +
    `<c:E-mail>support@example.org</c:E-mail></c:Contact></c:Vendor>` +
    `<c:Customer><c:Name>Mock Customer</c:Name><c:ID>${escapeXml(request.customerId)}</c:ID>${items}</c:Customer>` +
    `</c:Report></c:Reports></sc:Report>`
  );
}

/**
 * A `ReportResponse` echoing the request; with `exceptions` it carries those and no report, otherwise
 * the report for `months`.
 */
export function reportResponseXml(
  request: Counter4Request,
  months: Month[],
  exceptions: SushiException[] = [],
): string {
  return (
    `<sc:ReportResponse xmlns:sc="${NS_SUSHI_COUNTER}" xmlns:s="${NS_SUSHI}" xmlns:c="${NS_COUNTER}" ` +
    `Created="2024-01-01T00:00:00Z" ID="mock-response">` +
    `<s:Requestor><s:ID>${escapeXml(request.requestorId)}</s:ID><s:Name>${escapeXml(request.requestorName)}</s:Name>` +
    `<s:Email>${escapeXml(request.requestorEmail)}</s:Email></s:Requestor>` +
    `<s:CustomerReference><s:ID>${escapeXml(request.customerId)}</s:ID></s:CustomerReference>` +
    `<s:ReportDefinition Name="${escapeXml(request.reportName)}" Release="${escapeXml(request.release)}"><s:Filters>` +
    `<s:UsageDateRange><s:Begin>${escapeXml(request.begin)}</s:Begin><s:End>${escapeXml(request.end)}</s:End>` +
    `</s:UsageDateRange></s:Filters></s:ReportDefinition>` +
    exceptions.map(exceptionXml).join('') +
    (exceptions.length > 0 ? '' : reportXml(request, months)) +
    `</sc:ReportResponse>`
  );
}

const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';

export function soapEnvelope(body: string): string {
  return `${XML_DECLARATION}<soap:Envelope xmlns:soap="${NS_SOAP}"><soap:Body>${body}</soap:Body></soap:Envelope>`;
}

export function bareXml(body: string): string {
  return `${XML_DECLARATION}${body}`;
}

export function soapFault(code: string, reason: string): string {
  return soapEnvelope(
    `<soap:Fault><faultcode>soap:${code}</faultcode><faultstring>${escapeXml(reason)}</faultstring></soap:Fault>`,
  );
}

/** The NSS failure answer: 4 × Exception 1030 naming `RequestorID`. */
export function nssFailureXml(request: Counter4Request): string {
  const exception: SushiException = {
    number: 1030,
    severity: 'Error',
    message: 'Insufficient Information to process Request',
    helpUrl: 'https://example.org/nss/help',
    data: 'Parameter: RequestorID',
  };
  return bareXml(reportResponseXml(request, [], [exception, exception, exception, exception]));
}
