/**
 * Requests and answers of the Nationaler Statistikserver implementation (nss) against real HTTP servers. A number in parentheses at the
 * end of a test name is the item of the checklist in docs/folio-contract.md §9 it checks (here: 132, 134, 135, 136).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { nss } from '../../src/sushi/nss.ts';
import { closeDispatchers } from '../../src/sushi/transport.ts';
import type { FetchItem } from '../../src/sushi/types.ts';
import type { UsageDataProvider } from '../../src/model/records.ts';
import {
  aggregatorSetting,
  assertFailure,
  assertMonths,
  provider,
  queryOf,
  rawQuery,
  reply,
  startStub,
  TRANSPORT,
} from '../helpers/sushi.ts';
import {
  counterReport,
  exceptionXml,
  expectedJournalA,
  JAN_2018,
  journal,
  reportResponse,
} from '../helpers/r4-samples.ts';

after(closeDispatchers);

const ITEM: FetchItem = { reportName: 'JR1', beginDate: '2018-01-01', endDate: '2018-01-31' };
const CONFIG = { apiKey: 'abcKEY', requestorId: 'defREQ', customerId: 'ghi', reportRelease: '4' };

function udp(vendorCode: string | null = 'Nature'): UsageDataProvider {
  const p = provider('cs41', 'https://unused.example.org');
  p.harvestingConfig = {
    ...p.harvestingConfig,
    harvestVia: 'aggregator',
    aggregator: { id: '54e8d70e-0000-4000-8000-000000000001', ...(vendorCode !== null && { vendorCode }) },
  };
  delete p.sushiCredentials;
  return p;
}

const VALID = reportResponse(
  counterReport([journal('Journal A', '1111-1111', [{ ...JAN_2018, html: 2, pdf: 6 }])]),
);
const FAIL = reportResponse(undefined, [
  exceptionXml(1030, 'Error', 'Insufficient Information to process Request', 'Parameter: RequestorID'),
  exceptionXml(1030, 'Error', 'Insufficient Information to process Request', 'Parameter: CustomerID'),
]);

describe('NSS', () => {
  it('builds the URL from the aggregator config and vendorCode; a valid XML answer → the report (132)', async () => {
    const stub = await startStub((_req, res) =>
      reply(res, 200, VALID, { 'content-type': 'application/xml' }),
    );
    try {
      const endpoint = nss.create(
        udp(),
        aggregatorSetting(`${stub.url}/prod/Sushiservice/GetReport`, CONFIG),
        TRANSPORT,
        {},
      );
      const months = await assertMonths(await endpoint.fetchReport(ITEM));
      assert.equal(stub.requests[0].url.split('?')[0], '/prod/Sushiservice/GetReport');
      assert.equal(
        rawQuery(stub.requests[0]),
        'APIKey=abcKEY&RequestorID=defREQ&CustomerID=ghi&Report=JR1&Release=4&BeginDate=2018-01-01&EndDate=2018-01-31&Platform=Nature&Format=xml',
      );
      assert.equal(months.length, 1);
      assert.deepEqual(months[0].report, expectedJournalA());
      assert.equal(endpoint.endpointKey, `${stub.url}/prod/Sushiservice/GetReport`);
    } finally {
      await stub.close();
    }
  });

  it('missing aggregator, config or vendorCode → `Could not create request URL due to missing parameters.` (133, 138)', () => {
    const message = 'Could not create request URL due to missing parameters.';
    assert.throws(() => nss.create(udp(), undefined, TRANSPORT, {}), { name: 'EndpointInitError', message });
    assert.throws(() => nss.create(udp(), aggregatorSetting('https://x.org/', undefined), TRANSPORT, {}), {
      message,
    });
    assert.throws(() => nss.create(udp(null), aggregatorSetting('https://x.org/', CONFIG), TRANSPORT, {}), {
      message,
    });
  });

  it('a missing apiKey is sent as an empty value; ACM Digital arrives with its space (137, 138)', async () => {
    const stub = await startStub((_req, res) => reply(res, 404));
    try {
      const { apiKey: _dropped, ...withoutKey } = CONFIG;
      const endpoint = nss.create(udp('ACM Digital'), aggregatorSetting(stub.url, withoutKey), TRANSPORT, {});
      await endpoint.fetchReport(ITEM);
      const params = Object.fromEntries(queryOf(stub.requests[0]));
      assert.equal(params.APIKey, '');
      assert.equal(params.Platform, 'ACM Digital');
      assert.ok(rawQuery(stub.requests[0]).includes('Platform=ACM%20Digital'));
    } finally {
      await stub.close();
    }
  });

  it('two concurrent requests → each URL requested exactly once (134)', async () => {
    const stub = await startStub((_req, res) => setTimeout(() => reply(res, 404), 30));
    try {
      const endpoint = nss.create(udp(), aggregatorSetting(stub.url, CONFIG), TRANSPORT, {});
      await Promise.all([
        endpoint.fetchReport({ reportName: 'JR1', beginDate: '2018-01-01', endDate: '2018-01-31' }),
        endpoint.fetchReport({ reportName: 'JR1', beginDate: '2018-02-01', endDate: '2018-02-28' }),
      ]);
      const begins = stub.requests.map((r) => Object.fromEntries(queryOf(r)).BeginDate).sort();
      assert.deepEqual(begins, ['2018-01-01', '2018-02-01']);
    } finally {
      await stub.close();
    }
  });

  it('the failure XML → exception failure with 1030, RequestorID and Insufficient, without HelpUrl (135)', async () => {
    const stub = await startStub((_req, res) => reply(res, 200, FAIL));
    try {
      const endpoint = nss.create(udp(), aggregatorSetting(stub.url, CONFIG), TRANSPORT, {});
      const failure = assertFailure(await endpoint.fetchReport(ITEM));
      assert.equal(failure.cause, 'exception');
      for (const part of ['Number=1030', 'RequestorID', 'Insufficient', 'Severity=ERROR'])
        assert.ok(failure.reason.includes(part), failure.reason);
      assert.ok(!failure.reason.includes('HelpUrl'));
      assert.match(
        failure.reason,
        /^Report not valid: Exception\{Number=1030, .*\}, Exception\{Number=1030, .*\}$/,
      );
    } finally {
      await stub.close();
    }
  });

  it('404 → http failure `<url with APIKey=***> - 404 : Not Found`, no key in it (136, 159)', async () => {
    const stub = await startStub((_req, res) => reply(res, 404));
    try {
      const endpoint = nss.create(udp(), aggregatorSetting(stub.url, CONFIG), TRANSPORT, {});
      const failure = assertFailure(await endpoint.fetchReport(ITEM));
      assert.equal(failure.cause, 'http');
      assert.equal(
        failure.reason,
        `${stub.url}?APIKey=***&RequestorID=***&CustomerID=ghi&Report=JR1&Release=4&BeginDate=2018-01-01&EndDate=2018-01-31&Platform=Nature&Format=xml - 404 : Not Found`,
      );
      assert.ok(!failure.reason.includes('abcKEY') && !failure.reason.includes('defREQ'));
    } finally {
      await stub.close();
    }
  });

  it('an unreachable server → transport failure (136)', async () => {
    const stub = await startStub(() => undefined);
    const url = stub.url;
    await stub.close();
    const endpoint = nss.create(udp(), aggregatorSetting(url, CONFIG), TRANSPORT, {});
    const failure = assertFailure(await endpoint.fetchReport(ITEM));
    assert.equal(failure.cause, 'transport');
    assert.match(failure.reason, /^Connection error: ECONNREFUSED/);
  });

  it('the release of the records is the UDP reportRelease, the secrets are the config credentials', () => {
    const endpoint = nss.create(udp(), aggregatorSetting('https://x.org/GetReport', CONFIG), TRANSPORT, {});
    assert.equal(endpoint.release, '4');
    assert.deepEqual(endpoint.secrets, ['abcKEY', 'defREQ']);
  });
});
