/** Throwaway: idle CPU and statements per second of 1..N service processes on PostgreSQL. */
import pg from 'pg';
import { killAllChildren, startChild, type ChildService } from '../test/helpers/child-service.ts';
import { startPgServer } from '../test/helpers/pg-server.ts';
import { clusterCpuMs, procStat, serviceCpuMs } from './proc-cpu.ts';
import { serviceStartArgs } from './service-process.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const n = Number(process.argv[2] ?? 2);
const seconds = Number(process.argv[3] ?? 20);
const pgServer = await startPgServer();
const url = await pgServer.createDatabase('idle');
const env = { DATABASE_URL: url, QUEUE_POLL_MS: '1000', QUEUE_IDLE_POLL_MS: '15000', SCHEDULER_TICK_MS: '1000', HEARTBEAT_INTERVAL_MS: '30000', LOG_LEVEL: 'warn' , ...(process.env.EXTRA ? JSON.parse(process.env.EXTRA) : {})};
const start = serviceStartArgs();
const nodeArgs = start[start.length - 1] === 'serve' ? start.slice(0, -1) : start;
const procs: ChildService[] = [];
try {
  procs.push(await startChild('p1', env, 300_000, nodeArgs));
  for (let i = 1; i < n; i++) procs.push(await startChild(`p${i + 1}`, env, 300_000, nodeArgs));
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  const pm = procStat((await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid)!.ppid;
  const xacts = async () => Number((await db.query<{ n: string }>(`SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = current_database()`)).rows[0].n);
  await sleep(5000);
  const s0 = procs.map((p) => serviceCpuMs(p.child.pid!));
  const c0 = clusterCpuMs(pm);
  const x0 = await xacts();
  const t0 = Date.now();
  await sleep(seconds * 1000);
  const dt = (Date.now() - t0) / 1000;
  await db.query('SELECT pg_stat_clear_snapshot()');
  const x1 = await xacts();
  const svc = procs.map((p, i) => (serviceCpuMs(p.child.pid!) - s0[i]) / dt);
  const cl = (clusterCpuMs(pm) - c0) / dt;
  console.log(`${n} processes, ${dt.toFixed(1)} s: service CPU ms/s ${svc.map((v) => v.toFixed(2)).join(' + ')}; cluster ${cl.toFixed(2)} ms/s; transactions/s ${((x1 - x0) / dt).toFixed(1)} (probe's own included)`);
  await db.end();
} finally {
  await killAllChildren();
  await pgServer.stop();
}
