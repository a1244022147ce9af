/**
 * What idle service processes on one PostgreSQL database cost: N processes (`serve`, started as
 * `npm start` starts the service, with the service's default timings) on a fresh database of a private
 * cluster, nothing to do; after a 5-second settling time, for --seconds seconds, the CPU of each process
 * and of the cluster (ms per second, from /proc) and the transactions per second the database counted
 * (pg_stat_database, the probe's own two included). With --cpu-prof <dir> every process writes a CPU
 * profile when it stops. Figures: docs/benchmarks.md, "Scaling".
 *
 *   node --import tsx bench/idle-probe.ts [--processes 2] [--seconds 30] [--cpu-prof <dir>]
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { killAllChildren, startChild, type ChildService } from '../test/helpers/child-service.ts';
import { startPgServer } from '../test/helpers/pg-server.ts';
import { clusterCpuMs, procStat, serviceCpuMs } from './proc-cpu.ts';
import { benchResult, loadAverage } from './result.ts';
import { serviceStartArgs } from './service-process.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const { values } = parseArgs({
  options: {
    processes: { type: 'string', default: '2' },
    seconds: { type: 'string', default: '30' },
    'cpu-prof': { type: 'string' },
  },
});
const processes = Number(values.processes);
const seconds = Number(values.seconds);
const loadAverageStart = loadAverage();
const pgServer = await startPgServer();
const url = await pgServer.createDatabase('idle');
// The service's defaults, where the fast test environment of child-service.ts sets others.
const env = {
  DATABASE_URL: url,
  QUEUE_POLL_MS: '1000',
  QUEUE_IDLE_POLL_MS: '15000',
  SCHEDULER_TICK_MS: '1000',
  HEARTBEAT_INTERVAL_MS: '30000',
  LOG_LEVEL: 'warn',
};
const start = serviceStartArgs();
const nodeArgs = [
  ...(values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`] : []),
  ...(start[start.length - 1] === 'serve' ? start.slice(0, -1) : start),
];
const procs: ChildService[] = [];
try {
  for (let i = 0; i < processes; i++) procs.push(await startChild(`p${i + 1}`, env, 300_000, nodeArgs));
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  const pid = (await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
  const postmaster = procStat(pid)?.ppid;
  if (!postmaster) throw new Error('postmaster not found in /proc');
  const transactions = async () => {
    await db.query('SELECT pg_stat_clear_snapshot()');
    const res = await db.query<{ n: string }>(
      `SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = current_database()`,
    );
    return Number(res.rows[0].n);
  };
  await sleep(5000);
  const service0 = procs.map((p) => serviceCpuMs(p.child.pid!));
  const cluster0 = clusterCpuMs(postmaster);
  const tx0 = await transactions();
  const t0 = Date.now();
  await sleep(seconds * 1000);
  const dt = (Date.now() - t0) / 1000;
  const tx1 = await transactions();
  const service = procs.map((p, i) => (serviceCpuMs(p.child.pid!) - service0[i]) / dt);
  const cluster = (clusterCpuMs(postmaster) - cluster0) / dt;
  const perS = (tx1 - tx0) / dt;
  await db.end();
  console.log(
    `${processes} idle process(es), ${dt.toFixed(1)} s: service CPU ms/s ${service.map((v) => v.toFixed(2)).join(' + ')}; ` +
      `cluster ${cluster.toFixed(2)} ms/s; transactions/s ${perS.toFixed(1)}; load average ${loadAverage().join(' ')}`,
  );
  benchResult('idle-probe', {
    processes,
    seconds: dt,
    serviceCpuMsPerS: service,
    clusterCpuMsPerS: cluster,
    transactionsPerS: perS,
    loadAverageStart,
  });
} finally {
  // Stopped, not killed: a process writes its CPU profile when it exits.
  await Promise.all(procs.map((p) => p.stop()));
  await killAllChildren();
  await pgServer.stop();
}
