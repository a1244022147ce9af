/**
 * The `counter_reports` table: its checks, the unique month per (provider, release, report, yearMonth),
 * the statistics of the providers a write touches (derived.ts), deletes by id list and by provider, and the
 * tenant-wide facts (`/counter-reports/errors/codes`, `/reports/types`, `/reports/releases`). The report
 * data itself is in its own column, large ones in chunks (report-chunks.ts).
 */
import type { JsonRecord } from '../model/records.ts';
import type { Queryable } from '../store/db.ts';
import { tenantTable } from '../store/tenants.ts';
import { ERROR_CODE_PATTERN, refreshProviderStats, sortedStrings } from './derived.ts';
import { checkCounterReport } from './record-checks.ts';
import { stringField, type RecordTable } from './record-table.ts';
import { StoreError } from './store-error.ts';
import type { StoredMonthsKey } from './port.ts';
import { refreshUsage } from './usage.ts';

const MONTH_KEYS = ['providerId', 'release', 'reportName', 'yearMonth'];

function duplicateMonth(record: JsonRecord): StoreError {
  const message =
    'A counter report for this providerId, release, reportName (ignoring case) and yearMonth already exists: ' +
    MONTH_KEYS.map((k) => `${k}=${String(record[k])}`).join(', ');
  return new StoreError(422, message, [
    { message, code: '-1', parameters: MONTH_KEYS.map((key) => ({ key, value: String(record[key]) })) },
  ]);
}

export const COUNTER_REPORTS: RecordTable = {
  table: 'counter_reports',
  check: checkCounterReport,
  separateReport: true,
  providersOf: (record) => [stringField(record, 'providerId')],
  async afterWrite(tx, tenant, stored, previous, later) {
    // A record inserted under an id of its own has no usage rows yet (they go with the record).
    if (later) later.usage.add(stored, previous === undefined);
    else await refreshUsage(tx, tenant, stored, previous === undefined);
    const providers = new Set([stringField(stored, 'providerId'), stringField(previous, 'providerId')]);
    for (const pid of providers)
      if (pid === undefined) continue;
      else if (!later) await refreshProviderStats(tx, tenant, pid);
      else if (previous === undefined) later.stats.inserted(pid, stored);
      else later.stats.changed(pid);
  },
  async afterDelete(tx, tenant, previous) {
    const pid = stringField(previous, 'providerId');
    if (pid !== undefined) await refreshProviderStats(tx, tenant, pid);
  },
  conflict: duplicateMonth,
};

/** An upload would replace stored months and was not asked to (mod-erm-usage's REPORTS_ALREADY_PRESENT). */
export class MonthsExistError extends Error {
  override name = 'MonthsExistError';
  constructor(readonly months: string[]) {
    super(`Report already existing for months: ${months.join(', ')}`);
  }
}

/** The stored months (yearMonth → id) of one provider, release and report among `yearMonths`. */
export async function existingMonths(
  tx: Queryable,
  tenant: string,
  key: { providerId: string; release: string; reportName: string; yearMonths: string[] },
): Promise<Map<string, { id: string }>> {
  const res = await tx.query<{ id: string; ym: string }>(
    `SELECT id, jsonb->>'yearMonth' AS ym FROM ${tenantTable(tenant, 'counter_reports')}
     WHERE jsonb->>'providerId' = $1 AND jsonb->>'release' = $2 AND lower(jsonb->>'reportName') = lower($3)
       AND jsonb->>'yearMonth' = ANY($4::text[])`,
    [key.providerId, key.release, key.reportName, key.yearMonths],
  );
  return new Map(res.rows.map((r) => [r.ym, { id: r.id }]));
}

/**
 * The stored months (tiny records: without `report`) of one provider and report under any of
 * `releases` among `yearMonths`, read through the unique month index (`counter_reports_month`).
 */
export async function storedMonths(
  db: Queryable,
  tenant: string,
  key: StoredMonthsKey,
): Promise<JsonRecord[]> {
  const res = await db.query<{ id: string; jsonb: JsonRecord }>(
    // The report names lowered by the database (as the unique month index lowers them), once.
    `SELECT id, jsonb FROM ${tenantTable(tenant, 'counter_reports')}
     WHERE jsonb->>'providerId' = $1 AND jsonb->>'release' = ANY($2::text[])
       AND lower(jsonb->>'reportName') = ANY(ARRAY(SELECT lower(n) FROM unnest($3::text[]) AS n))
       AND jsonb->>'yearMonth' = ANY($4::text[])
     ORDER BY seq`,
    [key.providerId, key.releases, key.reportNames, key.yearMonths],
  );
  return res.rows.map((r) => ({ ...r.jsonb, id: r.id }));
}

/** The providers of the given counter reports (null for reports without one). */
export async function providersOfReports(
  tx: Queryable,
  tenant: string,
  ids: string[],
): Promise<(string | null)[]> {
  const res = await tx.query<{ pid: string | null }>(
    `SELECT DISTINCT jsonb->>'providerId' AS pid FROM ${tenantTable(tenant, 'counter_reports')} WHERE id = ANY($1::uuid[])`,
    [ids],
  );
  return res.rows.map((r) => r.pid);
}

/** Deletes the given counter reports (unknown ids are skipped); the providers of those deleted. */
export async function deleteReports(tx: Queryable, tenant: string, ids: string[]): Promise<string[]> {
  const res = await tx.query<{ pid: string | null }>(
    `DELETE FROM ${tenantTable(tenant, 'counter_reports')} WHERE id = ANY($1::uuid[]) RETURNING jsonb->>'providerId' AS pid`,
    [ids],
  );
  return [...new Set(res.rows.map((r) => r.pid).filter((p): p is string => p !== null))];
}

/** The cascade of a provider's delete. */
export async function deleteReportsOfProvider(
  tx: Queryable,
  tenant: string,
  providerId: string,
): Promise<void> {
  await tx.query(`DELETE FROM ${tenantTable(tenant, 'counter_reports')} WHERE jsonb->>'providerId' = $1`, [
    providerId,
  ]);
}

/** Distinct error codes over all counter reports of the tenant (GET /counter-reports/errors/codes). */
export async function tenantErrorCodes(db: Queryable, tenant: string): Promise<string[]> {
  const res = await db.query<{ code: string }>(
    `SELECT DISTINCT coalesce((regexp_match(jsonb->>'failedReason', $1))[1], 'other') AS code
     FROM ${tenantTable(tenant, 'counter_reports')}
     WHERE jsonb ? 'failedReason'`,
    [ERROR_CODE_PATTERN],
  );
  return sortedStrings(res.rows.map((r) => r.code));
}

/** Distinct values of a top-level counter report field (`reportName`, `release`) over the tenant. */
export async function tenantDistinct(
  db: Queryable,
  tenant: string,
  field: 'reportName' | 'release',
): Promise<string[]> {
  const res = await db.query<{ value: string }>(
    `SELECT DISTINCT jsonb->>$1 AS value FROM ${tenantTable(tenant, 'counter_reports')} WHERE jsonb ? $1`,
    [field],
  );
  return sortedStrings(res.rows.map((r) => r.value));
}
