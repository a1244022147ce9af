/**
 * The usage tables `usage_totals` (tenant migration 4) and `usage_top_lists` (tenant migration 6): per
 * stored month the totals per metric, and per metric the list of the month's first items of `topItems`
 * (one row per month and metric, the items in a jsonb array), written in the transaction of every
 * counter report write (`UsageBatch`, from counter-reports.ts: one statement for all the months a
 * transaction writes; the harvest's first months computed in SQL from the inserted records,
 * `insertDerivedUsageSql`) and removed with the record (foreign key cascade). The
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

/** The usage rows of one stored counter report: its totals and, per metric, its first items. */
interface UsageRow {
  id: string;
  providerId: string;
  release: string;
  reportName: string;
  yearMonth: string;
  totals: Record<string, unknown>;
  top: Record<string, TopListItem[]>;
}

/** One item of a month's top list as `usage_top_lists.items` keeps it (in rank order). */
interface TopListItem {
  name: string | null;
  platform: string | null;
  identifiers: unknown;
  count: number;
}

/** The usage rows a record carries now; undefined when it has none (a failure, no usage, no key). */
function usageRowOf(stored: JsonRecord): UsageRow | undefined {
  if (!hasUsageKey(stored)) return undefined;
  const totals = usageTotalsOf(stored.usageTotals);
  const top = topListsOf(stored.topItems);
  if (totals.length === 0 && Object.keys(top).length === 0) return undefined;
  return {
    id: String(stored.id),
    providerId: String(stored.providerId),
    release: String(stored.release),
    reportName: String(stored.reportName).toUpperCase(),
    yearMonth: String(stored.yearMonth),
    totals: Object.fromEntries(totals),
    top,
  };
}

/** Whether the record can have usage rows: not a failure, and every field of their key is text. */
function hasUsageKey(stored: JsonRecord): boolean {
  return (
    stored.failedReason === undefined &&
    ['id', 'providerId', 'release', 'reportName', 'yearMonth'].every((k) => text(stored, k) !== undefined)
  );
}

/**
 * The usage rows of the counter reports written in one transaction, written together before its commit
 * (`flush`): one statement removes the rows of the replaced records, one writes the rows of all of them
 * into both tables. Only the small rows are held, never the records.
 */
export class UsageBatch {
  private readonly stale = new Set<string>();
  private readonly rows = new Map<string, UsageRow | undefined>();

  /** A record written; `fresh`: inserted under a new id, so it has no rows to remove. */
  add(stored: JsonRecord, fresh = false): void {
    const id = text(stored, 'id');
    if (!id) return;
    if (!fresh && !this.rows.has(id)) this.stale.add(id);
    this.rows.set(id, usageRowOf(stored));
  }

  async flush(tx: Queryable, tenant: string): Promise<void> {
    const totalsTable = tenantTable(tenant, 'usage_totals');
    const topTable = tenantTable(tenant, 'usage_top_lists');
    if (this.stale.size > 0)
      await tx.query(
        `WITH totals AS (DELETE FROM ${totalsTable} WHERE report_id = ANY($1::uuid[]))
         DELETE FROM ${topTable} WHERE report_id = ANY($1::uuid[])`,
        [[...this.stale]],
      );
    const rows = [...this.rows.values()].filter((r): r is UsageRow => r !== undefined);
    this.stale.clear();
    this.rows.clear();
    if (rows.length === 0) return;
    await tx.query(`WITH ${insertUsageSql(tenant, 1)} SELECT 1`, [JSON.stringify(rows)]);
  }
}

/**
 * The usage rows of freshly inserted records (no rows to remove) as the JSON parameter of
 * `insertUsageSql`; undefined when none of them has usage.
 */
export function usageRowsJson(records: JsonRecord[]): string | undefined {
  const rows = records.map(usageRowOf).filter((r): r is UsageRow => r !== undefined);
  return rows.length === 0 ? undefined : JSON.stringify(rows);
}

/** A plain JSON object (not an array, not null). */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** An item of `topItems` that `topListsOf` keeps as it is (only absent names and platforms read as null). */
function keptAsIs(item: unknown): boolean {
  if (!isPlainObject(item)) return false;
  const { name, platform, identifiers, count } = item;
  return (
    typeof count === 'number' &&
    Number.isSafeInteger(count) &&
    (name === undefined || typeof name === 'string') &&
    (platform === undefined || typeof platform === 'string') &&
    identifiers !== null &&
    typeof identifiers === 'object'
  );
}

/**
 * Whether the usage rows of a freshly inserted record are what `insertDerivedUsageSql` computes from its
 * stored jsonb: the rows `usageRowsJson` would write, read by the usage queries with the same results.
 * True when the record has usage and every total is a safe integer and every kept top item is kept as it
 * is (the harvester's own records); otherwise its rows go through `usageRowsJson`.
 */
export function usageDerivable(stored: JsonRecord): boolean {
  if (!hasUsageKey(stored)) return false;
  // SQL's upper() and JavaScript's toUpperCase() agree on ASCII.
  if (!/^[\x20-\x7e]+$/.test(String(stored.reportName))) return false;
  const { usageTotals, topItems } = stored;
  let rows = 0;
  if (usageTotals !== undefined) {
    if (!isPlainObject(usageTotals)) return false;
    for (const v of Object.values(usageTotals)) {
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) return false;
      rows++;
    }
  }
  if (topItems !== undefined) {
    if (!isPlainObject(topItems)) return false;
    for (const list of Object.values(topItems)) {
      if (!Array.isArray(list)) return false;
      for (let i = 0; i < list.length && i < TOP_ITEMS_KEPT; i++) if (!keptAsIs(list[i])) return false;
      rows += list.length;
    }
  }
  // Without rows `usageRowOf` has none either.
  return rows > 0;
}

/**
 * CTEs (to follow a `WITH`) that insert the usage rows of the records of `source` (a CTE with the
 * columns `id`, `jsonb` and `usage`: the stored record and whether `usageDerivable` holds) into both
 * tables, computed from the record itself: no second copy of its top items in a parameter (docs/
 * benchmarks.md, section 2). Names as `insertUsageSql`'s, with `_derived` appended.
 */
export function insertDerivedUsageSql(tenant: string, source: string): string {
  const totalsTable = tenantTable(tenant, 'usage_totals');
  const topTable = tenantTable(tenant, 'usage_top_lists');
  return `usage_totals_derived AS (
         INSERT INTO ${totalsTable} (report_id, provider_id, release, report_name, year_month, metric, total)
         SELECT r.id, r.jsonb->>'providerId', r.jsonb->>'release', upper(r.jsonb->>'reportName'),
                r.jsonb->>'yearMonth', t.key, t.value::bigint
         FROM ${source} r, jsonb_each_text(r.jsonb->'usageTotals') t
         WHERE r.usage
       ),
       usage_top_derived AS (
         INSERT INTO ${topTable} (report_id, provider_id, report_name, year_month, metric, items)
         SELECT r.id, r.jsonb->>'providerId', upper(r.jsonb->>'reportName'), r.jsonb->>'yearMonth', m.key,
                CASE WHEN jsonb_array_length(m.value) <= ${TOP_ITEMS_KEPT} THEN m.value
                     ELSE jsonb_path_query_array(m.value, '$[0 to ${TOP_ITEMS_KEPT - 1}]') END
         FROM ${source} r, jsonb_each(r.jsonb->'topItems') m
         WHERE r.usage AND jsonb_array_length(m.value) > 0
       )`;
}

/**
 * CTEs (to follow a `WITH`) that insert the usage rows of the JSON parameter `$<param>` (the rows of
 * `usageRowsJson`) into both tables; `guard`, a condition the inserts also need.
 */
export function insertUsageSql(tenant: string, param: number, guard = 'TRUE'): string {
  const totalsTable = tenantTable(tenant, 'usage_totals');
  const topTable = tenantTable(tenant, 'usage_top_lists');
  return `usage_rows AS (
         SELECT * FROM jsonb_to_recordset($${param}::jsonb)
           AS r(id uuid, "providerId" text, release text, "reportName" text, "yearMonth" text, totals jsonb, top jsonb)
         WHERE ${guard}
       ),
       usage_totals_in AS (
         INSERT INTO ${totalsTable} (report_id, provider_id, release, report_name, year_month, metric, total)
         SELECT r.id, r."providerId", r.release, r."reportName", r."yearMonth", t.key, t.value::bigint
         FROM usage_rows r, jsonb_each_text(r.totals) t
       ),
       usage_top_in AS (
         INSERT INTO ${topTable} (report_id, provider_id, report_name, year_month, metric, items)
         SELECT r.id, r."providerId", r."reportName", r."yearMonth", m.key, m.value
         FROM usage_rows r, jsonb_each(r.top) m
       )`;
}

/**
 * Replaces the usage rows of one stored counter report with what the record carries now; `fresh`: the
 * record was just inserted under a new id, so it has no rows to remove.
 */
export async function refreshUsage(
  tx: Queryable,
  tenant: string,
  stored: JsonRecord,
  fresh = false,
): Promise<void> {
  const batch = new UsageBatch();
  batch.add(stored, fresh);
  await batch.flush(tx, tenant);
}

/** The totals of a record's `usageTotals` that fit a bigint. */
function usageTotalsOf(totals: unknown): [string, unknown][] {
  if (!totals || typeof totals !== 'object' || Array.isArray(totals)) return [];
  return Object.entries(totals as Record<string, unknown>).filter(
    ([, v]) => typeof v === 'number' && Number.isSafeInteger(v),
  );
}

/** A record's `topItems` as lists per metric: the first TOP_ITEMS_KEPT with a valid count, in order. */
function topListsOf(top: unknown): Record<string, TopListItem[]> {
  const lists: Record<string, TopListItem[]> = {};
  if (!top || typeof top !== 'object' || Array.isArray(top)) return lists;
  for (const [metric, list] of Object.entries(top as Record<string, unknown>)) {
    if (!Array.isArray(list)) continue;
    const items: TopListItem[] = [];
    for (const item of list.slice(0, TOP_ITEMS_KEPT)) {
      const it = (item ?? {}) as {
        name?: unknown;
        platform?: unknown;
        identifiers?: unknown;
        count?: unknown;
      };
      if (!COUNT.test(String(it.count))) continue;
      items.push({
        name: typeof it.name === 'string' ? it.name : null,
        platform: typeof it.platform === 'string' ? it.platform : null,
        identifiers: it.identifiers && typeof it.identifiers === 'object' ? it.identifiers : {},
        count: Number(it.count),
      });
    }
    if (items.length > 0) lists[metric] = items;
  }
  return lists;
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
    // Each month's list of first items (usage_top_lists.items) unnested: a row per item and month.
    `SELECT i.name, i.platform, i.identifiers, t.provider_id, sum(i.count)::text AS count,
            count(*)::text AS months
     FROM ${tenantTable(tenant, 'usage_top_lists')} t
       CROSS JOIN LATERAL jsonb_to_recordset(t.items) AS i(name text, platform text, identifiers jsonb, count bigint)
     WHERE ${cond} AND metric = $${params.length - 1}
     GROUP BY i.name, i.platform, i.identifiers, t.provider_id
     ORDER BY sum(i.count) DESC, i.name NULLS LAST LIMIT $${params.length}`,
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
