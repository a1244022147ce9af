/**
 * Harvest benchmark: N cs51 providers, each with its own endpoint on the mock COUNTER server
 * (`ok-1` … `ok-N`, `latencyMs` per request), requesting TR, PR, DR and IR for 12 months (TR one month
 * per request, the others one request for the window: 15 requests per provider), harvested by one tenant
 * job of the real service on PGlite or PostgreSQL. Each run is a child process (bench/harvest-child.ts)
 * so that its CPU time is the service's alone; the mock runs here.
 *
 *   node --import tsx bench/harvest.ts --providers 200 --latency 50 --runs 3 \
 *     [--db pglite|postgres] [--concurrency 16] [--spacing 0] [--poll <queuePollMs>] \
 *     [--mock-keepalive 65000] [--timeout <s per run>] [--pglite-memory] [--pglite-same-thread]
 *
 * Figures and findings: docs/benchmarks.md, section 2.
 *
 * Reports per run and as medians: wall time (start of the tenant job → last job finished), the lower
 * bound the politeness settings imply and the ratio wall / bound, CPU time of the service process per
 * stored month record, and the largest number of requests in flight at one endpoint (must be 1).
 *
 * THE LOWER BOUND. With at most one request in flight per endpoint, every endpoint's R requests are
 * sequential, each takes at least the latency L, and consecutive ones are S (min interval) apart:
 * R·L + (R−1)·S. With C requests in flight per process, the N·R requests need at least ⌈N·R/C⌉·L.
 * bound = max(R·L + (R−1)·S, ⌈N·R/C⌉·L) — planning, storing and job bookkeeping are all overhead.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { parseArgs } from 'node:util';
import { startMockCounterServer } from '../mock/counter-server.ts';
import { startPgServer, type PgServer } from '../test/helpers/pg-server.ts';
import type { ChildParams, ChildResult } from './harvest-child.ts';
import { benchResult, loadAverage } from './result.ts';
import { compiledBenchScript, serviceNodeFlags } from './service-process.ts';

const REPORTS = ['TR', 'PR', 'DR', 'IR'];
const BEGIN = '2022-01';
const END = '2022-12';
const MONTHS = 12;
/** Requests per provider: TR month by month, the others one request for the window. */
const REQUESTS_PER_PROVIDER = MONTHS + (REPORTS.length - 1);

interface RunRow extends ChildResult {
  run: number;
  boundMs: number;
  ratio: number;
  cpuMs: number;
  cpuPerRecordMs: number;
  reportRequests: number;
  otherRequests: number;
  maxInFlightPerEndpoint: number;
  maxInFlightTotal: number;
  /** First request start → last response end, as the mock saw them, ms. */
  requestSpanMs: number;
  /** Last response end → last job finished, ms. */
  tailMs: number;
}

export function lowerBoundMs(
  providers: number,
  latencyMs: number,
  spacingMs: number,
  concurrency: number,
): number {
  const r = REQUESTS_PER_PROVIDER;
  const perEndpoint = r * latencyMs + (r - 1) * spacingMs;
  const perProcess = Math.ceil((providers * r) / concurrency) * latencyMs;
  return Math.max(perEndpoint, perProcess);
}

function median(values: number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/**
 * The child runs compiled, with the Node flags of `npm start`, as the service runs by default (no tsx,
 * whose module hooks take about 50 MB of their own).
 */
const CHILD_FLAGS = serviceNodeFlags();
const CHILD_SCRIPT = compiledBenchScript('harvest-child');

function runChild(params: ChildParams): Promise<ChildResult> {
  const child = spawn(
    process.execPath,
    [
      ...CHILD_FLAGS,
      // e.g. BENCH_CHILD_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' to profile the service; after
      // the start command's flags, so that one given here (--max-semi-space-size=…) is the one used
      ...(process.env.BENCH_CHILD_NODE_ARGS ?? '').split(' ').filter((a) => a !== ''),
      CHILD_SCRIPT,
      JSON.stringify(params),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => (out += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as ChildResult);
      } catch {
        reject(new Error(`run failed (exit ${code}): ${out}`));
      }
    });
  });
}

/**
 * What the mock saw of the requests: how many were in flight on average over the span from the
 * first to the last, their median time at the mock, and the median gap between an endpoint's answer
 * and its next request (the service's time per request outside the provider).
 */
function requestTimeline(requests: readonly { scenario: string; startedAt: number; finishedAt?: number }[]): {
  averageInFlight: number;
  medianDurationMs: number;
  medianGapMs: number;
} {
  const done = requests.filter((r) => r.finishedAt !== undefined);
  if (done.length === 0) return { averageInFlight: 0, medianDurationMs: 0, medianGapMs: 0 };
  const durations = done.map((r) => (r.finishedAt ?? r.startedAt) - r.startedAt);
  const span =
    Math.max(...done.map((r) => r.finishedAt ?? r.startedAt)) - Math.min(...done.map((r) => r.startedAt));
  const byEndpoint = new Map<string, typeof done>();
  for (const r of done) {
    const list = byEndpoint.get(r.scenario) ?? [];
    list.push(r);
    byEndpoint.set(r.scenario, list);
  }
  const gaps: number[] = [];
  for (const list of byEndpoint.values()) {
    list.sort((a, b) => a.startedAt - b.startedAt);
    for (let i = 1; i < list.length; i++) gaps.push(list[i].startedAt - (list[i - 1].finishedAt ?? 0));
  }
  return {
    averageInFlight: durations.reduce((a, b) => a + b, 0) / Math.max(1, span),
    medianDurationMs: median(durations),
    medianGapMs: gaps.length > 0 ? median(gaps) : 0,
  };
}

const fmt = (ms: number, digits = 0) => (Number.isFinite(ms) ? (ms / 1000).toFixed(digits + 2) : '-');

/** A new database of the server, its connection string through TCP or the Unix socket. */
async function databaseUrl(pg: PgServer, socket: boolean): Promise<string> {
  const url = await pg.createDatabase();
  return socket ? pg.socketUrl(new URL(url).pathname.slice(1)) : url;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      providers: { type: 'string', default: '200' },
      latency: { type: 'string', default: '50' },
      runs: { type: 'string', default: '3' },
      db: { type: 'string', default: 'pglite' },
      concurrency: { type: 'string', default: '16' },
      spacing: { type: 'string', default: '0' },
      poll: { type: 'string' },
      timeout: { type: 'string', default: '600' },
      'mock-keepalive': { type: 'string', default: '0' },
      // PGlite in memory instead of in a temporary data directory (the service's default is a directory)
      'pglite-memory': { type: 'boolean', default: false },
      // PostgreSQL through its Unix socket instead of TCP on the loopback address
      'pg-socket': { type: 'boolean', default: false },
      // PGlite in the service's own thread instead of a worker thread (PGLITE_THREAD=false)
      'pglite-same-thread': { type: 'boolean', default: false },
    },
  });
  const providers = Number(values.providers);
  const latency = Number(values.latency);
  const runs = Number(values.runs);
  const concurrency = Number(values.concurrency);
  const spacing = Number(values.spacing);
  const backend = values.db;
  const mockKeepAlive = Number(values['mock-keepalive']);
  if (backend !== 'pglite' && backend !== 'postgres') throw new Error('--db must be pglite or postgres');
  const loadAverageStart = loadAverage();
  console.log(
    `load average at start: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} (${cpus().length} CPUs)`,
  );
  const bound = lowerBoundMs(providers, latency, spacing, concurrency);
  const expectedRecords = providers * REPORTS.length * MONTHS;
  console.log(
    `harvest bench: ${providers} providers × ${REPORTS.join('/')} × ${MONTHS} months ` +
      `(${providers * REQUESTS_PER_PROVIDER} requests, ${expectedRecords} month records), ` +
      `mock latency ${latency} ms, ${backend}, request concurrency ${concurrency}, ` +
      `endpoint spacing ${spacing} ms, queuePollMs ${values.poll ?? 'default'}, ` +
      `mock keep-alive ${mockKeepAlive > 0 ? `${mockKeepAlive} ms` : 'default'}` +
      `${backend === 'pglite' ? (values['pglite-memory'] ? ', PGlite in memory' : ', PGlite in a data directory') : ''}` +
      `${backend === 'pglite' ? (values['pglite-same-thread'] ? " in the service's thread" : ' in a worker thread') : ''}` +
      `${backend === 'postgres' && values['pg-socket'] ? ', through the Unix socket' : ''}; ` +
      `lower bound ${(bound / 1000).toFixed(2)} s`,
  );

  let pg: PgServer | undefined;
  if (backend === 'postgres') pg = await startPgServer();
  const rows: RunRow[] = [];
  let dataDir: string | undefined;
  try {
    for (let run = 1; run <= runs; run++) {
      const mock = await startMockCounterServer({ latencyMs: latency });
      // Node's default keep-alive timeout (5 s) makes the server close idle sockets that a CPU-starved
      // client is about to reuse ("other side closed"); --mock-keepalive sets it (0 = leave the default).
      if (mockKeepAlive > 0) {
        const server = (mock as unknown as { server?: Server }).server;
        if (server) server.keepAliveTimeout = mockKeepAlive;
      }
      const mockCpuStart = process.cpuUsage();
      try {
        const result = await runChild({
          mockUrl: mock.url,
          providers,
          reports: REPORTS,
          begin: BEGIN,
          end: END,
          requestConcurrency: concurrency,
          endpointMinIntervalMs: spacing,
          queuePollMs: values.poll === undefined ? undefined : Number(values.poll),
          databaseUrl: pg ? await databaseUrl(pg, values['pg-socket']) : undefined,
          dataDir:
            pg || values['pglite-memory']
              ? undefined
              : (dataDir = mkdtempSync(join(tmpdir(), 'harvest-bench-'))),
          timeoutMs: Number(values.timeout) * 1000,
          pgliteThread: !values['pglite-same-thread'],
        });
        const mockCpu = process.cpuUsage(mockCpuStart);
        const reportReqs = mock.requests.filter((r) => r.reportId !== undefined);
        const timeline = requestTimeline(mock.requests);
        let maxPerEndpoint = 0;
        for (let n = 1; n <= providers; n++)
          maxPerEndpoint = Math.max(maxPerEndpoint, mock.maxInFlight(`ok-${n}`));
        const firstStart = Math.min(...mock.requests.map((r) => r.startedAt));
        const lastEnd = Math.max(...mock.requests.map((r) => r.finishedAt ?? r.startedAt));
        const cpuMs = result.cpuUserMs + result.cpuSystemMs;
        const row: RunRow = {
          ...result,
          run,
          boundMs: bound,
          ratio: result.wallMs / bound,
          cpuMs,
          cpuPerRecordMs: cpuMs / Math.max(1, result.records),
          reportRequests: reportReqs.length,
          otherRequests: mock.requests.length - reportReqs.length,
          maxInFlightPerEndpoint: maxPerEndpoint,
          maxInFlightTotal: mock.maxInFlight(),
          requestSpanMs: lastEnd - firstStart,
          tailMs: result.t0Epoch + result.wallMs - lastEnd,
        };
        rows.push(row);
        const verified =
          row.ok &&
          row.records === expectedRecords &&
          row.failedRecords === 0 &&
          row.failedJobs === 0 &&
          row.jobs === providers + 1;
        console.log(
          `run ${run}: ${verified ? 'OK' : 'NOT VERIFIED'} wall ${fmt(row.wallMs)} s ` +
            `(ratio ${row.ratio.toFixed(2)}), planned ${fmt(row.plannedMs)} s, items done ${fmt(row.itemsDoneMs)} s, ` +
            `requests ${fmt(row.requestSpanMs)} s, tail ${fmt(row.tailMs)} s, ` +
            `cpu ${fmt(cpuMs)} s (${row.cpuPerRecordMs.toFixed(2)} ms/record), elu ${row.elu.toFixed(2)}, ` +
            `RSS ${row.startRssMb.toFixed(0)} MB at start, peak ${row.peakRssMb.toFixed(0)} MB (heap ${row.peakHeapMb.toFixed(0)}, rest ${row.peakExternalMb.toFixed(0)}), ` +
            `records ${row.records} (failed ${row.failedRecords}), jobs ${row.jobs} (failed ${row.failedJobs}), ` +
            `report requests ${row.reportRequests} (+${row.otherRequests} other), ` +
            `max in flight/endpoint ${row.maxInFlightPerEndpoint}, total ${row.maxInFlightTotal}` +
            (row.error ? `, error: ${row.error}` : ''),
        );
        console.log(
          `  requests: ${timeline.averageInFlight.toFixed(1)} in flight on average over their span, ` +
            `median ${timeline.medianDurationMs.toFixed(0)} ms at the mock (latency included), ` +
            `median gap ${timeline.medianGapMs.toFixed(0)} ms between an endpoint's answer and its next request; ` +
            `the mock's process used ${((mockCpu.user + mockCpu.system) / 1000).toFixed(0)} ms CPU`,
        );
      } finally {
        await mock.close();
        if (dataDir) rmSync(dataDir, { recursive: true, force: true });
        dataDir = undefined;
      }
    }
  } finally {
    await pg?.stop();
  }

  const c = rows[0]?.config;
  if (c)
    console.log(
      `settings: requestConcurrency ${c.requestConcurrency}, endpointMaxInFlight ${c.endpointMaxInFlight}, ` +
        `endpointMinIntervalMs ${c.endpointMinIntervalMs}, providerRequestConcurrency ${c.providerRequestConcurrency}, ` +
        `providerJobConcurrency ${c.providerJobConcurrency}, queuePollMs ${c.queuePollMs}, ` +
        `heartbeatIntervalMs ${c.heartbeatIntervalMs}, staleHeartbeatMinutes ${c.staleHeartbeatMinutes}, backend ${c.backend}`,
    );
  const m = (f: (r: RunRow) => number) => median(rows.map(f));
  console.log(
    '\n| backend | spacing ms | concurrency | runs | wall s | bound s | wall/bound | planned s | items done s | tail s | CPU s | CPU ms/record | peak RSS MB | max in flight/endpoint | max in flight |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  console.log(
    `| ${backend} | ${spacing} | ${concurrency} | ${rows.length} | ${fmt(m((r) => r.wallMs))} | ${fmt(bound)} | ` +
      `${m((r) => r.ratio).toFixed(2)} | ${fmt(m((r) => r.plannedMs))} | ${fmt(m((r) => r.itemsDoneMs))} | ` +
      `${fmt(m((r) => r.tailMs))} | ${fmt(m((r) => r.cpuMs))} | ${m((r) => r.cpuPerRecordMs).toFixed(2)} | ` +
      `${Math.max(...rows.map((r) => r.peakRssMb)).toFixed(0)} | ` +
      `${Math.max(...rows.map((r) => r.maxInFlightPerEndpoint))} | ${Math.max(...rows.map((r) => r.maxInFlightTotal))} |`,
  );
  console.log(
    '(medians of the runs; peak RSS and "max in flight" are the largest over all runs, "max in flight/endpoint" also over all endpoints)',
  );
  benchResult('harvest', {
    backend,
    providers,
    latencyMs: latency,
    concurrency,
    spacingMs: spacing,
    runs: rows.length,
    verifiedRuns: rows.filter(
      (r) =>
        r.ok &&
        r.records === expectedRecords &&
        r.failedRecords === 0 &&
        r.failedJobs === 0 &&
        r.jobs === providers + 1,
    ).length,
    expectedRecords,
    wallMs: m((r) => r.wallMs),
    boundMs: bound,
    ratio: m((r) => r.ratio),
    cpuPerRecordMs: m((r) => r.cpuPerRecordMs),
    maxInFlightPerEndpoint: Math.max(...rows.map((r) => r.maxInFlightPerEndpoint)),
    maxInFlightTotal: Math.max(...rows.map((r) => r.maxInFlightTotal)),
    peakRssMB: Math.max(...rows.map((r) => r.peakRssMb ?? NaN)),
    loadAverageStart,
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
