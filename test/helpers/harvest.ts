/** Shared set-up of harvest tests: providers pointing at the mock COUNTER server, waiting for jobs. */
import { randomUUID } from 'node:crypto';
import type { RunningService } from '../../src/server.ts';
import type { JsonRecord } from '../../src/model/records.ts';

export interface ProviderSpec {
  label?: string;
  serviceType?: string;
  serviceUrl: string;
  release: string;
  reports: string[];
  start: string;
  end?: string;
  credentials?: Record<string, string>;
  extra?: Record<string, unknown>;
}

export async function addProvider(svc: RunningService, spec: ProviderSpec, tenant = 'diku'): Promise<string> {
  const id = randomUUID();
  await svc.store.create(tenant, 'usage-data-providers', {
    id,
    label: spec.label ?? `Provider ${id.slice(0, 8)}`,
    status: 'active',
    harvestingConfig: {
      harvestingStatus: 'active',
      harvestVia: 'sushi',
      sushiConfig: {
        serviceType:
          spec.serviceType ?? (spec.release === '5' ? 'cs50' : spec.release === '4' ? 'cs41' : 'cs51'),
        serviceUrl: spec.serviceUrl,
      },
      reportRelease: spec.release,
      requestedReports: spec.reports,
      harvestingStart: spec.start,
      ...(spec.end ? { harvestingEnd: spec.end } : {}),
      ...spec.extra,
    },
    sushiCredentials: {
      customerId: 'cust-1',
      requestorId: 'req-secret-77',
      apiKey: 'key-secret-99',
      ...spec.credentials,
    },
  });
  return id;
}

/** Waits until no job of the tenant is scheduled or running; returns all JobInfos. */
export async function waitForJobs(
  svc: RunningService,
  timeoutMs = 60_000,
  tenant = 'diku',
): Promise<JsonRecord[]> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const res = await svc.ctx.db.query<{ jsonb: JsonRecord }>(
      `SELECT jsonb FROM "${tenant}_mod_erm_usage_harvester".job_info ORDER BY seq`,
    );
    const jobs = res.rows.map((r) => r.jsonb);
    const queue = await svc.ctx.db.query('SELECT 1 FROM harvester.queue WHERE tenant = $1', [tenant]);
    if (
      jobs.length > 0 &&
      queue.rows.length === 0 &&
      jobs.every((j) => j.finishedAt || j.type === 'periodic')
    )
      return jobs;
    if (Date.now() > end) throw new Error(`jobs not finished in time: ${JSON.stringify(jobs)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function reportsOf(
  svc: RunningService,
  providerId: string,
  tenant = 'diku',
): Promise<Record<string, any>[]> {
  const page = await svc.store.list(tenant, 'counter-reports', {
    cql: `providerId=="${providerId}" sortby reportName yearMonth`,
    offset: 0,
    limit: 10_000,
    tiny: false,
  });
  return page.records;
}

/**
 * Adds one COUNTER 5.1 provider per mock endpoint key (`key → [reports, start, end]`, labelled with the
 * key), harvests the tenant once and waits for the jobs; returns the provider ids by key.
 */
export async function harvestMockProviders(
  svc: RunningService,
  mockUrl: string,
  table: Record<string, [string[], string, string]>,
): Promise<Record<string, string>> {
  const ids: Record<string, string> = {};
  for (const [key, [reports, start, end]] of Object.entries(table))
    ids[key] = await addProvider(svc, {
      label: key,
      serviceUrl: `${mockUrl}/${key}`,
      release: '5.1',
      reports,
      start,
      end,
    });
  await svc.jobs.startTenantJob('diku');
  await waitForJobs(svc, 120_000);
  return ids;
}
