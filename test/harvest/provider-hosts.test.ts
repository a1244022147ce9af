/**
 * Provider addresses end to end: records with non-http(s) service URLs are refused when written; a
 * harvest of a provider pointing at the cloud metadata address (or a host the operator denied) stops
 * with a clear configuration error in the job and in each month's failedReason, without a request.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import type { RunningService } from '../../src/server.ts';
import { HostPolicy } from '../../src/sushi/host-policy.ts';
import { startMockCounterServer, type MockCounterServer } from '../../mock/counter-server.ts';
import { call, startOn, testHarvest } from '../helpers/service.ts';
import { waitForJobs } from '../helpers/harvest.ts';

const SEE = 'see HARVESTER_PROVIDER_HOSTS_DENY and HARVESTER_PROVIDER_HOSTS_ALLOW';

function provider(label: string, serviceUrl: string): Record<string, unknown> {
  return {
    label,
    status: 'active',
    harvestingConfig: {
      harvestingStatus: 'active',
      harvestVia: 'sushi',
      sushiConfig: { serviceType: 'cs51', serviceUrl },
      reportRelease: '5.1',
      requestedReports: ['TR'],
      harvestingStart: '2022-01',
      harvestingEnd: '2022-02',
    },
    sushiCredentials: { customerId: 'c1', apiKey: 'key-1234' },
  };
}

describe('provider addresses', () => {
  let svc: RunningService;
  let mock: MockCounterServer;
  const ids = new Map<string, string>();

  before(async () => {
    mock = await startMockCounterServer();
    // The operator denies the name `localhost`; loopback addresses stay allowed (the mock is on 127.0.0.1).
    svc = await startOn('pglite', undefined, {
      config: { harvest: testHarvest({ providerHosts: new HostPolicy('localhost') }) },
    });
    const port = new URL(mock.url).port;
    for (const [label, url] of [
      ['metadata', 'http://169.254.169.254/latest/r51'],
      ['denied name', `http://localhost:${port}/ok-denied`],
      ['allowed', `${mock.url}/ok-allowed`],
    ]) {
      const res = await call(svc, 'POST', '/usage-data-providers', { body: provider(label, url) });
      assert.equal(res.status, 201, res.text);
      ids.set(label, res.json.id as string);
    }
    assert.equal((await call(svc, 'GET', '/erm-usage-harvester/start')).status, 200);
    await waitForJobs(svc, 120_000);
  });
  after(async () => {
    await svc?.close();
    await mock?.close();
  });

  async function outcome(label: string) {
    const id = ids.get(label);
    const jobs = (await call(svc, 'GET', '/erm-usage-harvester/jobs?limit=100')).json.jobInfos as {
      providerId: string;
      result?: string;
      errorMessage?: string;
    }[];
    const reports = (await call(svc, 'GET', `/counter-reports?query=providerId=="${id}"&limit=100`)).json
      .counterReports as { yearMonth: string; failedReason?: string }[];
    return { job: jobs.find((j) => j.providerId === id), reports };
  }

  it('the metadata address: a configuration error in the job and each month, no connection attempt', async () => {
    const reason = `provider address 169.254.169.254 is not allowed (metadata, link-local); ${SEE}`;
    const { job, reports } = await outcome('metadata');
    assert.equal(job?.result, 'failure');
    assert.equal(job?.errorMessage, `ConfigurationError: ${reason}`);
    assert.deepEqual(reports.map((r) => [r.yearMonth, r.failedReason]).sort(), [
      ['2022-01', reason],
      ['2022-02', reason],
    ]);
  });

  it('a host name the operator denied: refused, and the provider never got a request', async () => {
    const reason = `provider host localhost is not allowed (localhost); ${SEE}`;
    const { job, reports } = await outcome('denied name');
    assert.equal(job?.errorMessage, `ConfigurationError: ${reason}`);
    assert.ok(reports.length === 2 && reports.every((r) => r.failedReason === reason));
    assert.equal(mock.requestsFor('ok-denied').length, 0);
  });

  it('an allowed address is harvested as usual', async () => {
    const { job, reports } = await outcome('allowed');
    assert.equal(job?.result, 'success', job?.errorMessage);
    assert.equal(reports.length, 2);
    assert.ok(reports.every((r) => r.failedReason === undefined));
    assert.ok(mock.requestsFor('ok-allowed').length > 0);
  });

  it('records whose service URL is not http(s) are refused with a 422 naming the field', async () => {
    for (const url of ['javascript:alert(1)', 'file:///etc/passwd', 'data:text/plain,x', 'gopher://x/']) {
      const res = await call(svc, 'POST', '/usage-data-providers', { body: provider('bad', url) });
      assert.equal(res.status, 422, `${url}: ${res.text}`);
      assert.deepEqual(res.json.errors[0].parameters, [
        { key: 'harvestingConfig.sushiConfig.serviceUrl', value: url },
      ]);
      assert.match(res.json.errors[0].message, /serviceUrl must be an http or https URL/);
    }
    const aggregator = (serviceUrl: string) =>
      call(svc, 'POST', '/aggregator-settings', {
        body: { label: 'NSS', serviceType: 'NSS', serviceUrl, accountConfig: { configType: 'Manual' } },
      });
    const agg = await aggregator('file:///etc/shadow');
    assert.equal(agg.status, 422, agg.text);
    assert.equal(agg.json.errors[0].parameters[0].key, 'serviceUrl');
    const ok = await aggregator('https://nss.example.org/GetReport');
    assert.equal(ok.status, 201, ok.text);
  });
});
