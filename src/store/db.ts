/**
 * The one database interface the rest of the code sees. Two implementations:
 * PGlite (embedded PostgreSQL in WASM, one owning process) and a PostgreSQL server through `pg`.
 * Only PostgreSQL SQL is written against it.
 */
export interface QueryResult<T> {
  rows: T[];
  rowCount: number;
}

export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<T>>;
}

export interface Db extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * Runs `sql` in one transaction after taking the advisory lock `lock` (`pg_advisory_xact_lock`): the
   * statement sees everything the lock's previous holder committed. Where the driver can, both go in
   * one message (one round trip); otherwise (undefined) run them in `transaction`. `sql` names its
   * parameters `$1`, `$2`, … and holds no other `$` followed by a digit.
   */
  queryUnderLock?<T = Record<string, unknown>>(
    lock: number,
    sql: string,
    params: unknown[],
  ): Promise<QueryResult<T>>;
  /** Whether the database answers (see `checkHealth`); never throws. */
  health(timeoutMs: number): Promise<DbHealth>;
  close(): Promise<void>;
}

export type DbHealth = { ok: true } | { ok: false; reason: string };

/**
 * Liveness of a database: `SELECT 1` answered within `timeoutMs`, or — when the database is busy with
 * long work such as a large month being written in chunks — some other statement answered within that
 * time. Fails when the database reports an error or has answered nothing for `timeoutMs`.
 */
export async function checkHealth(
  db: Queryable,
  lastAnswerAt: () => number,
  timeoutMs: number,
): Promise<DbHealth> {
  const startedAt = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  try {
    const outcome = await Promise.race([db.query('SELECT 1').then(() => 'ok' as const), timeout]);
    if (outcome === 'ok') return { ok: true };
    if (lastAnswerAt() >= startedAt) return { ok: true };
    return { ok: false, reason: `the database has not answered for ${timeoutMs} ms` };
  } catch (err) {
    return { ok: false, reason: `the database answered with an error: ${(err as Error).message}` };
  } finally {
    clearTimeout(timer);
  }
}

/** Quotes an SQL identifier (schema, table or column name). */
export function quoteIdent(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}
