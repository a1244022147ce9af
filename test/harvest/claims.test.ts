/**
 * Batched claims of work items (WorkItemQueue.claimMany): one claim for several free request slots
 * never gives an endpoint more requests than its max in flight, nor a provider job more than its
 * request limit (1 when rate limited), and takes the items in queue order; it reads the endpoint's pace
 * where no other request can change it. Both databases.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { Db } from '../../src/store/db.ts';
import { PostgresDb } from '../../src/store/postgres.ts';
import { changePace, getPace, NO_PACE } from '../../src/store/sql/endpoint-pace.ts';
import { configureEndpoint } from '../../src/store/sql/endpoints.ts';
import { markRateLimited } from '../../src/store/sql/harvest-runs.ts';
import {
  ANALYZE_AFTER_ITEMS,
  VACUUM_AFTER_ITEMS,
  WorkItemQueue,
  type ClaimedItem,
} from '../../src/store/sql/work-items.ts';
import { backends } from '../helpers/service.ts';

const PROVIDER_LIMIT = 2;

interface Job {
  jobId: string;
  endpoint: string;
}

async function addJob(
  db: Db,
  queue: WorkItemQueue,
  endpoint: string,
  months: number,
  now: number,
): Promise<Job> {
  const jobId = randomUUID();
  await db.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO harvester.harvest_runs (job_id, tenant, provider_id, created_at) VALUES ($1, 'diku', $2, now())`,
      [jobId, randomUUID()],
    );
    const items = Array.from({ length: months }, (_, i) => {
      const m = `2022-${String(i + 1).padStart(2, '0')}`;
      return { reportName: 'TR', begin: m, end: m };
    });
    await queue.enqueue(tx, { tenant: 'diku', jobId, providerId: randomUUID(), endpoint }, items, now);
  });
  return { jobId, endpoint };
}

/** The number in the first column of the statement's one row. */
async function scalar(db: Db, sql: string): Promise<number> {
  return Number(Object.values((await db.query<Record<string, unknown>>(sql)).rows[0])[0]);
}

function countBy(items: ClaimedItem[], key: (i: ClaimedItem) => string): Map<string, number> {
  const n = new Map<string, number>();
  for (const i of items) n.set(key(i), (n.get(key(i)) ?? 0) + 1);
  return n;
}

for (const backend of backends()) {
  describe(`${backend.name}: batched claims of requests`, () => {
    it('one claim for many slots respects every endpoint and job limit, in queue order', async () => {
      const { db } = await backend.freshDb();
      try {
        const queue = new WorkItemQueue(db, 'claims-test', 5 * 60_000, PROVIDER_LIMIT);
        const now = Date.now() - 1000;
        await db.transaction(async (tx) => {
          await configureEndpoint(tx, 'wide', { maxInFlight: 3, minIntervalMs: 0 });
          await configureEndpoint(tx, 'narrow', { maxInFlight: 1, minIntervalMs: 0 });
        });
        // Two jobs on the wide endpoint (3 in flight), one on the narrow one (1 in flight).
        const a = await addJob(db, queue, 'wide', 4, now);
        const b = await addJob(db, queue, 'wide', 4, now);
        const c = await addJob(db, queue, 'narrow', 4, now);

        const first = await queue.claimMany(Date.now(), 16);
        const perEndpoint = countBy(first, (i) => i.endpoint);
        const perJob = countBy(first, (i) => i.jobId);
        assert.equal(perEndpoint.get('wide'), 3, 'the wide endpoint gets its 3 slots');
        assert.equal(perEndpoint.get('narrow'), 1, 'the narrow endpoint gets 1');
        for (const job of [a, b, c])
          assert.ok((perJob.get(job.jobId) ?? 0) <= PROVIDER_LIMIT, 'no job above its request limit');
        assert.equal(perJob.get(a.jobId), 2, 'the first job in the queue fills its limit first');
        // Months of one job come in order.
        assert.deepEqual(
          first.filter((i) => i.jobId === a.jobId).map((i) => i.begin),
          ['2022-01', '2022-02'],
        );

        assert.deepEqual(await queue.claimMany(Date.now(), 16), [], 'nothing more while all slots are taken');

        // One request of the narrow endpoint ends: exactly one more may go there.
        await queue.remove(first.find((i) => i.endpoint === 'narrow')!.id);
        const next = await queue.claimMany(Date.now(), 16);
        assert.deepEqual(
          next.map((i) => [i.endpoint, i.jobId, i.begin]),
          [['narrow', c.jobId, '2022-02']],
        );
      } finally {
        await db.close();
      }
    });

    it('a rate-limited job gets one request at a time', async () => {
      const { db } = await backend.freshDb();
      try {
        const queue = new WorkItemQueue(db, 'claims-test', 5 * 60_000, PROVIDER_LIMIT);
        const now = Date.now() - 1000;
        await db.transaction(async (tx) => {
          await configureEndpoint(tx, 'wide', { maxInFlight: 4, minIntervalMs: 0 });
        });
        const job = await addJob(db, queue, 'wide', 4, now);
        await markRateLimited(db, job.jobId, now);
        const claimed = await queue.claimMany(Date.now(), 8);
        assert.equal(claimed.length, 1);
        assert.deepEqual(await queue.claimMany(Date.now(), 8), []);
      } finally {
        await db.close();
      }
    });

    it("the claim reads the endpoint's pace when the endpoint takes one request at a time; the removal counts the job's items left", async () => {
      const { db } = await backend.freshDb();
      try {
        const queue = new WorkItemQueue(db, 'claims-test', 5 * 60_000, PROVIDER_LIMIT);
        const now = Date.now() - 1000;
        await db.transaction(async (tx) => {
          await configureEndpoint(tx, 'single', { maxInFlight: 1, minIntervalMs: 0 });
          await configureEndpoint(tx, 'paced', { maxInFlight: 1, minIntervalMs: 0 });
          await configureEndpoint(tx, 'shared', { maxInFlight: 2, minIntervalMs: 0 });
        });
        const single = await addJob(db, queue, 'single', 2, now);
        await addJob(db, queue, 'paced', 1, now);
        await addJob(db, queue, 'shared', 1, now);
        await changePace(db, 'paced', now, (p) => ({ ...p, intervalMs: 800, rateLimits: 3 }), true);
        const claimed = new Map((await queue.claimMany(Date.now(), 8)).map((i) => [i.endpoint, i]));
        assert.deepEqual(claimed.get('single')?.pace, NO_PACE);
        assert.deepEqual(claimed.get('paced')?.pace, await getPace(db, 'paced'));
        assert.equal(claimed.get('paced')?.pace?.intervalMs, 800);
        // An endpoint that takes several requests at once: its pace may change meanwhile, read it later.
        assert.equal(claimed.get('shared')?.pace, undefined);
        // The job of 'single' has one more item (queued): the count is exact, no request of it in flight.
        const first = claimed.get('single')!;
        assert.deepEqual(await queue.removeAndRelease(first, 'single', Date.now(), 0), {
          left: 1,
          exact: true,
        });
        const [second] = await queue.claimMany(Date.now(), 8);
        assert.equal(second.jobId, single.jobId);
        assert.deepEqual(await queue.removeAndRelease(second, 'single', Date.now(), 0), {
          left: 0,
          exact: true,
        });
        assert.equal(await queue.countForJob(single.jobId), 0);
      } finally {
        await db.close();
      }
    });

    if (backend.name === 'pglite')
      it('the embedded database (no autovacuum) gets fresh planner statistics once many items were enqueued', async () => {
        const { db } = await backend.freshDb();
        try {
          const queue = new WorkItemQueue(db, 'stats-test', 5 * 60_000, PROVIDER_LIMIT);
          const estimate = () =>
            scalar(db, `SELECT reltuples::float8 FROM pg_class WHERE oid = 'harvester.work_items'::regclass`);
          const now = Date.now() - 1000;
          const before = await estimate();
          // Below the threshold: the claim leaves the statistics alone.
          for (let n = 0; n < 12; n++) await addJob(db, queue, `below-${n}`, 12, now);
          assert.equal(ANALYZE_AFTER_ITEMS > 144, true);
          const some = await queue.claimMany(Date.now(), 4);
          assert.equal(some.length, 4);
          assert.equal(await estimate(), before, 'no ANALYZE below the threshold');
          // Past it: the next claim analyses first and plans with the queue's real size.
          for (let n = 0; n < 8; n++) await addJob(db, queue, `above-${n}`, 12, now);
          const rows = await scalar(db, 'SELECT count(*)::int FROM harvester.work_items');
          assert.equal(rows, 240);
          const more = await queue.claimMany(Date.now(), 4);
          assert.equal(more.length, 4);
          assert.equal(await estimate(), rows, 'the estimate is the number of queued items');
          // Counted afresh after the refresh: the following claims do not analyse again.
          await addJob(db, queue, 'after', 12, now);
          await queue.claimMany(Date.now(), 1);
          assert.equal(await estimate(), rows);
        } finally {
          await db.close();
        }
      });

    if (backend.name === 'pglite')
      it('the embedded database vacuums its queue tables when the last item is gone, not before', async () => {
        const { db } = await backend.freshDb();
        try {
          const queue = new WorkItemQueue(db, 'vacuum-test', 5 * 60_000, PROVIDER_LIMIT);
          const tableBytes = () => scalar(db, `SELECT pg_table_size('harvester.work_items')::int`);
          const now = Date.now() - 1000;
          const jobs = Math.ceil(VACUUM_AFTER_ITEMS / 12);
          const added: Job[] = [];
          for (let n = 0; n < jobs; n++) added.push(await addJob(db, queue, `vac-${n}`, 12, now));
          // Items left: nothing happens.
          assert.equal(await queue.tidyIfIdle(), false);
          for (const job of added.slice(0, -1)) await queue.takeQueued(job.jobId);
          assert.equal(await queue.tidyIfIdle(), false, 'one job still has items');
          await queue.takeQueued(added[added.length - 1].jobId);
          const before = await tableBytes();
          assert.equal(await queue.tidyIfIdle(), true, 'no item left: vacuumed');
          const after = await tableBytes();
          assert.ok(after < before / 4, `the dead rows' pages are given back (${before} → ${after} bytes)`);
          // Counted afresh: a few more items and an empty queue do not vacuum again.
          const one = await addJob(db, queue, 'vac-again', 12, now);
          await queue.takeQueued(one.jobId);
          assert.equal(await queue.tidyIfIdle(), false);
        } finally {
          await db.close();
        }
      });

    if (backend.name === 'postgres')
      it('two processes claiming at once never put an endpoint above its limit (lock and claim in one message)', async () => {
        const { db, url } = await backend.freshDb();
        const other = await PostgresDb.open(url!);
        try {
          // The owner's text goes into the claim as a literal: quotes and backslashes stay what they are.
          const owners = [`proc-a 'quoted' \\ back`, 'proc-b'];
          const queues = [
            new WorkItemQueue(db, owners[0], 5 * 60_000, PROVIDER_LIMIT),
            new WorkItemQueue(other, owners[1], 5 * 60_000, PROVIDER_LIMIT),
          ];
          const now = Date.now() - 1000;
          const endpoints = Array.from({ length: 8 }, (_, n) => `ep-${n}`);
          await db.transaction(async (tx) => {
            for (const [n, key] of endpoints.entries())
              await configureEndpoint(tx, key, { maxInFlight: n % 2 === 0 ? 1 : 2, minIntervalMs: 0 });
          });
          for (const key of endpoints) await addJob(db, queues[0], key, 4, now);
          // Many claims of both processes at once, each for a few slots.
          const rounds = await Promise.all(
            Array.from({ length: 24 }, (_, n) => queues[n % 2].claimMany(Date.now(), 1 + (n % 3))),
          );
          const claimed = rounds.flat();
          const perEndpoint = countBy(claimed, (i) => i.endpoint);
          for (const [n, key] of endpoints.entries())
            assert.equal(perEndpoint.get(key), n % 2 === 0 ? 1 : 2, `${key} gets exactly its limit`);
          assert.equal(new Set(claimed.map((i) => i.id)).size, claimed.length, 'no item taken twice');
          const holders = await db.query<{ locked_by: string; n: number }>(
            `SELECT locked_by, count(*)::int AS n FROM harvester.work_items WHERE state = 'running'
             GROUP BY locked_by ORDER BY locked_by`,
          );
          assert.equal(
            holders.rows.reduce((sum, r) => sum + r.n, 0),
            claimed.length,
          );
          for (const r of holders.rows) assert.ok(owners.includes(r.locked_by), r.locked_by);
        } finally {
          await other.close();
          await db.close();
        }
      });
  });
}
