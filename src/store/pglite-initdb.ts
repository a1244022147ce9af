/**
 * Creates a new embedded database in the directory given as the only argument, then exits. Run by
 * `PgliteDb.open` in a child process on first start: PostgreSQL's initdb inside WebAssembly grows the
 * WASM heap to several hundred MB, and WebAssembly memory never shrinks, so doing it in the service
 * process would keep that memory for the process's whole life. In a child it is returned on exit.
 */
import { PGlite } from '@electric-sql/pglite';

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: pglite-initdb <directory>\n');
  process.exit(2);
}
process.umask(0o077);
const pg = await PGlite.create(dir);
await pg.query('SELECT 1');
await pg.close();
