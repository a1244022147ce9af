import { lastDayOf } from '../src/counter/index.ts';
/** One measured run of bench/ingest.ts, in its own process; prints one JSON line (RunResult). */
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { CQL_SUPPORT_SQL } from '../src/cql/index.ts';
import { systemClock } from '../src/clock.ts';
import type { ServiceContext } from '../src/context.ts';
import { Findings, splitItemByMonth } from '../src/counter/item-split.ts';
import type { JsonObject } from '../src/counter/json.ts';
import { LocalErmStore } from '../src/erm/local-store.ts';
import type { UsageDataProvider } from '../src/model/records.ts';
import { monthsToStore, upsertMonth } from '../src/harvest/upload.ts';
import type { Db } from '../src/store/db.ts';
import { migrateSystem, migrateTenant } from '../src/store/migrations.ts';
import { PostgresDb } from '../src/store/postgres.ts';
import { tenantSchema, tenantTable } from '../src/store/tenants.ts';
import { createEndpoint } from '../src/sushi/registry.ts';
import { loadHarvestConfig } from '../src/config.ts';
import { memoryBudgets } from '../src/memory-budget.ts';
import type { Mode, RunResult } from './ingest.ts';

const MB = 1024 * 1024;
const TENANT = 'bench';

interface Args {
  mode: Mode;
  url: string;
  sizeMB: number;
  db: string;
}

interface Measured {
  bodyBytes: number;
  months: number;
  items: number;
  storedBytes?: number;
}

function cpuSeconds(): number {
  const usage = process.resourceUsage();
  return (usage.userCPUTime + usage.systemCPUTime) / 1e6;
}

function peakRssMB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

function provider(serviceUrl: string): UsageDataProvider {
  return {
    id: '67339c41-a3a7-4d19-83e2-c808ab99c8fe',
    label: 'Bench provider',
    harvestingConfig: {
      harvestingStatus: 'active',
      harvestVia: 'sushi',
      sushiConfig: { serviceType: 'cs51', serviceUrl },
      reportRelease: '5.1',
      requestedReports: ['TR'],
    },
    sushiCredentials: { customerId: 'bench', requestorId: 'bench' },
  };
}

async function openDb(db: string): Promise<Db> {
  // PGlite is loaded only when used (its module alone adds ~25 MB to the process).
  const opened =
    db === 'pglite'
      ? await (await import('../src/store/pglite.ts')).PgliteDb.open(undefined)
      : await PostgresDb.open(db, 4);
  await migrateSystem(opened, CQL_SUPPORT_SQL);
  await migrateTenant(opened, tenantSchema(TENANT));
  return opened;
}

async function storedBytes(db: Db): Promise<number> {
  const res = await db.query<{ n: string | null }>(
    `SELECT (SELECT coalesce(sum(length(items)), 0) FROM ${tenantTable(TENANT, 'counter_report_chunks')})
          + (SELECT coalesce(sum(length(report::text)), 0) FROM ${tenantTable(TENANT, 'counter_reports')}) AS n`,
  );
  return Number(res.rows[0]?.n ?? 0);
}

/** cs51 endpoint → scanner/splitter (with or without diagnostics) → month streams → store. */
/** The clock starts after the database is opened and migrated (not part of the ingest). */
async function ours(args: Args, clock: { started: number; cpu: number }): Promise<Measured> {
  const db = await openDb(args.db);
  clock.started = performance.now();
  clock.cpu = cpuSeconds();
  const store = new LocalErmStore({ db, clock: systemClock } as ServiceContext);
  const endpoint = createEndpoint(
    provider(args.url),
    undefined,
    {
      connectTimeoutMs: 10_000,
      headersTimeoutMs: 60_000,
      idleTimeoutMs: 600_000,
      totalTimeoutMs: 3_600_000,
      maxResponseBytes: 8 * 1024 * MB,
      userAgent: 'bench',
    },
    {
      validateReports: args.mode !== 'ours-novalidate',
      // As the service binds it (harvest/binding.ts) with the default REQUEST_CONCURRENCY.
      splitterBucketBytes: memoryBudgets().splitterBucketBytes(loadHarvestConfig({}).requestConcurrency),
    },
  );
  const result = await endpoint.fetchReport({
    reportName: 'TR',
    beginDate: '2023-01-01',
    endDate,
  });
  if (result.kind !== 'data') throw new Error(`fetch failed: ${result.reason}`);
  if (process.env.BENCH_DEBUG)
    console.error(
      `split done at ${(performance.now() / 1000).toFixed(2)} s, CPU ${(cpuSeconds() - clock.cpu).toFixed(2)} s since the start, rss ${peakRssMB().toFixed(0)} MB`,
    );
  let months = 0;
  const downloadTime = new Date().toISOString().replace('Z', '+00:00');
  for await (const month of monthsToStore(result.data, undefined)) {
    const key = {
      providerId: provider(args.url).id,
      release: '5.1',
      reportName: 'TR',
      yearMonth: month.yearMonth,
    };
    await upsertMonth(store, TENANT, key, month.outcome, downloadTime, 5);
    months += 1;
  }
  const stored = await storedBytes(db);
  await db.close();
  return { bodyBytes: 0, months, items: result.data.itemCount, storedBytes: stored };
}

/** The whole body as one string, JSON.parse, the same per-month split into month arrays, no store. */
async function baseline(args: Args): Promise<Measured> {
  const res = await request(
    `${args.url}/reports/tr?customer_id=bench&begin_date=2023-01-01&end_date=${endDate}`,
  );
  const text = await res.body.text();
  const body = JSON.parse(text) as { Report_Items: unknown[] };
  const findings = new Findings();
  const byMonth = new Map<string, JsonObject[]>();
  for (const item of body.Report_Items) {
    for (const [month, filtered] of splitItemByMonth(item, findings)) {
      const list = byMonth.get(month);
      if (list) list.push(filtered);
      else byMonth.set(month, [filtered]);
    }
  }
  return { bodyBytes: Buffer.byteLength(text), months: byMonth.size, items: body.Report_Items.length };
}

/** With BENCH_DEBUG set: the process's memory every second on stderr (where RSS goes). */
function memorySampler(): void {
  const mb = (n: number): string => (n / MB).toFixed(0);
  setInterval(() => {
    const m = process.memoryUsage();
    console.error(
      `rss ${mb(m.rss)} heapTotal ${mb(m.heapTotal)} heapUsed ${mb(m.heapUsed)} external ${mb(m.external)} arrayBuffers ${mb(m.arrayBuffers)} peak ${peakRssMB().toFixed(0)}`,
    );
  }, 1000).unref();
}

/** Last day of the requested range (`--end yyyy-MM`). */
let endDate = '2023-12-31';

export async function child(): Promise<void> {
  const { values } = parseArgs({
    options: {
      child: { type: 'boolean' },
      mode: { type: 'string' },
      url: { type: 'string' },
      size: { type: 'string' },
      db: { type: 'string', default: 'pglite' },
      end: { type: 'string', default: '2023-12' },
    },
  });
  endDate = lastDayOf(String(values.end));
  const args: Args = {
    mode: values.mode as Mode,
    url: String(values.url),
    sizeMB: Number(values.size),
    db: values.db,
  };
  const clock = { started: performance.now(), cpu: cpuSeconds() };
  if (process.env.BENCH_DEBUG) memorySampler();
  const base = {
    mode: args.mode,
    store: args.mode === 'baseline' ? '-' : args.db === 'pglite' ? 'pglite' : 'postgres',
    sizeMB: args.sizeMB,
  };
  try {
    const measured = args.mode === 'baseline' ? await baseline(args) : await ours(args, clock);
    const seconds = (performance.now() - clock.started) / 1000;
    const bodyBytes = measured.bodyBytes || Number(process.env.BENCH_BODY_BYTES ?? 0);
    const out: RunResult = {
      ...base,
      ok: true,
      seconds,
      cpuSeconds: cpuSeconds() - clock.cpu,
      maxRssMB: peakRssMB(),
      ...measured,
      bodyBytes,
    };
    console.log(JSON.stringify(out));
  } catch (error) {
    const seconds = (performance.now() - clock.started) / 1000;
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const out: RunResult = {
      ...base,
      ok: false,
      seconds,
      cpuSeconds: cpuSeconds() - clock.cpu,
      maxRssMB: peakRssMB(),
      bodyBytes: 0,
      months: 0,
      items: 0,
      error: message.slice(0, 200),
    };
    console.log(JSON.stringify(out));
  }
  process.exit(0);
}
