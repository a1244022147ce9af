/**
 * Job acceptance and the life of a one-shot job in the durable queue (`harvester.queue`, store/sql/queue.ts),
 * shared by every process on the database. A row exists from the moment a one-shot job is accepted until it
 * has finished:
 *
 * - `queued`: waiting for a worker (its JobInfo has `nextStart`);
 * - `running`: claimed by the process `locked_by`, which refreshes `heartbeat_at` while it executes;
 * - `waiting`: a provider job that continues as work items (src/harvest) until its last item is done.
 *
 * A job is *active* (folio-contract §6.4) while its row is live (store/sql/queue.ts `liveJob`): queued,
 * waiting, running with a heartbeat newer than the stale heartbeat limit, or running under a dead process
 * but taken fewer than 3 times — any live process hands such a row back to the queue (`reclaimDead`) and
 * the job runs again. A row whose process died 3 times is no longer active: purgestale reaps it and marks
 * its JobInfo `Stale job`. A process that lost its lease (its heartbeats came too late and another process
 * took the job) neither detaches nor records the end of the job: the other run does.
 * Accepting a job (uniqueness check, JobInfo insert, queue insert) happens in one transaction under a
 * per-tenant advisory lock, so two concurrent /start calls cannot both succeed. Workers claim rows with
 * `FOR UPDATE SKIP LOCKED`, so each job executes once.
 */
import {
  saveJobRequest,
  saveJobRequests,
  takeJobNotes,
  type HarvestRequest,
} from '../store/sql/job-requests.ts';
import { randomUUID } from 'node:crypto';
import type { Db, Queryable } from '../store/db.ts';
import { formatDateTime } from '../dates.ts';
import { insertJobInfos, saveJobInfo, type JobInfo } from '../store/sql/job-info.ts';
import { notifyWake } from '../store/notify.ts';
import type { Lease } from '../store/sql/lease.ts';
import { lockTenant } from '../store/sql/locks.ts';
import {
  activeProviders,
  anyDueJob,
  claimJob,
  countActive,
  deleteDead,
  deleteHeldJob,
  deleteWaiting,
  insertJob,
  insertProviderJobs,
  markWaiting,
  queueLease,
  type QueueKind,
  type QueueRow,
} from '../store/sql/queue.ts';

export interface QueuedJob {
  id: string;
  tenant: string;
  kind: QueueKind;
  providerId?: string;
  /** Creation time, the JobInfo `timestamp`. */
  timestamp: number;
  /** When this process claimed it (the JobInfo `startedAt` of the finished row). */
  startedAt: number;
}

/** This process no longer holds the job's row: another process took it over after missed heartbeats. */
export class LeaseLostError extends Error {
  override name = 'LeaseLostError';
  constructor(jobId: string) {
    super(`job ${jobId} was taken over by another process`);
  }
}

/** Refused by the uniqueness rules of folio-contract §6.4; the message is FOLIO's. */
export class JobConflictError extends Error {
  override name = 'SchedulerException';
}

export const tenantBusyMessage = (tenant: string) =>
  `Harvesting for tenant '${tenant}' is already in progress`;
export const providerBusyMessage = (id: string) =>
  `A job for provider with id '${id}' is already scheduled/running`;

function toQueuedJob(row: QueueRow, fallbackNow: number): QueuedJob {
  return {
    id: row.id,
    tenant: row.tenant,
    kind: row.kind,
    providerId: row.provider_id ?? undefined,
    timestamp: row.payload.timestamp ?? fallbackNow,
    startedAt: row.started_at === null ? fallbackNow : new Date(row.started_at).getTime(),
  };
}

/** The JobInfo of a one-shot job without its timing fields. */
export function baseJobInfo(job: Pick<QueuedJob, 'id' | 'kind' | 'providerId' | 'timestamp'>): JobInfo {
  return { id: job.id, type: job.kind, providerId: job.providerId, timestamp: job.timestamp };
}

/** The JobInfo of a job just accepted: scheduled to start at once (`nextStart`). */
function scheduledJobInfo(job: Pick<QueuedJob, 'id' | 'kind' | 'providerId' | 'timestamp'>): JobInfo {
  return { ...baseJobInfo(job), nextStart: formatDateTime(job.timestamp) };
}

export interface QueueOptions {
  instanceId: string;
  /** A running job whose heartbeat is older than this is no longer alive. */
  staleHeartbeatMs: number;
  /**
   * Tell the other processes on the database when jobs or work items are queued (PostgreSQL's NOTIFY,
   * store/notify.ts), in the transaction that queues them.
   */
  notify?: boolean;
}

export class JobQueue {
  private readonly lease: Lease;
  private readonly notify: boolean;

  constructor(
    private readonly db: Db,
    opts: QueueOptions,
  ) {
    this.lease = queueLease(opts.instanceId, opts.staleHeartbeatMs);
    this.notify = opts.notify ?? false;
  }

  /** Heartbeats at or after this time are alive. */
  aliveSince(now: number): Date {
    return this.lease.aliveSince(now);
  }

  /**
   * Accepts a one-shot job: checks the uniqueness rule, writes the scheduled JobInfo and the queue row in one
   * transaction. Throws JobConflictError when refused. Returns the job id.
   */
  async enqueue(
    tenant: string,
    kind: QueueKind,
    now: number,
    providerId?: string,
    request?: HarvestRequest,
  ): Promise<string> {
    const id = randomUUID();
    const alive = this.aliveSince(now);
    await this.db.transaction(async (tx) => {
      await lockTenant(tx, tenant);
      if (kind === 'tenant' && (await countActive(tx, tenant, ['tenant', 'provider'], alive)) > 0)
        throw new JobConflictError(tenantBusyMessage(tenant));
      if (kind === 'provider' && (await countActive(tx, tenant, ['provider'], alive, providerId)) > 0)
        throw new JobConflictError(providerBusyMessage(providerId ?? ''));
      await saveJobInfo(tx, tenant, scheduledJobInfo({ id, kind, providerId, timestamp: now }));
      await insertJob(tx, { id, tenant, kind, providerId }, now);
      if (request) await saveJobRequest(tx, tenant, id, request);
      if (this.notify) await notifyWake(tx, 'jobs');
    });
    return id;
  }

  /**
   * The provider jobs of a tenant job: one for each of `providerIds` (in that order) that has no active
   * provider job, accepted together in one transaction under the tenant's lock — the same rule as
   * `enqueue` of each, in a handful of statements instead of several per provider. Returns the
   * providers skipped (an active job, or named twice).
   */
  async enqueueProviderJobs(
    tenant: string,
    providerIds: string[],
    now: number,
    request?: HarvestRequest,
  ): Promise<{ skipped: string[] }> {
    if (providerIds.length === 0) return { skipped: [] };
    const alive = this.aliveSince(now);
    return this.db.transaction(async (tx) => {
      await lockTenant(tx, tenant);
      const busy = new Set(await activeProviders(tx, tenant, providerIds, alive));
      const skipped: string[] = [];
      const jobs: { id: string; providerId: string }[] = [];
      for (const providerId of providerIds) {
        if (busy.has(providerId)) skipped.push(providerId);
        else {
          busy.add(providerId);
          jobs.push({ id: randomUUID(), providerId });
        }
      }
      if (jobs.length === 0) return { skipped };
      await insertJobInfos(
        tx,
        tenant,
        jobs.map((j) =>
          scheduledJobInfo({ id: j.id, kind: 'provider', providerId: j.providerId, timestamp: now }),
        ),
      );
      await insertProviderJobs(tx, tenant, jobs, now);
      if (request)
        await saveJobRequests(
          tx,
          tenant,
          jobs.map((j) => j.id),
          request,
        );
      if (this.notify) await notifyWake(tx, 'jobs');
      return { skipped };
    });
  }

  /**
   * Claims the oldest due queued job of one of `kinds` for this process and writes its running JobInfo
   * (no `nextStart`, no `startedAt`), in one transaction. Undefined when there is none.
   */
  async claim(kinds: QueueKind[], now: number): Promise<QueuedJob | undefined> {
    // Most polls find nothing: they are answered by one statement, without a transaction.
    if (!(await anyDueJob(this.db, kinds, now))) return undefined;
    return this.db.transaction(async (tx) => {
      const row = await claimJob(tx, this.lease.owner, kinds, now);
      if (!row) return undefined;
      const job = toQueuedJob(row, now);
      await saveJobInfo(tx, job.tenant, baseJobInfo(job));
      return job;
    });
  }

  /** Refreshes the heartbeat of every job this process is running. */
  async heartbeat(now: number): Promise<void> {
    await this.lease.heartbeat(this.db, now);
  }

  /**
   * Writes the finished JobInfo and removes the queue row, in one transaction. False (nothing written) when
   * this process no longer holds the row: another process took the job over and records its end. A row
   * already reaped by purgestale is no obstacle: the real end replaces the `Stale job` mark.
   */
  async finish(job: QueuedJob, info: JobInfo): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      if ((await deleteHeldJob(tx, job.id, this.lease.owner)) === 'taken') return false;
      await saveJobInfo(tx, job.tenant, info);
      await takeJobNotes(tx, job.tenant, job.id);
      return true;
    });
  }

  /**
   * A provider job whose requests are now durable work items (src/harvest): its row becomes `waiting` — not
   * claimable, still active and live — until the last item is done. Runs in the caller's transaction, the
   * one that stores the items, so a crash leaves either both or neither.
   */
  async detach(tx: Queryable, jobId: string): Promise<void> {
    if (!(await markWaiting(tx, jobId, this.lease.owner))) throw new LeaseLostError(jobId);
    // The items are queued: the item workers of the other processes start on them at once.
    if (this.notify) await notifyWake(tx, 'items');
  }

  /**
   * Ends a waiting job: writes its finished JobInfo and removes the row, once — undefined when another
   * process already did.
   */
  async completeWaiting(jobId: string, now: number, errorMessage?: string): Promise<QueuedJob | undefined> {
    return this.db.transaction(async (tx) => {
      const row = await deleteWaiting(tx, jobId);
      if (!row) return undefined;
      const job = toQueuedJob(row, now);
      await saveJobInfo(tx, job.tenant, {
        ...baseJobInfo(job),
        startedAt: formatDateTime(job.startedAt),
        finishedAt: formatDateTime(Math.max(now, job.startedAt)),
        result: errorMessage === undefined ? 'success' : 'failure',
        errorMessage,
      });
      return job;
    });
  }

  /**
   * Running jobs whose process is dead go back to the queue, to be executed again, whoever ran them (see
   * Lease.reclaim): every process does this periodically and at start-up, where with `starting` also the
   * rows of its own instance id count as dead (a restart), and on an embedded database every running row
   * (it has one owner). A job already taken 3 times stays as it is (a job that kills its process is not
   * retried forever; purgestale marks it). Returns the ids handed back.
   */
  async reclaimDead(now: number, starting?: { all: boolean }): Promise<string[]> {
    return this.lease.reclaim(this.db, now, { starting });
  }

  /** Deletes running rows that are no longer live (their process died 3 times); their JobInfos become orphans. */
  async reapDead(now: number, tenant?: string): Promise<number> {
    return deleteDead(this.db, this.aliveSince(now), tenant);
  }
}
