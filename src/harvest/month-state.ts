/**
 * The structured harvest state the harvester keeps on a stored month, next to FOLIO's fields
 * (`harvestState`; counter-report records allow additional properties). FOLIO's UI keeps working from
 * `failedAttempts`/`failedReason`; this field says what kind of outcome a month had and when to look again.
 */
import type { CounterReport } from '../model/records.ts';
import { formatDateTime, parseDateTime } from '../dates.ts';

export type MonthState =
  /** Data stored, possibly with warnings. */
  | 'harvested'
  /** Stored with 3040 Partial Data Returned. */
  | 'partial'
  /** 3030 / an empty report: harvested, no usage. */
  | 'empty'
  /** 3031: not processed yet; re-checked on a schedule of days, not counted as a failure. */
  | 'not_ready'
  /** Queued/busy/unavailable service until the deferral budget ran out; not counted. */
  | 'deferred_timeout'
  /** 3032: no longer available in this release; terminal. */
  | 'unavailable'
  /** Counted failure. */
  | 'failed';

export interface HarvestState {
  state: MonthState;
  /** The COUNTER exception code behind the state, when there is one. */
  code?: number;
  /** Consecutive outcomes in this state (re-check schedule position). */
  checks?: number;
  /** Do not request before this time (folio-contract H7 date-time). */
  nextCheckAfter?: string;
  /** How the month came in: harvested from the provider or uploaded as a file. */
  source?: 'harvest' | 'upload';
  /** The uploaded file's name (source `upload`). */
  fileName?: string;
  /**
   * The provider's configured release when the data came in another layout (the record's `release`
   * is the data's); `note` says so in words.
   */
  configuredRelease?: string;
  /** Months the same response covered outside the request (not stored). */
  monthsOutsideRequest?: string[];
  /** What a reader should know about how the month was read. */
  note?: string;
}

/** 3031 re-check schedule in days after each not-ready answer (counter-notes §2.5: about six weeks). */
export const NOT_READY_SCHEDULE_DAYS = [1, 2, 4, 8, 8, 8, 8];

const DAY = 24 * 60 * 60 * 1000;

export function stateOf(record: CounterReport | undefined): HarvestState | undefined {
  const s = record?.harvestState;
  return s && typeof s === 'object' && typeof (s as HarvestState).state === 'string'
    ? (s as HarvestState)
    : undefined;
}

/** Whether an uncounted failure's re-check time has come (always true for other records). */
export function recheckDue(record: CounterReport, now: number): boolean {
  const next = parseDateTime(stateOf(record)?.nextCheckAfter);
  return next === undefined || next <= now;
}

/** The state of a month answered 3031 again (or for the first time). */
export function notReadyState(
  previous: CounterReport | undefined,
  now: number,
  scheduleDays = NOT_READY_SCHEDULE_DAYS,
): HarvestState {
  const prev = stateOf(previous);
  const checks = prev?.state === 'not_ready' ? (prev.checks ?? 1) + 1 : 1;
  const days = scheduleDays[Math.min(checks, scheduleDays.length) - 1] ?? 8;
  return { state: 'not_ready', code: 3031, checks, nextCheckAfter: formatDateTime(now + days * DAY) };
}
