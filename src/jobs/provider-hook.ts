/**
 * The one seam between the job lifecycle (jobs/) and the harvest (harvest/), both directions:
 *
 * - the job service hands each provider job's harvest to a {@link HarvestProvider} (the engine's, given
 *   to the JobService constructor);
 * - a harvest that continues as durable work items detaches the job and, after the last item, ends it
 *   through a {@link CompleteProviderJob} (the job service's, given to the engine's constructor).
 *
 * harvest/ imports nothing else of jobs/.
 */
import type { UsageDataProvider } from '../model/records.ts';
import type { Logger } from '../log.ts';
import type { Queryable } from '../store/db.ts';
import type { HarvestRequest } from '../store/sql/job-requests.ts';

/** What a harvest gets besides the tenant and the loaded, active UDP. */
export interface ProviderJobContext {
  /** The provider job's JobInfo id. */
  jobId: string;
  /** Logger bound to tenant, provider and job. */
  log: Logger;
  /**
   * Hands the rest of the job to durable work items: call inside the transaction that stores them, then
   * resolve with `'detached'`. The job stays running (and live) until it is completed.
   */
  detach(tx: Queryable): Promise<void>;
  /** What the job was asked for beyond the missing months ("harvest again", a scheduled run). */
  request?: HarvestRequest;
}

/**
 * The harvest of one loaded, active UDP. Resolve for `success`; throw for `failure`, the error's
 * `name` and `message` becoming the JobInfo `errorMessage` (`<name>: <message>`); resolve with
 * `'detached'` after `job.detach`. Per-report errors are not job failures: they are stored as failed
 * counter reports. Heartbeats are sent by the worker while the returned promise is pending.
 */
export type HarvestProvider = (
  tenant: string,
  provider: UsageDataProvider,
  job: ProviderJobContext,
) => Promise<void | 'detached'>;

/**
 * Ends a detached provider job, once: any process may call it when the job's last item is done;
 * `errorMessage` makes it a failure; the notes the harvest added to the JobInfo stay. False when it
 * had already been completed.
 */
export type CompleteProviderJob = (jobId: string, errorMessage?: string) => Promise<boolean>;
