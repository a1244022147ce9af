/**
 * COUNTER JSON report items → one model for both releases: an item (its description, without usage),
 * optionally its R5.1 IR parent, and its usage leaves. A leaf is one combination of row attributes
 * (Data_Type, YOP, Access_Type, ...) with counts per metric and month; R5.1 keeps these in
 * `Attribute_Performance[]`, R5.0 on the item itself (so several R5.0 items can be leaves of one item).
 * Components (IR) are kept per leaf.
 */
import { findKeyLoose, isJsonObject, normaliseKey as normalise, type JsonObject } from '../json.ts';
import { parseYearMonth, type YearMonth } from '../year-month.ts';
import { LEADING_EXTENSIONS, ROW_ATTRIBUTES, TRAILING_EXTENSIONS } from './layouts.ts';

/** metric → count per month of the range (index into the range's months). */
export type Counts = Record<string, number[]>;

export interface ComponentUsage {
  /** The component's description (R5.1 `Item`, `Item_ID`, ...; R5.0 `Item_Name`, `Item_ID[]`, ...). */
  meta: JsonObject;
  /** R5.1: the component's `Attribute_Performance` entry without `Performance` (its Data_Type). */
  attrs: JsonObject;
  counts: Counts;
}

export interface UsageLeaf {
  attrs: JsonObject;
  counts: Counts;
  components: ComponentUsage[];
}

export interface ItemEntry {
  /** R5.1 IR: the parent group's members without `Items`; undefined for items without a parent. */
  parent?: JsonObject;
  /** The item without its usage (and, for R5.0, without its row attributes). */
  item: JsonObject;
  leaves: UsageLeaf[];
}

/** Maps a usage month to its column in the export; months outside the range are reported and skipped. */
export interface MonthAxis {
  months: readonly YearMonth[];
  index: ReadonlyMap<YearMonth, number>;
  /** Called for a count whose month is not in the range. */
  outside?: (month: YearMonth) => void;
}

export function monthAxis(months: readonly YearMonth[], outside?: (month: YearMonth) => void): MonthAxis {
  return { months, index: new Map(months.map((m, i) => [m, i])), ...(outside && { outside }) };
}

const USAGE_KEYS = new Set(['attributeperformance', 'performance', 'components', 'itemcomponent']);
const ROW_ATTRIBUTE_KEYS = new Set(
  [...ROW_ATTRIBUTES, ...LEADING_EXTENSIONS, ...TRAILING_EXTENSIONS].map((k) =>
    k.toLowerCase().replace(/_/g, ''),
  ),
);

const compactKey = normalise;

function isRowAttributeKey(key: string): boolean {
  return ROW_ATTRIBUTE_KEYS.has(compactKey(key)) || /^[A-Za-z][A-Za-z0-9_./-]*:[A-Za-z0-9_]+$/.test(key);
}

function toCount(value: unknown): number {
  if (typeof value === 'number') return Number.isFinite(value) ? value : 0;
  if (typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value)) return Number(value);
  return 0;
}

function add(counts: Counts, axis: MonthAxis, metric: string, month: YearMonth, value: unknown): void {
  const index = axis.index.get(month);
  if (index === undefined) {
    axis.outside?.(month);
    return;
  }
  const n = toCount(value);
  if (n === 0) return;
  let row = counts[metric];
  if (!row) counts[metric] = row = new Array<number>(axis.months.length).fill(0);
  row[index] += n;
}

/** R5.1 `Performance`: `{Metric: {yyyy-MM: n}}`. */
function r51Counts(performance: unknown, axis: MonthAxis, counts: Counts = {}): Counts {
  if (!isJsonObject(performance)) return counts;
  for (const metric of Object.keys(performance)) {
    const byMonth = performance[metric];
    if (!isJsonObject(byMonth)) continue;
    for (const key of Object.keys(byMonth)) {
      const month = parseYearMonth(key);
      if (month !== undefined) add(counts, axis, metric, month, byMonth[key]);
    }
  }
  return counts;
}

/** R5.0 `Performance[]`: `{Period: {Begin_Date}, Instance: [{Metric_Type, Count}]}`. */
function r50Counts(performance: unknown[], axis: MonthAxis, counts: Counts = {}): Counts {
  for (const entry of performance) {
    if (!isJsonObject(entry)) continue;
    const period = entry.Period ?? entry[findKeyLoose(entry, ['period']) ?? 'Period'];
    const begin = isJsonObject(period)
      ? (period.Begin_Date ?? period[findKeyLoose(period, ['begin_date']) ?? 'Begin_Date'])
      : undefined;
    const month = parseYearMonth(begin);
    if (month === undefined) continue;
    const instances = entry.Instance ?? entry[findKeyLoose(entry, ['instance']) ?? 'Instance'];
    if (!Array.isArray(instances)) continue;
    for (const instance of instances) {
      if (!isJsonObject(instance)) continue;
      const metric =
        instance.Metric_Type ?? instance[findKeyLoose(instance, ['metric_type']) ?? 'Metric_Type'];
      const count = instance.Count ?? instance[findKeyLoose(instance, ['count']) ?? 'Count'];
      if (typeof metric === 'string') add(counts, axis, metric, month, count);
    }
  }
  return counts;
}

function arrayMember(obj: JsonObject, key: string): unknown[] | undefined {
  const direct = obj[key];
  if (Array.isArray(direct)) return direct;
  const loose = findKeyLoose(obj, [key]);
  const value = loose === undefined ? undefined : obj[loose];
  return Array.isArray(value) ? value : undefined;
}

/** The members of `obj` except those whose compact name is in `drop`. */
function without(obj: JsonObject, drop: (key: string) => boolean): JsonObject {
  const copy: JsonObject = {};
  for (const key of Object.keys(obj)) if (!drop(key)) copy[key] = obj[key];
  return copy;
}

const isUsageKey = (key: string): boolean => USAGE_KEYS.has(compactKey(key));

function r51Component(component: JsonObject, axis: MonthAxis): ComponentUsage[] {
  const meta = without(component, isUsageKey);
  const entries = arrayMember(component, 'Attribute_Performance') ?? [];
  const usages: ComponentUsage[] = [];
  for (const entry of entries) {
    if (!isJsonObject(entry)) continue;
    const attrs = without(entry, (k) => compactKey(k) === 'performance');
    usages.push({ meta, attrs, counts: r51Counts(entry.Performance ?? entry.performance, axis) });
  }
  return usages;
}

function r50Component(component: JsonObject, axis: MonthAxis): ComponentUsage {
  return {
    meta: without(component, isUsageKey),
    attrs: {},
    counts: r50Counts(arrayMember(component, 'Performance') ?? [], axis),
  };
}

function componentsOf(
  list: unknown[] | undefined,
  axis: MonthAxis,
  read: (c: JsonObject, axis: MonthAxis) => ComponentUsage[],
): ComponentUsage[] {
  const usages: ComponentUsage[] = [];
  for (const component of list ?? []) if (isJsonObject(component)) usages.push(...read(component, axis));
  return usages;
}

function r51Leaves(item: JsonObject, entries: unknown[], axis: MonthAxis): UsageLeaf[] {
  const leaves: UsageLeaf[] = [];
  for (const entry of entries) {
    if (!isJsonObject(entry)) continue;
    const attrs = without(entry, (k) => {
      const c = compactKey(k);
      return c === 'performance' || c === 'components';
    });
    leaves.push({
      attrs,
      counts: r51Counts(
        entry.Performance ?? entry[findKeyLoose(entry, ['performance']) ?? 'Performance'],
        axis,
      ),
      components: componentsOf(arrayMember(entry, 'Components'), axis, r51Component),
    });
  }
  // The 2023 R5.1 text put Components on the item; they go with the item's first leaf.
  const itemComponents = componentsOf(arrayMember(item, 'Components'), axis, r51Component);
  if (itemComponents.length > 0) {
    if (leaves.length === 0) leaves.push({ attrs: {}, counts: {}, components: [] });
    leaves[0].components.push(...itemComponents);
  }
  return leaves;
}

/** One report item (not a parent group) → its entry. */
export function readItem(item: JsonObject, axis: MonthAxis, parent?: JsonObject): ItemEntry {
  const attributePerformance = arrayMember(item, 'Attribute_Performance');
  if (attributePerformance !== undefined || arrayMember(item, 'Components') !== undefined) {
    return {
      ...(parent && { parent }),
      item: without(item, isUsageKey),
      leaves: r51Leaves(item, attributePerformance ?? [], axis),
    };
  }
  // R5.0: the row attributes are members of the item.
  const meta: JsonObject = {};
  const attrs: JsonObject = {};
  for (const key of Object.keys(item)) {
    if (isUsageKey(key)) continue;
    if (isRowAttributeKey(key)) attrs[key] = item[key];
    else meta[key] = item[key];
  }
  const components = (arrayMember(item, 'Item_Component') ?? [])
    .filter(isJsonObject)
    .map((c) => r50Component(c, axis));
  return {
    ...(parent && { parent }),
    item: meta,
    leaves: [{ attrs, counts: r50Counts(arrayMember(item, 'Performance') ?? [], axis), components }],
  };
}

/**
 * One `Report_Items` element → its entries: the item itself, or for an R5.1 IR parent group
 * (`{...parent, Items: [...]}`) every child with the parent attached (a group without parent members
 * gives children without a parent).
 */
export function readElement(element: unknown, axis: MonthAxis): ItemEntry[] {
  if (!isJsonObject(element)) return [];
  const children = arrayMember(element, 'Items');
  if (children === undefined) return [readItem(element, axis)];
  const parentMeta = without(element, (k) => compactKey(k) === 'items' || isUsageKey(k));
  const parent = Object.keys(parentMeta).length > 0 ? parentMeta : undefined;
  const entries: ItemEntry[] = [];
  for (const child of children) if (isJsonObject(child)) entries.push(readItem(child, axis, parent));
  return entries;
}
