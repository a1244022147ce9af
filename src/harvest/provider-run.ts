/**
 * A provider run from its start to its end. The job service hands a provider job to `plan` once it has
 * loaded the provider and found it active: bind the provider, record the harvest attempt, plan the missing (report, months), and
 * store one work item per request together with the endpoint's politeness and the job's detachment, in
 * one transaction. The item workers do the requests; `finishIfDone` ends the job after its last item.
 */
import { formatDateTime } from '../dates.ts';
import type { UsageDataProvider } from '../model/records.ts';
import type { CompleteProviderJob, HarvestProvider } from '../jobs/provider-hook.ts';
import type { Logger } from '../log.ts';
import { secrets } from '../log.ts';
import { configureEndpoint, type EndpointPoliteness } from '../store/sql/endpoints.ts';
import { closeRun, getRun, openRun } from '../store/sql/harvest-runs.ts';
import { addToJobReport } from '../store/sql/job-info.ts';
import { addJobNote } from '../store/sql/job-info.ts';
import { takeJobNotes } from '../store/sql/job-requests.ts';
import type { JobItemsLeft, WorkItem } from '../store/sql/work-items.ts';
import type { HarvestParts } from './context.ts';
import { itemMonths, planWorkItems } from './planner.ts';

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

export class ProviderRuns {
  constructor(
    private readonly parts: HarvestParts,
    private readonly completeJob: CompleteProviderJob,
  ) {}

  private now(): number {
    return this.parts.ctx.clock.now();
  }

  /** The job service's hook for each provider job. */
  readonly plan: HarvestProvider = async (tenant, provider, job) => {
    const { ctx, erm, queue, bindings } = this.parts;
    const cfg = ctx.config.harvest;
    const binding = await bindings.bind(tenant, provider);
    await this.recordHarvestAttempt(tenant, provider, job.log);
    binding.maxFailedAttempts = await bindings.maxFailedAttempts(tenant, job.log);
    bindings.remember(job.jobId, binding);
    try {
      const pending = await queue.pendingForJob(job.jobId);
      const request = job.request;
      const again =
        request?.again && request.from
          ? { from: request.from, to: request.to ?? request.from, reports: request.reports }
          : undefined;
      const reharvestMonths = request?.scheduled ? await bindings.reharvestMonths(tenant, job.log) : 0;
      const planned = await planWorkItems(erm, tenant, provider, {
        maxFailedAttempts: binding.maxFailedAttempts,
        now: this.now(),
        singleMonthReports: cfg.singleMonthReports,
        again,
        reharvestMonths,
      });
      const items = subtractCovered(planned, pending);
      if (items.length === 0 && pending.length === 0) {
        job.log.info(
          { event: 'no-reports' },
          `Tenant: ${tenant}, Provider: ${provider.label}, no reports to harvest`,
        );
        return;
      }
      await openRun(ctx.db, job.jobId, tenant, provider.id, this.now());
      const politeness = politenessOf(provider, {
        maxInFlight: cfg.endpointMaxInFlight,
        minIntervalMs: cfg.endpointMinIntervalMs,
      });
      const endpoint = binding.endpoint.endpointKey;
      await ctx.db.transaction(async (tx) => {
        await configureEndpoint(tx, endpoint, politeness);
        await queue.enqueue(
          tx,
          { tenant, jobId: job.jobId, providerId: provider.id, endpoint },
          items,
          this.now(),
        );
        // The job now lives in its work items: its worker slot is free, and it ends with the last item.
        await job.detach(tx);
        await addToJobReport(tx, tenant, job.jobId, {});
      });
      job.log.info(
        { event: 'planned', items: items.length },
        `Tenant: ${tenant}, Provider: ${provider.label}, ${items.length} requests planned`,
      );
      return 'detached';
    } catch (err) {
      bindings.forget(job.jobId);
      throw err;
    }
  };

  /**
   * Sets the provider's `harvestingDate`: in place where the store can (one statement), else by a PUT
   * of the provider as loaded plus the date (as FOLIO's harvester does). Failures are only logged.
   */
  private async recordHarvestAttempt(
    tenant: string,
    provider: UsageDataProvider,
    log: Logger,
  ): Promise<void> {
    const { erm } = this.parts;
    const date = formatDateTime(this.now());
    try {
      if (erm.setHarvestingDate) await erm.setHarvestingDate(tenant, provider.id, date);
      else await erm.putProvider(tenant, { ...provider, harvestingDate: date });
    } catch (err) {
      log.warn({ event: 'harvesting-date' }, `Failed updating harvestingDate: ${(err as Error).message}`);
    }
  }

  /**
   * Ends the job when none of its items is left; safe to call from several processes at once. `seen`:
   * the job's items as the removal of its last request counted them (work-items.ts
   * `removeAndRelease`), taken as they are when exact, else counted again here.
   */
  async finishIfDone(jobId: string, seen?: JobItemsLeft): Promise<void> {
    const { ctx, queue, bindings } = this.parts;
    if ((seen?.exact ? seen.left : await queue.countForJob(jobId)) > 0) return;
    const run = await getRun(ctx.db, jobId);
    let errorMessage: string | undefined;
    if (run?.failure) {
      const { name, message } = JSON.parse(run.failure) as { name: string; message: string };
      errorMessage = secrets.redact(`${name}: ${message}`);
    }
    // Notes an earlier version kept aside until the end join the JobInfo's own `notes`.
    if (run)
      for (const note of await takeJobNotes(ctx.db, run.tenant, jobId))
        await addJobNote(ctx.db, run.tenant, jobId, secrets.redact(note));
    await this.completeJob(jobId, errorMessage);
    await closeRun(ctx.db, jobId);
    bindings.forget(jobId);
    // The embedded database has no autovacuum: its queue tables are tidied when the last job ends.
    await queue.tidyIfIdle().catch((err: unknown) => {
      ctx.log.warn({ event: 'vacuum' }, `Tidying the work item tables failed: ${(err as Error).message}`);
    });
  }
}
