/**
 * `harvester_provider_last_success_timestamp_seconds` is read from the JobInfos at each scrape: a job
 * another process finished counts, failed and unfinished jobs do not, a second process on the same
 * PostgreSQL shows the same values, and a restarted service (PGlite files reopened, PostgreSQL by URL)
 * still shows them.
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createLogger } from '../../src/log.ts';
import { startService, type RunningService } from '../../src/server.ts';
import { enableTenant } from '../../src/tenant-lifecycle.ts';
import { saveJobInfo, type JobInfo } from '../../src/store/sql/job-info.ts';
import { backends, call, testConfig } from '../helpers/service.ts';

const GAUGE = 'harvester_provider_last_success_timestamp_seconds';
const P1 = 'a11c0000-0000-4000-8000-000000000001';
const P2 = 'a11c0000-0000-4000-8000-000000000002';
const P3 = 'a11c0000-0000-4000-8000-000000000003';

/** The gauge's series: `tenant/provider` → seconds. */
async function lastSuccess(svc: RunningService): Promise<Map<string, number>> {
  const res = await call(svc, 'GET', '/metrics', { tenant: null });
  assert.equal(res.status, 200);
  const out = new Map<string, number>();
  for (const line of res.text.split('\n')) {
    const m = new RegExp(`^${GAUGE}\\{tenant="([^"]+)",provider="([^"]+)"\\} (\\S+)$`).exec(line);
    if (m) out.set(`${m[1]}/${m[2]}`, Number(m[3]));
  }
  return out;
}

let n = 0;
function job(providerId: string, finishedAt: string | undefined, result?: 'success' | 'failure'): JobInfo {
  n += 1;
  return {
    id: `a11c0000-0000-4000-8000-1000000000${String(n).padStart(2, '0')}`,
    type: 'provider',
    providerId,
    timestamp: 1_700_000_000_000 + n,
    ...(finishedAt && { startedAt: finishedAt, finishedAt, result }),
    ...(result === 'failure' && { errorMessage: 'Error: boom' }),
  };
}

const secondsOf = (iso: string) => Date.parse(iso) / 1000;
const EXPECTED = new Map([
  [`diku/${P1}`, secondsOf('2024-03-02T10:00:00.500+00:00')],
  [`diku/${P2}`, secondsOf('2024-01-15T08:30:00.000+00:00')],
  [`other/${P1}`, secondsOf('2023-12-31T23:59:59.999+00:00')],
]);

/** Finished jobs as any process would have written them: only successes of provider jobs count. */
async function writeJobs(svc: RunningService): Promise<void> {
  const db = svc.ctx.db;
  await saveJobInfo(db, 'diku', job(P1, '2024-03-01T10:00:00.000+00:00', 'success'));
  await saveJobInfo(db, 'diku', job(P1, '2024-03-02T10:00:00.500+00:00', 'success'));
  await saveJobInfo(db, 'diku', job(P1, '2024-03-05T10:00:00.000+00:00', 'failure'));
  await saveJobInfo(db, 'diku', job(P1, undefined));
  await saveJobInfo(db, 'diku', job(P2, '2024-01-15T08:30:00.000+00:00', 'success'));
  await saveJobInfo(db, 'diku', job(P3, '2024-02-01T00:00:00.000+00:00', 'failure'));
  await saveJobInfo(db, 'diku', {
    id: 'a11c0000-0000-4000-8000-200000000001',
    type: 'tenant',
    timestamp: 1_700_000_000_000,
    startedAt: '2024-04-01T00:00:00.000+00:00',
    finishedAt: '2024-04-01T00:00:00.000+00:00',
    result: 'success',
  });
  await saveJobInfo(db, 'other', job(P1, '2023-12-31T23:59:59.999+00:00', 'success'));
}

const TENANTS = ['diku', 'other'];

/** A service on the given storage, the tenants enabled, no workers (nothing harvests here). */
async function startOnStorage(storage: { dataDir?: string; databaseUrl?: string }): Promise<RunningService> {
  const svc = await startService(
    testConfig({
      runWorkers: false,
      ...(storage.dataDir
        ? { memory: false, dataDir: storage.dataDir }
        : { databaseUrl: storage.databaseUrl }),
    }),
    { logger: createLogger({ level: 'error', write: () => {} }) },
  );
  for (const t of TENANTS) await enableTenant(svc.ctx, t);
  return svc;
}

for (const backend of backends()) {
  describe(`last-success gauge from the JobInfos on ${backend.name}`, () => {
    const started: RunningService[] = [];
    let dataDir: string | undefined;
    const start = async (storage: { dataDir?: string; databaseUrl?: string }) => {
      const svc = await startOnStorage(storage);
      started.push(svc);
      return svc;
    };
    after(async () => {
      for (const svc of started) await svc.close().catch(() => {});
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    });

    it('shows the latest successful provider job per tenant and provider, after a restart too', async () => {
      let storage: { dataDir?: string; databaseUrl?: string };
      if (backend.name === 'pglite') {
        dataDir = await mkdtemp(join(tmpdir(), 'harvester-last-success-'));
        storage = { dataDir };
      } else {
        const { db, url } = await backend.freshDb();
        await db.close();
        storage = { databaseUrl: url };
      }
      const expected = new Map(EXPECTED);
      const first = await start(storage);
      assert.deepEqual(await lastSuccess(first), new Map(), 'no job, no series');
      await writeJobs(first);
      assert.deepEqual(await lastSuccess(first), expected, 'jobs this process did not end count');

      if (backend.name === 'postgres') {
        const second = await start(storage);
        assert.deepEqual(await lastSuccess(second), expected, 'a second process shows the same');
        await saveJobInfo(second.ctx.db, 'diku', job(P3, '2024-05-01T00:00:00.000+00:00', 'success'));
        expected.set(`diku/${P3}`, secondsOf('2024-05-01T00:00:00.000+00:00'));
        assert.deepEqual(await lastSuccess(first), expected, 'a job the other process ended counts');
        await second.close();
      }

      await first.close();
      const restarted = await start(storage);
      assert.deepEqual(await lastSuccess(restarted), expected, 'after a restart');

      const purge = await call(restarted, 'POST', '/erm-usage-harvester/jobs/purgefinished');
      assert.equal(purge.status, 204);
      assert.deepEqual(
        [...(await lastSuccess(restarted)).keys()],
        [`other/${P1}`],
        'purged JobInfos no longer count (diku purged, other kept)',
      );
    });
  });
}
