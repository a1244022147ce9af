/**
 * The embedded database's one connection as the code talks to it: a PGlite instance with named
 * prepared statements, run in the thread that holds it. `PgliteDb` (pglite.ts) uses a session either
 * in the service's own thread or, by default for the service, in a worker thread of its own
 * (pglite-thread.ts), so that PostgreSQL's work inside WebAssembly runs beside the service's
 * JavaScript on a second core (docs/architecture.md "Embedded database in a worker thread").
 */
import { parse as pgliteResults, PGlite, protocol } from '@electric-sql/pglite';
import type { QueryResult } from './db.ts';

/** What `PgliteDb` needs of a connection, in this thread or another. */
export interface PgliteSession {
  /**
   * Whether requests may be sent before the ones before them are answered (a session in another
   * thread answers them in order); `query` then takes `alone`: a statement outside a transaction,
   * after whose failure the session itself rolls back before it runs the next request.
   */
  readonly pipelined: boolean;
  query<T = Record<string, unknown>>(
    sql: string,
    params?: unknown[],
    alone?: boolean,
  ): Promise<QueryResult<T>>;
  /** COMMIT; throws when the transaction had failed and PostgreSQL rolled it back instead. */
  commit(): Promise<void>;
  close(): Promise<void>;
}

/** How a session is opened: the database directory (undefined: in memory) and PostgreSQL's start parameters. */
export interface SessionParams {
  pgdata: string | undefined;
  startParams: string[];
}

export async function openPglite(params: SessionParams): Promise<PGlite> {
  return params.pgdata === undefined
    ? PGlite.create({ startParams: params.startParams })
    : PGlite.create(params.pgdata, { startParams: params.startParams });
}

/** A session on a PGlite instance of this thread. */
export class LocalSession implements PgliteSession {
  readonly pipelined = false;
  private readonly prepared: PreparedStatements;

  constructor(readonly pg: PGlite) {
    this.prepared = new PreparedStatements(pg);
  }

  async query<T>(sql: string, params?: unknown[]): Promise<QueryResult<T>> {
    const fast = this.prepared.usable(sql, params) ? await this.prepared.query<T>(sql, params!) : undefined;
    if (fast) return fast;
    const res = await this.pg.query<T>(sql, params);
    return { rows: res.rows, rowCount: res.affectedRows ?? res.rows.length };
  }

  async commit(): Promise<void> {
    const res = (await this.pg.query('COMMIT')) as { command?: string };
    if (res.command === 'ROLLBACK')
      throw new Error('The transaction was rolled back: a statement in it had failed');
  }

  close(): Promise<void> {
    return this.pg.close();
  }
}

/** Statements worth preparing: data statements with parameters (the harvest's repeated ones). */
const PREPARABLE = /^\s*(?:SELECT|INSERT|UPDATE|DELETE|WITH)\b/i;

type ProtocolMessage = { name: string; dataTypeIDs?: number[] };

interface Prepared {
  name: string;
  paramTypes: number[];
  /** The statement's row description message (absent for statements that return no rows). */
  rowDescription?: ProtocolMessage;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Named prepared statements on PGlite's one connection (docs/benchmarks.md, section 2): a statement
 * text with parameters is parsed, analysed and described once; each later run sends only Bind, Execute
 * and Sync in one call into the database, instead of PGlite's `query` with its five calls (Parse,
 * Describe, Bind, Describe, Execute) and the parse and plan of the text each time. Parameters are
 * serialised and rows parsed with PGlite's own serialisers and parsers by the described types, as its
 * `query` does. At most MAX_PREPARED texts are kept; others run through `query`.
 */
class PreparedStatements {
  private static readonly MAX_PREPARED = 300;
  private readonly byText = new Map<string, Prepared>();
  private next = 0;

  constructor(private readonly pg: PGlite) {}

  usable(sql: string, params: unknown[] | undefined): boolean {
    return params !== undefined && params.length > 0 && PREPARABLE.test(sql);
  }

  /** Runs the statement prepared; undefined when it is not kept (then the caller runs it otherwise). */
  async query<T>(sql: string, params: unknown[]): Promise<QueryResult<T> | undefined> {
    const stmt = this.byText.get(sql) ?? (await this.prepare(sql));
    if (!stmt) return undefined;
    const serializers = this.pg.serializers as Record<number, ((v: unknown) => string) | undefined>;
    const values = params.map((v, i) => {
      if (v === null || v === undefined) return null;
      // Bytes are bound in binary format as they are (for `text`, its UTF-8 bytes), as `pg` does.
      if (v instanceof Uint8Array) return v;
      const serialize = serializers[stmt.paramTypes[i]];
      return serialize ? serialize(v) : (v as { toString(): string }).toString();
    });
    let messages: unknown[];
    try {
      ({ messages } = await this.pg.execProtocol(
        concat([
          protocol.serialize.bind({ statement: stmt.name, values }),
          protocol.serialize.execute({}),
          protocol.serialize.sync(),
        ]),
      ));
    } catch (err) {
      // A table the statement reads changed its columns (a migration at run time): prepared afresh
      // next time, under a new name.
      if (/cached plan must not change result type/.test((err as Error).message)) this.byText.delete(sql);
      throw err;
    }
    const all = stmt.rowDescription ? [stmt.rowDescription, ...messages] : messages;
    const res = pgliteResults.parseResults(
      all as Parameters<typeof pgliteResults.parseResults>[0],
      this.pg.parsers,
    )[0] as unknown as { rows: T[]; affectedRows?: number };
    return { rows: res.rows, rowCount: res.affectedRows ?? res.rows.length };
  }

  private async prepare(sql: string): Promise<Prepared | undefined> {
    if (this.byText.size >= PreparedStatements.MAX_PREPARED) return undefined;
    const name = `harvester_${this.next++}`;
    const { messages } = await this.pg.execProtocol(
      concat([
        protocol.serialize.parse({ name, text: sql }),
        protocol.serialize.describe({ type: 'S', name }),
        protocol.serialize.sync(),
      ]),
    );
    const found = messages as ProtocolMessage[];
    const stmt: Prepared = {
      name,
      paramTypes: found.find((m) => m.name === 'parameterDescription')?.dataTypeIDs ?? [],
      rowDescription: found.find((m) => m.name === 'rowDescription'),
    };
    this.byText.set(sql, stmt);
    return stmt;
  }
}
