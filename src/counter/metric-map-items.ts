/**
 * A faster way through the most common item of a 5.1 report: usage only in `Attribute_Performance`,
 * a list of attribute sets that each hold one `Performance` metric map `{Metric: {yyyy-MM: count}}`
 * whose every key is a month. For such an item `countMetricMapItem` reports to the `UsageSink` exactly
 * what `splitItemByMonth` (item-split.ts) reports, in the same order, without building the per-month
 * copies, and `metricMapItemTexts` writes each month's text, the same text as `JSON.stringify` of
 * `splitItemByMonth`'s copy, straight from the item (no copies, and the members the months share
 * serialised once). Any other item is left to `splitItemByMonth` (`metricMapShape` says which).
 * test/counter/metric-map-items.test.ts holds the two ways against each other.
 */
import { isJsonObject, normaliseKey, type JsonObject } from './json.ts';
import { isUsageKey, type UsageSink } from './item-split.ts';
import { parseYearMonth, type YearMonth } from './year-month.ts';

/** Where an item of the shape keeps its usage. */
export interface MetricMapShape {
  /** The item's `Attribute_Performance` key (its spelling). */
  listKey: string;
  /** Per attribute set, its `Performance` key (its spelling). */
  performanceKeys: string[];
}

/**
 * The shape's keys when the item is of the shape: its only usage member is an `Attribute_Performance`
 * (any spelling) holding a non-empty list of objects; each object's only usage member is a
 * `Performance` (any spelling, not `ItemPerformance`) holding an object with at least one metric; each
 * metric holds an object with at least one key, and every key reads as a month. Then nothing of the
 * item is left out in any month and no finding arises, which is what makes the copies simple.
 */
export function metricMapShape(item: JsonObject): MetricMapShape | undefined {
  const listKey = onlyUsageKey(item, 'attributeperformance');
  if (listKey === undefined) return undefined;
  const list = item[listKey];
  if (!Array.isArray(list) || list.length === 0) return undefined;
  const performanceKeys: string[] = [];
  for (const element of list) {
    if (!isJsonObject(element)) return undefined;
    const key = onlyUsageKey(element, 'performance');
    if (key === undefined) return undefined;
    const performance = element[key];
    if (!isJsonObject(performance)) return undefined;
    let metrics = 0;
    for (const metric in performance) {
      const counts = performance[metric];
      if (!isJsonObject(counts)) return undefined;
      let months = 0;
      for (const monthKey in counts) {
        if (parseYearMonth(monthKey) === undefined) return undefined;
        months++;
      }
      if (months === 0) return undefined;
      metrics++;
    }
    if (metrics === 0) return undefined;
    performanceKeys.push(key);
  }
  return { listKey, performanceKeys };
}

/** The key of the object's one usage member when it is `wanted` (normalised), else undefined. */
function onlyUsageKey(obj: JsonObject, wanted: string): string | undefined {
  let found: string | undefined;
  for (const key in obj) {
    if (!isUsageKey(key)) continue;
    if (found !== undefined || normaliseKey(key) !== wanted) return undefined;
    found = key;
  }
  return found;
}

/** The months of an item of the shape, and for each count (in reading order) its month's index. */
export interface ItemMonths {
  /** In the order they first occur. */
  months: YearMonth[];
  /** Per count, in the order the counts were read, the index of its month in `months`. */
  slots: number[];
}

/**
 * Reports the item's usage to `sink` as `splitItemByMonth` does (same calls, same order) and returns
 * its months.
 */
export function countMetricMapItem(item: JsonObject, shape: MetricMapShape, sink: UsageSink): ItemMonths {
  const found: ItemMonths = { months: [], slots: [] };
  for (const key in item) {
    if (key === shape.listKey) {
      sink.structure();
      const list = item[key] as JsonObject[];
      for (let i = 0; i < list.length; i++) countAttributeSet(list[i], shape.performanceKeys[i], sink, found);
    } else if (normaliseKey(key) === 'yop') sink.yop(item[key]);
  }
  return found;
}

function countAttributeSet(
  element: JsonObject,
  performanceKey: string,
  sink: UsageSink,
  { months, slots }: ItemMonths,
): void {
  for (const key in element) {
    if (key === performanceKey) {
      const performance = element[key] as JsonObject;
      sink.structure();
      sink.layout('5.1');
      sink.beginUnit();
      for (const metric in performance) {
        const counts = performance[metric] as JsonObject;
        for (const monthKey in counts) {
          const month = parseYearMonth(monthKey)!;
          sink.count(month, metric, counts[monthKey]);
          let slot = months.indexOf(month);
          if (slot < 0) slot = months.push(month) - 1;
          slots.push(slot);
        }
      }
      sink.endUnit();
    } else if (normaliseKey(key) === 'yop') sink.yop(element[key]);
  }
}

/** `"key":value` of a member, as JSON.stringify writes it inside an object. */
function memberText(key: string, value: unknown): string {
  return `${JSON.stringify(key)}:${valueText(value)}`;
}

function valueText(value: unknown): string {
  // A finite number's JSON text is its string (JSON.parse gives no NaN or Infinity; -0 is "0" both ways).
  return typeof value === 'number' ? String(value) : JSON.stringify(value);
}

const MAX_KEY_TEXTS = 1000;
const keyTexts = new Map<string, string>();

/** `"key":` as JSON text; memoised (the same month keys and metrics recur in every item). */
function keyText(key: string): string {
  let text = keyTexts.get(key);
  if (text === undefined) {
    text = `${JSON.stringify(key)}:`;
    if (keyTexts.size >= MAX_KEY_TEXTS) keyTexts.clear();
    keyTexts.set(key, text);
  }
  return text;
}

/** The members of `obj` before and after `key` as JSON text, each with the comma towards `key`. */
function around(obj: JsonObject, key: string): [string, string] {
  let before = '';
  let after = '';
  let seen = false;
  for (const k in obj) {
    if (k === key) seen = true;
    else if (seen) after += `,${memberText(k, obj[k])}`;
    else before += `${memberText(k, obj[k])},`;
  }
  return [before, after];
}

/**
 * Per month (as `countMetricMapItem` found them for this item, in that order) the text of the item's copy for that
 * month, the same text as `JSON.stringify` of `splitItemByMonth`'s copy: the attribute sets with counts
 * in the month, each with its metrics that have counts in the month, each with those counts only.
 * Each month's text is collected as pieces and joined once (one flat string, no chains of pieces).
 */
export function metricMapItemTexts(
  item: JsonObject,
  shape: MetricMapShape,
  { months, slots }: ItemMonths,
): string[] {
  const n = months.length;
  let read = 0;
  if (sets.length < n) {
    sets = new Int32Array(n);
    setOpen = new Uint8Array(n);
    metricOpen = new Uint8Array(n);
  }
  while (pieces.length < n) pieces.push([]);
  const [itemBefore, itemAfter] = around(item, shape.listKey);
  const head = `{${itemBefore}${keyText(shape.listKey)}[`;
  for (let j = 0; j < n; j++) {
    pieces[j].push(head);
    sets[j] = 0;
  }
  const list = item[shape.listKey] as JsonObject[];
  for (let i = 0; i < list.length; i++) {
    const element = list[i];
    const performanceKey = shape.performanceKeys[i];
    const [before, after] = around(element, performanceKey);
    const setHead = `{${before}${keyText(performanceKey)}{`;
    const metrics = element[performanceKey] as JsonObject;
    for (const metric in metrics) {
      const metricHead = keyText(metric);
      const counts = metrics[metric] as JsonObject;
      for (const monthKey in counts) {
        const j = slots[read++];
        const out = pieces[j];
        if (setOpen[j] === 0) {
          setOpen[j] = 1;
          out.push(sets[j]++ === 0 ? setHead : `,${setHead}`, metricHead, '{');
        } else if (metricOpen[j] === 0) out.push(',', metricHead, '{');
        else out.push(',');
        metricOpen[j] = 1;
        out.push(keyText(monthKey), valueText(counts[monthKey]));
      }
      for (let j = 0; j < n; j++)
        if (metricOpen[j] === 1) {
          metricOpen[j] = 0;
          pieces[j].push('}');
        }
    }
    const setTail = `}${after}}`;
    for (let j = 0; j < n; j++)
      if (setOpen[j] === 1) {
        setOpen[j] = 0;
        pieces[j].push(setTail);
      }
  }
  const tail = `]${itemAfter}}`;
  const texts: string[] = [];
  for (let j = 0; j < n; j++) {
    const out = pieces[j];
    out.push(tail);
    texts.push(out.join(''));
    out.length = 0;
  }
  return texts;
}

// Working state of metricMapItemTexts, kept between items (fewer short-lived allocations): per month
// its text's pieces, the attribute sets written, and whether the current set and metric are open.
const pieces: string[][] = [];
let sets = new Int32Array(16);
let setOpen = new Uint8Array(16);
let metricOpen = new Uint8Array(16);
