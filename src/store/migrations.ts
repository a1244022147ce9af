/**
 * Versioned schema migrations. The system schema `harvester` holds what all tenants share (tenant list,
 * work queue, periodic fire log, process heartbeats); each tenant has its own schema
 * `<tenant>_mod_erm_usage_harvester` (FOLIO's naming). A migration is applied once per schema, in order,
 * under an advisory lock so that several processes starting together do not race.
 */
import type { Db, Queryable } from './db.ts';
import { quoteIdent } from './db.ts';
import { lockMigrations } from './sql/locks.ts';
import { ENDPOINT_PACE_DDL } from './sql/endpoint-pace.ts';
import { appliedVersion, forgetScope, recordVersion } from './sql/migrations.ts';

export interface Migration {
  version: number;
  name: string;
  /** SQL statements; in tenant migrations `{schema}` is replaced by the quoted tenant schema. */
  sql: string[];
}

export const systemMigrations: Migration[] = [
  {
    version: 1,
    name: 'tenants, queue, periodic fires, instances',
    sql: [
      `CREATE TABLE IF NOT EXISTS harvester.tenants (
         id text PRIMARY KEY,
         module_to text,
         created_at timestamptz NOT NULL
       )`,
      `CREATE TABLE IF NOT EXISTS harvester.tenant_operations (
         id uuid PRIMARY KEY,
         tenant text NOT NULL,
         body jsonb NOT NULL,
         created_at timestamptz NOT NULL
       )`,
      // Durable work queue: one row per accepted job until it has finished.
      `CREATE TABLE IF NOT EXISTS harvester.queue (
         id uuid PRIMARY KEY,
         tenant text NOT NULL,
         kind text NOT NULL,
         provider_id text,
         payload jsonb NOT NULL DEFAULT '{}'::jsonb,
         state text NOT NULL DEFAULT 'queued',
         run_after timestamptz NOT NULL,
         created_at timestamptz NOT NULL,
         locked_by text,
         started_at timestamptz,
         heartbeat_at timestamptz,
         attempts integer NOT NULL DEFAULT 0
       )`,
      `CREATE INDEX IF NOT EXISTS queue_pick ON harvester.queue (state, run_after, created_at)`,
      `CREATE INDEX IF NOT EXISTS queue_tenant ON harvester.queue (tenant, kind, provider_id)`,
      // One row per (tenant, fire time): the first process to insert it runs the firing.
      `CREATE TABLE IF NOT EXISTS harvester.periodic_fires (
         tenant text NOT NULL,
         fire_time timestamptz NOT NULL,
         instance_id text NOT NULL,
         PRIMARY KEY (tenant, fire_time)
       )`,
      `CREATE TABLE IF NOT EXISTS harvester.instances (
         id text PRIMARY KEY,
         started_at timestamptz NOT NULL,
         heartbeat_at timestamptz NOT NULL
       )`,
    ],
  },
  {
    version: 2,
    name: 'job engine: queue order, one provider job per provider, fires keyed by schedule',
    sql: [
      // Claim order among jobs accepted in the same millisecond (a tenant job's fan-out).
      `ALTER TABLE harvester.queue ADD COLUMN IF NOT EXISTS seq bigserial`,
      `DROP INDEX IF EXISTS harvester.queue_pick`,
      `CREATE INDEX IF NOT EXISTS queue_pick ON harvester.queue (state, run_after, seq)`,
      `CREATE INDEX IF NOT EXISTS queue_owner ON harvester.queue (locked_by) WHERE state = 'running'`,
      // Each (re)built schedule has its own id (its placeholder's), so a replaced schedule may fire the
      // same time again while two processes never fire one schedule's time twice.
      `ALTER TABLE harvester.periodic_fires ADD COLUMN IF NOT EXISTS schedule_id uuid`,
      `UPDATE harvester.periodic_fires SET schedule_id = '00000000-0000-0000-0000-000000000000' WHERE schedule_id IS NULL`,
      `ALTER TABLE harvester.periodic_fires ALTER COLUMN schedule_id SET NOT NULL`,
      `ALTER TABLE harvester.periodic_fires DROP CONSTRAINT IF EXISTS periodic_fires_pkey`,
      `ALTER TABLE harvester.periodic_fires ADD PRIMARY KEY (tenant, schedule_id, fire_time)`,
    ],
  },
  {
    version: 3,
    name: 'harvest engine: work items, endpoint politeness, harvest runs',
    sql: [
      // One row per request still to make (report × months) of a provider job, until it is done.
      `CREATE TABLE IF NOT EXISTS harvester.work_items (
         id uuid PRIMARY KEY,
         tenant text NOT NULL,
         job_id uuid NOT NULL,
         provider_id text NOT NULL,
         endpoint text NOT NULL,
         report_name text NOT NULL,
         begin_month text NOT NULL,
         end_month text NOT NULL,
         state text NOT NULL DEFAULT 'queued',
         run_after timestamptz NOT NULL,
         created_at timestamptz NOT NULL,
         seq bigserial NOT NULL,
         locked_by text,
         heartbeat_at timestamptz,
         rate_limit_retries integer NOT NULL DEFAULT 0,
         deferrals integer NOT NULL DEFAULT 0,
         first_deferred_at timestamptz
       )`,
      `CREATE INDEX IF NOT EXISTS work_items_pick ON harvester.work_items (state, run_after, seq)`,
      `CREATE INDEX IF NOT EXISTS work_items_job ON harvester.work_items (job_id)`,
      `CREATE INDEX IF NOT EXISTS work_items_endpoint ON harvester.work_items (endpoint, state)`,
      // Politeness per remote service, shared by all processes.
      `CREATE TABLE IF NOT EXISTS harvester.endpoints (
         key text PRIMARY KEY,
         max_in_flight integer NOT NULL DEFAULT 1,
         min_interval_ms integer NOT NULL DEFAULT 0,
         next_allowed_at timestamptz NOT NULL DEFAULT '1970-01-01T00:00:00Z'
       )`,
      // The state of one provider job's harvest that all processes working on it share.
      `CREATE TABLE IF NOT EXISTS harvester.harvest_runs (
         job_id uuid PRIMARY KEY,
         tenant text NOT NULL,
         provider_id text NOT NULL,
         failed_uploads integer NOT NULL DEFAULT 0,
         rate_limited boolean NOT NULL DEFAULT false,
         next_allowed_at timestamptz NOT NULL DEFAULT '1970-01-01T00:00:00Z',
         failure text,
         created_at timestamptz NOT NULL
       )`,
    ],
  },
  {
    version: 4,
    name: 'adaptive pace per endpoint (rate limits)',
    sql: ENDPOINT_PACE_DDL,
  },
  {
    version: 5,
    name: 'work items count their takes (as queue rows do)',
    sql: [`ALTER TABLE harvester.work_items ADD COLUMN IF NOT EXISTS attempts integer NOT NULL DEFAULT 0`],
  },
];

export const tenantMigrations: Migration[] = [
  {
    version: 1,
    name: 'jobs, periodic configuration, settings, providers, aggregators, counter reports',
    sql: [
      `CREATE TABLE IF NOT EXISTS {schema}.job_info (
         id uuid PRIMARY KEY,
         jsonb jsonb NOT NULL,
         seq bigserial NOT NULL
       )`,
      `CREATE INDEX IF NOT EXISTS job_info_seq ON {schema}.job_info (seq)`,
      `CREATE TABLE IF NOT EXISTS {schema}.periodic_config (
         id uuid PRIMARY KEY,
         jsonb jsonb NOT NULL
       )`,
      `CREATE TABLE IF NOT EXISTS {schema}.settings (
         key text PRIMARY KEY,
         value jsonb NOT NULL
       )`,
      `CREATE TABLE IF NOT EXISTS {schema}.usage_data_providers (
         id uuid PRIMARY KEY,
         jsonb jsonb NOT NULL,
         seq bigserial NOT NULL
       )`,
      `CREATE TABLE IF NOT EXISTS {schema}.aggregator_settings (
         id uuid PRIMARY KEY,
         jsonb jsonb NOT NULL,
         seq bigserial NOT NULL
       )`,
      // The record without its report in jsonb; the month's report data separately in report.
      `CREATE TABLE IF NOT EXISTS {schema}.counter_reports (
         id uuid PRIMARY KEY,
         jsonb jsonb NOT NULL,
         report jsonb,
         seq bigserial NOT NULL
       )`,
      // Serves the harvester's `providerId=="<id>"` lookups (CQL folds case and accents).
      `CREATE INDEX IF NOT EXISTS counter_reports_provider ON {schema}.counter_reports (harvester.cql_fold(jsonb->>'providerId'))`,
      `CREATE UNIQUE INDEX IF NOT EXISTS counter_reports_month ON {schema}.counter_reports
         ((jsonb->>'providerId'), (jsonb->>'release'), lower(jsonb->>'reportName'), (jsonb->>'yearMonth'))`,
    ],
  },
  {
    version: 2,
    name: 'counter report chunks (large months stored as item chunks)',
    sql: [
      // A large month keeps only its header in counter_reports.report; its items, as comma-joined
      // JSON texts, are here in order. text, not jsonb: no single value nears jsonb's limits.
      `ALTER TABLE {schema}.counter_reports ADD COLUMN IF NOT EXISTS chunked boolean NOT NULL DEFAULT false`,
      `CREATE TABLE IF NOT EXISTS {schema}.counter_report_chunks (
         report_id uuid NOT NULL REFERENCES {schema}.counter_reports (id) ON DELETE CASCADE,
         seq integer NOT NULL,
         items text NOT NULL,
         PRIMARY KEY (report_id, seq)
       )`,
      // pglz (the default) makes writing large chunks CPU-bound; lz4 is several times faster where the
      // server has it, otherwise the chunks are stored uncompressed.
      `DO $$ BEGIN
         ALTER TABLE {schema}.counter_report_chunks ALTER COLUMN items SET COMPRESSION lz4;
       EXCEPTION WHEN OTHERS THEN
         ALTER TABLE {schema}.counter_report_chunks ALTER COLUMN items SET STORAGE EXTERNAL;
       END $$`,
    ],
  },
  {
    version: 4,
    name: 'usage totals and top items per stored month (the usage API reads these, never the reports)',
    sql: [
      // One row per stored month and metric: the month's usageTotals, kept in step by every write
      // of a counter report (erm/usage.ts) and removed with it.
      `CREATE TABLE IF NOT EXISTS {schema}.usage_totals (
         report_id uuid NOT NULL REFERENCES {schema}.counter_reports (id) ON DELETE CASCADE,
         provider_id text NOT NULL,
         release text NOT NULL,
         report_name text NOT NULL,
         year_month text NOT NULL,
         metric text NOT NULL,
         total bigint NOT NULL,
         PRIMARY KEY (report_id, metric)
       )`,
      `CREATE INDEX IF NOT EXISTS usage_totals_report ON {schema}.usage_totals (report_name, year_month)`,
      `CREATE INDEX IF NOT EXISTS usage_totals_provider ON {schema}.usage_totals (provider_id, report_name, year_month)`,
      // The first items of each month's topItems per metric.
      `CREATE TABLE IF NOT EXISTS {schema}.usage_top (
         report_id uuid NOT NULL REFERENCES {schema}.counter_reports (id) ON DELETE CASCADE,
         provider_id text NOT NULL,
         report_name text NOT NULL,
         year_month text NOT NULL,
         metric text NOT NULL,
         rank integer NOT NULL,
         name text,
         platform text,
         identifiers jsonb NOT NULL,
         count bigint NOT NULL,
         PRIMARY KEY (report_id, metric, rank)
       )`,
      `CREATE INDEX IF NOT EXISTS usage_top_report ON {schema}.usage_top (report_name, metric, year_month)`,
      `CREATE INDEX IF NOT EXISTS usage_top_provider ON {schema}.usage_top (provider_id, report_name, metric, year_month)`,
      `INSERT INTO {schema}.usage_totals
         SELECT c.id, c.jsonb->>'providerId', c.jsonb->>'release', upper(c.jsonb->>'reportName'),
                c.jsonb->>'yearMonth', t.key, t.value::numeric::bigint
         FROM {schema}.counter_reports c, jsonb_each_text(c.jsonb->'usageTotals') t
         WHERE jsonb_typeof(c.jsonb->'usageTotals') = 'object' AND NOT c.jsonb ? 'failedReason'
           AND c.jsonb->>'providerId' IS NOT NULL AND c.jsonb->>'release' IS NOT NULL
           AND c.jsonb->>'reportName' IS NOT NULL AND c.jsonb->>'yearMonth' IS NOT NULL
           AND t.value ~ '^-?[0-9]{1,18}$'
       ON CONFLICT DO NOTHING`,
      `INSERT INTO {schema}.usage_top
         SELECT c.id, c.jsonb->>'providerId', upper(c.jsonb->>'reportName'), c.jsonb->>'yearMonth',
                m.key, i.rank, i.item->>'name', i.item->>'platform',
                coalesce(i.item->'identifiers', '{}'::jsonb), (i.item->>'count')::numeric::bigint
         FROM {schema}.counter_reports c,
              jsonb_each(c.jsonb->'topItems') m,
              jsonb_array_elements(CASE WHEN jsonb_typeof(m.value) = 'array' THEN m.value ELSE '[]'::jsonb END)
                WITH ORDINALITY AS i(item, rank)
         WHERE jsonb_typeof(c.jsonb->'topItems') = 'object' AND NOT c.jsonb ? 'failedReason'
           AND c.jsonb->>'providerId' IS NOT NULL AND c.jsonb->>'reportName' IS NOT NULL
           AND c.jsonb->>'yearMonth' IS NOT NULL AND i.rank <= 25
           AND i.item->>'count' ~ '^-?[0-9]{1,18}$'
       ON CONFLICT DO NOTHING`,
    ],
  },
  {
    version: 5,
    name: 'restatements (counter_report_changes), job requests and notes',
    sql: [
      `CREATE TABLE IF NOT EXISTS {schema}.counter_report_changes (
         id uuid PRIMARY KEY,
         changed_at timestamptz NOT NULL,
         counter_report_id text NOT NULL,
         provider_id text NOT NULL,
         report_name text NOT NULL,
         release text NOT NULL,
         year_month text NOT NULL,
         previous_hash text,
         new_hash text NOT NULL,
         totals_before jsonb,
         totals_after jsonb,
         job_id uuid,
         seq bigserial NOT NULL
       )`,
      `CREATE INDEX IF NOT EXISTS counter_report_changes_provider ON {schema}.counter_report_changes (provider_id, seq)`,
      `CREATE INDEX IF NOT EXISTS counter_report_changes_report ON {schema}.counter_report_changes (counter_report_id)`,
      `CREATE TABLE IF NOT EXISTS {schema}.job_requests (
         job_id uuid PRIMARY KEY,
         request jsonb NOT NULL
       )`,
      `CREATE TABLE IF NOT EXISTS {schema}.job_notes (
         job_id uuid NOT NULL,
         seq bigserial NOT NULL,
         note text NOT NULL,
         PRIMARY KEY (job_id, seq)
       )`,
    ],
  },
  {
    version: 6,
    name: 'top items as one list per stored month and metric (usage_top_lists replaces usage_top)',
    sql: [
      // One row per stored month and metric instead of one per item: the harvest writes a few rows per
      // month instead of up to 25 per metric, each with its index entries (docs/benchmarks.md, section 2).
      `CREATE TABLE IF NOT EXISTS {schema}.usage_top_lists (
         report_id uuid NOT NULL REFERENCES {schema}.counter_reports (id) ON DELETE CASCADE,
         provider_id text NOT NULL,
         report_name text NOT NULL,
         year_month text NOT NULL,
         metric text NOT NULL,
         items jsonb NOT NULL,
         PRIMARY KEY (report_id, metric)
       )`,
      // One index serves /usage/top for the tenant (report, metric, then every provider's months) and
      // for one provider (report, metric, provider, then the month range).
      `CREATE INDEX IF NOT EXISTS usage_top_lists_metric ON {schema}.usage_top_lists (report_name, metric, provider_id, year_month)`,
      `INSERT INTO {schema}.usage_top_lists
         SELECT c.id, c.jsonb->>'providerId', upper(c.jsonb->>'reportName'), c.jsonb->>'yearMonth', m.key,
                jsonb_agg(jsonb_build_object(
                  'name', CASE WHEN jsonb_typeof(i.item->'name') = 'string' THEN i.item->>'name' END,
                  'platform', CASE WHEN jsonb_typeof(i.item->'platform') = 'string' THEN i.item->>'platform' END,
                  'identifiers', CASE WHEN jsonb_typeof(i.item->'identifiers') IN ('object', 'array')
                                      THEN i.item->'identifiers' ELSE '{}'::jsonb END,
                  'count', (i.item->>'count')::numeric::bigint) ORDER BY i.rank)
         FROM {schema}.counter_reports c,
              jsonb_each(c.jsonb->'topItems') m,
              jsonb_array_elements(CASE WHEN jsonb_typeof(m.value) = 'array' THEN m.value ELSE '[]'::jsonb END)
                WITH ORDINALITY AS i(item, rank)
         WHERE jsonb_typeof(c.jsonb->'topItems') = 'object' AND NOT c.jsonb ? 'failedReason'
           AND c.jsonb->>'providerId' IS NOT NULL AND c.jsonb->>'release' IS NOT NULL
           AND c.jsonb->>'reportName' IS NOT NULL AND c.jsonb->>'yearMonth' IS NOT NULL
           AND i.rank <= 25 AND i.item->>'count' ~ '^-?[0-9]{1,18}$'
         GROUP BY c.id, m.key
       ON CONFLICT DO NOTHING`,
      `DROP TABLE IF EXISTS {schema}.usage_top`,
    ],
  },
  {
    version: 7,
    name: "a counter report's data as JSON text (counter_reports.report text instead of jsonb)",
    sql: [
      // The report is only ever written and read whole: as text it is stored as the service wrote it,
      // without the database parsing it into jsonb on every write (about a third of the write's cost on
      // PGlite, docs/benchmarks.md section 2) nor rendering it on every read.
      `ALTER TABLE {schema}.counter_reports ALTER COLUMN report TYPE text USING report::text`,
      // lz4 where the server has it (faster than the default pglz); otherwise pglz, as before.
      `DO $$ BEGIN
         ALTER TABLE {schema}.counter_reports ALTER COLUMN report SET COMPRESSION lz4;
       EXCEPTION WHEN OTHERS THEN NULL;
       END $$`,
    ],
  },
  {
    version: 8,
    name: 'lz4 for the other JSON columns that outgrow a page (a month record, its top items, a job)',
    sql: [
      // A month record's jsonb (its usage totals and top items), the top-item lists and a job's info
      // pass PostgreSQL's 2 kB compression threshold too; with pglz their compression was about a
      // twelfth of the server's CPU in the harvest (docs/benchmarks.md, section 2). Values already
      // stored keep their compression; servers without lz4 (and PGlite) keep pglz.
      `DO $$ BEGIN
         ALTER TABLE {schema}.counter_reports ALTER COLUMN jsonb SET COMPRESSION lz4;
         ALTER TABLE {schema}.usage_top_lists ALTER COLUMN items SET COMPRESSION lz4;
         ALTER TABLE {schema}.job_info ALTER COLUMN jsonb SET COMPRESSION lz4;
       EXCEPTION WHEN OTHERS THEN NULL;
       END $$`,
    ],
  },
];

async function applyMigrations(
  tx: Queryable,
  scope: string,
  migrations: Migration[],
  render: (sql: string) => string,
): Promise<number> {
  const current = await appliedVersion(tx, scope);
  let applied = current;
  for (const m of migrations) {
    if (m.version <= current) continue;
    for (const stmt of m.sql) await tx.query(render(stmt));
    applied = m.version;
  }
  if (applied !== current) await recordVersion(tx, scope, applied);
  return applied;
}

/**
 * Brings the system schema up to date. `supportSql` are idempotent statements run on every start after
 * the migrations (the CQL translator's SQL functions). Safe to call from several processes at once.
 */
export async function migrateSystem(db: Db, supportSql: string[] = []): Promise<void> {
  await db.transaction(async (tx) => {
    await lockMigrations(tx);
    await tx.query('CREATE SCHEMA IF NOT EXISTS harvester');
    await tx.query(
      `CREATE TABLE IF NOT EXISTS harvester.migrations (scope text PRIMARY KEY, version integer NOT NULL)`,
    );
    await applyMigrations(tx, 'system', systemMigrations, (s) => s);
    for (const stmt of supportSql) await tx.query(stmt);
  });
}

/** Creates or upgrades the schema of one tenant. */
export async function migrateTenant(db: Db, schema: string): Promise<void> {
  await db.transaction(async (tx) => {
    await lockMigrations(tx);
    await tx.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    await applyMigrations(tx, `tenant:${schema}`, tenantMigrations, (s) =>
      s.replaceAll('{schema}', quoteIdent(schema)),
    );
  });
}

export async function dropTenantSchema(db: Db, schema: string): Promise<void> {
  await db.transaction(async (tx) => {
    await lockMigrations(tx);
    await tx.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
    await forgetScope(tx, `tenant:${schema}`);
  });
}
