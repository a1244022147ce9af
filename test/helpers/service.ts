/**
 * Starts the real service on a real loopback port for API tests, on PGlite (an in-memory copy of a
 * migrated template, so each service starts in well under a second) or on a private PostgreSQL server.
 */
import { after, before } from 'node:test';
import { loadConfig, loadHarvestConfig, type Config, type HarvestConfig } from '../../src/config.ts';
import type { Clock } from '../../src/clock.ts';
import { createLogger } from '../../src/log.ts';
import { startService, type RunningService, type StartOptions } from '../../src/server.ts';
import { PgliteDb } from '../../src/store/pglite.ts';
import { PostgresDb } from '../../src/store/postgres.ts';
import { migrateSystem } from '../../src/store/migrations.ts';
import { CQL_SUPPORT_SQL } from '../../src/cql/index.ts';
import { enableTenant } from '../../src/tenant-lifecycle.ts';
import type { Db } from '../../src/store/db.ts';
import { startPgServer, type PgServer } from './pg-server.ts';

export type BackendName = 'pglite' | 'postgres';

export interface TestServiceOptions {
  clock?: Clock;
  /** Config fields to override (ports, timings, mode, token, ...). */
  config?: Partial<Config>;
  /** Tenants to enable before the test starts; default ['diku']. */
  tenants?: string[];
  /** Collects every log line the service writes. */
  logLines?: string[];
  erm?: StartOptions['erm'];
  /** Reuse this database (restart tests); otherwise a fresh one. */
  db?: Db;
  /** PostgreSQL connection string to use instead of a fresh database (multi-process tests). */
  databaseUrl?: string;
  /** Replaces the engine's provider harvest (see `SwitchableHook` in jobs.ts). */
  harvestProvider?: StartOptions['harvestProvider'];
}

/** Harvest settings for tests: no delays, no spacing, short timeouts (folio-contract §8: tests set delays to 0). */
export function testHarvest(overrides: Partial<HarvestConfig> = {}): HarvestConfig {
  return {
    ...loadHarvestConfig({}),
    endpointMinIntervalMs: 0,
    deferQueuedMs: 0,
    deferBusyMs: 0,
    paceStepMs: 0,
    rateLimitedSpacingMs: 0,
    maxRetryAfterMs: 0,
    connectTimeoutMs: 5000,
    headersTimeoutMs: 20_000,
    idleTimeoutMs: 20_000,
    totalTimeoutMs: 120_000,
    ...overrides,
  };
}

/**
 * The credential key of test services (HARVESTER_SECRET_KEY): one fixed key, so that services sharing
 * a PostgreSQL database and restarted services read each other's credentials.
 */
export const TEST_SECRET_KEY = '5f1d2c3b4a59687766554433221100ffeeddccbbaa99887766554433221100aa';

/** Fast timings for tests: quick polling, no built-in cleanup timer, no default tenant. */
export function testConfig(overrides: Partial<Config> = {}): Config {
  return loadConfig(
    {},
    {
      host: '127.0.0.1',
      port: 0,
      memory: true,
      defaultTenant: '',
      queuePollMs: 50,
      schedulerTickMs: 50,
      heartbeatIntervalMs: 200,
      cleanupIntervalMinutes: 0,
      logLevel: 'info',
      harvest: testHarvest(),
      secretKey: TEST_SECRET_KEY,
      ...overrides,
    },
  );
}

let template: Promise<Blob> | undefined;

/**
 * A fresh in-memory PGlite with the system schema migrated, started from the snapshot of a per-process
 * template. The template is closed as soon as its snapshot is taken: an open PGlite would keep the test
 * file's process alive for up to 10 s after its last statement (see `PgliteDb.snapshot`).
 */
export async function freshPglite(): Promise<PgliteDb> {
  template ??= (async () => {
    const db = await PgliteDb.open(undefined);
    try {
      await migrateSystem(db, CQL_SUPPORT_SQL);
      return await db.snapshot();
    } finally {
      await db.close();
    }
  })();
  return PgliteDb.fromSnapshot(await template);
}

export interface Backend {
  name: BackendName;
  /** Starts a service on a fresh database of this backend. */
  start(opts?: TestServiceOptions): Promise<RunningService>;
  /** A fresh database of this backend, for tests that start services themselves. */
  freshDb(): Promise<{ db: Db; url?: string }>;
}

export async function startOn(
  backend: BackendName,
  pg: PgServer | undefined,
  opts: TestServiceOptions = {},
): Promise<RunningService> {
  let db = opts.db;
  let databaseUrl = opts.databaseUrl;
  if (!db && !databaseUrl) {
    if (backend === 'pglite') db = await freshPglite();
    else databaseUrl = await pg!.createDatabase();
  }
  const lines = opts.logLines;
  const logger = createLogger({
    level: opts.config?.logLevel ?? 'info',
    write: (line) => {
      lines?.push(line);
      if (process.env.TEST_LOG) process.stderr.write(line);
    },
  });
  const config = testConfig({ ...(databaseUrl ? { databaseUrl } : {}), ...opts.config });
  const svc = await startService(config, {
    clock: opts.clock,
    logger,
    db,
    erm: opts.erm,
    harvestProvider: opts.harvestProvider,
  });
  for (const t of opts.tenants ?? ['diku']) await enableTenant(svc.ctx, t);
  return svc;
}

/**
 * Declares the backends a suite runs on: PGlite always, PostgreSQL with a private server started in
 * `before` and stopped in `after` of the surrounding test file.
 */
export function backends(): Backend[] {
  let pg: PgServer | undefined;
  before(async () => {
    pg = await startPgServer();
  });
  after(async () => {
    await pg?.stop();
  });
  const make = (name: BackendName): Backend => ({
    name,
    start: (opts) => startOn(name, pg, opts),
    async freshDb() {
      if (name === 'pglite') return { db: await freshPglite() };
      const url = await pg!.createDatabase();
      const db = await PostgresDb.open(url);
      await migrateSystem(db, CQL_SUPPORT_SQL);
      return { db, url };
    },
  });
  return [make('pglite'), make('postgres')];
}

/** fetch() against a running service with the tenant header set (override or drop it with headers). */
export async function call(
  svc: RunningService,
  method: string,
  path: string,
  opts: { tenant?: string | null; body?: unknown; headers?: Record<string, string>; rawBody?: string } = {},
): Promise<{ status: number; headers: Headers; text: string; json: any }> {
  const headers: Record<string, string> = { ...opts.headers };
  const tenant = opts.tenant === undefined ? 'diku' : opts.tenant;
  if (tenant !== null) headers['x-okapi-tenant'] = tenant;
  let body: string | undefined = opts.rawBody;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(svc.url + path, { method, headers, body });
  const text = await res.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}
