/**
 * Failures of the harvester's own temporary storage: the spill files month buckets and the tabular
 * group-by write and read back (month-buckets.ts, tabular/spill.ts), an uploaded file received into a
 * temporary directory and its COUNTER JSON conversion (api/upload-routes.ts, harvest/file-upload.ts).
 * Every file-system error of that layer is thrown as a `LocalStorageError`, so a caller tells it apart
 * from an invalid report or a broken connection by where it arose, not by its errno text: the answer
 * or file being read is not at fault, the harvester's disk is (full, not writable, gone).
 */
import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

export class LocalStorageError extends Error {
  override name = 'LocalStorageError';
  /** The file-system error's code (`ENOSPC`, `EACCES`, `EMFILE`, `ENOENT`, ...), when it had one. */
  readonly code: string | undefined;

  /** `operation` says what was done and where, e.g. `writing /tmp/counter-split-x/2022-01.jsonl`. */
  constructor(operation: string, cause: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(`the harvester's temporary storage failed ${operation}: ${detail}`, { cause });
    const code = (cause as { code?: unknown } | null)?.code;
    this.code = typeof code === 'string' ? code : undefined;
  }
}

/** The LocalStorageError `error` is or was caused by (an error wrapping it keeps it as `cause`). */
export function findLocalStorageError(error: unknown): LocalStorageError | undefined {
  let current = error;
  for (let depth = 0; depth < 8 && current instanceof Error; depth++) {
    if (current instanceof LocalStorageError) return current;
    current = current.cause;
  }
  return undefined;
}

/** The text a failure caused by the harvester's own storage is reported with (failedReason, upload details). */
export function localStorageReason(error: LocalStorageError): string {
  return `Local storage error: ${error.message}`;
}

function asLocalStorageError(operation: string, error: unknown): LocalStorageError {
  return error instanceof LocalStorageError ? error : new LocalStorageError(operation, error);
}

/** Runs a file-system step of the temporary storage; its error becomes a LocalStorageError. */
export async function onLocalStorage<T>(operation: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    throw asLocalStorageError(operation, error);
  }
}

/** The values of a source reading the temporary storage; its error becomes a LocalStorageError. */
export async function* readingLocalStorage<T>(
  operation: string,
  source: AsyncIterable<T>,
): AsyncGenerator<T> {
  try {
    yield* source;
  } catch (error) {
    throw asLocalStorageError(operation, error);
  }
}

/** Makes a new directory `prefix`XXXXXX in `parent`; `what` names it in the error (`a spill directory`). */
export function makeLocalDirectory(parent: string, prefix: string, what: string): Promise<string> {
  return onLocalStorage(`creating ${what} in ${parent}`, () => mkdtemp(join(parent, prefix)));
}

/** Removes `path` with all it holds; a path that is gone already is no error. */
export function removeLocal(path: string): Promise<void> {
  return onLocalStorage(`removing ${path}`, () => rm(path, { recursive: true, force: true }));
}

/** A new file of the temporary storage written from start to end; every failure a LocalStorageError. */
export class LocalFileWriter {
  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
  ) {}

  /** Creates (or empties) `path`, readable by this user only. */
  static async create(path: string): Promise<LocalFileWriter> {
    return new LocalFileWriter(path, await onLocalStorage(`writing ${path}`, () => open(path, 'w', 0o600)));
  }

  /** Appends all of `data` (a single write may take only part of it). */
  async write(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    await onLocalStorage(`writing ${this.path}`, async () => {
      for (let done = 0; done < bytes.length;) {
        const { bytesWritten } = await this.handle.write(bytes, done);
        if (bytesWritten === 0) throw new Error('no byte was written');
        done += bytesWritten;
      }
    });
  }

  async close(): Promise<void> {
    await onLocalStorage(`closing ${this.path}`, () => this.handle.close());
  }
}
