import type { Db } from './db.ts';

export interface DatabaseOptions {
  /** A PostgreSQL connection string; when absent the embedded database is used. */
  databaseUrl?: string;
  /** Directory of the embedded database; `undefined` with `memory` gives an in-memory database. */
  dataDir?: string;
  memory?: boolean;
  poolSize?: number;
  /** The embedded database's `shared_buffers` (PGLITE_SHARED_BUFFERS). */
  pgliteSharedBuffers?: string;
  /** The embedded database in a worker thread of its own (PGLITE_THREAD; default true). */
  pgliteThread?: boolean;
  /**
   * Called once when the embedded database's thread stops on its own (see `PgliteOptions.onLost`);
   * never on PostgreSQL, whose lost connections are replaced statement by statement.
   */
  onLost?: (err: Error) => void;
}

/**
 * Each backend is loaded only when it is used: PGlite's module (WebAssembly PostgreSQL) is large, and a
 * service on PostgreSQL never needs it; the pg driver is small but as unneeded on PGlite.
 */
export async function openDatabase(opts: DatabaseOptions): Promise<Db> {
  if (opts.databaseUrl) {
    const { PostgresDb } = await import('./postgres.ts');
    return PostgresDb.open(opts.databaseUrl, opts.poolSize);
  }
  const { PgliteDb } = await import('./pglite.ts');
  return PgliteDb.open(opts.memory ? undefined : (opts.dataDir ?? './data'), {
    sharedBuffers: opts.pgliteSharedBuffers,
    thread: opts.pgliteThread ?? true,
    onLost: opts.onLost,
  });
}
