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
