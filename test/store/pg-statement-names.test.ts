/**
 * `PostgresDb` runs a statement text with parameters as a named (server-side prepared) statement once
 * it has run `StatementNames.PREPARE_AFTER` times (src/store/postgres.ts; docs/benchmarks.md section 2):
 * the server then parses it once per connection and may keep its plan. What users rely on: the answers
 * stay the same, in and out of transactions; a table dropped and created again under a named statement
 * is read afresh; texts without parameters and texts past the cap stay unnamed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PostgresDb, StatementNames } from '../../src/store/postgres.ts';
import { startPgServer, type PgServer } from '../helpers/pg-server.ts';

describe('repeated statements run as named statements (PostgreSQL)', () => {
  let server: PgServer;
  let db: PostgresDb;

  // One connection: the named statements the server holds are those of the connection asked.
  const prepared = async () =>
    (
      await db.query<{ statement: string }>('SELECT statement FROM pg_prepared_statements ORDER BY name')
    ).rows.map((r) => r.statement);

  before(async () => {
    server = await startPgServer();
    db = await PostgresDb.open(await server.createDatabase(), 1);
  });

  after(async () => {
    await db?.close();
    await server?.stop();
  });

  it('a text becomes a named statement on its fifth run and answers the same before and after', async () => {
    const sql = 'SELECT $1::int + 1 AS n, $2::text AS t';
    for (let run = 1; run <= 8; run++) {
      const res = await db.query<{ n: number; t: string }>(sql, [run, `run ${run}`]);
      assert.deepEqual(res.rows, [{ n: run + 1, t: `run ${run}` }]);
      const named = (await prepared()).includes(sql);
      assert.equal(named, run >= StatementNames.PREPARE_AFTER, `run ${run}`);
    }
    // Inside a transaction the same name is used on the transaction's connection; a rollback undoes
    // the statement's work, not the name.
    await db.query('CREATE TABLE names_t (v int)');
    const insert = 'INSERT INTO names_t (v) VALUES ($1)';
    for (let n = 0; n < 6; n++) await db.query(insert, [n]);
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.query(insert, [100]);
        throw new Error('undo');
      }),
      /undo/,
    );
    await db.transaction(async (tx) => {
      await tx.query(insert, [200]);
    });
    const values = (await db.query<{ v: number }>('SELECT v FROM names_t ORDER BY v')).rows.map((r) => r.v);
    assert.deepEqual(values, [0, 1, 2, 3, 4, 5, 200]);
    assert.ok((await prepared()).includes(insert));
  });

  it('a table dropped and created again is read afresh by its named statement', async () => {
    await db.query('CREATE TABLE names_r (id int, label text)');
    await db.query(`INSERT INTO names_r VALUES (1, 'old')`);
    const sql = 'SELECT label FROM names_r WHERE id = $1';
    for (let n = 0; n < StatementNames.PREPARE_AFTER + 1; n++)
      assert.deepEqual((await db.query(sql, [1])).rows, [{ label: 'old' }]);
    assert.ok((await prepared()).includes(sql));
    await db.query('DROP TABLE names_r');
    await db.query('CREATE TABLE names_r (id int, label text)');
    await db.query(`INSERT INTO names_r VALUES (1, 'new')`);
    assert.deepEqual((await db.query(sql, [1])).rows, [{ label: 'new' }]);
  });

  it('a column changed under a named statement (a migration while running): the text runs unnamed, answers right', async () => {
    await db.query('CREATE TABLE names_m (id int, data jsonb)');
    await db.query(`INSERT INTO names_m VALUES (1, '{"a": 1}')`);
    const sql = 'SELECT data FROM names_m WHERE id = $1';
    for (let n = 0; n < StatementNames.PREPARE_AFTER + 1; n++)
      assert.deepEqual((await db.query(sql, [1])).rows, [{ data: { a: 1 } }]);
    assert.ok((await prepared()).includes(sql));
    await db.query('ALTER TABLE names_m ALTER COLUMN data TYPE text USING data::text');
    // Outside a transaction the statement is run again unnamed: the caller sees the answer.
    assert.deepEqual((await db.query(sql, [1])).rows, [{ data: '{"a": 1}' }]);
    assert.deepEqual((await db.query(sql, [1])).rows, [{ data: '{"a": 1}' }]);
    await db.query('ALTER TABLE names_m ALTER COLUMN data TYPE jsonb USING data::jsonb');
    const inTx = 'SELECT data FROM names_m WHERE id = $1 AND true';
    for (let n = 0; n < StatementNames.PREPARE_AFTER + 1; n++) await db.query(inTx, [1]);
    await db.query('ALTER TABLE names_m ALTER COLUMN data TYPE text USING data::text');
    // In a transaction the error aborts it; the caller's next try runs unnamed.
    await assert.rejects(
      db.transaction((tx) => tx.query(inTx, [1])),
      /cached plan must not change result type/,
    );
    assert.deepEqual((await db.transaction((tx) => tx.query(inTx, [1]))).rows, [{ data: '{"a": 1}' }]);
  });

  it('texts without parameters stay unnamed; past the cap new texts stay unnamed', () => {
    const names = new StatementNames();
    for (let n = 0; n < 10; n++) assert.equal(names.nameOf('SELECT 1', undefined), undefined);
    for (let n = 0; n < 10; n++) assert.equal(names.nameOf('SELECT 1', []), undefined);
    const texts = Array.from({ length: StatementNames.MAX_NAMED + 3 }, (_, n) => `SELECT $1::int + ${n}`);
    const named = texts.map((sql) => {
      let name: string | undefined;
      for (let run = 0; run < StatementNames.PREPARE_AFTER; run++) name = names.nameOf(sql, [1]);
      return name;
    });
    assert.equal(named.filter((n) => n !== undefined).length, StatementNames.MAX_NAMED);
    assert.equal(
      new Set(named.filter((n) => n !== undefined)).size,
      StatementNames.MAX_NAMED,
      'distinct names',
    );
    assert.deepEqual(named.slice(StatementNames.MAX_NAMED), [undefined, undefined, undefined]);
    // A named text keeps its name.
    assert.equal(names.nameOf(texts[0], [1]), named[0]);
  });
});
