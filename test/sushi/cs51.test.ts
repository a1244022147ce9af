/**
 * Requests and answers of the COUNTER 5.1 REST implementation (cs51) against real HTTP servers. A number in parentheses at the
 * end of a test name is the item of the checklist in docs/folio-contract.md §9 it checks (here: 119, 121, 122, 124, 125, 127, 128, 129, 130, 131).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cs51 } from '../../src/sushi/cs51.ts';
import { closeDispatchers } from '../../src/sushi/transport.ts';
import type { FetchItem, ServiceEndpoint } from '../../src/sushi/types.ts';
import type { UsageDataProvider } from '../../src/model/records.ts';
import {
  assertFailure,
  assertMonths,
  fixture,
  json,
  provider,
  queryOf,
  rawQuery,
  reply,
  startStub,
  TRANSPORT,
  type Handler,
  type Stub,
} from '../helpers/sushi.ts';
import { failFs } from '../helpers/fail-fs.ts';

after(closeDispatchers);

const Q1: FetchItem = { reportName: 'TR', beginDate: '2022-01-01', endDate: '2022-03-31' };

function trWithin(begin: string, end: string): string {
  const sample = JSON.parse(fixture('r51/TR_sample_r51.json')) as {
    Report_Header: { Report_Filters: Record<string, string> };
  };
  sample.Report_Header.Report_Filters.Begin_Date = begin;
  sample.Report_Header.Report_Filters.End_Date = end;
  return JSON.stringify(sample);
}

async function withStub(
  handler: Handler,
  fn: (stub: Stub, endpoint: ServiceEndpoint) => Promise<void>,
  udp?: (url: string) => UsageDataProvider,
): Promise<void> {
  const stub = await startStub(handler);
  try {
    await fn(
      stub,
      cs51.create(udp ? udp(stub.url) : provider('cs51', `${stub.url}/sushi`), undefined, TRANSPORT, {}),
    );
  } finally {
    await stub.close();
  }
}

describe('cs51 requests', () => {
  it('path /r51/reports/<lower> with all parameters in order (119, 120)', async () => {
    const creds = { customerId: 'C1', requestorId: 'R1', apiKey: 'K1', platform: 'PF' };
    await withStub(
      (_req, res) => reply(res, 200, trWithin('2022-01-01', '2022-01-31')),
      async (stub, endpoint) => {
        await assertMonths(
          await endpoint.fetchReport({ reportName: 'ir', beginDate: '2022-01-01', endDate: '2022-01-31' }),
        );
        await assertMonths(
          await endpoint.fetchReport({ reportName: 'TR', beginDate: '2022-01-01', endDate: '2022-01-31' }),
        );
        const [ir, tr] = stub.requests;
        assert.ok(ir.url.startsWith('/sushi/r51/reports/ir?'), ir.url);
        assert.equal(
          rawQuery(ir),
          'customer_id=C1&begin_date=2022-01-01&end_date=2022-01-31&platform=PF&attributes_to_show=Authors%7CPublication_Date%7CArticle_Version%7CYOP%7CAccess_Type%7CAccess_Method&include_parent_details=True&api_key=K1&requestor_id=R1',
        );
        assert.equal(Object.fromEntries(queryOf(tr)).attributes_to_show, 'YOP|Access_Type|Access_Method');
        assert.equal(Object.fromEntries(queryOf(tr)).include_parent_details, undefined);
      },
      (url) => provider('cs51', `${url}/sushi`, creds),
    );
  });

  it('DR and PR request Access_Method only (119)', async () => {
    await withStub(
      (_req, res) => reply(res, 200, trWithin('2022-01-01', '2022-01-31')),
      async (stub, endpoint) => {
        await assertMonths(
          await endpoint.fetchReport({ reportName: 'DR', beginDate: '2022-01-01', endDate: '2022-01-31' }),
        );
        await assertMonths(
          await endpoint.fetchReport({ reportName: 'PR', beginDate: '2022-01-01', endDate: '2022-01-31' }),
        );
        for (const rec of stub.requests)
          assert.equal(Object.fromEntries(queryOf(rec)).attributes_to_show, 'Access_Method');
        assert.deepEqual(
          stub.requests.map((r) => r.url.split('?')[0]),
          ['/sushi/r51/reports/dr', '/sushi/r51/reports/pr'],
        );
      },
    );
  });

  it('base URL normalisation does not add /r51 twice (121)', () => {
    const cases: Array<[string, string]> = [
      ['https://x.org/sushi/', 'https://x.org/sushi/r51'],
      ['https://x.org/sushi/r51', 'https://x.org/sushi/r51'],
      ['https://x.org/sushi/r51/', 'https://x.org/sushi/r51'],
      ['https://x.org/sushi/R51', 'https://x.org/sushi/R51'],
      ['https://x.org/sushi/reports', 'https://x.org/sushi/r51'],
      ['https://x.org/sushi/r51/reports/', 'https://x.org/sushi/r51'],
      ['https://x.org', 'https://x.org/r51'],
    ];
    for (const [input, expected] of cases) {
      assert.equal(
        cs51.create(provider('cs51', input), undefined, TRANSPORT, {}).endpointKey,
        expected,
        input,
      );
    }
  });

  it('XY → unsupported without a request (122)', async () => {
    await withStub(
      (_req, res) => json(res, 200, {}),
      async (stub, endpoint) => {
        const failure = assertFailure(await endpoint.fetchReport({ ...Q1, reportName: 'XY' }));
        assert.equal(failure.reason, 'Unsupported Report Type: XY');
        assert.equal(failure.cause, 'unsupported');
        assert.equal(stub.requests.length, 0);
      },
    );
  });

  it('construction errors: `Invalid Service URL: localhost` (123) and required values', () => {
    assert.throws(() => cs51.create(provider('cs51', 'localhost'), undefined, TRANSPORT, {}), {
      name: 'EndpointInitError',
      message: 'Invalid Service URL: localhost',
    });
    assert.throws(() => cs51.create(provider('cs51', 'ftp://x.org/'), undefined, TRANSPORT, {}), {
      message: 'Invalid Service URL: ftp://x.org/',
    });
    assert.throws(
      () => cs51.create(provider('cs51', 'https://x.org', { requestorId: 'R' }), undefined, TRANSPORT, {}),
      { name: 'EndpointInitError', message: /customerId/ },
    );
    const noRelease = provider('cs51', 'https://x.org');
    delete noRelease.harvestingConfig?.reportRelease;
    assert.throws(() => cs51.create(noRelease, undefined, TRANSPORT, {}), { message: /reportRelease/ });
  });
});

describe('cs51 responses', () => {
  it('a valid TR for 2022-01..03 → months 2022-01, 2022-02, 2022-03 (124)', async () => {
    await withStub(
      (_req, res) => reply(res, 200, trWithin('2022-01-01', '2022-03-31')),
      async (_stub, endpoint) => {
        const result = await endpoint.fetchReport(Q1);
        assert.equal(endpoint.release, '5.1');
        const months = await assertMonths(result);
        assert.deepEqual(
          months.map((m) => m.yearMonth),
          ['2022-01', '2022-02', '2022-03'],
        );
        for (const m of months) {
          const report = m.report as {
            Report_Header: { Report_Filters: Record<string, string> };
            Report_Items: Array<{
              Attribute_Performance: Array<{ Performance: Record<string, Record<string, number>> }>;
            }>;
          };
          assert.equal(report.Report_Header.Report_Filters.Begin_Date, `${m.yearMonth}-01`);
          for (const item of report.Report_Items)
            for (const ap of item.Attribute_Performance)
              for (const counts of Object.values(ap.Performance))
                assert.deepEqual(Object.keys(counts), [m.yearMonth]);
        }
      },
    );
  });

  it('3031 in the header and no items → exception failure with the message (125)', async () => {
    const body = {
      Report_Header: {
        Report_Name: 'Title Report',
        Report_ID: 'TR',
        Release: '5.1',
        Institution_Name: 'X',
        Created: '2023-01-01T00:00:00Z',
        Created_By: 'X',
        Report_Filters: { Begin_Date: '2022-01-01', End_Date: '2022-01-31' },
        Exceptions: [
          {
            Code: 3031,
            Message: 'Usage Not Ready for Requested Dates',
            Data: 'Usage is available up to 2021-12',
          },
        ],
      },
      Report_Items: [],
    };
    await withStub(
      (_req, res) => json(res, 200, body),
      async (_stub, endpoint) => {
        const failure = assertFailure(await endpoint.fetchReport(Q1));
        assert.equal(failure.cause, 'exception');
        assert.equal(failure.reason, `Report not valid: ${JSON.stringify(body.Report_Header.Exceptions)}`);
        assert.match(failure.reason, /Usage Not Ready for Requested Dates/);
        assert.match(failure.reason, /"Code":3031/);
      },
    );
  });

  it('429 → http failure with status 429 (127)', async () => {
    await withStub(
      (_req, res) => reply(res, 429, '', { 'retry-after': 'Wed, 21 Oct 2099 07:28:00 GMT' }),
      async (_stub, endpoint) => {
        const failure = assertFailure(await endpoint.fetchReport(Q1));
        assert.equal(failure.httpStatus, 429);
        assert.equal(failure.reason, 'HTTP 429: Too Many Requests - [no body]');
        assert.ok((failure.retryAfterMs ?? 0) > 1000);
      },
    );
  });

  it('403 with a 2010 body → the reason contains the message and the code (128)', async () => {
    const body =
      '{"Code":2010,"Severity":"Error","Message":"Requestor is Not Authorized to Access Usage for Institution"}';
    await withStub(
      (_req, res) => reply(res, 403, body),
      async (_stub, endpoint) => {
        const failure = assertFailure(await endpoint.fetchReport(Q1));
        assert.equal(failure.reason, `HTTP 403: Forbidden - ${body}`);
        assert.deepEqual(
          failure.exceptions.map((e) => e.code),
          [2010],
        );
      },
    );
  });

  it('404 with a body → exactly `HTTP 404: Not Found - ` + body; empty → [no body] (129)', async () => {
    for (const [body, expected] of [
      ['{"error":"no such report"}', 'HTTP 404: Not Found - {"error":"no such report"}'],
      ['', 'HTTP 404: Not Found - [no body]'],
    ]) {
      await withStub(
        (_req, res) => reply(res, 404, body),
        async (_stub, endpoint) => {
          const failure = assertFailure(await endpoint.fetchReport(Q1));
          assert.equal(failure.reason, expected);
          assert.equal(failure.httpStatus, 404);
          assert.equal(failure.cause, 'http');
        },
      );
    }
  });

  it('500 with HTML → `HTTP 500: Server Error - ` + html (130)', async () => {
    const html = '<html><body><h1>Oops</h1></body></html>';
    await withStub(
      (_req, res) => reply(res, 500, html, { 'content-type': 'text/html' }, 'Server Error'),
      async (_stub, endpoint) => {
        assert.equal(
          assertFailure(await endpoint.fetchReport(Q1)).reason,
          `HTTP 500: Server Error - ${html}`,
        );
      },
    );
  });

  it('a 2500-character body is abbreviated to 1997 characters plus ... (131)', async () => {
    const body = `${'a'.repeat(1990)}${'b'.repeat(510)}`;
    await withStub(
      (_req, res) => reply(res, 502, body, {}, 'Bad Gateway'),
      async (_stub, endpoint) => {
        const failure = assertFailure(await endpoint.fetchReport(Q1));
        assert.equal(failure.reason, `HTTP 502: Bad Gateway - ${body.slice(0, 1997)}...`);
        assert.equal(failure.reason.length, 'HTTP 502: Bad Gateway - '.length + 2000);
      },
    );
  });

  it('a 2xx naked SUSHI error object → exception failure whose reason is the body', async () => {
    const body = '{"Code":1011,"Severity":"Warning","Message":"Report Queued for Processing"}';
    await withStub(
      (_req, res) => reply(res, 202, body, { 'retry-after': '30' }),
      async (_stub, endpoint) => {
        const failure = assertFailure(await endpoint.fetchReport(Q1));
        assert.equal(failure.cause, 'exception');
        assert.equal(failure.reason, body);
        assert.equal(failure.httpStatus, 202);
        assert.equal(failure.retryAfterMs, 30_000);
        assert.deepEqual(
          failure.exceptions.map((e) => e.code),
          [1011],
        );
      },
    );
  });

  it('a JSON array without exceptions is invalid for cs51 (binding error)', async () => {
    await withStub(
      (_req, res) => reply(res, 200, '[{"Report_ID":"TR"}]'),
      async (_stub, endpoint) => {
        const failure = assertFailure(await endpoint.fetchReport(Q1));
        assert.equal(failure.cause, 'invalid');
        assert.match(failure.reason, /^Report not valid: /);
      },
    );
  });

  it("the harvester's own spill storage failing → a local failure, not `Report not valid`", async () => {
    const undo = failFs('mkdtemp', (path) => path.includes('counter-split-'), 'ENOSPC');
    const stub = await startStub((_req, res) => reply(res, 200, trWithin('2022-01-01', '2022-03-31')));
    try {
      // A budget of one byte: the month buckets spill as soon as the first items are read.
      const endpoint = cs51.create(provider('cs51', `${stub.url}/sushi`), undefined, TRANSPORT, {
        splitterBucketBytes: 1,
      });
      const failure = assertFailure(await endpoint.fetchReport(Q1));
      assert.equal(failure.cause, 'local');
      assert.equal(failure.httpStatus, 200);
      assert.match(
        failure.reason,
        /^Local storage error: the harvester's temporary storage failed creating a spill directory in .+: ENOSPC/,
      );
    } finally {
      undo();
      await stub.close();
    }
  });

  it('a connection reset while the body is read (months spilling) → transport failure', async () => {
    const body = trWithin('2022-01-01', '2022-03-31');
    const stub = await startStub((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) });
      res.write(body.slice(0, body.length / 2), () => res.socket?.destroy());
    });
    try {
      const endpoint = cs51.create(provider('cs51', `${stub.url}/sushi`), undefined, TRANSPORT, {
        splitterBucketBytes: 1,
      });
      const failure = assertFailure(await endpoint.fetchReport(Q1));
      assert.equal(failure.cause, 'transport', failure.reason);
      assert.match(failure.reason, /^Connection error: /);
    } finally {
      await stub.close();
    }
  });

  it('gzip-compressed reports are split as well', async () => {
    const { gzipSync } = await import('node:zlib');
    await withStub(
      (_req, res) =>
        reply(res, 200, gzipSync(Buffer.from(trWithin('2022-01-01', '2022-02-28'))), {
          'content-encoding': 'gzip',
        }),
      async (_stub, endpoint) => {
        const months = await assertMonths(await endpoint.fetchReport(Q1));
        assert.deepEqual(
          months.map((m) => m.yearMonth),
          ['2022-01', '2022-02'],
        );
      },
    );
  });
});
