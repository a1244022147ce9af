/**
 * What the provider offers (README "How a harvest treats what providers answer", "Check a provider"):
 * before a run's first request, the provider's /reports decides which configured reports are requested (the others
 * are noted on the job, never requested); without a list the run is planned as before. The provider
 * check (API, typed client, CLI) answers reachable, credentials accepted, reports offered and release
 * detected, with messages that never contain the credentials. All through the mock COUNTER server.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { HarvesterClient } from '../../src/client/index.ts';
import type { RunningService } from '../../src/server.ts';
import { startMockCounterServer, type MockCounterServer } from '../../mock/counter-server.ts';
import { call, startOn } from '../helpers/service.ts';
import { addProvider, reportsOf, waitForJobs } from '../helpers/harvest.ts';
import { runCli } from '../helpers/run-cli.ts';

const SECRETS = ['req-secret-77', 'key-secret-99'];

function assertNoSecrets(text: string): void {
  for (const s of SECRETS) assert.ok(!text.includes(s), `secret in ${text}`);
}

describe('what the provider offers', () => {
  let svc: RunningService;
  let mock: MockCounterServer;
  let client: HarvesterClient;
  const ids: Record<string, string> = {};
  const spec = (key: string, reports: string[], release = '5.1') => ({
    label: key,
    serviceUrl: `${mock.url}/${key}`,
    release,
    reports,
    start: '2022-01',
    end: '2022-02',
  });

  before(async () => {
    mock = await startMockCounterServer();
    svc = await startOn('pglite', undefined);
    client = new HarvesterClient({ baseUrl: svc.url, tenant: 'diku' });
    ids.offers = await addProvider(svc, spec('offers:PR:dr-a', ['TR', 'PR', 'DR']));
    ids.nolist = await addProvider(svc, spec('nolist-a', ['TR', 'PR']));
    ids.ok = await addProvider(svc, spec('ok-a', ['TR', 'PR']));
    ids.ok50 = await addProvider(svc, { ...spec('ok-b', ['TR']), release: '5', serviceType: 'cs50' });
    ids.badcreds = await addProvider(svc, spec('badcreds-a', ['TR']));
    ids.gone = await addProvider(svc, { ...spec('x', ['TR']), serviceUrl: 'http://127.0.0.1:1/gone' });
    ids.r4 = await addProvider(svc, { ...spec('ok-c', ['JR1']), release: '4' });
  });
  after(async () => {
    await svc?.close();
    await mock?.close();
  });

  it('reports the provider does not list are not requested, and the job notes them', async () => {
    await svc.jobs.startProviderJob('diku', ids.offers);
    await svc.jobs.startProviderJob('diku', ids.nolist);
    const jobs = await waitForJobs(svc, 90_000);
    const reports = mock.requestsFor('offers:PR:dr-a').filter((r) => r.reportId);
    assert.deepEqual([...new Set(reports.map((r) => r.reportId))].sort(), ['dr', 'pr'], 'no TR request');
    const stored = await reportsOf(svc, ids.offers);
    assert.deepEqual(
      stored.map((r) => [r.reportName, r.yearMonth, r.failedAttempts]),
      [
        ['DR', '2022-01', undefined],
        ['DR', '2022-02', undefined],
        ['PR', '2022-01', undefined],
        ['PR', '2022-02', undefined],
      ],
      'nothing stored for TR, no 3000 month',
    );
    const job = jobs.find((j) => j.providerId === ids.offers)!;
    assert.equal(job.result, 'success');
    const listed = await client.getJobs({ providerId: ids.offers });
    assert.deepEqual(listed.jobInfos[0].notes, [
      'Not requested, the provider does not offer them (its /reports list): TR',
    ]);
    assert.ok(mock.requestsFor('offers:PR:dr-a').some((r) => r.path === '/r51/reports'));
    assert.equal(mock.maxInFlight('offers:PR:dr-a'), 1, 'the list is one of the endpoint requests');
  });

  it('without a report list (404) the run is planned as before', async () => {
    const stored = await reportsOf(svc, ids.nolist);
    assert.equal(
      stored.filter((r) => r.failedAttempts === undefined).length,
      4,
      'TR and PR, two months each',
    );
    const listed = await client.getJobs({ providerId: ids.nolist });
    assert.equal(listed.jobInfos[0].notes, undefined);
  });

  it('check: a working provider is reachable, accepts the credentials, lists its reports and release', async () => {
    const check = await client.checkProvider(ids.ok);
    assert.equal(check.checked, true);
    assert.equal(check.reachable, true);
    assert.equal(check.credentialsAccepted, true);
    assert.equal(check.serviceActive, true);
    assert.equal(check.releaseDetected, '5.1');
    assert.ok(check.reportsOffered!.includes('TR') && check.reportsOffered!.includes('PR_P1'));
    assert.deepEqual(check.reportsNotOffered, []);
    const check50 = await client.checkProvider(ids.ok50);
    assert.equal(check50.releaseDetected, '5');
    assertNoSecrets(JSON.stringify([check, check50]));
  });

  it('check: configured reports the provider does not offer are named', async () => {
    const check = await client.checkProvider(ids.offers);
    assert.deepEqual(check.reportsOffered, ['PR', 'DR'], 'in the order of the list');
    assert.deepEqual(check.reportsNotOffered, ['TR']);
    assert.ok(check.messages.some((m) => m.includes('TR')));
  });

  it('check: rejected credentials, an unreachable provider, COUNTER 4, no report list', async () => {
    const bad = await client.checkProvider(ids.badcreds);
    assert.equal(bad.reachable, true);
    assert.equal(bad.credentialsAccepted, false);
    assert.ok(
      bad.messages.some((m) => /credentials rejected: HTTP 401.*2010/.test(m)),
      bad.messages.join(),
    );
    const gone = await client.checkProvider(ids.gone);
    assert.equal(gone.reachable, false);
    assert.equal(gone.credentialsAccepted, undefined);
    assert.match(gone.messages[0], /not reachable/);
    const r4 = await client.checkProvider(ids.r4);
    assert.equal(r4.checked, false);
    const nolist = await client.checkProvider(ids.nolist);
    assert.equal(nolist.reachable, true);
    assert.equal(nolist.reportsOffered, undefined);
    assert.equal(nolist.credentialsAccepted, undefined);
    assertNoSecrets(JSON.stringify([bad, gone, r4, nolist]));
    // The mock's requests carried the credentials: the messages above did not repeat them.
    assert.ok(mock.requestsFor('badcreds-a').some((r) => r.query.api_key === SECRETS[1]));
  });

  it('check: an unknown provider is a 404 with a message; the tenant header is required', async () => {
    const res = await call(
      svc,
      'GET',
      '/erm-usage-harvester/providers/4a1b7bb0-0000-4000-8000-000000000000/check',
    );
    assert.equal(res.status, 404);
    assert.match(res.text, /not found/);
    const noTenant = await call(svc, 'GET', `/erm-usage-harvester/providers/${ids.ok}/check`, {
      tenant: null,
    });
    assert.equal(noTenant.status, 400);
  });

  it('CLI: providers check <id> prints the check; exits 1 when the credentials are rejected', async () => {
    const env = { HARVESTER_URL: svc.url, HARVESTER_TENANT: 'diku' };
    const ok = await runCli(['providers', 'check', ids.offers], { env });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /reachable: +yes/);
    assert.match(ok.stdout, /reports offered: +PR, DR/);
    assert.match(ok.stdout, /not offered: +TR/);
    const bad = await runCli(['providers', 'check', ids.badcreds, '--json'], { env });
    assert.equal(bad.code, 1);
    assert.equal(JSON.parse(bad.stdout).credentialsAccepted, false);
    assertNoSecrets(ok.stdout + bad.stdout + bad.stderr);
  });
});
