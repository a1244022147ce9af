/**
 * Typed client of the erm-usage-harvester HTTP API: the harvester endpoints (FOLIO
 * mod-erm-usage-harvester, folio-contract §2), the tenant API and the standalone store
 * (`/usage-data-providers`, `/aggregator-settings`, `/counter-reports`). The TypeScript counterpart of
 * foliolib's `Harvester` and `Periodic`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  HarvesterApiError,
  HarvesterClientError,
  HarvesterConnectionError,
  TenantOperationError,
} from './errors.ts';
import {
  fetchTransport,
  undiciTransport,
  type FetchLike,
  type HttpResponse,
  type HttpStreamResponse,
  type Transport,
} from './transport.ts';
import type {
  CredentialRotation,
  FromRegistryRequest,
  FromRegistryResult,
  MembersSyncResult,
  RegistryPlatformDetail,
  RegistryPlatformSummary,
  RegistrySyncOptions,
  RegistrySyncResult,
} from './onboarding-types.ts';
import type {
  ProviderCheck,
  AggregatorSetting,
  AggregatorSettings,
  CounterReport,
  CounterReports,
  CounterReportsSorted,
  Download,
  ExportFormat,
  ExportRangeOptions,
  GetJobsOptions,
  IterateCounterReportsOptions,
  IterateJobsOptions,
  IterateOptions,
  JobInfo,
  JobInfos,
  ListCounterReportsOptions,
  ListOptions,
  PeriodicConfig,
  ServiceImplementations,
  StartResponse,
  TenantAttributes,
  TenantOperation,
  UsageDataProvider,
  UsageDataProviders,
  HarvestAgainOptions,
  HarvestAgainResponse,
  ListReportChangesOptions,
  ProviderDiagnostics,
  ReportChanges,
} from './types.ts';
import type { UploadResult, UsageQueryOptions, UsageReports, UsageTop, UsageTotals } from './usage-types.ts';
import { waitForJobs, type JobSelector, type WaitForJobsOptions } from './wait.ts';

export interface HarvesterClientOptions {
  /** Where the service listens, e.g. `http://127.0.0.1:8081` (a path prefix is kept). */
  baseUrl: string;
  /** Sent as `X-Okapi-Tenant` on every request. */
  tenant: string;
  /** Sent as `X-Okapi-Token` when set. */
  token?: string;
  userAgent?: string;
  /** Send requests through this `fetch` instead of the client's own undici connection pool. */
  fetch?: FetchLike;
  /** Per-request timeout (default 60 s). */
  timeoutMs?: number;
}

export interface EnableTenantOptions {
  /** Tenant parameters, e.g. `[{ key: 'loadReference', value: 'false' }]` (accepted and ignored). */
  parameters?: { key: string; value?: string }[];
  /** Give up waiting for the operation after this long (default 120 s). */
  timeoutMs?: number;
}

/** The module id sent as `module_to` when none is given. */
export const DEFAULT_MODULE_ID = 'mod-erm-usage-harvester-ts-0.1.0';

const HARVESTER = '/erm-usage-harvester';
const PERIODIC = `${HARVESTER}/periodic`;
const DEFAULT_PAGE_SIZE = 100;

type QueryValue = string | number | boolean | null | undefined;
type Query = Record<string, QueryValue>;

interface SendOptions {
  query?: Query;
  body?: unknown;
  /** Statuses that count as success (default: any 2xx). */
  expect?: readonly number[];
  timeoutMs?: number;
}

/** One store resource: its path and the property that holds the records in its collection. */
interface Resource<C> {
  path: string;
  key: keyof C & string;
}

const PROVIDERS: Resource<UsageDataProviders> = { path: '/usage-data-providers', key: 'usageDataProviders' };
const AGGREGATORS: Resource<AggregatorSettings> = {
  path: '/aggregator-settings',
  key: 'aggregatorSettings',
};
const COUNTER_REPORTS: Resource<CounterReports> = { path: '/counter-reports', key: 'counterReports' };

export class HarvesterClient {
  readonly baseUrl: string;
  readonly tenant: string;
  private readonly headers: Record<string, string>;
  private readonly transport: Transport;
  private readonly timeoutMs: number;

  constructor(opts: HarvesterClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.tenant = opts.tenant;
    this.timeoutMs = opts.timeoutMs ?? 60_000;
    this.headers = {
      'x-okapi-tenant': opts.tenant,
      accept: 'application/json, text/plain',
      'user-agent': opts.userAgent ?? 'erm-usage-harvester-client',
      ...(opts.token ? { 'x-okapi-token': opts.token } : {}),
    };
    this.transport = opts.fetch ? fetchTransport(opts.fetch) : undiciTransport();
  }

  /** Closes the client's connections. */
  async close(): Promise<void> {
    await this.transport.close();
  }

  /**
   * `POST /admin/credentials/rotate`: re-encrypts every stored credential under the service's current
   * key (docs/credentials.md).
   */
  async rotateCredentials(): Promise<CredentialRotation> {
    return this.json<CredentialRotation>('POST', '/admin/credentials/rotate');
  }

  // ---- COUNTER Registry and consortia (docs/registry.md) ---------------------------------------------

  /** `GET /registry/platforms?q=`: registry platforms matching the words of `q`, best first. */
  async searchRegistry(q: string, opts: { limit?: number } = {}): Promise<RegistryPlatformSummary[]> {
    const res = await this.json<{ platforms: RegistryPlatformSummary[] }>('GET', '/registry/platforms', {
      query: { q, limit: opts.limit },
    });
    return res.platforms;
  }

  /** `GET /registry/platforms/{id}`: one platform with its COUNTER API services. */
  async getRegistryPlatform(id: string): Promise<RegistryPlatformDetail> {
    return this.json<RegistryPlatformDetail>('GET', `/registry/platforms/${encodeURIComponent(id)}`);
  }

  /** `POST /usage-data-providers/from-registry`: a provider created (or completed) from a platform. */
  async createProviderFromRegistry(request: FromRegistryRequest): Promise<FromRegistryResult> {
    return this.json<FromRegistryResult>('POST', '/usage-data-providers/from-registry', {
      body: request,
      expect: [200, 201],
    });
  }

  /** `GET /registry/sync` (report only) or, with `apply`, `POST /registry/sync`. */
  async syncRegistry(opts: RegistrySyncOptions = {}): Promise<RegistrySyncResult> {
    if (!opts.apply) return this.json<RegistrySyncResult>('GET', '/registry/sync');
    return this.json<RegistrySyncResult>('POST', '/registry/sync', { body: opts });
  }

  /** `POST /usage-data-providers/{id}/members/sync`: one provider per consortium member, kept in step. */
  async syncMembers(providerId: string, opts: { apply?: boolean } = {}): Promise<MembersSyncResult> {
    return this.json<MembersSyncResult>(
      'POST',
      `/usage-data-providers/${encodeURIComponent(providerId)}/members/sync`,
      { body: { apply: opts.apply ?? true } },
    );
  }

  // ---- Harvester API ------------------------------------------------------------------------------

  /** `GET /admin/health`: the body (`OK`) when the service is up. */
  async health(): Promise<string> {
    return (await this.send('GET', '/admin/health')).text;
  }

  /** `GET /erm-usage-harvester/impl`: the service implementations, optionally only (non-)aggregators. */
  async getImplementations(opts: { aggregator?: boolean } = {}): Promise<ServiceImplementations> {
    return this.json('GET', `${HARVESTER}/impl`, { query: { aggregator: opts.aggregator } });
  }

  /** `GET /erm-usage-harvester/jobs`: one page of JobInfos (the server's default page size is 10). */
  async getJobs(opts: GetJobsOptions = {}): Promise<JobInfos> {
    return this.json('GET', `${HARVESTER}/jobs`, { query: { ...opts } });
  }

  /** `GET /erm-usage-harvester/jobs/{id}`: one JobInfo (with its `report`), `undefined` when there is none. */
  async getJob(id: string): Promise<JobInfo | undefined> {
    const path = `${HARVESTER}/jobs/${encodeURIComponent(id)}`;
    const res = await this.send('GET', path, { expect: [200, 404] });
    return res.status === 404 ? undefined : parseJson<JobInfo>(res, 'GET', path);
  }

  /** Every JobInfo matching `opts`, page by page; `timestamp` keeps paging stable (see its doc). */
  async *iterateJobs(opts: IterateJobsOptions = {}): AsyncGenerator<JobInfo> {
    const timestamp = opts.timestamp === undefined ? Date.now() : opts.timestamp;
    yield* this.pages(
      (offset, limit) => this.getJobs({ ...opts, timestamp: timestamp ?? undefined, offset, limit }),
      'jobInfos',
      opts.limit,
    );
  }

  /** `GET /erm-usage-harvester/start`: schedules a harvest of every active provider of the tenant. */
  async startAll(): Promise<StartResponse> {
    return this.json('GET', `${HARVESTER}/start`);
  }

  /** `GET /erm-usage-harvester/start/{id}`: schedules a harvest of one provider. */
  async startProvider(providerId: string): Promise<StartResponse> {
    return this.json('GET', `${HARVESTER}/start/${encodeURIComponent(providerId)}`);
  }

  /**
   * `GET /erm-usage-harvester/providers/{id}/check`: asks the provider's `/status` and `/reports` now —
   * reachable, credentials accepted, reports offered, release detected.
   */
  async checkProvider(providerId: string): Promise<ProviderCheck> {
    return this.json('GET', `${HARVESTER}/providers/${encodeURIComponent(providerId)}/check`);
  }

  /**
   * `POST /erm-usage-harvester/start/{id}/again`: harvests months `from`..`to` (yyyy-mm; `to` defaults
   * to `from`) of one provider again, also those already stored; `reports` limits the reports. A month
   * whose items did not change is left as it is; a restated month is replaced and the change recorded.
   */
  async harvestAgain(providerId: string, opts: HarvestAgainOptions): Promise<HarvestAgainResponse> {
    const query = { from: opts.from, to: opts.to, reports: opts.reports?.join(',') };
    return this.json('POST', `${HARVESTER}/start/${encodeURIComponent(providerId)}/again`, { query });
  }

  /**
   * `GET /erm-usage-harvester/counter-reports/changes` (or `/counter-reports/{id}/changes` with
   * `counterReportId`): restatements found by re-harvests, newest first.
   */
  async listReportChanges(opts: ListReportChangesOptions = {}): Promise<ReportChanges> {
    const path =
      opts.counterReportId !== undefined
        ? `${HARVESTER}/counter-reports/${encodeURIComponent(opts.counterReportId)}/changes`
        : `${HARVESTER}/counter-reports/changes`;
    return this.json('GET', path, {
      query: { providerId: opts.providerId, offset: opts.offset, limit: opts.limit },
    });
  }

  /** `GET /erm-usage-harvester/diagnostics`: the diagnostics kept on a provider's months, counted. */
  async getDiagnostics(providerId: string, opts: { reportName?: string } = {}): Promise<ProviderDiagnostics> {
    return this.json('GET', `${HARVESTER}/diagnostics`, {
      query: { providerId, reportName: opts.reportName },
    });
  }

  /** `POST /erm-usage-harvester/jobs/cleanup`: purge stale jobs, then finished jobs past retention. */
  async cleanup(): Promise<void> {
    await this.send('POST', `${HARVESTER}/jobs/cleanup`);
  }

  /** `POST /erm-usage-harvester/jobs/purgefinished`: deletes finished jobs (created at or before `timestamp`). */
  async purgeFinished(opts: { timestamp?: number } = {}): Promise<void> {
    await this.send('POST', `${HARVESTER}/jobs/purgefinished`, { query: { timestamp: opts.timestamp } });
  }

  /** `POST /erm-usage-harvester/jobs/purgestale`: marks jobs that can no longer finish as failed. */
  async purgeStale(): Promise<void> {
    await this.send('POST', `${HARVESTER}/jobs/purgestale`);
  }

  /** `GET /erm-usage-harvester/periodic`: the periodic configuration, `undefined` when none is stored. */
  async getPeriodic(): Promise<PeriodicConfig | undefined> {
    const res = await this.send('GET', PERIODIC, { expect: [200, 404] });
    return res.status === 404 ? undefined : parseJson<PeriodicConfig>(res, 'GET', PERIODIC);
  }

  /** `POST /erm-usage-harvester/periodic`: replaces the configuration and reschedules. */
  async setPeriodic(config: PeriodicConfig): Promise<void> {
    await this.send('POST', PERIODIC, { body: config, expect: [201] });
  }

  /** `DELETE /erm-usage-harvester/periodic`: true if a configuration was deleted, false if none existed. */
  async deletePeriodic(): Promise<boolean> {
    return (await this.send('DELETE', PERIODIC, { expect: [204, 404] })).status === 204;
  }

  /** Polls the jobs until the selected ones have finished; returns them in their final state. */
  async waitForJobs(selector: JobSelector, opts: WaitForJobsOptions = {}): Promise<JobInfo[]> {
    return waitForJobs(this, selector, opts);
  }

  // ---- Tenant API -----------------------------------------------------------------------------------

  /**
   * `POST /_/tenant` with `module_to`: creates or upgrades the tenant's storage and waits until the
   * operation completes (polling `GET /_/tenant/{id}?wait=`). Throws `TenantOperationError` if it failed.
   */
  async enableTenant(moduleTo: string = DEFAULT_MODULE_ID, opts: EnableTenantOptions = {}): Promise<void> {
    const attrs: TenantAttributes = {
      module_to: moduleTo,
      ...(opts.parameters ? { parameters: opts.parameters } : {}),
    };
    const res = await this.send('POST', '/_/tenant', { body: attrs, expect: [201, 204] });
    if (res.status === 204) return;
    const op = parseJson<TenantOperation>(res, 'POST', '/_/tenant');
    const id = op.id ?? res.headers.get('location')?.split('/').pop();
    if (!id) throw new TenantOperationError('the service did not say where to follow the tenant operation');
    await this.awaitTenantOperation(id, op, opts.timeoutMs ?? 120_000);
  }

  /** `POST /_/tenant` without `module_to`: disables the module for the tenant; no data is deleted. */
  async disableTenant(moduleFrom: string = DEFAULT_MODULE_ID): Promise<void> {
    await this.send('POST', '/_/tenant', { body: { module_from: moduleFrom }, expect: [204] });
  }

  /** `POST /_/tenant` with `purge: true`: deletes all of the tenant's data. */
  async purgeTenant(moduleFrom: string = DEFAULT_MODULE_ID): Promise<void> {
    await this.send('POST', '/_/tenant', { body: { module_from: moduleFrom, purge: true }, expect: [204] });
  }

  // ---- Store: usage data providers ------------------------------------------------------------------

  async listProviders(opts: ListOptions = {}): Promise<UsageDataProviders> {
    return this.list(PROVIDERS, opts);
  }
  iterateProviders(opts: IterateOptions = {}): AsyncGenerator<UsageDataProvider> {
    return this.iterate(PROVIDERS, opts);
  }
  /** One provider; its credentials masked unless `reveal` (which needs the service token). */
  async getProvider(id: string, opts: { reveal?: boolean } = {}): Promise<UsageDataProvider> {
    return this.json<UsageDataProvider>('GET', itemPath(PROVIDERS, id), { query: { ...opts } });
  }
  /** Creates the provider; returns it as stored (with its id and derived fields). */
  async createProvider(record: UsageDataProvider): Promise<UsageDataProvider> {
    return this.createRecord(PROVIDERS, record);
  }
  async updateProvider(id: string, record: UsageDataProvider): Promise<void> {
    await this.updateRecord(PROVIDERS, id, record);
  }
  /** Deletes the provider and its counter reports. */
  async deleteProvider(id: string): Promise<void> {
    await this.deleteRecord(PROVIDERS, id);
  }

  // ---- Store: aggregator settings -------------------------------------------------------------------

  async listAggregators(opts: ListOptions = {}): Promise<AggregatorSettings> {
    return this.list(AGGREGATORS, opts);
  }
  iterateAggregators(opts: IterateOptions = {}): AsyncGenerator<AggregatorSetting> {
    return this.iterate(AGGREGATORS, opts);
  }
  /** One aggregator setting; its credentials masked unless `reveal` (which needs the service token). */
  async getAggregator(id: string, opts: { reveal?: boolean } = {}): Promise<AggregatorSetting> {
    return this.json<AggregatorSetting>('GET', itemPath(AGGREGATORS, id), { query: { ...opts } });
  }
  async createAggregator(record: AggregatorSetting): Promise<AggregatorSetting> {
    return this.createRecord(AGGREGATORS, record);
  }
  async updateAggregator(id: string, record: AggregatorSetting): Promise<void> {
    await this.updateRecord(AGGREGATORS, id, record);
  }
  async deleteAggregator(id: string): Promise<void> {
    await this.deleteRecord(AGGREGATORS, id);
  }

  // ---- Store: counter reports -----------------------------------------------------------------------

  /** `tiny: true` leaves out each record's `report` data. */
  async listCounterReports(opts: ListCounterReportsOptions = {}): Promise<CounterReports> {
    return this.list(COUNTER_REPORTS, opts);
  }
  iterateCounterReports(opts: IterateCounterReportsOptions = {}): AsyncGenerator<CounterReport> {
    return this.iterate(COUNTER_REPORTS, opts);
  }
  async getCounterReport(id: string): Promise<CounterReport> {
    return this.getRecord(COUNTER_REPORTS, id);
  }
  async createCounterReport(record: CounterReport): Promise<CounterReport> {
    return this.createRecord(COUNTER_REPORTS, record);
  }
  async updateCounterReport(id: string, record: CounterReport): Promise<void> {
    await this.updateRecord(COUNTER_REPORTS, id, record);
  }
  async deleteCounterReport(id: string): Promise<void> {
    await this.deleteRecord(COUNTER_REPORTS, id);
  }
  /** `POST /counter-reports/reports/delete`: deletes the given months (unknown ids are skipped). */
  async deleteCounterReports(ids: string[]): Promise<void> {
    await this.send('POST', `${COUNTER_REPORTS.path}/reports/delete`, { body: ids, expect: [204] });
  }

  // ---- Store: exports and downloads (docs/counter-tabular.md) ----------------------------------------

  /** `GET /counter-reports/export/{id}`: one stored month as a COUNTER file (default csv). */
  async exportCounterReport(id: string, opts: { format?: ExportFormat } = {}): Promise<Download> {
    return this.download(exportCounterReportPath(id, opts.format));
  }
  /** The months `from..to` of one report or standard view merged into one COUNTER file (default csv). */
  async exportCounterReportRange(opts: ExportRangeOptions): Promise<Download> {
    return this.download(exportCounterReportRangePath(opts));
  }
  /** `GET /counter-reports/{id}/download`: the stored month in its original format (COUNTER JSON). */
  async downloadCounterReport(id: string): Promise<Download> {
    return this.download(`${itemPath(COUNTER_REPORTS, id)}/download`);
  }
  /** `GET /counter-reports/sorted/{udpId}`: a provider's months by year and report, without report data. */
  async listCounterReportsSorted(providerId: string): Promise<CounterReportsSorted> {
    return this.json<CounterReportsSorted>(
      'GET',
      `${COUNTER_REPORTS.path}/sorted/${encodeURIComponent(providerId)}`,
    );
  }

  // ---- internals ------------------------------------------------------------------------------------

  // ---- Usage and uploads (standalone store) ---------------------------------------------------------

  /** `GET /usage/totals`: totals per month and metric of one report (one provider or the tenant). */
  async usageTotals(opts: UsageQueryOptions): Promise<UsageTotals> {
    return this.json('GET', '/usage/totals', { query: { ...opts } });
  }

  /** `GET /usage/top`: the items with the highest sum of `metric` over the months. */
  async usageTop(opts: UsageQueryOptions & { metric: string; limit?: number }): Promise<UsageTop> {
    return this.json('GET', '/usage/top', { query: { ...opts } });
  }

  /** `GET /usage/reports`: the reports with usage, their release, span and metrics. */
  async usageReports(providerId?: string): Promise<UsageReports> {
    return this.json('GET', '/usage/reports', { query: { providerId } });
  }

  /**
   * `POST /counter-reports/multipartupload/provider/{id}`: uploads one COUNTER file (R5 JSON; R5 or R4 tsv, csv
   * or xlsx; the format is taken from `fileName`). `file` is sent as it is read (a Blob from
   * `fs.openAsBlob` streams from disk). A refused file throws HarvesterApiError with status 400 whose
   * body is a ReportUploadError.
   */
  async uploadCounterReport(
    providerId: string,
    file: Blob,
    fileName: string,
    opts: { overwrite?: boolean; timeoutMs?: number } = {},
  ): Promise<UploadResult> {
    const path = `/counter-reports/multipartupload/provider/${encodeURIComponent(providerId)}`;
    const url = this.baseUrl + path + queryString({ overwrite: opts.overwrite === true ? 'true' : 'false' });
    const form = new FormData();
    form.append('file', file, fileName);
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { ...this.headers },
        body: form,
        signal: AbortSignal.timeout(opts.timeoutMs ?? Math.max(this.timeoutMs, 30 * 60_000)),
      });
    } catch (err) {
      throw new HarvesterConnectionError(this.baseUrl, err);
    }
    const text = await res.text();
    if (res.status !== 200) throw new HarvesterApiError(res.status, text, 'POST', path, res.statusText);
    const ids = text.replace(/^Saved report with ids:\s*/, '').trim();
    return { ids: ids === '' ? [] : ids.split(',') };
  }

  private async awaitTenantOperation(id: string, first: TenantOperation, timeoutMs: number): Promise<void> {
    const path = `/_/tenant/${encodeURIComponent(id)}`;
    const deadline = Date.now() + timeoutMs;
    let op = first;
    while (!op.complete) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new TenantOperationError(
          `tenant ${this.tenant}: operation ${id} did not complete in ${timeoutMs} ms`,
        );
      const wait = Math.min(left, 5000);
      op = await this.json<TenantOperation>('GET', path, {
        query: { wait },
        timeoutMs: wait + this.timeoutMs,
      });
      if (!op.complete) await sleep(Math.min(100, left));
    }
    await this.send('DELETE', path).catch(() => {});
    if (op.error) throw new TenantOperationError(`enabling tenant ${this.tenant} failed: ${op.error}`);
  }

  private async list<C>(res: Resource<C>, opts: ListCounterReportsOptions): Promise<C> {
    return this.json<C>('GET', res.path, { query: { ...opts } });
  }

  private iterate<C, T>(res: Resource<C>, opts: IterateCounterReportsOptions): AsyncGenerator<T> {
    return this.pages<C, T>(
      (offset, limit) => this.list(res, { ...opts, offset, limit }),
      res.key,
      opts.limit,
    );
  }

  private async getRecord<C, T>(res: Resource<C>, id: string): Promise<T> {
    return this.json<T>('GET', itemPath(res, id));
  }

  private async createRecord<C, T>(res: Resource<C>, record: T): Promise<T> {
    return this.json<T>('POST', res.path, { body: record, expect: [201] });
  }

  private async updateRecord<C, T>(res: Resource<C>, id: string, record: T): Promise<void> {
    await this.send('PUT', itemPath(res, id), { body: record, expect: [204] });
  }

  private async deleteRecord<C>(res: Resource<C>, id: string): Promise<void> {
    await this.send('DELETE', itemPath(res, id), { expect: [204] });
  }

  /** Walks a paged collection: `fetchPage(offset, limit)` until a short page or `totalRecords`. */
  private async *pages<C, T>(
    fetchPage: (offset: number, limit: number) => Promise<C>,
    key: keyof C,
    pageSize = DEFAULT_PAGE_SIZE,
  ): AsyncGenerator<T> {
    const limit = Math.max(1, pageSize);
    for (let offset = 0; ;) {
      const page = await fetchPage(offset, limit);
      const records = (page[key] ?? []) as T[];
      const total = (page as { totalRecords?: number }).totalRecords ?? 0;
      yield* records;
      offset += records.length;
      if (records.length < limit || offset >= total) return;
    }
  }

  /** GET of a file: its bytes streamed; a non-2xx answer is read in full and thrown. */
  private async download(path: string): Promise<Download> {
    let res: HttpStreamResponse;
    try {
      res = await this.transport.stream({
        method: 'GET',
        url: this.baseUrl + path,
        headers: { ...this.headers, accept: '*/*' },
        timeoutMs: this.timeoutMs,
      });
    } catch (err) {
      throw new HarvesterConnectionError(this.baseUrl, err);
    }
    if (res.status < 200 || res.status >= 300) {
      const text = (await readAll(res.body)).toString('utf8');
      throw new HarvesterApiError(res.status, text, 'GET', path, res.statusText);
    }
    const body = res.body;
    const fileName = fileNameOf(res.headers.get('content-disposition'));
    return {
      ...(fileName !== undefined && { fileName }),
      contentType: res.headers.get('content-type') ?? 'application/octet-stream',
      body,
      buffer: () => readAll(body),
    };
  }

  private async json<T>(method: string, path: string, opts: SendOptions = {}): Promise<T> {
    return parseJson<T>(await this.send(method, path, opts), method, path);
  }

  private async send(method: string, path: string, opts: SendOptions = {}): Promise<HttpResponse> {
    const url = this.baseUrl + path + queryString(opts.query);
    const headers = { ...this.headers };
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] = 'application/json';
    }
    let res: HttpResponse;
    try {
      res = await this.transport.send({
        method,
        url,
        headers,
        body,
        timeoutMs: opts.timeoutMs ?? this.timeoutMs,
      });
    } catch (err) {
      throw new HarvesterConnectionError(this.baseUrl, err);
    }
    const ok = opts.expect ? opts.expect.includes(res.status) : res.status >= 200 && res.status < 300;
    if (!ok) throw new HarvesterApiError(res.status, res.text, method, path, res.statusText);
    return res;
  }
}

/** `application/x-www-form-urlencoded`, as FOLIO clients send it: spaces become `+`. Empty values are left out. */
export function queryString(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === '') continue;
    params.set(k, String(v));
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

/** The path of a one-month export (`/counter-reports/export/{id}?format=…`), e.g. for a download link. */
export function exportCounterReportPath(id: string, format?: ExportFormat): string {
  return `${COUNTER_REPORTS.path}/export/${encodeURIComponent(id)}${queryString({ format })}`;
}

/** The path of a range export, as mod-erm-usage spells it, e.g. for a download link. */
export function exportCounterReportRangePath(opts: ExportRangeOptions): string {
  const part = encodeURIComponent;
  return (
    `${COUNTER_REPORTS.path}/export/provider/${part(opts.providerId)}/report/${part(opts.report)}` +
    `/version/${part(opts.release)}/from/${part(opts.from)}/to/${part(opts.to)}${queryString({ format: opts.format })}`
  );
}

/** The file name of a `Content-Disposition` value (`filename*` preferred). */
export function fileNameOf(disposition: string | null): string | undefined {
  if (!disposition) return undefined;
  const extended = /filename\*=UTF-8''([^;]+)/i.exec(disposition);
  if (extended) return decodeURIComponent(extended[1]);
  return /filename="([^"]*)"/i.exec(disposition)?.[1] ?? /filename=([^;]+)/i.exec(disposition)?.[1]?.trim();
}

async function readAll(body: AsyncIterable<unknown>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of body)
    parts.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array));
  return Buffer.concat(parts);
}

function itemPath<C>(res: Resource<C>, id: string): string {
  return `${res.path}/${encodeURIComponent(id)}`;
}

function parseJson<T>(res: HttpResponse, method: string, path: string): T {
  if (res.text.trim() === '') return undefined as T;
  try {
    return JSON.parse(res.text) as T;
  } catch {
    throw new HarvesterClientError(`${method} ${path}: the answer (HTTP ${res.status}) is not JSON`);
  }
}
