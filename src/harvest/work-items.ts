/**
 * The durable list of requests still to make, shared by every process on the database
 * (`harvester.work_items`), and the politeness rules that decide which request may go next.
 *
 * A request is claimed only when its endpoint has fewer than `max_in_flight` live requests (over all
 * processes), the endpoint's spacing has passed, and its provider job is below its own request limit.
 * Claims are serialised by one advisory lock so that these counts are exact; a claim is a short
 * statement, so the lock is held only briefly. A running item whose process stops heartbeating is put
 * back in the queue (its outcome is stored with idempotent upserts, so a repeat is harmless).
 */
import { randomUUID } from 'node:crypto';
import type { Db, Queryable } from '../store/db.ts';
import type { WorkItem } from './planner.ts';

const CLAIM_LOCK = 727_274_010;

export interface ClaimedItem extends WorkItem {
  id: string;
  tenant: string;
  jobId: string;
  providerId: string;
  endpoint: string;
  rateLimitRetries: number;
  deferrals: number;
  firstDeferredAt?: number;
}

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

export interface EndpointPoliteness {
  maxInFlight: number;
  minIntervalMs: number;
}

export class WorkItemQueue {
  constructor(
    private readonly db: Db,
    private readonly instanceId: string,
    private readonly staleHeartbeatMs: number,
    private readonly providerRequestConcurrency: number,
  ) {}

  /** Records the politeness settings of an endpoint (the latest provider to plan wins). */
  async configureEndpoint(tx: Queryable, key: string, p: EndpointPoliteness): Promise<void> {
    await tx.query(
      `INSERT INTO harvester.endpoints (key, max_in_flight, min_interval_ms) VALUES ($1, $2, $3)
       ON CONFLICT (key) DO UPDATE SET max_in_flight = EXCLUDED.max_in_flight, min_interval_ms = EXCLUDED.min_interval_ms`,
      [key, p.maxInFlight, p.minIntervalMs],
    );
  }

  async enqueue(
    tx: Queryable,
    job: { tenant: string; jobId: string; providerId: string; endpoint: string },
    items: WorkItem[],
    now: number,
  ): Promise<void> {
    for (const item of items) {
      await tx.query(
        `INSERT INTO harvester.work_items
           (id, tenant, job_id, provider_id, endpoint, report_name, begin_month, end_month, state, run_after, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'queued', $9, $9)`,
        [
          randomUUID(),
          job.tenant,
          job.jobId,
          job.providerId,
          job.endpoint,
          item.reportName,
          item.begin,
          item.end,
          new Date(now),
        ],
      );
    }
  }

  /** Claims the next request that politeness allows, or undefined. */
  async claim(now: number): Promise<ClaimedItem | undefined> {
    const nowDate = new Date(now);
    const alive = new Date(now - this.staleHeartbeatMs);
    return this.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [CLAIM_LOCK]);
      const res = await tx.query<ItemRow>(
        // The endpoints and jobs at their limit are computed once and probed as hashed sets: per-row
        // counts over the live items cost a scan of them for every queued item ahead of the first
        // candidate (all the items of the busy endpoints), which made each claim grow with the queue.
        `WITH live AS (
           SELECT endpoint, job_id FROM harvester.work_items
           WHERE state = 'running' AND heartbeat_at >= $3
         ),
         full_endpoints AS (
           SELECT l.endpoint FROM live l LEFT JOIN harvester.endpoints e ON e.key = l.endpoint
           GROUP BY l.endpoint, e.max_in_flight
           HAVING count(*) >= COALESCE(e.max_in_flight, 1)
         ),
         full_jobs AS (
           SELECT l.job_id FROM live l LEFT JOIN harvester.harvest_runs r ON r.job_id = l.job_id
           GROUP BY l.job_id, r.rate_limited
           HAVING count(*) >= CASE WHEN r.rate_limited THEN 1 ELSE $4::int END
         ),
         candidate AS (
           SELECT w.id FROM harvester.work_items w
           LEFT JOIN harvester.endpoints e ON e.key = w.endpoint
           LEFT JOIN harvester.harvest_runs r ON r.job_id = w.job_id
           WHERE w.state = 'queued' AND w.run_after <= $2
             AND (e.key IS NULL OR e.next_allowed_at <= $2)
             AND (r.job_id IS NULL OR r.next_allowed_at <= $2)
             AND w.endpoint NOT IN (SELECT endpoint FROM full_endpoints)
             AND w.job_id NOT IN (SELECT job_id FROM full_jobs)
           ORDER BY w.run_after, w.seq
           LIMIT 1
         )
         UPDATE harvester.work_items w
         SET state = 'running', locked_by = $1, heartbeat_at = $2
         FROM candidate c WHERE w.id = c.id
         RETURNING w.id, w.tenant, w.job_id, w.provider_id, w.endpoint, w.report_name, w.begin_month,
                   w.end_month, w.rate_limit_retries, w.deferrals, w.first_deferred_at`,
        [this.instanceId, nowDate, alive, this.providerRequestConcurrency],
      );
      return res.rows[0] ? toItem(res.rows[0]) : undefined;
    });
  }

  /** After a request: the endpoint may be used again after its spacing (or a longer back-off). */
  async releaseEndpoint(key: string, now: number, extraWaitMs = 0): Promise<void> {
    await this.db.query(
      `UPDATE harvester.endpoints
       SET next_allowed_at = GREATEST(next_allowed_at, $2::timestamptz + make_interval(secs => (min_interval_ms + $3::int) / 1000.0))
       WHERE key = $1`,
      [key, new Date(now), extraWaitMs],
    );
  }

  async heartbeat(now: number): Promise<void> {
    await this.db.query(
      `UPDATE harvester.work_items SET heartbeat_at = $2 WHERE locked_by = $1 AND state = 'running'`,
      [this.instanceId, new Date(now)],
    );
  }

  /** Puts the item back with a not-before time (deferral or rate-limit retry). */
  async requeue(
    item: ClaimedItem,
    runAfter: number,
    changes: { rateLimitRetries?: number; deferrals?: number; firstDeferredAt?: number },
  ): Promise<void> {
    await this.db.query(
      `UPDATE harvester.work_items
       SET state = 'queued', locked_by = NULL, heartbeat_at = NULL, run_after = $2,
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
      await tx.query('DELETE FROM harvester.work_items WHERE id = $1', [item.id]);
      await this.enqueue(tx, item, months, now);
    });
  }

  async remove(id: string): Promise<void> {
    await this.db.query('DELETE FROM harvester.work_items WHERE id = $1', [id]);
  }

  /** Removes the job's queued items (optionally of one report) and returns them. */
  async takeQueued(jobId: string, reportName?: string): Promise<ClaimedItem[]> {
    const res = await this.db.query<ItemRow>(
      `DELETE FROM harvester.work_items
       WHERE job_id = $1 AND state = 'queued' AND ($2::text IS NULL OR lower(report_name) = lower($2))
       RETURNING id, tenant, job_id, provider_id, endpoint, report_name, begin_month, end_month,
                 rate_limit_retries, deferrals, first_deferred_at`,
      [jobId, reportName ?? null],
    );
    return res.rows.map(toItem);
  }

  async pendingForJob(jobId: string): Promise<ClaimedItem[]> {
    const res = await this.db.query<ItemRow>(
      `SELECT id, tenant, job_id, provider_id, endpoint, report_name, begin_month, end_month,
              rate_limit_retries, deferrals, first_deferred_at
       FROM harvester.work_items WHERE job_id = $1 ORDER BY seq`,
      [jobId],
    );
    return res.rows.map(toItem);
  }

  async countForJob(jobId: string): Promise<number> {
    const res = await this.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM harvester.work_items WHERE job_id = $1',
      [jobId],
    );
    return res.rows[0].n;
  }

  /** Provider jobs handed to work items that have none left (their end was not recorded). */
  async waitingJobsWithoutItems(): Promise<string[]> {
    const res = await this.db.query<{ id: string }>(
      `SELECT q.id FROM harvester.queue q
       WHERE q.state = 'waiting'
         AND NOT EXISTS (SELECT 1 FROM harvester.work_items w WHERE w.job_id = q.id)`,
    );
    return res.rows.map((r) => r.id);
  }

  /** Running items whose process stopped heartbeating go back to the queue. */
  async requeueDead(now: number): Promise<number> {
    const res = await this.db.query(
      `UPDATE harvester.work_items SET state = 'queued', locked_by = NULL, heartbeat_at = NULL
       WHERE state = 'running' AND heartbeat_at < $1`,
      [new Date(now - this.staleHeartbeatMs)],
    );
    return res.rowCount;
  }

  /** Every running item goes back to the queue (start of the single owner of an embedded database). */
  async requeueAllRunning(): Promise<void> {
    await this.db.query(
      `UPDATE harvester.work_items SET state = 'queued', locked_by = NULL, heartbeat_at = NULL WHERE state = 'running'`,
    );
  }

  /** Items of this process (after a restart with the same instance id) go back to the queue. */
  async requeueOwn(): Promise<void> {
    await this.db.query(
      `UPDATE harvester.work_items SET state = 'queued', locked_by = NULL, heartbeat_at = NULL
       WHERE state = 'running' AND locked_by = $1`,
      [this.instanceId],
    );
  }
}
