import { createHash } from 'node:crypto';
import pg from 'pg';
import { checkHealth, type Db, type DbHealth, type QueryResult, type Queryable } from './db.ts';

// int8 (bigint, count(*)) as a JS number: our values stay far below 2^53.
pg.types.setTypeParser(20, (v) => Number.parseInt(v, 10));

/**
 * Which statement texts run as named (server-side prepared) statements: a text with parameters is named
 * once it has run PREPARE_AFTER times, as pgjdbc's `prepareThreshold` does. The server then parses and
 * analyses it once per connection and may keep its plan, instead of doing both on every run: for the
 * harvest's large statements planning alone took a fifth of the months' server time and more than half
 * of the removal's (docs/benchmarks.md, section 2). At most MAX_NAMED texts per process are named (each
 * costs server memory on every pooled connection); statements without parameters stay unnamed.
 */
export class StatementNames {
  static readonly PREPARE_AFTER = 5;
  static readonly MAX_NAMED = 64;
  private readonly runs = new Map<string, number>();
  private readonly names = new Map<string, string>();
  /** Texts whose named statement stopped fitting its tables (see `forget`): they run unnamed. */
  private readonly unnamed = new Set<string>();

  /**
   * Whether `err` says that a named statement's tables changed under it (a migration while the process
   * runs changed a column it returns); then the text runs unnamed from now on and the caller may run it
   * again (the statement did not run).
   */
  forget(sql: string, err: unknown): boolean {
    if (
      !this.names.has(sql) ||
      !/cached plan must not change result type/.test(String((err as Error)?.message))
    )
      return false;
    this.names.delete(sql);
    this.unnamed.add(sql);
    return true;
  }

  /** The name to run `sql` under, or undefined to run it unnamed. */
  nameOf(sql: string, params: unknown[] | undefined): string | undefined {
    if (params === undefined || params.length === 0 || this.unnamed.has(sql)) return undefined;
    const known = this.names.get(sql);
    if (known !== undefined || this.names.size >= StatementNames.MAX_NAMED) return known;
    const runs = (this.runs.get(sql) ?? 0) + 1;
    if (runs < StatementNames.PREPARE_AFTER) {
      // Texts that never repeat (a CQL query's) are not remembered without bound.
      if (this.runs.size >= 4 * StatementNames.MAX_NAMED) this.runs.clear();
      this.runs.set(sql, runs);
      return undefined;
    }
    this.runs.delete(sql);
    const name = `h_${createHash('sha1').update(sql).digest('hex').slice(0, 20)}`;
    this.names.set(sql, name);
    return name;
  }
}

export class PostgresDb implements Db {
  readonly kind = 'postgres' as const;
  private lastAnswerAt = 0;
  private readonly statementNames = new StatementNames();
  private constructor(private readonly pool: pg.Pool) {}

  /** `pg`'s query config: named when the text has repeated enough (`StatementNames`). */
  private config(sql: string, params: unknown[] | undefined): pg.QueryConfig {
    const name = this.statementNames.nameOf(sql, params);
    return name === undefined ? { text: sql, values: params } : { name, text: sql, values: params };
  }

  static async open(connectionString: string, max = 10): Promise<PostgresDb> {
    const pool = new pg.Pool({ connectionString, max });
    // Errors of idle clients (server restart, network) must not crash the process.
    pool.on('error', () => {});
    const client = await pool.connect();
    client.release();
    return new PostgresDb(pool);
  }

  async query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<T>> {
    let res: pg.QueryResult;
    try {
      res = await this.pool.query(this.config(sql, params));
    } catch (err) {
      if (!this.statementNames.forget(sql, err)) throw err;
      res = await this.pool.query(sql, params);
    }
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
        const res = await client.query(this.config(sql, params)).catch((err: unknown) => {
          // The transaction is aborted: the caller's retry runs the text unnamed.
          this.statementNames.forget(sql, err);
          throw err;
        });
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
