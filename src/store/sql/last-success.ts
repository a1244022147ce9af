/**
 * The end of each provider's last successful provider job, read from the tenant table `job_info` (the
 * JobInfos every process writes, job-info.ts): what the `harvester_provider_last_success_timestamp_seconds`
 * gauge shows, the same in every process and after a restart. JobInfos purged by the cleanup
 * (`days_to_keep_logs`) no longer count.
 */
import type { Queryable } from '../db.ts';
import { tenantTable } from '../tenants.ts';

export interface LastSuccess {
  providerId: string;
  /** Unix time in seconds. */
  seconds: number;
}

/**
 * One aggregate over the tenant's JobInfos. `finishedAt` is always written in one format with offset
 * `+00:00` (folio-contract H7), so the greatest string is the latest time.
 */
export async function lastSuccessfulHarvests(db: Queryable, tenant: string): Promise<LastSuccess[]> {
  const res = await db.query<{ provider: string; finished: string }>(
    `SELECT jsonb->>'providerId' AS provider, max(jsonb->>'finishedAt') AS finished
     FROM ${tenantTable(tenant, 'job_info')}
     WHERE jsonb->>'type' = 'provider' AND jsonb->>'result' = 'success'
       AND jsonb ? 'providerId' AND jsonb ? 'finishedAt'
     GROUP BY 1`,
  );
  const out: LastSuccess[] = [];
  for (const r of res.rows) {
    const ms = Date.parse(r.finished);
    if (Number.isFinite(ms)) out.push({ providerId: r.provider, seconds: ms / 1000 });
  }
  return out;
}
