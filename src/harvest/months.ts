/**
 * Storing the months of one request with FOLIO's upsert rule (upload.ts): the months of a data answer,
 * each month of a "no usage" answer, or every month of a failed request with the state the policy chose.
 * Uploads that keep failing stop the run (`uploadFailureLimit` in a row).
 */
import { formatDateTime } from '../dates.ts';
import type { SushiException, YearMonth } from '../counter/index.ts';
import type { CounterReport } from '../model/records.ts';
import { failRun, recordUpload } from '../store/sql/harvest-runs.ts';
import type { MonthSource } from '../sushi/types.ts';
import { scrub } from './binding.ts';
import type { HarvestParts, ItemContext } from './context.ts';
import type { HarvestState } from './month-state.ts';
import { itemDates, itemMonths } from './planner.ts';
import { leftOutMonths, type MonthFailure } from './policy.ts';
import { findMonth, monthsToStore, upsertMonth, type MonthKey, type MonthOutcome } from './upload.ts';

export class MonthStore {
  constructor(private readonly parts: HarvestParts) {}

  private now(): number {
    return this.parts.ctx.clock.now();
  }

  private keyFor({ item, binding }: ItemContext, yearMonth: YearMonth): MonthKey {
    const release = binding.endpoint.release;
    return {
      providerId: item.providerId,
      release,
      reportName: release === '4' ? item.reportName : item.reportName.toUpperCase(),
      yearMonth,
    };
  }

  /** Uploads one month; false when the upload stop rule ended the run. */
  private async upload(
    c: ItemContext,
    yearMonth: YearMonth,
    outcome: MonthOutcome,
    downloadTime: string,
    existing?: CounterReport | null,
    skipped = false,
  ): Promise<boolean> {
    const { ctx, erm, queue, tally } = this.parts;
    const { item, binding, log } = c;
    const limit = ctx.config.harvest.uploadFailureLimit;
    try {
      await upsertMonth(
        erm,
        item.tenant,
        this.keyFor(c, yearMonth),
        outcome,
        downloadTime,
        binding.maxFailedAttempts,
        existing,
      );
      await recordUpload(ctx.db, item.jobId, true);
      await tally.month(item, outcome, log, skipped);
      return true;
    } catch (err) {
      const inRow = await recordUpload(ctx.db, item.jobId, false);
      log.error(
        { event: 'upload-failed', yearMonth },
        `Upload of ${item.reportName} ${yearMonth} ${scrub(binding, (err as Error).message)}`,
      );
      if (inRow >= limit) {
        await failRun(
          ctx.db,
          item.jobId,
          JSON.stringify({ name: 'UploadError', message: `Stopping after ${limit} failed uploads in a row` }),
        );
        const taken = await queue.takeQueued(item.jobId);
        await tally.skipped(item, taken.flatMap(itemMonths), log);
        return false;
      }
      return true;
    }
  }

  /** The months of a data answer; requested months it names not ready (3031) wait for their re-check. */
  async storeData(c: ItemContext, data: MonthSource, state: HarvestState | undefined): Promise<void> {
    const downloadTime = formatDateTime(this.now());
    const stored = new Set<YearMonth>();
    for await (const month of monthsToStore(data, state)) {
      stored.add(month.yearMonth);
      if (!(await this.upload(c, month.yearMonth, month.outcome, downloadTime))) return;
    }
    if (data.exceptions.length > 0)
      c.log.warn(
        { event: 'exceptions-kept', codes: data.exceptions.map((e) => e.code) },
        'report stored with exceptions',
      );
    const missing = itemMonths(c.item).filter((m) => !stored.has(m));
    const leftOut = leftOutMonths(data.exceptions);
    if (missing.length > 0 && leftOut) {
      const reason = scrub(c.binding, `Report not valid: ${JSON.stringify([leftOut.exception.raw])}`);
      await this.failMonths(c, missing, reason, leftOut.failure);
    }
  }

  /** 3030 without a report body: each month stored as harvested with no usage. */
  async storeEmpty(c: ItemContext, exceptions: SushiException[]): Promise<void> {
    const { item, binding } = c;
    const downloadTime = formatDateTime(this.now());
    for (const yearMonth of itemMonths(item)) {
      const report = {
        Report_Header: {
          Report_ID: item.reportName.toUpperCase(),
          Release: binding.endpoint.release,
          Report_Filters: {
            Begin_Date: `${yearMonth}-01`,
            End_Date: itemDates({ ...item, begin: yearMonth, end: yearMonth }).endDate,
          },
          Exceptions: exceptions.map((e) => e.raw),
        },
        Report_Items: [],
      };
      const ok = await this.upload(
        c,
        yearMonth,
        { kind: 'success', report, state: { state: 'empty', code: 3030 } },
        downloadTime,
      );
      if (!ok) return;
    }
  }

  /** Records every month of the item as failed (see `failMonths`) and removes the item. */
  async failItem(c: ItemContext, reason: string, failure: MonthFailure): Promise<void> {
    await this.failMonths(c, itemMonths(c.item), reason, failure);
    await this.parts.queue.remove(c.item.id);
  }

  /**
   * Records `months` of the item as failed, counted and in the state as `failure` says; `skipped` when
   * they were not requested because the run or report stopped (the job report counts them so).
   */
  async failMonths(
    c: ItemContext,
    months: YearMonth[],
    reason: string,
    failure: MonthFailure,
    skipped = false,
  ): Promise<void> {
    const downloadTime = formatDateTime(this.now());
    const failedReason = reason || 'Error';
    for (const yearMonth of months) {
      let existing: CounterReport | undefined;
      try {
        existing = await findMonth(this.parts.erm, c.item.tenant, this.keyFor(c, yearMonth));
      } catch {
        existing = undefined;
      }
      const outcome: MonthOutcome = {
        kind: 'failure',
        failedReason,
        counting: failure.counting,
        state: failure.state(existing, this.now()),
      };
      if (!(await this.upload(c, yearMonth, outcome, downloadTime, existing ?? null, skipped))) return;
    }
  }
}
