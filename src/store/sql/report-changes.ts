/**
 * The tenant table `counter_report_changes`: one row per restated month, written when a re-harvest
 * replaced a stored month whose items had changed (src/harvest/months.ts): when, which record, the
 * previous and the new content hash, and the usage totals before and after.
 */
import { randomUUID } from 'node:crypto';
import type { Queryable } from '../db.ts';
import { tenantTable } from '../tenants.ts';

export interface ReportChange {
  id: string;
  /** ISO date-time of the replacement. */
  changedAt: string;
  counterReportId: string;
  providerId: string;
  reportName: string;
  release: string;
  yearMonth: string;
  previousHash?: string;
  newHash: string;
  totalsBefore?: Record<string, number>;
  totalsAfter?: Record<string, number>;
  /** The job whose harvest found the change. */
  jobId?: string;
}

function table(tenant: string): string {
  return tenantTable(tenant, 'counter_report_changes');
}

export async function insertReportChange(
  db: Queryable,
  tenant: string,
  change: Omit<ReportChange, 'id'>,
): Promise<string> {
  const id = randomUUID();
  await db.query(
    `INSERT INTO ${table(tenant)} (id, changed_at, counter_report_id, provider_id, report_name, release,
       year_month, previous_hash, new_hash, totals_before, totals_after, job_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11::jsonb, $12)`,
    [
      id,
      change.changedAt,
      change.counterReportId,
      change.providerId,
      change.reportName,
      change.release,
      change.yearMonth,
      change.previousHash ?? null,
      change.newHash,
      change.totalsBefore ? JSON.stringify(change.totalsBefore) : null,
      change.totalsAfter ? JSON.stringify(change.totalsAfter) : null,
      change.jobId ?? null,
    ],
  );
  return id;
}

export interface ReportChangeQuery {
  providerId?: string;
  counterReportId?: string;
  offset: number;
  limit: number;
}

interface Row {
  id: string;
  changed_at: Date | string;
  counter_report_id: string;
  provider_id: string;
  report_name: string;
  release: string;
  year_month: string;
  previous_hash: string | null;
  new_hash: string;
  totals_before: Record<string, number> | null;
  totals_after: Record<string, number> | null;
  job_id: string | null;
  total: string | number;
}

function toChange(row: Row): ReportChange {
  return {
    id: row.id,
    changedAt: new Date(row.changed_at).toISOString(),
    counterReportId: row.counter_report_id,
    providerId: row.provider_id,
    reportName: row.report_name,
    release: row.release,
    yearMonth: row.year_month,
    ...(row.previous_hash !== null && { previousHash: row.previous_hash }),
    newHash: row.new_hash,
    ...(row.totals_before !== null && { totalsBefore: row.totals_before }),
    ...(row.totals_after !== null && { totalsAfter: row.totals_after }),
    ...(row.job_id !== null && { jobId: row.job_id }),
  };
}

/** Changes, newest first, filtered by provider and/or record; with the total of the filter. */
export async function listReportChanges(
  db: Queryable,
  tenant: string,
  q: ReportChangeQuery,
): Promise<{ changes: ReportChange[]; totalRecords: number }> {
  const params: unknown[] = [];
  const where: string[] = [];
  if (q.providerId !== undefined) {
    params.push(q.providerId);
    where.push(`provider_id = $${params.length}`);
  }
  if (q.counterReportId !== undefined) {
    params.push(q.counterReportId);
    where.push(`counter_report_id = $${params.length}`);
  }
  const res = await db.query<Row>(
    `SELECT *, count(*) OVER () AS total FROM ${table(tenant)}
     ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY seq DESC LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
    [...params, q.limit, q.offset],
  );
  const total = res.rows[0] ? Number(res.rows[0].total) : 0;
  return { changes: res.rows.map(toChange), totalRecords: total };
}
