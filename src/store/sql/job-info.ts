/**
 * The tenant table `job_info(id, jsonb, seq)`: one row per job. The JSON is always FOLIO's JobInfo
 * (folio-contract §3.1); `seq` is the insertion order, kept when a row is rewritten.
 */
import { cqlToSql } from '../../cql/index.ts';
import type { Queryable } from '../db.ts';
import { tenantTable } from '../tenants.ts';
import { HARVEST_RUNS, UPLOAD_SUCCEEDED } from './harvest-runs.ts';
import { liveJob, QUEUE } from './queue.ts';

export type JobType = 'periodic' | 'tenant' | 'provider';

export interface JobInfo {
  id: string;
  type: JobType;
  providerId?: string;
  timestamp: number;
  startedAt?: string;
  finishedAt?: string;
  nextStart?: string;
  result?: 'success' | 'failure';
  errorMessage?: string;
  /**
   * What the harvest wants people to know about the job, one sentence each, in the order noted (not
   * FOLIO's; added beside its fields, folio-contract §3.1): reports not offered, months sent that were
   * not requested, ... Never secrets.
   */
  notes?: string[];
  /** Added beside FOLIO's fields: what a provider job's harvest did with the months (harvest runs only). */
  report?: JobReport;
}

/**
 * The structured report of a provider job: months stored with usage, stored as empty (no usage),
 * failed (by COUNTER exception code or HTTP status; `none` when there was neither), skipped because the
 * run or the report was stopped, and how often a request was deferred (queued, busy, rate limited).
 */
export interface JobReport {
  stored: number;
  empty: number;
  failed: Record<string, number>;
  skipped: number;
  deferred: number;
}

/** A change to a job's report: counts to add (failed ones under their code). */
export type JobReportDelta = Partial<Omit<JobReport, 'failed'>> & { failed?: Record<string, number> };

export function emptyJobReport(): JobReport {
  return { stored: 0, empty: 0, failed: {}, skipped: 0, deferred: 0 };
}

/** Field order of the schema; undefined fields are left out (folio-contract H6). */
const FIELDS: (keyof JobInfo)[] = [
  'id',
  'type',
  'providerId',
  'timestamp',
  'startedAt',
  'finishedAt',
  'nextStart',
  'result',
  'errorMessage',
  'notes',
  'report',
];

/**
 * The JobInfo as stored and sent: schema fields only, in schema order, no undefined values. A row an
 * earlier version wrote with a `message` (its notes joined by line breaks) is read with those `notes`.
 */
export function cleanJobInfo(info: JobInfo): JobInfo {
  const out: Record<string, unknown> = {};
  const legacy = (info as { message?: unknown }).message;
  const withNotes =
    typeof legacy === 'string' && legacy !== ''
      ? { ...info, notes: [...(info.notes ?? []), ...legacy.split('\n')] }
      : info;
  for (const f of FIELDS) if (withNotes[f] !== undefined && withNotes[f] !== null) out[f] = withNotes[f];
  return out as unknown as JobInfo;
}

export interface JobListQuery {
  cql?: string;
  /** Only jobs with `timestamp` ≤ this (epoch ms). */
  timestamp?: number;
  providerId?: string;
  offset: number;
  limit: number;
}

/** SQL: the numeric `timestamp` of a row, NULL when it is not a JSON number. */
const TIMESTAMP_SQL = `(CASE WHEN jsonb_typeof(jsonb->'timestamp') = 'number' THEN (jsonb->>'timestamp')::numeric END)`;

function table(tenant: string): string {
  return tenantTable(tenant, 'job_info');
}

/**
 * Inserts or replaces the whole JobInfo of `info.id`; a replaced row keeps its insertion position and
 * the notes and the `report` the harvest added while the job ran (the job's end rewrites the rest).
 */
export async function saveJobInfo(db: Queryable, tenant: string, info: JobInfo): Promise<void> {
  const t = table(tenant);
  await db.query(
    `INSERT INTO ${t} AS j (id, jsonb) VALUES ($1, $2::jsonb)
     ON CONFLICT (id) DO UPDATE SET jsonb = EXCLUDED.jsonb
       || CASE WHEN j.jsonb ? 'notes' AND NOT EXCLUDED.jsonb ? 'notes'
            THEN jsonb_build_object('notes', j.jsonb->'notes') ELSE '{}'::jsonb END
       || CASE WHEN j.jsonb ? 'report' AND NOT EXCLUDED.jsonb ? 'report'
            THEN jsonb_build_object('report', j.jsonb->'report') ELSE '{}'::jsonb END`,
    [info.id, JSON.stringify(cleanJobInfo(info))],
  );
}

/** Inserts the JobInfos of new jobs (ids not used before) in one statement, in the order given. */
export async function insertJobInfos(db: Queryable, tenant: string, infos: JobInfo[]): Promise<void> {
  await db.query(
    `INSERT INTO ${table(tenant)} (id, jsonb)
     SELECT i.id, i.jsonb FROM unnest($1::uuid[], $2::jsonb[]) WITH ORDINALITY AS i(id, jsonb, ord)
     ORDER BY i.ord`,
    [infos.map((i) => i.id), infos.map((i) => JSON.stringify(cleanJobInfo(i)))],
  );
}

/** Adds a note to the job's JobInfo (`notes`, in the order added). */
export async function addJobNote(db: Queryable, tenant: string, jobId: string, note: string): Promise<void> {
  await db.query(
    `UPDATE ${table(tenant)}
     SET jsonb = jsonb_set(jsonb, '{notes}', COALESCE(jsonb->'notes', '[]'::jsonb) || to_jsonb($2::text))
     WHERE id = $1`,
    [jobId, note],
  );
}

/** One JobInfo by id, or undefined. */
export async function getJobInfo(db: Queryable, tenant: string, id: string): Promise<JobInfo | undefined> {
  const res = await db.query<{ jsonb: JobInfo }>(`SELECT jsonb FROM ${table(tenant)} WHERE id = $1`, [id]);
  return res.rows[0] ? cleanJobInfo(res.rows[0].jsonb) : undefined;
}

/**
 * The new value of a job's `jsonb` with `delta` added to its report (created with zeros when absent);
 * the delta's values are the parameters from `$first` on (`reportDeltaParams`).
 */
function reportAdded(first: number): string {
  const p = (n: number) => `$${first + n}`;
  return `jsonb_set(jsonb, '{report}', (
       SELECT r || jsonb_build_object(
         'stored', (r->>'stored')::int + ${p(0)}::int,
         'empty', (r->>'empty')::int + ${p(1)}::int,
         'skipped', (r->>'skipped')::int + ${p(2)}::int,
         'deferred', (r->>'deferred')::int + ${p(3)}::int,
         'failed', (r->'failed') || COALESCE((
           SELECT jsonb_object_agg(d.key, COALESCE((r->'failed'->>d.key)::int, 0) + d.value::int)
           FROM jsonb_each_text(${p(4)}::jsonb) AS d), '{}'::jsonb))
       FROM (SELECT ${p(5)}::jsonb || COALESCE(jsonb->'report', '{}'::jsonb) AS r) AS cur))`;
}

function reportDeltaParams(delta: JobReportDelta): unknown[] {
  return [
    delta.stored ?? 0,
    delta.empty ?? 0,
    delta.skipped ?? 0,
    delta.deferred ?? 0,
    JSON.stringify(delta.failed ?? {}),
    JSON.stringify(emptyJobReport()),
  ];
}

/**
 * Adds `delta` to the job's report (created with zeros when absent), in one statement: the row lock
 * orders the increments of workers in several processes. No row (a purged job): nothing happens.
 */
export async function addToJobReport(
  db: Queryable,
  tenant: string,
  jobId: string,
  delta: JobReportDelta,
  opts: { uploadSucceeded?: boolean } = {},
): Promise<void> {
  const t = table(tenant);
  // With `uploadSucceeded`, the same statement counts the upload as harvest-runs.ts `recordUpload` does.
  const upload = opts.uploadSucceeded
    ? `WITH upload AS (UPDATE ${HARVEST_RUNS} SET ${UPLOAD_SUCCEEDED} WHERE job_id = $1 AND failed_uploads <> 0) `
    : '';
  await db.query(`${upload}UPDATE ${t} SET jsonb = ${reportAdded(2)} WHERE id = $1`, [
    jobId,
    ...reportDeltaParams(delta),
  ]);
}

/**
 * `addToJobReport` (with `uploadSucceeded`) as data-modifying CTEs for another statement of the
 * caller: the job's id is its parameter `$jobIdParam`, the delta's values the parameters from
 * `$first` on (`params`, to append).
 */
export function jobReportCtes(
  tenant: string,
  jobIdParam: number,
  first: number,
  delta: JobReportDelta,
): { ctes: string[]; params: unknown[] } {
  const job = `$${jobIdParam}`;
  return {
    ctes: [
      `upload AS (UPDATE ${HARVEST_RUNS} SET ${UPLOAD_SUCCEEDED} WHERE job_id = ${job} AND failed_uploads <> 0)`,
      `job_report AS (UPDATE ${table(tenant)} SET jsonb = ${reportAdded(first)} WHERE id = ${job})`,
    ],
    params: reportDeltaParams(delta),
  };
}

/** Lists JobInfos: CQL AND timestamp filter AND providerId filter; exact total; insertion order by default. */
export async function listJobInfos(
  db: Queryable,
  tenant: string,
  q: JobListQuery,
): Promise<{ jobInfos: JobInfo[]; totalRecords: number }> {
  const params: unknown[] = [];
  const cql = cqlToSql(q.cql ?? '', { jsonColumn: 'jsonb', idColumn: 'id', seqColumn: 'seq' }, params);
  const conditions = [cql.where];
  if (q.timestamp !== undefined) {
    params.push(q.timestamp);
    conditions.push(`${TIMESTAMP_SQL} <= $${params.length}::numeric`);
  }
  if (q.providerId !== undefined) {
    params.push(q.providerId);
    conditions.push(`jsonb->>'providerId' = $${params.length}`);
  }
  const where = conditions.join(' AND ');
  const count = await db.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM ${table(tenant)} WHERE ${where}`,
    params,
  );
  const page = await db.query<{ jsonb: JobInfo }>(
    `SELECT jsonb FROM ${table(tenant)} WHERE ${where} ORDER BY ${cql.orderBy}
     LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
    [...params, q.limit, q.offset],
  );
  return { jobInfos: page.rows.map((r) => cleanJobInfo(r.jsonb)), totalRecords: Number(count.rows[0].n) };
}

/** Deletes finished JobInfos, optionally only those created at or before `timestamp`. Returns the count. */
export async function purgeFinished(db: Queryable, tenant: string, timestamp?: number): Promise<number> {
  const res = await db.query(
    `DELETE FROM ${table(tenant)}
     WHERE jsonb ? 'finishedAt' AND ($1::numeric IS NULL OR ${TIMESTAMP_SQL} <= $1::numeric)`,
    [timestamp ?? null],
  );
  return res.rowCount;
}

export const STALE_JOB_MESSAGE = 'Stale job';

/**
 * Marks stale jobs as failed (folio-contract §2.6, §6.8): unfinished, not periodic, created at or before `createdBefore`,
 * and not backed by a live queue entry (queued, or running with a heartbeat at or after `aliveSince`).
 */
export async function markStale(
  db: Queryable,
  tenant: string,
  now: string,
  createdBefore: number,
  aliveSince: Date,
): Promise<number> {
  const res = await db.query(
    `UPDATE ${table(tenant)} AS j
     SET jsonb = j.jsonb || jsonb_build_object('finishedAt', $1::text, 'result', 'failure', 'errorMessage', $2::text)
     WHERE NOT (j.jsonb ? 'finishedAt')
       AND j.jsonb->>'type' IS DISTINCT FROM 'periodic'
       AND (CASE WHEN jsonb_typeof(j.jsonb->'timestamp') = 'number' THEN (j.jsonb->>'timestamp')::numeric END)
           <= $3::numeric
       AND NOT EXISTS (
         SELECT 1 FROM ${QUEUE} q
         WHERE q.id = j.id AND q.tenant = $4 AND ${liveJob('q', '$5')})`,
    [now, STALE_JOB_MESSAGE, createdBefore, tenant, aliveSince],
  );
  return res.rowCount;
}

/** Deletes the periodic placeholder rows (type periodic with nextStart); run rows stay. */
export async function deletePlaceholders(db: Queryable, tenant: string): Promise<void> {
  await db.query(`DELETE FROM ${table(tenant)} WHERE jsonb->>'type' = 'periodic' AND jsonb ? 'nextStart'`);
}

export async function getPlaceholder(db: Queryable, tenant: string): Promise<JobInfo | undefined> {
  const res = await db.query<{ jsonb: JobInfo }>(
    `SELECT jsonb FROM ${table(tenant)} WHERE jsonb->>'type' = 'periodic' AND jsonb ? 'nextStart'
     ORDER BY seq LIMIT 1`,
  );
  return res.rows[0]?.jsonb;
}

/** Moves the placeholder to `nextStart`, only if it still has `expected` (another process may have moved it). */
export async function movePlaceholder(
  db: Queryable,
  tenant: string,
  id: string,
  expected: string,
  nextStart: string,
): Promise<boolean> {
  const res = await db.query(
    `UPDATE ${table(tenant)} SET jsonb = jsonb_set(jsonb, '{nextStart}', to_jsonb($3::text))
     WHERE id = $1 AND jsonb->>'nextStart' = $2`,
    [id, expected, nextStart],
  );
  return res.rowCount > 0;
}
