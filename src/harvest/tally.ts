/**
 * What the harvest counts as it goes: each stored month and each deferred or skipped request goes into
 * the provider job's report (kept on its JobInfo as `report`, beside FOLIO's fields) and into the
 * metrics. Counting never fails a harvest: a failed count is logged.
 */
import type { YearMonth } from '../counter/index.ts';
import { recordUpload } from '../store/sql/harvest-runs.ts';
import { addToJobReport, type JobReportDelta } from '../store/sql/job-info.ts';
import type { ServiceContext } from '../context.ts';
import type { Logger } from '../log.ts';
import type { MonthOutcome } from './upload.ts';

/** The item a count belongs to. */
interface Counted {
  tenant: string;
  jobId: string;
}

/**
 * A request's uploaded months whose job report update (with the upload count) goes with the removal
 * of its item (work-items.ts `removeAndRelease`, one statement less per request); `reportLater`
 * writes it on its own when the item is not removed.
 */
export interface ReportLater {
  uploaded: boolean;
  stored: number;
  empty: number;
}

export function newReportLater(): ReportLater {
  return { uploaded: false, stored: 0, empty: 0 };
}

export class HarvestTally {
  constructor(private readonly ctx: ServiceContext) {}

  /** A month written with `outcome`; `skipped` when it failed only because its run or report stopped. */
  async month(item: Counted, outcome: MonthOutcome, log: Logger, skipped = false): Promise<void> {
    const state = outcome.state?.state ?? (outcome.kind === 'success' ? 'harvested' : 'failed');
    this.ctx.metrics.monthsStored.inc({ state });
    let delta: JobReportDelta;
    if (outcome.kind === 'success') delta = state === 'empty' ? { empty: 1 } : { stored: 1 };
    else if (skipped) delta = { skipped: 1 };
    else delta = { failed: { [String(outcome.state?.code ?? 'none')]: 1 } };
    await this.add(item, delta, log);
  }

  /** A month whose upload failed (not stored; counted under `upload` with the failed months). */
  async notStored(item: Counted, log: Logger): Promise<void> {
    await this.add(item, { failed: { upload: 1 } }, log);
  }

  /**
   * Several successful months written together: their upload counted (harvest-runs.ts `recordUpload`)
   * and the job report updated in one statement. When that fails the upload is counted on its own
   * (a failure of that propagates, as `recordUpload`'s does) and the report update is logged.
   */
  async monthsUploaded(
    item: Counted,
    outcomes: (MonthOutcome & { kind: 'success' })[],
    log: Logger,
    later?: ReportLater,
  ): Promise<void> {
    const delta = { stored: 0, empty: 0 };
    for (const outcome of outcomes) {
      const state = outcome.state?.state ?? 'harvested';
      this.ctx.metrics.monthsStored.inc({ state });
      if (state === 'empty') delta.empty++;
      else delta.stored++;
    }
    if (later) {
      later.uploaded = true;
      later.stored += delta.stored;
      later.empty += delta.empty;
      return;
    }
    await this.reportUploaded(item, delta, log);
  }

  /** Months uploaded whose report was left for later (`ReportLater`), written now. */
  async reportLater(item: Counted, later: ReportLater, log: Logger): Promise<void> {
    if (later.uploaded) await this.reportUploaded(item, { stored: later.stored, empty: later.empty }, log);
  }

  private async reportUploaded(
    item: Counted,
    delta: { stored: number; empty: number },
    log: Logger,
  ): Promise<void> {
    try {
      await addToJobReport(this.ctx.db, item.tenant, item.jobId, delta, { uploadSucceeded: true });
    } catch (err) {
      log.warn({ event: 'job-report', err: (err as Error).message }, 'cannot update the job report');
      await recordUpload(this.ctx.db, item.jobId, true);
    }
  }

  /** A request put back for later (queued, busy, rate limited). */
  async deferred(item: Counted, log: Logger): Promise<void> {
    await this.add(item, { deferred: 1 }, log);
  }

  /** Months not requested because the run stopped before them (upload stop rule). */
  async skipped(item: Counted, months: readonly YearMonth[], log: Logger): Promise<void> {
    if (months.length > 0) await this.add(item, { skipped: months.length }, log);
  }

  private async add(item: Counted, delta: JobReportDelta, log: Logger): Promise<void> {
    try {
      await addToJobReport(this.ctx.db, item.tenant, item.jobId, delta);
    } catch (err) {
      log.warn({ event: 'job-report', err: (err as Error).message }, 'cannot update the job report');
    }
  }
}
