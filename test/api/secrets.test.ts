/**
 * Credentials never leave the service: no API key or requestor id of a provider or aggregator in the
 * log output (at debug level), in job messages, in failedReason or in error bodies — also when the
 * provider answers with errors, HTML, or a URL that carries the key.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import type { RunningService } from '../../src/server.ts';
import { startMockCounterServer, type MockCounterServer } from '../../mock/counter-server.ts';
import { call, startOn } from '../helpers/service.ts';
import { waitForJobs } from '../helpers/harvest.ts';

const API_KEY = 'APIKEY-very-secret-4711';
const REQUESTOR = 'REQUESTOR-hidden-0815';
const AGG_KEY = 'AGGKEY-nss-secret-2222';
const AGG_REQ = 'AGGREQ-nss-hidden-3333';

describe('secrets stay out of logs, messages and errors', () => {
  let svc: RunningService;
  let mock: MockCounterServer;
  const lines: string[] = [];

  before(async () => {
    mock = await startMockCounterServer();
    svc = await startOn('pglite', undefined, { logLines: lines, config: { logLevel: 'debug' } });
    const creds = { customerId: 'c1', apiKey: API_KEY, requestorId: REQUESTOR };
    const provider = (label: string, url: string, type = 'cs51', release = '5.1') => ({
      label,
      status: 'active',
      harvestingConfig: {
        harvestingStatus: 'active',
        harvestVia: 'sushi',
        sushiConfig: { serviceType: type, serviceUrl: url },
        reportRelease: release,
        requestedReports: release === '4' ? ['JR1'] : ['TR'],
        harvestingStart: '2022-01',
        harvestingEnd: '2022-02',
      },
      sushiCredentials: creds,
    });
    for (const [label, url] of [
      ['html', `${mock.url}/html-s`],
      ['badcreds', `${mock.url}/badcreds-s`],
      ['status 500', `${mock.url}/r4fault-s/sushi4`],
      ['refused', 'http://127.0.0.1:9/'],
    ] as const) {
      const body = label === 'status 500' ? provider(label, url, 'cs41', '4') : provider(label, url);
      const res = await call(svc, 'POST', '/usage-data-providers', { body });
      assert.equal(res.status, 201, res.text);
    }
    const agg = await call(svc, 'POST', '/aggregator-settings', {
      body: {
        label: 'NSS',
        serviceType: 'NSS',
        serviceUrl: `${mock.url}/nosuchscenario-s/nss`, // answers 400: NSS puts the request URL in the reason
        aggregatorConfig: { apiKey: AGG_KEY, requestorId: AGG_REQ, customerId: 'c9', reportRelease: '4' },
        accountConfig: { configType: 'Manual' },
      },
    });
    assert.equal(agg.status, 201, agg.text);
    const nss = await call(svc, 'POST', '/usage-data-providers', {
      body: {
        label: 'via NSS',
        status: 'active',
        harvestingConfig: {
          harvestingStatus: 'active',
          harvestVia: 'aggregator',
          aggregator: { id: agg.json.id, vendorCode: 'ACM Digital' },
          reportRelease: '4',
          requestedReports: ['JR1'],
          harvestingStart: '2022-01',
          harvestingEnd: '2022-01',
        },
      },
    });
    assert.equal(nss.status, 201, nss.text);
    assert.equal((await call(svc, 'GET', '/erm-usage-harvester/start')).status, 200);
    await waitForJobs(svc, 120_000);
  });
  after(async () => {
    await svc?.close();
    await mock?.close();
  });

  it('the provider really sent its credentials (the test can fail)', () => {
    assert.ok(mock.requests.some((r) => JSON.stringify(r.query).includes(API_KEY)));
    assert.ok(mock.requests.some((r) => JSON.stringify(r.query).includes(AGG_KEY)));
  });

  it('no credential in the log output, at debug level', () => {
    assert.ok(lines.length > 10, 'the service logged');
    const text = lines.join('');
    for (const secret of [API_KEY, REQUESTOR, AGG_KEY, AGG_REQ])
      assert.ok(!text.includes(secret), `${secret} in the logs`);
  });

  it('no credential in failedReason or job messages, but the failures are recorded', async () => {
    const reports = await call(svc, 'GET', '/counter-reports?limit=1000');
    const failed = reports.json.counterReports.filter((r: any) => r.failedReason);
    assert.ok(
      failed.length >= 5,
      JSON.stringify(reports.json.counterReports.map((r: any) => r.failedReason)),
    );
    assert.ok(
      failed.some((r: any) => /APIKey=\*\*\*/.test(r.failedReason)),
      'NSS URL in the reason is redacted',
    );
    const jobs = await call(svc, 'GET', '/erm-usage-harvester/jobs?limit=100');
    const text = JSON.stringify(reports.json) + JSON.stringify(jobs.json);
    for (const secret of [API_KEY, REQUESTOR, AGG_KEY, AGG_REQ])
      assert.ok(!text.includes(secret), `${secret} in records or jobs`);
  });

  it('no credential in error bodies', async () => {
    const bad = await call(svc, 'POST', '/usage-data-providers', {
      body: {
        label: 'x',
        status: 'inactive',
        harvestingConfig: { harvestingStatus: 'active' },
        sushiCredentials: { apiKey: API_KEY },
      },
    });
    assert.equal(bad.status, 422);
    assert.ok(!bad.text.includes(API_KEY));
  });
});
