import pg from 'pg';
import { checkHealth, type Db, type DbHealth, type QueryResult, type Queryable } from './db.ts';

// int8 (bigint, count(*)) as a JS number: our values stay far below 2^53.
pg.types.setTypeParser(20, (v) => Number.parseInt(v, 10));

export class PostgresDb implements Db {
  readonly kind = 'postgres' as const;
  private lastAnswerAt = 0;
  private constructor(private readonly pool: pg.Pool) {}

  static async open(connectionString: string, max = 10): Promise<PostgresDb> {
    const pool = new pg.Pool({ connectionString, max });
    // Errors of idle clients (server restart, network) must not crash the process.
    pool.on('error', () => {});
    const client = await pool.connect();
    client.release();
    return new PostgresDb(pool);
  }

  async query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<T>> {
    const res = await this.pool.query(sql, params);
    this.lastAnswerAt = Date.now();
    return { rows: res.rows as T[], rowCount: res.rowCount ?? res.rows.length };
  }

  /**
   * The lock and the statement as one simple-query message of two statements: PostgreSQL runs them as
   * one implicit transaction (the lock is held to its end, an error rolls both back), each statement
   * with its own snapshot, so the second sees what the lock's previous holder committed. A message of
   * several statements takes no parameters: they are written into the text as literals.
   */
  async queryUnderLock<T = Record<string, unknown>>(
    lock: number,
    sql: string,
    params: unknown[],
  ): Promise<QueryResult<T>> {
    if (!Number.isSafeInteger(lock)) throw new TypeError(`advisory lock key not an integer: ${lock}`);
    const text = `SELECT pg_advisory_xact_lock(${lock});\n${withLiterals(sql, params)}`;
    const results = (await this.pool.query(text)) as unknown as pg.QueryResult[];
    this.lastAnswerAt = Date.now();
    const res = results[results.length - 1];
    return { rows: res.rows as T[], rowCount: res.rowCount ?? res.rows.length };
  }

  health(timeoutMs: number): Promise<DbHealth> {
    return checkHealth(this, () => this.lastAnswerAt, timeoutMs);
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    const tx: Queryable = {
      query: async <R>(sql: string, params?: unknown[]): Promise<QueryResult<R>> => {
        const res = await client.query(sql, params);
        this.lastAnswerAt = Date.now();
        return { rows: res.rows as R[], rowCount: res.rowCount ?? res.rows.length };
      },
    };
    // A connection whose ROLLBACK failed is closed instead of going back to the pool half-used.
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await fn(tx);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch((rollbackError: unknown) => {
        broken = rollbackError as Error;
      });
      throw err;
    } finally {
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** `sql` with each parameter `$n` replaced by the SQL literal of `params[n - 1]` (see `literal`). */
export function withLiterals(sql: string, params: unknown[]): string {
  return sql.replace(/\$(\d+)/g, (_, n: string) => {
    const i = Number(n) - 1;
    if (i < 0 || i >= params.length) throw new RangeError(`no value for parameter $${n}`);
    return literal(params[i]);
  });
}

/**
 * A value as an SQL literal of unknown type, which the server types from its use as it types a
 * parameter: text quoted (`pg.escapeLiteral`), a date as its ISO instant (the columns it meets are
 * timestamptz), numbers and booleans as their text, null and undefined as NULL. Other values (arrays,
 * objects, buffers) are refused: nothing passes them here.
 */
function literal(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'string') return pg.escapeLiteral(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`not a finite number: ${value}`);
    return `'${String(value)}'`;
  }
  if (typeof value === 'bigint') return `'${value.toString()}'`;
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new TypeError('invalid date');
    return `'${value.toISOString()}'`;
  }
  throw new TypeError(`no SQL literal for a parameter of type ${typeof value}`);
}
