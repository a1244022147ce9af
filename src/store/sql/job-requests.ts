/**
 * Two tenant tables a provider job keeps beside its JobInfo, both removed when the job ends:
 * `job_requests` (what a job was asked to do beyond FOLIO's "harvest what is missing": the months and
 * reports of a "harvest again", the re-harvest window of a scheduled run) and `job_notes` (what the
 * harvest noticed on the way, as an earlier version kept them; the harvest now adds its notes to the
 * JobInfo's `notes` directly).
 */
import type { Queryable } from '../db.ts';
import { tenantTable } from '../tenants.ts';

/** What a job asks for besides the missing months (src/harvest/planner.ts reads it). */
export interface HarvestRequest {
  /** "Harvest again": only these months (yyyy-MM, inclusive), requested even when stored. */
  from?: string;
  to?: string;
  /** Only these reports (upper-case ids or COUNTER 4 names). */
  reports?: string[];
  /** Request the months again even when stored (a "harvest again"). */
  again?: boolean;
  /** A scheduled run: the re-harvest window applies. */
  scheduled?: boolean;
}

export async function saveJobRequest(
  db: Queryable,
  tenant: string,
  jobId: string,
  request: HarvestRequest,
): Promise<void> {
  await db.query(
    `INSERT INTO ${tenantTable(tenant, 'job_requests')} (job_id, request) VALUES ($1, $2::jsonb)
     ON CONFLICT (job_id) DO UPDATE SET request = EXCLUDED.request`,
    [jobId, JSON.stringify(request)],
  );
}

/** The same request for several new jobs, in one statement. */
export async function saveJobRequests(
  db: Queryable,
  tenant: string,
  jobIds: string[],
  request: HarvestRequest,
): Promise<void> {
  await db.query(
    `INSERT INTO ${tenantTable(tenant, 'job_requests')} (job_id, request)
     SELECT id, $2::jsonb FROM unnest($1::uuid[]) AS id
     ON CONFLICT (job_id) DO UPDATE SET request = EXCLUDED.request`,
    [jobIds, JSON.stringify(request)],
  );
}

export async function getJobRequest(
  db: Queryable,
  tenant: string,
  jobId: string,
): Promise<HarvestRequest | undefined> {
  const res = await db.query<{ request: HarvestRequest }>(
    `SELECT request FROM ${tenantTable(tenant, 'job_requests')} WHERE job_id = $1`,
    [jobId],
  );
  return res.rows[0]?.request;
}

/**
 * The job's notes an earlier version kept here (the harvest now adds them to the JobInfo, job-info.ts),
 * in order; removes them and the job's request.
 */
export async function takeJobNotes(db: Queryable, tenant: string, jobId: string): Promise<string[]> {
  const res = await db.query<{ note: string; seq: string | number }>(
    `DELETE FROM ${tenantTable(tenant, 'job_notes')} WHERE job_id = $1 RETURNING note, seq`,
    [jobId],
  );
  await db.query(`DELETE FROM ${tenantTable(tenant, 'job_requests')} WHERE job_id = $1`, [jobId]);
  return res.rows.sort((a, b) => Number(a.seq) - Number(b.seq)).map((r) => r.note);
}
