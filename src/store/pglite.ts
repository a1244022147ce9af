import { execFile } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as pgliteResults, PGlite, protocol } from '@electric-sql/pglite';
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

/** Removes group and other permissions from a file or directory tree (symbolic links are left alone). */
function ownerOnly(path: string): void {
  const stat = lstatSync(path);
  if (stat.isSymbolicLink()) return;
  if ((stat.mode & 0o077) !== 0) chmodSync(path, stat.mode & 0o700);
  if (stat.isDirectory()) for (const name of readdirSync(path)) ownerOnly(join(path, name));
}

/**
 * The data directory holds the database, provider credentials included: owner-only (0700 directories,
 * 0600 files), also when it was left readable by an older version. PostgreSQL inside PGlite creates its
 * files 0600 and 0700 itself; only a new database, unpacked from PGlite's template, needs tightening
 * after the start (see `PgliteDb.open`). `serve` also sets the process umask to 077 as a second line.
 */
export function secureDataDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  ownerOnly(dir);
}

/** Takes the lock file of a data directory, or throws DataDirInUseError. Returns the release function. */
export function lockDataDir(dataDir: string): () => void {
  const dir = resolve(dataDir);
  secureDataDir(dir);
  const lockPath = join(dir, 'harvester.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx', 0o600);
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

function wrap(q: { query: PGlite['query'] }, prepared: PreparedStatements): Queryable {
  return {
    async query<T>(sql: string, params?: unknown[]): Promise<QueryResult<T>> {
      const fast = prepared.usable(sql, params) ? await prepared.query<T>(sql, params!) : undefined;
      if (fast) return fast;
      const res = await q.query<T>(sql, params as unknown[]);
      return { rows: res.rows, rowCount: res.affectedRows ?? res.rows.length };
    },
  };
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

export interface PgliteOptions {
  /**
   * PostgreSQL's `shared_buffers` inside the WASM heap (default 32MB; PGlite's own default is 128MB).
   * The operating system caches the database files anyway; a small buffer pool keeps the process small.
   */
  sharedBuffers?: string;
}

export const DEFAULT_PGLITE_SHARED_BUFFERS = '32MB';

/**
 * The child's script and its Node arguments: next to this module, as TypeScript run through tsx (tests,
 * `node --import tsx`) or as the compiled JavaScript of `npm start` (dist/, no tsx needed).
 */
function initdbCommand(dir: string): string[] {
  const compiled = import.meta.url.endsWith('.js');
  const script = fileURLToPath(
    new URL(compiled ? './pglite-initdb.js' : './pglite-initdb.ts', import.meta.url),
  );
  return compiled ? [script, dir] : ['--import', 'tsx', script, dir];
}

/**
 * Creates the database directory `pgdata` of a data directory in a child process (see
 * pglite-initdb.ts for why), under a temporary name that is renamed when complete: a start that is
 * killed half-way leaves no half-made database behind, only a temporary directory removed next time.
 */
async function initialiseInChild(dataDir: string): Promise<void> {
  for (const name of readdirSync(dataDir))
    if (name.startsWith('pgdata.init-')) rmSync(join(dataDir, name), { recursive: true, force: true });
  const target = join(dataDir, 'pgdata');
  if (existsSync(target)) {
    if (readdirSync(target).length > 0)
      throw new Error(
        `${target} holds files but no database (PG_VERSION is missing); move it away to start afresh`,
      );
    rmSync(target, { recursive: true });
  }
  const temp = join(dataDir, `pgdata.init-${process.pid}`);
  await new Promise<void>((done, fail) => {
    execFile(
      process.execPath,
      initdbCommand(temp),
      { maxBuffer: 4 * 1024 * 1024 },
      (err, _stdout, stderr) => {
        if (!err) return done();
        const detail = stderr.trim().split('\n').slice(-5).join('\n');
        fail(new Error(`Could not create the embedded database in ${temp}: ${detail || err.message}`));
      },
    );
  });
  renameSync(temp, target);
}

export class PgliteDb implements Db {
  readonly kind = 'pglite' as const;
  private readonly q: Queryable;
  private readonly prepared: PreparedStatements;
  /** Every statement and transaction runs in turn through this chain (PGlite has one connection). */
  private turn: Promise<unknown> = Promise.resolve();
  private lastAnswerAt = 0;

  private constructor(
    private readonly pg: PGlite,
    private readonly release: () => void,
  ) {
    this.prepared = new PreparedStatements(pg);
    this.q = wrap(pg, this.prepared);
  }

  /** Opens (creating on first use) a file-backed database in `dataDir`, or an in-memory one for `undefined`. */
  static async open(dataDir: string | undefined, options: PgliteOptions = {}): Promise<PgliteDb> {
    const startParams = [
      ...PGlite.defaultStartParams,
      '-c',
      `shared_buffers=${options.sharedBuffers ?? DEFAULT_PGLITE_SHARED_BUFFERS}`,
    ];
    if (dataDir === undefined) {
      const pg = await PGlite.create({ startParams });
      return new PgliteDb(pg, () => {});
    }
    const release = lockDataDir(dataDir);
    try {
      const dir = resolve(dataDir);
      if (!existsSync(join(dir, 'pgdata', 'PG_VERSION'))) await initialiseInChild(dir);
      const pg = await PGlite.create(join(dir, 'pgdata'), { startParams });
      // A new database is unpacked from PGlite's template with the template's modes (chmod, so the
      // umask does not apply): tighten them once it is there.
      ownerOnly(resolve(dataDir));
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
    return this.exclusive(() => this.pg.transaction(async (tx) => fn(wrap(tx, this.prepared))));
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
