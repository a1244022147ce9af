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
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { checkHealth, type Db, type DbHealth, type QueryResult, type Queryable } from './db.ts';
import { LocalSession, openPglite, type PgliteSession, type SessionParams } from './pglite-session.ts';
import { errorFrom, type ThreadAnswer, type ThreadRequest } from './pglite-thread-protocol.ts';

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

export interface PgliteOptions {
  /**
   * PostgreSQL's `shared_buffers` inside the WASM heap (default 32MB; PGlite's own default is 128MB).
   * The operating system caches the database files anyway; a small buffer pool keeps the process small.
   */
  sharedBuffers?: string;
  /**
   * Run the database in a worker thread of its own (the service's default, PGLITE_THREAD): PostgreSQL's
   * work inside WebAssembly then runs beside the service's JavaScript instead of taking turns with it.
   * Off: in the calling thread (tests' in-memory databases, which `snapshot` needs).
   */
  thread?: boolean;
  /**
   * With `thread`: called once when the database's thread stops other than by `close` (an uncaught
   * error inside it, or it exited) after it had opened; every statement fails from then on. In the
   * calling thread such an error would end the process; here the process would go on without its
   * database, so the service ends itself (server.ts). `err` names the thread and carries the cause's
   * message only (no statement, no parameters).
   */
  onLost?: (err: Error) => void;
}

export const DEFAULT_PGLITE_SHARED_BUFFERS = '32MB';

/**
 * The child's script and its Node arguments: next to this module, as TypeScript run through tsx (tests,
 * `node --import tsx`) or as the compiled JavaScript of `npm start` (dist/, no tsx needed).
 */
function siblingScript(name: string): { script: string; nodeArgs: string[] } {
  const compiled = import.meta.url.endsWith('.js');
  const script = fileURLToPath(new URL(`./${name}.${compiled ? 'js' : 'ts'}`, import.meta.url));
  return { script, nodeArgs: compiled ? [] : ['--import', 'tsx'] };
}

function initdbCommand(dir: string): string[] {
  const { script, nodeArgs } = siblingScript('pglite-initdb');
  return [...nodeArgs, script, dir];
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

/**
 * A session whose PGlite runs in a worker thread (pglite-thread.ts). Requests are posted in the order
 * they are made and answered in that order; the worker keeps the event loop alive only while a
 * request is waiting for its answer. When the thread stops, every waiting and later request fails, and
 * when it stops on its own after it opened (not through `close`), `onLost` hears of it once.
 */
class ThreadSession implements PgliteSession {
  readonly pipelined = true;
  private readonly waiting = new Map<number, { resolve(answer: ThreadAnswer): void }>();
  private next = 1;
  private stopped: Error | undefined;
  /** Set once the database has opened; a failed opening is its caller's error, not a loss. */
  private opened = false;
  /** Set when this side ends the thread (`close`, or a failed opening). */
  private closing = false;

  private constructor(
    private readonly worker: Worker,
    private readonly onLost: ((err: Error) => void) | undefined,
  ) {
    worker.on('message', (answers: ThreadAnswer[]) => {
      for (const answer of answers) {
        const entry = this.waiting.get(answer.id);
        if (!entry) continue;
        this.waiting.delete(answer.id);
        if (this.waiting.size === 0) worker.unref();
        entry.resolve(answer);
      }
    });
    const stop = (reason: Error) => {
      const first = this.stopped === undefined;
      this.stopped ??= reason;
      for (const [id, entry] of this.waiting)
        entry.resolve({ id, ok: false, error: { name: 'Error', message: this.stopped.message } });
      this.waiting.clear();
      if (first && this.opened && !this.closing) this.onLost?.(this.stopped);
    };
    // An uncaught error inside the thread: 'error', then 'exit'. Only the error's message crosses
    // over into the reason, never the error's other fields (a database error carries its parameters).
    worker.on('error', (err) => stop(new Error(`The embedded database's thread failed: ${err.message}`)));
    worker.on('exit', (code) =>
      stop(new Error(`The embedded database's thread has stopped (exit code ${code})`)),
    );
  }

  static async open(params: SessionParams, onLost?: (err: Error) => void): Promise<ThreadSession> {
    const { script, nodeArgs } = siblingScript('pglite-thread');
    const worker =
      nodeArgs.length === 0
        ? new Worker(script, { workerData: params })
        : // Under tsx (tests): the worker registers tsx's loader before it imports the TypeScript script.
          new Worker(
            `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(pathToFileURL(script).href)}); })`,
            { eval: true, workerData: params },
          );
    const session = new ThreadSession(worker, onLost);
    const opened = await session.answerTo(0);
    if (!opened.ok) {
      session.closing = true;
      await worker.terminate();
      throw errorFrom(opened.error);
    }
    session.opened = true;
    return session;
  }

  async query<T>(sql: string, params?: unknown[], alone?: boolean): Promise<QueryResult<T>> {
    return (await this.send({ id: 0, op: 'query', sql, params, alone })) as QueryResult<T>;
  }

  async commit(): Promise<void> {
    await this.send({ id: 0, op: 'commit' });
  }

  async close(): Promise<void> {
    this.closing = true;
    try {
      if (!this.stopped) await this.send({ id: 0, op: 'close' });
    } finally {
      await this.worker.terminate();
    }
  }

  private async send(request: ThreadRequest): Promise<QueryResult<unknown> | undefined> {
    if (this.stopped) throw this.stopped;
    const id = this.next++;
    const answer = this.answerTo(id);
    this.worker.postMessage({ ...request, id });
    const got = await answer;
    if (!got.ok) throw errorFrom(got.error);
    return got.result;
  }

  private answerTo(id: number): Promise<ThreadAnswer> {
    if (this.waiting.size === 0) this.worker.ref();
    return new Promise((resolve) => this.waiting.set(id, { resolve }));
  }
}

export class PgliteDb implements Db {
  readonly kind = 'pglite' as const;
  /** Every statement and transaction runs in turn through this chain (PGlite has one connection). */
  private turn: Promise<unknown> = Promise.resolve();
  private lastAnswerAt = 0;

  private constructor(
    private readonly session: PgliteSession,
    private readonly release: () => void,
  ) {}

  /**
   * Opens (creating on first use) a file-backed database in `dataDir`, or an in-memory one for
   * `undefined`; in a worker thread of its own with `thread`.
   */
  static async open(dataDir: string | undefined, options: PgliteOptions = {}): Promise<PgliteDb> {
    const startParams = [
      ...PGlite.defaultStartParams,
      '-c',
      `shared_buffers=${options.sharedBuffers ?? DEFAULT_PGLITE_SHARED_BUFFERS}`,
    ];
    const session = async (pgdata: string | undefined): Promise<PgliteSession> =>
      options.thread
        ? ThreadSession.open({ pgdata, startParams }, options.onLost)
        : new LocalSession(await openPglite({ pgdata, startParams }));
    if (dataDir === undefined) return new PgliteDb(await session(undefined), () => {});
    const release = lockDataDir(dataDir);
    try {
      const dir = resolve(dataDir);
      if (!existsSync(join(dir, 'pgdata', 'PG_VERSION'))) await initialiseInChild(dir);
      const db = new PgliteDb(await session(join(dir, 'pgdata')), release);
      // A new database is unpacked from PGlite's template with the template's modes (chmod, so the
      // umask does not apply): tighten them once it is there.
      ownerOnly(dir);
      return db;
    } catch (err) {
      release();
      throw err;
    }
  }

  /**
   * This database's files as one tarball, from which `fromSnapshot` starts copies (tests: migrate once,
   * a copy per test). In the calling thread only. The tests' template is closed once its snapshot is
   * taken: a PGlite left open keeps the process alive for up to 10 s after its last statement
   * (PostgreSQL's idle statistics timeout runs on a plain `setTimeout` that only `close` clears).
   */
  async snapshot(): Promise<Blob> {
    if (!(this.session instanceof LocalSession))
      throw new Error('Only a database in the calling thread can be snapshotted');
    return this.session.pg.dumpDataDir('none');
  }

  /** A new in-memory database in this thread holding what `snapshot` took (as PGlite's own `clone`). */
  static async fromSnapshot(snapshot: Blob): Promise<PgliteDb> {
    return new PgliteDb(new LocalSession(await PGlite.create({ loadDataDir: snapshot })), () => {});
  }

  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<T>> {
    if (!this.session.pipelined) return this.exclusive(() => this.session.query<T>(sql, params));
    // Sent as soon as no transaction holds the connection, without waiting for the answers of the
    // statements sent before it: the database's thread always has the next statement at hand.
    let answer!: Promise<QueryResult<T>>;
    const sent = this.turn.then(() => {
      answer = this.session.query<T>(sql, params, true);
    });
    this.turn = sent;
    return sent.then(async () => {
      const result = await answer;
      this.lastAnswerAt = Date.now();
      return result;
    });
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.exclusive(async () => {
      let open = true;
      const tx: Queryable = {
        query: <R>(sql: string, params?: unknown[]) => {
          if (!open) return Promise.reject(new Error('The transaction has ended'));
          return this.session.query<R>(sql, params);
        },
      };
      await this.session.query('BEGIN');
      try {
        const result = await fn(tx);
        await this.session.commit();
        return result;
      } finally {
        open = false;
      }
    });
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
        await this.session.query('ROLLBACK').catch(() => {});
        throw err;
      }
    });
    this.turn = run.catch(() => {});
    return run;
  }

  async close(): Promise<void> {
    try {
      await this.session.close();
    } finally {
      this.release();
    }
  }
}
