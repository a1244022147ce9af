/**
 * Prometheus metrics of one process, served at `/metrics`: HTTP traffic, harvest requests by policy
 * action, stored months by outcome, finished jobs by result, plus Node's process metrics.
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

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
    help: 'Requests to COUNTER endpoints, by the action the exception policy chose',
    labelNames: ['action'] as const,
    registers: [this.registry],
  });
  readonly sushiDuration = new Histogram({
    name: 'harvester_sushi_request_seconds',
    help: 'Duration of requests to COUNTER endpoints including reading the body',
    buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 1800],
    registers: [this.registry],
  });
  readonly monthsStored = new Counter({
    name: 'harvester_months_stored_total',
    help: 'Counter-report months written, by outcome (success, failure)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly jobsFinished = new Counter({
    name: 'harvester_jobs_finished_total',
    help: 'Jobs finished, by type and result',
    labelNames: ['type', 'result'] as const,
    registers: [this.registry],
  });

  constructor(withDefaults = true) {
    if (withDefaults) collectDefaultMetrics({ register: this.registry });
  }
}
