/** Hand-written COUNTER 4 SUSHI responses for the cs41 and NSS tests. */

export interface Usage {
  begin: string;
  end: string;
  html: number;
  pdf: number;
}

export function journal(name: string, issn: string, usage: Usage[]): string {
  const performance = usage
    .map(
      (u) => `
        <c:ItemPerformance>
          <c:Period><c:Begin>${u.begin}</c:Begin><c:End>${u.end}</c:End></c:Period>
          <c:Category>Requests</c:Category>
          <c:Instance><c:MetricType>ft_html</c:MetricType><c:Count>${u.html}</c:Count></c:Instance>
          <c:Instance><c:MetricType>ft_pdf</c:MetricType><c:Count>${u.pdf}</c:Count></c:Instance>
        </c:ItemPerformance>`,
    )
    .join('');
  return `
      <c:ReportItems>
        <c:ItemIdentifier><c:Type>Online_ISSN</c:Type><c:Value>${issn}</c:Value></c:ItemIdentifier>
        <c:ItemIdentifier><c:Type>Print_ISSN</c:Type><c:Value>0000-0000</c:Value></c:ItemIdentifier>
        <c:ItemPlatform>Test Platform</c:ItemPlatform>
        <c:ItemPublisher>Test &amp; Sons</c:ItemPublisher>
        <c:ItemName>${name}</c:ItemName>
        <c:ItemDataType>Journal</c:ItemDataType>${performance}
      </c:ReportItems>`;
}

export function counterReport(items: string[], customers = 1): string {
  const customer = `
    <c:Customer>
      <c:Name>Test Library</c:Name>
      <c:ID>custId1</c:ID>${items.join('')}
    </c:Customer>`;
  return `
  <c:Report Created="2019-03-13T12:42:16.260Z" ID="1552480936260" Version="4" Name="Journal Report 1 (R4)" Title="JR1:4">
    <c:Vendor>
      <c:Name>Example Vendor</c:Name>
      <c:ID>EX001</c:ID>
      <c:Contact><c:Contact>Help desk</c:Contact><c:E-mail>help@example.org</c:E-mail></c:Contact>
      <c:WebSiteUrl>http://www.example.org</c:WebSiteUrl>
    </c:Vendor>${customer.repeat(customers)}
  </c:Report>`;
}

export function exceptionXml(
  number: number,
  severity: string,
  message: string,
  data = '',
  helpUrl = '',
): string {
  return `
  <s:Exception>
    <s:Number>${number}</s:Number>
    <s:Severity>${severity}</s:Severity>
    <s:Message>${message}</s:Message>
    <s:HelpUrl>${helpUrl}</s:HelpUrl>
    <s:Data>${data}</s:Data>
  </s:Exception>`;
}

/** A `ReportResponse`; `report` undefined gives a nil report. */
export function reportResponse(report: string | undefined, exceptions: string[] = []): string {
  return `<sc:ReportResponse xmlns:s="http://www.niso.org/schemas/sushi" xmlns:c="http://www.niso.org/schemas/counter" xmlns:sc="http://www.niso.org/schemas/sushi/counter" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">${exceptions.join('')}
  <s:Requestor><s:ID>reqId1</s:ID><s:Name/><s:Email/></s:Requestor>
  <s:CustomerReference><s:ID>custId1</s:ID></s:CustomerReference>
  <s:ReportDefinition Name="JR1" Release="4"><s:Filters><s:UsageDateRange><s:Begin>2018-01-01</s:Begin><s:End>2018-01-31</s:End></s:UsageDateRange></s:Filters></s:ReportDefinition>
  ${report === undefined ? '<sc:Report xsi:nil="true"/>' : `<sc:Report>${report}</sc:Report>`}
</sc:ReportResponse>`;
}

export function soap(body: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>${body}</soapenv:Body></soapenv:Envelope>`;
}

export const JAN_2018 = { begin: '2018-01-01', end: '2018-01-31' };
export const FEB_2018 = { begin: '2018-02-01', end: '2018-02-28' };
export const MAR_2018 = { begin: '2018-03-01', end: '2018-03-31' };

/** The stored JSON of `counterReport([journal('Journal A', '1111-1111', [{...JAN_2018, html: 2, pdf: 6}])])`. */
export function expectedJournalA(): Record<string, unknown> {
  return {
    vendor: {
      name: 'Example Vendor',
      id: 'EX001',
      contact: [{ contact: 'Help desk', email: 'help@example.org' }],
      webSiteUrl: 'http://www.example.org',
    },
    created: '2019-03-13T12:42:16.260Z',
    id: '1552480936260',
    version: '4',
    name: 'Journal Report 1 (R4)',
    title: 'JR1:4',
    customer: [
      {
        name: 'Test Library',
        id: 'custId1',
        contact: [],
        institutionalIdentifier: [],
        reportItems: [
          {
            itemIdentifier: [
              { type: 'ONLINE_ISSN', value: '1111-1111' },
              { type: 'PRINT_ISSN', value: '0000-0000' },
            ],
            itemContributor: [],
            itemDate: [],
            itemAttribute: [],
            itemPlatform: 'Test Platform',
            itemPublisher: 'Test & Sons',
            itemName: 'Journal A',
            itemDataType: 'JOURNAL',
            itemPerformance: [
              {
                period: { begin: '2018-01-01', end: '2018-01-31' },
                category: 'REQUESTS',
                instance: [
                  { metricType: 'FT_HTML', count: 2 },
                  { metricType: 'FT_PDF', count: 6 },
                ],
              },
            ],
          },
        ],
      },
    ],
  };
}
