/**
 * The adaptive pace is shared across processes: two services on one PostgreSQL database harvest providers
 * on the same rate-limiting endpoints (every other request 429; a token bucket). Whichever process sends
 * the next request to an endpoint, it comes no sooner than the Retry-After of the answer before it; every
 * month is harvested, none failed; one pace row per endpoint counts the rate limits both processes saw.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import type { RunningService } from '../../src/server.ts';
import { getPace } from '../../src/store/sql/endpoint-pace.ts';
import { endpointKeyOf } from '../../src/sushi/url.ts';
import { startMockCounterServer, type MockCounterServer } from '../../mock/counter-server.ts';
import { startPgServer, type PgServer } from '../helpers/pg-server.ts';
import { startOn, testHarvest } from '../helpers/service.ts';
import { addProvider, reportsOf, waitForJobs } from '../helpers/harvest.ts';

const ENDPOINTS = ['alternate:1-shared', 'bucket:2:3-shared'];

describe('adaptive pace across two processes (PostgreSQL)', () => {
  let pg: PgServer;
  let mock: MockCounterServer;
  const services: RunningService[] = [];
  const logs: string[][] = [[], []];
  const providers: { id: string; key: string }[] = [];

  before(async () => {
    pg = await startPgServer();
    mock = await startMockCounterServer();
    const databaseUrl = await pg.createDatabase();
    const harvest = testHarvest({
      singleMonthReports: ['PR'],
      paceStepMs: 200,
      paceMaxMs: 2000,
      maxRetryAfterMs: 60_000,
    });
    for (const i of [0, 1])
      services.push(
        await startOn('postgres', pg, {
          databaseUrl,
          logLines: logs[i],
          config: { harvest, instanceId: `pace-${i}` },
        }),
      );
    for (const key of ENDPOINTS)
      for (const n of [1, 2]) {
        const id = await addProvider(services[0], {
          label: `${key} ${n}`,
          serviceUrl: `${mock.url}/${key}`,
          release: '5.1',
          reports: ['PR'],
          start: '2022-01',
          end: '2022-03',
        });
        providers.push({ id, key });
      }
    // Each process plans half of the jobs; the items are claimed by whichever process is free.
    for (const [i, p] of providers.entries()) await services[i % 2].jobs.startProviderJob('diku', p.id);
    await waitForJobs(services[0], 120_000);
  });
  after(async () => {
    for (const svc of services) await svc.close();
    await mock?.close();
    await pg?.stop();
  });

  it('every month harvested, none failed, by both processes', async () => {
    for (const p of providers) {
      const records = await reportsOf(services[1], p.id);
      assert.equal(records.length, 3, p.key);
      for (const r of records) assert.equal(r.failedAttempts, undefined, `${p.key}: ${r.failedReason}`);
    }
    const responded = logs.map((lines) => lines.filter((l) => l.includes('"event":"response"')).length);
    assert.ok(responded[0] > 0 && responded[1] > 0, `both processes made requests: ${responded}`);
  });

  it('no request to an endpoint sooner than the Retry-After before it, whichever process sent it', () => {
    for (const key of ENDPOINTS) {
      const requests = mock
        .requestsFor(key)
        .filter((r) => r.reportId)
        .sort((a, b) => a.startedAt - b.startedAt);
      assert.ok(
        requests.some((r) => r.notBefore !== undefined),
        `${key} was rate limited`,
      );
      requests.forEach((r, i) => {
        if (r.notBefore === undefined) return;
        for (const later of requests.slice(i + 1))
          assert.ok(later.startedAt >= r.notBefore - 5, `${key}: ${r.notBefore - later.startedAt} ms early`);
      });
    }
  });

  it('one shared pace row per endpoint counts the rate limits of both processes', async () => {
    for (const key of ENDPOINTS) {
      const limited = mock.requestsFor(key).filter((r) => r.status === 429).length;
      const pace = await getPace(services[0].ctx.db, endpointKeyOf(`${mock.url}/${key}/r51`));
      assert.equal(pace.rateLimits, limited, key);
    }
  });
});
