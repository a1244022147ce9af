/**
 * Two processes on one PostgreSQL database harvest 20 providers from one endpoint with at most one request
 * in flight to it at any moment (the mock records overlap): every month stored exactly once, both processes
 * made requests, every provider job finished with success.
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startPgServer, type PgServer } from '../helpers/pg-server.ts';
import {
  killAllChildren,
  monthsBetween,
  providerRecord,
  request,
  startChild,
  until,
  type ChildService,
} from '../helpers/child-service.ts';
import { startMockCounterServer, type MockCounterServer } from '../../mock/counter-server.ts';

const PROVIDERS = 20;
const START = '2022-01';
const END = '2022-03';
const REPORTS = ['TR', 'PR'];

describe('two service processes on one PostgreSQL database', () => {
  let pg: PgServer;
  let mock: MockCounterServer;
  let a: ChildService;
  let b: ChildService;
  const ids: string[] = [];

  before(async () => {
    pg = await startPgServer();
    mock = await startMockCounterServer({ latencyMs: 30 });
    const url = await pg.createDatabase();
    const env = { DATABASE_URL: url, STALE_HEARTBEAT_MS: '5000' };
    // One after the other: the first creates the default tenant, the second finds it.
    a = await startChild('A', { ...env, HARVESTER_INSTANCE_ID: 'proc-a' });
    b = await startChild('B', { ...env, HARVESTER_INSTANCE_ID: 'proc-b' });
  });
  after(async () => {
    await killAllChildren();
    await mock?.close();
    await pg?.stop();
  });

  it('harvests every month once, one request in flight to the shared endpoint, work shared', async () => {
    for (let i = 0; i < PROVIDERS; i++) {
      const id = randomUUID();
      ids.push(id);
      // Providers are created through both processes: they share the database.
      const res = await request(
        i % 2 ? a.url : b.url,
        'POST',
        '/usage-data-providers',
        providerRecord(id, {
          label: `shared ${i}`,
          serviceUrl: `${mock.url}/ok-shared`,
          reports: REPORTS,
          start: START,
          end: END,
        }),
      );
      assert.equal(res.status, 201, res.text);
    }
    const start = await request(a.url, 'GET', '/erm-usage-harvester/start');
    assert.equal(start.status, 200, start.text);

    const jobs = await until(
      async () => {
        const res = await request(b.url, 'GET', '/erm-usage-harvester/jobs?limit=1000');
        const infos = (res.json?.jobInfos ?? []) as Record<string, any>[];
        const providerJobs = infos.filter((j) => j.type === 'provider');
        return providerJobs.length === PROVIDERS && infos.every((j) => j.finishedAt) ? infos : undefined;
      },
      120_000,
      async () =>
        `jobs not finished: ${(await request(b.url, 'GET', '/erm-usage-harvester/jobs?limit=1000')).text}`,
      200,
    );

    // Every provider job ended with success.
    const providerJobs = jobs.filter((j) => j.type === 'provider');
    assert.deepEqual(providerJobs.map((j) => j.providerId).sort(), [...ids].sort());
    for (const j of providerJobs) assert.equal(j.result, 'success', JSON.stringify(j));
    const tenantJobs = jobs.filter((j) => j.type === 'tenant');
    assert.equal(tenantJobs.length, 1);
    assert.equal(tenantJobs[0].result, 'success');

    // Every (provider, report, month) exactly once, successful.
    const reports = await request(a.url, 'GET', '/counter-reports?limit=10000&tiny=true');
    assert.equal(reports.status, 200, reports.text);
    const records = reports.json.counterReports as Record<string, any>[];
    const keys = records.map((r) => `${r.providerId}|${r.release}|${r.reportName}|${r.yearMonth}`);
    const expected = ids.flatMap((id) =>
      REPORTS.flatMap((rep) => monthsBetween(START, END).map((m) => `${id}|5.1|${rep}|${m}`)),
    );
    assert.equal(new Set(keys).size, keys.length, 'no month stored twice');
    assert.deepEqual([...keys].sort(), expected.sort());
    for (const r of records) assert.equal(r.failedAttempts, undefined, JSON.stringify(r));

    // Politeness over both processes: never two requests at once to the one endpoint.
    const reportRequests = mock.requestsFor('ok-shared').filter((r) => r.reportId);
    // TR is asked month by month, PR as one range per provider.
    assert.equal(reportRequests.length, PROVIDERS * (monthsBetween(START, END).length + 1));
    assert.equal(mock.maxInFlight('ok-shared'), 1);

    // Both processes made requests (each logs a 'response' record per request it made).
    const made = (svc: ChildService) => svc.logRecords().filter((r) => r.event === 'response').length;
    const byA = made(a);
    const byB = made(b);
    assert.equal(byA + byB, reportRequests.length, `A ${byA} + B ${byB}`);
    assert.ok(byA > 0, `process A made no request (B made ${byB})`);
    assert.ok(byB > 0, `process B made no request (A made ${byA})`);
  });
});
