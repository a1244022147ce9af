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
import type { LineTarget, OpenLine } from './month-buckets.ts';
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

/** A piece of JSON text in UTF-8 and its length in UTF-16 units. */
interface Piece {
  bytes: Buffer;
  chars: number;
  /** For a metric's `"key":`, per month key the piece `"key":{"month":` (memoised). */
  opening?: Map<string, Piece>;
}

function piece(text: string): Piece {
  return { bytes: Buffer.from(text, 'utf8'), chars: text.length };
}

const MAX_KEY_TEXTS = 1000;
const keyTexts = new Map<string, Piece>();

/** `"key":` as JSON text; memoised (the same month keys and metrics recur in every item). */
function keyText(key: string): Piece {
  let text = keyTexts.get(key);
  if (text === undefined) {
    text = piece(`${JSON.stringify(key)}:`);
    if (keyTexts.size >= MAX_KEY_TEXTS) keyTexts.clear();
    keyTexts.set(key, text);
  }
  return text;
}

/** `"metric":{"month":`, the text that opens a metric's counts in a month's copy; memoised. */
function metricOpening(metric: Piece, metricKey: string, monthKey: string): Piece {
  const openings = (metric.opening ??= new Map());
  let opening = openings.get(monthKey);
  if (opening === undefined) {
    opening = piece(`${JSON.stringify(metricKey)}:{${JSON.stringify(monthKey)}:`);
    if (openings.size >= MAX_KEY_TEXTS) openings.clear();
    openings.set(monthKey, opening);
  }
  return opening;
}

const MAX_SHARED_CHARS = 1024;
const sharedPieces = new Map<string, Piece>();

/** The piece of a text that recurs from item to item (an attribute set's members, closing text); memoised. */
function sharedPiece(text: string): Piece {
  if (text.length > MAX_SHARED_CHARS) return piece(text);
  let shared = sharedPieces.get(text);
  if (shared === undefined) {
    shared = piece(text);
    if (sharedPieces.size >= MAX_KEY_TEXTS) sharedPieces.clear();
    sharedPieces.set(text, shared);
  }
  return shared;
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

/** The text of an attribute set around its metrics, and the members it was made from. */
interface SetPieces {
  /** `{members before,"Performance":{` */
  head: Piece;
  /** `}members after}` */
  tail: Piece;
  /** The set's keys and their values (primitives only; else `reusable` is false). */
  keys: string[];
  values: unknown[];
  reusable: boolean;
}

/** Per index in `Attribute_Performance`, the pieces of the last item's set there. */
const lastSets: SetPieces[] = [];

/**
 * The pieces of an attribute set: those of the last item's set at the same index when its members are
 * the same keys with the same primitive values (the common case: every item has the same Data_Type,
 * Access_Type, … sets), else made anew.
 */
function setPieces(element: JsonObject, performanceKey: string, index: number): SetPieces {
  const last = lastSets[index];
  if (last?.reusable) {
    const { keys, values } = last;
    let n = 0;
    let same = true;
    for (const key in element) {
      if (n >= keys.length || keys[n] !== key || (key !== performanceKey && values[n] !== element[key])) {
        same = false;
        break;
      }
      n++;
    }
    if (same && n === keys.length) return last;
  }
  const [before, after] = around(element, performanceKey);
  const made: SetPieces = {
    head: sharedPiece(`{${before}${JSON.stringify(performanceKey)}:{`),
    tail: sharedPiece(`}${after}}`),
    keys: [],
    values: [],
    reusable: true,
  };
  for (const key in element) {
    const value = key === performanceKey ? undefined : element[key];
    if (typeof value === 'object' && value !== null) made.reusable = false;
    made.keys.push(key);
    made.values.push(value);
  }
  if (index < 64) lastSets[index] = made;
  return made;
}

const COMMA = 0x2c;
const CLOSE = 0x7d;

/**
 * Per month (as `countMetricMapItem` found them for this item, in that order) writes to `target` one
 * line, the UTF-8 text of the item's copy for that month, the same text as `JSON.stringify` of
 * `splitItemByMonth`'s copy: the attribute sets with counts in the month, each with its metrics that
 * have counts in the month, each with those counts only. The months' lines are written side by side,
 * straight into their buckets (no string per month); the text the months share is encoded once.
 */
export function writeMetricMapItemLines(
  item: JsonObject,
  shape: MetricMapShape,
  { months, slots }: ItemMonths,
  target: LineTarget,
): void {
  const n = months.length;
  let read = 0;
  if (sets.length < n) {
    sets = new Int32Array(n);
    setOpen = new Uint8Array(n);
    metricOpen = new Uint8Array(n);
    ends = new Int32Array(n);
    chars = new Int32Array(n);
  }
  writing = target;
  const [itemBefore, itemAfter] = around(item, shape.listKey);
  const head = piece(`{${itemBefore}${JSON.stringify(shape.listKey)}:[`);
  for (let j = 0; j < n; j++) {
    const line = target.startLine(months[j], head.bytes.length);
    lines[j] = line;
    ends[j] = line.start;
    chars[j] = 0;
    sets[j] = 0;
    put(j, head);
  }
  const list = item[shape.listKey] as JsonObject[];
  for (let i = 0; i < list.length; i++) {
    const element = list[i];
    const performanceKey = shape.performanceKeys[i];
    const pieces = setPieces(element, performanceKey, i);
    const setHead = pieces.head;
    const metrics = element[performanceKey] as JsonObject;
    for (const metric in metrics) {
      const metricHead = keyText(metric);
      const counts = metrics[metric] as JsonObject;
      for (const monthKey in counts) {
        const j = slots[read++];
        if (setOpen[j] === 0) {
          setOpen[j] = 1;
          if (sets[j]++ > 0) putByte(j, COMMA);
          put(j, setHead);
          put(j, metricOpening(metricHead, metric, monthKey));
        } else if (metricOpen[j] === 0) {
          putByte(j, COMMA);
          put(j, metricOpening(metricHead, metric, monthKey));
        } else {
          putByte(j, COMMA);
          put(j, keyText(monthKey));
        }
        metricOpen[j] = 1;
        putValue(j, counts[monthKey]);
      }
      for (let j = 0; j < n; j++)
        if (metricOpen[j] === 1) {
          metricOpen[j] = 0;
          putByte(j, CLOSE);
        }
    }
    const setTail = pieces.tail;
    for (let j = 0; j < n; j++)
      if (setOpen[j] === 1) {
        setOpen[j] = 0;
        put(j, setTail);
      }
  }
  const tail = sharedPiece(`]${itemAfter}}`);
  for (let j = 0; j < n; j++) {
    put(j, tail);
    target.endLine(lines[j]!, ends[j], chars[j]);
    lines[j] = undefined;
  }
  writing = undefined;
}

/** The end of month `j`'s line with room for `need` more bytes and the line break. */
function roomFor(j: number, need: number): number {
  const end = ends[j];
  const line = lines[j]!;
  return end + need < line.block.length ? end : writing!.growLine(line, end, need + 1);
}

function put(j: number, { bytes, chars: length }: Piece): void {
  const n = bytes.length;
  const end = roomFor(j, n);
  const block = lines[j]!.block;
  // A short piece byte by byte (TypedArray#set costs more than a few bytes' copy).
  if (n > 12) block.set(bytes, end);
  else for (let k = 0; k < n; k++) block[end + k] = bytes[k];
  ends[j] = end + n;
  chars[j] += length;
}

function putByte(j: number, byte: number): void {
  const end = roomFor(j, 1);
  lines[j]!.block[end] = byte;
  ends[j] = end + 1;
  chars[j] += 1;
}

/** A count's JSON text: the digits of a small non-negative integer written directly. */
function putValue(j: number, value: unknown): void {
  if (typeof value !== 'number' || !(value >= 0 && value <= 0x7fffffff) || value % 1 !== 0) {
    put(j, piece(valueText(value)));
    return;
  }
  let digits = 1;
  for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits++;
  const end = roomFor(j, digits);
  const block = lines[j]!.block;
  let rest = value;
  for (let k = end + digits - 1; k >= end; k--) {
    block[k] = 0x30 + (rest % 10);
    rest = Math.floor(rest / 10);
  }
  ends[j] = end + digits;
  chars[j] += digits;
}

// Working state of writeMetricMapItemLines, kept between items (fewer short-lived allocations): per
// month its open line, where it ends, its UTF-16 length, the attribute sets written, and whether the
// current set and metric are open.
let writing: LineTarget | undefined;
const lines: (OpenLine | undefined)[] = [];
let ends = new Int32Array(16);
let chars = new Int32Array(16);
let sets = new Int32Array(16);
let setOpen = new Uint8Array(16);
let metricOpen = new Uint8Array(16);

/** Lines in plain buffers, started `room` bytes small so that they grow often (for tests). */
class BufferLines implements LineTarget {
  readonly texts = new Map<YearMonth, string>();
  private readonly months = new Map<OpenLine, YearMonth>();

  startLine(month: YearMonth, room: number): OpenLine {
    const line = { block: Buffer.alloc(room + 1), start: 0 };
    this.months.set(line, month);
    return line;
  }

  growLine(line: OpenLine, end: number, need: number): number {
    const grown = line as { block: Buffer; start: number };
    const block = Buffer.alloc(end - line.start + need + 1);
    line.block.copy(block, 0, line.start, end);
    grown.block = block;
    grown.start = 0;
    return end - line.start;
  }

  endLine(line: OpenLine, end: number, chars: number): void {
    const text = line.block.toString('utf8', line.start, end);
    if (text.length !== chars) throw new Error(`${text.length} UTF-16 units written, ${chars} counted`);
    this.texts.set(this.months.get(line)!, text);
  }
}

/** The texts `writeMetricMapItemLines` writes, per month in `found`'s order (for tests). */
export function metricMapItemTexts(item: JsonObject, shape: MetricMapShape, found: ItemMonths): string[] {
  const target = new BufferLines();
  writeMetricMapItemLines(item, shape, found, target);
  return found.months.map((month) => target.texts.get(month)!);
}
