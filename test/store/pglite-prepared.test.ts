/**
 * PGlite runs repeated data statements with parameters as named prepared statements (src/store/pglite.ts,
 * docs/benchmarks.md section 2). They must answer exactly as the unprepared statements did: the same
 * parameter and row conversions, errors that leave the connection (and a transaction) usable, and a
 * table whose columns change while a statement of it is prepared. The same in both places the database
 * can run: the caller's thread and a worker thread (rows and errors then cross a thread boundary).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PgliteDb } from '../../src/store/pglite.ts';

for (const thread of [false, true])
  describe(`PGlite prepared statements (${thread ? 'in a worker thread' : "in the caller's thread"})`, () => {
    let db: PgliteDb;
    before(async () => {
      db = await PgliteDb.open(undefined, { thread });
      await db.query(
        `CREATE TABLE t (id int PRIMARY KEY, tags text[], doc jsonb, at timestamptz, ok boolean, n bigint)`,
      );
    });
    after(async () => {
      await db.close();
    });

    it('the same rows and counts on every run, with parameters of every kind the code passes', async () => {
      const insert = `INSERT INTO t (id, tags, doc, at, ok, n) VALUES ($1, $2::text[], $3::jsonb, $4, $5, $6)
                    ON CONFLICT (id) DO NOTHING`;
      const at = new Date('2024-02-01T10:00:00.000Z');
      for (let i = 1; i <= 8; i++) {
        const res = await db.query(insert, [
          i,
          ['a', `b"${i}`, 'c,d'],
          { k: i, s: 'x\\y' },
          at,
          i % 2 === 0,
          9007199254740991,
        ]);
        assert.equal(res.rowCount, 1);
      }
      assert.equal((await db.query(insert, [1, [], null, null, null, null])).rowCount, 0);
      const select = `SELECT id, tags, doc, at, ok, n FROM t WHERE id = ANY($1::int[]) ORDER BY id`;
      for (let run = 0; run < 3; run++) {
        const res = await db.query<Record<string, unknown>>(select, [[2, 3]]);
        assert.deepEqual(res.rows, [
          { id: 2, tags: ['a', 'b"2', 'c,d'], doc: { k: 2, s: 'x\\y' }, at, ok: true, n: 9007199254740991 },
          { id: 3, tags: ['a', 'b"3', 'c,d'], doc: { k: 3, s: 'x\\y' }, at, ok: false, n: 9007199254740991 },
        ]);
      }
      const update = await db.query(`UPDATE t SET ok = $1 WHERE id > $2`, [true, 4]);
      assert.equal(update.rowCount, 4);
    });

    it('a failing run leaves the connection and a transaction usable', async () => {
      const insert = `INSERT INTO t (id) VALUES ($1)`;
      await db.query(insert, [100]);
      await assert.rejects(
        db.query(insert, [100]),
        (err: unknown) => (err as { code?: string }).code === '23505',
      );
      assert.equal(
        (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM t WHERE id >= $1`, [100])).rows[0].n,
        1,
      );
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.query(insert, [101]);
          await tx.query(insert, [100]);
        }),
      );
      assert.equal(
        (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM t WHERE id >= $1`, [100])).rows[0].n,
        1,
      );
      const inTx = await db.transaction(async (tx) => {
        await tx.query(insert, [102]);
        return (await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM t WHERE id >= $1`, [100]))
          .rows[0].n;
      });
      assert.equal(inTx, 2);
    });

    it('a table whose columns change: at most one failed run, then the new columns', async () => {
      await db.query(`CREATE TABLE c (id int, a text)`);
      await db.query(`INSERT INTO c VALUES ($1, $2)`, [1, 'x']);
      const select = `SELECT * FROM c WHERE id = $1`;
      assert.deepEqual((await db.query(select, [1])).rows, [{ id: 1, a: 'x' }]);
      await db.query(`ALTER TABLE c ADD COLUMN b text`);
      const again = await db.query(select, [1]).catch(() => db.query(select, [1]));
      assert.deepEqual(again.rows, [{ id: 1, a: 'x', b: null }]);
    });
  });
