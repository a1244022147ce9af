/**
 * The durable work queue `harvester.queue`, shared by every process on the database. A row exists from the
 * moment a one-shot job is accepted until it has finished:
 *
 * - `queued`: waiting for a worker (its JobInfo has `nextStart`);
 * - `running`: claimed by the process `locked_by`, which refreshes `heartbeat_at` while it executes.
 *
 * A job is *active* (§6.4) while its row is queued, or running with a heartbeat newer than the stale
 * heartbeat limit; a running row whose process died stops being active and is reaped.
 * Accepting a job (uniqueness check, JobInfo insert, queue insert) happens in one transaction under a
 * per-tenant advisory lock, so two concurrent /start calls cannot both succeed. Workers claim rows with
 * `FOR UPDATE SKIP LOCKED`, so each job executes once.
 */
import { randomUUID } from 'node:crypto';
import type { Db, Queryable } from '../store/db.ts';
import { formatDateTime } from '../dates.ts';
import { saveJobInfo, type JobInfo } from './job-info.ts';

export type QueueKind = 'tenant' | 'provider';

export interface QueuedJob {
  id: string;
  tenant: string;
  kind: QueueKind;
  providerId?: string;
  /** Creation time, the JobInfo `timestamp`. */
  timestamp: number;
  /** When this process claimed it (the JobInfo `startedAt` of the finished row). */
  startedAt: number;
}

/** Refused by the uniqueness rules of §6.4; the message is FOLIO's. */
export class JobConflictError extends Error {
  override name = 'SchedulerException';
}

export const tenantBusyMessage = (tenant: string) =>
  `Harvesting for tenant '${tenant}' is already in progress`;
export const providerBusyMessage = (id: string) =>
  `A job for provider with id '${id}' is already scheduled/running`;

/** Namespace of the per-tenant advisory locks (the second key is hashtext(tenant)). */
const TENANT_LOCK = 727_274_002;

interface QueueRow {
  id: string;
  tenant: string;
  kind: QueueKind;
  provider_id: string | null;
  payload: { timestamp?: number };
  started_at: Date | string | null;
}

function toQueuedJob(row: QueueRow, fallbackNow: number): QueuedJob {
  return {
    id: row.id,
    tenant: row.tenant,
    kind: row.kind,
    providerId: row.provider_id ?? undefined,
    timestamp: row.payload.timestamp ?? fallbackNow,
    startedAt: row.started_at === null ? fallbackNow : new Date(row.started_at).getTime(),
  };
}

/** The JobInfo of a one-shot job without its timing fields. */
export function baseJobInfo(job: Pick<QueuedJob, 'id' | 'kind' | 'providerId' | 'timestamp'>): JobInfo {
  return { id: job.id, type: job.kind, providerId: job.providerId, timestamp: job.timestamp };
}

export interface QueueOptions {
  instanceId: string;
  /** A running job whose heartbeat is older than this is no longer alive. */
  staleHeartbeatMs: number;
}

export class JobQueue {
  constructor(
    private readonly db: Db,
    private readonly opts: QueueOptions,
  ) {}

  private aliveSince(now: number): Date {
    return new Date(now - this.opts.staleHeartbeatMs);
  }

  /** Takes the tenant's lock for the rest of the transaction `tx`. */
  static async lockTenant(tx: Queryable, tenant: string): Promise<void> {
    await tx.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [TENANT_LOCK, tenant]);
  }

  /** Active jobs of the tenant of the given kinds (optionally of one provider). */
  private async countActive(
    tx: Queryable,
    tenant: string,
    kinds: QueueKind[],
    now: number,
    providerId?: string,
  ): Promise<number> {
    const res = await tx.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM harvester.queue
       WHERE tenant = $1 AND kind = ANY($2::text[])
         AND ($3::text IS NULL OR provider_id = $3)
         AND (state IN ('queued', 'waiting') OR heartbeat_at >= $4)`,
      [tenant, kinds, providerId ?? null, this.aliveSince(now)],
    );
    return Number(res.rows[0].n);
  }

  /**
   * Accepts a one-shot job: checks the uniqueness rule, writes the scheduled JobInfo and the queue row in one
   * transaction. Throws JobConflictError when refused. Returns the job id.
   */
  async enqueue(tenant: string, kind: QueueKind, now: number, providerId?: string): Promise<string> {
    const id = randomUUID();
    await this.db.transaction(async (tx) => {
      await JobQueue.lockTenant(tx, tenant);
      if (kind === 'tenant' && (await this.countActive(tx, tenant, ['tenant', 'provider'], now)) > 0)
        throw new JobConflictError(tenantBusyMessage(tenant));
      if (kind === 'provider' && (await this.countActive(tx, tenant, ['provider'], now, providerId)) > 0)
        throw new JobConflictError(providerBusyMessage(providerId ?? ''));
      await saveJobInfo(tx, tenant, {
        ...baseJobInfo({ id, kind, providerId, timestamp: now }),
        nextStart: formatDateTime(now),
      });
      await tx.query(
        `INSERT INTO harvester.queue (id, tenant, kind, provider_id, payload, state, run_after, created_at)
         VALUES ($1, $2, $3, $4, $5::jsonb, 'queued', $6, $6)`,
        [id, tenant, kind, providerId ?? null, JSON.stringify({ timestamp: now }), new Date(now)],
      );
    });
    return id;
  }

  /**
   * Claims the oldest due queued job of one of `kinds` for this process and writes its running JobInfo
   * (no `nextStart`, no `startedAt`), in one transaction. Undefined when there is none.
   */
  async claim(kinds: QueueKind[], now: number): Promise<QueuedJob | undefined> {
    return this.db.transaction(async (tx) => {
      const res = await tx.query<QueueRow>(
        `UPDATE harvester.queue AS q
         SET state = 'running', locked_by = $1, started_at = $2, heartbeat_at = $2, attempts = q.attempts + 1
         WHERE q.id = (
           SELECT id FROM harvester.queue
           WHERE state = 'queued' AND kind = ANY($3::text[]) AND run_after <= $2
           ORDER BY run_after, seq
           LIMIT 1
           FOR UPDATE SKIP LOCKED)
         RETURNING q.id, q.tenant, q.kind, q.provider_id, q.payload, q.started_at`,
        [this.opts.instanceId, new Date(now), kinds],
      );
      const row = res.rows[0];
      if (!row) return undefined;
      const job = toQueuedJob(row, now);
      await saveJobInfo(tx, job.tenant, baseJobInfo(job));
      return job;
    });
  }

  /** Refreshes the heartbeat of every job this process is running. */
  async heartbeat(now: number): Promise<void> {
    await this.db.query(
      `UPDATE harvester.queue SET heartbeat_at = $2 WHERE locked_by = $1 AND state = 'running'`,
      [this.opts.instanceId, new Date(now)],
    );
  }

  /** Writes the finished JobInfo and removes the queue row, in one transaction. */
  async finish(job: QueuedJob, info: JobInfo): Promise<void> {
    await this.db.transaction(async (tx) => {
      await saveJobInfo(tx, job.tenant, info);
      await tx.query('DELETE FROM harvester.queue WHERE id = $1', [job.id]);
    });
  }

  /**
   * A provider job whose requests are now durable work items (src/harvest): its row becomes `waiting` — not
   * claimable, still active and live — until the last item is done. Runs in the caller's transaction, the
   * one that stores the items, so a crash leaves either both or neither.
   */
  async detach(tx: Queryable, jobId: string): Promise<void> {
    await tx.query(`UPDATE harvester.queue SET state = 'waiting', locked_by = NULL WHERE id = $1`, [jobId]);
  }

  /**
   * Ends a waiting job: writes its finished JobInfo and removes the row, once — false when another
   * process already did.
   */
  async completeWaiting(jobId: string, now: number, errorMessage?: string): Promise<QueuedJob | undefined> {
    return this.db.transaction(async (tx) => {
      const res = await tx.query<QueueRow>(
        `DELETE FROM harvester.queue WHERE id = $1 AND state = 'waiting'
         RETURNING id, tenant, kind, provider_id, payload, started_at`,
        [jobId],
      );
      const row = res.rows[0];
      if (!row) return undefined;
      const job = toQueuedJob(row, now);
      await saveJobInfo(tx, job.tenant, {
        ...baseJobInfo(job),
        startedAt: formatDateTime(job.startedAt),
        finishedAt: formatDateTime(Math.max(now, job.startedAt)),
        result: errorMessage === undefined ? 'success' : 'failure',
        errorMessage,
      });
      return job;
    });
  }

  /**
   * At start-up: running jobs left by a process that is gone go back to the queue, to be executed again —
   * on an embedded database every running row (it has one owner: whoever ran them is dead), on PostgreSQL
   * those of this instance id (a restart). A job already tried `maxAttempts` times stays as it is (a job
   * that kills its process is not retried forever; purgestale marks it). Returns the ids re-queued.
   */
  async requeueOrphaned(all: boolean, now: number, maxAttempts = 3): Promise<string[]> {
    const res = await this.db.query<{ id: string }>(
      `UPDATE harvester.queue SET state = 'queued', locked_by = NULL, heartbeat_at = NULL, run_after = $3
       WHERE state = 'running' AND ($1 OR locked_by = $2) AND attempts < $4
       RETURNING id`,
      [all, this.opts.instanceId, new Date(now), maxAttempts],
    );
    return res.rows.map((r) => r.id);
  }

  /** Deletes running rows whose process stopped sending heartbeats; their JobInfos become orphans. */
  async reapDead(now: number, tenant?: string): Promise<number> {
    const res = await this.db.query(
      `DELETE FROM harvester.queue
       WHERE state = 'running' AND heartbeat_at < $1 AND ($2::text IS NULL OR tenant = $2)`,
      [this.aliveSince(now), tenant ?? null],
    );
    return res.rowCount;
  }
}
