/**
 * The periodic scheduler (folio-contract §6.2, §6.5, §6.6, §6.7). The schedule's state is the tenant's
 * placeholder JobInfo: its `nextStart` is the next fire time and its id identifies the schedule.
 *
 * Every process ticks; when a placeholder's `nextStart` is due, the process that inserts
 * (tenant, schedule id, fire time) into `harvester.periodic_fires` runs the firing. The others only make sure
 * the placeholder moves on, so a firing whose process died does not block the schedule.
 */
import { randomUUID } from 'node:crypto';
import type { ServiceContext } from '../context.ts';
import { formatDateTime, parseDateTime } from '../dates.ts';
import {
  deletePlaceholders,
  getPlaceholder,
  movePlaceholder,
  saveJobInfo,
  type JobInfo,
} from '../store/sql/job-info.ts';
import { lockTenant } from '../store/sql/locks.ts';
import { getPeriodicConfig, setLastTriggeredAt } from '../store/sql/periodic-config.ts';
import { claimFire } from '../store/sql/periodic-fires.ts';
import { formatJobError } from './runner.ts';
import { firstFireTime, planFiring, scheduleSpecOf } from './schedule.ts';

/** Requests a tenant job (the uniqueness rules apply); throws when refused. */
export type RequestTenantJob = (tenant: string) => Promise<string>;

export class PeriodicScheduler {
  constructor(
    private readonly ctx: ServiceContext,
    private readonly requestTenantJob: RequestTenantJob,
  ) {}

  /**
   * Creates or replaces the tenant's schedule from its stored configuration: deletes the placeholders, then
   * writes a new one with the first fire time. Without a (usable) configuration no schedule remains.
   */
  async rebuild(tenant: string): Promise<JobInfo | undefined> {
    return this.writeSchedule(tenant, true);
  }

  /** At startup: builds the schedule only when the tenant has a configuration but no placeholder. */
  async ensure(tenant: string): Promise<JobInfo | undefined> {
    return this.writeSchedule(tenant, false);
  }

  /** Removes the schedule (DELETE /periodic, tenant disable or purge): its placeholders; run rows stay. */
  async remove(tenant: string): Promise<void> {
    await this.ctx.db.transaction(async (tx) => {
      await lockTenant(tx, tenant);
      await deletePlaceholders(tx, tenant);
    });
  }

  private async writeSchedule(tenant: string, replace: boolean): Promise<JobInfo | undefined> {
    return this.ctx.db.transaction(async (tx) => {
      await lockTenant(tx, tenant);
      if (!replace) {
        const existing = await getPlaceholder(tx, tenant);
        if (existing) return existing;
      }
      await deletePlaceholders(tx, tenant);
      const config = await getPeriodicConfig(tx, tenant);
      if (!config) return undefined;
      const spec = scheduleSpecOf(config);
      if (!spec) {
        this.ctx.log.error({ tenant }, 'periodic: stored configuration is unusable; no schedule');
        return undefined;
      }
      const placeholder: JobInfo = {
        id: randomUUID(),
        type: 'periodic',
        timestamp: this.ctx.clock.now(),
        nextStart: formatDateTime(firstFireTime(spec)),
      };
      await saveJobInfo(tx, tenant, placeholder);
      this.ctx.log.info({ tenant, nextStart: placeholder.nextStart }, 'periodic: schedule created');
      return placeholder;
    });
  }

  /** One pass over all initialised tenants; errors of one tenant are logged and do not stop the others. */
  async tick(): Promise<void> {
    for (const tenant of await this.ctx.tenants.list()) {
      try {
        await this.fireIfDue(tenant);
      } catch (err) {
        this.ctx.log.error({ tenant, err: (err as Error).message }, 'periodic: tick failed');
      }
    }
  }

  /** Fires the tenant's schedule when its next fire time has come. True when this process fired it. */
  async fireIfDue(tenant: string): Promise<boolean> {
    const now = this.ctx.clock.now();
    const placeholder = await getPlaceholder(this.ctx.db, tenant);
    const fireTime = parseDateTime(placeholder?.nextStart);
    if (!placeholder?.nextStart || fireTime === undefined || fireTime > now) return false;
    const config = await getPeriodicConfig(this.ctx.db, tenant);
    const spec = config && scheduleSpecOf(config);
    if (!spec) return false;
    const { firedAt, following } = planFiring(spec, fireTime, now, this.ctx.config.misfireThresholdMs);
    const claimed = await claimFire(this.ctx.db, {
      tenant,
      scheduleId: placeholder.id,
      fireTime,
      instanceId: this.ctx.config.instanceId,
    });
    if (!claimed) {
      await movePlaceholder(
        this.ctx.db,
        tenant,
        placeholder.id,
        placeholder.nextStart,
        formatDateTime(following),
      );
      return false;
    }
    await this.fire(tenant, placeholder, firedAt, formatDateTime(following));
    return true;
  }

  /** One firing: run row, placeholder moved on, tenant job requested, lastTriggeredAt, run row finished. */
  private async fire(
    tenant: string,
    placeholder: JobInfo,
    firedAt: number,
    following: string,
  ): Promise<void> {
    const db = this.ctx.db;
    const run: JobInfo = {
      id: randomUUID(),
      type: 'periodic',
      timestamp: this.ctx.clock.now(),
      startedAt: formatDateTime(firedAt),
    };
    await saveJobInfo(db, tenant, run);
    await movePlaceholder(db, tenant, placeholder.id, placeholder.nextStart ?? '', following);
    let errorMessage: string | undefined;
    try {
      await this.requestTenantJob(tenant);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      errorMessage = formatJobError(
        new JobExecutionError(`Tenant: ${tenant}, error starting harvester: ${reason}`),
      );
    }
    if (errorMessage === undefined) await this.recordTrigger(tenant, run.startedAt ?? '');
    await saveJobInfo(db, tenant, {
      ...run,
      finishedAt: formatDateTime(this.ctx.clock.now()),
      result: errorMessage === undefined ? 'success' : 'failure',
      errorMessage,
    });
    this.ctx.log.info({ tenant, firedAt: run.startedAt, next: following, errorMessage }, 'periodic: fired');
  }

  private async recordTrigger(tenant: string, at: string): Promise<void> {
    try {
      await setLastTriggeredAt(this.ctx.db, tenant, at);
    } catch (err) {
      this.ctx.log.error(
        { tenant, err: (err as Error).message },
        'periodic: failed updating lastTriggeredAt',
      );
    }
  }
}

/** Java's name for a periodic firing that could not start its tenant job. */
class JobExecutionError extends Error {
  override name = 'JobExecutionException';
}
