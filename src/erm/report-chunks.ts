/**
 * Large counter reports in chunks: a report whose `Report_Items` JSON is longer than
 * CHUNKED_REPORT_BYTES (or that arrives streamed) is stored as a stub without its items in
 * `counter_reports.report` (`chunked` true) plus the items, comma-joined, in rows of
 * `counter_report_chunks` of about CHUNK_BYTES each. Readers either assemble the report or stream it
 * piece by piece without holding it (`reportJsonPieces`).
 */
import type { Queryable } from '../store/db.ts';
import { tenantTable } from '../store/tenants.ts';
import type { JsonRecord } from '../model/records.ts';
import { jsonTextOf, type StreamedReport } from './port.ts';

/** Reports whose JSON is longer than this (and that have `Report_Items`) are stored as item chunks. */
export const CHUNKED_REPORT_BYTES = 4 * 1024 * 1024;
/** Target size of one chunk of comma-joined item texts. */
const CHUNK_BYTES = 4 * 1024 * 1024;
export const ITEMS_KEY = 'Report_Items';

/** How a counter report's data goes to the database: one jsonb value, or a stub plus item chunks. */
export interface ReportColumn {
  report: string | null;
  items?: () => AsyncIterable<string>;
  /** The items already comma-joined in UTF-8 pieces (StreamedReport.itemChunks), when given. */
  chunks?: () => AsyncIterable<Buffer>;
}

/** Records read without their chunked report: record → the report without its items. */
const chunkedStubs = new WeakMap<JsonRecord, JsonRecord>();

/** Whether the record's report was left out because it is stored in chunks (read with `lazyChunks`). */
export function isChunked(record: JsonRecord): boolean {
  return chunkedStubs.has(record);
}

/** Marks the record as one whose report is in chunks; `stub` is the report without its items. */
export function setChunkedStub(record: JsonRecord, stub: JsonRecord): void {
  chunkedStubs.set(record, stub);
}

/** The record with a stand-in report for validation: the header and no items. */
export function withStubReport(body: JsonRecord, streamed: StreamedReport | undefined): JsonRecord {
  if (!streamed) return body;
  return { ...body, report: { ...stubOf(streamed), [ITEMS_KEY]: [] } };
}

function stubOf(streamed: StreamedReport): JsonRecord {
  return streamed.members ?? { Report_Header: streamed.header };
}

/**
 * Where the counter report's data goes: small reports as one jsonb value, large ones (streamed, or
 * with items longer than CHUNKED_REPORT_BYTES) as a stub without items plus item chunks.
 */
export function reportColumn(record: JsonRecord, streamed?: StreamedReport): ReportColumn {
  if (record.report === undefined) return { report: null };
  const report = record.report as JsonRecord;
  if (streamed)
    return {
      report: JSON.stringify(stubOf(streamed)),
      items: streamed.items,
      ...(streamed.itemChunks && { chunks: streamed.itemChunks }),
    };
  // The text first: a report whose text is known is then not read as an object (see `lazyJsonReport`).
  const json = jsonTextOf(report) ?? JSON.stringify(report);
  if (json.length <= CHUNKED_REPORT_BYTES) return { report: json };
  const items = typeof report === 'object' && report !== null ? report[ITEMS_KEY] : undefined;
  if (!Array.isArray(items)) return { report: json };
  const { [ITEMS_KEY]: _items, ...stub } = report;
  return { report: JSON.stringify(stub), items: () => itemTexts(items) };
}

async function* itemTexts(items: unknown[]): AsyncGenerator<string> {
  for (const item of items) yield JSON.stringify(item) ?? 'null';
}

/** Writes the item chunks of a chunked report, in order, inside the caller's transaction. */
export async function writeChunks(
  tx: Queryable,
  tenant: string,
  id: string,
  column: ReportColumn,
): Promise<void> {
  if (!column.items) return;
  const table = tenantTable(tenant, 'counter_report_chunks');
  let parts: string[] = [];
  let size = 0;
  let seq = 0;
  // A Buffer parameter goes in binary format, which for `text` is its UTF-8 bytes as they are: the
  // server checks them as it checks any text (valid UTF-8, no NUL) without the client encoding a string.
  const insert = (items: string | Buffer): Promise<unknown> =>
    tx.query(`INSERT INTO ${table} (report_id, seq, items) VALUES ($1::uuid, $2, $3)`, [id, seq++, items]);
  if (column.chunks) {
    // Each piece is written (the query awaited) before the next is asked for.
    for await (const chunk of column.chunks()) if (chunk.length > 0) await insert(chunk);
    return;
  }
  const flush = async (): Promise<void> => {
    await insert(parts.join(','));
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

export async function deleteChunks(tx: Queryable, tenant: string, id: string): Promise<void> {
  await tx.query(`DELETE FROM ${tenantTable(tenant, 'counter_report_chunks')} WHERE report_id = $1::uuid`, [
    id,
  ]);
}

/**
 * The JSON text of a record's report, in pieces: for a chunked one the stub's members, then the items
 * chunk by chunk (one chunk in memory at a time). Chunks are read one query each, so a PUT landing
 * mid-stream can mix two versions of the same month (each piece is still valid JSON).
 */
export async function* reportJsonPieces(
  db: Queryable,
  tenant: string,
  record: JsonRecord,
): AsyncGenerator<string> {
  const stub = chunkedStubs.get(record);
  if (!stub) {
    yield JSON.stringify(record.report ?? null);
    return;
  }
  const head = JSON.stringify(stub);
  yield `${head.slice(0, -1)}${head === '{}' ? '' : ','}${JSON.stringify(ITEMS_KEY)}:[`;
  const table = tenantTable(tenant, 'counter_report_chunks');
  for (let seq = 0; ; seq++) {
    const res = await db.query<{ items: string }>(
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
export async function assembleReport(db: Queryable, tenant: string, record: JsonRecord): Promise<void> {
  if (!isChunked(record)) return;
  let text = '';
  for await (const piece of reportJsonPieces(db, tenant, record)) text += piece;
  chunkedStubs.delete(record);
  record.report = JSON.parse(text);
}
