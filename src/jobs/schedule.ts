/**
 * Pure fire-time arithmetic of the periodic schedule (folio-contract §6.6), and the schedule of a stored
 * configuration. All times are epoch ms, UTC.
 *
 * The schedule fires at `HH:mm:00` of `startAt`: every day (`daily`), on `startAt`'s weekday (`weekly`), or on
 * `startAt`'s day of month `d` (`monthly`; when `d` > 28, on the last day of every month, as Quartz's `L`).
 */
import { parseDateTime } from '../dates.ts';
import {
  PERIODIC_INTERVALS,
  type PeriodicConfig,
  type PeriodicInterval,
} from '../store/sql/periodic-config.ts';

export interface ScheduleSpec {
  startAt: number;
  periodicInterval: PeriodicInterval;
  lastTriggeredAt?: number;
}

const SECOND = 1000;
const DAY = 86_400_000;

/** The earliest start: `lastTriggeredAt` (whole seconds) + 1 s when it is not before `startAt`, else `startAt`. */
export function triggerStart(spec: ScheduleSpec): number {
  const last = spec.lastTriggeredAt;
  if (last !== undefined && last >= spec.startAt) return Math.floor(last / SECOND) * SECOND + SECOND;
  return spec.startAt;
}

function lastDayOfMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
}

/** The schedule time on the calendar month (`year`, `month`) for a monthly schedule. */
function monthlyTimeIn(spec: ScheduleSpec, year: number, month: number): number {
  const start = new Date(spec.startAt);
  const d = start.getUTCDate();
  const day = d > 28 ? lastDayOfMonth(year, month) : d;
  return Date.UTC(year, month, day, start.getUTCHours(), start.getUTCMinutes());
}

/** The earliest schedule time that is at or after `t`. */
export function fireAtOrAfter(spec: ScheduleSpec, t: number): number {
  const start = new Date(spec.startAt);
  const at = new Date(t);
  const year = at.getUTCFullYear();
  const month = at.getUTCMonth();
  if (spec.periodicInterval === 'monthly') {
    const here = monthlyTimeIn(spec, year, month);
    return here >= t ? here : monthlyTimeIn(spec, year, month + 1);
  }
  const sameDay = Date.UTC(year, month, at.getUTCDate(), start.getUTCHours(), start.getUTCMinutes());
  if (spec.periodicInterval === 'daily') return sameDay >= t ? sameDay : sameDay + DAY;
  const daysAhead = (start.getUTCDay() - at.getUTCDay() + 7) % 7;
  const candidate = sameDay + daysAhead * DAY;
  return candidate >= t ? candidate : candidate + 7 * DAY;
}

/** The earliest schedule time strictly after `t`. */
export function fireAfter(spec: ScheduleSpec, t: number): number {
  return fireAtOrAfter(spec, Math.floor(t / SECOND) * SECOND + SECOND);
}

/** The first fire time of a (re)built schedule: the earliest schedule time at or after the trigger start. */
export function firstFireTime(spec: ScheduleSpec): number {
  return fireAtOrAfter(spec, triggerStart(spec));
}

/** A due fire time counts as misfired when it lies more than `thresholdMs` before `now`. */
export function isMisfire(fireTime: number, now: number, thresholdMs: number): boolean {
  return now - fireTime > thresholdMs;
}

/**
 * What to do with a due fire time `fireTime` at `now` ("fire once and proceed"): the time the firing is
 * recorded with (the scheduled time, or now after a misfire) and the following fire time (after the scheduled
 * time, or after now after a misfire, so missed firings are never replayed).
 */
export function planFiring(
  spec: ScheduleSpec,
  fireTime: number,
  now: number,
  thresholdMs: number,
): { firedAt: number; following: number } {
  if (isMisfire(fireTime, now, thresholdMs)) return { firedAt: now, following: fireAfter(spec, now) };
  return { firedAt: fireTime, following: fireAfter(spec, Math.max(fireTime, now)) };
}

/** The schedule of a stored configuration; undefined when its values are unusable. */
export function scheduleSpecOf(config: PeriodicConfig): ScheduleSpec | undefined {
  const startAt = parseDateTime(config.startAt);
  if (startAt === undefined || !PERIODIC_INTERVALS.includes(config.periodicInterval)) return undefined;
  const last = config.lastTriggeredAt === undefined ? undefined : parseDateTime(config.lastTriggeredAt);
  return { startAt, periodicInterval: config.periodicInterval, lastTriggeredAt: last };
}
