/**
 * Requests and answers of the COUNTER 4 SOAP implementation (cs41) against real HTTP servers. A number in parentheses at the
 * end of a test name is the item of the checklist in docs/folio-contract.md §9 it checks (here: 97, 98, 99, 100, 101, 102).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SaxesParser } from 'saxes';
import { cs41 } from '../../src/sushi/cs41.ts';
import { enumConstant, zonedDateTime } from '../../src/sushi/r4/model.ts';
import { closeDispatchers } from '../../src/sushi/transport.ts';
import type { FetchItem, ServiceEndpoint } from '../../src/sushi/types.ts';
import type { UsageDataProvider } from '../../src/model/records.ts';
import {
  assertFailure,
  assertMonths,
  provider,
  reply,
  startStub,
  TRANSPORT,
  type Handler,
  type Stub,
} from '../helpers/sushi.ts';
import {
  counterReport,
  exceptionXml,
  expectedJournalA,
  FEB_2018,
  JAN_2018,
  journal,
  MAR_2018,
  reportResponse,
  soap,
} from '../helpers/r4-samples.ts';

after(closeDispatchers);

const ITEM: FetchItem = { reportName: 'JR1', beginDate: '2018-01-01', endDate: '2018-01-31' };
const CREDS = { requestorId: 'reqId1', customerId: 'custId1' };

async function withStub(
  handler: Handler,
  fn: (stub: Stub, endpoint: ServiceEndpoint) => Promise<void>,
  udp?: (url: string) => UsageDataProvider,
): Promise<void> {
  const stub = await startStub(handler);
  try {
    await fn(
      stub,
      cs41.create(
        udp ? udp(stub.url) : provider('cs41', `${stub.url}/sushiService`, CREDS),
        undefined,
        TRANSPORT,
        {},
      ),
    );
  } finally {
    await stub.close();
  }
}

/** Element texts of a SOAP request by local-name path, e.g. `Requestor/ID`. */
function xmlValues(xml: string): { texts: Map<string, string>; attrs: Map<string, Record<string, string>> } {
  const parser = new SaxesParser({ xmlns: true });
  const path: string[] = [];
  const texts = new Map<string, string>();
  const attrs = new Map<string, Record<string, string>>();
  parser.on('opentag', (tag) => {
    path.push(`${tag.uri}|${tag.local}`);
    const a: Record<string, string> = {};
    for (const attr of Object.values(tag.attributes)) a[attr.local] = attr.value;
    attrs.set(path.join('/'), a);
    texts.set(path.join('/'), '');
  });
  parser.on('text', (t) => texts.set(path.join('/'), (texts.get(path.join('/')) ?? '') + t));
  parser.on('closetag', () => path.pop());
  parser.write(xml).close();
  return { texts, attrs };
}

const SOAPENV = 'http://schemas.xmlsoap.org/soap/envelope/';
const SC = 'http://www.niso.org/schemas/sushi/counter';
const S = 'http://www.niso.org/schemas/sushi';
const REQ = `${SOAPENV}|Envelope/${SOAPENV}|Body/${SC}|ReportRequest`;

describe('cs41 request', () => {
  it('POSTs the SOAP envelope with SOAPAction and the request values (97)', async () => {
    await withStub(
      (_req, res) =>
        reply(
          res,
          200,
          soap(
            reportResponse(
              counterReport([journal('Journal A', '1111-1111', [{ ...JAN_2018, html: 2, pdf: 6 }])]),
            ),
          ),
        ),
      async (stub, endpoint) => {
        await assertMonths(await endpoint.fetchReport(ITEM));
        const rec = stub.requests[0];
        assert.equal(rec.method, 'POST');
        assert.equal(rec.url, '/sushiService');
        assert.equal(rec.headers.soapaction, '"SushiService:GetReportIn"');
        assert.equal(rec.headers['content-type'], 'text/xml; charset=UTF-8');
        const { texts, attrs } = xmlValues(rec.body);
        assert.equal(texts.get(`${REQ}/${S}|Requestor/${S}|ID`), 'reqId1');
        assert.equal(texts.get(`${REQ}/${S}|Requestor/${S}|Name`), '');
        assert.equal(texts.get(`${REQ}/${S}|Requestor/${S}|Email`), '');
        assert.equal(texts.get(`${REQ}/${S}|CustomerReference/${S}|ID`), 'custId1');
        assert.deepEqual(attrs.get(`${REQ}/${S}|ReportDefinition`), { Name: 'JR1', Release: '4' });
        const range = `${REQ}/${S}|ReportDefinition/${S}|Filters/${S}|UsageDateRange`;
        assert.equal(texts.get(`${range}/${S}|Begin`), '2018-01-01');
        assert.equal(texts.get(`${range}/${S}|End`), '2018-01-31');
      },
    );
  });

  it('escapes XML special characters in the values', async () => {
    await withStub(
      (_req, res) => reply(res, 500),
      async (stub, endpoint) => {
        await endpoint.fetchReport({ ...ITEM, reportName: 'JR1 <GOA> & "x"' });
        const { texts, attrs } = xmlValues(stub.requests[0].body);
        assert.equal(texts.get(`${REQ}/${S}|Requestor/${S}|Name`), 'A & B <lib>');
        assert.equal(attrs.get(`${REQ}/${S}|ReportDefinition`)?.Name, 'JR1 <GOA> & "x"');
      },
      (url) => provider('cs41', url, { ...CREDS, requestorName: 'A & B <lib>', requestorMail: 'a@b.c' }),
    );
  });
});

describe('cs41 response', () => {
  it('a JR1 for custId1, 2018-01 → one month equal to the expected camelCase JSON (98)', async () => {
    await withStub(
      (_req, res) =>
        reply(
          res,
          200,
          soap(
            reportResponse(
              counterReport([journal('Journal A', '1111-1111', [{ ...JAN_2018, html: 2, pdf: 6 }])]),
            ),
          ),
          { 'content-type': 'text/xml' },
        ),
      async (_stub, endpoint) => {
        const result = await endpoint.fetchReport(ITEM);
        assert.equal(endpoint.release, '4');
        const months = await assertMonths(result);
        assert.equal(months.length, 1);
        assert.equal(months[0].yearMonth, '2018-01');
        assert.deepEqual(months[0].report, expectedJournalA());
      },
    );
  });

  it('a multi-month response → one record per month; months without usage get none (102)', async () => {
    const items = [
      journal('Journal A', '1111-1111', [
        { ...JAN_2018, html: 1, pdf: 1 },
        { ...MAR_2018, html: 3, pdf: 3 },
      ]),
      journal('Journal B', '2222-2222', [{ ...MAR_2018, html: 5, pdf: 0 }]),
    ];
    await withStub(
      (_req, res) => reply(res, 200, soap(reportResponse(counterReport(items)))),
      async (_stub, endpoint) => {
        const result = await endpoint.fetchReport({
          reportName: 'JR1',
          beginDate: '2018-01-01',
          endDate: '2018-03-31',
        });
        if (result.kind === 'data') assert.equal(result.data.itemCount, 2);
        const months = await assertMonths(result);
        assert.deepEqual(
          months.map((m) => m.yearMonth),
          ['2018-01', '2018-03'],
        );
        type Stored = {
          customer: Array<{
            reportItems: Array<{ itemName: string; itemPerformance: Array<{ period: { begin: string } }> }>;
          }>;
        };
        const jan = months[0].report as Stored;
        const mar = months[1].report as Stored;
        assert.deepEqual(
          jan.customer[0].reportItems.map((i) => i.itemName),
          ['Journal A'],
        );
        assert.deepEqual(
          mar.customer[0].reportItems.map((i) => i.itemName),
          ['Journal A', 'Journal B'],
        );
        for (const i of mar.customer[0].reportItems)
          assert.deepEqual(
            i.itemPerformance.map((p) => p.period.begin),
            ['2018-03-01'],
          );
      },
    );
  });

  it('a period that is not a whole month, with no exact month → `Split report size not equal to 1`', async () => {
    const items = [
      journal('Journal A', '1111-1111', [{ begin: '2018-01-01', end: '2018-02-28', html: 1, pdf: 1 }]),
    ];
    await withStub(
      (_req, res) => reply(res, 200, soap(reportResponse(counterReport(items)))),
      async (_stub, endpoint) => {
        const failure = assertFailure(await endpoint.fetchReport(ITEM));
        assert.equal(failure.cause, 'invalid');
        assert.equal(failure.reason, 'Report not valid: Split report size not equal to 1');
      },
    );
  });

  it('a report with two customers is invalid', async () => {
    await withStub(
      (_req, res) =>
        reply(
          res,
          200,
          soap(
            reportResponse(counterReport([journal('A', '1111-1111', [{ ...FEB_2018, html: 1, pdf: 1 }])], 2)),
          ),
        ),
      async (_stub, endpoint) => {
        assert.equal(
          assertFailure(await endpoint.fetchReport(ITEM)).reason,
          'Report not valid: Report contains multiple customer entries',
        );
      },
    );
  });

  it('Error/Fatal exceptions → `Report not valid: Exception{...}` joined; Warnings alone do not fail', async () => {
    const exceptions = [
      exceptionXml(
        3031,
        'Error',
        'Service has not yet processed the usage for one or more of the requested months',
        'Months not processed: 2018-07',
      ),
      exceptionXml(3040, 'Warning', 'Partial data'),
      exceptionXml(1000, 'Fatal', 'Service Not Available', '', 'http://help.example.org'),
    ];
    await withStub(
      (_req, res) => reply(res, 200, soap(reportResponse(undefined, exceptions))),
      async (_stub, endpoint) => {
        const failure = assertFailure(await endpoint.fetchReport(ITEM));
        assert.equal(failure.cause, 'exception');
        assert.equal(
          failure.reason,
          'Report not valid: Exception{Number=3031, Severity=ERROR, Message=Service has not yet processed the usage for one or more of the requested months, Data=Months not processed: 2018-07}, Exception{Number=1000, Severity=FATAL, Message=Service Not Available, HelpUrl=http://help.example.org}',
        );
        assert.deepEqual(
          failure.exceptions.map((e) => e.code),
          [3031, 3040, 1000],
        );
      },
    );
    await withStub(
      (_req, res) =>
        reply(
          res,
          200,
          soap(
            reportResponse(counterReport([journal('A', '1111-1111', [{ ...JAN_2018, html: 1, pdf: 1 }])]), [
              exceptionXml(3040, 'Warning', 'Partial data'),
            ]),
          ),
        ),
      async (_stub, endpoint) => {
        const result = await endpoint.fetchReport(ITEM);
        assert.equal(result.kind, 'data');
        if (result.kind === 'data')
          assert.deepEqual(
            result.data.exceptions.map((e) => e.code),
            [3040],
          );
        assert.equal((await assertMonths(result)).length, 1);
      },
    );
  });

  it('neither report nor error → `Report not valid: `', async () => {
    await withStub(
      (_req, res) => reply(res, 200, soap(reportResponse(undefined))),
      async (_stub, endpoint) => {
        const failure = assertFailure(await endpoint.fetchReport(ITEM));
        assert.equal(failure.reason, 'Report not valid: ');
        assert.equal(failure.cause, 'invalid');
      },
    );
  });

  it('connection reset → `Error getting report: Connection error: ...` (99)', async () => {
    await withStub(
      (_req, _res, raw) => raw.socket.destroy(),
      async (_stub, endpoint) => {
        const failure = assertFailure(await endpoint.fetchReport(ITEM));
        assert.equal(failure.cause, 'transport');
        assert.match(failure.reason, /^Error getting report: Connection error: \S+/);
      },
    );
  });

  it('HTTP 500 → status code and header map in the reason (100)', async () => {
    await withStub(
      (_req, res) =>
        reply(res, 500, '', { TestHeaderKey: 'TestHeaderValue', 'Set-Cookie': 'session=abcdef' }),
      async (_stub, endpoint) => {
        const failure = assertFailure(await endpoint.fetchReport(ITEM));
        assert.equal(failure.cause, 'http');
        assert.equal(failure.httpStatus, 500);
        assert.match(
          failure.reason,
          /^Error getting report: Server responded with status code 500, headers: \{.*\}$/,
        );
        assert.ok(failure.reason.includes('testheaderkey=[TestHeaderValue]'), failure.reason);
        assert.ok(!failure.reason.includes('abcdef'), failure.reason);
      },
    );
  });

  it('a 302 redirect is followed with exactly one POST to each server (101)', async () => {
    const target = await startStub((req, res) =>
      reply(
        res,
        200,
        req.method === 'POST'
          ? soap(
              reportResponse(counterReport([journal('A', '1111-1111', [{ ...JAN_2018, html: 1, pdf: 1 }])])),
            )
          : 'wrong method',
      ),
    );
    try {
      await withStub(
        (_req, res) => reply(res, 302, '', { location: `${target.url}/moved` }),
        async (stub, endpoint) => {
          const months = await assertMonths(await endpoint.fetchReport(ITEM));
          assert.equal(months.length, 1);
          assert.equal(stub.requests.length, 1);
          assert.equal(target.requests.length, 1);
          assert.equal(target.requests[0].method, 'POST');
          assert.equal(target.requests[0].headers.soapaction, '"SushiService:GetReportIn"');
          assert.equal(target.requests[0].body, stub.requests[0].body);
        },
      );
    } finally {
      await target.close();
    }
  });

  it('a SOAP fault or a non-XML 2xx body → `Error getting report: ...`', async () => {
    const fault = soap(
      '<soapenv:Fault><faultcode>soapenv:Server</faultcode><faultstring>Backend exploded</faultstring></soapenv:Fault>',
    );
    for (const [body, expected] of [
      [fault, /^Error getting report: Backend exploded$/],
      ['<html><body>Maintenance', /^Error getting report: .+/],
      ['{"json": true}', /^Error getting report: .+/],
    ] as const) {
      await withStub(
        (_req, res) => reply(res, 200, body),
        async (_stub, endpoint) => {
          const failure = assertFailure(await endpoint.fetchReport(ITEM));
          assert.match(failure.reason, expected);
          assert.equal(failure.cause, 'invalid');
        },
      );
    }
  });

  it('construction: `Invalid Service URL` and missing credentials', () => {
    assert.throws(() => cs41.create(provider('cs41', 'usage.example.org'), undefined, TRANSPORT, {}), {
      message: 'Invalid Service URL: usage.example.org',
    });
    const udp = provider('cs41', 'https://usage.example.org/');
    delete udp.sushiCredentials;
    assert.throws(() => cs41.create(udp, undefined, TRANSPORT, {}), { name: 'EndpointInitError' });
  });
});

describe('R4 value mapping', () => {
  it('enum constants as JAXB names them', () => {
    assert.equal(enumConstant('Online_ISSN'), 'ONLINE_ISSN');
    assert.equal(enumConstant('ft_pdf_mobile'), 'FT_PDF_MOBILE');
    assert.equal(enumConstant('ArticleVersion'), 'ARTICLE_VERSION');
    assert.equal(enumConstant('FirstAccessedOnline'), 'FIRST_ACCESSED_ONLINE');
    assert.equal(enumConstant('EISSN'), 'EISSN');
    assert.equal(enumConstant('Access_denied'), 'ACCESS_DENIED');
  });

  it('Created as FOLIO serialises it', () => {
    assert.equal(zonedDateTime('2018-10-24T08:37:25.730+01:00'), '2018-10-24T08:37:25.730+01:00');
    assert.equal(zonedDateTime('2019-02-01T08:40:50.994Z'), '2019-02-01T08:40:50.994Z');
    assert.equal(zonedDateTime('2019-02-01T08:40:50+00:00'), '2019-02-01T08:40:50.000Z');
    assert.equal(zonedDateTime('2019-02-01T08:40:50.1234567-0500'), '2019-02-01T08:40:50.123-05:00');
    assert.equal(zonedDateTime('yesterday'), undefined);
  });
});
