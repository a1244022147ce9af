/**
 * The standalone store (folio-contract §4): usage data providers, aggregator settings and counter reports in
 * the service's own database, with mod-erm-usage's rules for writes, derived fields and cascades, and its
 * answers (StoreError). The routes (src/api/erm-routes.ts) serve it over HTTP; LocalErmStore
 * (local-store.ts) adds the ErmStore port the harvester uses. Every write runs in one transaction. The
 * SQL is in the table modules: record-table.ts (what all three share), providers.ts, aggregators.ts,
 * counter-reports.ts, report-chunks.ts, settings.ts, derived.ts.
 */
import { randomUUID } from 'node:crypto';
import type { ServiceContext } from '../context.ts';
import {
  CredentialInputError,
  decryptSecrets,
  encryptSecrets,
  looksEncrypted,
  maskSecrets,
  mergeSecrets,
  moveUrlSecrets,
  storedSecretValues,
  type SecretRecordKind,
} from '../credentials/index.ts';
import { formatDateTime } from '../dates.ts';
import { secrets } from '../log.ts';
import type { JsonRecord } from '../model/records.ts';
import { DERIVED_PROVIDER_FIELDS, isFolioUuid } from '../model/schemas.ts';
import { tenantTable } from '../store/tenants.ts';
import type { Queryable } from '../store/db.ts';
import { AGGREGATORS } from './aggregators.ts';
import {
  COUNTER_REPORTS,
  deleteReports,
  existingMonths,
  MonthsExistError,
  providersOfReports,
  storedMonths,
  tenantDistinct,
  tenantErrorCodes,
} from './counter-reports.ts';
import {
  extendStatsSql,
  hasStats,
  insertedFacts,
  lockProviders,
  statsLockKey,
  refreshProviderStats,
  StatsBatch,
} from './derived.ts';
import type { Page, StoredMonthsKey, StreamedReport } from './port.ts';
import { PROVIDERS } from './providers.ts';
import { RecordValidationError, rmbErrors } from './record-checks.ts';
import {
  deleteRow,
  insertRow,
  jsonbOf,
  selectJson,
  selectPage,
  selectPageIds,
  selectRow,
  selectRows,
  toRecord,
  updateRow,
  type RecordTable,
  type Resource,
  type WriteBatch,
} from './record-table.ts';
import {
  assembleReport,
  deleteChunks,
  reportColumn,
  reportJsonPieces,
  withStubReport,
  writeChunks,
  type ReportColumn,
} from './report-chunks.ts';
import { readSetting, writeSetting } from './settings.ts';
import { insertDerivedUsageSql, insertUsageSql, UsageBatch, usageDerivable, usageRowsJson } from './usage.ts';
import { INVALID_UUID_MESSAGE, StoreError } from './store-error.ts';

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

/** A page read record by record (`listStream`). */
export interface RecordStream {
  totalRecords: number;
  records: AsyncIterable<JsonRecord>;
}

/** Records without report data read per query when a page is streamed. */
const STREAM_BATCH = 200;

export interface WriteOptions {
  /** X-Okapi-User-Id: fills metadata.createdByUserId / updatedByUserId. */
  userId?: string;
}

const TABLES: Record<Resource, RecordTable> = {
  'usage-data-providers': PROVIDERS,
  'aggregator-settings': AGGREGATORS,
  'counter-reports': COUNTER_REPORTS,
};

function newWriteBatch(): WriteBatch {
  return { stats: new StatsBatch(), usage: new UsageBatch() };
}

function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23505';
}

function validate(spec: RecordTable, body: JsonRecord): JsonRecord {
  try {
    return spec.check(body);
  } catch (err) {
    if (!(err instanceof RecordValidationError)) throw err;
    throw new StoreError(422, err.message, rmbErrors(err.errors));
  }
}

function reportColumnOf(spec: RecordTable, record: JsonRecord, streamed?: StreamedReport): ReportColumn {
  return spec.separateReport ? reportColumn(record, streamed) : { report: null };
}

/** Teaches the log scrubbing every plain secret of a record (credentials and secret extra parameters). */
function learnSecrets(kind: SecretRecordKind, record: JsonRecord): void {
  for (const value of storedSecretValues(kind, record)) if (!looksEncrypted(value)) secrets.add(value);
}

export class LocalRecords {
  constructor(protected readonly ctx: ServiceContext) {}

  // ---- collection and item reads ----

  /** A page of records matching the CQL query, with the exact number of matches. */
  async list(tenant: string, resource: Resource, query: ListQuery): Promise<Page<JsonRecord>> {
    const spec = TABLES[resource];
    const withReport = spec.separateReport && query.tiny !== true;
    const page = await selectPage(this.ctx.db, tenant, spec, { ...query, withReport });
    const records = page.rows.map((row) => toRecord(row, withReport));
    if (!query.lazyChunks) for (const r of records) await assembleReport(this.ctx.db, tenant, r);
    return { records, totalRecords: page.totalRecords };
  }

  /**
   * A page like `list`, for answers streamed record by record: the ids and the exact count are read in
   * one snapshot, then the records a few at a time (one at a time with their report data), chunked
   * reports left out as with `lazyChunks`. A record deleted meanwhile is left out.
   */
  async listStream(tenant: string, resource: Resource, query: ListQuery): Promise<RecordStream> {
    const spec = TABLES[resource];
    const withReport = spec.separateReport && query.tiny !== true;
    const { ids, totalRecords } = await selectPageIds(this.ctx.db, tenant, spec, query);
    const db = this.ctx.db;
    const batch = withReport ? 1 : STREAM_BATCH;
    async function* records(): AsyncGenerator<JsonRecord> {
      for (let i = 0; i < ids.length; i += batch) {
        for (const row of await selectRows(db, tenant, spec, ids.slice(i, i + batch), withReport)) {
          const record = toRecord(row, withReport);
          yield record;
        }
      }
    }
    return { totalRecords, records: records() };
  }

  /**
   * One record; StoreError 404 for a malformed or unknown id. Records are returned as stored: the
   * credentials of providers and aggregators encrypted (see `unseal` and `masked`).
   */
  async read(
    tenant: string,
    resource: Resource,
    id: string,
    { lazyChunks = false }: { lazyChunks?: boolean } = {},
  ): Promise<JsonRecord> {
    if (!isFolioUuid(id)) throw new StoreError(404, INVALID_UUID_MESSAGE);
    const spec = TABLES[resource];
    const row = await selectRow(this.ctx.db, tenant, spec, id);
    if (!row) throw new StoreError(404, 'Not found');
    const record = toRecord(row, true);
    if (!lazyChunks) await assembleReport(this.ctx.db, tenant, record);
    return record;
  }

  /**
   * A stored record with its credentials decrypted, for the harvesting engine and for answers that
   * reveal them; the values are learnt by the log scrubbing. Throws CredentialDecryptError.
   */
  unseal(resource: Resource, record: JsonRecord): JsonRecord {
    const kind = TABLES[resource].secretKind;
    if (!kind) return record;
    const plain = decryptSecrets(kind, record, this.ctx.keyring);
    learnSecrets(kind, plain);
    return plain;
  }

  /** A record for an API answer: each credential that is set shows as the mask. */
  masked(resource: Resource, record: JsonRecord): JsonRecord {
    const kind = TABLES[resource].secretKind;
    return kind ? maskSecrets(kind, record) : record;
  }

  /** The JSON text of a record's report in pieces; a chunked one is read chunk by chunk. */
  reportJsonPieces(tenant: string, record: JsonRecord): AsyncGenerator<string> {
    return reportJsonPieces(this.ctx.db, tenant, record);
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
    const spec = TABLES[resource];
    const record = this.withSecrets(
      spec,
      validate(spec, withStubReport(this.urlSecretsMoved(spec, body), streamed)),
    );
    if (record.id === undefined) record.id = randomUUID();
    const id = String(record.id).toLowerCase();
    record.id = id;
    return this.write(spec, record, async (tx) => {
      await lockProviders(tx, tenant, spec.providersOf(record));
      return this.insertIn(tx, tenant, spec, record, opts, streamed);
    });
  }

  /** The insert of `create` inside a caller's transaction (providers already locked). */
  private async insertIn(
    tx: Queryable,
    tenant: string,
    spec: RecordTable,
    record: JsonRecord,
    opts: WriteOptions,
    streamed?: StreamedReport,
    later?: WriteBatch,
  ): Promise<JsonRecord> {
    const id = String(record.id);
    const stored = this.sealed(spec, await this.prepare(tx, tenant, spec, record));
    stored.metadata = this.metadata(opts);
    const column = reportColumnOf(spec, stored, streamed);
    if (!(await insertRow(tx, tenant, spec, stored, column)))
      throw new StoreError(422, `id value already exists in table ${spec.table}: ${id}`, [
        {
          message: `id value already exists in table ${spec.table}: ${id}`,
          code: '-1',
          parameters: [{ key: 'id', value: id }],
        },
      ]);
    await writeChunks(tx, tenant, id, column);
    await spec.afterWrite?.(tx, tenant, stored, undefined, later);
    return stored;
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
    const spec = TABLES[resource];
    const record = validate(
      spec,
      withStubReport(this.urlSecretsMoved(spec, { ...body, id: id.toLowerCase() }), streamed),
    );
    return this.write(spec, record, async (tx) => {
      const before = await selectJson(tx, tenant, spec, id, false);
      await lockProviders(tx, tenant, [...spec.providersOf(record), ...spec.providersOf(before ?? {})]);
      const previous = await selectJson(tx, tenant, spec, id, true);
      if (!previous) throw new StoreError(404, 'Not found');
      await this.lockIfMoved(tx, tenant, spec, before, previous);
      return this.updateIn(tx, tenant, spec, record, previous, opts, streamed);
    });
  }

  /** The update of `replace` inside a caller's transaction (providers locked, `previous` read). */
  private async updateIn(
    tx: Queryable,
    tenant: string,
    spec: RecordTable,
    record: JsonRecord,
    previous: JsonRecord,
    opts: WriteOptions,
    streamed?: StreamedReport,
    later?: WriteBatch,
  ): Promise<JsonRecord> {
    const merged = this.withSecrets(spec, record, previous);
    const stored = this.sealed(spec, await this.prepare(tx, tenant, spec, merged));
    stored.metadata = this.metadata(opts, previous.metadata);
    const column = reportColumnOf(spec, stored, streamed);
    await updateRow(tx, tenant, spec, stored, column);
    if (spec.separateReport) {
      await deleteChunks(tx, tenant, String(stored.id));
      await writeChunks(tx, tenant, String(stored.id), column);
    }
    await spec.afterWrite?.(tx, tenant, stored, previous, later);
    return stored;
  }

  /**
   * Stores the months of one upload of one provider, release and report in ONE transaction: all or
   * none. Months already stored are replaced when `overwrite`, else nothing is written and the
   * answer is a `MonthsExistError` naming them. `months` is read after the check, one month at a time.
   */
  async storeMonthsAtomically(
    tenant: string,
    key: { providerId: string; release: string; reportName: string; yearMonths: string[] },
    months: AsyncIterable<{ record: JsonRecord; streamed?: StreamedReport }>,
    overwrite: boolean,
    opts: WriteOptions = {},
  ): Promise<string[]> {
    const spec = COUNTER_REPORTS;
    return this.ctx.db.transaction(async (tx) => {
      await lockProviders(tx, tenant, [key.providerId]);
      const existing = await existingMonths(tx, tenant, key);
      if (existing.size > 0 && !overwrite) throw new MonthsExistError([...existing.keys()].sort());
      const ids: string[] = [];
      const later = newWriteBatch();
      for await (const { record, streamed } of months) {
        const found = existing.get(String(record.yearMonth));
        if (found) {
          const body = validate(spec, withStubReport({ ...record, id: found.id }, streamed));
          const previous = await selectJson(tx, tenant, spec, found.id, true);
          if (!previous) throw new StoreError(404, 'Not found');
          await this.updateIn(tx, tenant, spec, body, previous, opts, streamed, later);
          ids.push(found.id);
        } else {
          const body = validate(spec, withStubReport({ ...record, id: randomUUID() }, streamed));
          const stored = await this.insertIn(tx, tenant, spec, body, opts, streamed, later);
          ids.push(String(stored.id));
        }
      }
      await this.flushLater(tx, tenant, later);
      return ids;
    });
  }

  /**
   * Upserts counter report months in ONE transaction, all or none (the harvester's months of one
   * response): a write with `id` replaces the record stored under it (404 when there is none), one
   * without is inserted under a new id. Same checks and derived data as `create` and `replace`; the
   * statistics of the providers touched are recomputed once, before the commit. The ids, in order.
   */
  async upsertCounterReports(
    tenant: string,
    writes: { id?: string; record: JsonRecord }[],
    opts: WriteOptions = {},
  ): Promise<string[]> {
    const spec = COUNTER_REPORTS;
    const bad = writes.find((w) => w.id !== undefined && !isFolioUuid(w.id));
    if (bad) throw new StoreError(400, INVALID_UUID_MESSAGE);
    const records = writes.map((w) =>
      validate(spec, { ...w.record, id: w.id === undefined ? randomUUID() : w.id.toLowerCase() }),
    );
    if (records.length === 0) return [];
    return this.write(spec, records[0], async (tx) => {
      const later = newWriteBatch();
      await lockProviders(
        tx,
        tenant,
        records.flatMap((r) => spec.providersOf(r)),
      );
      const locked = new Set(records.flatMap((r) => spec.providersOf(r)));
      for (const [i, record] of records.entries()) {
        if (writes[i].id === undefined) {
          await this.insertIn(tx, tenant, spec, record, opts, undefined, later);
          continue;
        }
        const previous = await selectJson(tx, tenant, spec, String(record.id), true);
        if (!previous) throw new StoreError(404, 'Not found');
        const moved = spec.providersOf(previous).filter((p) => p !== undefined && !locked.has(p));
        await lockProviders(tx, tenant, moved);
        for (const p of moved) locked.add(p);
        await this.updateIn(tx, tenant, spec, record, previous, opts, undefined, later);
      }
      await this.flushLater(tx, tenant, later);
      return records.map((r) => String(r.id));
    });
  }

  /**
   * The harvester's months of one response when none of them is stored yet (a first harvest): ONE
   * statement looks the months up as `findStoredMonths` does and, when none is found, inserts the
   * records under new ids with their usage rows (computed in SQL from the inserted records when
   * `usageDerivable`, else from a parameter) and extends the provider's statistics — all or none,
   * as one statement is. When a month is found nothing is written and the found months (without
   * report data) are the answer. The statement takes the provider's statistics lock itself
   * (derived.ts `extendStatsSql`). Undefined when a record cannot be written so: a report large
   * enough to be stored in chunks, or a record of another provider than `key`'s. Same checks and
   * stored fields as `create`.
   */
  async insertNewMonths(
    tenant: string,
    key: StoredMonthsKey,
    records: JsonRecord[],
    opts: WriteOptions = {},
  ): Promise<{ ids: string[] } | { existing: JsonRecord[] } | undefined> {
    // One report's months (the statement's lookup is that of its unique month index).
    if (key.reportNames.length !== 1) return undefined;
    const [reportName] = key.reportNames;
    const spec = COUNTER_REPORTS;
    const stored: JsonRecord[] = [];
    // Per record four parameters: its id, whether its usage rows are derived from it, its jsonb text and
    // its report text (the column is text: nothing parses it). Each is read by the server once, where
    // it goes, instead of the records going as one JSON array that is parsed and taken apart again.
    const recordParams: unknown[] = [];
    // Records whose usage rows the statement computes from the record itself, and the others with usage.
    let derived = 0;
    const explicit: JsonRecord[] = [];
    for (const body of records) {
      if (body.providerId !== key.providerId) return undefined;
      const record = validate(spec, { ...body, id: randomUUID() });
      const row = this.sealed(spec, await this.prepare(this.ctx.db, tenant, spec, record));
      row.metadata = this.metadata(opts);
      const column = reportColumnOf(spec, row);
      if (column.items) return undefined;
      const usage = usageDerivable(row);
      if (usage) derived++;
      else explicit.push(row);
      recordParams.push(String(row.id), usage, jsonbOf(spec, row), column.report);
      stored.push(row);
    }
    const table = tenantTable(tenant, spec.table);
    const params: unknown[] = [key.providerId, key.releases, reportName, key.yearMonths, ...recordParams];
    // $5, $6, $7, $8: the first record's id, usage, jsonb and report; then the next record's.
    const recordValues = stored
      .map((_, i) => {
        const at = 5 + 4 * i;
        return `($${at}::uuid, $${at + 1}::boolean, $${at + 2}::jsonb, $${at + 3}::text)`;
      })
      .join(', ');
    const ctes = [
      `found AS (
         SELECT id, jsonb, seq FROM ${table}
         WHERE jsonb->>'providerId' = $1 AND jsonb->>'release' = ANY($2::text[])
           AND lower(jsonb->>'reportName') = lower($3) AND jsonb->>'yearMonth' = ANY($4::text[])
       )`,
      `fresh AS (SELECT NOT EXISTS (SELECT 1 FROM found) AS ok)`,
      `new_rows AS MATERIALIZED (
         SELECT n.id, n.usage, n.jsonb, n.report
         FROM (VALUES ${recordValues}) AS n(id, usage, jsonb, report)
         WHERE (SELECT ok FROM fresh)
       )`,
      `inserted AS (
         INSERT INTO ${table} (id, jsonb, report, chunked) SELECT id, jsonb, report, false FROM new_rows
       )`,
    ];
    if (derived > 0) ctes.push(insertDerivedUsageSql(tenant, 'new_rows'));
    const guard = '(SELECT ok FROM fresh)';
    const usage = usageRowsJson(explicit);
    if (usage !== undefined) {
      params.push(usage);
      ctes.push(insertUsageSql(tenant, params.length, guard));
    }
    const withStats = stored.length > 0 && hasStats(key.providerId);
    if (withStats) {
      const first = params.length + 1;
      params.push(
        [...DERIVED_PROVIDER_FIELDS],
        statsLockKey(tenant, key.providerId),
        ...insertedFacts(stored),
      );
      // The provider's id is $1 (every record is of `key.providerId`).
      const part = extendStatsSql(
        tenant,
        { provider: 1, fields: first, lock: first + 1, facts: first + 2 },
        guard,
      );
      ctes.push(part.ctes, `stats_written AS (${part.update})`);
    }
    const sql = `WITH ${ctes.join(',\n')}
      SELECT id, jsonb FROM found ORDER BY seq`;
    const found = await this.conflictAs(
      spec,
      stored[0] ?? {},
      async () => (await this.ctx.db.query<{ id: string; jsonb: JsonRecord }>(sql, params)).rows,
    );
    if (found.length > 0) return { existing: found.map((r) => ({ ...r.jsonb, id: r.id })) };
    return { ids: stored.map((r) => String(r.id)) };
  }

  /** The stored months (without report data) of one provider and its reports, by the unique month index. */
  findStoredMonths(tenant: string, key: StoredMonthsKey): Promise<JsonRecord[]> {
    return storedMonths(this.ctx.db, tenant, key);
  }

  /** DELETE: removes the record, with its cascades (a provider's counter reports, provider statistics). */
  async remove(tenant: string, resource: Resource, id: string): Promise<void> {
    if (!isFolioUuid(id)) throw new StoreError(404, INVALID_UUID_MESSAGE);
    const spec = TABLES[resource];
    await this.ctx.db.transaction(async (tx) => {
      const before = await selectJson(tx, tenant, spec, id, false);
      await lockProviders(tx, tenant, spec.providersOf(before ?? {}));
      const previous = await deleteRow(tx, tenant, spec, id);
      if (!previous) throw new StoreError(404, 'Not found');
      await this.lockIfMoved(tx, tenant, spec, before, previous);
      await spec.afterDelete?.(tx, tenant, previous);
    });
  }

  /** POST /counter-reports/reports/delete: deletes the given counter reports (unknown ids are skipped). */
  async removeCounterReports(tenant: string, ids: string[]): Promise<void> {
    const bad = ids.find((id) => !isFolioUuid(id));
    if (bad !== undefined) throw new StoreError(400, `${INVALID_UUID_MESSAGE} Invalid id: ${String(bad)}`);
    if (ids.length === 0) return;
    await this.ctx.db.transaction(async (tx) => {
      const providers = (await providersOfReports(tx, tenant, ids)).map((pid) => pid ?? undefined);
      await lockProviders(tx, tenant, providers);
      const touched = await deleteReports(tx, tenant, ids);
      await lockProviders(
        tx,
        tenant,
        touched.filter((p) => !providers.includes(p)),
      );
      for (const pid of touched) await refreshProviderStats(tx, tenant, pid);
    });
  }

  // ---- tenant-wide counter report facts (folio-contract §4.1 optional endpoints) ----

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

  /** A tenant setting; undefined when none is stored. */
  getSetting(tenant: string, key: string): Promise<unknown> {
    return readSetting(this.ctx.db, tenant, key);
  }

  setSetting(tenant: string, key: string, value: unknown): Promise<void> {
    return writeSetting(this.ctx.db, tenant, key, value);
  }

  // ---- internals ----

  /** A provider's service URL without secret query parameters (moved to their fields). */
  private urlSecretsMoved(spec: RecordTable, body: JsonRecord): JsonRecord {
    return spec.secretKind === 'provider' ? moveUrlSecrets(body).record : body;
  }

  /**
   * The written body's credentials merged with the stored record's: the mask keeps the stored value,
   * an envelope is refused (422). The plain values are learnt by the log scrubbing.
   */
  private withSecrets(spec: RecordTable, record: JsonRecord, previous?: JsonRecord): JsonRecord {
    const kind = spec.secretKind;
    if (!kind) return record;
    let merged: JsonRecord;
    try {
      merged = mergeSecrets(kind, record, previous);
    } catch (err) {
      if (!(err instanceof CredentialInputError)) throw err;
      throw new StoreError(422, err.message, [
        { message: err.message, code: '-1', parameters: [{ key: err.field, value: '' }] },
      ]);
    }
    learnSecrets(kind, merged);
    return merged;
  }

  /** The record as stored: its credentials encrypted under the current key. */
  private sealed(spec: RecordTable, record: JsonRecord): JsonRecord {
    return spec.secretKind ? encryptSecrets(spec.secretKind, record, this.ctx.keyring) : record;
  }

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

  /**
   * Writes what the writes of the transaction derived (`later`): the usage rows of the records, then
   * the statistics of the providers, in lock order.
   */
  private async flushLater(tx: Queryable, tenant: string, later: WriteBatch): Promise<void> {
    await later.usage.flush(tx, tenant);
    await later.stats.flush(tx, tenant);
  }

  /** Runs a write transaction; a unique-index conflict the table explains (a month) becomes its 422. */
  private write<T>(spec: RecordTable, record: JsonRecord, fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.conflictAs(spec, record, () => this.ctx.db.transaction(fn));
  }

  /** Runs `fn`; a unique-index conflict the table explains (a month) becomes its 422. */
  private async conflictAs<T>(spec: RecordTable, record: JsonRecord, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (isUniqueViolation(err) && spec.conflict) throw spec.conflict(record);
      throw err;
    }
  }

  /** Another writer changed the record's provider between the first read and the lock: lock that one too. */
  private async lockIfMoved(
    tx: Queryable,
    tenant: string,
    spec: RecordTable,
    before: JsonRecord | undefined,
    current: JsonRecord,
  ): Promise<void> {
    const seen = spec.providersOf(before ?? {});
    const moved = spec.providersOf(current).filter((p) => p !== undefined && !seen.includes(p));
    await lockProviders(tx, tenant, moved);
  }

  private async prepare(
    tx: Queryable,
    tenant: string,
    spec: RecordTable,
    record: JsonRecord,
  ): Promise<JsonRecord> {
    return spec.prepare ? spec.prepare(tx, tenant, record) : { ...record };
  }
}
