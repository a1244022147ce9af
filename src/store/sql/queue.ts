/**
 * `harvester.queue`: one row per accepted one-shot job (tenant or provider job) until it has finished.
 * `queued` → `running` (leased, see lease.ts) → deleted when finished; a provider job whose requests
 * became work items is `waiting` (not claimable, still active) until its last item is done.
 */
import type { Queryable } from '../db.ts';
import { Lease, MAX_ATTEMPTS, TAKE } from './lease.ts';
import { systemTable } from './schema.ts';
import { WORK_ITEMS } from './work-items.ts';

export const QUEUE = systemTable('queue');

export type QueueKind = 'tenant' | 'provider';

export interface QueueRow {
  id: string;
  tenant: string;
  kind: QueueKind;
  provider_id: string | null;
  payload: { timestamp?: number };
  started_at: Date | string | null;
}

const ROW = 'id, tenant, kind, provider_id, payload, started_at';

/** The lease of this process on queue rows. */
export function queueLease(instanceId: string, staleHeartbeatMs: number): Lease {
  return new Lease(QUEUE, instanceId, staleHeartbeatMs, MAX_ATTEMPTS);
}

/**
 * SQL condition: the queue row `alias` is live — queued, waiting, running with a heartbeat at or after the
 * parameter `aliveSince`, or running under a dead holder but taken fewer than MAX_ATTEMPTS times (a live
 * process hands it back, lease.ts). Only a row whose holder died MAX_ATTEMPTS times is not.
 */
export function liveJob(alias: string, aliveSince: string): string {
  return `(${alias}.state IN ('queued', 'waiting') OR ${alias}.heartbeat_at >= ${aliveSince} OR ${alias}.attempts < ${MAX_ATTEMPTS})`;
}

/** Active jobs of the tenant of the given kinds (optionally of one provider): their rows are live. */
export async function countActive(
  tx: Queryable,
  tenant: string,
  kinds: QueueKind[],
  aliveSince: Date,
  providerId?: string,
): Promise<number> {
  const res = await tx.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM ${QUEUE} q
     WHERE tenant = $1 AND kind = ANY($2::text[])
       AND ($3::text IS NULL OR provider_id = $3)
       AND ${liveJob('q', '$4')}`,
    [tenant, kinds, providerId ?? null, aliveSince],
  );
  return Number(res.rows[0].n);
}

/** The providers among `providerIds` that have an active provider job of the tenant. */
export async function activeProviders(
  tx: Queryable,
  tenant: string,
  providerIds: string[],
  aliveSince: Date,
): Promise<string[]> {
  const res = await tx.query<{ provider_id: string }>(
    `SELECT DISTINCT provider_id FROM ${QUEUE} q
     WHERE tenant = $1 AND kind = 'provider' AND provider_id = ANY($2::text[]) AND ${liveJob('q', '$3')}`,
    [tenant, providerIds, aliveSince],
  );
  return res.rows.map((r) => r.provider_id);
}

/** Queues provider jobs of one tenant in one statement, in the order given (their `seq`). */
export async function insertProviderJobs(
  tx: Queryable,
  tenant: string,
  jobs: { id: string; providerId: string }[],
  now: number,
): Promise<void> {
  await tx.query(
    `INSERT INTO ${QUEUE} (id, tenant, kind, provider_id, payload, state, run_after, created_at)
     SELECT j.id, $3, 'provider', j.provider_id, $4::jsonb, 'queued', $5, $5
     FROM unnest($1::uuid[], $2::text[]) WITH ORDINALITY AS j(id, provider_id, ord)
     ORDER BY j.ord`,
    [
      jobs.map((j) => j.id),
      jobs.map((j) => j.providerId),
      tenant,
      JSON.stringify({ timestamp: now }),
      new Date(now),
    ],
  );
}

export async function insertJob(
  tx: Queryable,
  job: { id: string; tenant: string; kind: QueueKind; providerId?: string },
  now: number,
): Promise<void> {
  await tx.query(
    `INSERT INTO ${QUEUE} (id, tenant, kind, provider_id, payload, state, run_after, created_at)
     VALUES ($1, $2, $3, $4, $5::jsonb, 'queued', $6, $6)`,
    [job.id, job.tenant, job.kind, job.providerId ?? null, JSON.stringify({ timestamp: now }), new Date(now)],
  );
}

/**
 * Whether a queued job of one of `kinds` is due (what `claimJob` would look for), read without a lock:
 * a poll that finds none needs no transaction.
 */
export async function anyDueJob(db: Queryable, kinds: QueueKind[], now: number): Promise<boolean> {
  const res = await db.query<{ due: boolean }>(
    `SELECT EXISTS (
       SELECT 1 FROM ${QUEUE} WHERE state = 'queued' AND kind = ANY($1::text[]) AND run_after <= $2
     ) AS due`,
    [kinds, new Date(now)],
  );
  return res.rows[0].due;
}

/** Takes the oldest due queued job of one of `kinds` for `owner`; undefined when there is none. */
export async function claimJob(
  tx: Queryable,
  owner: string,
  kinds: QueueKind[],
  now: number,
): Promise<QueueRow | undefined> {
  const res = await tx.query<QueueRow>(
    `UPDATE ${QUEUE} AS q
     SET ${TAKE}, started_at = $2
     WHERE q.id = (
       SELECT id FROM ${QUEUE}
       WHERE state = 'queued' AND kind = ANY($3::text[]) AND run_after <= $2
       ORDER BY run_after, seq
       LIMIT 1
       FOR UPDATE SKIP LOCKED)
     RETURNING q.id, q.tenant, q.kind, q.provider_id, q.payload, q.started_at`,
    [owner, new Date(now), kinds],
  );
  return res.rows[0];
}

/**
 * Removes a finished job's row if `owner` still holds it. 'gone' when there is no row (purgestale reaped
 * it: the job's end is still recorded), 'taken' when another process holds it or it was handed back
 * (this process lost its lease: the other run records the end).
 */
export async function deleteHeldJob(
  tx: Queryable,
  id: string,
  owner: string,
): Promise<'deleted' | 'gone' | 'taken'> {
  const res = await tx.query(`DELETE FROM ${QUEUE} WHERE id = $1 AND state = 'running' AND locked_by = $2`, [
    id,
    owner,
  ]);
  if (res.rowCount > 0) return 'deleted';
  const left = await tx.query(`SELECT 1 FROM ${QUEUE} WHERE id = $1`, [id]);
  return left.rows.length > 0 ? 'taken' : 'gone';
}

/**
 * The job continues as work items: not claimable, still active, until its last item is done. False when
 * `owner` no longer holds the row (its lease was lost: another process runs the job).
 */
export async function markWaiting(tx: Queryable, id: string, owner: string): Promise<boolean> {
  const res = await tx.query(
    `UPDATE ${QUEUE} SET state = 'waiting', locked_by = NULL
     WHERE id = $1 AND state = 'running' AND locked_by = $2`,
    [id, owner],
  );
  return res.rowCount > 0;
}

/** Deletes a waiting job and returns it; undefined when it is not (or no longer) waiting. */
export async function deleteWaiting(tx: Queryable, id: string): Promise<QueueRow | undefined> {
  const res = await tx.query<QueueRow>(
    `DELETE FROM ${QUEUE} WHERE id = $1 AND state = 'waiting'
     RETURNING ${ROW}`,
    [id],
  );
  return res.rows[0];
}

/** Deletes the rows that are no longer live (see liveJob) of one tenant, or all. */
export async function deleteDead(db: Queryable, aliveSince: Date, tenant?: string): Promise<number> {
  const res = await db.query(
    `DELETE FROM ${QUEUE} q
     WHERE state = 'running' AND NOT ${liveJob('q', '$1')} AND ($2::text IS NULL OR tenant = $2)`,
    [aliveSince, tenant ?? null],
  );
  return res.rowCount;
}

export async function deleteTenantJobs(db: Queryable, tenant: string): Promise<void> {
  await db.query(`DELETE FROM ${QUEUE} WHERE tenant = $1`, [tenant]);
}

/** Waiting provider jobs that have no work item left (their end was not recorded). */
export async function waitingJobsWithoutItems(db: Queryable): Promise<string[]> {
  const res = await db.query<{ id: string }>(
    `SELECT q.id FROM ${QUEUE} q
     WHERE q.state = 'waiting'
       AND NOT EXISTS (SELECT 1 FROM ${WORK_ITEMS} w WHERE w.job_id = q.id)`,
  );
  return res.rows.map((r) => r.id);
}

/** Whether any work item is in the queue (queued or taken), for the item workers' idle poll. */
export async function anyWorkItems(db: Queryable): Promise<boolean> {
  // rows, not rowCount: PGlite counts only the rows a statement changed.
  const res = await db.query(`SELECT 1 FROM ${WORK_ITEMS} LIMIT 1`);
  return res.rows.length > 0;
}

/** Jobs in the queue by state, for the metrics. */
export async function countJobsByState(db: Queryable): Promise<{ state: string; n: number }[]> {
  const res = await db.query<{ state: string; n: string }>(
    `SELECT state, count(*)::text AS n FROM ${QUEUE} GROUP BY state`,
  );
  return res.rows.map((r) => ({ state: r.state, n: Number(r.n) }));
}
