/**
 * Tenant migrations 2, 7 and 8 ask for lz4 on the columns whose values outgrow PostgreSQL's 2 kB
 * compression threshold (a month's report, its chunks, its record's jsonb, the top-item lists, a job's
 * info): pglz is several times slower and was a measurable part of the server's CPU in the harvest
 * (docs/benchmarks.md, section 2). What users rely on: on a server with lz4 the values written are
 * lz4-compressed and read back unchanged; on PGlite (built without lz4) the migrations still succeed.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { CQL_SUPPORT_SQL } from '../../src/cql/index.ts';
import type { Db } from '../../src/store/db.ts';
import { migrateSystem, migrateTenant } from '../../src/store/migrations.ts';
import { PgliteDb } from '../../src/store/pglite.ts';
import { PostgresDb } from '../../src/store/postgres.ts';
import { startPgServer, type PgServer } from '../helpers/pg-server.ts';

const SCHEMA = 'diku_mod_erm_usage_harvester';
const COLUMNS = [
  ['counter_reports', 'report'],
  ['counter_reports', 'jsonb'],
  ['counter_report_chunks', 'items'],
  ['usage_top_lists', 'items'],
  ['job_info', 'jsonb'],
] as const;

async function migrated(db: Db): Promise<void> {
  await migrateSystem(db, CQL_SUPPORT_SQL);
  await migrateTenant(db, SCHEMA);
}

/** The compression each column asks for: 'l' lz4, 'p' pglz, '' the server's default. */
async function columnCompression(db: Db): Promise<Record<string, string>> {
  const res = await db.query<{ col: string; c: string }>(
    `SELECT c.relname || '.' || a.attname AS col, a.attcompression::text AS c
     FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND NOT a.attisdropped AND a.attnum > 0`,
    [SCHEMA],
  );
  return Object.fromEntries(res.rows.map((r) => [r.col, r.c]));
}

/** A month record whose jsonb (its top items) passes the 2 kB threshold by far, and its report text. */
async function writeLargeMonth(
  db: Db,
): Promise<{ id: string; jsonb: Record<string, unknown>; report: string }> {
  const id = randomUUID();
  const topItems = {
    Total_Item_Requests: Array.from({ length: 25 }, (_, i) => ({
      name: `A journal of rather long titles, volume ${i}`,
      platform: 'Platform',
      identifiers: { Print_ISSN: `1234-56${String(i).padStart(2, '0')}` },
      count: 1000 - i,
    })),
  };
  const jsonb = {
    id,
    providerId: randomUUID(),
    release: '5',
    reportName: 'TR',
    yearMonth: '2024-01',
    topItems,
  };
  const report = JSON.stringify({
    Report_Items: Array.from({ length: 200 }, (_, i) => ({ Title: `T${i}` })),
  });
  await db.query(`INSERT INTO ${SCHEMA}.counter_reports (id, jsonb, report) VALUES ($1, $2::jsonb, $3)`, [
    id,
    JSON.stringify(jsonb),
    report,
  ]);
  return { id, jsonb, report };
}

describe('large JSON columns and their compression', () => {
  let server: PgServer;
  let pg: PostgresDb;
  let lite: PgliteDb;

  before(async () => {
    server = await startPgServer();
    pg = await PostgresDb.open(await server.createDatabase(), 2);
    lite = await PgliteDb.open(undefined);
  });

  after(async () => {
    await pg?.close();
    await lite?.close();
    await server?.stop();
  });

  it('on PostgreSQL with lz4, the columns ask for lz4 and a large record is stored so, unchanged', async () => {
    const lz4 = await pg.query<{ ok: boolean }>(
      `SELECT 'lz4' = ANY(enumvals) AS ok FROM pg_settings WHERE name = 'default_toast_compression'`,
    );
    assert.equal(lz4.rows[0]?.ok, true, 'the test server (Debian PostgreSQL) is built with lz4');
    await migrated(pg);
    const compression = await columnCompression(pg);
    for (const [table, column] of COLUMNS)
      assert.equal(compression[`${table}.${column}`], 'l', `${table}.${column}`);
    const written = await writeLargeMonth(pg);
    const res = await pg.query<{ jc: string | null; rc: string | null; jsonb: unknown; report: string }>(
      `SELECT pg_column_compression(jsonb) AS jc, pg_column_compression(report) AS rc, jsonb, report
       FROM ${SCHEMA}.counter_reports WHERE id = $1`,
      [written.id],
    );
    assert.equal(res.rows[0]?.jc, 'lz4');
    assert.equal(res.rows[0]?.rc, 'lz4');
    assert.deepEqual(res.rows[0]?.jsonb, written.jsonb);
    assert.equal(res.rows[0]?.report, written.report);
  });

  it('on PGlite (no lz4) the migrations succeed and large records are stored and read back', async () => {
    await migrated(lite);
    const compression = await columnCompression(lite);
    for (const [table, column] of COLUMNS) assert.notEqual(compression[`${table}.${column}`], 'l');
    const written = await writeLargeMonth(lite);
    const res = await lite.query<{ jsonb: unknown; report: string }>(
      `SELECT jsonb, report FROM ${SCHEMA}.counter_reports WHERE id = $1`,
      [written.id],
    );
    assert.deepEqual(res.rows[0]?.jsonb, written.jsonb);
    assert.equal(res.rows[0]?.report, written.report);
  });
});
