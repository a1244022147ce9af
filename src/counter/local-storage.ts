/**
 * Failures of the harvester's own temporary storage: the spill files month buckets write and read back
 * (month-buckets.ts). Every file-system error of that layer is thrown as a `LocalStorageError`, so a
 * caller tells it apart from an invalid report or a broken connection by where it arose, not by its
 * errno text: the answer being read is not at fault, the harvester's disk is (full, not writable, gone).
 */

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
