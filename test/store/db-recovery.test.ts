/**
 * A statement that fails inside the database, however badly, leaves the connection usable: on PGlite a
 * deeply nested expression ends in an internal error ("bad buffer ID") after which PGlite's own ROLLBACK
 * did not take, and every later statement of the process answered "current transaction is aborted".
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { CQL_SUPPORT_SQL } from '../../src/cql/index.ts';
import type { Db } from '../../src/store/db.ts';
import { PgliteDb } from '../../src/store/pglite.ts';
import { PostgresDb } from '../../src/store/postgres.ts';
import { startPgServer, type PgServer } from '../helpers/pg-server.ts';

/** The shape the CQL translator produced for 269 alternating and/or clauses before it had limits. */
function deeplyNested(levels: number): { sql: string; params: string[] } {
  const params: string[] = [];
  const clause = () => {
    params.push(`x${params.length}`);
    return `((jsonb->>'label') IS NOT NULL AND harvester.cql_words((jsonb->>'label')) ~ $${params.length}::text)`;
  };
  let where = clause();
  for (let i = 1; i < levels; i++) where = `(${where} ${i % 2 ? 'AND' : 'OR'} ${clause()})`;
  return { sql: `SELECT id FROM t WHERE ${where}`, params };
}

async function checkRecovery(db: Db): Promise<void> {
  await db.query('CREATE SCHEMA harvester');
  for (const statement of CQL_SUPPORT_SQL) await db.query(statement);
  await db.query('CREATE TABLE t (id serial PRIMARY KEY, jsonb jsonb)');
  const deep = deeplyNested(269);
  // Whether the database manages the statement or fails on it, what follows must work.
  await db.transaction((tx) => tx.query(deep.sql, deep.params)).catch(() => undefined);
  await db.query(deep.sql, deep.params).catch(() => undefined);
  // A plain error inside a transaction, too.
  await assert.rejects(db.transaction((tx) => tx.query('SELECT * FROM no_such_table')));
  assert.deepEqual((await db.query<{ n: number }>('SELECT 1 AS n')).rows, [{ n: 1 }]);
  await db.transaction((tx) => tx.query(`INSERT INTO t (jsonb) VALUES ('{"label":"kept"}')`));
  const rows = await db.query<{ label: string }>(`SELECT jsonb->>'label' AS label FROM t`);
  assert.deepEqual(rows.rows, [{ label: 'kept' }], 'the write after the failures was committed');
  assert.deepEqual(await db.health(2000), { ok: true });
}

describe('database connection after failed statements', () => {
  let server: PgServer | undefined;
  after(async () => {
    await server?.stop();
  });

  for (const thread of [false, true])
    it(`PGlite stays usable (${thread ? 'in a worker thread' : "in the caller's thread"})`, async () => {
      const db = await PgliteDb.open(undefined, { thread });
      try {
        await checkRecovery(db);
      } finally {
        await db.close();
      }
    });

  it('PostgreSQL stays usable', async () => {
    server = await startPgServer();
    const db = await PostgresDb.open(await server.createDatabase(), 2);
    try {
      await checkRecovery(db);
    } finally {
      await db.close();
    }
  });

  it('health fails while the database answers nothing, and recovers', async () => {
    const db = await PgliteDb.open(undefined);
    try {
      let release = () => {};
      const held = db.transaction(() => new Promise<void>((resolve) => (release = resolve)));
      const health = await db.health(200);
      assert.equal(health.ok, false);
      assert.match(health.ok ? '' : health.reason, /has not answered for 200 ms/);
      release();
      await held;
      assert.deepEqual(await db.health(200), { ok: true });
    } finally {
      await db.close();
    }
  });
});
