/** `harvester.harvest_runs`: the state of one provider job's harvest, seen by every process. */
import type { Queryable } from '../db.ts';
import { systemTable } from './schema.ts';

export const HARVEST_RUNS = systemTable('harvest_runs');

export interface HarvestRun {
  jobId: string;
  tenant: string;
  failedUploads: number;
  rateLimited: boolean;
  /** Set when the run was stopped; the provider job fails with it. */
  failure?: string;
}

export async function openRun(
  db: Queryable,
  jobId: string,
  tenant: string,
  providerId: string,
  now: number,
): Promise<void> {
  await db.query(
    `INSERT INTO ${HARVEST_RUNS} (job_id, tenant, provider_id, created_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (job_id) DO NOTHING`,
    [jobId, tenant, providerId, new Date(now)],
  );
}

export async function getRun(db: Queryable, jobId: string): Promise<HarvestRun | undefined> {
  const res = await db.query<{
    failed_uploads: number;
    rate_limited: boolean;
    failure: string | null;
    tenant: string;
  }>(`SELECT failed_uploads, rate_limited, failure, tenant FROM ${HARVEST_RUNS} WHERE job_id = $1`, [jobId]);
  const row = res.rows[0];
  if (!row) return undefined;
  return {
    jobId,
    tenant: row.tenant,
    failedUploads: row.failed_uploads,
    rateLimited: row.rate_limited,
    failure: row.failure ?? undefined,
  };
}

/** A successful upload ends the failures in a row (see `recordUpload`). */
export const UPLOAD_SUCCEEDED = 'failed_uploads = 0';

/**
 * Counts an upload outcome; returns the failures in a row after it. A success where there were none
 * writes nothing. job-info.ts `addToJobReport` counts a success in its own statement.
 */
export async function recordUpload(db: Queryable, jobId: string, ok: boolean): Promise<number> {
  const res = await db.query<{ failed_uploads: number }>(
    ok
      ? `UPDATE ${HARVEST_RUNS} SET ${UPLOAD_SUCCEEDED} WHERE job_id = $1 AND failed_uploads <> 0
         RETURNING failed_uploads`
      : `UPDATE ${HARVEST_RUNS} SET failed_uploads = failed_uploads + 1 WHERE job_id = $1
         RETURNING failed_uploads`,
    [jobId],
  );
  return res.rows[0]?.failed_uploads ?? 0;
}

/** After a rate limit: one request at a time for this job, with a minimum spacing. */
export async function markRateLimited(db: Queryable, jobId: string, nextAllowedAt: number): Promise<void> {
  await db.query(
    `UPDATE ${HARVEST_RUNS} SET rate_limited = true, next_allowed_at = GREATEST(next_allowed_at, $2)
     WHERE job_id = $1`,
    [jobId, new Date(nextAllowedAt)],
  );
}

/** The next request of a rate-limited job not before `nextAllowedAt`. */
export async function spaceRequests(db: Queryable, jobId: string, nextAllowedAt: number): Promise<void> {
  await db.query(
    `UPDATE ${HARVEST_RUNS} SET next_allowed_at = GREATEST(next_allowed_at, $2) WHERE job_id = $1 AND rate_limited`,
    [jobId, new Date(nextAllowedAt)],
  );
}

/** Records why the run stops; the first reason wins. */
export async function failRun(db: Queryable, jobId: string, failure: string): Promise<void> {
  await db.query(`UPDATE ${HARVEST_RUNS} SET failure = COALESCE(failure, $2) WHERE job_id = $1`, [
    jobId,
    failure,
  ]);
}

export async function closeRun(db: Queryable, jobId: string): Promise<void> {
  await db.query(`DELETE FROM ${HARVEST_RUNS} WHERE job_id = $1`, [jobId]);
}

/** Deletes the provider runs of the tenant (tenant purge). */
export async function deleteTenantRuns(db: Queryable, tenant: string): Promise<void> {
  await db.query(`DELETE FROM ${HARVEST_RUNS} WHERE tenant = $1`, [tenant]);
}
