/**
 * The database CPU of bench/scaling.ts (docs/benchmarks.md section 0) counts every process of the
 * private PostgreSQL cluster, including backends whose connection has closed: their time reaches the
 * postmaster's cutime/cstime when they end, and must not drop out of the figure.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { clusterCpuMs, procStat } from '../../bench/proc-cpu.ts';
import { startPgServer, type PgServer } from '../helpers/pg-server.ts';

describe('bench: CPU time of a PostgreSQL cluster from /proc', () => {
  let server: PgServer;
  before(async () => {
    server = await startPgServer();
  });
  after(async () => {
    await server?.stop();
  });

  it('counts the CPU of a backend after its connection has closed', async () => {
    const watcher = new pg.Client({ connectionString: server.url });
    await watcher.connect();
    try {
      const own = await watcher.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const postmaster = procStat(own.rows[0].pid)?.ppid;
      assert.ok(postmaster && postmaster > 1, 'the backend has the postmaster as its parent');
      const before = clusterCpuMs(postmaster);

      const worker = new pg.Client({ connectionString: server.url });
      await worker.connect();
      const { rows } = await worker.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const backend = rows[0].pid;
      let used = 0;
      while (used < 300) {
        await worker.query('SELECT sum(i) FROM generate_series(1, 2000000) i');
        used = procStat(backend)?.self ?? 0;
      }
      await worker.end();
      const deadline = Date.now() + 30_000;
      while (procStat(backend) !== undefined && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      assert.equal(procStat(backend), undefined, 'the backend has ended');

      const grown = clusterCpuMs(postmaster) - before;
      assert.ok(grown >= used, `cluster CPU grew by ${grown} ms, the ended backend used ${used} ms`);
    } finally {
      await watcher.end();
    }
  });
});
