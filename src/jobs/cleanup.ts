/**
 * purgestale, purgefinished and the timer's cleanup (folio-contract §2.5–§2.7, §6.8, §6.9).
 */
import type { ServiceContext } from '../context.ts';
import { formatDateTime } from '../dates.ts';
import type { ErmStore } from '../erm/port.ts';
import { markStale, purgeFinished } from '../store/sql/job-info.ts';
import type { JobQueue } from './queue.ts';
import { parseIntSetting } from '../tenant-settings.ts';

/** Java's rule: unfinished jobs become candidates 60 minutes after their creation. */
export const STALE_AFTER_MS = 60 * 60_000;
const DAY_MS = 86_400_000;

export class JobCleanup {
  constructor(
    private readonly ctx: ServiceContext,
    private readonly erm: ErmStore,
    private readonly queue: JobQueue,
  ) {}

  /** Marks stale jobs (folio-contract §6.8): old, unfinished, not periodic and not backed by a live queue entry. */
  async purgeStale(tenant: string): Promise<number> {
    const now = this.ctx.clock.now();
    await this.queue.reapDead(now, tenant);
    const marked = await markStale(
      this.ctx.db,
      tenant,
      formatDateTime(now),
      now - STALE_AFTER_MS,
      this.queue.aliveSince(now),
    );
    if (marked > 0) this.ctx.log.info({ tenant, marked }, 'stale jobs marked as failed');
    return marked;
  }

  async purgeFinished(tenant: string, timestamp?: number): Promise<number> {
    return purgeFinished(this.ctx.db, tenant, timestamp);
  }

  /**
   * `days_to_keep_logs` (folio-contract §6.9): a missing entry gives the configured default (60); a failed request, an
   * unparsable or a negative value give undefined (the purge is skipped).
   */
  async daysToKeepLogs(tenant: string): Promise<number | undefined> {
    let raw: unknown;
    try {
      raw = await this.erm.getSetting(tenant, 'days_to_keep_logs');
    } catch (err) {
      this.ctx.log.error({ tenant, err: (err as Error).message }, 'Failed getting settings value');
      return undefined;
    }
    if (raw === undefined) return this.ctx.config.daysToKeepLogs;
    const days = parseIntSetting(raw);
    if (days === undefined) {
      this.ctx.log.error({ tenant, value: raw }, 'Failed parsing settings value days_to_keep_logs');
      return undefined;
    }
    if (days < 0) {
      this.ctx.log.error({ tenant, value: days }, 'Received invalid settings value');
      return undefined;
    }
    return days;
  }

  /** The timer endpoint's work: purgestale, then purgefinished older than days_to_keep_logs. Never throws. */
  async cleanup(tenant: string): Promise<void> {
    try {
      await this.purgeStale(tenant);
    } catch (err) {
      this.ctx.log.error({ tenant, err: (err as Error).message }, 'cleanup: purgestale failed');
    }
    try {
      const days = await this.daysToKeepLogs(tenant);
      if (days === undefined) return;
      const purged = await this.purgeFinished(tenant, this.ctx.clock.now() - days * DAY_MS);
      this.ctx.log.info({ tenant, days, purged }, 'cleanup: finished jobs purged');
    } catch (err) {
      this.ctx.log.error({ tenant, err: (err as Error).message }, 'cleanup: purgefinished failed');
    }
  }
}
