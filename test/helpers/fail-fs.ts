/**
 * Makes a file-system call of this process fail as a full or broken disk would, for the paths a test
 * picks: `fs/promises`' `mkdtemp` or `open` answers an errno error (`ENOSPC`, `EMFILE`, ...) for a
 * matching path and works as usual for any other. The modules that imported the function by name see
 * the replacement too (node:module's `syncBuiltinESMExports`). Call the returned function to undo it.
 */
import fsp from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { mock } from 'node:test';

export function failFs(
  call: 'mkdtemp' | 'open',
  matches: (path: string, flags: unknown) => boolean,
  code: string,
): () => void {
  const original = fsp[call] as (path: string, ...rest: unknown[]) => Promise<unknown>;
  const replaced = mock.method(fsp, call, (path: string, ...rest: unknown[]) => {
    if (!matches(String(path), rest[0])) return original(path, ...rest);
    const error = Object.assign(new Error(`${code}: simulated failure, ${call} '${String(path)}'`), {
      code,
      syscall: call,
      path: String(path),
    });
    return Promise.reject(error);
  });
  syncBuiltinESMExports();
  return () => {
    replaced.mock.restore();
    syncBuiltinESMExports();
  };
}
