/**
 * Which (report, months) a provider still needs (folio-contract §7.3, §7.4, §8.4) and how they are grouped into
 * requests. The window runs from `harvestingStart` to the earlier of `harvestingEnd` and last month (the
 * current month is never requested). A month is done when it has a successful record, or a failed one
 * with `failedAttempts` ≥ `max_failed_attempts`, or an uncounted state whose re-check time has not come.
 */
import {
  firstDayOf,
  lastDayOf,
  monthsBetween,
  nextMonth,
  parseYearMonth,
  type YearMonth,
} from '../counter/index.ts';
import type { CounterReport, UsageDataProvider } from '../model/records.ts';
import type { ErmStore } from '../erm/port.ts';
import type { WorkItem } from '../store/sql/work-items.ts';
import { monthsCql, siblingReleases } from './cql-terms.ts';
import { recheckDue } from './month-state.ts';
import { isStoredSuccess } from './policy.ts';

export class PlanError extends Error {
  override name = 'PlanError';
}

export function itemDates(item: WorkItem): { beginDate: string; endDate: string } {
  return { beginDate: firstDayOf(item.begin), endDate: lastDayOf(item.end) };
}

export function itemMonths(item: WorkItem): YearMonth[] {
  return monthsBetween(item.begin, item.end);
}

/** The month before the current UTC month. */
export function lastCompleteMonth(now: number): YearMonth {
  const d = new Date(now);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth(); // 0-based: the previous month's 1-based number
  return m === 0 ? `${y - 1}-12` : `${y}-${String(m).padStart(2, '0')}`;
}

/** The months to consider for a provider, or an error naming the bad setting. */
export function harvestWindow(provider: UsageDataProvider, now: number): YearMonth[] {
  const cfg = provider.harvestingConfig ?? {};
  const startRaw = cfg.harvestingStart;
  if (startRaw === undefined || startRaw === null || startRaw === '')
    throw new PlanError('harvestingStart is missing');
  const start = parseYearMonth(startRaw);
  if (!start) throw new PlanError(`harvestingStart is not a month (yyyy-MM): ${String(startRaw)}`);
  const limit = lastCompleteMonth(now);
  let end = limit;
  const endRaw = cfg.harvestingEnd;
  if (typeof endRaw === 'string' && endRaw.trim() !== '') {
    const parsed = parseYearMonth(endRaw);
    if (!parsed) throw new PlanError(`harvestingEnd is not a month (yyyy-MM): ${endRaw}`);
    if (parsed < limit) end = parsed;
  }
  return start > end ? [] : monthsBetween(start, end);
}

/** Distinct requested report names, in order. */
export function requestedReports(provider: UsageDataProvider): string[] {
  const list = provider.harvestingConfig?.requestedReports;
  if (!Array.isArray(list)) return [];
  return [
    ...new Set(
      list.filter((r): r is string => typeof r === 'string' && r.trim() !== '').map((r) => r.trim()),
    ),
  ];
}

export interface PlanOptions {
  maxFailedAttempts: number;
  now: number;
  /** Reports requested one month at a time (compared case-insensitively). Default `['TR']`. */
  singleMonthReports?: string[];
  /** Longest range of one request, months. Default 12. */
  maxRangeMonths?: number;
  /** Records read per store request. */
  pageSize?: number;
  /** "Harvest again": these months (inclusive) and reports, requested even when stored. */
  again?: { from: YearMonth; to: YearMonth; reports?: string[] };
  /** The re-harvest window of a scheduled run: the last N complete months, requested again when stored. */
  reharvestMonths?: number;
}

/** The months of a "harvest again" (never the current month or later). */
function againWindow(again: { from: YearMonth; to: YearMonth }, now: number): YearMonth[] {
  const limit = lastCompleteMonth(now);
  const end = again.to < limit ? again.to : limit;
  return again.from > end ? [] : monthsBetween(again.from, end);
}

/**
 * Whether a stored month is requested again although done: every month of a "harvest again"; in the
 * re-harvest window, months stored with data or empty (a failure follows its own schedule).
 */
function requestedAgain(record: CounterReport, opts: PlanOptions, recent: Set<YearMonth>): boolean {
  if (opts.again) return true;
  return recent.has(record.yearMonth) && isStoredSuccess(record);
}

function previousMonth(month: YearMonth): YearMonth {
  const [y, m] = month.split('-').map(Number);
  return m === 1 ? `${y - 1}-12` : `${y}-${String(m - 1).padStart(2, '0')}`;
}

/** The last `n` complete months. */
function recentMonths(n: number | undefined, now: number): Set<YearMonth> {
  const months = new Set<YearMonth>();
  let month = lastCompleteMonth(now);
  for (let i = 0; i < (n ?? 0); i++) {
    months.add(month);
    month = previousMonth(month);
  }
  return months;
}

/** Whether a stored record means the month needs no request now. */
export function isMonthDone(record: CounterReport, maxFailedAttempts: number, now: number): boolean {
  if (record.failedAttempts === undefined || record.failedAttempts === null) return true;
  const attempts = Number(record.failedAttempts);
  if (Number.isFinite(attempts) && attempts >= maxFailedAttempts) return true;
  return !recheckDue(record, now);
}

/**
 * The stored records of the provider's `months` for each of `reports`, by the report's name in upper
 * case. The service's own store looks them all up by its unique month index in one statement (the
 * same records: either 5.x release, the report's name in any case); mod-erm-usage is asked with CQL,
 * one paged query per report.
 */
async function storedRecords(
  erm: ErmStore,
  tenant: string,
  providerId: string,
  release: string,
  reports: string[],
  months: YearMonth[],
  pageSize: number,
): Promise<Map<string, CounterReport[]>> {
  const byReport = new Map<string, CounterReport[]>(reports.map((r) => [r.toUpperCase(), []]));
  if (erm.findStoredMonths) {
    const records = await erm.findStoredMonths(tenant, {
      providerId,
      releases: siblingReleases(release),
      reportNames: reports,
      yearMonths: months,
    });
    for (const record of records) byReport.get(String(record.reportName).toUpperCase())?.push(record);
    return byReport;
  }
  for (const reportName of reports) {
    const cql = monthsCql(providerId, release, reportName, months[0], months[months.length - 1]);
    const records: CounterReport[] = [];
    for (let offset = 0; ; offset += pageSize) {
      const page = await erm.findCounterReports(tenant, cql, offset, pageSize, true);
      records.push(...page.records);
      if (page.records.length < pageSize || records.length >= page.totalRecords) break;
    }
    byReport.set(reportName.toUpperCase(), records);
  }
  return byReport;
}

/** Missing months per requested report, from the store (`storedRecords`). */
export async function missingMonths(
  erm: ErmStore,
  tenant: string,
  provider: UsageDataProvider,
  opts: PlanOptions,
): Promise<{ reportName: string; month: YearMonth }[]> {
  const window = opts.again ? againWindow(opts.again, opts.now) : harvestWindow(provider, opts.now);
  const reports = opts.again?.reports?.length ? opts.again.reports : requestedReports(provider);
  const recent = recentMonths(opts.reharvestMonths, opts.now);
  if (window.length === 0 || reports.length === 0) return [];
  const release = String(provider.harvestingConfig?.reportRelease ?? '');
  const missing: { reportName: string; month: YearMonth }[] = [];
  const stored = await storedRecords(
    erm,
    tenant,
    provider.id,
    release,
    reports,
    window,
    opts.pageSize ?? 1000,
  );
  for (const reportName of reports) {
    const records = stored.get(reportName.toUpperCase()) ?? [];
    const done = new Set(
      records
        .filter((r) => isMonthDone(r, opts.maxFailedAttempts, opts.now) && !requestedAgain(r, opts, recent))
        .map((r) => r.yearMonth),
    );
    for (const month of window) if (!done.has(month)) missing.push({ reportName, month });
  }
  return missing;
}

/**
 * Groups months into requests: single months for the single-month reports, otherwise runs of
 * consecutive months of at most `maxRangeMonths`; a gap always starts a new range (folio-contract §7.4).
 */
export function collapseRanges(
  months: { reportName: string; month: YearMonth }[],
  opts: Pick<PlanOptions, 'singleMonthReports' | 'maxRangeMonths'> = {},
): WorkItem[] {
  const single = new Set((opts.singleMonthReports ?? ['TR']).map((r) => r.toUpperCase()));
  const maxRange = Math.max(1, opts.maxRangeMonths ?? 12);
  const byReport = new Map<string, Set<YearMonth>>();
  for (const { reportName, month } of months) {
    let set = byReport.get(reportName);
    if (!set) byReport.set(reportName, (set = new Set()));
    set.add(month);
  }
  const items: WorkItem[] = [];
  for (const [reportName, set] of byReport) {
    const sorted = [...set].sort();
    const width = single.has(reportName.toUpperCase()) ? 1 : maxRange;
    let current: WorkItem | undefined;
    let length = 0;
    for (const month of sorted) {
      if (current && length < width && nextMonth(current.end) === month) {
        current.end = month;
        length++;
      } else {
        current = { reportName, begin: month, end: month };
        length = 1;
        items.push(current);
      }
    }
  }
  return items;
}

/** Expanding a range gives its single months (used when a range answer is invalid). */
export function expandItem(item: WorkItem): WorkItem[] {
  return itemMonths(item).map((month) => ({ reportName: item.reportName, begin: month, end: month }));
}

export async function planWorkItems(
  erm: ErmStore,
  tenant: string,
  provider: UsageDataProvider,
  opts: PlanOptions,
): Promise<WorkItem[]> {
  return collapseRanges(await missingMonths(erm, tenant, provider, opts), opts);
}
