/**
 * Derived provider fields (folio-contract §4.5): statistics over a provider's counter reports, and the name
 * of its aggregator, stored on the provider record so that CQL can filter on them. The statistics are
 * recomputed inside every write transaction that touches the provider's counter reports, under a
 * per-provider advisory lock, so concurrent writes never leave stale values behind; the name is copied
 * when the provider is written and when the aggregator setting is.
 */
import type { Queryable } from '../store/db.ts';
import { tenantTable } from '../store/tenants.ts';
import type { JsonRecord } from '../model/records.ts';
import { DERIVED_PROVIDER_FIELDS, isFolioUuid } from '../model/schemas.ts';

/** The error-code regex; the code is its first capture group. Also valid as a PostgreSQL ARE. */
export const ERROR_CODE_PATTERN = '(?:Number=|"Code": ?)([0-9]{1,4})';
const ERROR_CODE_RE = new RegExp(ERROR_CODE_PATTERN);

/** The error code of a `failedReason`, or `other`. */
export function errorCodeOf(failedReason: string): string {
  return ERROR_CODE_RE.exec(failedReason)?.[1] ?? 'other';
}

export interface ProviderStats {
  latestReport?: string;
  earliestReport?: string;
  hasFailedReport: 'yes' | 'no';
  reportErrorCodes: string[];
  reportTypes: string[];
  reportReleases: string[];
}

/** Code-point (Java `String.compareTo`) order, independent of the database collation. */
export function sortedStrings(values: string[]): string[] {
  return [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Lock class of the per-provider statistics locks (two-key advisory locks, apart from one-key ones). */
const STATS_LOCK_CLASS = 727_275;

/**
 * Takes the statistics locks of the given providers until the end of the transaction, in a fixed order
 * so that two transactions never wait on each other in a cycle.
 */
export async function lockProviders(
  tx: Queryable,
  tenant: string,
  providerIds: (string | undefined)[],
): Promise<void> {
  const keys = sortedStrings([
    ...new Set(providerIds.filter((id): id is string => !!id).map((id) => `${tenant}:${id}`)),
  ]);
  for (const key of keys)
    await tx.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [STATS_LOCK_CLASS, key]);
}

interface StatsRow {
  latest: string | null;
  earliest: string | null;
  has_failed: boolean | null;
  error_codes: string[] | null;
  report_types: string[] | null;
  report_releases: string[] | null;
}

/** Computes the statistics of one provider with SQL over the tenant's counter reports. */
export async function computeProviderStats(
  tx: Queryable,
  tenant: string,
  providerId: string,
): Promise<ProviderStats> {
  const reports = tenantTable(tenant, 'counter_reports');
  const res = await tx.query<StatsRow>(
    `SELECT
       max(jsonb->>'yearMonth') FILTER (WHERE NOT jsonb ? 'failedAttempts') AS latest,
       min(jsonb->>'yearMonth') FILTER (WHERE NOT jsonb ? 'failedAttempts') AS earliest,
       bool_or(jsonb ? 'failedReason') AS has_failed,
       array_agg(DISTINCT coalesce((regexp_match(jsonb->>'failedReason', $2))[1], 'other'))
         FILTER (WHERE jsonb ? 'failedReason') AS error_codes,
       array_agg(DISTINCT jsonb->>'reportName') FILTER (WHERE jsonb ? 'reportName') AS report_types,
       array_agg(DISTINCT jsonb->>'release') FILTER (WHERE jsonb ? 'release') AS report_releases
     FROM ${reports}
     WHERE jsonb->>'providerId' = $1`,
    [providerId, ERROR_CODE_PATTERN],
  );
  const row = res.rows[0];
  const stats: ProviderStats = {
    hasFailedReport: row?.has_failed ? 'yes' : 'no',
    reportErrorCodes: sortedStrings(row?.error_codes ?? []),
    reportTypes: sortedStrings(row?.report_types ?? []),
    reportReleases: sortedStrings(row?.report_releases ?? []),
  };
  if (row?.latest != null) stats.latestReport = row.latest;
  if (row?.earliest != null) stats.earliestReport = row.earliest;
  return stats;
}

/** The record with client-sent derived fields replaced by `stats`. */
export function withStats(record: JsonRecord, stats: ProviderStats): JsonRecord {
  const out: JsonRecord = { ...record };
  for (const field of DERIVED_PROVIDER_FIELDS) delete out[field];
  return { ...out, ...stats };
}

const LOOSE_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Recomputes and stores the statistics of one provider, if a provider with that id exists. The caller
 * holds the provider's lock (lockProviders) in the same transaction.
 */
export async function refreshProviderStats(tx: Queryable, tenant: string, providerId: string): Promise<void> {
  await writeProviderStats(tx, tenant, providerId);
}

/** The aggregates of `computeProviderStats` over the records of `FROM` (one row `s`). */
const STATS_AGGREGATES = `SELECT
         max(jsonb->>'yearMonth') FILTER (WHERE NOT jsonb ? 'failedAttempts') AS latest,
         min(jsonb->>'yearMonth') FILTER (WHERE NOT jsonb ? 'failedAttempts') AS earliest,
         bool_or(jsonb ? 'failedReason') AS has_failed,
         array_agg(DISTINCT coalesce((regexp_match(jsonb->>'failedReason', $3))[1], 'other') COLLATE "C"
                   ORDER BY coalesce((regexp_match(jsonb->>'failedReason', $3))[1], 'other') COLLATE "C")
           FILTER (WHERE jsonb ? 'failedReason') AS error_codes,
         array_agg(DISTINCT (jsonb->>'reportName') COLLATE "C" ORDER BY (jsonb->>'reportName') COLLATE "C")
           FILTER (WHERE jsonb ? 'reportName') AS report_types,
         array_agg(DISTINCT (jsonb->>'release') COLLATE "C" ORDER BY (jsonb->>'release') COLLATE "C")
           FILTER (WHERE jsonb ? 'release') AS report_releases`;

/** A derived list of the provider (`p`) joined with the same list of the new records (`s`), sorted. */
const mergedList = (field: string, column: string) =>
  `coalesce((SELECT to_jsonb(array_agg(DISTINCT v COLLATE "C" ORDER BY v COLLATE "C")) FROM (
      SELECT jsonb_array_elements_text(CASE WHEN jsonb_typeof(p.jsonb->'${field}') = 'array'
                                            THEN p.jsonb->'${field}' ELSE '[]'::jsonb END)
      UNION ALL SELECT unnest(s.${column})) AS l(v)), '[]'::jsonb)`;

/** The statistics of the provider `p` recomputed from the aggregates `s` (`STATS_AGGREGATES`). */
const RECOMPUTED = `jsonb_strip_nulls(jsonb_build_object('latestReport', s.latest, 'earliestReport', s.earliest))
       || jsonb_build_object(
         'hasFailedReport', CASE WHEN s.has_failed THEN 'yes' ELSE 'no' END,
         'reportErrorCodes', coalesce(to_jsonb(s.error_codes), '[]'::jsonb),
         'reportTypes', coalesce(to_jsonb(s.report_types), '[]'::jsonb),
         'reportReleases', coalesce(to_jsonb(s.report_releases), '[]'::jsonb))`;

/** The statistics of the provider `p` extended with the aggregates `s` of records added to it. */
const EXTENDED = `jsonb_strip_nulls(jsonb_build_object(
         'latestReport', greatest(p.jsonb->>'latestReport', s.latest),
         'earliestReport', least(p.jsonb->>'earliestReport', s.earliest)))
       || jsonb_build_object(
         'hasFailedReport',
           CASE WHEN p.jsonb->>'hasFailedReport' = 'yes' OR s.has_failed THEN 'yes' ELSE 'no' END,
         'reportErrorCodes', ${mergedList('reportErrorCodes', 'error_codes')},
         'reportTypes', ${mergedList('reportTypes', 'report_types')},
         'reportReleases', ${mergedList('reportReleases', 'report_releases')})`;

/**
 * Recomputes (`inserted` undefined) or extends (`inserted`: the only writes since the statistics were
 * last written were inserts of these records) and stores the statistics of one provider, in one
 * statement that writes nothing when nothing changed. Extending reads the new records only: a record
 * added can only widen the month span and add to the lists, so the provider's stored statistics joined
 * with those of the new records are the statistics over all its records. The lists are sorted by code
 * point (COLLATE "C"), as `sortedStrings` sorts them.
 */
async function writeProviderStats(
  tx: Queryable,
  tenant: string,
  providerId: string,
  inserted?: JsonRecord[],
): Promise<void> {
  if (!LOOSE_UUID.test(providerId)) return;
  if (inserted) {
    // The caller holds the lock already; taking it again in the statement is free.
    const part = extendStatsSql(tenant, { provider: 1, fields: 2, lock: 3, facts: 4 });
    await tx.query(`WITH ${part.ctes} ${part.update}`, [
      providerId,
      [...DERIVED_PROVIDER_FIELDS],
      statsLockKey(tenant, providerId),
      ...insertedFacts(inserted),
    ]);
    return;
  }
  const providers = tenantTable(tenant, 'usage_data_providers');
  await tx.query(
    `WITH s AS (${STATS_AGGREGATES} FROM ${tenantTable(tenant, 'counter_reports')}
                WHERE jsonb->>'providerId' = $1),
     stats AS (SELECT p.id, ${RECOMPUTED} AS value FROM ${providers} p, s WHERE p.id = $1::uuid)
     UPDATE ${providers} p
     SET jsonb = (p.jsonb - $2::text[]) || stats.value
     FROM stats
     WHERE p.id = stats.id AND p.jsonb IS DISTINCT FROM (p.jsonb - $2::text[]) || stats.value`,
    [providerId, [...DERIVED_PROVIDER_FIELDS], ERROR_CODE_PATTERN],
  );
}

/** Whether `providerId` can have statistics (a provider's id); others are never written. */
export function hasStats(providerId: string): boolean {
  return LOOSE_UUID.test(providerId);
}

/**
 * The statement parts that extend the statistics of provider `$<provider>` with records inserted for
 * it, for one statement that also inserts them: the CTEs (to follow a `WITH`) and an UPDATE (for a
 * CTE of its own). Their parameters: `$<fields>` the derived field names, `$<lock>` the provider's lock
 * key (`statsLockKey`), and from `$<facts>` the six values of `insertedFacts`. `guard` is a condition
 * the update also needs.
 *
 * The statement takes the provider's statistics lock itself (as `lockProviders` does), before the
 * provider's row is updated, and the new statistics are computed from the row being updated, not from
 * the statement's snapshot: when another writer held the lock, its committed statistics are the row
 * the update finds (PostgreSQL re-reads a row changed since the snapshot before it updates it), and a
 * writer that recomputes over all the provider's records waits for this statement's commit.
 */
export function extendStatsSql(
  tenant: string,
  p: { provider: number; fields: number; lock: number; facts: number },
  guard = 'TRUE',
): { ctes: string; update: string } {
  const f = p.facts;
  const providers = tenantTable(tenant, 'usage_data_providers');
  const value = `(p.jsonb - $${p.fields}::text[]) || ${EXTENDED}`;
  return {
    ctes: `s AS (SELECT $${f}::text AS latest, $${f + 1}::text AS earliest, $${f + 2}::boolean AS has_failed,
                 $${f + 3}::text[] AS error_codes, $${f + 4}::text[] AS report_types,
                 $${f + 5}::text[] AS report_releases),
     stats_lock AS (SELECT pg_advisory_xact_lock(${STATS_LOCK_CLASS}, hashtext($${p.lock})) WHERE ${guard})`,
    update: `UPDATE ${providers} p SET jsonb = ${value}
     FROM s, stats_lock
     WHERE p.id = $${p.provider}::uuid AND p.jsonb IS DISTINCT FROM ${value}`,
  };
}

/** The key of a provider's statistics lock (`lockProviders`). */
export function statsLockKey(tenant: string, providerId: string): string {
  return `${tenant}:${providerId}`;
}

/**
 * The aggregates of `STATS_AGGREGATES` over inserted records, computed here: latest and earliest month
 * without failed attempts, whether any failed, the error codes, report names and releases.
 */
export function insertedFacts(
  records: JsonRecord[],
): [string | null, string | null, boolean, string[], string[], string[]] {
  let latest: string | null = null;
  let earliest: string | null = null;
  let failed = false;
  const codes = new Set<string>();
  const types = new Set<string>();
  const releases = new Set<string>();
  const text = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));
  for (const r of records) {
    if (r.failedAttempts === undefined && r.yearMonth !== undefined) {
      const ym = text(r.yearMonth);
      if (latest === null || ym > latest) latest = ym;
      if (earliest === null || ym < earliest) earliest = ym;
    }
    if (r.failedReason !== undefined) {
      failed = true;
      codes.add(errorCodeOf(text(r.failedReason)));
    }
    if (r.reportName !== undefined) types.add(text(r.reportName));
    if (r.release !== undefined) releases.add(text(r.release));
  }
  return [latest, earliest, failed, [...codes], [...types], [...releases]];
}

/** The fields of a counter report the statistics read. */
function statsFacts(record: JsonRecord): JsonRecord {
  const facts: JsonRecord = {};
  for (const key of ['yearMonth', 'failedAttempts', 'failedReason', 'reportName', 'release'])
    if (record[key] !== undefined) facts[key] = record[key];
  return facts;
}

/**
 * The providers whose statistics the counter report writes of one transaction change, written once
 * before its commit (`flush`): a provider only added to (every write an insert) has its statistics
 * extended with the new records, any other recomputed over all its records.
 */
export class StatsBatch {
  private readonly providers = new Map<string, JsonRecord[] | 'all'>();

  /** A record inserted for the provider. */
  inserted(providerId: string, record: JsonRecord): void {
    const seen = this.providers.get(providerId);
    if (seen === 'all') return;
    this.providers.set(providerId, [...(seen ?? []), statsFacts(record)]);
  }

  /** A write other than an insert touched the provider. */
  changed(providerId: string): void {
    this.providers.set(providerId, 'all');
  }

  /** The providers touched, sorted (the lock order). */
  get touched(): string[] {
    return [...this.providers.keys()].sort();
  }

  async flush(tx: Queryable, tenant: string): Promise<void> {
    for (const pid of this.touched) {
      const inserted = this.providers.get(pid);
      await writeProviderStats(tx, tenant, pid, inserted === 'all' ? undefined : inserted);
    }
    this.providers.clear();
  }
}

/** Sets harvestingConfig.aggregator.name to the label of the referenced aggregator setting, if it exists. */
export async function withAggregatorName(
  tx: Queryable,
  tenant: string,
  record: JsonRecord,
): Promise<JsonRecord> {
  const config = record.harvestingConfig as JsonRecord | undefined;
  const aggregator = config?.aggregator as JsonRecord | undefined;
  if (!config || !aggregator || !isFolioUuid(aggregator.id)) return record;
  const res = await tx.query<{ label: string | null }>(
    `SELECT jsonb->>'label' AS label FROM ${tenantTable(tenant, 'aggregator_settings')} WHERE id = $1::uuid`,
    [aggregator.id],
  );
  const label = res.rows[0]?.label;
  if (typeof label !== 'string') return record;
  return { ...record, harvestingConfig: { ...config, aggregator: { ...aggregator, name: label } } };
}

/** Copies an aggregator setting's label into the providers that reference it. */
export async function renameAggregator(
  tx: Queryable,
  tenant: string,
  aggregatorId: string,
  label: string,
): Promise<void> {
  await tx.query(
    `UPDATE ${tenantTable(tenant, 'usage_data_providers')}
     SET jsonb = jsonb_set(jsonb, '{harvestingConfig,aggregator,name}', to_jsonb($2::text))
     WHERE jsonb #>> '{harvestingConfig,aggregator,id}' = $1
       AND jsonb #>> '{harvestingConfig,aggregator,name}' IS DISTINCT FROM $2`,
    [aggregatorId, label],
  );
}
