/**
 * The service is killed (SIGKILL) during a harvest and restarted — the harvest completes with no duplicated
 * and no lost months, on PGlite and on PostgreSQL.
 *
 * PGlite: the restarted process takes over the data directory (the killed process's lock file is stale)
 * and puts every running item back in the queue. PostgreSQL: the restarted process has another instance id;
 * the items of the dead one go back to the queue when their heartbeat is older than STALE_HEARTBEAT_MS.
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startPgServer, type PgServer } from '../helpers/pg-server.ts';
import type { RunningService } from '../../src/server.ts';
import { startOn } from '../helpers/service.ts';
import {
  killAllChildren,
  monthsBetween,
  okapiFront,
  providerRecord,
  request,
  startChild,
  until,
  type ChildService,
} from '../helpers/child-service.ts';
import { startMockCounterServer, type MockCounterServer } from '../../mock/counter-server.ts';

const PROVIDERS = 4;
const START = '2021-01';
const END = '2022-12';
const MONTHS = monthsBetween(START, END);
/** TR is requested month by month: one request per month and provider. */
const TOTAL = PROVIDERS * MONTHS.length;

/** Crash timings: heartbeats every 300 ms, an item is dead 1.5 s after its last heartbeat. */
const CRASH_ENV = { STALE_HEARTBEAT_MS: '1500', HEARTBEAT_INTERVAL_MS: '300' };

async function storedCount(svc: ChildService): Promise<number | undefined> {
  try {
    const res = await request(svc.url, 'GET', '/counter-reports?limit=0&tiny=true');
    return res.status === 200 ? (res.json.totalRecords as number) : undefined;
  } catch {
    return undefined;
  }
}

describe('a harvest survives SIGKILL and restart', () => {
  let pg: PgServer;
  let mock: MockCounterServer;
  const dirs: string[] = [];

  before(async () => {
    pg = await startPgServer();
    mock = await startMockCounterServer({ latencyMs: 150 });
  });
  after(async () => {
    await killAllChildren();
    await mock?.close();
    await pg?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  for (const backend of ['pglite', 'postgres'] as const) {
    it(`${backend}: every month stored exactly once, every provider job successful`, async (t) => {
      const t0 = Date.now();
      const mark = (what: string) => t.diagnostic(`${what} after ${Date.now() - t0} ms`);
      let env: Record<string, string>;
      if (backend === 'pglite') {
        const dir = mkdtempSync(join(tmpdir(), 'euh-crash-'));
        dirs.push(dir);
        env = { ...CRASH_ENV, HARVESTER_DATA_DIR: dir };
      } else {
        env = { ...CRASH_ENV, DATABASE_URL: await pg.createDatabase() };
      }
      const first = await startChild(`${backend}-1`, env);
      mark('first process listening');
      const ids: string[] = [];
      for (let i = 0; i < PROVIDERS; i++) {
        const id = randomUUID();
        ids.push(id);
        const res = await request(
          first.url,
          'POST',
          '/usage-data-providers',
          providerRecord(id, {
            label: `crash ${backend} ${i}`,
            serviceUrl: `${mock.url}/ok-crash${backend}${i}`,
            reports: ['TR'],
            start: START,
            end: END,
          }),
        );
        assert.equal(res.status, 201, res.text);
      }
      const started = await request(first.url, 'GET', '/erm-usage-harvester/start');
      assert.equal(started.status, 200, started.text);

      // Kill once some, but far from all, months are stored.
      const atKill = await until(
        async () => {
          // Every provider job planned (a job killed while planning is another case, below).
          const planned = first
            .logRecords()
            .filter((r) => r.msg === 'provider job continues as work items').length;
          const n = await storedCount(first);
          return planned === PROVIDERS && n !== undefined && n >= 6 ? n : undefined;
        },
        60_000,
        () => `no months stored; output:\n${first.output().slice(-3000)}`,
        50,
      );
      await first.kill();
      mark(`killed with ${atKill} of ${TOTAL} months stored`);
      assert.ok(atKill < TOTAL, `killed after ${atKill} of ${TOTAL} months`);
      const requestsBefore = mock.requests.filter((r) => r.reportId && r.scenario.includes(backend)).length;

      const second = await startChild(`${backend}-2`, env);
      mark('second process listening');
      const jobs = await until(
        async () => {
          const res = await request(second.url, 'GET', '/erm-usage-harvester/jobs?limit=1000');
          const infos = (res.json?.jobInfos ?? []) as Record<string, any>[];
          const providerJobs = infos.filter((j) => j.type === 'provider');
          return providerJobs.length === PROVIDERS && providerJobs.every((j) => j.finishedAt)
            ? infos
            : undefined;
        },
        90_000,
        async () =>
          `jobs not finished: ${(await request(second.url, 'GET', '/erm-usage-harvester/jobs?limit=1000')).text}\n` +
          second.output().slice(-3000),
        200,
      );
      mark('provider jobs finished');
      const providerJobs = jobs.filter((j) => j.type === 'provider');
      assert.deepEqual(providerJobs.map((j) => j.providerId).sort(), [...ids].sort());
      for (const j of providerJobs) assert.equal(j.result, 'success', JSON.stringify(j));

      const res = await request(second.url, 'GET', '/counter-reports?limit=10000&tiny=true');
      assert.equal(res.status, 200, res.text);
      const records = res.json.counterReports as Record<string, any>[];
      const keys = records.map((r) => `${r.providerId}|${r.release}|${r.reportName}|${r.yearMonth}`);
      assert.equal(new Set(keys).size, keys.length, 'no month stored twice');
      const expected = ids.flatMap((id) => MONTHS.map((m) => `${id}|5.1|TR|${m}`));
      assert.deepEqual([...keys].sort(), expected.sort(), 'no month lost');
      for (const r of records) assert.equal(r.failedAttempts, undefined, JSON.stringify(r));

      // The restarted process did the rest of the work.
      const requestsAfter = mock.requests.filter((r) => r.reportId && r.scenario.includes(backend)).length;
      assert.ok(requestsAfter > requestsBefore, 'the restarted process made requests');
      assert.ok(requestsAfter >= TOTAL, `${requestsAfter} requests for ${TOTAL} months`);
      await second.stop();
    });
  }
  it('pglite, FOLIO mode: a provider job killed while planning runs again after the restart', async (t) => {
    // mod-erm-usage (service A behind a stand-in Okapi) does not answer the provider's GET: the provider
    // job of the FOLIO-mode child is executing (claimed, not yet planned) when the child is killed.
    const a: RunningService = await startOn('pglite', undefined);
    const front = await okapiFront(a.url);
    t.after(async () => {
      await front.close();
      await a.close();
    });
    const id = randomUUID();
    const created = await request(
      a.url,
      'POST',
      '/usage-data-providers',
      providerRecord(id, {
        label: 'held',
        serviceUrl: `${mock.url}/ok-held`,
        reports: ['TR'],
        start: '2022-01',
        end: '2022-03',
      }),
    );
    assert.equal(created.status, 201, created.text);
    const dir = mkdtempSync(join(tmpdir(), 'euh-crash-folio-'));
    dirs.push(dir);
    const env = { ...CRASH_ENV, HARVESTER_DATA_DIR: dir, HARVESTER_MODE: 'folio', OKAPI_URL: front.url };
    front.hold = new RegExp(`^/usage-data-providers/${id}$`);
    const first = await startChild('folio-1', env);
    const enable = await request(first.url, 'POST', '/_/tenant', {
      module_to: 'mod-erm-usage-harvester-1.0.0',
    });
    assert.equal(enable.status, 201, enable.text);
    const op = enable.text ? (enable.json?.id as string | undefined) : undefined;
    await until(
      async () => {
        const res = await request(first.url, 'GET', '/erm-usage-harvester/jobs');
        return res.status === 200 ? true : undefined;
      },
      60_000,
      () => `tenant not enabled (${op ?? ''})`,
    );
    const started = await request(first.url, 'GET', `/erm-usage-harvester/start/${id}`);
    assert.equal(started.status, 200, started.text);
    await until(
      async () => (front.held() > 0 ? true : undefined),
      30_000,
      () => 'the provider GET never came',
      50,
    );
    await first.kill();
    front.hold = undefined;

    const second = await startChild('folio-2', env);
    const job = await until(
      async () => {
        const res = await request(second.url, 'GET', '/erm-usage-harvester/jobs');
        const info = ((res.json?.jobInfos ?? []) as Record<string, any>[]).find((j) => j.providerId === id);
        return info?.finishedAt ? info : undefined;
      },
      45_000,
      async () =>
        `provider job not finished: ${(await request(second.url, 'GET', '/erm-usage-harvester/jobs')).text}`,
      200,
    );
    assert.equal(job.result, 'success', JSON.stringify(job));
    const stored = await request(
      a.url,
      'GET',
      `/counter-reports?limit=100&tiny=true&query=providerId==${id}`,
    );
    const months = (stored.json.counterReports as Record<string, any>[]).map((r) => r.yearMonth as string);
    assert.deepEqual(months.sort(), ['2022-01', '2022-02', '2022-03']);
    await second.stop();
  });
});
