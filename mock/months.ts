/** Month arithmetic for the mock COUNTER server (independent of the code under test). */

/** A calendar month as `yyyy-mm`. */
export type Month = string;

const MONTH = /^(\d{4})-(\d{2})$/;
const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Absolute month number (year × 12 + month − 1), the basis of all month arithmetic here. */
export function monthIndex(month: Month): number {
  const match = MONTH.exec(month);
  if (!match) throw new Error(`not a month: ${month}`);
  return Number(match[1]) * 12 + Number(match[2]) - 1;
}

export function monthFromIndex(index: number): Month {
  const year = Math.floor(index / 12);
  const month = (index % 12) + 1;
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}`;
}

export function daysInMonth(month: Month): number {
  const index = monthIndex(month);
  return new Date(Date.UTC(Math.floor(index / 12), (index % 12) + 1, 0)).getUTCDate();
}

export function firstDay(month: Month): string {
  return `${month}-01`;
}

export function lastDay(month: Month): string {
  return `${month}-${String(daysInMonth(month)).padStart(2, '0')}`;
}

/**
 * Reads a `begin_date`/`end_date` value: `yyyy-mm` or a valid `yyyy-mm-dd` (any day of the month).
 * Returns the month, or undefined when the value is not a date.
 */
export function parseDateParam(value: string | undefined): Month | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  const month = MONTH.exec(text);
  if (month) return Number(month[2]) >= 1 && Number(month[2]) <= 12 ? text : undefined;
  const day = DAY.exec(text);
  if (!day) return undefined;
  const ym = `${day[1]}-${day[2]}`;
  if (Number(day[2]) < 1 || Number(day[2]) > 12) return undefined;
  const d = Number(day[3]);
  return d >= 1 && d <= daysInMonth(ym) ? ym : undefined;
}

/** Every month from `begin` to `end`, both included (empty when begin > end). */
export function monthsBetween(begin: Month, end: Month): Month[] {
  const months: Month[] = [];
  for (let i = monthIndex(begin); i <= monthIndex(end); i++) months.push(monthFromIndex(i));
  return months;
}

/**
 * The cyclic relabelling rule of the `ok` scenario: a sample covering `length` months from `sampleBegin`
 * serves month `m` from sample month `sampleBegin + ((m − sampleBegin) mod length)`. Months inside the
 * sample's range map to themselves; e.g. with a 2022-01..2022-12 sample, 2023-05 and 2021-05 are served
 * from 2022-05; with a 2016-01..2016-03 sample, 2016-04 is served from 2016-01 and 2015-12 from 2016-03.
 */
export function cyclicSourceMonth(sampleBegin: Month, length: number, month: Month): Month {
  const offset = monthIndex(month) - monthIndex(sampleBegin);
  const wrapped = ((offset % length) + length) % length;
  return monthFromIndex(monthIndex(sampleBegin) + wrapped);
}
