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
  if (!LOOSE_UUID.test(providerId)) return;
  // `computeProviderStats` and the write in one statement, which writes nothing when nothing changed.
  // The lists are sorted by code point (COLLATE "C"), as `sortedStrings` sorts them.
  await tx.query(
    `WITH s AS (
       SELECT
         max(jsonb->>'yearMonth') FILTER (WHERE NOT jsonb ? 'failedAttempts') AS latest,
         min(jsonb->>'yearMonth') FILTER (WHERE NOT jsonb ? 'failedAttempts') AS earliest,
         bool_or(jsonb ? 'failedReason') AS has_failed,
         array_agg(DISTINCT coalesce((regexp_match(jsonb->>'failedReason', $3))[1], 'other') COLLATE "C"
                   ORDER BY coalesce((regexp_match(jsonb->>'failedReason', $3))[1], 'other') COLLATE "C")
           FILTER (WHERE jsonb ? 'failedReason') AS error_codes,
         array_agg(DISTINCT (jsonb->>'reportName') COLLATE "C" ORDER BY (jsonb->>'reportName') COLLATE "C")
           FILTER (WHERE jsonb ? 'reportName') AS report_types,
         array_agg(DISTINCT (jsonb->>'release') COLLATE "C" ORDER BY (jsonb->>'release') COLLATE "C")
           FILTER (WHERE jsonb ? 'release') AS report_releases
       FROM ${tenantTable(tenant, 'counter_reports')}
       WHERE jsonb->>'providerId' = $1
     ),
     stats AS (
       SELECT jsonb_strip_nulls(jsonb_build_object('latestReport', latest, 'earliestReport', earliest))
         || jsonb_build_object(
              'hasFailedReport', CASE WHEN has_failed THEN 'yes' ELSE 'no' END,
              'reportErrorCodes', coalesce(to_jsonb(error_codes), '[]'::jsonb),
              'reportTypes', coalesce(to_jsonb(report_types), '[]'::jsonb),
              'reportReleases', coalesce(to_jsonb(report_releases), '[]'::jsonb)) AS value
       FROM s
     )
     UPDATE ${tenantTable(tenant, 'usage_data_providers')} p
     SET jsonb = (p.jsonb - $2::text[]) || stats.value
     FROM stats
     WHERE p.id = $1::uuid AND p.jsonb IS DISTINCT FROM (p.jsonb - $2::text[]) || stats.value`,
    [providerId, [...DERIVED_PROVIDER_FIELDS], ERROR_CODE_PATTERN],
  );
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
