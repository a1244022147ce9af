import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { checkHealth, type Db, type DbHealth, type QueryResult, type Queryable } from './db.ts';

/** Raised when a second process tries to open a PGlite data directory that another process owns. */
export class DataDirInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(
      `The data directory ${dataDir} is in use by another process (pid ${pid}). ` +
        'The embedded database can be opened by one process only; stop that process, choose another ' +
        'HARVESTER_DATA_DIR, or use a PostgreSQL server (DATABASE_URL) to run several processes.',
    );
    this.name = 'DataDirInUseError';
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the lock file of a data directory, or throws DataDirInUseError. Returns the release function. */
export function lockDataDir(dataDir: string): () => void {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  const lockPath = join(dir, 'harvester.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        try {
          if (readFileSync(lockPath, 'utf8').trim() === String(process.pid)) rmSync(lockPath);
        } catch {
          // already gone
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number.parseInt(readFileSync(lockPath, 'utf8').trim(), 10);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) {
        throw new DataDirInUseError(dir, pid);
      }
      // A stale lock left by a process that died: take it over.
      rmSync(lockPath, { force: true });
    }
  }
  throw new Error(`Could not lock the data directory ${dir}`);
}

function wrap(q: { query: PGlite['query'] }): Queryable {
  return {
    async query<T>(sql: string, params?: unknown[]): Promise<QueryResult<T>> {
      const res = await q.query<T>(sql, params as unknown[]);
      return { rows: res.rows, rowCount: res.affectedRows ?? res.rows.length };
    },
  };
}

export class PgliteDb implements Db {
  readonly kind = 'pglite' as const;
  private readonly q: Queryable;
  /** Every statement and transaction runs in turn through this chain (PGlite has one connection). */
  private turn: Promise<unknown> = Promise.resolve();
  private lastAnswerAt = 0;

  private constructor(
    private readonly pg: PGlite,
    private readonly release: () => void,
  ) {
    this.q = wrap(pg);
  }

  /** Opens (creating on first use) a file-backed database in `dataDir`, or an in-memory one for `undefined`. */
  static async open(dataDir: string | undefined): Promise<PgliteDb> {
    if (dataDir === undefined) {
      const pg = await PGlite.create();
      return new PgliteDb(pg, () => {});
    }
    const release = lockDataDir(dataDir);
    try {
      const pg = await PGlite.create(join(resolve(dataDir), 'pgdata'));
      return new PgliteDb(pg, release);
    } catch (err) {
      release();
      throw err;
    }
  }

  /** A copy of this database (tests: migrate once, clone per test). Not file-backed. */
  async clone(): Promise<PgliteDb> {
    return new PgliteDb((await this.pg.clone()) as PGlite, () => {});
  }

  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<T>> {
    return this.exclusive(() => this.q.query<T>(sql, params));
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.exclusive(() => this.pg.transaction(async (tx) => fn(wrap(tx))));
  }

  health(timeoutMs: number): Promise<DbHealth> {
    return checkHealth(this, () => this.lastAnswerAt, timeoutMs);
  }

  /**
   * Runs `fn` when everything before it is done. When it fails, the connection is brought back to a
   * clean state before the next caller's turn: PGlite's own ROLLBACK can fail after some errors inside
   * the WASM engine (a statement nested deeper than its stack allows ends in "bad buffer ID"), which
   * would leave every later statement of the process answering "current transaction is aborted".
   */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.turn.then(async () => {
      try {
        const result = await fn();
        this.lastAnswerAt = Date.now();
        return result;
      } catch (err) {
        await this.pg.exec('ROLLBACK').catch(() => {});
        throw err;
      }
    });
    this.turn = run.catch(() => {});
    return run;
  }

  async close(): Promise<void> {
    try {
      await this.pg.close();
    } finally {
      this.release();
    }
  }
}
