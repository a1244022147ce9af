/**
 * JobService: the job lifecycle of one process (folio-contract §6). It accepts one-shot jobs into the
 * durable queue, runs queue workers (provider jobs: `providerJobConcurrency` at once per process; tenant jobs
 * in their own small lane), sends heartbeats for the jobs it runs, ticks the periodic scheduler, and runs
 * the cleanup (purgestale + purgefinished) for every tenant every `cleanupIntervalMinutes`.
 */
import { getJobRequest, type HarvestRequest } from '../store/sql/job-requests.ts';
import type { ServiceContext } from '../context.ts';
import { formatDateTime } from '../dates.ts';
import type { ErmStore } from '../erm/port.ts';
import { Loop } from '../loop.ts';
import type { JobInfo } from '../store/sql/job-info.ts';
import { subscribeWakeups } from '../store/notify.ts';
import { beatInstance } from '../store/sql/instances.ts';
import { reclaimIntervalMs } from '../store/sql/lease.ts';
import { pruneFires } from '../store/sql/periodic-fires.ts';
import type { QueueKind } from '../store/sql/queue.ts';
import { JobCleanup } from './cleanup.ts';
import type { HarvestProvider, ProviderJobContext } from './provider-hook.ts';
import { baseJobInfo, JobQueue, LeaseLostError, type QueuedJob } from './queue.ts';
import { formatJobError, runProviderJob, runTenantJob } from './runner.ts';
import { PeriodicScheduler } from './scheduler.ts';

/** Tenant jobs only list providers and enqueue; two at once per process is plenty. */
const TENANT_JOB_CONCURRENCY = 2;
/** How long stop() waits for running jobs before it gives up on them (they stay unfinished). */
const STOP_WAIT_MS = 5000;
/** Fire records older than this are pruned by the cleanup timer. */
const FIRE_RECORD_RETENTION_MS = 30 * 86_400_000;

/**
 * One worker lane: claims jobs of some kinds while it has free slots. A job is due when it is queued,
 * and every enqueue wakes the lanes (in this process directly, in the others through the wakeups of
 * store/notify.ts), so the lane polls only at the idle interval — at the short one while this process
 * hears no wakeups.
 */
class Lane {
  readonly running = new Map<string, Promise<void>>();
  readonly loop: Loop;

  constructor(
    readonly name: string,
    private readonly kinds: QueueKind[],
    private readonly slots: number,
    private readonly svc: JobService,
  ) {
    this.loop = new Loop(
      `worker:${name}`,
      () => svc.pollMs(),
      () => this.fill(),
      svc.ctx.log,
    );
  }

  private async fill(): Promise<void> {
    while (this.running.size < this.slots && !this.svc.stopping) {
      const job = await this.svc.queue.claim(this.kinds, this.svc.ctx.clock.now());
      if (!job) return;
      const done = this.svc.execute(job).finally(() => {
        this.running.delete(job.id);
        this.loop.wake();
      });
      this.running.set(job.id, done);
    }
  }
}

export class JobService {
  readonly queue: JobQueue;
  readonly cleanup: JobCleanup;
  readonly scheduler: PeriodicScheduler;
  stopping = false;
  private readonly lanes: Lane[];
  private readonly loops: Loop[] = [];
  private wakeups: ReturnType<typeof subscribeWakeups>;

  constructor(
    readonly ctx: ServiceContext,
    readonly erm: ErmStore,
    /** The harvest of one UDP (the engine's). */
    private readonly harvest: HarvestProvider,
  ) {
    this.queue = new JobQueue(ctx.db, {
      instanceId: ctx.config.instanceId,
      staleHeartbeatMs: ctx.config.staleHeartbeatMinutes * 60_000,
      notify: ctx.db.kind === 'postgres',
    });
    this.cleanup = new JobCleanup(ctx, erm, this.queue);
    this.scheduler = new PeriodicScheduler(ctx, (tenant) => this.startTenantJob(tenant, { scheduled: true }));
    this.lanes = [
      new Lane('tenant', ['tenant'], TENANT_JOB_CONCURRENCY, this),
      new Lane('provider', ['provider'], ctx.config.providerJobConcurrency, this),
    ];
    ctx.hooks.enabled.push((tenant) => this.scheduler.rebuild(tenant).then(() => undefined));
    ctx.hooks.disabled.push((tenant) => this.scheduler.remove(tenant));
    ctx.hooks.purged.push((tenant) => this.scheduler.remove(tenant));
  }

  /**
   * `GET /start`: accepts a tenant job or throws JobConflictError. Returns the job id. A scheduled run
   * (`request.scheduled`) hands its request on to its provider jobs (the re-harvest window).
   */
  async startTenantJob(tenant: string, request?: HarvestRequest): Promise<string> {
    const id = await this.queue.enqueue(tenant, 'tenant', this.ctx.clock.now(), undefined, request);
    this.wake();
    return id;
  }

  /**
   * `GET /start/{id}`, `POST /start/{id}/again` and tenant jobs: accepts a provider job or throws
   * JobConflictError. `request` says what beyond the missing months it harvests (job-requests.ts).
   */
  async startProviderJob(tenant: string, providerId: string, request?: HarvestRequest): Promise<string> {
    const id = await this.queue.enqueue(tenant, 'provider', this.ctx.clock.now(), providerId, request);
    this.wake();
    return id;
  }

  /** A tenant job's provider jobs, accepted together; returns the providers refused (an active job). */
  async startProviderJobs(
    tenant: string,
    providerIds: string[],
    request?: HarvestRequest,
  ): Promise<string[]> {
    const { skipped } = await this.queue.enqueueProviderJobs(
      tenant,
      providerIds,
      this.ctx.clock.now(),
      request,
    );
    if (skipped.length < providerIds.length) this.wake();
    return skipped;
  }

  private wake(): void {
    for (const lane of this.lanes) lane.loop.wake();
  }

  /**
   * How long a lane waits before it looks for jobs again: the idle poll, as new jobs wake it; the short
   * poll while this process on PostgreSQL hears no wakeups (its listener connection is down).
   */
  pollMs(): number {
    const { queuePollMs, queueIdlePollMs } = this.ctx.config;
    if (this.wakeups && !this.wakeups.listener.connected) return queuePollMs;
    return Math.max(queuePollMs, queueIdlePollMs);
  }

  /** Builds missing schedules, then (with runWorkers) starts workers, heartbeats, scheduler and cleanup. */
  async start(): Promise<void> {
    for (const tenant of await this.ctx.tenants.list()) {
      try {
        await this.scheduler.ensure(tenant);
      } catch (err) {
        this.ctx.log.error({ tenant, err: (err as Error).message }, 'periodic: could not build the schedule');
      }
    }
    if (!this.ctx.config.runWorkers) return;
    const { config, log } = this.ctx;
    // A job that was executing when its process was killed (a provider job still planning, a tenant job
    // still enqueueing) would otherwise stay "running" until purgestale marks it failed: run it again,
    // now and whenever a process dies later (whichever process ran it). A provider job resumes (it plans
    // only what its remaining work items do not cover), a tenant job skips the providers whose jobs are
    // active.
    await this.reclaim({ all: this.ctx.db.kind === 'pglite' });
    this.loops.push(new Loop('heartbeat', config.heartbeatIntervalMs, () => this.beat(), log));
    this.loops.push(
      new Loop(
        'reclaim',
        reclaimIntervalMs(config.staleHeartbeatMinutes * 60_000),
        () => this.reclaim().then(() => undefined),
        log,
      ),
    );
    this.loops.push(new Loop('scheduler', config.schedulerTickMs, () => this.scheduler.tick(), log));
    if (config.cleanupIntervalMinutes > 0)
      this.loops.push(
        new Loop('cleanup', config.cleanupIntervalMinutes * 60_000, () => this.cleanAll(), log),
      );
    for (const loop of this.loops) loop.start();
    // Jobs queued by other processes on the same PostgreSQL database wake the lanes.
    this.wakeups = subscribeWakeups(this.ctx.db, config.databaseUrl, 'jobs', () => this.wake(), log);
    for (const lane of this.lanes) {
      lane.loop.start();
      lane.loop.wake();
    }
  }

  /** Stops taking work, tells running jobs to stop, and waits for them a few seconds. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all([
      ...this.lanes.map((l) => l.loop.stop()),
      ...this.loops.map((l) => l.stop()),
      this.wakeups?.release(),
    ]);
    const running = this.lanes.flatMap((l) => [...l.running.values()]);
    if (running.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, STOP_WAIT_MS)));
    await Promise.race([Promise.allSettled(running), timeout]);
    clearTimeout(timer);
  }

  /** Number of jobs this process is executing now. */
  get runningCount(): number {
    return this.lanes.reduce((n, l) => n + l.running.size, 0);
  }

  private async beat(): Promise<void> {
    const now = this.ctx.clock.now();
    await beatInstance(this.ctx.db, this.ctx.config.instanceId, now);
    if (this.runningCount > 0) await this.queue.heartbeat(now);
  }

  /** Hands back the jobs of dead processes (at start-up with `starting`) and wakes the workers. */
  async reclaim(starting?: { all: boolean }): Promise<string[]> {
    const ids = await this.queue.reclaimDead(this.ctx.clock.now(), starting);
    if (ids.length > 0) {
      this.ctx.log.warn({ jobs: ids }, 'jobs of a stopped process put back in the queue');
      this.wake();
    }
    return ids;
  }

  /** The built-in timer: cleanup for every tenant, then old fire records. */
  async cleanAll(): Promise<void> {
    for (const tenant of await this.ctx.tenants.list()) await this.cleanup.cleanup(tenant);
    await pruneFires(this.ctx.db, this.ctx.clock.now() - FIRE_RECORD_RETENTION_MS);
  }

  /** Executes a claimed job and records its end; never throws. */
  async execute(job: QueuedJob): Promise<void> {
    const log = this.ctx.log.child({ tenant: job.tenant, jobId: job.id, providerId: job.providerId });
    let errorMessage: string | undefined;
    try {
      if (job.kind === 'tenant') await this.runTenant(job, log);
      else if ((await this.runProvider(job, log)) === 'detached') {
        log.info('provider job continues as work items');
        return;
      }
    } catch (err) {
      if (err instanceof LeaseLostError) {
        log.warn(`${job.kind} job taken over by another process; its end is recorded there`);
        return;
      }
      errorMessage = formatJobError(err);
    }
    const info: JobInfo = {
      ...baseJobInfo(job),
      startedAt: formatDateTime(job.startedAt),
      finishedAt: formatDateTime(Math.max(this.ctx.clock.now(), job.startedAt)),
      result: errorMessage === undefined ? 'success' : 'failure',
      errorMessage,
    };
    try {
      if (!(await this.queue.finish(job, info))) {
        log.warn(`${job.kind} job taken over by another process; its end is recorded there`);
        return;
      }
      this.countFinished(job, info.result ?? 'failure');
      log.info({ result: info.result, errorMessage }, `${job.kind} job finished`);
    } catch (err) {
      log.error({ err: (err as Error).message }, 'could not record the end of a job');
    }
  }

  private async runTenant(job: QueuedJob, log: ServiceContext['log']): Promise<void> {
    const request = await getJobRequest(this.ctx.db, job.tenant, job.id);
    await runTenantJob(
      this.erm,
      job.tenant,
      (providerIds) =>
        this.startProviderJobs(job.tenant, providerIds, request?.scheduled ? { scheduled: true } : undefined),
      log,
    );
  }

  private async runProvider(job: QueuedJob, log: ServiceContext['log']): Promise<void | 'detached'> {
    const request = await getJobRequest(this.ctx.db, job.tenant, job.id);
    const context: ProviderJobContext = {
      jobId: job.id,
      log,
      detach: (tx) => this.queue.detach(tx, job.id),
      ...(request && { request }),
    };
    return runProviderJob(this.erm, job.tenant, job.providerId ?? '', this.harvest, context);
  }

  /** The finished-jobs metric (a provider's last success is read from the JobInfos, live-gauges.ts). */
  private countFinished(job: QueuedJob, result: 'success' | 'failure'): void {
    this.ctx.metrics.jobsFinished.inc({ type: job.kind, result });
  }

  /** Ends a detached provider job, once: the `CompleteProviderJob` of provider-hook.ts. */
  async completeDetached(jobId: string, errorMessage?: string): Promise<boolean> {
    const job = await this.queue.completeWaiting(jobId, this.ctx.clock.now(), errorMessage);
    if (!job) return false;
    const result = errorMessage === undefined ? 'success' : 'failure';
    this.countFinished(job, result);
    this.ctx.log.info(
      { tenant: job.tenant, jobId, providerId: job.providerId, result, errorMessage },
      'provider job finished',
    );
    this.wake();
    return true;
  }
}
