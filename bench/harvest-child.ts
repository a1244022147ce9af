/**
 * One run of the harvest benchmark (bench/harvest.ts), in its own process so that process.cpuUsage()
 * counts the service only (the mock COUNTER server runs in the parent): starts the service in-process
 * with the default configuration except what the run sets, creates N cs51 providers each with its own
 * mock endpoint, starts one tenant harvest and waits until every job has finished. Prints one JSON line
 * (a ChildResult) on stdout.
 *
 *   node --import tsx bench/harvest-child.ts '<ChildParams as JSON>'
 *   (bench/harvest.ts runs it compiled: node bench/out/compiled/bench/harvest-child.js, see
 *   bench/service-process.ts)
 */
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { loadConfig, loadHarvestConfig, type Config } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { startService } from '../src/server.ts';
import { enableTenant } from '../src/tenant-lifecycle.ts';
import { addProvider } from '../test/helpers/harvest.ts';
import { TEST_SECRET_KEY } from '../test/helpers/service.ts';

/**
 * How often the bench looks at the jobs and work items (two statements in the service's process and
 * database, counted in its CPU time): every 20 ms they were a tenth of all statements of a 200-provider
 * harvest. The wall time comes from the jobs' finishedAt, not from this; `plannedMs` and `itemsDoneMs`
 * are this coarse.
 */
const POLL_MS = 100;

export interface ChildParams {
  mockUrl: string;
  providers: number;
  reports: string[];
  begin: string;
  end: string;
  requestConcurrency: number;
  endpointMinIntervalMs: number;
  /** config.queuePollMs; undefined = the default. */
  queuePollMs?: number;
  databaseUrl?: string;
  /** PGlite: the data directory (a file-backed database, as `npm start` runs); undefined = in memory. */
  dataDir?: string;
  timeoutMs: number;
  /** PGlite in a worker thread (config.pgliteThread); the service's default is true. */
  pgliteThread?: boolean;
}

export interface ChildResult {
  ok: boolean;
  error?: string;
  /** Start of the tenant job → the last job's finishedAt, ms. */
  wallMs: number;
  /** Start of the tenant job → the moment no work item was left (seen by polling every POLL_MS), ms. */
  itemsDoneMs: number;
  /** Start → every provider job planned and handed to its work items (polling), ms. */
  plannedMs: number;
  /** Epoch ms of the start of the tenant job (to line the mock's request times up with it). */
  t0Epoch: number;
  cpuUserMs: number;
  cpuSystemMs: number;
  /** Stored month records, and those of them that record a failure. */
  records: number;
  failedRecords: number;
  jobs: number;
  failedJobs: number;
  /** Lines and bytes the service logged (level info, written nowhere). */
  logLines: number;
  logBytes: number;
  /** Event-loop utilisation between start and end (0..1). */
  elu: number;
  /** Peak resident set size of the service process over the whole run (embedded database included), MB. */
  peakRssMb: number;
  /** RSS when the providers are added, before the harvest starts, MB. */
  startRssMb: number;
  /** Largest V8 heap in use and largest memory outside it (buffers, WASM), sampled every 250 ms, MB. */
  peakHeapMb: number;
  peakExternalMb: number;
  config: {
    requestConcurrency: number;
    endpointMaxInFlight: number;
    endpointMinIntervalMs: number;
    providerRequestConcurrency: number;
    providerJobConcurrency: number;
    queuePollMs: number;
    heartbeatIntervalMs: number;
    staleHeartbeatMinutes: number;
    backend: string;
  };
}

const TENANT = 'diku';
const SCHEMA = `"${TENANT}_mod_erm_usage_harvester"`;

/**
 * BENCH_SQL_PROFILE=1 on PGlite: time spent inside the embedded database per statement, measured
 * around PGlite's synchronous protocol call (the statement text is read from the Parse or Query message,
 * or from the Parse of the named statement a Bind names); calls are counted per Bind or Query.
 * Returns a function that renders the table.
 */
function profileSql(db: unknown): (() => string) | undefined {
  // Only a database in this thread (--pglite-same-thread) can be watched.
  const pg = (db as { session?: { pg?: Record<string, unknown> } }).session?.pg;
  const raw = pg?.execProtocolRawSync;
  if (!pg || typeof raw !== 'function') return undefined;
  const stats = new Map<string, { ms: number; calls: number }>();
  let current = '?';
  const decoder = new TextDecoder();
  const cstring = (buf: Uint8Array, at: number): [string, number] => {
    const end = buf.indexOf(0, at);
    return [decoder.decode(buf.subarray(at, end)), end + 1];
  };
  // Named statements (src/store/pglite.ts prepares the repeated ones): a Bind names its statement.
  const named = new Map<string, string>();
  pg.execProtocolRawSync = function (this: unknown, message: Uint8Array) {
    if (message[0] === 0x50) {
      const [name, at] = cstring(message, 5);
      current = cstring(message, at)[0];
      if (name !== '') named.set(name, current);
    } else if (message[0] === 0x51) current = cstring(message, 5)[0];
    else if (message[0] === 0x42) {
      const [, at] = cstring(message, 5);
      const name = cstring(message, at)[0];
      current = named.get(name) ?? current;
    }
    const t = performance.now();
    try {
      return (raw as (m: Uint8Array) => unknown).call(this, message);
    } finally {
      const s = stats.get(current) ?? { ms: 0, calls: 0 };
      s.ms += performance.now() - t;
      if (message[0] === 0x42 || message[0] === 0x51) s.calls++;
      stats.set(current, s);
    }
  };
  return () => {
    const rows = [...stats.entries()].sort((a, b) => b[1].ms - a[1].ms);
    const total = rows.reduce((n, [, s]) => n + s.ms, 0);
    const lines = rows
      .slice(0, 20)
      .map(
        ([sql, s]) =>
          `${s.ms.toFixed(0).padStart(8)} ms ${String(s.calls).padStart(6)} × ${sql.replace(/\s+/g, ' ').slice(0, 150)}`,
      );
    return `SQL time inside PGlite: ${total.toFixed(0)} ms\n${lines.join('\n')}\n`;
  };
}

/**
 * BENCH_SQL_PROFILE=1 on PostgreSQL: the statements the service process sends (every `pg` client query,
 * the bench's own polling included), counted per text. Returns a function that renders the table.
 */
function countPgStatements(): () => string {
  const counts = new Map<string, number>();
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  proto.query = function (this: unknown, ...args: unknown[]) {
    const first = args[0];
    const text = typeof first === 'string' ? first : ((first as { text?: string } | null)?.text ?? '?');
    const key = text.replace(/\s+/g, ' ').slice(0, 150);
    counts.set(key, (counts.get(key) ?? 0) + 1);
    return original.apply(this, args);
  };
  return () => {
    const rows = [...counts.entries()].sort((a, b) => b[1] - a[1]);
    const total = rows.reduce((n, [, c]) => n + c, 0);
    const lines = rows.slice(0, 25).map(([sql, c]) => `${String(c).padStart(8)} × ${sql}`);
    return `statements sent to PostgreSQL: ${total}\n${lines.join('\n')}\n`;
  };
}

async function main(): Promise<void> {
  const p = JSON.parse(process.argv[2] ?? '{}') as ChildParams;
  let logLines = 0;
  let logBytes = 0;
  const logger = createLogger({
    level: 'info',
    write: (line) => {
      logLines++;
      logBytes += line.length;
    },
  });
  const config: Config = loadConfig(
    {},
    {
      host: '127.0.0.1',
      port: 0,
      memory: !p.databaseUrl && !p.dataDir,
      ...(p.dataDir ? { dataDir: p.dataDir } : {}),
      ...(p.pgliteThread !== undefined ? { pgliteThread: p.pgliteThread } : {}),
      // A PostgreSQL server needs the credential key set (shared by every process); the tests' fixed key.
      ...(p.databaseUrl ? { databaseUrl: p.databaseUrl, secretKey: TEST_SECRET_KEY } : {}),
      defaultTenant: '',
      cleanupIntervalMinutes: 0,
      logLevel: 'info',
      ...(p.queuePollMs !== undefined ? { queuePollMs: p.queuePollMs } : {}),
      harvest: {
        ...loadHarvestConfig({}),
        requestConcurrency: p.requestConcurrency,
        endpointMinIntervalMs: p.endpointMinIntervalMs,
      },
    },
  );
  const svc = await startService(config, { logger, listen: false });
  const db = svc.ctx.db;
  try {
    await enableTenant(svc.ctx, TENANT);
    for (let n = 1; n <= p.providers; n++)
      await addProvider(svc, {
        label: `Bench provider ${n}`,
        serviceUrl: `${p.mockUrl}/ok-${n}`,
        release: '5.1',
        reports: p.reports,
        start: p.begin,
        end: p.end,
      });

    const sqlProfile = !process.env.BENCH_SQL_PROFILE
      ? undefined
      : db.kind === 'postgres'
        ? countPgStatements()
        : profileSql(db);
    const startRss = process.memoryUsage().rss;
    let peakHeap = 0;
    let peakExternal = 0;
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      peakHeap = Math.max(peakHeap, m.heapUsed);
      peakExternal = Math.max(peakExternal, m.rss - m.heapTotal);
    }, 250);
    const elu0 = performance.eventLoopUtilization();
    const cpu0 = process.cpuUsage();
    const t0Epoch = Date.now();
    const t0 = performance.now();
    await svc.jobs.startTenantJob(TENANT);

    let plannedMs = NaN;
    let itemsDoneMs = NaN;
    let ok = false;
    let error: string | undefined;
    const deadline = t0 + p.timeoutMs;
    for (;;) {
      await new Promise((r) => setTimeout(r, POLL_MS));
      const jobs = await db.query<{ total: number; unfinished: number }>(
        `SELECT count(*)::int AS total, count(*) FILTER (WHERE NOT (jsonb ? 'finishedAt'))::int AS unfinished
         FROM ${SCHEMA}.job_info WHERE jsonb->>'type' <> 'periodic'`,
      );
      const q = await db.query<{ pending: number; items: number }>(
        `SELECT (SELECT count(*)::int FROM harvester.queue WHERE tenant = $1 AND state <> 'waiting') AS pending,
                (SELECT count(*)::int FROM harvester.work_items WHERE tenant = $1) AS items`,
        [TENANT],
      );
      const { total, unfinished } = jobs.rows[0];
      const { pending, items } = q.rows[0];
      const now = performance.now();
      if (Number.isNaN(plannedMs) && total >= p.providers + 1 && pending === 0) plannedMs = now - t0;
      if (Number.isNaN(itemsDoneMs) && !Number.isNaN(plannedMs) && items === 0) itemsDoneMs = now - t0;
      if (total >= p.providers + 1 && unfinished === 0) {
        ok = true;
        break;
      }
      if (now > deadline) {
        error = `timeout after ${p.timeoutMs} ms: ${unfinished}/${total} jobs unfinished, ${items} work items left`;
        break;
      }
    }
    clearInterval(sampler);
    const cpu = process.cpuUsage(cpu0);
    const elu = performance.eventLoopUtilization(elu0);

    const last = await db.query<{ last: string | null; jobs: number; failed: number }>(
      `SELECT max(jsonb->>'finishedAt') AS last, count(*)::int AS jobs,
              count(*) FILTER (WHERE jsonb->>'result' IS DISTINCT FROM 'success')::int AS failed
       FROM ${SCHEMA}.job_info WHERE jsonb->>'type' <> 'periodic'`,
    );
    const recs = await db.query<{ n: number; failed: number }>(
      `SELECT count(*)::int AS n,
              count(*) FILTER (WHERE jsonb ? 'failedAttempts' OR jsonb ? 'failedReason')::int AS failed
       FROM ${SCHEMA}.counter_reports`,
    );
    const reasons = await db.query<{ reason: string; n: number }>(
      `SELECT left(jsonb->>'failedReason', 300) AS reason, count(*)::int AS n FROM ${SCHEMA}.counter_reports
       WHERE jsonb ? 'failedReason' GROUP BY 1 ORDER BY 2 DESC LIMIT 5`,
    );
    for (const r of reasons.rows) process.stderr.write(`failed months: ${r.n} × ${r.reason}\n`);
    const lastFinished = last.rows[0].last ? Date.parse(last.rows[0].last) : NaN;
    const h = config.harvest;
    const result: ChildResult = {
      ok,
      error,
      wallMs: lastFinished - t0Epoch,
      itemsDoneMs,
      plannedMs,
      t0Epoch,
      cpuUserMs: cpu.user / 1000,
      cpuSystemMs: cpu.system / 1000,
      records: recs.rows[0].n,
      failedRecords: recs.rows[0].failed,
      jobs: last.rows[0].jobs,
      failedJobs: last.rows[0].failed,
      logLines,
      logBytes,
      elu: elu.utilization,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
      startRssMb: startRss / 2 ** 20,
      peakHeapMb: peakHeap / 2 ** 20,
      peakExternalMb: peakExternal / 2 ** 20,
      config: {
        requestConcurrency: h.requestConcurrency,
        endpointMaxInFlight: h.endpointMaxInFlight,
        endpointMinIntervalMs: h.endpointMinIntervalMs,
        providerRequestConcurrency: h.providerRequestConcurrency,
        providerJobConcurrency: config.providerJobConcurrency,
        queuePollMs: config.queuePollMs,
        heartbeatIntervalMs: config.heartbeatIntervalMs,
        staleHeartbeatMinutes: config.staleHeartbeatMinutes,
        backend: db.kind,
      },
    };
    if (sqlProfile) process.stderr.write(sqlProfile());
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await svc.close();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
