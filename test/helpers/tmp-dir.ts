/**
 * The process's temporary directory (TMPDIR, which `os.tmpdir()` reads at every call) pointed at a new
 * directory of a test's own, so that what the code under test leaves there can be listed without the
 * files of other processes.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface OwnTmpDir {
  readonly path: string;
  /** Removes everything in it (what one test left is not counted against the next). */
  clear(): Promise<void>;
  /** Puts TMPDIR back as it was and removes the directory. */
  restore(): Promise<void>;
}

export async function useOwnTmpDir(prefix: string): Promise<OwnTmpDir> {
  const saved = process.env.TMPDIR;
  const path = await mkdtemp(join(tmpdir(), prefix));
  process.env.TMPDIR = path;
  return {
    path,
    async clear() {
      for (const name of await readdir(path)) await rm(join(path, name), { recursive: true, force: true });
    },
    async restore() {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
      await rm(path, { recursive: true, force: true });
    },
  };
}
