/**
 * `harvester.work_items`: the durable list of requests still to make, shared by every process on the
 * database, and the politeness rules that decide which request may go next.
 *
 * A request is claimed only when its endpoint has fewer than `max_in_flight` live requests (over all
 * processes), the endpoint's spacing has passed, and its provider job is below its own request limit.
 * Claims are serialised by one advisory lock so that these counts are exact; a claim is a short
 * statement, so the lock is held only briefly. A running item whose process stops heartbeating is put
 * back in the queue by any live process (its outcome is stored with idempotent upserts, so a repeat is
 * harmless), however often that happened: `attempts` counts the takes since the last outcome that put
 * the item back (a deferral, a rate limit), for diagnosis only.
 */
import { randomUUID } from 'node:crypto';
import type { Db, Queryable } from '../db.ts';
import { ENDPOINT_PACE, NO_PACE, toPace, type EndpointPace, type PaceRow } from './endpoint-pace.ts';
import { ENDPOINTS, RELEASE_ENDPOINT, releaseEndpoint } from './endpoints.ts';
import { HARVEST_RUNS } from './harvest-runs.ts';
import { jobReportCtes, type JobReportDelta } from './job-info.ts';
import { GIVE_BACK, Lease, TAKE } from './lease.ts';
import { lockWorkItemClaims, WORK_ITEM_CLAIM_LOCK } from './locks.ts';
import { systemTable } from './schema.ts';

export const WORK_ITEMS = systemTable('work_items');

/** One request to make: a report over consecutive whole months. */
export interface WorkItem {
  reportName: string;
  /** First and last month (`yyyy-MM`), inclusive. */
  begin: string;
  end: string;
}

/** A stored work item, as claimed or taken from the queue. */
export interface ClaimedItem extends WorkItem {
  id: string;
  tenant: string;
  jobId: string;
  providerId: string;
  endpoint: string;
  rateLimitRetries: number;
  deferrals: number;
  firstDeferredAt?: number;
  /**
   * The state of the item's provider run when the item was claimed (`claimMany` reads it in the same
   * statement); null when the job has no run. Absent on items read otherwise.
   */
  run?: ClaimedRun | null;
  /**
   * The endpoint's pace as the claim read it, when the endpoint takes one request at a time (then only
   * this request changes it until it is released); absent otherwise (read it when needed).
   */
  pace?: EndpointPace;
}

/** A provider run as the claim of one of its items saw it (harvest-runs.ts `HarvestRun`). */
export interface ClaimedRun {
  rateLimited: boolean;
  failure?: string;
}

/** A row the claim returns: the item, its run, its endpoint's limit and pace. */
type ClaimRow = ItemRow &
  PaceRow & {
    run_after: Date | string;
    seq: number | string;
    has_run: boolean;
    rate_limited: boolean | null;
    failure: string | null;
    max_in_flight: number;
    has_pace: boolean;
  };

interface ItemRow {
  id: string;
  tenant: string;
  job_id: string;
  provider_id: string;
  endpoint: string;
  report_name: string;
  begin_month: string;
  end_month: string;
  rate_limit_retries: number;
  deferrals: number;
  first_deferred_at: Date | string | null;
}

const ITEM_COLUMNS = `id, tenant, job_id, provider_id, endpoint, report_name, begin_month, end_month,
  rate_limit_retries, deferrals, first_deferred_at`;

function toItem(row: ItemRow): ClaimedItem {
  return {
    id: row.id,
    tenant: row.tenant,
    jobId: row.job_id,
    providerId: row.provider_id,
    endpoint: row.endpoint,
    reportName: row.report_name,
    begin: row.begin_month,
    end: row.end_month,
    rateLimitRetries: row.rate_limit_retries,
    deferrals: row.deferrals,
    firstDeferredAt: row.first_deferred_at === null ? undefined : new Date(row.first_deferred_at).getTime(),
  };
}

/**
 * A job's items other than a removed one, as the statement that removed it counted them. `exact`: no
 * removal by another request can have been hidden from it; otherwise items of the job in flight at
 * the same time may be gone already (count them again).
 */
export interface JobItemsLeft {
  left: number;
  exact: boolean;
}

/**
 * Items enqueued on an embedded database since its queue tables were last analysed and vacuumed. PGlite
 * has no autovacuum, so nothing else does either: without ANALYZE the planner keeps the estimates of an
 * empty queue (a few rows) and plans the claim for them, with nested loops over the thousands of queued
 * items of a large harvest (docs/benchmarks.md, section 2); without VACUUM the dead rows of every
 * harvest stay in the files (about 0.2 KB per item in the table and its indexes). PostgreSQL's
 * autovacuum does both.
 */
const enqueuedSince = new WeakMap<Db, { analyze: number; vacuum: number }>();

/** Items enqueued after which the claim refreshes the statistics first (PGlite only). */
export const ANALYZE_AFTER_ITEMS = 200;

/** Items enqueued after which an idle embedded database's queue tables are vacuumed (`tidyIfIdle`). */
export const VACUUM_AFTER_ITEMS = 1000;

/** The counters of `db`, created on first use. */
function countersOf(db: Db): { analyze: number; vacuum: number } {
  let counters = enqueuedSince.get(db);
  if (!counters) enqueuedSince.set(db, (counters = { analyze: 0, vacuum: 0 }));
  return counters;
}

/** The tables the claim reads, whose statistics the refresh updates. */
const CLAIM_TABLES = [WORK_ITEMS, HARVEST_RUNS, ENDPOINTS, ENDPOINT_PACE];

export class WorkItemQueue {
  private readonly lease: Lease;

  constructor(
    private readonly db: Db,
    instanceId: string,
    staleHeartbeatMs: number,
    private readonly providerRequestConcurrency: number,
  ) {
    this.lease = new Lease(WORK_ITEMS, instanceId, staleHeartbeatMs);
  }

  /**
   * Stores the requests of a provider job, queued from `now`, in one statement; they are taken in the
   * order given (their `seq` follows it).
   */
  async enqueue(
    tx: Queryable,
    job: { tenant: string; jobId: string; providerId: string; endpoint: string },
    items: WorkItem[],
    now: number,
  ): Promise<void> {
    if (items.length === 0) return;
    if (this.db.kind === 'pglite') {
      const counters = countersOf(this.db);
      counters.analyze += items.length;
      counters.vacuum += items.length;
    }
    await tx.query(
      `INSERT INTO ${WORK_ITEMS}
         (id, tenant, job_id, provider_id, endpoint, report_name, begin_month, end_month, state, run_after, created_at)
       SELECT i.id, $1, $2, $3, $4, i.report_name, i.begin_month, i.end_month, 'queued', $5, $5
       FROM unnest($6::uuid[], $7::text[], $8::text[], $9::text[]) WITH ORDINALITY
         AS i(id, report_name, begin_month, end_month, n)
       ORDER BY i.n`,
      [
        job.tenant,
        job.jobId,
        job.providerId,
        job.endpoint,
        new Date(now),
        items.map(() => randomUUID()),
        items.map((i) => i.reportName),
        items.map((i) => i.begin),
        items.map((i) => i.end),
      ],
    );
  }

  /** Claims the next request that politeness allows, or undefined. */
  async claim(now: number): Promise<ClaimedItem | undefined> {
    return (await this.claimMany(now, 1))[0];
  }

  /**
   * Claims up to `max` requests that politeness allows, in queue order, in one statement: the items
   * `max` claims one after the other would take. Each job gets at most its free slots (the provider
   * request limit, 1 when rate limited, minus its live requests), then each endpoint at most its own
   * (`max_in_flight` minus its live requests); as all items of a job share its endpoint, an item the
   * endpoint refuses is never followed by an accepted one of the same job.
   */
  async claimMany(now: number, max: number): Promise<ClaimedItem[]> {
    if (max <= 0) return [];
    await this.refreshStatistics();
    const sql = this.claimSql();
    const params = [
      this.lease.owner,
      new Date(now),
      this.lease.aliveSince(now),
      this.providerRequestConcurrency,
      max,
    ];
    const db = this.db;
    // The embedded database runs one statement at a time: the claim needs no lock (nor transaction).
    // On PostgreSQL the lock and the claim go together in one round trip where the driver can.
    const res =
      db.kind === 'pglite'
        ? await db.query<ClaimRow>(sql, params)
        : db.queryUnderLock
          ? await db.queryUnderLock<ClaimRow>(WORK_ITEM_CLAIM_LOCK, sql, params)
          : await db.transaction(async (tx) => {
              await lockWorkItemClaims(tx);
              return tx.query<ClaimRow>(sql, params);
            });
    const rows = res.rows;
    rows.sort(
      (a, b) =>
        new Date(a.run_after).getTime() - new Date(b.run_after).getTime() || Number(a.seq) - Number(b.seq),
    );
    return rows.map((row) => ({
      ...toItem(row),
      run: row.has_run ? { rateLimited: row.rate_limited === true, failure: row.failure ?? undefined } : null,
      ...(row.max_in_flight === 1 && { pace: row.has_pace ? toPace(row) : NO_PACE }),
    }));
  }

  /** On PGlite, ANALYZE of the claim's tables once enough items were enqueued since the last one. */
  private async refreshStatistics(): Promise<void> {
    const db = this.db;
    if (db.kind !== 'pglite' || countersOf(db).analyze < ANALYZE_AFTER_ITEMS) return;
    countersOf(db).analyze = 0;
    // A few milliseconds for thousands of items; prepared claims are planned again with the new figures.
    await db.query(`ANALYZE ${CLAIM_TABLES.join(', ')}`);
  }

  /**
   * On PGlite, when no work item is left and enough were enqueued since the last time, VACUUM (with
   * ANALYZE) of the claim's tables: the space of the harvest's dead rows is reused and the files stop
   * growing with every harvest. Called when a job ends; a few milliseconds. Whether it ran.
   */
  async tidyIfIdle(): Promise<boolean> {
    const db = this.db;
    if (db.kind !== 'pglite' || countersOf(db).vacuum < VACUUM_AFTER_ITEMS) return false;
    const res = await db.query<{ busy: boolean }>(`SELECT EXISTS (SELECT 1 FROM ${WORK_ITEMS}) AS busy`);
    if (res.rows[0].busy) return false;
    enqueuedSince.set(db, { analyze: 0, vacuum: 0 });
    await db.query(`VACUUM (ANALYZE) ${CLAIM_TABLES.join(', ')}`);
    return true;
  }

  /**
   * The statement of `claimMany` (run under the claim lock where other processes claim); parameters:
   * owner, now, alive since, provider request limit, max.
   */
  private claimSql(): string {
    return (
      // The live requests per endpoint and per job are counted once and joined as hashed sets: per-row
      // counts over the live items cost a scan of them for every queued item (the queue's length).
      // The queued items are grouped by job and endpoint first; the limits are looked up per group, and
      // only a group's first items (as many as both its limits allow, through the job index) are
      // ranked: joins and windows over a few rows per provider, not over the whole queue (about a
      // fifth less time per claim on PGlite with 3,000 items, bench/harvest-claim.ts).
      `WITH live AS (
           SELECT endpoint, job_id FROM ${WORK_ITEMS}
           WHERE state = 'running' AND heartbeat_at >= $3
         ),
         endpoint_live AS (SELECT endpoint, count(*)::int AS n FROM live GROUP BY endpoint),
         job_live AS (SELECT job_id, count(*)::int AS n FROM live GROUP BY job_id),
         groups AS (
           SELECT job_id, endpoint FROM ${WORK_ITEMS}
           WHERE state = 'queued' AND run_after <= $2
           GROUP BY job_id, endpoint
         ),
         open_groups AS (
           SELECT g.job_id, g.endpoint,
                  COALESCE(e.max_in_flight, 1) - COALESCE(el.n, 0) AS endpoint_free,
                  (CASE WHEN r.rate_limited THEN 1 ELSE $4::int END) - COALESCE(jl.n, 0) AS job_free
           FROM groups g
           LEFT JOIN ${ENDPOINTS} e ON e.key = g.endpoint
           LEFT JOIN ${HARVEST_RUNS} r ON r.job_id = g.job_id
           LEFT JOIN endpoint_live el ON el.endpoint = g.endpoint
           LEFT JOIN job_live jl ON jl.job_id = g.job_id
           WHERE (e.key IS NULL OR e.next_allowed_at <= $2)
             AND (r.job_id IS NULL OR r.next_allowed_at <= $2)
         ),
         firsts AS (
           SELECT w.id, w.endpoint, w.job_id, w.run_after, w.seq, o.endpoint_free, o.job_free
           FROM open_groups o CROSS JOIN LATERAL (
             SELECT id, endpoint, job_id, run_after, seq FROM ${WORK_ITEMS} i
             WHERE i.job_id = o.job_id AND i.endpoint = o.endpoint AND i.state = 'queued' AND i.run_after <= $2
             ORDER BY run_after, seq LIMIT LEAST(o.job_free, o.endpoint_free)
           ) w
           WHERE o.endpoint_free > 0 AND o.job_free > 0
         ),
         by_job AS (
           SELECT *, row_number() OVER (PARTITION BY job_id ORDER BY run_after, seq) AS job_rank
           FROM firsts
         ),
         by_endpoint AS (
           SELECT *, row_number() OVER (PARTITION BY endpoint ORDER BY run_after, seq) AS endpoint_rank
           FROM by_job WHERE job_rank <= job_free
         ),
         candidate AS (
           SELECT id, job_id, endpoint FROM by_endpoint WHERE endpoint_rank <= endpoint_free
           ORDER BY run_after, seq LIMIT $5
         )
         UPDATE ${WORK_ITEMS} w
         SET ${TAKE}
         FROM candidate c LEFT JOIN ${HARVEST_RUNS} r ON r.job_id = c.job_id
           LEFT JOIN ${ENDPOINTS} e ON e.key = c.endpoint
           LEFT JOIN ${ENDPOINT_PACE} p ON p.key = c.endpoint
         WHERE w.id = c.id
         RETURNING w.id, w.tenant, w.job_id, w.provider_id, w.endpoint, w.report_name, w.begin_month,
                   w.end_month, w.rate_limit_retries, w.deferrals, w.first_deferred_at, w.run_after, w.seq,
                   r.job_id IS NOT NULL AS has_run, r.rate_limited, r.failure,
                   COALESCE(e.max_in_flight, 1) AS max_in_flight, p.key IS NOT NULL AS has_pace,
                   p.interval_ms, p.limited_since, p.last_limit_at, p.last_answer_at, p.rate_limits`
    );
  }

  /** Refreshes the heartbeat of every item this process is working on. */
  async heartbeat(now: number): Promise<void> {
    await this.lease.heartbeat(this.db, now);
  }

  /** Puts the item back with a not-before time (deferral or rate-limit retry). */
  async requeue(
    item: ClaimedItem,
    runAfter: number,
    changes: { rateLimitRetries?: number; deferrals?: number; firstDeferredAt?: number },
  ): Promise<void> {
    await this.db.query(
      `UPDATE ${WORK_ITEMS}
       SET ${GIVE_BACK}, run_after = $2, attempts = 0,
           rate_limit_retries = $3, deferrals = $4, first_deferred_at = $5
       WHERE id = $1`,
      [
        item.id,
        new Date(runAfter),
        changes.rateLimitRetries ?? item.rateLimitRetries,
        changes.deferrals ?? item.deferrals,
        changes.firstDeferredAt === undefined && item.firstDeferredAt === undefined
          ? null
          : new Date(changes.firstDeferredAt ?? item.firstDeferredAt!),
      ],
    );
  }

  /** Replaces a range with its single months (an invalid answer to a multi-month request). */
  async expand(item: ClaimedItem, months: WorkItem[], now: number): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query(`DELETE FROM ${WORK_ITEMS} WHERE id = $1`, [item.id]);
      await this.enqueue(tx, item, months, now);
    });
  }

  async remove(id: string): Promise<void> {
    await this.db.query(`DELETE FROM ${WORK_ITEMS} WHERE id = $1`, [id]);
  }

  /**
   * After a request: removes its item (when `item` is given: the request is done) and releases its
   * endpoint (endpoints.ts `releaseEndpoint`), in one statement, which also counts the job's other
   * items as it sees them (undefined without `item`; see `JobItemsLeft`) and, with `report`, adds the
   * request's stored months to its job's report and counts its upload (job-info.ts `jobReportCtes`).
   */
  async removeAndRelease(
    item: { id: string; jobId: string; tenant: string } | undefined,
    endpoint: string,
    now: number,
    extraWaitMs: number,
    report?: JobReportDelta,
  ): Promise<JobItemsLeft | undefined> {
    if (item === undefined) {
      await releaseEndpoint(this.db, endpoint, now, extraWaitMs);
      return undefined;
    }
    const params: unknown[] = [endpoint, new Date(now), extraWaitMs, item.id, item.jobId];
    const ctes = [
      `done AS (DELETE FROM ${WORK_ITEMS} WHERE id = $4)`,
      `released AS (UPDATE ${ENDPOINTS} SET ${RELEASE_ENDPOINT} WHERE key = $1)`,
    ];
    if (report) {
      const job = jobReportCtes(item.tenant, 5, params.length + 1, report);
      ctes.push(...job.ctes);
      params.push(...job.params);
    }
    const res = await this.db.query<{ n: number; running: number }>(
      `WITH ${ctes.join(',\n       ')}
       SELECT count(*)::int AS n, count(*) FILTER (WHERE state = 'running')::int AS running
       FROM ${WORK_ITEMS} WHERE job_id = $5 AND id <> $4`,
      params,
    );
    const { n, running } = res.rows[0];
    // One statement at a time (the embedded database), or no other request of the job in flight: a
    // queued item leaves the queue only when a request takes it (seen running here) or by `takeQueued`,
    // which a request of the same job does (seen running here too).
    return { left: n, exact: this.db.kind === 'pglite' || n === 0 || running === 0 };
  }

  /** Removes the job's queued items (optionally of one report) and returns them. */
  async takeQueued(jobId: string, reportName?: string): Promise<ClaimedItem[]> {
    const res = await this.db.query<ItemRow>(
      `DELETE FROM ${WORK_ITEMS}
       WHERE job_id = $1 AND state = 'queued' AND ($2::text IS NULL OR lower(report_name) = lower($2))
       RETURNING ${ITEM_COLUMNS}`,
      [jobId, reportName ?? null],
    );
    return res.rows.map(toItem);
  }

  async pendingForJob(jobId: string): Promise<ClaimedItem[]> {
    const res = await this.db.query<ItemRow>(
      `SELECT ${ITEM_COLUMNS} FROM ${WORK_ITEMS} WHERE job_id = $1 ORDER BY seq`,
      [jobId],
    );
    return res.rows.map(toItem);
  }

  async countForJob(jobId: string): Promise<number> {
    const res = await this.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${WORK_ITEMS} WHERE job_id = $1`,
      [jobId],
    );
    return res.rows[0].n;
  }

  /**
   * Running items whose process is dead go back to the queue (Lease.reclaim; `starting` at start-up).
   * Returns how many.
   */
  async reclaimDead(now: number, starting?: { all: boolean }): Promise<number> {
    return (await this.lease.reclaim(this.db, now, { starting })).length;
  }

  /** This process's running items go back to the queue (a clean stop; the attempt is not counted). */
  async giveBackMine(): Promise<void> {
    await this.lease.giveBackMine(this.db);
  }
}

/** Deletes every work item of the tenant (tenant purge): nothing is fetched for a tenant that is gone. */
export async function deleteTenantWorkItems(db: Queryable, tenant: string): Promise<void> {
  await db.query(`DELETE FROM ${WORK_ITEMS} WHERE tenant = $1`, [tenant]);
}

/** Work items by state, for the metrics. */
export async function countWorkItemsByState(db: Queryable): Promise<{ state: string; n: number }[]> {
  const res = await db.query<{ state: string; n: string }>(
    `SELECT state, count(*)::text AS n FROM ${WORK_ITEMS} GROUP BY state`,
  );
  return res.rows.map((r) => ({ state: r.state, n: Number(r.n) }));
}
