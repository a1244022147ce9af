/**
 * Composition root: configuration → database → tenants → store → jobs → HTTP API.
 * `startService` is what `erm-usage-harvester serve` (and `npm start`) runs, and what tests start on a
 * real port.
 */
import { getHeapStatistics } from 'node:v8';
import type { Clock } from './clock.ts';
import { systemClock } from './clock.ts';
import type { Config } from './config.ts';
import type { ServiceContext } from './context.ts';
import { createLogger, type Logger } from './log.ts';
import { Metrics } from './metrics.ts';
import { memoryBound, setMemoryBound } from './memory-budget.ts';
import { gaugeReader } from './live-gauges.ts';
import { buildApp, type App } from './api/app.ts';
import { healthRoutes } from './api/health.ts';
import { uiRoutes } from './api/ui.ts';
import { tenantRoutes } from './api/tenant.ts';
import { enableTenant } from './tenant-lifecycle.ts';
import { credentialRoutes } from './api/credentials-routes.ts';
import { ermRoutes } from './api/erm-routes.ts';
import { exportRoutes } from './api/export-routes.ts';
import { uploadRoutes } from './api/upload-routes.ts';
import { usageRoutes } from './api/usage-routes.ts';
import { registryRoutes } from './api/registry-routes.ts';
import { memberRoutes } from './api/members-routes.ts';
import { harvesterRoutes } from './api/harvester-routes.ts';
import { encryptPlainCredentials, loadServiceKeyring } from './erm/credential-store.ts';
import { LocalErmStore } from './erm/local-store.ts';
import type { ErmStore } from './erm/port.ts';
import { OkapiErmStore } from './erm/okapi-store.ts';
import { JobService } from './jobs/service.ts';
import type { HarvestProvider } from './jobs/provider-hook.ts';
import { HarvestEngine } from './harvest/engine.ts';
import type { Db } from './store/db.ts';
import { openDatabase } from './store/open.ts';
import { migrateSystem } from './store/migrations.ts';
import { CQL_SUPPORT_SQL } from './cql/index.ts';
import { TenantRegistry } from './store/tenants.ts';

export interface StartOptions {
  clock?: Clock;
  logger?: Logger;
  /** Listen on the configured port (default true). */
  listen?: boolean;
  /** Replaces the ErmStore the engine uses (FOLIO mode adapter, tests). */
  erm?: ErmStore;
  /** An already opened database (tests share a migrated template); closed with the service. */
  db?: Db;
  /** Replaces the engine's harvest of one provider (tests hold provider jobs open with it). */
  harvestProvider?: HarvestProvider;
  /**
   * Called once when the service cannot go on: the embedded database's thread died (PGLITE_THREAD),
   * so every statement and /admin/health fail. The cause is logged at fatal level and the data
   * directory's lock released first. `serve` ends the process with exit code 1, as an uncaught error
   * in the service's own thread would have, so that a supervisor starts it again.
   */
  onFatal?: (err: Error) => void;
}

export interface RunningService {
  app: App;
  ctx: ServiceContext;
  store: LocalErmStore;
  jobs: JobService;
  engine: HarvestEngine;
  /** Base URL where it listens, e.g. `http://127.0.0.1:8081`. */
  url: string;
  close(): Promise<void>;
}

export async function startService(config: Config, opts: StartOptions = {}): Promise<RunningService> {
  const log = opts.logger ?? createLogger({ level: config.logLevel });
  setMemoryBound(config.memoryBudgetMb === undefined ? undefined : config.memoryBudgetMb * 1024 * 1024);
  log.info(
    {
      memoryBoundMb: Math.round(memoryBound() / 2 ** 20),
      heapLimitMb: Math.round(getHeapStatistics().heap_size_limit / 2 ** 20),
    },
    config.memoryBudgetMb === undefined
      ? 'memory bound from the heap limit'
      : 'memory bound from MEMORY_BUDGET_MB',
  );
  const clock = opts.clock ?? systemClock;
  let opened: Db | undefined;
  const databaseLost = (err: Error) => {
    // Only the message: it names the thread and the cause, never a statement or its parameters.
    log.fatal({ err: err.message }, 'the embedded database is gone; the service cannot go on without it');
    void (async () => {
      await opened?.close().catch(() => {});
      opts.onFatal?.(err);
    })();
  };
  const db: Db =
    opts.db ??
    (opened = await openDatabase({
      databaseUrl: config.databaseUrl,
      dataDir: config.dataDir,
      memory: config.memory,
      poolSize: config.databasePoolSize,
      pgliteSharedBuffers: config.pgliteSharedBuffers,
      pgliteThread: config.pgliteThread,
      onLost: databaseLost,
    }));
  try {
    await migrateSystem(db, CQL_SUPPORT_SQL);
    const tenants = new TenantRegistry(db, clock);
    // A wrong or missing credential key stops the start here, before anything is written.
    const loaded = await loadServiceKeyring(config, db, await tenants.list());
    for (const warning of loaded.warnings) log.warn(warning);
    log.info({ keyId: loaded.keyring.keyId, keySource: loaded.source }, 'credential key loaded');
    if (config.mode === 'standalone') {
      const plain = await encryptPlainCredentials(db, await tenants.list(), loaded.keyring);
      if (plain.values > 0)
        log.info(
          { keyId: loaded.keyring.keyId, records: plain.records, values: plain.values },
          'credentials stored in clear text (by an older version) are now encrypted',
        );
    }
    const ctx: ServiceContext = {
      config,
      db,
      clock,
      log,
      tenants,
      hooks: { enabled: [], disabled: [], purged: [] },
      metrics: new Metrics(),
      keyring: loaded.keyring,
    };
    const store = new LocalErmStore(ctx);
    // FOLIO mode: providers, aggregators, reports and settings live in FOLIO, reached through Okapi.
    const okapi =
      !opts.erm && config.mode === 'folio' && config.okapiUrl
        ? new OkapiErmStore({
            okapiUrl: config.okapiUrl,
            token: config.okapiToken,
            systemUser: config.okapiSystemUser,
            log,
            clock,
          })
        : undefined;
    const erm: ErmStore = opts.erm ?? okapi ?? store;
    ctx.metrics.readGaugesFrom(gaugeReader(ctx, erm));
    // The job service runs the engine's harvest of each provider job; the engine ends a provider job
    // through the job service after its last item (jobs/provider-hook.ts). That call comes only once
    // the workers run, long after both exist.
    const engine = new HarvestEngine(ctx, erm, (jobId, errorMessage) =>
      jobs.completeDetached(jobId, errorMessage),
    );
    const jobs: JobService = new JobService(ctx, erm, opts.harvestProvider ?? engine.harvestProvider);
    const app = await buildApp(ctx, [
      healthRoutes(ctx),
      uiRoutes(ctx),
      tenantRoutes(ctx),
      harvesterRoutes(ctx, jobs),
      ...(config.mode === 'standalone'
        ? [
            ermRoutes(ctx, store),
            exportRoutes(ctx, store),
            uploadRoutes(ctx, store),
            usageRoutes(ctx),
            credentialRoutes(ctx),
            registryRoutes(ctx, store),
            memberRoutes(ctx, store),
          ]
        : []),
    ]);
    if (
      config.mode === 'standalone' &&
      config.defaultTenant &&
      !(await ctx.tenants.exists(config.defaultTenant))
    ) {
      await enableTenant(ctx, config.defaultTenant);
      log.info({ tenant: config.defaultTenant }, 'created the default tenant');
    }
    let url = '';
    if (opts.listen !== false) {
      await app.listen({ port: config.port, host: config.host });
      const addr = app.server.address();
      const port = typeof addr === 'object' && addr ? addr.port : config.port;
      const host = config.host.includes(':') ? `[${config.host}]` : config.host;
      url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
    } else {
      await app.ready();
    }
    await jobs.start();
    if (config.runWorkers) await engine.start();
    let closed = false;
    return {
      app,
      ctx,
      store,
      jobs,
      engine,
      url,
      async close() {
        if (closed) return;
        closed = true;
        await Promise.all([jobs.stop(), engine.stop()]);
        await app.close();
        await okapi?.close();
        await db.close();
      },
    };
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
}
