/**
 * Storing the months of one request with FOLIO's upsert rule (upload.ts): the months of a data answer,
 * each month of a "no usage" answer, or every month of a failed request with the state the policy chose.
 * A month already stored is replaced only as `replacement` (policy.ts) says: same items → left alone,
 * other items → replaced and the change recorded (counter_report_changes); a failure never replaces
 * a stored month. The record's release is the release the data is in (COUNTER 5.0 or 5.1 layout), the
 * configured one noted when it differs; months outside the request are not stored but noted.
 * Uploads that keep failing stop the run (`uploadFailureLimit` in a row).
 */
import { createHash } from 'node:crypto';
import { formatDateTime } from '../dates.ts';
import { findLocalStorageError, type SushiException, type YearMonth } from '../counter/index.ts';
import type { CounterReport } from '../model/records.ts';
import { failRun, recordUpload } from '../store/sql/harvest-runs.ts';
import { addJobNote } from '../store/sql/job-info.ts';
import { insertReportChange } from '../store/sql/report-changes.ts';
import type { MonthSource } from '../sushi/types.ts';
import { scrub } from './binding.ts';
import type { HarvestParts, ItemContext } from './context.ts';
import type { HarvestState } from './month-state.ts';
import { itemDates, itemMonths } from './planner.ts';
import { failureReplaces, leftOutMonths, replacement, type MonthFailure } from './policy.ts';
import {
  findMonth,
  findMonths,
  insertNewMonths,
  monthsToStore,
  upsertMonth,
  upsertMonths,
  type MonthKey,
  type MonthOutcome,
  type MonthWrite,
} from './upload.ts';

/** The hash of a month without items (a 3030 or an empty report). */
const EMPTY_HASH = createHash('sha256').digest('hex');

/**
 * The months of one response are written together (one lookup, one transaction) up to this many item
 * bytes held in memory or this many months; a larger month is written on its own.
 */
const BATCH_BYTES = 8 * 1024 * 1024;
const BATCH_MONTHS = 24;

/** A successful month waiting to be written with the others of its response. */
interface PendingMonth {
  key: MonthKey;
  outcome: MonthOutcome & { kind: 'success' };
}

function releaseName(release: string): string {
  return release === '5' ? '5.0' : release;
}

export class MonthStore {
  constructor(private readonly parts: HarvestParts) {}

  private now(): number {
    return this.parts.ctx.clock.now();
  }

  private keyFor({ item, binding }: ItemContext, yearMonth: YearMonth, dataRelease?: string): MonthKey {
    const release = dataRelease ?? binding.endpoint.release;
    return {
      providerId: item.providerId,
      release,
      reportName: release === '4' ? item.reportName : item.reportName.toUpperCase(),
      yearMonth,
    };
  }

  /** The stored record of a month, or undefined (also when the lookup fails: the upsert looks again). */
  private async existing(c: ItemContext, key: MonthKey): Promise<CounterReport | null | undefined> {
    try {
      return (await findMonth(this.parts.erm, c.item.tenant, key)) ?? null;
    } catch {
      return undefined;
    }
  }

  /**
   * The stored records of several months of the item's report (one lookup), or undefined when the
   * store cannot look them up at once or the lookup failed (then they are looked up one by one).
   */
  private async existingMany(
    c: ItemContext,
    keys: MonthKey[],
  ): Promise<Map<string, CounterReport> | undefined> {
    try {
      return await findMonths(this.parts.erm, c.item.tenant, keys);
    } catch {
      return undefined;
    }
  }

  /** Uploads one month; `stop` when the upload stop rule ended the run. */
  private async upload(
    c: ItemContext,
    key: MonthKey,
    outcome: MonthOutcome,
    downloadTime: string,
    existing?: CounterReport | null,
    skipped = false,
  ): Promise<{ stop: boolean; id?: string }> {
    const { ctx, erm, queue, tally } = this.parts;
    const { item, binding, log } = c;
    const limit = ctx.config.harvest.uploadFailureLimit;
    try {
      const id = await upsertMonth(
        erm,
        item.tenant,
        key,
        outcome,
        downloadTime,
        binding.maxFailedAttempts,
        existing,
      );
      await recordUpload(ctx.db, item.jobId, true);
      await tally.month(item, outcome, log, skipped);
      return { stop: false, id };
    } catch (err) {
      // A streamed month whose spill file could not be read back: the harvester's disk, not the store.
      if (findLocalStorageError(err)) throw err;
      const inRow = await recordUpload(ctx.db, item.jobId, false);
      await tally.notStored(item, log);
      log.error(
        { event: 'upload-failed', yearMonth: key.yearMonth },
        `Upload of ${item.reportName} ${key.yearMonth} ${scrub(binding, (err as Error).message)}`,
      );
      if (inRow >= limit) {
        await failRun(
          ctx.db,
          item.jobId,
          JSON.stringify({ name: 'UploadError', message: `Stopping after ${limit} failed uploads in a row` }),
        );
        const taken = await queue.takeQueued(item.jobId);
        await tally.skipped(item, taken.flatMap(itemMonths), log);
        return { stop: true };
      }
      return { stop: false };
    }
  }

  /**
   * Stores one successful month unless the stored record says otherwise (`replacement`); records a
   * restatement. False when the run was stopped.
   */
  private async storeMonth(
    c: ItemContext,
    key: MonthKey,
    outcome: MonthOutcome & { kind: 'success' },
    downloadTime: string,
  ): Promise<boolean> {
    const existing = await this.existing(c, key);
    const verdict = this.verdict(c, key, outcome, existing ?? undefined);
    if (verdict === 'skip') return true;
    const { stop, id } = await this.upload(c, key, outcome, downloadTime, existing);
    await this.noteRestated(c, key, outcome, verdict, existing ?? undefined, id);
    return !stop;
  }

  /** Whether a successful month replaces the stored one (`replacement`); 'skip' (logged) when not. */
  private verdict(
    c: ItemContext,
    key: MonthKey,
    outcome: MonthOutcome & { kind: 'success' },
    existing: CounterReport | undefined,
  ): ReturnType<typeof replacement> | 'skip' {
    const verdict = replacement(existing, {
      contentHash: outcome.contentHash,
      itemCount: outcome.usage?.itemCount,
    });
    if (verdict !== 'unchanged' && verdict !== 'keep') return verdict;
    c.log.info(
      { event: verdict === 'keep' ? 'usage-kept' : 'month-unchanged', yearMonth: key.yearMonth },
      verdict === 'keep'
        ? `${key.reportName} ${key.yearMonth}: answer without usage; the stored usage is kept`
        : `${key.reportName} ${key.yearMonth}: unchanged`,
    );
    return 'skip';
  }

  /**
   * Successful months of one response, written together: one lookup and, when the store can, one
   * transaction (`upsertMonths`) with one upload count and one job report update. When the store
   * cannot, or the transaction fails, they are written month by month as `storeMonth` does (each
   * failure then counts towards the upload stop rule). False when the run was stopped.
   */
  private async storeMonths(c: ItemContext, months: PendingMonth[], downloadTime: string): Promise<boolean> {
    if (months.length === 0) return true;
    const { erm, tally } = this.parts;
    // A first harvest: looked up and written in one statement when none of the months is stored.
    const fresh = await this.insertNew(c, months, downloadTime);
    if (fresh && 'ids' in fresh) {
      await tally.monthsUploaded(
        c.item,
        months.map((m) => m.outcome),
        c.log,
        c.reportLater,
      );
      return true;
    }
    const found =
      fresh?.existing ??
      (await this.existingMany(
        c,
        months.map((m) => m.key),
      ));
    if (!found) {
      for (const m of months) if (!(await this.storeMonth(c, m.key, m.outcome, downloadTime))) return false;
      return true;
    }
    const writes: (MonthWrite & { outcome: PendingMonth['outcome']; verdict: string })[] = [];
    for (const { key, outcome } of months) {
      const existing = found.get(key.yearMonth);
      const verdict = this.verdict(c, key, outcome, existing);
      if (verdict !== 'skip') writes.push({ key, outcome, existing, verdict });
    }
    if (writes.length === 0) return true;
    let ids: string[] | undefined;
    try {
      ids = await upsertMonths(erm, c.item.tenant, writes, downloadTime, c.binding.maxFailedAttempts);
    } catch {
      ids = undefined;
    }
    if (!ids) {
      // Month by month, each looked up again (another process may have written one meanwhile).
      for (const w of writes) {
        const { stop, id } = await this.upload(c, w.key, w.outcome, downloadTime);
        await this.noteRestated(c, w.key, w.outcome, w.verdict, w.existing, id);
        if (stop) return false;
      }
      return true;
    }
    await tally.monthsUploaded(
      c.item,
      writes.map((w) => w.outcome),
      c.log,
      c.reportLater,
    );
    for (const [i, w] of writes.entries())
      await this.noteRestated(c, w.key, w.outcome, w.verdict, w.existing, ids[i]);
    return true;
  }

  /**
   * The months written as new records in one statement (`insertNewMonths`) when none is stored; the
   * stored months when some are (nothing written); undefined when the store cannot or the statement
   * failed (then they are looked up and written as before).
   */
  private async insertNew(
    c: ItemContext,
    months: PendingMonth[],
    downloadTime: string,
  ): Promise<{ ids: string[] } | { existing: Map<string, CounterReport> } | undefined> {
    try {
      return await insertNewMonths(
        this.parts.erm,
        c.item.tenant,
        months,
        downloadTime,
        c.binding.maxFailedAttempts,
      );
    } catch {
      return undefined;
    }
  }

  /** A month the provider restated (other items than stored): the change is recorded. */
  private async noteRestated(
    c: ItemContext,
    key: MonthKey,
    outcome: MonthOutcome & { kind: 'success' },
    verdict: string,
    existing: CounterReport | undefined,
    id: string | undefined,
  ): Promise<void> {
    if (verdict === 'restated' && id && existing && outcome.contentHash) {
      await insertReportChange(this.parts.ctx.db, c.item.tenant, {
        changedAt: new Date(this.now()).toISOString(),
        counterReportId: id,
        providerId: key.providerId,
        reportName: key.reportName,
        release: key.release,
        yearMonth: key.yearMonth,
        previousHash: existing.contentHash,
        newHash: outcome.contentHash,
        totalsBefore: existing.usageTotals,
        totalsAfter: outcome.usage?.usageTotals,
        jobId: c.item.jobId,
      });
      c.log.info(
        { event: 'restated', yearMonth: key.yearMonth },
        `${key.reportName} ${key.yearMonth}: restated by the provider; replaced and recorded`,
      );
    }
  }

  /** The state the months of a data answer carry: the policy's, plus the release and range notes. */
  private async dataState(
    c: ItemContext,
    data: MonthSource,
    state: HarvestState | undefined,
  ): Promise<{ state: HarvestState | undefined; release: string }> {
    const configured = c.binding.endpoint.release;
    const release = data.detectedRelease ?? configured;
    let result = state;
    if (release !== configured) {
      result = {
        ...(result ?? { state: 'harvested' }),
        configuredRelease: configured,
        note:
          `the data is in the COUNTER ${releaseName(release)} layout; the provider is configured ` +
          `for ${releaseName(configured)}`,
      };
    }
    const outside = data.monthsOutsideRequest ?? [];
    if (outside.length > 0) {
      result = { ...(result ?? { state: 'harvested' }), monthsOutsideRequest: [...outside] };
      const note =
        `${c.item.reportName} ${c.item.begin}..${c.item.end}: the provider also sent ` +
        `${outside.join(', ')}, not requested and not stored`;
      c.log.warn({ event: 'months-outside-request', months: outside }, note);
      await addJobNote(this.parts.ctx.db, c.item.tenant, c.item.jobId, note);
    }
    return { state: result, release };
  }

  /** The months of a data answer; requested months it names not ready (3031) wait for their re-check. */
  async storeData(c: ItemContext, data: MonthSource, state: HarvestState | undefined): Promise<void> {
    const downloadTime = formatDateTime(this.now());
    const stored = new Set<YearMonth>();
    const { state: monthState, release } = await this.dataState(c, data, state);
    let pending: PendingMonth[] = [];
    let pendingBytes = 0;
    for await (const month of monthsToStore(data, monthState)) {
      stored.add(month.yearMonth);
      const key = this.keyFor(c, month.yearMonth, release);
      if (month.outcome.streamed) {
        // Valid only until the next month is read: written now, after the months before it.
        if (!(await this.storeMonths(c, pending, downloadTime))) return;
        pending = [];
        pendingBytes = 0;
        if (!(await this.storeMonth(c, key, month.outcome, downloadTime))) return;
        continue;
      }
      pending.push({ key, outcome: month.outcome });
      pendingBytes += month.itemBytes ?? 0;
      if (pendingBytes >= BATCH_BYTES || pending.length >= BATCH_MONTHS) {
        if (!(await this.storeMonths(c, pending, downloadTime))) return;
        pending = [];
        pendingBytes = 0;
      }
    }
    if (!(await this.storeMonths(c, pending, downloadTime))) return;
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
    const months: PendingMonth[] = [];
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
      const outcome: MonthOutcome & { kind: 'success' } = {
        kind: 'success',
        report,
        state: { state: 'empty', code: 3030 },
        usage: { itemCount: 0, usageTotals: {} },
        contentHash: EMPTY_HASH,
      };
      months.push({ key: this.keyFor(c, yearMonth), outcome });
    }
    await this.storeMonths(c, months, downloadTime);
  }

  /** Records every month of the item as failed (see `failMonths`) and removes the item. */
  async failItem(c: ItemContext, reason: string, failure: MonthFailure): Promise<void> {
    await this.failMonths(c, itemMonths(c.item), reason, failure);
    await this.parts.queue.remove(c.item.id);
  }

  /**
   * Records `months` of the item as failed, counted and in the state as `failure` says; `skipped` when
   * they were not requested because the run or report stopped (the job report counts them so). A month
   * that is stored (a re-harvest) keeps its data.
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
    const found = await this.existingMany(
      c,
      months.map((m) => this.keyFor(c, m)),
    );
    for (const yearMonth of months) {
      const key = this.keyFor(c, yearMonth);
      const existing = found ? (found.get(yearMonth) ?? null) : await this.existing(c, key);
      if (!failureReplaces(existing ?? undefined)) {
        c.log.warn(
          { event: 'failure-not-stored', yearMonth },
          `${key.reportName} ${yearMonth}: request failed; the stored month is kept`,
        );
        continue;
      }
      const outcome: MonthOutcome = {
        kind: 'failure',
        failedReason,
        counting: failure.counting,
        state: failure.state(existing ?? undefined, this.now()),
      };
      if ((await this.upload(c, key, outcome, downloadTime, existing, skipped)).stop) return;
    }
  }
}
