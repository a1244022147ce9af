/**
 * Reading and rewriting `Report_Header` in both layouts: R5.0 keeps filters and attributes as
 * `[{Name, Value}]` arrays, R5.1 as objects. Names are matched case-insensitively (counter-notes §3.3 #18).
 */
import { findKeyLoose, getLoose, isJsonObject, type JsonObject } from './json.ts';
import { parseRelease, type CounterRelease } from './reports.ts';
import { firstDayOf, lastDayOf, parseYearMonth, type YearMonth } from './year-month.ts';

const REPORT_FILTERS = ['report_filters'];
const REPORT_ATTRIBUTES = ['report_attributes'];
const BEGIN_DATE = 'begin_date';
const END_DATE = 'end_date';

/** A member of a `[{Name, Value}]` list or of an object, by case-insensitive name. */
function namedValue(container: unknown, name: string): unknown {
  if (Array.isArray(container)) {
    const entry = container.find((e) => isJsonObject(e) && matchesName(getLoose(e, ['name']), name));
    return isJsonObject(entry) ? getLoose(entry, ['value']) : undefined;
  }
  return isJsonObject(container) ? getLoose(container, [name]) : undefined;
}

function matchesName(value: unknown, name: string): boolean {
  return typeof value === 'string' && value.toLowerCase().replace(/[_\s-]/g, '') === name.replace(/_/g, '');
}

export interface HeaderPeriod {
  /** Raw values as found; undefined when absent. */
  rawBegin: unknown;
  rawEnd: unknown;
  begin: YearMonth | undefined;
  end: YearMonth | undefined;
}

/** `Begin_Date`/`End_Date` from `Report_Filters` (either layout), falling back to the header itself. */
export function headerPeriod(header: JsonObject): HeaderPeriod {
  const filters = getLoose(header, REPORT_FILTERS);
  const rawBegin = namedValue(filters, BEGIN_DATE) ?? getLoose(header, [BEGIN_DATE]);
  const rawEnd = namedValue(filters, END_DATE) ?? getLoose(header, [END_DATE]);
  return { rawBegin, rawEnd, begin: parseYearMonth(rawBegin), end: parseYearMonth(rawEnd) };
}

/**
 * The layout the header is written in: filters or attributes as a `[{Name, Value}]` list are 5.0, as
 * an object 5.1; without either, the header's `Release`.
 */
export function headerLayout(header: JsonObject): CounterRelease | undefined {
  for (const key of [REPORT_FILTERS, REPORT_ATTRIBUTES]) {
    const value = getLoose(header, key);
    if (Array.isArray(value)) return '5';
    if (isJsonObject(value)) return '5.1';
  }
  return parseRelease(getLoose(header, ['release']));
}

/** `Totals` (R5.0, 5.1.0.1) and `Total` (R5.1 2023) in any case mean the period cannot be split. */
export function isTotalsGranularity(header: JsonObject): boolean {
  const value = namedValue(getLoose(header, REPORT_ATTRIBUTES), 'granularity');
  return typeof value === 'string' && /^totals?$/i.test(value.trim());
}

function setNamedValue(list: unknown[], name: string, label: string, value: string): unknown[] {
  let found = false;
  const updated = list.map((entry) => {
    if (!isJsonObject(entry) || !matchesName(getLoose(entry, ['name']), name)) return entry;
    found = true;
    const valueKey = findKeyLoose(entry, ['value']) ?? 'Value';
    return { ...entry, [valueKey]: value };
  });
  return found ? updated : [...updated, { Name: label, Value: value }];
}

function setMember(obj: JsonObject, name: string, label: string, value: string): JsonObject {
  return { ...obj, [findKeyLoose(obj, [name]) ?? label]: value };
}

/**
 * A copy of the header whose `Begin_Date`/`End_Date` are the first and last day of `month`. All other
 * filters, attributes and exceptions are kept. Missing filters are added in the release's layout.
 */
export function headerForMonth(header: JsonObject, month: YearMonth, release: CounterRelease): JsonObject {
  const begin = firstDayOf(month);
  const end = lastDayOf(month);
  const filtersKey = findKeyLoose(header, REPORT_FILTERS) ?? 'Report_Filters';
  const filters = header[filtersKey];
  let updated: unknown;
  if (Array.isArray(filters)) {
    updated = setNamedValue(
      setNamedValue(filters, BEGIN_DATE, 'Begin_Date', begin),
      END_DATE,
      'End_Date',
      end,
    );
  } else if (isJsonObject(filters)) {
    updated = setMember(setMember(filters, BEGIN_DATE, 'Begin_Date', begin), END_DATE, 'End_Date', end);
  } else if (release === '5') {
    updated = [
      { Name: 'Begin_Date', Value: begin },
      { Name: 'End_Date', Value: end },
    ];
  } else {
    updated = { Begin_Date: begin, End_Date: end };
  }
  return { ...header, [filtersKey]: updated };
}
