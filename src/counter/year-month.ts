/** Calendar-month arithmetic on `yyyy-MM` strings (UTC, no time zones involved). */

/** A calendar month as `yyyy-MM`, e.g. `2024-02`. */
export type YearMonth = string;

const MONTH_RE = /^\s*(\d{4})-(\d{1,2})(?:-(\d{1,2})(?:[T ].*)?)?\s*$/;

const MAX_CACHED = 10_000;
const parsed = new Map<string, YearMonth | undefined>();

/** Accepts `yyyy-MM`, `yyyy-M`, `yyyy-MM-dd` and date-times; returns the month or undefined. */
export function parseYearMonth(value: unknown): YearMonth | undefined {
  if (typeof value !== 'string') return undefined;
  // Memoised: every item repeats the same few month keys and dates.
  const known = parsed.get(value);
  if (known !== undefined || parsed.has(value)) return known;
  const month = parseUncached(value);
  if (parsed.size >= MAX_CACHED) parsed.clear();
  parsed.set(value, month);
  return month;
}

function parseUncached(value: string): YearMonth | undefined {
  const match = MONTH_RE.exec(value);
  if (!match) return undefined;
  const [, year, month, day] = match;
  const m = Number(month);
  if (m < 1 || m > 12) return undefined;
  if (day !== undefined && (Number(day) < 1 || Number(day) > daysInMonth(Number(year), m))) return undefined;
  return `${year}-${String(m).padStart(2, '0')}`;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function split(ym: YearMonth): [number, number] {
  return [Number(ym.slice(0, 4)), Number(ym.slice(5, 7))];
}

export function firstDayOf(ym: YearMonth): string {
  return `${ym}-01`;
}

export function lastDayOf(ym: YearMonth): string {
  const [year, month] = split(ym);
  return `${ym}-${String(daysInMonth(year, month)).padStart(2, '0')}`;
}

export function nextMonth(ym: YearMonth): YearMonth {
  const [year, month] = split(ym);
  return month === 12 ? `${year + 1}-01` : `${year}-${String(month + 1).padStart(2, '0')}`;
}

/** Every month from `begin` to `end` inclusive; empty when `end` is before `begin`. */
export function monthsBetween(begin: YearMonth, end: YearMonth, limit = 1200): YearMonth[] {
  const months: YearMonth[] = [];
  for (let ym = begin; ym <= end && months.length < limit; ym = nextMonth(ym)) months.push(ym);
  return months;
}
