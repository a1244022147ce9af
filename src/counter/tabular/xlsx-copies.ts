/**
 * Where exceljs's streaming reader puts its worksheet copies. A worksheet that comes before the shared
 * strings in the zip (the order exceljs itself writes) is copied to a temporary file made by the `tmp`
 * package, and exceljs removes that copy only once its reader has been read to the end; a reader left
 * early (we stop after the first worksheet) or failing leaves it in the system temporary directory
 * until the process exits, with its file descriptor open.
 *
 * exceljs asks `tmp.file` without options, so the directory cannot be passed to it. `copiesIn` runs a
 * step of a reader with `tmp.file` answering into a directory chosen by the caller, who removes that
 * directory afterwards: whatever exceljs made there goes with it, on every path. The choice is kept in
 * an AsyncLocalStorage, so reads running side by side each keep their own directory, and a `tmp.file`
 * call of anything else in the process is passed on unchanged.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createRequire } from 'node:module';

type FileCallback = (...results: unknown[]) => void;

interface FileOptions {
  tmpdir?: string;
  keep?: boolean;
  discardDescriptor?: boolean;
  [option: string]: unknown;
}

/** The part of the `tmp` package (CommonJS) that exceljs's WorkbookReader calls. */
interface TmpPackage {
  file(options: FileOptions | FileCallback | undefined, callback?: FileCallback): void;
}

const copiesDirectory = new AsyncLocalStorage<string>();
let redirected = false;

/** Wraps `file` of the very `tmp` module exceljs loads (resolved from exceljs's own folder), once. */
function redirectTmpFiles(): void {
  if (redirected) return;
  const fromExceljs = createRequire(import.meta.resolve('exceljs'));
  const tmp = fromExceljs('tmp') as TmpPackage;
  const file = tmp.file.bind(tmp);
  tmp.file = (options, callback) => {
    const directory = copiesDirectory.getStore();
    if (directory === undefined) return file(options, callback);
    // tmp.file(callback) or tmp.file(options, callback).
    if (typeof options === 'function') return tmp.file({}, options);
    // keep: the directory's removal removes the file, so tmp need not hold it for the process's exit;
    // discardDescriptor: exceljs writes the copy through a stream of its own and never closes this one.
    return file({ ...options, tmpdir: directory, keep: true, discardDescriptor: true }, callback);
  };
  redirected = true;
}

/** Runs `step` (a call into exceljs's reader) with its worksheet copies made in `directory`. */
export function copiesIn<T>(directory: string, step: () => T): T {
  redirectTmpFiles();
  return copiesDirectory.run(directory, step);
}
