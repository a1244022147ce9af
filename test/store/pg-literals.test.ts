/**
 * `PostgresDb.queryUnderLock` sends an advisory lock and one statement as a single message; such a
 * message takes no parameters, so `withLiterals` writes the values into the text (src/store/postgres.ts;
 * docs/benchmarks.md section 2, the claim). Values must reach the server exactly as parameters would —
 * quotes, backslashes and `$n` inside a value are data, never SQL — and the message must behave as one
 * transaction under the lock.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PostgresDb, withLiterals } from '../../src/store/postgres.ts';
import { startPgServer, type PgServer } from '../helpers/pg-server.ts';

const LOCK = 4242;

describe('statements with literal values under the claim lock (PostgreSQL)', () => {
  let server: PgServer;
  let db: PostgresDb;

  before(async () => {
    server = await startPgServer();
    db = await PostgresDb.open(await server.createDatabase(), 4);
    await db.query('CREATE TABLE t (v text)');
  });

  after(async () => {
    await db?.close();
    await server?.stop();
  });

  it('hands every text to the server as the same value a parameter would carry', async () => {
    const hostile = [
      "O'Brien",
      "it''s",
      'back\\slash',
      "\\'; DROP TABLE t; --",
      "'; DROP TABLE t; --",
      'dollar $1 and $$ quoted $$',
      "E'\\x41'",
      'line\nbreak\ttab',
      'ü — 😀',
      '',
    ];
    for (const value of hostile) {
      const viaLiteral = await db.queryUnderLock<{ v: string }>(LOCK, 'SELECT $1::text AS v', [value]);
      const viaParameter = await db.query<{ v: string }>('SELECT $1::text AS v', [value]);
      assert.equal(viaLiteral.rows[0].v, value, JSON.stringify(value));
      assert.equal(viaParameter.rows[0].v, value);
    }
    // Nothing any of them said ran as SQL: the table is still there.
    assert.deepEqual((await db.query('SELECT count(*)::int AS n FROM t')).rows, [{ n: 0 }]);
  });

  it('writes dates, numbers, booleans and missing values as the server types them from their use', async () => {
    const at = new Date('2024-02-29T23:59:58.123Z');
    const res = await db.queryUnderLock<{ at: Date; n: number; x: number; b: boolean; nothing: boolean }>(
      LOCK,
      `SELECT $1::timestamptz AS at, $2::int + 1 AS n, $3::float8 AS x, NOT $4::boolean AS b,
              ($5::text IS NULL AND $6::text IS NULL) AS nothing`,
      [at, 41, -0.125, false, null, undefined],
    );
    assert.deepEqual(res.rows, [{ at, n: 42, x: -0.125, b: true, nothing: true }]);
  });

  it('tells $1 from $10 and refuses what it cannot write', () => {
    const params = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'];
    assert.equal(withLiterals('SELECT $10, $1', params), "SELECT 'j', 'a'");
    assert.throws(() => withLiterals('SELECT $3', ['a', 'b']), /no value for parameter \$3/);
    assert.throws(() => withLiterals('SELECT $1', [{ a: 1 }]), /no SQL literal/);
    assert.throws(() => withLiterals('SELECT $1', [['a']]), /no SQL literal/);
    assert.throws(() => withLiterals('SELECT $1', [Number.NaN]), /not a finite number/);
    assert.throws(() => withLiterals('SELECT $1', [Number.POSITIVE_INFINITY]), /not a finite number/);
    assert.throws(() => withLiterals('SELECT $1', [new Date(Number.NaN)]), /invalid date/);
  });

  it('rolls the statement back with the lock when it fails, and releases the lock', async () => {
    await assert.rejects(
      db.queryUnderLock(
        LOCK,
        'WITH ins AS (INSERT INTO t (v) VALUES ($1) RETURNING v) SELECT v, 1 / 0 AS boom FROM ins',
        ['never kept'],
      ),
      /division by zero/,
    );
    assert.deepEqual((await db.query('SELECT count(*)::int AS n FROM t')).rows, [{ n: 0 }]);
    const held = await db.query(`SELECT 1 FROM pg_locks WHERE locktype = 'advisory'`);
    assert.equal(held.rows.length, 0, 'no advisory lock is left held');
    // And the next message under the same lock goes through.
    const res = await db.queryUnderLock<{ v: string }>(LOCK, 'INSERT INTO t (v) VALUES ($1) RETURNING v', [
      'kept',
    ]);
    assert.deepEqual(res.rows, [{ v: 'kept' }]);
    assert.equal(res.rowCount, 1);
  });

  it('runs messages under the same lock one after the other', async () => {
    const run = () =>
      db.queryUnderLock<{ started: Date; ended: Date }>(
        LOCK,
        'SELECT clock_timestamp() AS started, (SELECT clock_timestamp() FROM pg_sleep(0.3)) AS ended',
        [],
      );
    const [a, b] = await Promise.all([run(), run()]);
    const [first, second] = [a.rows[0], b.rows[0]].sort((x, y) => x.started.getTime() - y.started.getTime());
    assert.ok(
      second.started.getTime() >= first.ended.getTime(),
      `the second started at ${second.started.toISOString()}, before the first ended at ${first.ended.toISOString()}`,
    );
  });
});
