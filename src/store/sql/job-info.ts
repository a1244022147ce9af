/**
 * The tenant table `job_info(id, jsonb, seq)`: one row per job. The JSON is always FOLIO's JobInfo
 * (folio-contract §3.1); `seq` is the insertion order, kept when a row is rewritten.
 */
import { cqlToSql } from '../../cql/index.ts';
import type { Queryable } from '../db.ts';
import { tenantTable } from '../tenants.ts';
import { QUEUE } from './queue.ts';

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
  /** Harvester addition: what the harvest noticed (e.g. months sent that were not requested). */
  message?: string;
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
  'message',
];

/** The JobInfo as stored and sent: schema fields only, in schema order, no undefined values. */
export function cleanJobInfo(info: JobInfo): JobInfo {
  const out: Record<string, unknown> = {};
  for (const f of FIELDS) if (info[f] !== undefined && info[f] !== null) out[f] = info[f];
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

/** Inserts or replaces the whole JobInfo of `info.id`; a replaced row keeps its insertion position. */
export async function saveJobInfo(db: Queryable, tenant: string, info: JobInfo): Promise<void> {
  await db.query(
    `INSERT INTO ${table(tenant)} (id, jsonb) VALUES ($1, $2::jsonb)
     ON CONFLICT (id) DO UPDATE SET jsonb = EXCLUDED.jsonb`,
    [info.id, JSON.stringify(cleanJobInfo(info))],
  );
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
         WHERE q.id = j.id AND q.tenant = $4 AND (q.state IN ('queued', 'waiting') OR q.heartbeat_at >= $5))`,
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
