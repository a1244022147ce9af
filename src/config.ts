import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { HostPolicy, HostPolicyError } from './sushi/host-policy.ts';

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
  /** `shared_buffers` of the embedded database (PGLITE_SHARED_BUFFERS, e.g. 32MB). */
  pgliteSharedBuffers: string;
  /** The embedded database in a worker thread of its own (PGLITE_THREAD, default true). */
  pgliteThread: boolean;
  /** When set, every request must present it (X-Okapi-Token or Authorization: Bearer). */
  token?: string;
  /** FOLIO mode: providers and reports live in FOLIO, reached through Okapi. */
  okapiUrl?: string;
  okapiToken?: string;
  /** FOLIO mode without a fixed token: a system user that logs in (POST /authn/login-with-expiry). */
  okapiSystemUser?: { username: string; password: string };
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
  /**
   * How often workers look for queued work while some is queued but not yet due (an endpoint's spacing,
   * a deferred request), or while this process hears no wakeups from the others.
   */
  queuePollMs: number;
  /**
   * How often workers look for work while there is none: new work wakes them (in the process, and
   * through PostgreSQL's LISTEN/NOTIFY from other processes); this poll is the safety net.
   */
  queueIdlePollMs: number;
  /** How often the periodic scheduler checks for due fire times. */
  schedulerTickMs: number;
  misfireThresholdMs: number;
  /** Run queue workers and the scheduler in this process (false: API only). */
  runWorkers: boolean;
  logLevel: string;
  /** `/admin/health` answers 503 when the database has answered nothing for this long. */
  healthTimeoutMs: number;
  /** Identifies this process among several sharing one database. */
  instanceId: string;
  harvest: HarvestConfig;
  /** Limits of the service's own HTTP server against slow and idle clients. */
  server: ServerLimits;
  /** Largest file `POST /counter-reports/multipartupload/...` takes (HARVESTER_UPLOAD_LIMIT_BYTES). */
  uploadLimitBytes: number;
  /**
   * HARVESTER_SECRET_KEY: the key that encrypts stored credentials (docs/credentials.md); unset: the key
   * file beside the embedded database. Required with PostgreSQL in standalone mode.
   */
  secretKey?: string;
  /** HARVESTER_PREVIOUS_SECRET_KEY: the key of before a rotation, still read until the rotation ran. */
  previousSecretKey?: string;
  /** HARVESTER_REGISTRY_URL: the COUNTER Registry API root (docs/registry.md). */
  registryUrl: string;
  /** HARVESTER_REGISTRY_TIMEOUT_MS: time for one registry request. */
  registryTimeoutMs: number;
  /**
   * Counter report bodies read from the request stream and collections answered record by record
   * (docs/hardening.md, "Memory under big requests"); false only to compare with the buffered way.
   */
  streamBodies: boolean;
  /**
   * MEMORY_BUDGET_MB: the bound of the data held in memory while working, from which the export's, the
   * uploads' and the harvest's budgets derive (src/memory-budget.ts); undefined = from the heap limit.
   */
  memoryBudgetMb?: number;
}

/**
 * Timeouts and the connection cap of the HTTP server (docs/hardening.md, "Slow clients"). The request
 * timeout counts while the request (headers and body) is received, never while a response is sent, so
 * long downloads are not cut; it is generous for uploads of large files on slow links, and a stalled
 * upload ends earlier through the idle timeout.
 */
export interface ServerLimits {
  /** Until the request headers are complete: a socket that sends nothing is closed after this. */
  headersTimeoutMs: number;
  /** Until the whole request (headers and body) is received; 0: no limit. */
  requestTimeoutMs: number;
  /** No byte in either direction for this long closes a connection, also mid-request; 0: no limit. */
  idleTimeoutMs: number;
  /** An idle kept-alive connection between two requests is closed after this. */
  keepAliveTimeoutMs: number;
  /** Open connections at most; more are closed as soon as they are accepted. 0: no cap. */
  maxConnections: number;
  /** Largest request body of every route but the counter-report writes, bytes (docs/hardening.md, "Client input"). */
  bodyLimitBytes: number;
  /** Largest body of `POST /counter-reports` and `PUT /counter-reports/{id}`, bytes. */
  reportBodyLimitBytes: number;
}

/** How the harvesting engine talks to COUNTER endpoints (politeness, retries, timeouts, limits). */
export interface HarvestConfig {
  /** Requests in flight at once in this process, over all endpoints. */
  requestConcurrency: number;
  /** Requests in flight at once per endpoint (service URL), over all processes; per provider overridable. */
  endpointMaxInFlight: number;
  /** Minimum pause between two requests to one endpoint, ms; per provider overridable. */
  endpointMinIntervalMs: number;
  /** Requests in flight at once per provider job (Java: 4; 1 after a rate limit). */
  providerRequestConcurrency: number;
  /** First deferral of a queued report (1011 / 202), ms; later ones grow. */
  deferQueuedMs: number;
  /** First deferral of a busy or unavailable service (1000, 1010, 502/503/504), ms; later ones double. */
  deferBusyMs: number;
  /** Deferrals per request before its months are recorded as failed (not counted). */
  maxDeferrals: number;
  /** No new deferral later than this after the first one, ms. */
  deferBudgetMs: number;
  /**
   * Adaptive pace per endpoint (src/harvest/pace.ts): the spacing a first rate limit (429, 1020) adds to
   * the endpoint, ms; each further one doubles it, up to `paceMaxMs`.
   */
  paceStepMs: number;
  /** Largest spacing rate limits add to an endpoint, ms. */
  paceMaxMs: number;
  /** Per answer with data, the added spacing keeps this percentage (speeds up again gradually). */
  paceRecoveryPercent: number;
  /** Cap on a server's Retry-After, ms. */
  maxRetryAfterMs: number;
  /** Spacing between requests of a provider job after it was rate limited, ms. */
  rateLimitedSpacingMs: number;
  /** Failed uploads in a row that stop a provider job. */
  uploadFailureLimit: number;
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  idleTimeoutMs: number;
  totalTimeoutMs: number;
  maxResponseBytes: number;
  userAgent: string;
  /** Reports requested one month at a time. */
  singleMonthReports: string[];
  /**
   * The re-harvest window: on each scheduled run the last N complete months are requested again even
   * when stored (restatements, late reports); 0 turns it off. Tenant setting `reharvest_months` overrides.
   */
  reharvestMonths: number;
  /** Offer the standard views (TR_J1, ...) besides the master reports. */
  enableStandardViews: boolean;
  /**
   * Which provider addresses may be called: HARVESTER_PROVIDER_HOSTS_DENY adds to the built-in denials
   * (link-local, cloud metadata, unspecified, broadcast, multicast), HARVESTER_PROVIDER_HOSTS_ALLOW makes
   * exceptions. Keywords, addresses, CIDR ranges, host names (src/sushi/host-policy.ts).
   */
  providerHosts: HostPolicy;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** A PostgreSQL memory size such as `32MB` (units kB, MB, GB; a bare number is in 8 kB pages). */
function memorySize(env: NodeJS.ProcessEnv, name: string, fallback: string): string {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^[1-9][0-9]{0,6}(kB|MB|GB)?$/.test(raw))
    throw new ConfigError(`${name} must be a size such as 32MB (units kB, MB, GB), got "${raw}"`);
  return raw;
}

function int(env: NodeJS.ProcessEnv, name: string, dflt: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(`${name} must be an integer, got "${raw}"`);
  const v = Number.parseInt(raw, 10);
  if (v < min) throw new ConfigError(`${name} must be at least ${min}, got ${v}`);
  return v;
}

function list(env: NodeJS.ProcessEnv, name: string, dflt: string[]): string[] {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return dflt;
  return raw
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

function percent(env: NodeJS.ProcessEnv, name: string, dflt: number): number {
  const v = int(env, name, dflt);
  if (v > 100) throw new ConfigError(`${name} must be at most 100, got ${v}`);
  return v;
}

function hostPolicy(env: NodeJS.ProcessEnv): HostPolicy {
  try {
    return HostPolicy.fromEnv(env);
  } catch (err) {
    if (err instanceof HostPolicyError) throw new ConfigError(err.message);
    throw err;
  }
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
    pgliteSharedBuffers: memorySize(env, 'PGLITE_SHARED_BUFFERS', '32MB'),
    pgliteThread: bool(env, 'PGLITE_THREAD', true),
    token: env.HARVESTER_TOKEN || undefined,
    okapiUrl,
    okapiToken: env.OKAPI_TOKEN || undefined,
    okapiSystemUser:
      env.OKAPI_SYSTEM_USERNAME && env.OKAPI_SYSTEM_PASSWORD
        ? { username: env.OKAPI_SYSTEM_USERNAME, password: env.OKAPI_SYSTEM_PASSWORD }
        : undefined,
    mode: modeRaw,
    defaultTenant: env.HARVESTER_DEFAULT_TENANT ?? 'diku',
    maxFailedAttempts: int(env, 'MAX_FAILED_ATTEMPTS', 5),
    daysToKeepLogs: int(env, 'DAYS_TO_KEEP_LOGS', 60),
    providerJobConcurrency: int(env, 'PROVIDER_JOB_CONCURRENCY', 4, 1),
    cleanupIntervalMinutes: int(env, 'CLEANUP_INTERVAL_MINUTES', 30),
    // STALE_HEARTBEAT_MS (tests) overrides the minutes with a finer value.
    staleHeartbeatMinutes: env.STALE_HEARTBEAT_MS
      ? int(env, 'STALE_HEARTBEAT_MS', 300_000, 100) / 60_000
      : int(env, 'STALE_HEARTBEAT_MINUTES', 5, 1),
    heartbeatIntervalMs: int(env, 'HEARTBEAT_INTERVAL_MS', 30_000, 10),
    queuePollMs: int(env, 'QUEUE_POLL_MS', 1000, 10),
    queueIdlePollMs: int(env, 'QUEUE_IDLE_POLL_MS', 15_000, 10),
    schedulerTickMs: int(env, 'SCHEDULER_TICK_MS', 1000, 10),
    misfireThresholdMs: int(env, 'MISFIRE_THRESHOLD_MS', 60_000),
    runWorkers: bool(env, 'HARVESTER_WORKERS', true),
    logLevel: env.LOG_LEVEL || 'info',
    healthTimeoutMs: int(env, 'HEALTH_TIMEOUT_MS', 5000, 1),
    instanceId: env.HARVESTER_INSTANCE_ID || `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
    streamBodies: bool(env, 'STREAM_BODIES', true),
    memoryBudgetMb: env.MEMORY_BUDGET_MB ? int(env, 'MEMORY_BUDGET_MB', 0, 16) : undefined,
    harvest: loadHarvestConfig(env),
    server: loadServerLimits(env),
    uploadLimitBytes: int(env, 'HARVESTER_UPLOAD_LIMIT_BYTES', 2 * 1024 * 1024 * 1024, 1),
    secretKey: env.HARVESTER_SECRET_KEY || undefined,
    previousSecretKey: env.HARVESTER_PREVIOUS_SECRET_KEY || undefined,
    registryUrl: env.HARVESTER_REGISTRY_URL?.trim() || 'https://registry.countermetrics.org/api/v1/',
    registryTimeoutMs: int(env, 'HARVESTER_REGISTRY_TIMEOUT_MS', 20_000, 1),
    ...overrides,
  };
  if (cfg.port < 0 || cfg.port > 65535)
    throw new ConfigError(`PORT must be between 0 and 65535, got ${cfg.port}`);
  if (cfg.mode === 'folio' && !cfg.okapiUrl)
    throw new ConfigError('FOLIO mode needs OKAPI_URL (the Okapi or sidecar URL to reach mod-erm-usage)');
  return cfg;
}

export function loadServerLimits(env: NodeJS.ProcessEnv = process.env): ServerLimits {
  const limits: ServerLimits = {
    headersTimeoutMs: int(env, 'SERVER_HEADERS_TIMEOUT_MS', 20_000, 1),
    requestTimeoutMs: int(env, 'SERVER_REQUEST_TIMEOUT_MS', 2 * 60 * 60_000),
    idleTimeoutMs: int(env, 'SERVER_IDLE_TIMEOUT_MS', 120_000),
    keepAliveTimeoutMs: int(env, 'SERVER_KEEP_ALIVE_TIMEOUT_MS', 65_000, 1),
    maxConnections: int(env, 'SERVER_MAX_CONNECTIONS', 1000),
    bodyLimitBytes: int(env, 'SERVER_BODY_LIMIT_BYTES', 256 * 1024, 1),
    reportBodyLimitBytes: int(env, 'SERVER_REPORT_BODY_LIMIT_BYTES', 1024 * 1024 * 1024, 1),
  };
  if (limits.requestTimeoutMs > 0 && limits.headersTimeoutMs > limits.requestTimeoutMs)
    throw new ConfigError(
      `SERVER_HEADERS_TIMEOUT_MS (${limits.headersTimeoutMs}) must not exceed SERVER_REQUEST_TIMEOUT_MS (${limits.requestTimeoutMs})`,
    );
  return limits;
}

export function loadHarvestConfig(env: NodeJS.ProcessEnv = process.env): HarvestConfig {
  return {
    requestConcurrency: int(env, 'REQUEST_CONCURRENCY', 8, 1),
    endpointMaxInFlight: int(env, 'ENDPOINT_MAX_IN_FLIGHT', 1, 1),
    endpointMinIntervalMs: int(env, 'ENDPOINT_MIN_INTERVAL_MS', 2000),
    providerRequestConcurrency: int(env, 'PROVIDER_REQUEST_CONCURRENCY', 4, 1),
    deferQueuedMs: int(env, 'DEFER_QUEUED_MS', 10 * 60_000),
    deferBusyMs: int(env, 'DEFER_BUSY_MS', 5 * 60_000),
    maxDeferrals: int(env, 'MAX_DEFERRALS', 3),
    deferBudgetMs: int(env, 'DEFER_BUDGET_MS', 60 * 60_000),
    paceStepMs: int(env, 'PACE_STEP_MS', 5000),
    paceMaxMs: int(env, 'PACE_MAX_MS', 10 * 60_000),
    paceRecoveryPercent: percent(env, 'PACE_RECOVERY_PERCENT', 50),
    maxRetryAfterMs: int(env, 'MAX_RETRY_AFTER_MS', 10 * 60_000),
    rateLimitedSpacingMs: int(env, 'RATE_LIMITED_SPACING_MS', 3000),
    uploadFailureLimit: int(env, 'UPLOAD_FAILURE_LIMIT', 5, 1),
    connectTimeoutMs: int(env, 'CONNECT_TIMEOUT_MS', 30_000, 1),
    headersTimeoutMs: int(env, 'FIRST_BYTE_TIMEOUT_MS', 10 * 60_000, 1),
    idleTimeoutMs: int(env, 'IDLE_TIMEOUT_MS', 60_000, 1),
    totalTimeoutMs: int(env, 'TOTAL_TIMEOUT_MS', 30 * 60_000, 1),
    maxResponseBytes: int(env, 'MAX_RESPONSE_BYTES', 2 * 1024 * 1024 * 1024, 1),
    userAgent: env.HARVESTER_USER_AGENT || 'erm-usage-harvester/0.1 (COUNTER harvester; +https://folio.org)',
    singleMonthReports: list(env, 'SINGLE_MONTH_REPORTS', ['TR']),
    reharvestMonths: int(env, 'HARVESTER_REHARVEST_MONTHS', 3),
    enableStandardViews: bool(env, 'ENABLE_STANDARD_VIEWS', false),
    providerHosts: hostPolicy(env),
  };
}
