/**
 * Rows of a dead process are handed back by any live process (docs/hardening.md, "Crash safety"), on
 * PGlite and PostgreSQL, with the real engine and the mock COUNTER server: a provider job left `running`
 * by another instance (killed while planning) and a request left `running` by another instance are taken
 * over when their heartbeat is older than the stale limit (a job: when taken fewer than 3 times), and the
 * job then harvests every month once and ends with `finishedAt`. A job taken 3 times is not: it ends as
 * `Stale job` (purgestale). On PostgreSQL two processes reclaiming at once never both take a row.
 */
import { strict as assert } from 'node:assert';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startMockCounterServer, type MockCounterServer } from '../../mock/counter-server.ts';
import type { RunningService } from '../../src/server.ts';
import { PostgresDb } from '../../src/store/postgres.ts';
import { Lease } from '../../src/store/sql/lease.ts';
import { saveJobInfo } from '../../src/store/sql/job-info.ts';
import { insertJob, QUEUE } from '../../src/store/sql/queue.ts';
import { addProvider, reportsOf } from '../helpers/harvest.ts';
import { allJobs, waitFor } from '../helpers/jobs.ts';
import { backends, call } from '../helpers/service.ts';

const MONTHS = ['2022-01', '2022-02', '2022-03'];
const HOUR = 3_600_000;
/** Older than the default stale heartbeat limit (5 minutes). */
const DEAD_BEAT = () => new Date(Date.now() - 10 * 60_000);
/** waitFor with room for a loaded machine. */
const until = <T>(what: string, probe: () => Promise<T | undefined | false>) => waitFor(what, probe, 90_000);

for (const backend of backends()) {
  describe(`dead processes' rows handed back on ${backend.name}`, () => {
    let svc: RunningService;
    let mock: MockCounterServer;
    let n = 0;
    let serviceUrl: string;

    before(async () => {
      mock = await startMockCounterServer({ latencyMs: 5 });
      svc = await backend.start();
    });
    after(async () => {
      await svc?.close();
      await mock?.close();
    });
    beforeEach(() => {
      serviceUrl = `${mock.url}/ok-reclaim${++n}`;
    });

    const provider = () =>
      addProvider(svc, { serviceUrl, release: '5.1', reports: ['TR'], start: '2022-01', end: '2022-03' });

    /** A provider job as a process leaves it when killed while planning: running, held by `dead-instance`. */
    async function deadPlanningJob(providerId: string, attempts: number, createdAt = Date.now()) {
      const id = crypto.randomUUID();
      await svc.ctx.db.transaction(async (tx) => {
        await insertJob(tx, { id, tenant: 'diku', kind: 'provider', providerId }, createdAt);
        await saveJobInfo(tx, 'diku', { id, type: 'provider', providerId, timestamp: createdAt });
        await tx.query(
          `UPDATE ${QUEUE} SET state = 'running', locked_by = 'dead-instance', heartbeat_at = $2,
             started_at = $3, attempts = $4 WHERE id = $1`,
          [id, DEAD_BEAT(), new Date(createdAt), attempts],
        );
      });
      return id;
    }

    const months = async (providerId: string) =>
      (await reportsOf(svc, providerId)).map((r) => `${r.reportName} ${r.yearMonth}`).sort();
    const jobInfo = async (id: string) => (await allJobs(svc)).find((j) => j.id === id);

    it('a provider job killed while planning (taken once) is taken over and harvests every month once', async () => {
      const providerId = await provider();
      const id = await deadPlanningJob(providerId, 1);
      // Still active: it will run again, so no second job for the provider is accepted meanwhile.
      const again = await call(svc, 'GET', `/erm-usage-harvester/start/${providerId}`);
      assert.equal(again.status, 500, again.text); // FOLIO's answer to a refused start
      assert.match(again.text, /already scheduled\/running/);

      assert.deepEqual(await svc.jobs.reclaim(), [id]);
      const done = await until('the job finished', async () => {
        const info = await jobInfo(id);
        return info?.finishedAt ? info : undefined;
      });
      assert.equal(done.result, 'success', JSON.stringify(done));
      assert.ok(done.startedAt, 'startedAt of the run that finished it');
      assert.deepEqual(
        await months(providerId),
        MONTHS.map((m) => `TR ${m}`),
      );
      const left = await svc.ctx.db.query(`SELECT 1 FROM ${QUEUE} WHERE id = $1`, [id]);
      assert.equal(left.rowCount, 0, 'no queue row left');
      assert.deepEqual(await svc.jobs.reclaim(), [], 'nothing left to hand back');
    });

    it('a provider job whose process died 3 times is not taken over: purgestale ends it as Stale job', async () => {
      const providerId = await provider();
      const id = await deadPlanningJob(providerId, 3, Date.now() - 2 * HOUR);
      assert.deepEqual(await svc.jobs.reclaim(), []);
      assert.equal((await call(svc, 'POST', '/erm-usage-harvester/jobs/purgestale')).status, 204);
      const info = await jobInfo(id);
      assert.equal(info?.result, 'failure', JSON.stringify(info));
      assert.equal(info?.errorMessage, 'Stale job');
      assert.ok(info?.finishedAt);
      const left = await svc.ctx.db.query(`SELECT 1 FROM ${QUEUE} WHERE id = $1`, [id]);
      assert.equal(left.rowCount, 0);
      assert.deepEqual(await months(providerId), []);
    });

    /**
     * A planned provider job (waiting) one of whose requests is `running`, held by `dead-instance` with a
     * stale heartbeat and taken `attempts` times; the others are made. Returns that request's month.
     */
    async function deadRequest(attempts: number): Promise<{ providerId: string; id: string; month: string }> {
      // One request, then an hour's rest for the endpoint: the requests wait while one of them is faked.
      const providerId = await addProvider(svc, {
        serviceUrl,
        release: '5.1',
        reports: ['TR'],
        start: '2022-01',
        end: '2022-03',
        extra: { politeness: { minIntervalMs: HOUR } },
      });
      const id = await svc.jobs.startProviderJob('diku', providerId);
      const item = await until('a request waiting for the resting endpoint', async () => {
        const res = await svc.ctx.db.query<{ id: string; begin_month: string; endpoint: string }>(
          `SELECT w.id, w.begin_month, w.endpoint FROM harvester.work_items w
           JOIN harvester.endpoints e ON e.key = w.endpoint
           WHERE w.job_id = $1 AND e.next_allowed_at > now() + interval '10 minutes'
             AND NOT EXISTS (SELECT 1 FROM harvester.work_items r WHERE r.job_id = $1 AND r.state = 'running')
           ORDER BY w.seq LIMIT 1`,
          [id],
        );
        return res.rows[0];
      });
      const faked = await svc.ctx.db.query(
        `UPDATE harvester.work_items SET state = 'running', locked_by = 'dead-instance', heartbeat_at = $2,
           attempts = $3 WHERE id = $1 AND state = 'queued'`,
        [item.id, DEAD_BEAT(), attempts],
      );
      assert.equal(faked.rowCount, 1);
      await svc.ctx.db.query(
        `UPDATE harvester.endpoints SET min_interval_ms = 0, next_allowed_at = $2 WHERE key = $1`,
        [item.endpoint, new Date(0)],
      );
      svc.engine.wake();
      await until('the other two months stored', async () => (await months(providerId)).length === 2);
      return { providerId, id, month: item.begin_month };
    }

    it('a request held by a dead process (taken once) is taken over; the job ends with every month', async () => {
      const { providerId, id } = await deadRequest(1);
      assert.equal((await jobInfo(id))?.finishedAt, undefined, 'the job waits for its last request');
      await svc.engine.reap();
      const done = await until('the job finished', async () => {
        const info = await jobInfo(id);
        return info?.finishedAt ? info : undefined;
      });
      assert.equal(done.result, 'success', JSON.stringify(done));
      assert.deepEqual(
        await months(providerId),
        MONTHS.map((m) => `TR ${m}`),
      );
    });

    it('a request is taken over however often its processes died (it does not fail its job)', async () => {
      const { providerId, id } = await deadRequest(5);
      await svc.engine.reap();
      const done = await until('the job finished', async () => {
        const info = await jobInfo(id);
        return info?.finishedAt ? info : undefined;
      });
      assert.equal(done.result, 'success', JSON.stringify(done));
      assert.deepEqual(
        await months(providerId),
        MONTHS.map((m) => `TR ${m}`),
      );
    });

    if (backend.name === 'postgres')
      it('two processes reclaiming at once never both take a row', async () => {
        const url = svc.ctx.config.databaseUrl!;
        const [a, b] = await Promise.all([PostgresDb.open(url), PostgresDb.open(url)]);
        try {
          const ids: string[] = [];
          for (let i = 0; i < 200; i++) {
            const id = crypto.randomUUID();
            ids.push(id);
            await a.query(
              `INSERT INTO ${QUEUE} (id, tenant, kind, provider_id, state, run_after, created_at, locked_by,
                 heartbeat_at, attempts)
               VALUES ($1::uuid, 'nobody', 'provider', $1::text, 'running', now(), now(), 'dead-instance', $2, 1)`,
              [id, DEAD_BEAT()],
            );
          }
          const now = Date.now();
          const [byA, byB] = await Promise.all([
            new Lease(QUEUE, 'proc-a', 300_000).reclaim(a, now),
            new Lease(QUEUE, 'proc-b', 300_000).reclaim(b, now),
          ]);
          const mine = (list: string[]) => list.filter((id) => ids.includes(id));
          assert.equal(mine(byA).length + mine(byB).length, 200, `${byA.length} + ${byB.length}`);
          assert.deepEqual(new Set([...mine(byA), ...mine(byB)]).size, 200);
        } finally {
          await a.query(`DELETE FROM ${QUEUE} WHERE tenant = 'nobody'`);
          await Promise.all([a.close(), b.close()]);
        }
      });
  });
}
