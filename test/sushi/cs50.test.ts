/**
 * Requests and answers of the COUNTER 5.0 REST implementation (cs50) against real HTTP servers. A number in parentheses at the
 * end of a test name is the item of the checklist in docs/folio-contract.md §9 it checks (here: 104, 105, 106, 107, 109, 110, 112, 113, 114, 115, 116, 117, 119, 164).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cs50 } from '../../src/sushi/cs50.ts';
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

after(closeDispatchers);

const JAN: FetchItem = { reportName: 'TR', beginDate: '2016-01-01', endDate: '2016-01-31' };
const Q1: FetchItem = { reportName: 'TR', beginDate: '2016-01-01', endDate: '2016-03-31' };

const ERROR_2020 =
  '{"Code":"2020","Data":"Invalid api_key: abcd","Message":"api_key Invalid","Severity":"Error"}';

function report(
  filters: { begin: string; end: string },
  items: unknown[] | undefined,
  exceptions?: unknown[],
): Record<string, unknown> {
  return {
    Report_Header: {
      Created: '2021-02-01T10:00:00Z',
      Created_By: 'Test',
      Customer_ID: 'C1',
      Report_ID: 'DR',
      Release: '5',
      Report_Name: 'Database Master Report',
      Institution_Name: 'Test',
      Report_Filters: [
        { Name: 'Begin_Date', Value: filters.begin },
        { Name: 'End_Date', Value: filters.end },
      ],
      ...(exceptions && { Exceptions: exceptions }),
    },
    ...(items && { Report_Items: items }),
  };
}

function drItem(month: string, count: number): Record<string, unknown> {
  return {
    Database: 'DB',
    Publisher: 'P',
    Platform: 'PL',
    Data_Type: 'Database',
    Access_Method: 'Regular',
    Performance: [
      {
        Period: { Begin_Date: `${month}-01`, End_Date: `${month}-28` },
        Instance: [{ Metric_Type: 'Searches_Regular', Count: count }],
      },
    ],
  };
}

async function withStub(
  handler: Handler,
  fn: (stub: Stub, endpoint: ServiceEndpoint) => Promise<void>,
  udp?: (url: string) => UsageDataProvider,
): Promise<void> {
  const stub = await startStub(handler);
  try {
    const endpoint = cs50.create(
      udp ? udp(stub.url) : provider('cs50', `${stub.url}/sushi/`),
      undefined,
      TRANSPORT,
      {},
    );
    await fn(stub, endpoint);
  } finally {
    await stub.close();
  }
}

describe('cs50 requests', () => {
  it('sends customer_id, dates, attributes_to_show and requestor_id in FOLIO order to /reports/tr (103, 119)', async () => {
    await withStub(
      (_req, res) => json(res, 200, report({ begin: '2016-01-01', end: '2016-01-31' }, [])),
      async (stub, endpoint) => {
        const result = await endpoint.fetchReport(JAN);
        await assertMonths(result);
        const rec = stub.requests[0];
        assert.equal(rec.method, 'GET');
        assert.ok(rec.url.startsWith('/sushi/reports/tr?'), rec.url);
        assert.equal(
          rawQuery(rec),
          'customer_id=C1&begin_date=2016-01-01&end_date=2016-01-31&attributes_to_show=Data_Type%7CSection_Type%7CYOP%7CAccess_Type%7CAccess_Method&requestor_id=R1',
        );
        assert.equal(rec.headers.accept, 'application/json');
      },
    );
  });

  it('attributes_to_show per report and include_parent_details only for IR (119)', async () => {
    await withStub(
      (_req, res) => json(res, 200, report({ begin: '2016-01-01', end: '2016-01-31' }, [])),
      async (stub, endpoint) => {
        for (const name of ['IR', 'DR', 'PR', 'TR'])
          await assertMonths(await endpoint.fetchReport({ ...JAN, reportName: name }));
        const byPath = Object.fromEntries(
          stub.requests.map((r) => [r.url.split('?')[0], Object.fromEntries(queryOf(r))]),
        );
        assert.equal(
          byPath['/sushi/reports/ir'].attributes_to_show,
          'Authors|Publication_Date|Article_Version|Data_Type|YOP|Access_Type|Access_Method',
        );
        assert.equal(byPath['/sushi/reports/ir'].include_parent_details, 'True');
        assert.equal(byPath['/sushi/reports/dr'].attributes_to_show, 'Data_Type|Access_Method');
        assert.equal(byPath['/sushi/reports/pr'].attributes_to_show, 'Data_Type|Access_Method');
        for (const path of ['/sushi/reports/dr', '/sushi/reports/pr', '/sushi/reports/tr']) {
          assert.equal(byPath[path].include_parent_details, undefined);
        }
        assert.deepEqual(
          queryOf(stub.requests[0]).map(([k]) => k),
          [
            'customer_id',
            'begin_date',
            'end_date',
            'attributes_to_show',
            'include_parent_details',
            'requestor_id',
          ],
        );
      },
    );
  });

  it('authentication parameters follow the credentials; empty platform is omitted (104)', async () => {
    const cases: Array<[UsageDataProvider['sushiCredentials'], string[]]> = [
      [{ customerId: 'C1', requestorId: 'R1' }, ['requestor_id']],
      [{ customerId: 'C1', apiKey: 'K1' }, ['api_key']],
      [
        { customerId: 'C1', apiKey: 'K1', requestorId: 'R1', platform: 'PF' },
        ['platform', 'api_key', 'requestor_id'],
      ],
      [{ customerId: 'C1', platform: '', apiKey: '', requestorId: '' }, []],
    ];
    for (const [credentials, expected] of cases) {
      await withStub(
        (_req, res) => json(res, 200, report({ begin: '2016-01-01', end: '2016-01-31' }, [])),
        async (stub, endpoint) => {
          await assertMonths(await endpoint.fetchReport(JAN));
          const names = queryOf(stub.requests[0])
            .map(([k]) => k)
            .filter((k) => !['customer_id', 'begin_date', 'end_date', 'attributes_to_show'].includes(k));
          assert.deepEqual(names, expected);
        },
        (url) => provider('cs50', url, credentials),
      );
    }
  });

  it('an unsupported report fails without a request (115) and views are off by default (164)', async () => {
    await withStub(
      (_req, res) => json(res, 200, {}),
      async (stub, endpoint) => {
        for (const name of ['XY_99', 'TR_J1']) {
          const failure = assertFailure(await endpoint.fetchReport({ ...JAN, reportName: name }));
          assert.equal(failure.cause, 'unsupported');
          assert.equal(failure.reason, `Unsupported Report Type: ${name}`);
        }
        assert.equal(stub.requests.length, 0);
        assert.equal(endpoint.supports('TR_J1'), false);
        assert.equal(endpoint.supports('tr'), true);
      },
    );
  });

  it('with standard views, TR_J1 goes to /reports/tr_j1 without attributes_to_show (164)', async () => {
    const stub = await startStub((_req, res) =>
      json(res, 200, report({ begin: '2016-01-01', end: '2016-01-31' }, [])),
    );
    try {
      const endpoint = cs50.create(
        provider('cs50', stub.url, { customerId: 'C1', apiKey: 'K1' }),
        undefined,
        TRANSPORT,
        { enableStandardViews: true },
      );
      await assertMonths(await endpoint.fetchReport({ ...JAN, reportName: 'TR_J1' }));
      assert.equal(
        stub.requests[0].url,
        '/reports/tr_j1?customer_id=C1&begin_date=2016-01-01&end_date=2016-01-31&api_key=K1',
      );
      assert.equal(endpoint.supports('tr_j1'), true);
    } finally {
      await stub.close();
    }
  });

  it('construction: invalid URL and missing credentials', () => {
    assert.throws(() => cs50.create(provider('cs50', 'localhost'), undefined, TRANSPORT, {}), {
      name: 'EndpointInitError',
      message: 'Invalid Service URL: localhost',
    });
    const noCredentials = provider('cs50', 'https://x.org/');
    delete noCredentials.sushiCredentials;
    assert.throws(() => cs50.create(noCredentials, undefined, TRANSPORT, {}), { name: 'EndpointInitError' });
  });

  it('normalises the base URL: trailing slashes and /reports are removed', () => {
    for (const url of [
      'https://x.org/r5/',
      'https://x.org/r5/reports',
      'https://x.org/r5/reports/',
      'https://x.org/r5//',
    ]) {
      const endpoint = cs50.create(provider('cs50', url), undefined, TRANSPORT, {});
      assert.equal(endpoint.endpointKey, 'https://x.org/r5');
      assert.equal(endpoint.release, '5');
    }
  });
});

describe('cs50 responses', () => {
  it('the sample TR with 200 and with 202 → its three months, item usage preserved (109)', async () => {
    const sample = fixture('r50/Sample-TR.json');
    for (const status of [200, 202]) {
      await withStub(
        (_req, res) => reply(res, status, sample, { 'content-type': 'application/json' }),
        async (_stub, endpoint) => {
          const result = await endpoint.fetchReport(Q1);
          assert.equal(result.kind, 'data');
          if (result.kind === 'data') assert.equal(result.httpStatus, status);
          const months = await assertMonths(result);
          assert.deepEqual(
            months.map((m) => m.yearMonth),
            ['2016-01', '2016-02', '2016-03'],
          );
          const input = JSON.parse(sample) as { Report_Items: Array<{ Performance: unknown[] }> };
          const total = (
            items: Array<{ Performance: Array<{ Instance: Array<{ Count: number }> }> }>,
          ): number =>
            items
              .flatMap((i) => i.Performance)
              .flatMap((p) => p.Instance)
              .reduce((s, i) => s + i.Count, 0);
          const stored = months.flatMap(
            (m) =>
              (
                m.report as {
                  Report_Items: Array<{ Performance: Array<{ Instance: Array<{ Count: number }> }> }>;
                }
              ).Report_Items,
          );
          assert.equal(total(stored), total(input.Report_Items as never));
          const header = (months[1].report as { Report_Header: { Report_Filters: unknown } }).Report_Header;
          assert.deepEqual(header.Report_Filters, [
            { Name: 'Begin_Date', Value: '2016-02-01' },
            { Name: 'End_Date', Value: '2016-02-29' },
          ]);
        },
      );
    }
  });

  it('a DR for January whose header spans 2021-01..03 → 3 months (117)', async () => {
    await withStub(
      (_req, res) =>
        json(
          res,
          200,
          report({ begin: '2021-01-01', end: '2021-03-31' }, [drItem('2021-01', 3), drItem('2021-03', 4)]),
        ),
      async (_stub, endpoint) => {
        const months = await assertMonths(
          await endpoint.fetchReport({ reportName: 'DR', beginDate: '2021-01-01', endDate: '2021-01-31' }),
        );
        assert.deepEqual(
          months.map((m) => m.yearMonth),
          ['2021-01', '2021-02', '2021-03'],
        );
        assert.deepEqual((months[1].report as { Report_Items: unknown[] }).Report_Items, []);
      },
    );
  });

  it('missing or empty Report_Items → data with one month containing Report_Items (107)', async () => {
    for (const items of [undefined, []]) {
      await withStub(
        (_req, res) => json(res, 200, report({ begin: '2016-01-01', end: '2016-01-31' }, items)),
        async (_stub, endpoint) => {
          const result = await endpoint.fetchReport(JAN);
          if (result.kind === 'data') assert.equal(result.data.itemCount, 0);
          const months = await assertMonths(result);
          assert.equal(months.length, 1);
          assert.deepEqual((months[0].report as { Report_Items: unknown[] }).Report_Items, []);
        },
      );
    }
  });

  it('a missing Report_Header → invalid (105); null → `Report not valid: null` (116)', async () => {
    for (const [body, reason] of [
      ['{"Report_Items":[]}', 'Report not valid: Report is missing Report_Header'],
      ['null', 'Report not valid: null'],
    ]) {
      await withStub(
        (_req, res) => json(res, 200, body),
        async (_stub, endpoint) => {
          const failure = assertFailure(await endpoint.fetchReport(JAN));
          assert.equal(failure.cause, 'invalid');
          assert.equal(failure.reason, reason);
          assert.equal(failure.httpStatus, 200);
        },
      );
    }
  });

  it('header exceptions without items → exception failure with the compact JSON (108, 106)', async () => {
    const cases: Array<[unknown[], number]> = [
      [[{ Code: 1030, Severity: 'Fatal', Message: 'Invalid Customer Id' }], 1030],
      [[{ Code: 1020, Severity: 'Error', Message: 'Client has made too many requests' }], 1020],
      [[{ Code: 1011, Severity: 'Warning', Message: 'Report Queued for Processing' }], 1011],
    ];
    for (const [exceptions, code] of cases) {
      await withStub(
        (_req, res) => json(res, 200, report({ begin: '2016-01-01', end: '2016-01-31' }, [], exceptions)),
        async (_stub, endpoint) => {
          const failure = assertFailure(await endpoint.fetchReport(JAN));
          assert.equal(failure.cause, 'exception');
          assert.equal(failure.reason, `Report not valid: ${JSON.stringify(exceptions)}`);
          assert.deepEqual(
            failure.exceptions.map((e) => e.code),
            [code],
          );
        },
      );
    }
  });

  it('a report with items and exceptions (3040) → data that carries the exceptions', async () => {
    const exceptions = [{ Code: 3040, Severity: 'Warning', Message: 'Partial Data Returned' }];
    await withStub(
      (_req, res) =>
        json(
          res,
          200,
          report({ begin: '2021-01-01', end: '2021-01-31' }, [drItem('2021-01', 5)], exceptions),
        ),
      async (_stub, endpoint) => {
        const result = await endpoint.fetchReport({
          reportName: 'DR',
          beginDate: '2021-01-01',
          endDate: '2021-01-31',
        });
        assert.equal(result.kind, 'data');
        if (result.kind !== 'data') return;
        assert.deepEqual(
          result.data.exceptions.map((e) => e.code),
          [3040],
        );
        const months = await assertMonths(result);
        assert.deepEqual(
          (months[0].report as { Report_Header: { Exceptions: unknown } }).Report_Header.Exceptions,
          exceptions,
        );
      },
    );
  });

  it('HTTP 429 → http failure with status, Retry-After and body (106)', async () => {
    await withStub(
      (_req, res) =>
        reply(res, 429, '{"Code":1020,"Severity":"Error","Message":"Too many requests"}', {
          'retry-after': '7',
        }),
      async (_stub, endpoint) => {
        const failure = assertFailure(await endpoint.fetchReport(JAN));
        assert.equal(failure.cause, 'http');
        assert.equal(failure.httpStatus, 429);
        assert.equal(failure.retryAfterMs, 7000);
        assert.equal(
          failure.reason,
          'HTTP 429: Too Many Requests - {"Code":1020,"Severity":"Error","Message":"Too many requests"}',
        );
        assert.deepEqual(
          failure.exceptions.map((e) => e.code),
          [1020],
        );
      },
    );
  });

  it('400 with a report body → `HTTP 400: Bad Request - ` + body (110)', async () => {
    const body = JSON.stringify(
      report(
        { begin: '2016-01-01', end: '2016-01-31' },
        [],
        [{ Code: 3020, Message: 'Invalid Date Arguments' }],
      ),
    );
    await withStub(
      (_req, res) => reply(res, 400, body),
      async (_stub, endpoint) => {
        const failure = assertFailure(await endpoint.fetchReport(JAN));
        assert.equal(failure.reason, `HTTP 400: Bad Request - ${body}`);
        assert.deepEqual(
          failure.exceptions.map((e) => e.code),
          [3020],
        );
      },
    );
  });

  it('a SUSHI error object: 400 → HTTP text; 200/202 → the body plus ` {"Code": 2020}` (112)', async () => {
    await withStub(
      (_req, res) => reply(res, 400, ERROR_2020),
      async (_stub, endpoint) => {
        const failure = assertFailure(await endpoint.fetchReport(JAN));
        assert.equal(failure.reason, `HTTP 400: Bad Request - ${ERROR_2020}`);
      },
    );
    for (const status of [200, 202]) {
      await withStub(
        (_req, res) => reply(res, status, ERROR_2020),
        async (_stub, endpoint) => {
          const failure = assertFailure(await endpoint.fetchReport(JAN));
          assert.equal(failure.cause, 'exception');
          assert.equal(failure.reason, `${ERROR_2020} {"Code": 2020}`);
          assert.deepEqual(
            failure.exceptions.map((e) => e.code),
            [2020],
          );
        },
      );
    }
  });

  it('error arrays: 200/202 → the body; 400 → HTTP text; an available-reports array → the body (113)', async () => {
    const errors =
      '[{"Code":1030,"Severity":"Fatal","Message":"Insufficient Information to Process Request"}]';
    const available =
      '[{"Report_Name":"Title Master Report","Report_ID":"TR","Release":"5","Report_Description":"x"}]';
    for (const [status, body, expected] of [
      [200, errors, errors],
      [202, errors, errors],
      [400, errors, `HTTP 400: Bad Request - ${errors}`],
      [200, available, available],
    ] as const) {
      await withStub(
        (_req, res) => reply(res, status, body),
        async (_stub, endpoint) => {
          const failure = assertFailure(await endpoint.fetchReport(JAN));
          assert.equal(failure.reason, expected);
          assert.equal(failure.cause, status === 400 ? 'http' : 'exception');
        },
      );
    }
  });

  it('404 → Not Found; no server → connection error; random bytes → invalid (114)', async () => {
    await withStub(
      (_req, res) => reply(res, 404),
      async (_stub, endpoint) => {
        const failure = assertFailure(await endpoint.fetchReport(JAN));
        assert.equal(failure.reason, 'HTTP 404: Not Found - [no body]');
      },
    );
    const stub = await startStub(() => undefined);
    const url = stub.url;
    await stub.close();
    const gone = cs50.create(provider('cs50', url), undefined, TRANSPORT, {});
    const refused = assertFailure(await gone.fetchReport(JAN));
    assert.equal(refused.cause, 'transport');
    assert.match(refused.reason, /^Connection error: ECONNREFUSED connect ECONNREFUSED 127\.0\.0\.1:\d+$/);
    await withStub(
      (_req, res) => reply(res, 200, Buffer.from([0x00, 0xff, 0x13, 0x37, 0x80, 0x7b])),
      async (_stub, endpoint) => {
        const failure = assertFailure(await endpoint.fetchReport(JAN));
        assert.equal(failure.cause, 'invalid');
        assert.match(failure.reason, /^Report not valid: /);
      },
    );
  });

  it('invalid JSON after a good start → invalid with the parser message', async () => {
    await withStub(
      (_req, res) => reply(res, 200, '{"Report_Header": {"Report_ID": "TR", oops'),
      async (_stub, endpoint) => {
        const failure = assertFailure(await endpoint.fetchReport(JAN));
        assert.equal(failure.cause, 'invalid');
        assert.match(failure.reason, /^Report not valid: .+/);
      },
    );
  });

  it('a response larger than maxResponseBytes → too-large', async () => {
    const sample = fixture('r50/Sample-TR.json');
    const stub = await startStub((_req, res) => reply(res, 200, sample));
    try {
      const endpoint = cs50.create(
        provider('cs50', stub.url),
        undefined,
        { ...TRANSPORT, maxResponseBytes: 1000 },
        {},
      );
      const failure = assertFailure(await endpoint.fetchReport(Q1));
      assert.equal(failure.cause, 'too-large');
      assert.equal(failure.reason, 'Report not valid: response exceeds 1000 bytes');
    } finally {
      await stub.close();
    }
  });

  it('a body that stalls mid-report → transport failure, not invalid', async () => {
    const stub = await startStub((_req, res) => {
      res.writeHead(200);
      res.write('{"Report_Header":{"Report_ID":"TR"},"Report_Items":[');
    });
    try {
      const endpoint = cs50.create(
        provider('cs50', stub.url),
        undefined,
        { ...TRANSPORT, idleTimeoutMs: 150 },
        {},
      );
      const failure = assertFailure(await endpoint.fetchReport(JAN));
      assert.equal(failure.cause, 'transport');
      assert.equal(failure.reason, 'Connection error: UND_ERR_BODY_TIMEOUT no data received for 150 ms');
    } finally {
      await stub.close();
    }
  });

  it('no reason contains the api key or requestor id, even when the server echoes them', async () => {
    const creds = { customerId: 'C1', apiKey: 'secret-key-123', requestorId: 'req-id-456' };
    await withStub(
      (req, res) => reply(res, 500, `upstream said: ${req.url} key secret-key-123`),
      async (_stub, endpoint) => {
        const failure = assertFailure(await endpoint.fetchReport(JAN));
        assert.ok(!failure.reason.includes('secret-key-123'), failure.reason);
        assert.ok(!failure.reason.includes('req-id-456'), failure.reason);
        assert.match(failure.reason, /api_key=\*\*\*/);
        assert.deepEqual(endpoint.secrets.sort(), ['req-id-456', 'secret-key-123']);
      },
      (url) => provider('cs50', url, creds),
    );
  });
});
