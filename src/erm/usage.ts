/**
 * The usage tables `usage_totals` and `usage_top` (tenant migration 4): per stored month the totals per
 * metric and the first items of `topItems`, written in the transaction of every counter report write
 * (`refreshUsage`, from counter-reports.ts) and removed with the record (foreign key cascade). The
 * usage API (api/usage-routes.ts) answers from them with one aggregate each, never reading a report.
 * docs/architecture.md "Usage" says why a table and not an aggregate over the records' jsonb.
 */
import type { JsonRecord } from '../model/records.ts';
import type { Queryable } from '../store/db.ts';
import { tenantTable } from '../store/tenants.ts';

/** Top items kept per month and metric; a range's top N is ranked from these. */
export const TOP_ITEMS_KEPT = 25;

const COUNT = /^-?\d{1,18}$/;

function text(record: JsonRecord, key: string): string | undefined {
  const value = record[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * Replaces the usage rows of one stored counter report with what the record carries now; `fresh`: the
 * record was just inserted under a new id, so it has no rows to remove. One statement writes both tables.
 */
export async function refreshUsage(
  tx: Queryable,
  tenant: string,
  stored: JsonRecord,
  fresh = false,
): Promise<void> {
  const id = text(stored, 'id');
  if (!id) return;
  const totalsTable = tenantTable(tenant, 'usage_totals');
  const topTable = tenantTable(tenant, 'usage_top');
  if (!fresh)
    await tx.query(
      `WITH totals AS (DELETE FROM ${totalsTable} WHERE report_id = $1)
       DELETE FROM ${topTable} WHERE report_id = $1`,
      [id],
    );
  const providerId = text(stored, 'providerId');
  const release = text(stored, 'release');
  const reportName = text(stored, 'reportName')?.toUpperCase();
  const yearMonth = text(stored, 'yearMonth');
  if (!providerId || !release || !reportName || !yearMonth || stored.failedReason !== undefined) return;
  const totals = usageTotalsOf(stored.usageTotals);
  const items = topItemsOf(stored.topItems);
  if (totals.length === 0 && items.length === 0) return;
  await tx.query(
    `WITH totals AS (
       INSERT INTO ${totalsTable} (report_id, provider_id, release, report_name, year_month, metric, total)
       SELECT $1, $2, $3, $4, $5, t.key, t.value::bigint FROM jsonb_each_text($6::jsonb) t
     )
     INSERT INTO ${topTable}
       (report_id, provider_id, report_name, year_month, metric, rank, name, platform, identifiers, count)
     SELECT $1, $2, $4, $5, i->>'metric', (i->>'rank')::int, i->>'name', i->>'platform', i->'identifiers',
            (i->>'count')::bigint
     FROM jsonb_array_elements($7::jsonb) i`,
    [
      id,
      providerId,
      release,
      reportName,
      yearMonth,
      JSON.stringify(Object.fromEntries(totals)),
      JSON.stringify(items),
    ],
  );
}

/** The totals of a record's `usageTotals` that fit a bigint. */
function usageTotalsOf(totals: unknown): [string, unknown][] {
  if (!totals || typeof totals !== 'object' || Array.isArray(totals)) return [];
  return Object.entries(totals as Record<string, unknown>).filter(
    ([, v]) => typeof v === 'number' && Number.isSafeInteger(v),
  );
}

/** The rows of a record's `topItems`: the first TOP_ITEMS_KEPT per metric with a valid count. */
function topItemsOf(top: unknown): unknown[] {
  const items: unknown[] = [];
  if (!top || typeof top !== 'object' || Array.isArray(top)) return items;
  for (const [metric, list] of Object.entries(top as Record<string, unknown>)) {
    if (!Array.isArray(list)) continue;
    list.slice(0, TOP_ITEMS_KEPT).forEach((item: unknown, index) => {
      const it = (item ?? {}) as {
        name?: unknown;
        platform?: unknown;
        identifiers?: unknown;
        count?: unknown;
      };
      if (!COUNT.test(String(it.count))) return;
      items.push({
        metric,
        rank: index + 1,
        name: typeof it.name === 'string' ? it.name : null,
        platform: typeof it.platform === 'string' ? it.platform : null,
        identifiers: it.identifiers && typeof it.identifiers === 'object' ? it.identifiers : {},
        count: Number(it.count),
      });
    });
  }
  return items;
}

export interface UsageQuery {
  /** One provider, or all providers of the tenant. */
  providerId?: string;
  reportName: string;
  release?: string;
  from: string;
  to: string;
}

function where(q: UsageQuery, params: unknown[]): string {
  params.push(q.reportName.toUpperCase(), q.from, q.to);
  let sql = 'report_name = $1 AND year_month BETWEEN $2 AND $3';
  if (q.providerId) {
    params.push(q.providerId);
    sql += ` AND provider_id = $${params.length}`;
  }
  return sql;
}

export interface MonthTotals {
  yearMonth: string;
  totals: Record<string, number>;
}

/** Totals per month and metric over the query's months (only months with usage are listed). */
export async function usageTotals(db: Queryable, tenant: string, q: UsageQuery): Promise<MonthTotals[]> {
  const params: unknown[] = [];
  let cond = where(q, params);
  if (q.release) {
    params.push(q.release);
    cond += ` AND release = $${params.length}`;
  }
  const res = await db.query<{ year_month: string; metric: string; total: string }>(
    `SELECT year_month, metric, sum(total)::text AS total FROM ${tenantTable(tenant, 'usage_totals')}
     WHERE ${cond} GROUP BY year_month, metric ORDER BY year_month, metric`,
    params,
  );
  const months = new Map<string, Record<string, number>>();
  for (const row of res.rows) {
    let m = months.get(row.year_month);
    if (!m) months.set(row.year_month, (m = {}));
    m[row.metric] = Number(row.total);
  }
  return [...months].map(([yearMonth, totals]) => ({ yearMonth, totals }));
}

export interface RangeTopItem {
  name: string | null;
  platform: string | null;
  identifiers: Record<string, string>;
  providerId: string;
  count: number;
  /** Months of the range in which the item was among the month's first items. */
  months: number;
}

/**
 * The items with the highest sum of `metric` over the range, from each month's first items: an item
 * outside a month's first TOP_ITEMS_KEPT misses that month's count, so counts are lower bounds.
 */
export async function usageTop(
  db: Queryable,
  tenant: string,
  q: UsageQuery & { metric: string; limit: number },
): Promise<RangeTopItem[]> {
  const params: unknown[] = [];
  const cond = where(q, params);
  params.push(q.metric, q.limit);
  const res = await db.query<{
    name: string | null;
    platform: string | null;
    identifiers: Record<string, string>;
    provider_id: string;
    count: string;
    months: string;
  }>(
    `SELECT name, platform, identifiers, provider_id, sum(count)::text AS count, count(*)::text AS months
     FROM ${tenantTable(tenant, 'usage_top')}
     WHERE ${cond} AND metric = $${params.length - 1}
     GROUP BY name, platform, identifiers, provider_id
     ORDER BY sum(count) DESC, name NULLS LAST LIMIT $${params.length}`,
    params,
  );
  return res.rows.map((r) => ({
    name: r.name,
    platform: r.platform,
    identifiers: r.identifiers,
    providerId: r.provider_id,
    count: Number(r.count),
    months: Number(r.months),
  }));
}

export interface UsageReportSummary {
  reportName: string;
  release: string;
  first: string;
  last: string;
  months: number;
  metrics: string[];
}

/** Which reports have usage (for one provider or the tenant): release, month span, metrics. */
export async function usageReports(
  db: Queryable,
  tenant: string,
  providerId?: string,
): Promise<UsageReportSummary[]> {
  const res = await db.query<{
    report_name: string;
    release: string;
    first: string;
    last: string;
    months: string;
    metrics: string[];
  }>(
    `SELECT report_name, release, min(year_month) AS first, max(year_month) AS last,
            count(DISTINCT year_month)::text AS months, array_agg(DISTINCT metric ORDER BY metric) AS metrics
     FROM ${tenantTable(tenant, 'usage_totals')}
     ${providerId ? 'WHERE provider_id = $1' : ''}
     GROUP BY report_name, release ORDER BY report_name, release`,
    providerId ? [providerId] : [],
  );
  return res.rows.map((r) => ({
    reportName: r.report_name,
    release: r.release,
    first: r.first,
    last: r.last,
    months: Number(r.months),
    metrics: r.metrics,
  }));
}
