/**
 * Pure per-item month filtering (field notes §1.13, spec §7.6).
 *
 * R5.0: `Performance[]` entries are grouped by the month of `Period.Begin_Date`; `Item_Component[]`
 * entries are filtered the same way. R5.1: every `Attribute_Performance[].Performance.<Metric>` keeps
 * only the month's key; `Components[]` (inside an entry as in 5.1.0.1, or at item level as in the 2023
 * text) are filtered the same way. The layout is detected per item, so a report whose header claims
 * the other release is still split correctly.
 */
import { findKeyLoose, isJsonObject, type JsonObject } from './json.ts';
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

// ---------------------------------------------------------------------------------------------
// R5.0

const PERFORMANCE = ['performance'];
const PERIOD = ['period'];
const BEGIN_DATE = ['begin_date'];
const END_DATE = ['end_date'];
const ITEM_COMPONENT = ['item_component'];

function arrayAt(obj: JsonObject, aliases: readonly string[]): [string, unknown[]] | undefined {
  const key = findKeyLoose(obj, aliases);
  const value = key === undefined ? undefined : obj[key];
  return key !== undefined && Array.isArray(value) ? [key, value] : undefined;
}

function periodMonth(entry: unknown, findings: Findings): YearMonth | undefined {
  if (!isJsonObject(entry)) return undefined;
  const periodKey = findKeyLoose(entry, PERIOD);
  const period = periodKey === undefined ? undefined : entry[periodKey];
  if (!isJsonObject(period)) {
    findings.add('invalid_period', JSON.stringify(period ?? null).slice(0, 100));
    return undefined;
  }
  const beginKey = findKeyLoose(period, BEGIN_DATE);
  const endKey = findKeyLoose(period, END_DATE);
  const begin = parseYearMonth(beginKey === undefined ? undefined : period[beginKey]);
  if (begin === undefined) {
    findings.add('invalid_period', JSON.stringify(period).slice(0, 100));
    return undefined;
  }
  const end = endKey === undefined ? undefined : parseYearMonth(period[endKey]);
  if (end !== undefined && end !== begin) findings.add('multi_month_period', JSON.stringify(period));
  return begin;
}

/** Groups an R5.0 `Performance[]`-style list by month. */
function groupPerformance(list: unknown[], findings: Findings): Map<YearMonth, unknown[]> {
  const byMonth = new Map<YearMonth, unknown[]>();
  for (const entry of list) {
    const month = periodMonth(entry, findings);
    if (month === undefined) continue;
    const bucket = byMonth.get(month);
    if (bucket) bucket.push(entry);
    else byMonth.set(month, [entry]);
  }
  return byMonth;
}

/** Splits an object that carries an R5.0 `Performance[]` (an item or an `Item_Component`). */
function splitR50Node(node: JsonObject, findings: Findings): Map<YearMonth, JsonObject> {
  const performance = arrayAt(node, PERFORMANCE);
  const components = arrayAt(node, ITEM_COMPONENT);
  const ownByMonth = performance
    ? groupPerformance(performance[1], findings)
    : new Map<YearMonth, unknown[]>();
  const componentsByMonth = components
    ? splitList(components[1], findings)
    : new Map<YearMonth, JsonObject[]>();
  const months = new Set([...ownByMonth.keys(), ...componentsByMonth.keys()]);
  const result = new Map<YearMonth, JsonObject>();
  for (const month of months) {
    const copy: JsonObject = { ...node };
    if (performance) copy[performance[0]] = ownByMonth.get(month) ?? [];
    if (components) {
      const monthComponents = componentsByMonth.get(month);
      if (monthComponents) copy[components[0]] = monthComponents;
      else delete copy[components[0]];
    }
    result.set(month, copy);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// R5.1

const ATTRIBUTE_PERFORMANCE = ['attribute_performance'];
const COMPONENTS = ['components'];

/** Groups one `Performance` object (`{Metric: {yyyy-MM: n}}`) by month, keeping original key spellings. */
function splitMetrics(performance: JsonObject, findings: Findings): Map<YearMonth, JsonObject> {
  const byMonth = new Map<YearMonth, JsonObject>();
  for (const [metric, counts] of Object.entries(performance)) {
    if (!isJsonObject(counts)) continue;
    for (const [monthKey, count] of Object.entries(counts)) {
      const month = parseYearMonth(monthKey);
      if (month === undefined) {
        findings.add('invalid_month_key', monthKey);
        continue;
      }
      let metrics = byMonth.get(month);
      if (!metrics) byMonth.set(month, (metrics = {}));
      const monthCounts = (metrics[metric] ??= {}) as JsonObject;
      monthCounts[monthKey] = count;
    }
  }
  return byMonth;
}

/** Splits one `Attribute_Performance` entry, including the 5.1.0.1 `Components[]` inside it. */
function splitAttributeEntry(entry: JsonObject, findings: Findings): Map<YearMonth, JsonObject> {
  const performanceKey = findKeyLoose(entry, PERFORMANCE);
  const performance = performanceKey === undefined ? undefined : entry[performanceKey];
  const metricsByMonth = isJsonObject(performance)
    ? splitMetrics(performance, findings)
    : new Map<YearMonth, JsonObject>();
  const components = arrayAt(entry, COMPONENTS);
  const componentsByMonth = components
    ? splitList(components[1], findings)
    : new Map<YearMonth, JsonObject[]>();
  const result = new Map<YearMonth, JsonObject>();
  for (const month of new Set([...metricsByMonth.keys(), ...componentsByMonth.keys()])) {
    const copy: JsonObject = { ...entry };
    const metrics = metricsByMonth.get(month);
    if (performanceKey !== undefined) {
      if (metrics) copy[performanceKey] = metrics;
      else delete copy[performanceKey];
    }
    if (components) {
      const monthComponents = componentsByMonth.get(month);
      if (monthComponents) copy[components[0]] = monthComponents;
      else delete copy[components[0]];
    }
    result.set(month, copy);
  }
  return result;
}

/** Splits an object that carries an R5.1 `Attribute_Performance[]` (an item or a component). */
function splitR51Node(node: JsonObject, findings: Findings): Map<YearMonth, JsonObject> {
  const attributes = arrayAt(node, ATTRIBUTE_PERFORMANCE);
  const entriesByMonth = new Map<YearMonth, JsonObject[]>();
  for (const entry of attributes?.[1] ?? []) {
    if (!isJsonObject(entry)) continue;
    for (const [month, filtered] of splitAttributeEntry(entry, findings)) {
      const list = entriesByMonth.get(month);
      if (list) list.push(filtered);
      else entriesByMonth.set(month, [filtered]);
    }
  }
  const components = arrayAt(node, COMPONENTS);
  const componentsByMonth = components
    ? splitList(components[1], findings)
    : new Map<YearMonth, JsonObject[]>();
  const result = new Map<YearMonth, JsonObject>();
  for (const month of new Set([...entriesByMonth.keys(), ...componentsByMonth.keys()])) {
    const copy: JsonObject = { ...node };
    if (attributes) copy[attributes[0]] = entriesByMonth.get(month) ?? [];
    if (components) {
      const monthComponents = componentsByMonth.get(month);
      if (monthComponents) copy[components[0]] = monthComponents;
      else delete copy[components[0]];
    }
    result.set(month, copy);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Both

/** Splits a list of usage-bearing objects (components) into per-month lists, dropping empty ones. */
function splitList(list: unknown[], findings: Findings): Map<YearMonth, JsonObject[]> {
  const byMonth = new Map<YearMonth, JsonObject[]>();
  for (const element of list) {
    if (!isJsonObject(element)) continue;
    for (const [month, filtered] of splitUsageNode(element, findings)) {
      const bucket = byMonth.get(month);
      if (bucket) bucket.push(filtered);
      else byMonth.set(month, [filtered]);
    }
  }
  return byMonth;
}

function splitUsageNode(node: JsonObject, findings: Findings): Map<YearMonth, JsonObject> {
  if (findKeyLoose(node, ATTRIBUTE_PERFORMANCE) !== undefined) return splitR51Node(node, findings);
  return splitR50Node(node, findings);
}

/**
 * Splits one report item (R5.0 item, R5.1 item, or the usage of an R5.1 IR parent itself) into one
 * filtered copy per month in which it has usage. Items without usage yield an empty map.
 */
export function splitItemByMonth(item: unknown, findings: Findings): Map<YearMonth, JsonObject> {
  if (!isJsonObject(item)) {
    findings.add('non_object_item', JSON.stringify(item ?? null).slice(0, 100));
    return new Map();
  }
  return splitUsageNode(item, findings);
}

/** Whether an item carries usage of its own (as opposed to an IR parent group holding only `Items`). */
export function hasOwnUsage(item: JsonObject): boolean {
  return (
    findKeyLoose(item, ATTRIBUTE_PERFORMANCE) !== undefined ||
    findKeyLoose(item, PERFORMANCE) !== undefined ||
    findKeyLoose(item, COMPONENTS) !== undefined ||
    findKeyLoose(item, ITEM_COMPONENT) !== undefined
  );
}
