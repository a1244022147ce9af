/**
 * Pure per-item month filtering (counter-notes §1.13, folio-contract §7.6), reading the layout from the data.
 *
 * The shape of each value decides how it is read, never the release the provider is configured with
 * or the header claims (docs/counter-validation.md, "Layout detection"):
 * - `Performance` (or R4-style `ItemPerformance`) holding an array is a 5.0 period list: entries
 *   `{Period: {Begin_Date, End_Date}, Instance: [{Metric_Type, Count}]}`, grouped by the month of
 *   `Begin_Date`;
 * - `Performance` holding an object is a 5.1 metric map `{Metric: {yyyy-MM: count}}`, each metric
 *   keeping only the month's key (also directly on an item, without `Attribute_Performance`);
 * - `Attribute_Performance`, `Components` and `Item_Component` are lists of objects read the same way.
 * Keys are matched without regard to case, `_`, `-` and spaces, so camelCase and lower-case variants
 * read like the official spelling; the copies keep the spelling they came with.
 *
 * While cutting, every count is reported to a `UsageSink`, so totals, top items and the Code of
 * Practice checks need no second pass over the data.
 */
import { findKeyLoose, isJsonObject, normaliseKey, type JsonObject } from './json.ts';
import type { CounterRelease } from './reports.ts';
import { parseYearMonth, type YearMonth } from './year-month.ts';

export type FindingCode =
  | 'multi_month_period'
  | 'invalid_period'
  | 'invalid_month_key'
  | 'item_without_usage'
  | 'non_object_item'
  | 'usage_outside_header_period'
  | 'header_dates_missing'
  | 'header_dates_invalid'
  | 'release_mismatch'
  | 'totals_granularity'
  | 'report_items_not_array';

/** Something noteworthy about the input that did not stop the split; counted, with one example. */
export interface Finding {
  code: FindingCode;
  count: number;
  example?: string;
}

export class Findings {
  private readonly byCode = new Map<FindingCode, Finding>();

  add(code: FindingCode, example?: string): void {
    const existing = this.byCode.get(code);
    if (existing) existing.count += 1;
    else this.byCode.set(code, { code, count: 1, ...(example !== undefined && { example }) });
  }

  list(): Finding[] {
    return [...this.byCode.values()].map((f) => ({ ...f }));
  }
}

/** Receives what the reader finds while it cuts an item into months. */
export interface UsageSink {
  /** A usage member was found (possibly empty): `Performance`, `Attribute_Performance`, components. */
  structure(): void;
  /** A `Performance` of this layout was read: a period list (`'5'`) or a metric map (`'5.1'`). */
  layout(release: CounterRelease): void;
  /** Around the counts of one object that owns a `Performance` (a 5.0 row, a 5.1 attribute set). */
  beginUnit(): void;
  endUnit(): void;
  /** One count as found (`metric` and `value` unchecked). */
  count(month: YearMonth, metric: unknown, value: unknown): void;
  /** Something shaped like usage that could not be read (a bad period, month key or instance). */
  unreadable(): void;
  /** The `YOP` of an item or attribute set. */
  yop(value: unknown): void;
}

const IGNORE: UsageSink = {
  structure: () => undefined,
  layout: () => undefined,
  beginUnit: () => undefined,
  endUnit: () => undefined,
  count: () => undefined,
  unreadable: () => undefined,
  yop: () => undefined,
};

interface Reader {
  findings: Findings;
  sink: UsageSink;
}

/** `obj[exact]`, or the first alias matched loosely when the exact spelling is absent. */
function member(obj: JsonObject, exact: string, aliases: readonly string[]): unknown {
  const value = obj[exact];
  if (value !== undefined) return value;
  const key = findKeyLoose(obj, aliases);
  return key === undefined ? undefined : obj[key];
}

// ---------------------------------------------------------------------------------------------
// 5.0 period lists

const PERIOD = ['period'];
const BEGIN_DATE = ['begin_date', 'begin'];
const END_DATE = ['end_date', 'end'];
const INSTANCE = ['instance'];
const METRIC_TYPE = ['metric_type'];
const COUNT = ['count'];

function periodMonth(entry: JsonObject, reader: Reader): YearMonth | undefined {
  const period = member(entry, 'Period', PERIOD);
  if (!isJsonObject(period)) {
    reader.findings.add('invalid_period', JSON.stringify(period ?? null).slice(0, 100));
    return undefined;
  }
  const begin = parseYearMonth(member(period, 'Begin_Date', BEGIN_DATE));
  if (begin === undefined) {
    reader.findings.add('invalid_period', JSON.stringify(period).slice(0, 100));
    return undefined;
  }
  const rawEnd = member(period, 'End_Date', END_DATE);
  const end = rawEnd === undefined ? undefined : parseYearMonth(rawEnd);
  if (end !== undefined && end !== begin) reader.findings.add('multi_month_period', JSON.stringify(period));
  return begin;
}

function readInstances(entry: JsonObject, month: YearMonth, reader: Reader): void {
  const instances = member(entry, 'Instance', INSTANCE);
  if (!Array.isArray(instances)) {
    if (instances !== undefined && instances !== null) reader.sink.unreadable();
    return;
  }
  for (const instance of instances) {
    if (!isJsonObject(instance)) {
      reader.sink.unreadable();
      continue;
    }
    reader.sink.count(month, member(instance, 'Metric_Type', METRIC_TYPE), member(instance, 'Count', COUNT));
  }
}

function append<T>(byMonth: Map<YearMonth, T[]>, month: YearMonth, value: T): void {
  const bucket = byMonth.get(month);
  if (bucket) bucket.push(value);
  else byMonth.set(month, [value]);
}

/**
 * Groups a 5.0 period list by month, reporting each instance's count; `whole` when every entry was
 * an object with a readable period (none was left out).
 */
function groupPeriods(
  list: unknown[],
  reader: Reader,
): { byMonth: Map<YearMonth, unknown[]>; whole: boolean } {
  const byMonth = new Map<YearMonth, unknown[]>();
  let kept = 0;
  for (const entry of list) {
    if (!isJsonObject(entry)) {
      reader.sink.unreadable();
      continue;
    }
    const month = periodMonth(entry, reader);
    if (month === undefined) {
      reader.sink.unreadable();
      continue;
    }
    readInstances(entry, month, reader);
    append(byMonth, month, entry);
    kept += 1;
  }
  return { byMonth, whole: kept === list.length };
}

// ---------------------------------------------------------------------------------------------
// 5.1 metric maps

/**
 * Groups one `{Metric: {yyyy-MM: n}}` object by month, keeping the original key spellings. `whole`
 * says whether every metric held at least one month key and every key was read (so a single month's
 * group holds exactly what the original holds).
 */
function splitMetrics(
  performance: JsonObject,
  reader: Reader,
): { byMonth: Map<YearMonth, JsonObject>; whole: boolean } {
  // First pass: report the counts and find the months. When all counts fall in one month and every
  // key was read, the month's group is the object itself (no copy is built).
  let whole = true;
  let only: YearMonth | undefined;
  let several = false;
  for (const metric in performance) {
    const counts = performance[metric];
    if (!isJsonObject(counts)) {
      reader.sink.unreadable();
      whole = false;
      continue;
    }
    let any = false;
    for (const monthKey in counts) {
      const month = parseYearMonth(monthKey);
      if (month === undefined) {
        reader.findings.add('invalid_month_key', monthKey);
        reader.sink.unreadable();
        whole = false;
        continue;
      }
      any = true;
      reader.sink.count(month, metric, counts[monthKey]);
      if (only === undefined) only = month;
      else if (month !== only) several = true;
    }
    if (!any) whole = false;
  }
  const byMonth = new Map<YearMonth, JsonObject>();
  if (only === undefined) return { byMonth, whole };
  if (!several && whole) return { byMonth: byMonth.set(only, performance), whole };
  for (const metric in performance) {
    const counts = performance[metric];
    if (!isJsonObject(counts)) continue;
    for (const monthKey in counts) {
      const month = parseYearMonth(monthKey);
      if (month === undefined) continue;
      let metrics = byMonth.get(month);
      if (!metrics) byMonth.set(month, (metrics = {}));
      const monthCounts = (metrics[metric] ??= {}) as JsonObject;
      monthCounts[monthKey] = counts[monthKey];
    }
  }
  return { byMonth, whole };
}

// ---------------------------------------------------------------------------------------------
// Any usage-bearing object

/**
 * What a month's copy does with a member that has nothing in that month: `empty` keeps it as `[]` (a
 * period list or `Attribute_Performance`, as the source layouts do), `drop` leaves it out (a metric
 * map or a component list).
 */
type Absent = 'empty' | 'drop';

interface Part {
  key: string;
  byMonth: Map<YearMonth, unknown>;
  absent: Absent;
  /**
   * When the part has usage in one month only: whether that month's value holds exactly what the
   * original value holds (nothing left out), so a copy of the owner for that month would equal it.
   */
  whole: boolean;
}

/**
 * Splits a list of usage-bearing objects into per-month lists, dropping empty ones. `whole` when
 * every element is an object that is whole in one and the same month (the month's list is the
 * original list, element for element).
 */
function splitList(
  list: unknown[],
  reader: Reader,
): { byMonth: Map<YearMonth, JsonObject[]>; whole: boolean } {
  const byMonth = new Map<YearMonth, JsonObject[]>();
  let whole = true;
  let only: YearMonth | undefined;
  for (const element of list) {
    if (!isJsonObject(element)) {
      reader.sink.unreadable();
      continue;
    }
    const split = splitNode(element, reader);
    if (whole) {
      const [month] = split.keys();
      whole = split.size === 1 && split.get(month) === element && (only === undefined || only === month);
      only = month;
    }
    for (const [month, filtered] of split) append(byMonth, month, filtered);
  }
  const kept = only === undefined ? 0 : (byMonth.get(only)?.length ?? 0);
  return { byMonth, whole: whole && byMonth.size <= 1 && kept === list.length };
}

function performancePart(key: string, value: unknown, reader: Reader): Part | undefined {
  if (Array.isArray(value) || isJsonObject(value)) reader.sink.structure();
  if (Array.isArray(value)) {
    reader.sink.layout('5');
    reader.sink.beginUnit();
    const { byMonth, whole } = groupPeriods(value, reader);
    reader.sink.endUnit();
    return { key, byMonth, absent: 'empty', whole };
  }
  if (isJsonObject(value)) {
    reader.sink.layout('5.1');
    reader.sink.beginUnit();
    const { byMonth, whole } = splitMetrics(value, reader);
    reader.sink.endUnit();
    return { key, byMonth, absent: 'drop', whole };
  }
  if (value !== null && value !== undefined) reader.sink.unreadable();
  return undefined;
}

function listPart(key: string, value: unknown, absent: Absent, reader: Reader): Part | undefined {
  if (Array.isArray(value)) {
    reader.sink.structure();
    const { byMonth, whole } = splitList(value, reader);
    return { key, byMonth, absent, whole };
  }
  if (value !== null && value !== undefined) reader.sink.unreadable();
  return undefined;
}

function splitNode(node: JsonObject, reader: Reader): Map<YearMonth, JsonObject> {
  // One pass over the keys instead of one loose lookup per member name.
  const parts: Part[] = [];
  for (const key in node) {
    let part: Part | undefined;
    switch (normaliseKey(key)) {
      case 'performance':
      case 'itemperformance':
        part = performancePart(key, node[key], reader);
        break;
      case 'attributeperformance':
        part = listPart(key, node[key], 'empty', reader);
        break;
      case 'components':
      case 'itemcomponent':
        part = listPart(key, node[key], 'drop', reader);
        break;
      case 'yop':
        reader.sink.yop(node[key]);
        break;
    }
    if (part) parts.push(part);
  }
  const result = new Map<YearMonth, JsonObject>();
  if (parts.length === 0) return result;
  const months = parts.length === 1 ? parts[0].byMonth.keys() : monthsOf(parts);
  const single = wholeMonth(parts);
  if (single !== undefined) return result.set(single, node);
  for (const month of months) {
    const copy: JsonObject = { ...node };
    for (const { key, byMonth, absent } of parts) {
      const value = byMonth.get(month);
      if (value !== undefined) copy[key] = value;
      else if (absent === 'empty') copy[key] = [];
      else delete copy[key];
    }
    result.set(month, copy);
  }
  return result;
}

/**
 * The one month of a node whose usage all falls in that month with nothing left out: its copy for
 * that month would equal the node (same members, same values), so the node itself is used.
 * Undefined when there are several months or any copy would differ.
 */
function wholeMonth(parts: Part[]): YearMonth | undefined {
  let only: YearMonth | undefined;
  for (const part of parts) {
    const size = part.byMonth.size;
    if (size === 0) {
      // Dropped from the copy (`drop`), or kept as `[]`: the same only when it was `[]` already.
      if (part.absent === 'drop' || !part.whole) return undefined;
      continue;
    }
    if (size > 1 || !part.whole) return undefined;
    const [month] = part.byMonth.keys();
    if (only !== undefined && only !== month) return undefined;
    only = month;
  }
  return only;
}

function monthsOf(parts: Part[]): Set<YearMonth> {
  const months = new Set<YearMonth>();
  for (const part of parts) for (const month of part.byMonth.keys()) months.add(month);
  return months;
}

/**
 * Splits one report item (5.0 item, 5.1 item, or the usage of a 5.1 IR parent itself) into one
 * filtered copy per month in which it has usage. Items without usage yield an empty map.
 */
export function splitItemByMonth(
  item: unknown,
  findings: Findings,
  sink: UsageSink = IGNORE,
): Map<YearMonth, JsonObject> {
  if (!isJsonObject(item)) {
    findings.add('non_object_item', JSON.stringify(item ?? null).slice(0, 100));
    sink.unreadable();
    return new Map();
  }
  return splitNode(item, { findings, sink });
}

const USAGE_KEYS = new Set([
  'attributeperformance',
  'performance',
  'itemperformance',
  'components',
  'itemcomponent',
]);

/** Whether a key names a usage-bearing member (any spelling). */
export function isUsageKey(key: string): boolean {
  return USAGE_KEYS.has(normaliseKey(key));
}

/** Whether an item carries usage of its own (as opposed to an IR parent group holding only `Items`). */
export function hasOwnUsage(item: JsonObject): boolean {
  for (const key in item) if (isUsageKey(key)) return true;
  return false;
}
