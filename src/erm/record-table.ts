/**
 * What the three record tables of the standalone store share. Each is `(id uuid, jsonb, seq)`, the record
 * without its id in `jsonb` and `seq` for insertion order; counter reports keep `report` (and `chunked`,
 * see report-chunks.ts) in columns of their own. This module holds the SQL every such table answers to
 * (a page by CQL, one row, insert, update, delete); `RecordTable` says what differs, and each table's
 * module (providers.ts, aggregators.ts, counter-reports.ts) gives its own.
 */
import { CqlError, CqlLimitError, cqlToSql } from '../cql/index.ts';
import type { SecretRecordKind } from '../credentials/index.ts';
import type { JsonRecord } from '../model/records.ts';
import type { Db, Queryable } from '../store/db.ts';
import { tenantTable } from '../store/tenants.ts';
import { setChunkedStub, type ReportColumn } from './report-chunks.ts';
import { StoreError } from './store-error.ts';
import type { StatsBatch } from './derived.ts';
import type { UsageBatch } from './usage.ts';

/** The path segment of a record type in the HTTP API. */
export type Resource = 'usage-data-providers' | 'aggregator-settings' | 'counter-reports';

/** What differs between the three record tables. */
export interface RecordTable {
  table: 'usage_data_providers' | 'aggregator_settings' | 'counter_reports';
  /** Validates and normalises a written record (throws RecordValidationError). */
  check: (body: JsonRecord) => JsonRecord;
  /** Counter reports keep `report` in its own column. */
  separateReport: boolean;
  /**
   * Providers and aggregators carry credentials: encrypted at rest, masked in answers, never in a log
   * (docs/credentials.md). Undefined for tables without credentials.
   */
  secretKind?: SecretRecordKind;
  virtualIndexes?: Record<string, string[]>;
  /** The providers whose statistics a write of this record touches (they are locked first). */
  providersOf(record: JsonRecord): (string | undefined)[];
  /** Fills the fields the store owns before the record is stored; default: the record unchanged. */
  prepare?(tx: Queryable, tenant: string, record: JsonRecord): Promise<JsonRecord>;
  /**
   * Runs in the write's transaction after the row is stored (`previous`: the replaced record). With
   * `later`, what the write derives (the providers' statistics, the usage rows) is added to it instead
   * of being written: a caller writing several records writes it once, before its commit (`flushLater`).
   */
  afterWrite?(
    tx: Queryable,
    tenant: string,
    stored: JsonRecord,
    previous?: JsonRecord,
    later?: WriteBatch,
  ): Promise<void>;
  /** Runs in the delete's transaction: the cascades. */
  afterDelete?(tx: Queryable, tenant: string, previous: JsonRecord): Promise<void>;
  /** The answer to a unique index conflict other than on the id (counter reports: the month exists). */
  conflict?(record: JsonRecord): StoreError;
}

/** What the writes of one transaction derive, written once before its commit (see `afterWrite`). */
export interface WriteBatch {
  /** Providers whose statistics the writes changed. */
  stats: StatsBatch;
  /** The usage rows of the counter reports written. */
  usage: UsageBatch;
}

export interface Row {
  id: string;
  jsonb: JsonRecord;
  /** The report's JSON text (tenant migration 7); absent when not selected. */
  report?: string | null;
  chunked?: boolean;
}

/** The value of a string property, undefined otherwise. */
export function stringField(record: JsonRecord | undefined, key: string): string | undefined {
  const value = record?.[key];
  return typeof value === 'string' ? value : undefined;
}

/** The record of a row; a chunked report is left out and remembered (report-chunks.ts). */
export function toRecord(row: Row, withReport: boolean): JsonRecord {
  const record: JsonRecord = { ...row.jsonb, id: row.id };
  if (!withReport || row.report === undefined || row.report === null) return record;
  const report: unknown = JSON.parse(row.report);
  if (row.chunked === true) setChunkedStub(record, report as JsonRecord);
  else record.report = report;
  return record;
}

function columnsOf(spec: RecordTable, withReport: boolean): string {
  return spec.separateReport && withReport ? 'id, jsonb, report, chunked' : 'id, jsonb';
}

function translateCql(
  cql: string | undefined,
  spec: RecordTable,
  params: unknown[],
): { where: string; orderBy: string } {
  if (cql === undefined || cql.trim() === '') return { where: 'TRUE', orderBy: 'seq ASC' };
  try {
    return cqlToSql(
      cql,
      { jsonColumn: 'jsonb', idColumn: 'id', seqColumn: 'seq', virtualIndexes: spec.virtualIndexes },
      params,
    );
  } catch (err) {
    if (!(err instanceof CqlError)) throw err;
    if (err instanceof CqlLimitError) throw new StoreError(400, err.message);
    throw new StoreError(422, err.message, [
      { message: err.message, code: '-1', parameters: [{ key: 'CQL parse error', value: '' }] },
    ]);
  }
}

/** One page of a CQL query (the given columns) and the exact number of matches, read in one snapshot. */
async function pageInSnapshot<R>(
  db: Db,
  tenant: string,
  spec: RecordTable,
  query: { cql?: string; offset: number; limit: number },
  columns: string,
): Promise<{ rows: R[]; totalRecords: number }> {
  const params: unknown[] = [];
  const { where, orderBy } = translateCql(query.cql, spec, params);
  const table = tenantTable(tenant, spec.table);
  return db.transaction(async (tx) => {
    await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    const count = await tx.query<{ n: number }>(
      `SELECT count(*)::integer AS n FROM ${table} WHERE ${where}`,
      params,
    );
    const totalRecords = Number(count.rows[0]?.n ?? 0);
    if (query.limit === 0 || query.offset >= totalRecords) return { rows: [] as R[], totalRecords };
    const n = params.length;
    const rows = await tx.query<R>(
      `SELECT ${columns} FROM ${table} WHERE ${where} ORDER BY ${orderBy} OFFSET $${n + 1} LIMIT $${n + 2}`,
      [...params, query.offset, query.limit],
    );
    return { rows: rows.rows, totalRecords };
  });
}

/** The rows of one page of a CQL query and the exact number of matches, read in one snapshot. */
export function selectPage(
  db: Db,
  tenant: string,
  spec: RecordTable,
  query: { cql?: string; offset: number; limit: number; withReport: boolean },
): Promise<{ rows: Row[]; totalRecords: number }> {
  return pageInSnapshot<Row>(db, tenant, spec, query, columnsOf(spec, query.withReport));
}

/**
 * The ids of one page of a CQL query, in its order, and the exact number of matches, read in one
 * snapshot: for answers streamed record by record (`selectRows`).
 */
export async function selectPageIds(
  db: Db,
  tenant: string,
  spec: RecordTable,
  query: { cql?: string; offset: number; limit: number },
): Promise<{ ids: string[]; totalRecords: number }> {
  const page = await pageInSnapshot<{ id: string }>(db, tenant, spec, query, 'id');
  return { ids: page.rows.map((r) => r.id), totalRecords: page.totalRecords };
}

/** The rows with the given ids, in the order of `ids`; ids no longer stored are left out. */
export async function selectRows(
  db: Queryable,
  tenant: string,
  spec: RecordTable,
  ids: string[],
  withReport: boolean,
): Promise<Row[]> {
  const res = await db.query<Row>(
    `SELECT ${columnsOf(spec, withReport)} FROM ${tenantTable(tenant, spec.table)} WHERE id = ANY($1::uuid[])`,
    [ids],
  );
  const byId = new Map(res.rows.map((row) => [row.id, row]));
  return ids.map((id) => byId.get(id)).filter((row): row is Row => row !== undefined);
}

export async function selectRow(
  db: Queryable,
  tenant: string,
  spec: RecordTable,
  id: string,
): Promise<Row | undefined> {
  const res = await db.query<Row>(
    `SELECT ${columnsOf(spec, true)} FROM ${tenantTable(tenant, spec.table)} WHERE id = $1::uuid`,
    [id],
  );
  return res.rows[0];
}

/** The stored JSON of a record (without id and report); `forUpdate` locks the row. */
export async function selectJson(
  tx: Queryable,
  tenant: string,
  spec: RecordTable,
  id: string,
  forUpdate: boolean,
): Promise<JsonRecord | undefined> {
  const res = await tx.query<{ jsonb: JsonRecord }>(
    `SELECT jsonb FROM ${tenantTable(tenant, spec.table)} WHERE id = $1::uuid${forUpdate ? ' FOR UPDATE' : ''}`,
    [id],
  );
  return res.rows[0]?.jsonb;
}

/** The record without `report` (counter reports keep it in its own column), as JSON text. */
export function jsonbOf(spec: RecordTable, record: JsonRecord): string {
  if (!spec.separateReport) return JSON.stringify(record);
  const { report: _report, ...rest } = record;
  return JSON.stringify(rest);
}

/** Inserts the record; false when its id is taken. */
export async function insertRow(
  tx: Queryable,
  tenant: string,
  spec: RecordTable,
  record: JsonRecord,
  column: ReportColumn,
): Promise<boolean> {
  const jsonb = jsonbOf(spec, record);
  const table = tenantTable(tenant, spec.table);
  const res = spec.separateReport
    ? await tx.query(
        `INSERT INTO ${table} (id, jsonb, report, chunked) VALUES ($1::uuid, $2::jsonb, $3::text, $4)
         ON CONFLICT (id) DO NOTHING RETURNING id`,
        [record.id, jsonb, column.report, column.items !== undefined],
      )
    : await tx.query(
        `INSERT INTO ${table} (id, jsonb) VALUES ($1::uuid, $2::jsonb) ON CONFLICT (id) DO NOTHING RETURNING id`,
        [record.id, jsonb],
      );
  return res.rows.length === 1;
}

export async function updateRow(
  tx: Queryable,
  tenant: string,
  spec: RecordTable,
  record: JsonRecord,
  column: ReportColumn,
): Promise<void> {
  const jsonb = jsonbOf(spec, record);
  const table = tenantTable(tenant, spec.table);
  if (spec.separateReport)
    await tx.query(
      `UPDATE ${table} SET jsonb = $2::jsonb, report = $3::text, chunked = $4 WHERE id = $1::uuid`,
      [record.id, jsonb, column.report, column.items !== undefined],
    );
  else await tx.query(`UPDATE ${table} SET jsonb = $2::jsonb WHERE id = $1::uuid`, [record.id, jsonb]);
}

/** Deletes the row; the deleted record's JSON, undefined when there was none. */
export async function deleteRow(
  tx: Queryable,
  tenant: string,
  spec: RecordTable,
  id: string,
): Promise<JsonRecord | undefined> {
  const res = await tx.query<{ jsonb: JsonRecord }>(
    `DELETE FROM ${tenantTable(tenant, spec.table)} WHERE id = $1::uuid RETURNING jsonb`,
    [id],
  );
  return res.rows[0]?.jsonb;
}
