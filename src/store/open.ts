import type { Db } from './db.ts';
import { PgliteDb } from './pglite.ts';
import { PostgresDb } from './postgres.ts';

export interface DatabaseOptions {
  /** A PostgreSQL connection string; when absent the embedded database is used. */
  databaseUrl?: string;
  /** Directory of the embedded database; `undefined` with `memory` gives an in-memory database. */
  dataDir?: string;
  memory?: boolean;
  poolSize?: number;
  /** The embedded database's `shared_buffers` (PGLITE_SHARED_BUFFERS). */
  pgliteSharedBuffers?: string;
}

export async function openDatabase(opts: DatabaseOptions): Promise<Db> {
  if (opts.databaseUrl) return PostgresDb.open(opts.databaseUrl, opts.poolSize);
  return PgliteDb.open(opts.memory ? undefined : (opts.dataDir ?? './data'), {
    sharedBuffers: opts.pgliteSharedBuffers,
  });
}
