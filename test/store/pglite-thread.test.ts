/**
 * The embedded database in a worker thread of its own (the service's default, PGLITE_THREAD): statements
 * are sent without waiting for the answers of those before them, so what the code relies on is checked
 * here: they run in the order they were made, a failure fails only its own statement, statements made
 * while a transaction is open stay out of it, errors arrive with the database's fields but without the
 * statement's parameters, the thread never holds the process open when nothing waits for it, and a
 * stopped thread fails statements instead of leaving them waiting and is reported (`onLost`) unless it was
 * closed.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { publicMessage } from '../../src/api/http-errors.ts';
import { PgliteDb } from '../../src/store/pglite.ts';

describe('PGlite in a worker thread', () => {
  let db: PgliteDb;
  before(async () => {
    db = await PgliteDb.open(undefined, { thread: true });
    await db.query('CREATE TABLE t (id int PRIMARY KEY, note text)');
  });
  after(async () => {
    await db.close();
  });

  it('statements made at once run in the order made; a failing one fails alone', async () => {
    await db.query('DELETE FROM t');
    const insert = 'INSERT INTO t (id, note) VALUES ($1, $2)';
    const results = await Promise.allSettled([
      db.query(insert, [1, 'first']),
      db.query(`UPDATE t SET note = $1 WHERE id = $2`, ['updated', 1]),
      db.query(insert, [1, 'duplicate']),
      db.query('SELECT no_such_column FROM t'),
      db.query(insert, [2, 'after the failures']),
      db.query<{ id: number; note: string }>('SELECT id, note FROM t ORDER BY id'),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'fulfilled', 'rejected', 'rejected', 'fulfilled', 'fulfilled'],
    );
    assert.equal((results[1] as PromiseFulfilledResult<{ rowCount: number }>).value.rowCount, 1);
    assert.equal(((results[2] as PromiseRejectedResult).reason as { code?: string }).code, '23505');
    assert.deepEqual((results[5] as PromiseFulfilledResult<{ rows: unknown[] }>).value.rows, [
      { id: 1, note: 'updated' },
      { id: 2, note: 'after the failures' },
    ]);
  });

  it('statements made while a transaction is open are not part of it', async () => {
    await db.query('DELETE FROM t');
    let insideDone!: () => void;
    const inside = new Promise<void>((resolve) => (insideDone = resolve));
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const transaction = db.transaction(async (tx) => {
      await tx.query(`INSERT INTO t (id, note) VALUES (10, 'in the transaction')`);
      insideDone();
      await held;
      const seen = await tx.query<{ id: number }>('SELECT id FROM t ORDER BY id');
      assert.deepEqual(seen.rows, [{ id: 10 }], 'the outside statement has not run yet');
      throw new Error('rolled back on purpose');
    });
    await inside;
    const outside = db.query(`INSERT INTO t (id, note) VALUES (11, 'outside')`);
    release();
    await assert.rejects(transaction, /rolled back on purpose/);
    await outside;
    assert.deepEqual((await db.query('SELECT id, note FROM t ORDER BY id')).rows, [
      { id: 11, note: 'outside' },
    ]);
  });

  it("a transaction's handle is refused once the transaction has ended", async () => {
    let kept: { query: PgliteDb['query'] } | undefined;
    await db.transaction(async (tx) => {
      kept = tx;
      await tx.query('SELECT 1');
    });
    await assert.rejects(kept!.query('SELECT 1'), /The transaction has ended/);
  });

  it("errors keep the database's fields, not the statement's parameters", async () => {
    await db.query('DELETE FROM t');
    await db.query('INSERT INTO t (id, note) VALUES (1, $1)', ['x']);
    const err = await db.query('INSERT INTO t (id, note) VALUES (1, $1)', ['requestor-secret-0000']).then(
      () => undefined,
      (e: unknown) => e as Error & Record<string, unknown>,
    );
    assert.ok(err instanceof Error);
    assert.equal(err.code, '23505');
    assert.equal(err.severity, 'ERROR');
    assert.equal(err.constraint, 't_pkey');
    assert.match(err.message, /duplicate key value/);
    assert.equal('params' in err, false);
    assert.doesNotMatch(JSON.stringify(err) + String(err.stack), /requestor-secret-0000/);
    assert.equal(publicMessage(err), 'Database error (SQLSTATE 23505); the service log has the details');
  });

  it('a file-backed database written in a thread reads back after reopening', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pglite-thread-'));
    try {
      const first = await PgliteDb.open(dir, { thread: true });
      await first.query('CREATE TABLE kept (v text)');
      await first.transaction((tx) => tx.query(`INSERT INTO kept VALUES ('durable')`));
      await first.close();
      const again = await PgliteDb.open(dir, { thread: true });
      try {
        assert.deepEqual((await again.query('SELECT v FROM kept')).rows, [{ v: 'durable' }]);
      } finally {
        await again.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a stopped thread fails statements and health instead of leaving them waiting', async () => {
    const doomed = await PgliteDb.open(undefined, { thread: true });
    const worker = (doomed as unknown as { session: { worker: { terminate(): Promise<number> } } }).session
      .worker;
    const waiting = doomed.query('SELECT pg_sleep(0.2)');
    await worker.terminate();
    await assert.rejects(waiting, /embedded database's thread has stopped/);
    await assert.rejects(doomed.query('SELECT 1'), /embedded database's thread has stopped/);
    const health = await doomed.health(1000);
    assert.equal(health.ok, false);
    await doomed.close();
  });

  it('a thread that stops on its own is reported once through onLost; a close is not', async () => {
    const lost: string[] = [];
    const doomed = await PgliteDb.open(undefined, { thread: true, onLost: (err) => lost.push(err.message) });
    const worker = (doomed as unknown as { session: { worker: { terminate(): Promise<number> } } }).session
      .worker;
    await doomed.query('SELECT 1');
    await worker.terminate();
    await assert.rejects(doomed.query('SELECT 1'), /embedded database's thread has stopped/);
    assert.deepEqual(lost, ["The embedded database's thread has stopped (exit code 1)"]);
    await doomed.close();
    assert.equal(lost.length, 1, 'closing the dead database reports nothing more');

    const closed: string[] = [];
    const kept = await PgliteDb.open(undefined, { thread: true, onLost: (err) => closed.push(err.message) });
    await kept.query('SELECT 1');
    await kept.close();
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(closed, [], 'a deliberate close is not a lost thread');
  });

  it('the thread keeps the process alive only while a statement waits for its answer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pglite-thread-exit-'));
    try {
      const module = pathToFileURL(join(import.meta.dirname, '../../src/store/pglite.ts')).href;
      const script = join(dir, 'script.mts');
      // Never closes the database: the process must still end once nothing is left to wait for.
      writeFileSync(
        script,
        `import { PgliteDb } from ${JSON.stringify(module)};
         const db = await PgliteDb.open(undefined, { thread: true });
         const { rows } = await db.query('SELECT pg_sleep(0.3), 42 AS answer');
         process.stdout.write('answer ' + rows[0].answer);`,
      );
      const stdout = await new Promise<string>((resolve, reject) =>
        execFile(
          process.execPath,
          ['--import', 'tsx', script],
          { cwd: join(import.meta.dirname, '../..'), timeout: 60_000 },
          (err, out, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(out)),
        ),
      );
      assert.equal(stdout, 'answer 42', 'the answer came before the process ended');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
