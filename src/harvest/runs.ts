/** The shared state of one provider job's harvest (`harvester.harvest_runs`), seen by every process. */
import type { Db } from '../store/db.ts';

export interface HarvestRun {
  jobId: string;
  failedUploads: number;
  rateLimited: boolean;
  /** Set when the run was stopped; the provider job fails with it. */
  failure?: string;
}

export class HarvestRuns {
  constructor(private readonly db: Db) {}

  async open(jobId: string, tenant: string, providerId: string, now: number): Promise<void> {
    await this.db.query(
      `INSERT INTO harvester.harvest_runs (job_id, tenant, provider_id, created_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (job_id) DO NOTHING`,
      [jobId, tenant, providerId, new Date(now)],
    );
  }

  async get(jobId: string): Promise<HarvestRun | undefined> {
    const res = await this.db.query<{
      failed_uploads: number;
      rate_limited: boolean;
      failure: string | null;
    }>('SELECT failed_uploads, rate_limited, failure FROM harvester.harvest_runs WHERE job_id = $1', [jobId]);
    const row = res.rows[0];
    if (!row) return undefined;
    return {
      jobId,
      failedUploads: row.failed_uploads,
      rateLimited: row.rate_limited,
      failure: row.failure ?? undefined,
    };
  }

  /** Counts an upload outcome; returns the failures in a row after it. */
  async recordUpload(jobId: string, ok: boolean): Promise<number> {
    const res = await this.db.query<{ failed_uploads: number }>(
      `UPDATE harvester.harvest_runs SET failed_uploads = CASE WHEN $2 THEN 0 ELSE failed_uploads + 1 END
       WHERE job_id = $1 RETURNING failed_uploads`,
      [jobId, ok],
    );
    return res.rows[0]?.failed_uploads ?? 0;
  }

  /** After a rate limit: one request at a time for this job, with a minimum spacing. */
  async markRateLimited(jobId: string, nextAllowedAt: number): Promise<void> {
    await this.db.query(
      `UPDATE harvester.harvest_runs SET rate_limited = true, next_allowed_at = GREATEST(next_allowed_at, $2)
       WHERE job_id = $1`,
      [jobId, new Date(nextAllowedAt)],
    );
  }

  async spaceRequests(jobId: string, nextAllowedAt: number): Promise<void> {
    await this.db.query(
      `UPDATE harvester.harvest_runs SET next_allowed_at = GREATEST(next_allowed_at, $2) WHERE job_id = $1 AND rate_limited`,
      [jobId, new Date(nextAllowedAt)],
    );
  }

  /** Records why the run stops; the first reason wins. */
  async fail(jobId: string, failure: string): Promise<void> {
    await this.db.query(
      'UPDATE harvester.harvest_runs SET failure = COALESCE(failure, $2) WHERE job_id = $1',
      [jobId, failure],
    );
  }

  async close(jobId: string): Promise<void> {
    await this.db.query('DELETE FROM harvester.harvest_runs WHERE job_id = $1', [jobId]);
  }
}
