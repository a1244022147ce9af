/**
 * Prometheus metrics of one process, served at `/metrics` (README "Metrics" lists each one): HTTP
 * traffic, requests to COUNTER endpoints (by outcome, policy action and exception code), their
 * durations and bytes, stored months by state, finished jobs, and gauges read from the database at each
 * scrape (jobs, work items, endpoints in back-off, failed months per tenant, each provider's last
 * successful harvest), plus Node's process metrics.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What the scrape-time gauges read from the database (see `src/live-gauges.ts`). */
export interface GaugeReadings {
  /** Jobs in the queue by state (`queued`, `running`, `waiting`). */
  jobs: { state: string; n: number }[];
  /** Work items (one request each) by state (`queued`, `running`). */
  workItems: { state: string; n: number }[];
  /** Endpoints whose next request must wait beyond now (spacing, busy service or rate limit). */
  endpointsInBackoff: number;
  /** Per tenant: months whose last harvest failed (`failedAttempts` > 0). */
  failedMonths: { tenant: string; n: number }[];
  /** Per tenant and provider: when its last successful provider job ended (Unix seconds; JobInfos). */
  lastSuccess: { tenant: string; provider: string; seconds: number }[];
}

export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({
    name: 'harvester_http_requests_total',
    help: 'HTTP requests served, by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  readonly sushiRequests = new Counter({
    name: 'harvester_sushi_requests_total',
    help: 'Requests to COUNTER endpoints, by outcome (data or the failure cause), the action the exception policy chose and the exception code (or HTTP status; none)',
    labelNames: ['outcome', 'action', 'code'] as const,
    registers: [this.registry],
  });
  readonly sushiDuration = new Histogram({
    name: 'harvester_sushi_request_seconds',
    help: 'Duration of requests to COUNTER endpoints including reading and splitting the body, by outcome',
    labelNames: ['outcome'] as const,
    buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 1800],
    registers: [this.registry],
  });
  readonly sushiBytes = new Counter({
    name: 'harvester_sushi_bytes_received_total',
    help: 'Body bytes received from COUNTER endpoints (after decompression)',
    registers: [this.registry],
  });
  readonly monthsStored = new Counter({
    name: 'harvester_months_stored_total',
    help: 'Counter-report months written, by state (harvested, partial, empty, not_ready, deferred_timeout, unavailable, failed)',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });
  readonly jobsFinished = new Counter({
    name: 'harvester_jobs_finished_total',
    help: 'Jobs finished, by type and result',
    labelNames: ['type', 'result'] as const,
    registers: [this.registry],
  });
  readonly lastSuccess = new Gauge({
    name: 'harvester_provider_last_success_timestamp_seconds',
    help: 'When the last successful provider job of a provider ended (Unix time; from the JobInfos, any process)',
    labelNames: ['tenant', 'provider'] as const,
    registers: [this.registry],
  });
  readonly jobs = new Gauge({
    name: 'harvester_jobs',
    help: 'Jobs in the queue, by state (queued, running, waiting: a provider job whose requests are work items)',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });
  readonly workItems = new Gauge({
    name: 'harvester_work_items',
    help: 'Requests to COUNTER endpoints waiting or in flight, by state (queued, running)',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });
  readonly endpointsInBackoff = new Gauge({
    name: 'harvester_endpoints_in_backoff',
    help: 'COUNTER endpoints that may not be asked again yet (spacing, busy service, rate limit)',
    registers: [this.registry],
  });
  readonly failedMonths = new Gauge({
    name: 'harvester_failed_months',
    help: 'Stored months whose last harvest failed, per tenant',
    labelNames: ['tenant'] as const,
    registers: [this.registry],
  });

  private reader: (() => Promise<GaugeReadings>) | undefined;

  constructor(withDefaults = true) {
    // The event loop lag histogram samples at 100 ms rather than prom-client's 10 ms: at 10 ms the
    // sampling alone costs an idle process about 4 ms of CPU per second (docs/benchmarks.md, Scaling).
    if (withDefaults) collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 100 });
  }

  /** Sets where the database gauges are read from at each scrape (the composition root does). */
  readGaugesFrom(reader: () => Promise<GaugeReadings>): void {
    this.reader = reader;
  }

  /** The text exposition, the database gauges read first (a failed read leaves their last values). */
  async scrape(): Promise<string> {
    if (this.reader) {
      try {
        this.apply(await this.reader());
      } catch {
        // The scrape still answers; the gauges keep what they last read.
      }
    }
    return this.registry.metrics();
  }

  private apply(r: GaugeReadings): void {
    this.jobs.reset();
    for (const state of ['queued', 'running', 'waiting']) this.jobs.set({ state }, 0);
    for (const { state, n } of r.jobs) this.jobs.set({ state }, n);
    this.workItems.reset();
    for (const state of ['queued', 'running']) this.workItems.set({ state }, 0);
    for (const { state, n } of r.workItems) this.workItems.set({ state }, n);
    this.endpointsInBackoff.set(r.endpointsInBackoff);
    this.failedMonths.reset();
    for (const { tenant, n } of r.failedMonths) this.failedMonths.set({ tenant }, n);
    this.lastSuccess.reset();
    for (const { tenant, provider, seconds } of r.lastSuccess)
      this.lastSuccess.set({ tenant, provider }, seconds);
  }
}
