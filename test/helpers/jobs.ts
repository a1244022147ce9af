/**
 * Test support for the job engine: a fake ErmStore, the 18-job and 7-job JobInfo samples (folio-contract §9), a gate that
 * holds provider jobs open, and polling.
 */
import { randomUUID } from 'node:crypto';
import { request } from 'undici';
import type { UsageDataProvider } from '../../src/model/records.ts';
import { ErmError, type ErmStore, type Page } from '../../src/erm/port.ts';
import { saveJobInfo, type JobInfo } from '../../src/store/sql/job-info.ts';
import type { HarvestProvider } from '../../src/jobs/provider-hook.ts';
import type { RunningService } from '../../src/server.ts';

/** An in-memory ErmStore: providers, settings, and switches to make calls fail. */
export class FakeErm implements ErmStore {
  providers = new Map<string, UsageDataProvider>();
  settings = new Map<string, unknown>();
  settingCalls = 0;
  getProviderCalls = new Map<string, number>();
  findCalls: { cql: string; offset: number; limit: number }[] = [];
  failSettings?: ErmError;
  failFind?: ErmError;
  /** While set, findProviders waits for it (holds a tenant job open). */
  findGate?: Promise<void>;

  addProvider(id: string, harvestingStatus = 'active'): UsageDataProvider {
    const udp: UsageDataProvider = { id, label: `UDP ${id}`, harvestingConfig: { harvestingStatus } };
    this.providers.set(id, udp);
    return udp;
  }

  async getProvider(_tenant: string, id: string): Promise<UsageDataProvider> {
    this.getProviderCalls.set(id, (this.getProviderCalls.get(id) ?? 0) + 1);
    const udp = this.providers.get(id);
    if (!udp) throw new ErmError(404, 'Not Found');
    return udp;
  }
  async putProvider(): Promise<void> {}
  async findProviders(
    _tenant: string,
    cql: string,
    offset: number,
    limit: number,
  ): Promise<Page<UsageDataProvider>> {
    this.findCalls.push({ cql, offset, limit });
    if (this.findGate) await this.findGate;
    if (this.failFind) throw this.failFind;
    const active = [...this.providers.values()]
      .filter((p) => p.harvestingConfig?.harvestingStatus === 'active')
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return { records: active.slice(offset, offset + limit), totalRecords: active.length };
  }
  async getAggregator(): Promise<never> {
    throw new ErmError(404, 'Not Found');
  }
  async findCounterReports(): Promise<Page<never>> {
    return { records: [], totalRecords: 0 };
  }
  async postCounterReport(): Promise<string> {
    return randomUUID();
  }
  async putCounterReport(): Promise<void> {}
  async getSetting(_tenant: string, key: string): Promise<unknown> {
    this.settingCalls++;
    if (this.failSettings) throw this.failSettings;
    return this.settings.get(key);
  }
}

/** Holds provider jobs open until released; counts calls per provider. */
/** A provider hook whose behaviour a test can swap between tests: pass `hook` at start, then `set`. */
export class SwitchableHook {
  private current: HarvestProvider = async () => undefined;
  readonly hook: HarvestProvider = (tenant, provider, job) => this.current(tenant, provider, job);
  set(hook: HarvestProvider): void {
    this.current = hook;
  }
}

export class Gate {
  calls = new Map<string, number>();
  private waiters: (() => void)[] = [];
  open = false;

  readonly hook: HarvestProvider = async (_tenant, provider) => {
    this.calls.set(provider.id, (this.calls.get(provider.id) ?? 0) + 1);
    if (this.open) return;
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  };

  /** Lets one waiting job finish (all of them with `all`). */
  release(all = false): void {
    if (all) {
      this.open = true;
      for (const w of this.waiters.splice(0)) w();
    } else this.waiters.shift()?.();
  }

  get waiting(): number {
    return this.waiters.length;
  }
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    last = v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${String(last)})`);
    await sleep(20);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const PLACEHOLDER_18 = 'f1a00000-0000-4000-8000-000000000000';
export const TENANT_18 = 'f1a00000-0000-4000-8000-000000000001';
export const PLACEHOLDER_7 = 'f7a00000-0000-4000-8000-000000000000';

const iso = (ms: number) => new Date(ms).toISOString().replace('Z', '+00:00');

function finished(id: string, type: 'tenant' | 'provider', timestamp: number, providerId?: string): JobInfo {
  return {
    id,
    type,
    ...(providerId ? { providerId } : {}),
    timestamp,
    startedAt: iso(timestamp + 1),
    finishedAt: iso(timestamp + 2500),
    result: 'success',
  };
}

/**
 * The 18-job sample (2022-09-14): a placeholder, a finished tenant job and 16 finished provider jobs,
 * inserted in this order (the placeholder has the largest timestamp, so insertion order ≠ timestamp order).
 */
export function sample18(): JobInfo[] {
  const jobs: JobInfo[] = [
    {
      id: PLACEHOLDER_18,
      type: 'periodic',
      timestamp: 1663927398101,
      nextStart: '2023-07-29T13:05:00.000+00:00',
    },
    finished(TENANT_18, 'tenant', 1663150476842),
  ];
  const providerTimestamps = [
    1663150477573, 1663150477673, 1663150477773, 1663150477873, 1663150477973, 1663150478073, 1663150478173,
    1663150478273, 1663150478373, 1663150478473, 1663150478573, 1663150478673, 1663150479004, 1663150479100,
    1663150479200, 1663150479305,
  ];
  providerTimestamps.forEach((ts, i) => {
    const n = String(i + 1).padStart(2, '0');
    jobs.push(finished(`f1b000${n}-0000-4000-8000-000000000000`, 'provider', ts, `p18-provider-${n}`));
  });
  return jobs;
}

export const STALE_IDS = [
  'f7c00000-0000-4000-8000-000000000001',
  'f7c00000-0000-4000-8000-000000000002',
  'f7c00000-0000-4000-8000-000000000003',
];

/** The 7-job stale sample: placeholder, 3 finished jobs of 2023-01-01, 3 unfinished of 2023-01-02 08:00. */
export function sample7(): JobInfo[] {
  return [
    {
      id: PLACEHOLDER_7,
      type: 'periodic',
      timestamp: 1672531200000,
      nextStart: '2023-01-03T08:00:00.000+00:00',
    },
    finished('f7b00000-0000-4000-8000-000000000001', 'tenant', 1672567200000),
    finished('f7b00000-0000-4000-8000-000000000002', 'provider', 1672567201000, 'p7-a'),
    finished('f7b00000-0000-4000-8000-000000000003', 'provider', 1672567202000, 'p7-b'),
    { id: STALE_IDS[0], type: 'tenant', timestamp: 1672646400000 },
    {
      id: STALE_IDS[1],
      type: 'provider',
      providerId: 'p7-c',
      timestamp: 1672646401000,
      startedAt: '2023-01-02T08:00:03.000+00:00',
    },
    { id: STALE_IDS[2], type: 'provider', providerId: 'p7-d', timestamp: 1672646402000 },
  ];
}

export async function insertJobs(svc: RunningService, jobs: JobInfo[], tenant = 'diku'): Promise<void> {
  for (const job of jobs) await saveJobInfo(svc.ctx.db, tenant, job);
}

/** All JobInfos of the tenant in insertion order, straight from the table. */
export async function allJobs(svc: RunningService, tenant = 'diku'): Promise<JobInfo[]> {
  const res = await svc.ctx.db.query<{ jsonb: JobInfo }>(
    `SELECT jsonb FROM "${tenant}_mod_erm_usage_harvester".job_info ORDER BY seq`,
  );
  return res.rows.map((r) => r.jsonb);
}

/** A POST with an empty body and the given headers, sent exactly (fetch would not send Content-Length). */
export async function postEmpty(
  svc: RunningService,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; text: string }> {
  const res = await request(svc.url + path, {
    method: 'POST',
    headers: { 'x-okapi-tenant': 'diku', ...headers },
  });
  return { status: res.statusCode, text: await res.body.text() };
}

/** A promise with its resolve function. */
export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Number of rows in the durable queue (all tenants). */
export async function queueSize(svc: RunningService): Promise<number> {
  const res = await svc.ctx.db.query<{ n: string }>('SELECT count(*)::text AS n FROM harvester.queue');
  return Number(res.rows[0].n);
}

/** The JobInfo of `id` once it satisfies `ok`. */
export async function waitForJob(
  svc: RunningService,
  what: string,
  ok: (job: JobInfo) => boolean,
  timeoutMs = 5000,
): Promise<JobInfo> {
  return waitFor(what, async () => (await allJobs(svc)).find(ok), timeoutMs);
}
