import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

/** Service configuration. Every field can be set by environment variable; the CLI maps flags onto them. */
export interface Config {
  host: string;
  port: number;
  /** Directory of the embedded database (PGlite). */
  dataDir: string;
  /** In-memory embedded database (tests, demos): nothing is written to disk. */
  memory: boolean;
  /** PostgreSQL connection string; when set, the embedded database is not used. */
  databaseUrl?: string;
  databasePoolSize: number;
  /** When set, every request must present it (X-Okapi-Token or Authorization: Bearer). */
  token?: string;
  /** FOLIO mode: providers and reports live in FOLIO, reached through Okapi. */
  okapiUrl?: string;
  okapiToken?: string;
  mode: 'standalone' | 'folio';
  /** Tenant created at startup so that a newcomer's first commands work (standalone); empty = none. */
  defaultTenant?: string;
  maxFailedAttempts: number;
  daysToKeepLogs: number;
  /** Provider jobs executing at once in this process (Java: Quartz pool of 4). */
  providerJobConcurrency: number;
  /** Period of the built-in cleanup (purgestale + purgefinished), minutes; 0 disables. */
  cleanupIntervalMinutes: number;
  /** A running job whose worker has not reported for this long is no longer alive. */
  staleHeartbeatMinutes: number;
  heartbeatIntervalMs: number;
  /** How often workers look for queued work when no notification arrives. */
  queuePollMs: number;
  /** How often the periodic scheduler checks for due fire times. */
  schedulerTickMs: number;
  misfireThresholdMs: number;
  /** Run queue workers and the scheduler in this process (false: API only). */
  runWorkers: boolean;
  logLevel: string;
  /** Identifies this process among several sharing one database. */
  instanceId: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function int(env: NodeJS.ProcessEnv, name: string, dflt: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(`${name} must be an integer, got "${raw}"`);
  const v = Number.parseInt(raw, 10);
  if (v < min) throw new ConfigError(`${name} must be at least ${min}, got ${v}`);
  return v;
}

function bool(env: NodeJS.ProcessEnv, name: string, dflt: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const okapiUrl = overrides.okapiUrl ?? (env.OKAPI_URL || undefined);
  const modeRaw = overrides.mode ?? (env.HARVESTER_MODE || (okapiUrl ? 'folio' : 'standalone'));
  if (modeRaw !== 'standalone' && modeRaw !== 'folio')
    throw new ConfigError(`HARVESTER_MODE must be "standalone" or "folio", got "${modeRaw}"`);
  const cfg: Config = {
    host: env.HOST || '127.0.0.1',
    port: int(env, 'PORT', 8081),
    dataDir: env.HARVESTER_DATA_DIR || './data',
    memory: bool(env, 'HARVESTER_MEMORY_DB', false),
    databaseUrl: env.DATABASE_URL || undefined,
    databasePoolSize: int(env, 'DATABASE_POOL_SIZE', 10, 1),
    token: env.HARVESTER_TOKEN || undefined,
    okapiUrl,
    okapiToken: env.OKAPI_TOKEN || undefined,
    mode: modeRaw,
    defaultTenant: env.HARVESTER_DEFAULT_TENANT ?? 'diku',
    maxFailedAttempts: int(env, 'MAX_FAILED_ATTEMPTS', 5),
    daysToKeepLogs: int(env, 'DAYS_TO_KEEP_LOGS', 60),
    providerJobConcurrency: int(env, 'PROVIDER_JOB_CONCURRENCY', 4, 1),
    cleanupIntervalMinutes: int(env, 'CLEANUP_INTERVAL_MINUTES', 30),
    staleHeartbeatMinutes: int(env, 'STALE_HEARTBEAT_MINUTES', 5, 1),
    heartbeatIntervalMs: int(env, 'HEARTBEAT_INTERVAL_MS', 30_000, 10),
    queuePollMs: int(env, 'QUEUE_POLL_MS', 1000, 10),
    schedulerTickMs: int(env, 'SCHEDULER_TICK_MS', 1000, 10),
    misfireThresholdMs: int(env, 'MISFIRE_THRESHOLD_MS', 60_000),
    runWorkers: bool(env, 'HARVESTER_WORKERS', true),
    logLevel: env.LOG_LEVEL || 'info',
    instanceId: env.HARVESTER_INSTANCE_ID || `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
    ...overrides,
  };
  if (cfg.port < 0 || cfg.port > 65535)
    throw new ConfigError(`PORT must be between 0 and 65535, got ${cfg.port}`);
  if (cfg.mode === 'folio' && !cfg.okapiUrl)
    throw new ConfigError('FOLIO mode needs OKAPI_URL (the Okapi or sidecar URL to reach mod-erm-usage)');
  return cfg;
}
