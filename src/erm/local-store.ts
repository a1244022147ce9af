/**
 * The standalone store (compat spec §4): usage data providers, aggregator settings and counter reports in
 * the service's own database, with mod-erm-usage's rules for writes, derived fields and cascades. The routes
 * (src/api/erm-routes.ts) serve it over HTTP; the harvesting engine uses it in-process through the ErmStore
 * port. Every write runs in one transaction.
 */
import { randomUUID } from 'node:crypto';
import type { ServiceContext } from '../context.ts';
import { CqlError, cqlToSql } from '../cql/index.ts';
import { formatDateTime } from '../dates.ts';
import { secrets } from '../log.ts';
import type { Queryable } from '../store/db.ts';
import { tenantTable } from '../store/tenants.ts';
import {
  computeProviderStats,
  lockProviders,
  refreshProviderStats,
  tenantDistinct,
  tenantErrorCodes,
  withStats,
} from './derived.ts';
import type { AggregatorSetting, CounterReport, JsonRecord, UsageDataProvider } from '../model/records.ts';
import { ErmError, type ErmStore, type Page, type StreamedReport } from './port.ts';
import { isFolioUuid } from '../model/schemas.ts';
import {
  checkAggregator,
  checkCounterReport,
  checkProvider,
  RecordValidationError,
  rmbErrors,
} from './record-checks.ts';

export const INVALID_UUID_MESSAGE =
  'Invalid UUID format of id, should be xxxxxxxx-xxxx-Mxxx-Nxxx-xxxxxxxxxxxx where M is 1-5 and N is 8, 9, a, b, A or B and x is 0-9, a-f or A-F.';

export type Resource = 'usage-data-providers' | 'aggregator-settings' | 'counter-reports';

export interface StoreErrorDetail {
  message: string;
  code?: string;
  parameters?: { key: string; value: string }[];
}

/**
 * A store answer other than success, in mod-erm-usage's HTTP terms: 400 and 404 carry a text message,
 * 422 carries RMB error details.
 */
export class StoreError extends Error {
  override name = 'StoreError';
  constructor(
    readonly status: 400 | 404 | 422,
    message: string,
    readonly details: StoreErrorDetail[] = [],
  ) {
    super(message);
  }
}

export interface ListQuery {
  /** CQL; empty or absent means all records in insertion order. */
  cql?: string;
  offset: number;
  limit: number;
  /** Counter reports: leave out `report`. */
  tiny?: boolean;
  /**
   * Leave chunked reports out of the records (see `isChunked`, `reportJsonPieces`) instead of
   * assembling them in memory: for callers that stream the answer.
   */
  lazyChunks?: boolean;
}

export interface WriteOptions {
  /** X-Okapi-User-Id: fills metadata.createdByUserId / updatedByUserId. */
  userId?: string;
}

interface Row {
  id: string;
  jsonb: JsonRecord;
  report?: unknown;
  chunked?: boolean;
}

/** Reports whose `Report_Items` JSON is longer than this are stored as item chunks. */
export const CHUNKED_REPORT_BYTES = 4 * 1024 * 1024;
/** Target size of one chunk of comma-joined item texts. */
const CHUNK_BYTES = 4 * 1024 * 1024;
const ITEMS_KEY = 'Report_Items';

/** Records read with `lazyChunks` whose report is in chunks: record → the report without its items. */
const chunkedStubs = new WeakMap<JsonRecord, JsonRecord>();

/** Whether the record's report was left out because it is stored in chunks (read with `lazyChunks`). */
export function isChunked(record: JsonRecord): boolean {
  return chunkedStubs.has(record);
}

/** How a counter report's data goes to the database: one jsonb value, or a stub plus item chunks. */
interface ReportColumn {
  report: string | null;
  items?: () => AsyncIterable<string>;
}

/** What differs between the three record types. */
interface ResourceSpec {
  table: 'usage_data_providers' | 'aggregator_settings' | 'counter_reports';
  check: (body: JsonRecord) => JsonRecord;
  /** Counter reports keep `report` in its own column. */
  separateReport: boolean;
  /** Providers and aggregators carry credentials that must never reach a log. */
  hasSecrets: boolean;
  virtualIndexes?: Record<string, string[]>;
  /** The providers whose statistics a write of this record touches (they are locked first). */
  providersOf(record: JsonRecord): (string | undefined)[];
}

const SPECS: Record<Resource, ResourceSpec> = {
  'usage-data-providers': {
    table: 'usage_data_providers',
    check: checkProvider,
    separateReport: false,
    hasSecrets: true,
    virtualIndexes: { keywords: ['label', 'description', 'harvestingConfig.aggregator.name'] },
    providersOf: (record) => [stringField(record, 'id')],
  },
  'aggregator-settings': {
    table: 'aggregator_settings',
    check: checkAggregator,
    separateReport: false,
    hasSecrets: true,
    providersOf: () => [],
  },
  'counter-reports': {
    table: 'counter_reports',
    check: checkCounterReport,
    separateReport: true,
    hasSecrets: false,
    providersOf: (record) => [stringField(record, 'providerId')],
  },
};

function stringField(record: JsonRecord | undefined, key: string): string | undefined {
  const value = record?.[key];
  return typeof value === 'string' ? value : undefined;
}

function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23505';
}

const REASONS: Record<number, string> = { 400: 'Bad Request', 404: 'Not Found', 422: 'Unprocessable Entity' };

/** Runs a store call for the port: store answers become ErmErrors, as an HTTP client would see them. */
async function asPort<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof StoreError) throw new ErmError(err.status, REASONS[err.status]);
    throw err;
  }
}

function toRecord(row: Row, withReport: boolean): JsonRecord {
  const record: JsonRecord = { ...row.jsonb, id: row.id };
  if (!withReport || row.report === undefined || row.report === null) return record;
  if (row.chunked === true) chunkedStubs.set(record, row.report as JsonRecord);
  else record.report = row.report;
  return record;
}

export class LocalErmStore implements ErmStore {
  constructor(private readonly ctx: ServiceContext) {}

  // ---- collection and item reads ----

  /** A page of records matching the CQL query, with the exact number of matches. */
  async list(tenant: string, resource: Resource, query: ListQuery): Promise<Page<JsonRecord>> {
    const spec = SPECS[resource];
    const params: unknown[] = [];
    const { where, orderBy } = translateCql(query.cql, spec, params);
    const table = tenantTable(tenant, spec.table);
    const withReport = spec.separateReport && query.tiny !== true;
    const columns = withReport ? 'id, jsonb, report, chunked' : 'id, jsonb';
    const page = await this.ctx.db.transaction(async (tx) => {
      await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      const count = await tx.query<{ n: number }>(
        `SELECT count(*)::integer AS n FROM ${table} WHERE ${where}`,
        params,
      );
      const totalRecords = Number(count.rows[0]?.n ?? 0);
      if (query.limit === 0 || query.offset >= totalRecords) return { rows: [] as Row[], totalRecords };
      const n = params.length;
      const rows = await tx.query<Row>(
        `SELECT ${columns} FROM ${table} WHERE ${where} ORDER BY ${orderBy} OFFSET $${n + 1} LIMIT $${n + 2}`,
        [...params, query.offset, query.limit],
      );
      return { rows: rows.rows, totalRecords };
    });
    const records = page.rows.map((row) => toRecord(row, withReport));
    if (!query.lazyChunks) for (const r of records) await this.assemble(tenant, r);
    if (spec.hasSecrets) for (const r of records) secrets.addFromRecord(r);
    return { records, totalRecords: page.totalRecords };
  }

  /** One record; StoreError 404 for a malformed or unknown id. */
  async read(
    tenant: string,
    resource: Resource,
    id: string,
    { lazyChunks = false }: { lazyChunks?: boolean } = {},
  ): Promise<JsonRecord> {
    if (!isFolioUuid(id)) throw new StoreError(404, INVALID_UUID_MESSAGE);
    const spec = SPECS[resource];
    const columns = spec.separateReport ? 'id, jsonb, report, chunked' : 'id, jsonb';
    const res = await this.ctx.db.query<Row>(
      `SELECT ${columns} FROM ${tenantTable(tenant, spec.table)} WHERE id = $1::uuid`,
      [id],
    );
    const row = res.rows[0];
    if (!row) throw new StoreError(404, 'Not found');
    const record = toRecord(row, true);
    if (!lazyChunks) await this.assemble(tenant, record);
    if (spec.hasSecrets) secrets.addFromRecord(record);
    return record;
  }

  /**
   * The JSON text of a chunked record's report, in pieces: the stub's members, then the items chunk
   * by chunk (one chunk in memory at a time). Chunks are read one query each, so a PUT landing
   * mid-stream can mix two versions of the same month (each piece is still valid JSON).
   */
  async *reportJsonPieces(tenant: string, record: JsonRecord): AsyncGenerator<string> {
    const stub = chunkedStubs.get(record);
    if (!stub) {
      yield JSON.stringify(record.report ?? null);
      return;
    }
    const head = JSON.stringify(stub);
    yield `${head.slice(0, -1)}${head === '{}' ? '' : ','}${JSON.stringify(ITEMS_KEY)}:[`;
    const table = tenantTable(tenant, 'counter_report_chunks');
    for (let seq = 0; ; seq++) {
      const res = await this.ctx.db.query<{ items: string }>(
        `SELECT items FROM ${table} WHERE report_id = $1::uuid AND seq = $2`,
        [record.id, seq],
      );
      const items = res.rows[0]?.items;
      if (items === undefined) break;
      yield seq === 0 ? items : `,${items}`;
    }
    yield ']}';
  }

  /** Puts a chunked report back into the record as an object (in-process callers, small enough). */
  private async assemble(tenant: string, record: JsonRecord): Promise<void> {
    if (!isChunked(record)) return;
    let text = '';
    for await (const piece of this.reportJsonPieces(tenant, record)) text += piece;
    chunkedStubs.delete(record);
    record.report = JSON.parse(text);
  }

  // ---- writes ----

  /** POST: validates, assigns an id, sets metadata and derived fields; returns the stored record. */
  async create(
    tenant: string,
    resource: Resource,
    body: JsonRecord,
    opts: WriteOptions = {},
    streamed?: StreamedReport,
  ): Promise<JsonRecord> {
    const spec = SPECS[resource];
    const record = validate(spec, withStubReport(body, streamed));
    if (record.id === undefined) record.id = randomUUID();
    const id = String(record.id).toLowerCase();
    record.id = id;
    if (spec.hasSecrets) secrets.addFromRecord(record);
    return this.write(spec, record, async (tx) => {
      await lockProviders(tx, tenant, spec.providersOf(record));
      const stored = await this.prepare(tx, tenant, resource, record);
      stored.metadata = this.metadata(opts);
      const column = reportColumn(spec, stored, streamed);
      if (!(await insertRow(tx, tenant, spec, stored, column)))
        throw new StoreError(422, `id value already exists in table ${spec.table}: ${id}`, [
          {
            message: `id value already exists in table ${spec.table}: ${id}`,
            code: '-1',
            parameters: [{ key: 'id', value: id }],
          },
        ]);
      await writeChunks(tx, tenant, id, column);
      await this.afterWrite(tx, tenant, resource, stored, undefined);
      return stored;
    });
  }

  /** PUT: replaces the record stored under `id` (the body's id is overwritten). */
  async replace(
    tenant: string,
    resource: Resource,
    id: string,
    body: JsonRecord,
    opts: WriteOptions = {},
    streamed?: StreamedReport,
  ): Promise<JsonRecord> {
    if (!isFolioUuid(id)) throw new StoreError(400, INVALID_UUID_MESSAGE);
    const spec = SPECS[resource];
    const record = validate(spec, withStubReport({ ...body, id: id.toLowerCase() }, streamed));
    if (spec.hasSecrets) secrets.addFromRecord(record);
    return this.write(spec, record, async (tx) => {
      const before = await readJson(tx, tenant, spec, id, false);
      await lockProviders(tx, tenant, [...spec.providersOf(record), ...spec.providersOf(before ?? {})]);
      const previous = await readJson(tx, tenant, spec, id, true);
      if (!previous) throw new StoreError(404, 'Not found');
      await this.lockIfMoved(tx, tenant, spec, before, previous);
      const stored = await this.prepare(tx, tenant, resource, record);
      stored.metadata = this.metadata(opts, previous.metadata);
      const column = reportColumn(spec, stored, streamed);
      await updateRow(tx, tenant, spec, stored, column);
      if (spec.separateReport) {
        await tx.query(
          `DELETE FROM ${tenantTable(tenant, 'counter_report_chunks')} WHERE report_id = $1::uuid`,
          [stored.id],
        );
        await writeChunks(tx, tenant, String(stored.id), column);
      }
      await this.afterWrite(tx, tenant, resource, stored, previous);
      return stored;
    });
  }

  /** DELETE: removes the record, with its cascades (a provider's counter reports, provider statistics). */
  async remove(tenant: string, resource: Resource, id: string): Promise<void> {
    if (!isFolioUuid(id)) throw new StoreError(404, INVALID_UUID_MESSAGE);
    const spec = SPECS[resource];
    await this.ctx.db.transaction(async (tx) => {
      const before = await readJson(tx, tenant, spec, id, false);
      await lockProviders(tx, tenant, spec.providersOf(before ?? {}));
      const res = await tx.query<{ jsonb: JsonRecord }>(
        `DELETE FROM ${tenantTable(tenant, spec.table)} WHERE id = $1::uuid RETURNING jsonb`,
        [id],
      );
      const previous = res.rows[0]?.jsonb;
      if (!previous) throw new StoreError(404, 'Not found');
      await this.lockIfMoved(tx, tenant, spec, before, previous);
      await this.afterDelete(tx, tenant, resource, previous);
    });
  }

  /** POST /counter-reports/reports/delete: deletes the given counter reports (unknown ids are skipped). */
  async removeCounterReports(tenant: string, ids: string[]): Promise<void> {
    const bad = ids.find((id) => !isFolioUuid(id));
    if (bad !== undefined) throw new StoreError(400, `${INVALID_UUID_MESSAGE} Invalid id: ${String(bad)}`);
    if (ids.length === 0) return;
    const table = tenantTable(tenant, 'counter_reports');
    await this.ctx.db.transaction(async (tx) => {
      const before = await tx.query<{ pid: string | null }>(
        `SELECT DISTINCT jsonb->>'providerId' AS pid FROM ${table} WHERE id = ANY($1::uuid[])`,
        [ids],
      );
      const providers = before.rows.map((r) => r.pid ?? undefined);
      await lockProviders(tx, tenant, providers);
      const res = await tx.query<{ pid: string | null }>(
        `DELETE FROM ${table} WHERE id = ANY($1::uuid[]) RETURNING jsonb->>'providerId' AS pid`,
        [ids],
      );
      const touched = [...new Set(res.rows.map((r) => r.pid).filter((p): p is string => p !== null))];
      await lockProviders(
        tx,
        tenant,
        touched.filter((p) => !providers.includes(p)),
      );
      for (const pid of touched) await refreshProviderStats(tx, tenant, pid);
    });
  }

  // ---- tenant-wide counter report facts (§4.1 optional endpoints) ----

  errorCodes(tenant: string): Promise<string[]> {
    return tenantErrorCodes(this.ctx.db, tenant);
  }

  reportTypes(tenant: string): Promise<string[]> {
    return tenantDistinct(this.ctx.db, tenant, 'reportName');
  }

  reportReleases(tenant: string): Promise<string[]> {
    return tenantDistinct(this.ctx.db, tenant, 'release');
  }

  // ---- tenant settings ----

  async getSetting(tenant: string, key: string): Promise<unknown> {
    const res = await this.ctx.db.query<{ value: unknown }>(
      `SELECT value FROM ${tenantTable(tenant, 'settings')} WHERE key = $1`,
      [key],
    );
    return res.rows[0]?.value;
  }

  async setSetting(tenant: string, key: string, value: unknown): Promise<void> {
    await this.ctx.db.query(
      `INSERT INTO ${tenantTable(tenant, 'settings')} (key, value) VALUES ($1, $2::jsonb)
       ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
      [key, JSON.stringify(value)],
    );
  }

  // ---- the ErmStore port (harvesting engine) ----

  getProvider(tenant: string, id: string): Promise<UsageDataProvider> {
    return asPort(async () => (await this.read(tenant, 'usage-data-providers', id)) as UsageDataProvider);
  }

  putProvider(tenant: string, provider: UsageDataProvider): Promise<void> {
    return asPort(async () => {
      await this.replace(tenant, 'usage-data-providers', provider.id, provider);
    });
  }

  findProviders(
    tenant: string,
    cql: string,
    offset: number,
    limit: number,
  ): Promise<Page<UsageDataProvider>> {
    return asPort(
      async () =>
        (await this.list(tenant, 'usage-data-providers', { cql, offset, limit })) as Page<UsageDataProvider>,
    );
  }

  getAggregator(tenant: string, id: string): Promise<AggregatorSetting> {
    return asPort(async () => (await this.read(tenant, 'aggregator-settings', id)) as AggregatorSetting);
  }

  findCounterReports(
    tenant: string,
    cql: string,
    offset: number,
    limit: number,
    tiny: boolean,
  ): Promise<Page<CounterReport>> {
    return asPort(
      async () =>
        (await this.list(tenant, 'counter-reports', { cql, offset, limit, tiny })) as Page<CounterReport>,
    );
  }

  postCounterReport(tenant: string, report: CounterReport): Promise<string> {
    return asPort(async () => String((await this.create(tenant, 'counter-reports', report)).id));
  }

  putCounterReport(tenant: string, id: string, report: CounterReport): Promise<void> {
    return asPort(async () => {
      await this.replace(tenant, 'counter-reports', id, report);
    });
  }

  postCounterReportStream(tenant: string, record: CounterReport, report: StreamedReport): Promise<string> {
    return asPort(async () => String((await this.create(tenant, 'counter-reports', record, {}, report)).id));
  }

  putCounterReportStream(
    tenant: string,
    id: string,
    record: CounterReport,
    report: StreamedReport,
  ): Promise<void> {
    return asPort(async () => {
      await this.replace(tenant, 'counter-reports', id, record, {}, report);
    });
  }

  // ---- internals ----

  private metadata(opts: WriteOptions, previous?: unknown): JsonRecord {
    const now = formatDateTime(this.ctx.clock.now());
    const old = previous !== null && typeof previous === 'object' ? (previous as JsonRecord) : {};
    const metadata: JsonRecord = {
      createdDate: typeof old.createdDate === 'string' ? old.createdDate : now,
      createdByUserId: typeof old.createdDate === 'string' ? old.createdByUserId : opts.userId,
      updatedDate: now,
      updatedByUserId: opts.userId,
    };
    for (const key of Object.keys(metadata)) if (metadata[key] === undefined) delete metadata[key];
    return metadata;
  }

  /** Runs a write transaction; a unique-index conflict on a counter report month becomes a 422. */
  private async write(
    spec: ResourceSpec,
    record: JsonRecord,
    fn: (tx: Queryable) => Promise<JsonRecord>,
  ): Promise<JsonRecord> {
    try {
      return await this.ctx.db.transaction(fn);
    } catch (err) {
      if (isUniqueViolation(err) && spec.table === 'counter_reports') throw duplicateMonth(record);
      throw err;
    }
  }

  /** Another writer changed the record's provider between the first read and the lock: lock that one too. */
  private async lockIfMoved(
    tx: Queryable,
    tenant: string,
    spec: ResourceSpec,
    before: JsonRecord | undefined,
    current: JsonRecord,
  ): Promise<void> {
    const seen = spec.providersOf(before ?? {});
    const moved = spec.providersOf(current).filter((p) => p !== undefined && !seen.includes(p));
    await lockProviders(tx, tenant, moved);
  }

  /** Fills the fields the store owns before a provider is stored: aggregator name and statistics. */
  private async prepare(
    tx: Queryable,
    tenant: string,
    resource: Resource,
    record: JsonRecord,
  ): Promise<JsonRecord> {
    if (resource !== 'usage-data-providers') return { ...record };
    const named = await withAggregatorName(tx, tenant, record);
    return withStats(named, await computeProviderStats(tx, tenant, String(record.id)));
  }

  private async afterWrite(
    tx: Queryable,
    tenant: string,
    resource: Resource,
    stored: JsonRecord,
    previous: JsonRecord | undefined,
  ): Promise<void> {
    if (resource === 'aggregator-settings')
      await renameAggregator(tx, tenant, String(stored.id), String(stored.label));
    if (resource !== 'counter-reports') return;
    const providers = new Set([stringField(stored, 'providerId'), stringField(previous, 'providerId')]);
    for (const pid of providers) if (pid !== undefined) await refreshProviderStats(tx, tenant, pid);
  }

  private async afterDelete(
    tx: Queryable,
    tenant: string,
    resource: Resource,
    previous: JsonRecord,
  ): Promise<void> {
    if (resource === 'usage-data-providers') {
      await tx.query(
        `DELETE FROM ${tenantTable(tenant, 'counter_reports')} WHERE jsonb->>'providerId' = $1`,
        [String(previous.id)],
      );
    }
    const pid = resource === 'counter-reports' ? stringField(previous, 'providerId') : undefined;
    if (pid !== undefined) await refreshProviderStats(tx, tenant, pid);
  }
}

function validate(spec: ResourceSpec, body: JsonRecord): JsonRecord {
  try {
    return spec.check(body);
  } catch (err) {
    if (!(err instanceof RecordValidationError)) throw err;
    throw new StoreError(422, err.message, rmbErrors(err.errors));
  }
}

function translateCql(
  cql: string | undefined,
  spec: ResourceSpec,
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
    throw new StoreError(422, err.message, [
      { message: err.message, code: '-1', parameters: [{ key: 'CQL parse error', value: '' }] },
    ]);
  }
}

function duplicateMonth(record: JsonRecord): StoreError {
  const keys = ['providerId', 'release', 'reportName', 'yearMonth'];
  const message =
    'A counter report for this providerId, release, reportName (ignoring case) and yearMonth already exists: ' +
    keys.map((k) => `${k}=${String(record[k])}`).join(', ');
  return new StoreError(422, message, [
    { message, code: '-1', parameters: keys.map((key) => ({ key, value: String(record[key]) })) },
  ]);
}

async function readJson(
  tx: Queryable,
  tenant: string,
  spec: ResourceSpec,
  id: string,
  forUpdate: boolean,
): Promise<JsonRecord | undefined> {
  const res = await tx.query<{ jsonb: JsonRecord }>(
    `SELECT jsonb FROM ${tenantTable(tenant, spec.table)} WHERE id = $1::uuid${forUpdate ? ' FOR UPDATE' : ''}`,
    [id],
  );
  return res.rows[0]?.jsonb;
}

/** The record with a stand-in report for validation: the header and no items. */
function withStubReport(body: JsonRecord, streamed: StreamedReport | undefined): JsonRecord {
  if (!streamed) return body;
  return { ...body, report: { Report_Header: streamed.header, [ITEMS_KEY]: [] } };
}

/**
 * Where the counter report's data goes: small reports as one jsonb value, large ones (streamed, or
 * with items longer than CHUNKED_REPORT_BYTES) as a stub without items plus item chunks.
 */
function reportColumn(spec: ResourceSpec, record: JsonRecord, streamed?: StreamedReport): ReportColumn {
  if (!spec.separateReport || record.report === undefined) return { report: null };
  const report = record.report as JsonRecord;
  if (streamed) return { report: JSON.stringify({ Report_Header: streamed.header }), items: streamed.items };
  const items = typeof report === 'object' && report !== null ? report[ITEMS_KEY] : undefined;
  const json = JSON.stringify(report);
  if (!Array.isArray(items) || json.length <= CHUNKED_REPORT_BYTES) return { report: json };
  const { [ITEMS_KEY]: _items, ...stub } = report;
  return { report: JSON.stringify(stub), items: () => itemTexts(items) };
}

async function* itemTexts(items: unknown[]): AsyncGenerator<string> {
  for (const item of items) yield JSON.stringify(item) ?? 'null';
}

/** The record without `report` (counter reports keep it in its own column). */
function jsonbOf(spec: ResourceSpec, record: JsonRecord): string {
  if (!spec.separateReport) return JSON.stringify(record);
  const { report: _report, ...rest } = record;
  return JSON.stringify(rest);
}

/** Inserts the record; false when its id is taken. */
async function insertRow(
  tx: Queryable,
  tenant: string,
  spec: ResourceSpec,
  record: JsonRecord,
  column: ReportColumn,
): Promise<boolean> {
  const jsonb = jsonbOf(spec, record);
  const table = tenantTable(tenant, spec.table);
  const res = spec.separateReport
    ? await tx.query(
        `INSERT INTO ${table} (id, jsonb, report, chunked) VALUES ($1::uuid, $2::jsonb, $3::jsonb, $4)
         ON CONFLICT (id) DO NOTHING RETURNING id`,
        [record.id, jsonb, column.report, column.items !== undefined],
      )
    : await tx.query(
        `INSERT INTO ${table} (id, jsonb) VALUES ($1::uuid, $2::jsonb) ON CONFLICT (id) DO NOTHING RETURNING id`,
        [record.id, jsonb],
      );
  return res.rows.length === 1;
}

async function updateRow(
  tx: Queryable,
  tenant: string,
  spec: ResourceSpec,
  record: JsonRecord,
  column: ReportColumn,
): Promise<void> {
  const jsonb = jsonbOf(spec, record);
  const table = tenantTable(tenant, spec.table);
  if (spec.separateReport)
    await tx.query(
      `UPDATE ${table} SET jsonb = $2::jsonb, report = $3::jsonb, chunked = $4 WHERE id = $1::uuid`,
      [record.id, jsonb, column.report, column.items !== undefined],
    );
  else await tx.query(`UPDATE ${table} SET jsonb = $2::jsonb WHERE id = $1::uuid`, [record.id, jsonb]);
}

/** Writes the item chunks of a chunked report, in order, inside the caller's transaction. */
async function writeChunks(tx: Queryable, tenant: string, id: string, column: ReportColumn): Promise<void> {
  if (!column.items) return;
  const table = tenantTable(tenant, 'counter_report_chunks');
  let parts: string[] = [];
  let size = 0;
  let seq = 0;
  const flush = async (): Promise<void> => {
    await tx.query(`INSERT INTO ${table} (report_id, seq, items) VALUES ($1::uuid, $2, $3)`, [
      id,
      seq++,
      parts.join(','),
    ]);
    parts = [];
    size = 0;
  };
  for await (const item of column.items()) {
    parts.push(item);
    size += item.length + 1;
    if (size >= CHUNK_BYTES) await flush();
  }
  if (parts.length > 0) await flush();
}

/** Sets harvestingConfig.aggregator.name to the label of the referenced aggregator setting, if it exists. */
async function withAggregatorName(tx: Queryable, tenant: string, record: JsonRecord): Promise<JsonRecord> {
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
async function renameAggregator(
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
