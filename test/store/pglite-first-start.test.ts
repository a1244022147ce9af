/**
 * The embedded database's first start: the new database is made in a child process (initdb inside
 * WebAssembly would otherwise keep several hundred MB in the service for its whole life) under a
 * temporary name renamed when complete, so that a start killed half-way leaves nothing half-made.
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { PgliteDb } from '../../src/store/pglite.ts';
import { loadConfig } from '../../src/config.ts';

describe('embedded database first start', () => {
  const parent = mkdtempSync(join(tmpdir(), 'harvester-first-start-'));
  after(() => rmSync(parent, { recursive: true, force: true }));

  it('creates a database that keeps its data across a reopen, with the configured buffer pool', async () => {
    const dir = join(parent, 'fresh');
    const db = await PgliteDb.open(dir, { sharedBuffers: '16MB' });
    await db.query('CREATE TABLE kept (v text)');
    await db.query(`INSERT INTO kept VALUES ('still here')`);
    const shown = await db.query<{ shared_buffers: string }>('SHOW shared_buffers');
    assert.equal(shown.rows[0]?.shared_buffers, '16MB');
    await db.close();
    assert.ok(existsSync(join(dir, 'pgdata', 'PG_VERSION')));
    assert.deepEqual(
      readdirSync(dir).filter((n) => n.startsWith('pgdata.init-')),
      [],
      'no temporary directory left',
    );
    const again = await PgliteDb.open(dir);
    const rows = await again.query<{ v: string }>('SELECT v FROM kept');
    assert.deepEqual(rows.rows, [{ v: 'still here' }]);
    await again.close();
  });

  it('removes what a start killed during the creation left, and starts afresh', async () => {
    const dir = join(parent, 'interrupted');
    mkdirSync(join(dir, 'pgdata.init-99999', 'base'), { recursive: true });
    writeFileSync(join(dir, 'pgdata.init-99999', 'base', 'half'), 'x');
    const db = await PgliteDb.open(dir);
    assert.deepEqual((await db.query('SELECT 1 AS one')).rows, [{ one: 1 }]);
    await db.close();
    assert.deepEqual(
      readdirSync(dir).filter((n) => n.startsWith('pgdata.init-')),
      [],
    );
  });

  it('refuses a database directory that holds files but no database, naming it', async () => {
    const dir = join(parent, 'foreign');
    mkdirSync(join(dir, 'pgdata'), { recursive: true });
    writeFileSync(join(dir, 'pgdata', 'notes.txt'), 'not a database');
    await assert.rejects(PgliteDb.open(dir), (err: Error) => {
      assert.match(err.message, /pgdata holds files but no database/);
      return true;
    });
    assert.ok(existsSync(join(dir, 'pgdata', 'notes.txt')), 'nothing of it deleted');
    // The lock was given back: a second try fails the same way, not with "in use".
    await assert.rejects(PgliteDb.open(dir), /holds files but no database/);
  });

  it('PGLITE_SHARED_BUFFERS is checked at start-up', () => {
    assert.equal(loadConfig({ PGLITE_SHARED_BUFFERS: '64MB' }).pgliteSharedBuffers, '64MB');
    assert.equal(loadConfig({}).pgliteSharedBuffers, '32MB');
    assert.throws(() => loadConfig({ PGLITE_SHARED_BUFFERS: '32 MB; DROP' }), /PGLITE_SHARED_BUFFERS/);
  });
});
