import { setMaxListeners } from 'node:events';
/**
 * The harvesting engine: the provider run (spec §7, with the improvements of §8 and the issue's
 * exception policy) on top of the durable work-item queue.
 *
 * A provider job binds the provider to its service implementation, records the harvest attempt,
 * plans the missing (report, months), and puts one work item per request into `harvester.work_items`.
 * Item workers in every process take items as politeness allows, fetch, let the policy table decide,
 * and store month by month with FOLIO's upsert rule. The provider job ends when its last item is done.
 */
import { formatDateTime } from '../dates.ts';
import type { ServiceContext } from '../context.ts';
import type { SushiException, YearMonth } from '../counter/index.ts';
import type { AggregatorSetting, CounterReport, UsageDataProvider } from '../model/records.ts';
import type { ErmStore } from '../erm/port.ts';
import { parseIntSetting } from '../jobs/settings.ts';
import { Loop } from '../jobs/loop.ts';
import type { HarvestProvider } from '../jobs/runner.ts';
import type { Logger } from '../log.ts';
import { secrets } from '../log.ts';
import { redactSecrets } from '../redact.ts';
import { createEndpoint } from '../sushi/registry.ts';
import type { FetchResult, MonthSource, ServiceEndpoint, TransportOptions } from '../sushi/types.ts';
import { notReadyState, type HarvestState } from './month-state.ts';
import { expandItem, itemDates, itemMonths, planWorkItems, type WorkItem } from './planner.ts';
import { decide, type PolicyDecision } from './policy.ts';
import { HarvestRuns } from './runs.ts';
import { findMonth, monthsToStore, upsertMonth, type MonthKey, type MonthOutcome } from './upload.ts';
import { WorkItemQueue, type ClaimedItem, type EndpointPoliteness } from './work-items.ts';

/** A failure that ends a provider job; `name` becomes the first part of the JobInfo errorMessage. */
export class HarvestRunError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

interface JobRuntime {
  tenant: string;
  provider: UsageDataProvider;
  aggregator?: AggregatorSetting;
  endpoint: ServiceEndpoint;
  maxFailedAttempts: number;
  loadedAt: number;
}

const RUNTIME_TTL_MS = 10 * 60_000;
const CREDENTIAL_CODES = new Set([2000, 2010, 2020, 2030, 401, 403]);

/** Provider-level politeness overrides: `harvestingConfig.politeness: { maxInFlight, minIntervalMs }`. */
function politenessOf(provider: UsageDataProvider, dflt: EndpointPoliteness): EndpointPoliteness {
  const raw = provider.harvestingConfig?.politeness;
  const p = raw && typeof raw === 'object' ? (raw as Record<string, unknown>) : {};
  const positive = (v: unknown, d: number, min: number) =>
    typeof v === 'number' && Number.isInteger(v) && v >= min ? v : d;
  return {
    maxInFlight: positive(p.maxInFlight, dflt.maxInFlight, 1),
    minIntervalMs: positive(p.minIntervalMs, dflt.minIntervalMs, 0),
  };
}

/** Items whose months are already covered by items of the job that still exist (a resumed job). */
function subtractCovered(planned: WorkItem[], pending: WorkItem[]): WorkItem[] {
  const covered = new Set(
    pending.flatMap((p) => itemMonths(p).map((m) => `${p.reportName.toUpperCase()}|${m}`)),
  );
  return planned.filter((item) =>
    itemMonths(item).some((m) => !covered.has(`${item.reportName.toUpperCase()}|${m}`)),
  );
}

/** Ends a detached provider job once (the job service's `completeDetached`). */
export type JobCompletion = (jobId: string, errorMessage?: string) => Promise<boolean>;

export class HarvestEngine {
  readonly queue: WorkItemQueue;
  readonly runs: HarvestRuns;
  private readonly runtimes = new Map<string, JobRuntime>();
  private readonly running = new Map<string, Promise<void>>();
  private readonly loops: Loop[] = [];
  private readonly workers: Loop;
  private readonly abort = new AbortController();
  private stopping = false;
  private complete: JobCompletion = async () => false;

  constructor(
    private readonly ctx: ServiceContext,
    private readonly erm: ErmStore,
  ) {
    const cfg = ctx.config;
    this.queue = new WorkItemQueue(
      ctx.db,
      cfg.instanceId,
      cfg.staleHeartbeatMinutes * 60_000,
      cfg.harvest.providerRequestConcurrency,
    );
    this.runs = new HarvestRuns(ctx.db);
    // Every request in flight links this one stop signal (a listener each): no warning at high concurrency.
    setMaxListeners(0, this.abort.signal);
    this.workers = new Loop('harvest:items', cfg.queuePollMs, () => this.fill(), ctx.log);
  }

  private get cfg() {
    return this.ctx.config.harvest;
  }

  private now(): number {
    return this.ctx.clock.now();
  }

  private transport(): TransportOptions {
    const c = this.cfg;
    return {
      connectTimeoutMs: c.connectTimeoutMs,
      headersTimeoutMs: c.headersTimeoutMs,
      idleTimeoutMs: c.idleTimeoutMs,
      totalTimeoutMs: c.totalTimeoutMs,
      maxResponseBytes: c.maxResponseBytes,
      userAgent: c.userAgent,
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Provider job

  /** The hook the job service calls for each provider job (spec §7.1 from step 2 on). */
  readonly harvestProvider: HarvestProvider = async (tenant, provider, job) => {
    const runtime = await this.bind(tenant, provider);
    await this.recordHarvestAttempt(tenant, provider, job.log);
    runtime.maxFailedAttempts = await this.maxFailedAttempts(tenant, job.log);
    this.runtimes.set(job.jobId, runtime);
    try {
      const pending = await this.queue.pendingForJob(job.jobId);
      const planned = await planWorkItems(this.erm, tenant, provider, {
        maxFailedAttempts: runtime.maxFailedAttempts,
        now: this.now(),
        singleMonthReports: this.cfg.singleMonthReports,
      });
      const items = subtractCovered(planned, pending);
      if (items.length === 0 && pending.length === 0) {
        job.log.info(
          { event: 'no-reports' },
          `Tenant: ${tenant}, Provider: ${provider.label}, no reports to harvest`,
        );
        return;
      }
      await this.runs.open(job.jobId, tenant, provider.id, this.now());
      const politeness = politenessOf(provider, {
        maxInFlight: this.cfg.endpointMaxInFlight,
        minIntervalMs: this.cfg.endpointMinIntervalMs,
      });
      await this.ctx.db.transaction(async (tx) => {
        await this.queue.configureEndpoint(tx, runtime.endpoint.endpointKey, politeness);
        await this.queue.enqueue(
          tx,
          { tenant, jobId: job.jobId, providerId: provider.id, endpoint: runtime.endpoint.endpointKey },
          items,
          this.now(),
        );
        // The job now lives in its work items: its worker slot is free, and it ends with the last item.
        await job.detach(tx);
      });
      job.log.info(
        { event: 'planned', items: items.length },
        `Tenant: ${tenant}, Provider: ${provider.label}, ${items.length} requests planned`,
      );
      this.workers.wake();
      return 'detached';
    } catch (err) {
      this.runtimes.delete(job.jobId);
      throw err;
    }
  };

  /** Spec §7.1 step 2: aggregator, implementation, construction. */
  private async bind(tenant: string, provider: UsageDataProvider): Promise<JobRuntime> {
    const cfg = provider.harvestingConfig ?? {};
    let aggregator: AggregatorSetting | undefined;
    const aggregatorId = cfg.aggregator?.id;
    if (cfg.harvestVia === 'aggregator' && aggregatorId) {
      try {
        aggregator = await this.erm.getAggregator(tenant, aggregatorId);
      } catch (err) {
        throw new HarvestRunError(
          'AggregatorError',
          `Failed getting AggregatorSetting for id ${aggregatorId}: ${(err as Error).message}`,
        );
      }
      secrets.addFromRecord(aggregator);
    }
    const endpoint = createEndpoint(provider, aggregator, this.transport(), {
      enableStandardViews: this.cfg.enableStandardViews,
    });
    for (const s of endpoint.secrets) secrets.add(s);
    return {
      tenant,
      provider,
      aggregator,
      endpoint,
      maxFailedAttempts: this.ctx.config.maxFailedAttempts,
      loadedAt: this.now(),
    };
  }

  /** Spec §7.2: PUT the provider as loaded plus `harvestingDate`; failures are only logged. */
  private async recordHarvestAttempt(
    tenant: string,
    provider: UsageDataProvider,
    log: Logger,
  ): Promise<void> {
    try {
      await this.erm.putProvider(tenant, { ...provider, harvestingDate: formatDateTime(this.now()) });
    } catch (err) {
      log.warn({ event: 'harvesting-date' }, `Failed updating harvestingDate: ${(err as Error).message}`);
    }
  }

  /** Spec §6.9: `max_failed_attempts`, default from the configuration. */
  private async maxFailedAttempts(tenant: string, log: Logger): Promise<number> {
    try {
      const value = await this.erm.getSetting(tenant, 'max_failed_attempts');
      if (value === undefined || value === null) return this.ctx.config.maxFailedAttempts;
      const parsed = parseIntSetting(value);
      if (parsed === undefined) {
        log.warn({ value }, 'max_failed_attempts is not an integer; using the default');
        return this.ctx.config.maxFailedAttempts;
      }
      log.info({ event: 'config' }, `Using config value max_failed_attempts=${parsed}`);
      return parsed;
    } catch (err) {
      log.warn(
        { err: (err as Error).message },
        'Failed getting settings value max_failed_attempts; using the default',
      );
      return this.ctx.config.maxFailedAttempts;
    }
  }

  /** How a provider job whose items are all done is ended (wired by the composition root). */
  setJobCompletion(complete: JobCompletion): void {
    this.complete = complete;
  }

  /** Ends the job when none of its items is left; safe to call from several processes at once. */
  private async finishJobIfDone(jobId: string): Promise<void> {
    if ((await this.queue.countForJob(jobId)) > 0) return;
    const run = await this.runs.get(jobId);
    let errorMessage: string | undefined;
    if (run?.failure) {
      const { name, message } = JSON.parse(run.failure) as { name: string; message: string };
      errorMessage = secrets.redact(`${name}: ${message}`);
    }
    await this.complete(jobId, errorMessage);
    await this.runs.close(jobId);
    this.runtimes.delete(jobId);
  }

  // ---------------------------------------------------------------------------------------------
  // Item workers

  async start(): Promise<void> {
    // The embedded database has one owner: whatever was running belonged to a process that is gone.
    if (this.ctx.db.kind === 'pglite') await this.queue.requeueAllRunning();
    else await this.queue.requeueOwn();
    const cfg = this.ctx.config;
    this.loops.push(new Loop('harvest:heartbeat', cfg.heartbeatIntervalMs, () => this.beat(), this.ctx.log));
    this.loops.push(
      new Loop(
        'harvest:reaper',
        Math.max(1000, Math.min(60_000, cfg.staleHeartbeatMinutes * 30_000)),
        () => this.reap(),
        this.ctx.log,
      ),
    );
    for (const loop of this.loops) loop.start();
    this.workers.start();
    this.workers.wake();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.abort.abort();
    await Promise.all([this.workers.stop(), ...this.loops.map((l) => l.stop())]);
    await Promise.allSettled([...this.running.values()]);
    // Requests cut off by the stop are made again by the next process that takes them.
    await this.queue.requeueOwn().catch(() => {});
  }

  /** Wakes the workers (new items, or a test moved the clock). */
  wake(): void {
    this.workers.wake();
  }

  private async beat(): Promise<void> {
    if (this.running.size > 0) await this.queue.heartbeat(this.now());
  }

  private async reap(): Promise<void> {
    const n = await this.queue.requeueDead(this.now());
    if (n > 0) {
      this.ctx.log.warn({ items: n }, 'requests of a stopped process put back in the queue');
      this.workers.wake();
    }
    // A process that died between its job's last item and the job's end leaves a waiting job without items.
    for (const jobId of await this.queue.waitingJobsWithoutItems()) await this.finishJobIfDone(jobId);
  }

  private async fill(): Promise<void> {
    while (!this.stopping && this.running.size < this.cfg.requestConcurrency) {
      const item = await this.queue.claim(this.now());
      if (!item) break;
      const done = this.processAndFinish(item)
        .catch((err: unknown) =>
          this.ctx.log.error({ err: String(err), item: item.id }, 'work item failed unexpectedly'),
        )
        .finally(() => {
          this.running.delete(item.id);
          this.workers.wake();
        });
      this.running.set(item.id, done);
    }
  }

  private async runtimeFor(item: ClaimedItem): Promise<JobRuntime> {
    const cached = this.runtimes.get(item.jobId);
    if (cached && this.now() - cached.loadedAt < RUNTIME_TTL_MS) return cached;
    const provider = await this.erm.getProvider(item.tenant, item.providerId);
    secrets.addFromRecord(provider);
    const runtime = await this.bind(item.tenant, provider);
    runtime.maxFailedAttempts = await this.maxFailedAttempts(item.tenant, this.ctx.log);
    this.runtimes.set(item.jobId, runtime);
    return runtime;
  }

  private logFor(item: ClaimedItem, rt?: JobRuntime): Logger {
    return this.ctx.log.child({
      tenant: item.tenant,
      providerId: item.providerId,
      provider: rt?.provider.label,
      jobId: item.jobId,
      report: item.reportName,
      begin: item.begin,
      end: item.end,
    });
  }

  /** One request; when it was its job's last item, the job ends here (not at the reaper's next round). */
  private async processAndFinish(item: ClaimedItem): Promise<void> {
    await this.process(item);
    if (!this.abort.signal.aborted) await this.finishJobIfDone(item.jobId);
  }

  /** One request, start to end; every outcome ends with the item removed, re-queued or expanded. */
  private async process(item: ClaimedItem): Promise<void> {
    const run = await this.runs.get(item.jobId);
    if (run?.failure) {
      await this.queue.remove(item.id);
      return;
    }
    let rt: JobRuntime;
    try {
      rt = await this.runtimeFor(item);
    } catch (err) {
      this.logFor(item).error(
        { err: (err as Error).message },
        'cannot prepare the request; the item is dropped',
      );
      await this.runs.fail(
        item.jobId,
        JSON.stringify({ name: 'ProviderError', message: (err as Error).message }),
      );
      await this.queue.remove(item.id);
      return;
    }
    const log = this.logFor(item, rt);
    let result: FetchResult;
    try {
      result = await rt.endpoint.fetchReport(
        { reportName: item.reportName, ...itemDates(item) },
        { signal: this.abort.signal },
      );
    } catch (err) {
      const e = err as Error;
      result = { kind: 'failure', cause: 'transport', exceptions: [], reason: `${e.name}: ${e.message}` };
    }
    if (this.abort.signal.aborted) {
      // Stopping: the item goes back to the queue untouched.
      if (result.kind === 'data') await result.data.dispose().catch(() => {});
      return;
    }
    const decision = decide(result);
    log.info(
      { event: 'response', rule: decision.rule, action: decision.action, code: decision.code },
      'report response',
    );
    let endpointWait = 0;
    try {
      endpointWait = await this.act(item, rt, result, decision, log);
    } finally {
      await this.queue.releaseEndpoint(item.endpoint, this.now(), endpointWait);
      if (run?.rateLimited)
        await this.runs.spaceRequests(item.jobId, this.now() + this.cfg.rateLimitedSpacingMs);
      if (result.kind === 'data') await result.data.dispose().catch(() => {});
    }
  }

  /** Carries out the policy decision; returns how long the endpoint must rest beyond its spacing. */
  private async act(
    item: ClaimedItem,
    rt: JobRuntime,
    result: FetchResult,
    decision: PolicyDecision,
    log: Logger,
  ): Promise<number> {
    const reason = result.kind === 'failure' ? this.scrub(result.reason, rt) : '';
    switch (decision.action) {
      case 'store':
      case 'store-partial':
      case 'store-empty':
        if (result.kind === 'data') {
          const state: HarvestState | undefined =
            decision.action === 'store-partial'
              ? { state: 'partial', code: 3040 }
              : decision.action === 'store-empty'
                ? { state: 'empty', code: decision.code ?? 3030 }
                : undefined;
          await this.storeData(item, rt, result.data, state, log);
        } else {
          await this.storeEmptyMonths(item, rt, result.exceptions, log);
        }
        await this.queue.remove(item.id);
        return 0;
      case 'defer':
        return this.defer(item, rt, decision, reason, log);
      case 'rate-limit':
        return this.rateLimit(item, rt, decision, reason, log);
      case 'stop-job':
      case 'stop-report':
        await this.stopRun(item, rt, decision, reason, log);
        return 0;
      case 'not-ready':
        await this.failItem(
          item,
          rt,
          reason,
          'uncounted',
          (existing) => notReadyState(existing, this.now()),
          log,
        );
        return 0;
      case 'terminal':
        await this.failItem(
          item,
          rt,
          reason,
          'terminal',
          () => ({ state: 'unavailable', code: decision.code }),
          log,
        );
        return 0;
      case 'fail':
        if (decision.expand && item.begin !== item.end) {
          const months = expandItem(item);
          log.info(
            { event: 'expanded', months: months.length },
            `expanded ${item.reportName} ${item.begin}..${item.end} into ${months.length} months`,
          );
          await this.queue.expand(item, months, this.now());
          return 0;
        }
        await this.failItem(
          item,
          rt,
          reason,
          'counted',
          () => ({ state: 'failed', code: decision.code }),
          log,
        );
        return 0;
    }
  }

  private scrub(text: string, rt: JobRuntime): string {
    return redactSecrets(text, [...rt.endpoint.secrets, ...secrets]);
  }

  private deferDelay(decision: PolicyDecision, deferrals: number): number {
    const queued = decision.code === 1011 || decision.code === 202;
    const base = queued ? this.cfg.deferQueuedMs : this.cfg.deferBusyMs;
    const growth = queued ? [1, 1, 2, 3, 6][Math.min(deferrals - 1, 4)] : 2 ** (deferrals - 1);
    const retryAfter = Math.min(decision.retryAfterMs ?? 0, this.cfg.maxRetryAfterMs);
    return Math.max(base * growth, retryAfter);
  }

  private async defer(
    item: ClaimedItem,
    rt: JobRuntime,
    decision: PolicyDecision,
    reason: string,
    log: Logger,
  ): Promise<number> {
    const now = this.now();
    const deferrals = item.deferrals + 1;
    const first = item.firstDeferredAt ?? now;
    if (deferrals > this.cfg.maxDeferrals || now - first > this.cfg.deferBudgetMs) {
      log.warn(
        { event: 'deferral-exhausted', deferrals: item.deferrals },
        'deferral budget exhausted; months recorded as failed (not counted)',
      );
      await this.failItem(
        item,
        rt,
        reason,
        'uncounted',
        () => ({ state: 'deferred_timeout', code: decision.code }),
        log,
      );
      return 0;
    }
    const delay = this.deferDelay(decision, deferrals);
    log.info({ event: 'deferred', deferrals, delayMs: delay, code: decision.code }, 'request deferred');
    await this.queue.requeue(item, now + delay, { deferrals, firstDeferredAt: first });
    // A busy or unavailable service rests as a whole; a queued report does not block other requests.
    return decision.code === 1011 || decision.code === 202 ? 0 : delay;
  }

  private async rateLimit(
    item: ClaimedItem,
    rt: JobRuntime,
    decision: PolicyDecision,
    reason: string,
    log: Logger,
  ): Promise<number> {
    const now = this.now();
    const retries = item.rateLimitRetries + 1;
    await this.runs.markRateLimited(item.jobId, now + this.cfg.rateLimitedSpacingMs);
    const wait =
      decision.retryAfterMs !== undefined
        ? Math.min(decision.retryAfterMs, this.cfg.maxRetryAfterMs)
        : (this.cfg.rateLimitDelaysMs[Math.min(retries - 1, this.cfg.rateLimitDelaysMs.length - 1)] ?? 0);
    if (retries > this.cfg.rateLimitRetries) {
      log.warn({ event: 'rate-limit-exhausted' }, 'too many requests: retries exhausted');
      await this.failItem(
        item,
        rt,
        `TooManyRequestsException: ${reason}`,
        'counted',
        () => ({ state: 'failed', code: 1020 }),
        log,
      );
      return wait;
    }
    log.info({ event: 'rate-limited', retry: retries, waitMs: wait }, 'too many requests: retry later');
    await this.queue.requeue(item, now + wait, { rateLimitRetries: retries });
    return wait;
  }

  /** Credentials or configuration rejected, or a report not supported: no request storm. */
  private async stopRun(
    item: ClaimedItem,
    rt: JobRuntime,
    decision: PolicyDecision,
    reason: string,
    log: Logger,
  ): Promise<void> {
    const scopeReport = decision.action === 'stop-report' ? item.reportName : undefined;
    const state = (): HarvestState => ({ state: 'failed', code: decision.code });
    await this.failItem(item, rt, reason, 'counted', state, log);
    const skipped = await this.queue.takeQueued(item.jobId, scopeReport);
    for (const other of skipped)
      await this.failMonths(other, rt, itemMonths(other), reason, 'counted', state, log);
    log.warn(
      {
        event: 'stopped',
        skippedRequests: skipped.length,
        scope: scopeReport ? 'report' : 'job',
        code: decision.code,
      },
      scopeReport
        ? `report ${item.reportName} not supported: skipping its other requests`
        : 'provider run stopped',
    );
    if (decision.action === 'stop-job') {
      const name =
        decision.code !== undefined && CREDENTIAL_CODES.has(decision.code)
          ? 'CredentialsRejected'
          : 'ConfigurationError';
      await this.runs.fail(item.jobId, JSON.stringify({ name, message: reason }));
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Storing

  private recordReportName(rt: JobRuntime, reportName: string): string {
    return rt.endpoint.release === '4' ? reportName : reportName.toUpperCase();
  }

  private keyFor(item: WorkItem & { providerId: string }, rt: JobRuntime, yearMonth: YearMonth): MonthKey {
    return {
      providerId: item.providerId,
      release: rt.endpoint.release,
      reportName: this.recordReportName(rt, item.reportName),
      yearMonth,
    };
  }

  /** Uploads one month; false when the upload stop rule ended the run. */
  private async upload(
    item: ClaimedItem,
    rt: JobRuntime,
    yearMonth: YearMonth,
    outcome: MonthOutcome,
    downloadTime: string,
    log: Logger,
    existing?: CounterReport | null,
  ): Promise<boolean> {
    try {
      await upsertMonth(
        this.erm,
        item.tenant,
        this.keyFor(item, rt, yearMonth),
        outcome,
        downloadTime,
        rt.maxFailedAttempts,
        existing,
      );
      await this.runs.recordUpload(item.jobId, true);
      return true;
    } catch (err) {
      const inRow = await this.runs.recordUpload(item.jobId, false);
      log.error(
        { event: 'upload-failed', yearMonth },
        `Upload of ${item.reportName} ${yearMonth} ${this.scrub((err as Error).message, rt)}`,
      );
      if (inRow >= this.cfg.uploadFailureLimit) {
        await this.runs.fail(
          item.jobId,
          JSON.stringify({
            name: 'UploadError',
            message: `Stopping after ${this.cfg.uploadFailureLimit} failed uploads in a row`,
          }),
        );
        await this.queue.takeQueued(item.jobId);
        return false;
      }
      return true;
    }
  }

  private async storeData(
    item: ClaimedItem,
    rt: JobRuntime,
    data: MonthSource,
    state: HarvestState | undefined,
    log: Logger,
  ): Promise<void> {
    const downloadTime = formatDateTime(this.now());
    const stored = new Set<YearMonth>();
    for await (const month of monthsToStore(data, state)) {
      stored.add(month.yearMonth);
      if (!(await this.upload(item, rt, month.yearMonth, month.outcome, downloadTime, log))) return;
    }
    if (data.exceptions.length > 0)
      log.warn(
        { event: 'exceptions-kept', codes: data.exceptions.map((e) => e.code) },
        'report stored with exceptions',
      );
    // Requested months the answer left out: named as not ready (3031) they wait for the re-check.
    const missing = itemMonths(item).filter((m) => !stored.has(m));
    const notReady = data.exceptions.find((e) => e.code === 3031);
    if (missing.length > 0 && notReady) {
      const reason = this.scrub(`Report not valid: ${JSON.stringify([notReady.raw])}`, rt);
      await this.failMonths(
        item,
        rt,
        missing,
        reason,
        'uncounted',
        (existing) => notReadyState(existing, this.now()),
        log,
      );
    }
  }

  /** 3030 without a report body: each month stored as harvested with no usage. */
  private async storeEmptyMonths(
    item: ClaimedItem,
    rt: JobRuntime,
    exceptions: SushiException[],
    log: Logger,
  ): Promise<void> {
    const downloadTime = formatDateTime(this.now());
    for (const yearMonth of itemMonths(item)) {
      const report = {
        Report_Header: {
          Report_ID: item.reportName.toUpperCase(),
          Release: rt.endpoint.release,
          Report_Filters: {
            Begin_Date: `${yearMonth}-01`,
            End_Date: itemDates({ ...item, begin: yearMonth, end: yearMonth }).endDate,
          },
          Exceptions: exceptions.map((e) => e.raw),
        },
        Report_Items: [],
      };
      const ok = await this.upload(
        item,
        rt,
        yearMonth,
        { kind: 'success', report, state: { state: 'empty', code: 3030 } },
        downloadTime,
        log,
      );
      if (!ok) return;
    }
  }

  /** Records every month of the item as failed (see `failMonths`) and removes the item. */
  private async failItem(
    item: ClaimedItem,
    rt: JobRuntime,
    reason: string,
    counting: 'counted' | 'uncounted' | 'terminal',
    state: (existing: CounterReport | undefined) => HarvestState,
    log: Logger,
  ): Promise<void> {
    await this.failMonths(item, rt, itemMonths(item), reason, counting, state, log);
    await this.queue.remove(item.id);
  }

  private async failMonths(
    item: WorkItem & { tenant: string; jobId: string; providerId: string; id?: string },
    rt: JobRuntime,
    months: YearMonth[],
    reason: string,
    counting: 'counted' | 'uncounted' | 'terminal',
    state: (existing: CounterReport | undefined) => HarvestState,
    log: Logger,
  ): Promise<void> {
    const downloadTime = formatDateTime(this.now());
    const failedReason = reason || 'Error';
    for (const yearMonth of months) {
      let existing: CounterReport | undefined;
      try {
        existing = await findMonth(this.erm, item.tenant, this.keyFor(item, rt, yearMonth));
      } catch {
        existing = undefined;
      }
      const outcome: MonthOutcome = { kind: 'failure', failedReason, counting, state: state(existing) };
      const ok = await this.upload(
        item as ClaimedItem,
        rt,
        yearMonth,
        outcome,
        downloadTime,
        log,
        existing ?? null,
      );
      if (!ok) return;
    }
  }
}
