/**
 * Scaling on PostgreSQL: 1, 2 and 4 service processes (`serve`, real child processes) share one
 * database of a private PostgreSQL cluster (test/helpers/pg-server.ts) and harvest the same workload
 * from the mock COUNTER server (mock/): N cs51 providers, each with its own endpoint (`latencyMs` per
 * request), TR, PR, DR and IR for 12 months (TR one month per request: 15 requests per provider), as
 * bench/harvest.ts does. Every process starts as `npm start` starts the service (compiled, with its Node
 * flags: bench/service-process.ts) and runs with the default settings except request concurrency (per
 * process, default 16) and endpoint spacing (0 ms).
 *
 *   node --import tsx bench/scaling.ts [--providers 100] [--latency 50] [--processes 1,2,4] \
 *     [--rounds 3] [--concurrency 16] [--timeout <s per harvest>] [--cpu-prof <dir>]
 *
 * Per configuration and round, on a fresh database: the processes are started (the first alone, it
 * migrates), the providers created through the first, the CPU counters read, one tenant harvest
 * started (`GET /erm-usage-harvester/start`), the database polled until every job has finished, the
 * CPU counters read again. Reported, as medians over the rounds (configurations alternate their order
 * from round to round):
 *
 * - wall: start of the harvest → the last job's `finishedAt`; the lower bound of the politeness
 *   settings, max(R·L, ⌈N·R/(C·P)⌉·L) for P processes (see bench/harvest.ts);
 * - stored months, verified: exactly one record per provider, report and month, none failed;
 * - service CPU: user + system time of the service processes (/proc/<pid>/stat), summed;
 * - database CPU: every process of the private cluster: the postmaster's own time, the time of its
 *   live children (backends, checkpointer, WAL writer, autovacuum...) and, through the postmaster's
 *   cutime/cstime, that of the children that ended (backends of closed connections);
 * - total CPU per stored month, and its ratio to that of one process (goal for 2: ≤ 1.1×);
 * - the CPU the processes and the cluster use idle (queue polls, heartbeats, scheduler ticks), measured
 *   for --idle-s seconds before the harvest, in ms per second, and the total CPU per month without that
 *   idle rate times the wall time (with its ratio): what is left is the cost of the harvest and of the
 *   processes' coordination, apart from the cost of merely running more processes for that long;
 * - the largest number of requests in flight at one endpoint (must be 1) and overall, and the peak
 *   RSS (VmHWM) of the largest service process.
 *
 * Figures: docs/benchmarks.md, section 0.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { startMockCounterServer, type MockCounterServer } from '../mock/counter-server.ts';
import {
  killAllChildren,
  providerRecord,
  request,
  startChild,
  type ChildService,
} from '../test/helpers/child-service.ts';
import { startPgServer, type PgServer } from '../test/helpers/pg-server.ts';
import { clusterCpuMs, peakRssMB, procStat, serviceCpuMs } from './proc-cpu.ts';
import { benchResult, loadAverage, median } from './result.ts';
import { serviceStartArgs } from './service-process.ts';

const REPORTS = ['TR', 'PR', 'DR', 'IR'];
const BEGIN = '2022-01';
const END = '2022-12';
const MONTHS = 12;
const REQUESTS_PER_PROVIDER = MONTHS + (REPORTS.length - 1);
const SCHEMA = 'diku_mod_erm_usage_harvester';

interface RunResult {
  processes: number;
  round: number;
  ok: boolean;
  error?: string;
  wallMs: number;
  boundMs: number;
  months: number;
  distinctMonths: number;
  failedMonths: number;
  failedJobs: number;
  verified: boolean;
  serviceCpuMs: number;
  /** Of the service CPU, that of the processes' threads other than the main thread. */
  serviceOtherThreadsCpuMs: number;
  dbCpuMs: number;
  totalCpuPerMonthMs: number;
  /** CPU of the processes and the cluster while idle before the harvest, ms per second. */
  idleCpuMsPerS: number;
  /** Total CPU per month without what the processes would have used idle during the wall time. */
  netCpuPerMonthMs: number;
  maxInFlightPerEndpoint: number;
  maxInFlightTotal: number;
  servicePeakRssMB: number;
}

interface Options {
  providers: number;
  latency: number;
  concurrency: number;
  timeoutMs: number;
  idleMs: number;
  /** Providers harvested before the measured harvest, unmeasured (0: none). */
  warmUp: number;
  /** A directory for a CPU profile of every service process (`--cpu-prof`), written when it stops. */
  cpuProfDir?: string;
}

export function lowerBoundMs(providers: number, latencyMs: number, perProcess: number, processes: number) {
  const r = REQUESTS_PER_PROVIDER;
  return Math.max(r * latencyMs, Math.ceil((providers * r) / (perProcess * processes)) * latencyMs);
}

/**
 * CPU ms of the main thread of a process (/proc/<pid>/task/<pid>/stat): the rest of its time is that of
 * its other threads (V8's compiler and garbage collector helpers, libuv's pool).
 */
function mainThreadCpuMs(pid: number): number {
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
  } catch {
    return NaN;
  }
}
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `fn` over `items` with at most `limit` at a time. */
async function eachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

async function runOnce(
  pgServer: PgServer,
  mock: MockCounterServer,
  processes: number,
  round: number,
  opts: Options,
): Promise<RunResult> {
  const databaseUrl = await pgServer.createDatabase(`scaling_${processes}_${round}`);
  const env: Record<string, string> = {
    DATABASE_URL: databaseUrl,
    REQUEST_CONCURRENCY: String(opts.concurrency),
    ENDPOINT_MIN_INTERVAL_MS: '0',
    // The service's defaults, where the fast test environment of child-service.ts sets others.
    QUEUE_POLL_MS: '1000',
    QUEUE_IDLE_POLL_MS: '15000',
    SCHEDULER_TICK_MS: '1000',
    HEARTBEAT_INTERVAL_MS: '30000',
    LOG_LEVEL: 'warn',
  };
  const procs: ChildService[] = [];
  // The processes start as `npm start` starts the service: compiled, with its Node flags.
  const start = serviceStartArgs();
  const nodeArgs = [
    ...(opts.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`] : []),
    ...(start[start.length - 1] === 'serve' ? start.slice(0, -1) : start),
  ];
  const db = new pg.Client({ connectionString: databaseUrl });
  const tag = `s${processes}r${round}`;
  const key = (i: number) => `ok-${tag}-${i}`;
  try {
    // The first process migrates the database and enables the tenant; the others join it.
    procs.push(await startChild(`${tag}-1`, env, 300_000, nodeArgs));
    procs.push(
      ...(await Promise.all(
        Array.from({ length: processes - 1 }, (_, i) =>
          startChild(`${tag}-${i + 2}`, env, 300_000, nodeArgs),
        ),
      )),
    );
    await db.connect();
    const pidRow = await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const postmaster = procStat(pidRow.rows[0].pid)?.ppid;
    if (!postmaster) throw new Error('postmaster not found in /proc');

    const createProviders = async (count: number, keyOf: (i: number) => string, label: string) => {
      const created = Array.from({ length: count }, (_, i) => ({ id: randomUUID(), i: i + 1 }));
      await eachLimited(created, 8, async ({ id, i }) => {
        const res = await request(
          procs[0].url,
          'POST',
          '/usage-data-providers',
          providerRecord(id, {
            label: `Scaling ${tag} ${label} ${i}`,
            serviceUrl: `${mock.url}/${keyOf(i)}`,
            reports: REPORTS,
            start: BEGIN,
            end: END,
          }),
        );
        if (res.status !== 201) throw new Error(`provider: ${res.status} ${res.text}`);
      });
      return created;
    };
    /** Starts a tenant harvest and waits until the database holds `jobs` finished one-shot jobs. */
    const harvest = async (jobs: number, since: number): Promise<string | undefined> => {
      const started = await request(procs[0].url, 'GET', '/erm-usage-harvester/start');
      if (started.status !== 200) throw new Error(`start: ${started.status} ${started.text}`);
      for (;;) {
        await sleep(250);
        const res = await db.query<{ total: number; unfinished: number }>(
          `SELECT count(*)::int AS total, count(*) FILTER (WHERE NOT (jsonb ? 'finishedAt'))::int AS unfinished
           FROM ${SCHEMA}.job_info WHERE jsonb->>'type' <> 'periodic'`,
        );
        const { total, unfinished } = res.rows[0];
        if (total >= jobs && unfinished === 0) return undefined;
        if (Date.now() - since > opts.timeoutMs)
          return `timeout after ${opts.timeoutMs} ms: ${unfinished}/${total} jobs unfinished`;
      }
    };

    // Warm-up (--warm-up W): W other providers harvested first, not measured, so that every process has
    // run the harvest's code once (its compilation) before the measured harvest.
    const warm = opts.warmUp;
    if (warm > 0) {
      await createProviders(warm, (i) => `ok-w${tag}-${i}`, 'warm-up provider');
      const failed = await harvest(warm + 1, Date.now());
      if (failed) throw new Error(`warm-up: ${failed}`);
    }
    const warmMonths = warm * REPORTS.length * MONTHS;
    const ids = await createProviders(opts.providers, key, 'provider');

    // What the processes and the cluster use doing nothing (queue polls, heartbeats, the scheduler).
    const allCpu = () => procs.reduce((n, p) => n + serviceCpuMs(p.child.pid!), 0) + clusterCpuMs(postmaster);
    const idle0 = allCpu();
    const idleT0 = Date.now();
    await sleep(opts.idleMs);
    const idleCpuMsPerS = opts.idleMs > 0 ? ((allCpu() - idle0) * 1000) / (Date.now() - idleT0) : NaN;

    const serviceCpu0 = procs.map((p) => serviceCpuMs(p.child.pid!));
    const mainCpu0 = procs.map((p) => mainThreadCpuMs(p.child.pid!));
    const dbCpu0 = clusterCpuMs(postmaster);
    const t0 = Date.now();
    // The tenant job also starts a job for every warm-up provider (it finds nothing to harvest).
    const error = await harvest(warm > 0 ? 2 * warm + opts.providers + 2 : opts.providers + 1, t0);
    const ok = error === undefined;
    const serviceCpu = procs.reduce((n, p, i) => n + serviceCpuMs(p.child.pid!) - serviceCpu0[i], 0);
    const mainCpu = procs.reduce((n, p, i) => n + mainThreadCpuMs(p.child.pid!) - mainCpu0[i], 0);
    const dbCpu = clusterCpuMs(postmaster) - dbCpu0;
    const servicePeak = Math.max(...procs.map((p) => peakRssMB(p.child.pid!)));

    const last = await db.query<{ last: string | null; failed: number }>(
      `SELECT max(jsonb->>'finishedAt') AS last,
              count(*) FILTER (WHERE jsonb->>'result' IS DISTINCT FROM 'success')::int AS failed
       FROM ${SCHEMA}.job_info WHERE jsonb->>'type' <> 'periodic'`,
    );
    const recs = await db.query<{ n: number; distinct: number; failed: number }>(
      `SELECT count(*)::int AS n,
              count(DISTINCT (jsonb->>'providerId', lower(jsonb->>'reportName'), jsonb->>'yearMonth'))::int AS distinct,
              count(*) FILTER (WHERE jsonb ? 'failedAttempts' OR jsonb ? 'failedReason')::int AS failed
       FROM ${SCHEMA}.counter_reports`,
    );
    const expected = opts.providers * REPORTS.length * MONTHS + warmMonths;
    const { n, distinct, failed } = recs.rows[0];
    const months = n - warmMonths;
    let maxPerEndpoint = 0;
    for (const { i } of ids) maxPerEndpoint = Math.max(maxPerEndpoint, mock.maxInFlight(key(i)));
    const lastFinished = last.rows[0].last ? Date.parse(last.rows[0].last) : NaN;
    return {
      processes,
      round,
      ok,
      error,
      wallMs: lastFinished - t0,
      boundMs: lowerBoundMs(opts.providers, opts.latency, opts.concurrency, processes),
      months,
      distinctMonths: distinct,
      failedMonths: failed,
      failedJobs: last.rows[0].failed,
      verified: ok && n === expected && distinct === expected && failed === 0 && last.rows[0].failed === 0,
      serviceCpuMs: serviceCpu,
      serviceOtherThreadsCpuMs: serviceCpu - mainCpu,
      dbCpuMs: dbCpu,
      totalCpuPerMonthMs: (serviceCpu + dbCpu) / Math.max(1, months),
      idleCpuMsPerS,
      netCpuPerMonthMs:
        (serviceCpu + dbCpu - (idleCpuMsPerS * (lastFinished - t0)) / 1000) / Math.max(1, months),
      maxInFlightPerEndpoint: maxPerEndpoint,
      maxInFlightTotal: mock.maxInFlight(`ok-${tag}`),
      servicePeakRssMB: servicePeak,
    };
  } finally {
    await db.end().catch(() => undefined);
    await Promise.all(procs.map((p) => p.stop()));
    // The next configuration starts on a quiet cluster.
    const admin = new pg.Client({ connectionString: pgServer.url });
    await admin.connect();
    try {
      await admin.query(`DROP DATABASE IF EXISTS "scaling_${processes}_${round}" WITH (FORCE)`);
    } finally {
      await admin.end();
    }
  }
}

const s = (ms: number, digits = 2) => (Number.isFinite(ms) ? (ms / 1000).toFixed(digits) : '-');
const la = () => loadAverage().join(' ');

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      providers: { type: 'string', default: '100' },
      latency: { type: 'string', default: '50' },
      processes: { type: 'string', default: '1,2,4' },
      rounds: { type: 'string', default: '3' },
      concurrency: { type: 'string', default: '16' },
      timeout: { type: 'string', default: '600' },
      'idle-s': { type: 'string', default: '10' },
      'cpu-prof': { type: 'string' },
      'warm-up': { type: 'string', default: '0' },
    },
  });
  const opts: Options = {
    providers: Number(values.providers),
    latency: Number(values.latency),
    concurrency: Number(values.concurrency),
    timeoutMs: Number(values.timeout) * 1000,
    idleMs: Number(values['idle-s']) * 1000,
    cpuProfDir: values['cpu-prof'],
    warmUp: Number(values['warm-up']),
  };
  const counts = values.processes.split(',').map(Number);
  const rounds = Number(values.rounds);
  const loadAverageStart = loadAverage();
  console.log(
    `scaling on PostgreSQL: ${counts.join('/')} processes, ${opts.providers} providers × ${REPORTS.join('/')} × ` +
      `${MONTHS} months (${opts.providers * REQUESTS_PER_PROVIDER} requests, ` +
      `${opts.providers * REPORTS.length * MONTHS} months), mock latency ${opts.latency} ms, request concurrency ` +
      `${opts.concurrency} per process, ${rounds} rounds; load average ${la()} (${cpus().length} CPUs)`,
  );
  const pgServer = await startPgServer();
  const mock = await startMockCounterServer({ latencyMs: opts.latency });
  // As bench/harvest.ts --mock-keepalive: Node's 5 s default makes the mock close idle sockets that a
  // CPU-starved service is about to reuse ("other side closed"), a failure of the mock, not the service.
  const server = (mock as unknown as { server?: Server }).server;
  if (server) server.keepAliveTimeout = 65_000;
  const results: RunResult[] = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      const order = round % 2 === 1 ? counts : [...counts].reverse();
      for (const processes of order) {
        const r = await runOnce(pgServer, mock, processes, round, opts);
        results.push(r);
        console.log(
          `round ${round}, ${processes} process(es): ${r.verified ? 'OK' : 'NOT VERIFIED'} wall ${s(r.wallMs)} s ` +
            `(bound ${s(r.boundMs)} s), months ${r.months} (distinct ${r.distinctMonths}, failed ${r.failedMonths}), ` +
            `service CPU ${s(r.serviceCpuMs)} s (other threads ${s(r.serviceOtherThreadsCpuMs)} s), database CPU ${s(r.dbCpuMs)} s, ` +
            `total ${r.totalCpuPerMonthMs.toFixed(2)} ms/month, max in flight/endpoint ${r.maxInFlightPerEndpoint}, ` +
            `total ${r.maxInFlightTotal}, service peak RSS ${r.servicePeakRssMB.toFixed(0)} MB; load ${la()}` +
            (r.error ? `; ${r.error}` : ''),
        );
      }
    }
  } finally {
    await killAllChildren();
    await mock.close();
    await pgServer.stop();
  }

  const summary = counts.map((processes) => {
    const g = results.filter((r) => r.processes === processes);
    const m = (f: (r: RunResult) => number) => median(g.map(f));
    return {
      processes,
      runs: g.length,
      verifiedRuns: g.filter((r) => r.verified).length,
      wallMs: m((r) => r.wallMs),
      boundMs: g[0]?.boundMs ?? NaN,
      months: m((r) => r.months),
      serviceCpuMs: m((r) => r.serviceCpuMs),
      serviceOtherThreadsCpuMs: m((r) => r.serviceOtherThreadsCpuMs),
      dbCpuMs: m((r) => r.dbCpuMs),
      serviceCpuPerMonthMs: m((r) => r.serviceCpuMs / Math.max(1, r.months)),
      dbCpuPerMonthMs: m((r) => r.dbCpuMs / Math.max(1, r.months)),
      totalCpuPerMonthMs: m((r) => r.totalCpuPerMonthMs),
      idleCpuMsPerS: m((r) => r.idleCpuMsPerS),
      netCpuPerMonthMs: m((r) => r.netCpuPerMonthMs),
      maxInFlightPerEndpoint: Math.max(...g.map((r) => r.maxInFlightPerEndpoint)),
      maxInFlightTotal: Math.max(...g.map((r) => r.maxInFlightTotal)),
      servicePeakRssMB: Math.max(...g.map((r) => r.servicePeakRssMB)),
    };
  });
  const one = summary.find((r) => r.processes === 1);
  const ratioTo1 = (p: number, key: 'totalCpuPerMonthMs' | 'netCpuPerMonthMs' = 'totalCpuPerMonthMs') => {
    const row = summary.find((r) => r.processes === p);
    return one && row ? row[key] / one[key] : NaN;
  };
  console.log(
    '\n| processes | runs verified | wall s | bound s | stored months | service CPU s | database CPU s | service ms/month | database ms/month | total CPU ms/month | × 1 process | idle CPU ms/s | net of idle ms/month | × 1 process | max in flight/endpoint | max in flight | service peak RSS MB |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of summary)
    console.log(
      `| ${r.processes} | ${r.verifiedRuns}/${r.runs} | ${s(r.wallMs)} | ${s(r.boundMs)} | ${r.months} | ` +
        `${s(r.serviceCpuMs)} | ${s(r.dbCpuMs)} | ${r.serviceCpuPerMonthMs.toFixed(2)} | ${r.dbCpuPerMonthMs.toFixed(2)} | ` +
        `${r.totalCpuPerMonthMs.toFixed(2)} | ${ratioTo1(r.processes).toFixed(2)} | ${r.idleCpuMsPerS.toFixed(1)} | ` +
        `${r.netCpuPerMonthMs.toFixed(2)} | ${ratioTo1(r.processes, 'netCpuPerMonthMs').toFixed(2)} | ${r.maxInFlightPerEndpoint} | ` +
        `${r.maxInFlightTotal} | ${r.servicePeakRssMB.toFixed(0)} |`,
    );
  console.log(
    `(medians of ${rounds} rounds; load average at start ${loadAverageStart.join(' ')}, at end ${la()})`,
  );
  benchResult('scaling', {
    providers: opts.providers,
    latencyMs: opts.latency,
    concurrency: opts.concurrency,
    rounds,
    expectedMonths: opts.providers * REPORTS.length * MONTHS,
    configurations: summary,
    ratio2to1: ratioTo1(2),
    ratio4to1: ratioTo1(4),
    netRatio2to1: ratioTo1(2, 'netCpuPerMonthMs'),
    netRatio4to1: ratioTo1(4, 'netCpuPerMonthMs'),
    loadAverageStart,
  });
}

await main();
