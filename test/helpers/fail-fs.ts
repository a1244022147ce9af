/**
 * Makes a file-system call of this process fail as a full or broken disk would, for the paths a test
 * picks: `fs/promises`' `mkdtemp`, `open` or `rm` (what removes temporary directories), or `fs`'
 * callback `open` (what read and write streams and the `tmp` package of exceljs use), answers an errno
 * error (`ENOSPC`, `EMFILE`, ...) for a matching path and works as usual for any other. The modules
 * that imported the function by name see the replacement too (node:module's `syncBuiltinESMExports`).
 * Call the returned function to undo it.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { mock } from 'node:test';

export type FailingCall = 'mkdtemp' | 'open' | 'rm' | 'open (callback)';

function simulated(code: string, call: string, path: string): NodeJS.ErrnoException {
  const syscall = call === 'open (callback)' ? 'open' : call;
  return Object.assign(new Error(`${code}: simulated failure, ${syscall} '${path}'`), {
    code,
    syscall,
    path,
  });
}

export function failFs(
  call: FailingCall,
  matches: (path: string, flags: unknown) => boolean,
  code: string,
): () => void {
  let restore: () => void;
  if (call === 'open (callback)') {
    const original = fs.open as (path: fs.PathLike, ...rest: unknown[]) => void;
    const replaced = mock.method(fs, 'open', (path: fs.PathLike, ...rest: unknown[]) => {
      // open(path[, flags[, mode]], callback): the flags are the first argument unless it is the callback.
      const flags = typeof rest[0] === 'function' ? undefined : rest[0];
      if (!matches(String(path), flags)) return original(path, ...rest);
      const callback = rest[rest.length - 1] as (error: Error) => void;
      process.nextTick(callback, simulated(code, call, String(path)));
    });
    restore = () => replaced.mock.restore();
  } else {
    const original = fsp[call] as (path: string, ...rest: unknown[]) => Promise<unknown>;
    const replaced = mock.method(fsp, call, (path: string, ...rest: unknown[]) => {
      if (!matches(String(path), rest[0])) return original(path, ...rest);
      return Promise.reject(simulated(code, call, String(path)));
    });
    restore = () => replaced.mock.restore();
  }
  syncBuiltinESMExports();
  return () => {
    restore();
    syncBuiltinESMExports();
  };
}
