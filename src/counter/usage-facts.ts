/**
 * What the splitter learns about the usage while it cuts items into months, without a second pass:
 * per month the totals per Metric_Type and the top K items per metric; per `Report_Items` element
 * whether its usage could be read and in which layout; and the Code of Practice checks that look at
 * single counts (allowed metrics, negative counts, Unique ≤ Total, months outside the request, YOP).
 */
import { getLoose, isJsonObject, normaliseKey, type JsonObject } from './json.ts';
import type { CounterRelease, ReportId } from './reports.ts';
import type { UsageSink } from './item-split.ts';
import { DiagnosticSet, type DiagnosticCode, type DiagnosticPlace } from './validate/diagnostics.ts';
import {
  allowedMetrics,
  METRIC_TYPES,
  PAIR_METRIC_SLOTS,
  PAIR_SLOTS,
  YOP_PATTERN,
} from './validate/rules.ts';
import type { YearMonth } from './year-month.ts';

/** One of the months' most used items for a metric. */
export interface TopItem {
  /** Title, Item, Database or Platform, whichever names the item. */
  name?: string;
  /** `Item_ID` in either layout as `{Type: value}` (several values of a type joined with `|`). */
  identifiers: Record<string, string>;
  platform?: string;
  count: number;
}

export interface MonthUsage {
  /** Sum of the counts per Metric_Type (items, attribute sets and components alike). */
  totals: Record<string, number>;
  /** Per Metric_Type the items with the highest counts, highest first, at most K. */
  topItems: Record<string, TopItem[]>;
}

/** How one `Report_Items` element turned out. */
export type ElementOutcome = 'read' | 'empty' | 'unreadable';

export interface FactsOptions {
  /** Items kept per month and metric; 0 turns the ranking off. */
  topK: number;
  /** Run the per-count Code of Practice checks. */
  validate: boolean;
  /** Months outside this range are flagged (`usage_outside_request`). */
  requested?: { begin: YearMonth; end: YearMonth };
  maxExamples: number;
}

interface Ranked {
  count: number;
  seq: number;
  item: RankedItem;
}

const NAME_KEYS = ['title', 'item', 'database', 'item_name'];
const ITEM_ID = ['item_id', 'item_identifier'];
const PLATFORM = ['platform'];

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function addIdentifier(ids: Record<string, string>, type: string, value: unknown): void {
  const values = Array.isArray(value) ? value.filter((v) => typeof v === 'string') : [value];
  for (const v of values) {
    if (typeof v !== 'string' || v === '') continue;
    ids[type] = ids[type] === undefined ? v : `${ids[type]}|${v}`;
  }
}

/** An `Item_ID` value of either layout (`[{Type, Value}]` or `{DOI: ...}`) as one flat object. */
function flattenIdentifiers(raw: unknown): Record<string, string> {
  const ids: Record<string, string> = {};
  if (Array.isArray(raw)) {
    for (const entry of raw) {
      if (!isJsonObject(entry)) continue;
      const type = text(getLoose(entry, ['type']));
      if (type !== undefined) addIdentifier(ids, type, getLoose(entry, ['value']));
    }
  } else if (isJsonObject(raw)) {
    for (const type in raw) addIdentifier(ids, type, raw[type]);
  }
  return ids;
}

function rawIdentifiers(item: JsonObject): unknown {
  return item.Item_ID ?? getLoose(item, ITEM_ID);
}

/** The identifiers of an item's `Item_ID`, in either layout, as `{Type: value}`. */
export function identifiersOf(item: JsonObject): Record<string, string> {
  return flattenIdentifiers(rawIdentifiers(item));
}

/** A non-empty string, or an array holding one. */
function filled(value: unknown): boolean {
  return (typeof value === 'string' && value !== '') || (Array.isArray(value) && value.some(filled));
}

function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
    return true;
  }
  if (!isJsonObject(a) || !isJsonObject(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const key of keys) if (!sameJson(a[key], b[key])) return false;
  return true;
}

/**
 * An item as the ranking sees it. Its identifiers are flattened only when it makes a top list, which
 * in a large report few items do.
 */
class RankedItem {
  private ids: Record<string, string> | undefined;

  constructor(
    readonly name: string | undefined,
    readonly platform: string | undefined,
    private readonly rawIds: unknown,
  ) {}

  static of(item: JsonObject): RankedItem {
    const platform = text(item.Platform ?? getLoose(item, PLATFORM));
    const name = text(item.Title ?? item.Item ?? item.Database ?? getLoose(item, NAME_KEYS)) ?? platform;
    return new RankedItem(name, platform, rawIdentifiers(item));
  }

  get identifiers(): Record<string, string> {
    return (this.ids ??= flattenIdentifiers(this.rawIds));
  }

  /** Whether `Item_ID` holds at least one value (checked without flattening it). */
  hasIdentifier(): boolean {
    const raw = this.rawIds;
    if (Array.isArray(raw))
      return raw.some((e) => isJsonObject(e) && filled(e.Value ?? getLoose(e, ['value'])));
    if (isJsonObject(raw)) for (const type in raw) if (filled(raw[type])) return true;
    return false;
  }

  /** The same name, platform and `Item_ID` (5.0 repeats them on each attribute row). */
  sameAs(other: RankedItem): boolean {
    return (
      this.name === other.name && this.platform === other.platform && sameJson(this.rawIds, other.rawIds)
    );
  }

  /**
   * The item in a top list. Built without spreading (an item makes the lists of several metrics and
   * months); the lists share its flattened identifiers, which nothing changes.
   */
  toTopItem(count: number): TopItem {
    const { name, platform } = this;
    const identifiers = this.identifiers;
    if (name !== undefined)
      return platform !== undefined ? { name, identifiers, platform, count } : { name, identifiers, count };
    return platform !== undefined ? { identifiers, platform, count } : { identifiers, count };
  }
}

const CANONICAL = new Map(METRIC_TYPES.map((m) => [normaliseKey(m), m]));
const MAX_SPELLINGS = 1000;
const spellings = new Map<string, string>();

/**
 * The official spelling of a Metric_Type written in another case or with other separators
 * (`totalItemRequests`); other names are kept as they are.
 */
export function canonicalMetric(metric: string): string {
  let canonical = spellings.get(metric);
  if (canonical === undefined) {
    canonical = CANONICAL.get(normaliseKey(metric)) ?? metric;
    if (spellings.size >= MAX_SPELLINGS) spellings.clear();
    spellings.set(metric, canonical);
  }
  return canonical;
}

/** A min-heap of the K largest counts; on equal counts the earlier item stays. */
class TopK {
  private readonly heap: Ranked[] = [];

  constructor(private readonly k: number) {}

  /** Root first: smaller count, or on a tie the later item (it is evicted first). */
  private below(a: Ranked, b: Ranked): boolean {
    return a.count < b.count || (a.count === b.count && a.seq > b.seq);
  }

  offer(count: number, seq: number, item: RankedItem): void {
    const heap = this.heap;
    if (heap.length < this.k) {
      heap.push({ count, seq, item });
      let i = heap.length - 1;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!this.below(heap[i], heap[parent])) break;
        [heap[i], heap[parent]] = [heap[parent], heap[i]];
        i = parent;
      }
      return;
    }
    if (count <= heap[0].count) return;
    heap[0] = { count, seq, item };
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && this.below(heap[left], heap[smallest])) smallest = left;
      if (right < heap.length && this.below(heap[right], heap[smallest])) smallest = right;
      if (smallest === i) break;
      [heap[i], heap[smallest]] = [heap[smallest], heap[i]];
      i = smallest;
    }
  }

  sorted(): TopItem[] {
    return [...this.heap]
      .sort((a, b) => b.count - a.count || a.seq - b.seq)
      .map(({ count, item }) => item.toTopItem(count));
  }
}

/** One metric in one month: its total, and what the item being tallied counted in it. */
interface Tally {
  state: MonthState;
  metric: string;
  total: number;
  /** The item's count since the last flush, and whether it is listed in `UsageFacts.touched`. */
  itemCount: number;
  touched: boolean;
  /** The metric's slot among the Unique/Total pair metrics, -1 when none. */
  pairSlot: number;
}

interface MonthState {
  month: YearMonth;
  /** Per metric, in the order the metrics were first counted in the month. */
  tallies: Map<string, Tally>;
  top: Map<string, TopK>;
  diagnostics: DiagnosticSet;
  /** Counts of the Unique/Total pair metrics in the unit being read (see `beginUnit`). */
  unitSlots: Float64Array | undefined;
  /** Whether the unit being read counted a pair metric in this month (listed in `unitTouched`). */
  unitTouched: boolean;
}

interface Pending {
  code: DiagnosticCode;
  message: string;
  path?: string;
}

export class UsageFacts implements UsageSink {
  private readonly months = new Map<YearMonth, MonthState>();
  private lastMonth: YearMonth | undefined;
  private lastState: MonthState | undefined;
  /** The last `YOP` string found valid (most items repeat a few years). */
  private validYop: string | undefined;
  private elementPlace: DiagnosticPlace | undefined;
  readonly reportDiagnostics: DiagnosticSet;
  /** Elements whose usage was read, per layout; an element with both layouts counts in both. */
  readonly layoutElements = { '5': 0, '5.1': 0 };
  readonly outcomes = { read: 0, empty: 0, unreadable: 0 };
  /** The first unreadable element: its index and member names, for the failure message. */
  firstUnreadable: { index: number; keys: string[] } | undefined;

  private reportId: ReportId | undefined;
  private allowed: Record<CounterRelease, ReadonlySet<string> | undefined> = {
    '5': undefined,
    '5.1': undefined,
  };

  // The element being read.
  private element = -1;
  private elementCounts = 0;
  private elementUnreadable = 0;
  private elementStructure = false;
  private elementLayouts = { '5': false, '5.1': false };
  private pending: Pending[] = [];
  private currentLayout: CounterRelease = '5.1';

  // The item being tallied (consecutive rows of the same item are merged, as 5.0 splits a title
  // into one row per attribute combination).
  private item: RankedItem | undefined;
  private itemSeq = 0;
  /** The tallies (month and metric) the item has counts in since the last flush, in counting order. */
  private readonly touched: Tally[] = [];

  // The unit being read (the owner of one Performance): the months with Unique/Total pair counts.
  private readonly unitTouched: MonthState[] = [];

  constructor(private readonly options: FactsOptions) {
    this.reportDiagnostics = new DiagnosticSet(options.maxExamples);
  }

  /** The report the checks hold the metrics against (the requested one, else the header's). */
  setReport(reportId: ReportId | undefined): void {
    this.reportId = reportId;
    this.allowed = { '5': undefined, '5.1': undefined };
  }

  private monthState(month: YearMonth): MonthState {
    // Counts come month after month of the same month (one-month reports: always), so the last one
    // is kept at hand.
    if (month === this.lastMonth && this.lastState) return this.lastState;
    let state = this.months.get(month);
    if (!state) {
      state = {
        month,
        tallies: new Map(),
        top: new Map(),
        diagnostics: new DiagnosticSet(this.options.maxExamples),
        unitSlots: undefined,
        unitTouched: false,
      };
      this.months.set(month, state);
    }
    this.lastMonth = month;
    this.lastState = state;
    return state;
  }

  monthDiagnostics(month: YearMonth): DiagnosticSet {
    return this.monthState(month).diagnostics;
  }

  /** Months that hold counts, sorted. */
  usageMonths(): YearMonth[] {
    return [...this.months.keys()].filter((m) => this.months.get(m)!.tallies.size > 0).sort();
  }

  usage(month: YearMonth): MonthUsage {
    const state = this.months.get(month);
    if (!state) return { totals: {}, topItems: {} };
    const topItems: Record<string, TopItem[]> = {};
    for (const [metric, top] of state.top) topItems[metric] = top.sorted();
    const totals: Record<string, number> = {};
    state.tallies.forEach((tally, metric) => (totals[metric] = tally.total));
    return { totals, topItems };
  }

  // ---------------------------------------------------------------------------------------------
  // Elements and items (called by the splitter)

  beginElement(index: number): void {
    this.element = index;
    this.elementCounts = 0;
    this.elementUnreadable = 0;
    this.elementStructure = false;
    this.elementLayouts = { '5': false, '5.1': false };
    this.pending = [];
  }

  /** The layout the element's usage was read in; undefined when none (or `mixed`). */
  elementLayout(): CounterRelease | 'mixed' | undefined {
    const { '5': r50, '5.1': r51 } = this.elementLayouts;
    return r50 && r51 ? 'mixed' : r50 ? '5' : r51 ? '5.1' : undefined;
  }

  /**
   * A warning about the element as a whole; it goes to every month the element has usage in. Only
   * with validation on, except `always` ones (an unreadable item is never silently dropped).
   */
  elementDiagnostic(code: DiagnosticCode, message: string, path?: string, always = false): void {
    if (this.options.validate || always)
      this.pending.push({ code, message, ...(path !== undefined && { path }) });
  }

  /** Closes the element: files its warnings under its months and says how it turned out. */
  endElement(element: unknown, months: Iterable<YearMonth>): ElementOutcome {
    // An element with nothing in it (`{}`) holds no usage that could be lost.
    const blank = isJsonObject(element) && Object.keys(element).length === 0;
    const outcome: ElementOutcome =
      this.elementCounts > 0
        ? 'read'
        : this.elementUnreadable === 0 && (this.elementStructure || blank)
          ? 'empty'
          : 'unreadable';
    this.outcomes[outcome] += 1;
    if (this.elementLayouts['5']) this.layoutElements['5'] += 1;
    if (this.elementLayouts['5.1']) this.layoutElements['5.1'] += 1;
    if (outcome === 'unreadable') {
      this.firstUnreadable ??= {
        index: this.element,
        keys: isJsonObject(element) ? Object.keys(element) : [],
      };
      this.elementDiagnostic('item_unreadable', unreadableMessage(element), undefined, true);
    }
    if (this.pending.length > 0) {
      const targets = [...months].map((m) => this.monthState(m).diagnostics);
      if (targets.length === 0) targets.push(this.reportDiagnostics);
      for (const { code, message, path } of this.pending) {
        const place: DiagnosticPlace = { item: this.element, ...(path !== undefined && { path }) };
        for (const set of targets) set.add(code, message, place);
      }
      this.pending = [];
    }
    return outcome;
  }

  /** Starts tallying an item with usage (a plain item, an IR child, an IR parent's own usage). */
  beginItem(item: JsonObject, requireItemId: boolean): void {
    if (this.options.topK === 0 && !requireItemId) return;
    const ranked = RankedItem.of(item);
    if (requireItemId && !ranked.hasIdentifier())
      this.elementDiagnostic('item_id_missing', 'the item has no identifier in Item_ID');
    if (this.options.topK === 0 || (this.item && ranked.sameAs(this.item))) return;
    this.flushItem();
    this.item = ranked;
    this.itemSeq += 1;
  }

  /** Files the last item's counts; call once after the last element. */
  finish(): void {
    this.flushItem();
    this.item = undefined;
  }

  private flushItem(): void {
    const touched = this.touched;
    if (touched.length === 0) return;
    const item = this.item ?? new RankedItem(undefined, undefined, undefined);
    const seq = this.itemSeq;
    for (let i = 0; i < touched.length; i++) {
      const tally = touched[i];
      const { state } = tally;
      let top = state.top.get(tally.metric);
      if (!top) state.top.set(tally.metric, (top = new TopK(this.options.topK)));
      top.offer(tally.itemCount, seq, item);
      tally.itemCount = 0;
      tally.touched = false;
    }
    touched.length = 0;
  }

  // ---------------------------------------------------------------------------------------------
  // UsageSink (called by the reader)

  structure(): void {
    this.elementStructure = true;
  }

  layout(release: CounterRelease): void {
    this.currentLayout = release;
    this.elementLayouts[release] = true;
  }

  beginUnit(): void {
    for (const state of this.unitTouched) state.unitTouched = false;
    this.unitTouched.length = 0;
  }

  endUnit(): void {
    const touched = this.unitTouched;
    if (touched.length === 0) return;
    const pairs = PAIRS_BY_LAYOUT[this.currentLayout];
    for (let m = 0; m < touched.length; m++) {
      const state = touched[m];
      const { month } = state;
      const slots = state.unitSlots!;
      state.unitTouched = false;
      for (let p = 0; p < pairs.length; p++) {
        const [u, t, unique, total] = pairs[p];
        if (slots[u] > slots[t])
          state.diagnostics.add(
            'unique_exceeds_total',
            `${unique} ${slots[u]} > ${total} ${slots[t]} in ${month}`,
            { item: this.element },
          );
      }
      for (let k = 0; k < slots.length; k++) slots[k] = 0;
    }
    touched.length = 0;
  }

  unreadable(): void {
    this.elementUnreadable += 1;
  }

  yop(value: unknown): void {
    if (!this.options.validate || (value === this.validYop && value !== undefined)) return;
    const yop = typeof value === 'number' ? String(value) : value;
    if (typeof yop !== 'string' || !YOP_PATTERN.test(yop))
      this.elementDiagnostic('yop_invalid', `YOP ${JSON.stringify(value)} is not four digits (yyyy)`);
    else if (typeof value === 'string') this.validYop = value;
  }

  count(month: YearMonth, rawMetric: unknown, raw: unknown): void {
    const state = this.monthState(month);
    if (typeof rawMetric !== 'string' || rawMetric === '') {
      this.elementUnreadable += 1;
      if (this.options.validate)
        state.diagnostics.add(
          'count_invalid',
          `a count without a Metric_Type (${JSON.stringify(rawMetric ?? null)})`,
          {
            item: this.element,
          },
        );
      return;
    }
    const metric = canonicalMetric(rawMetric);
    const value = this.number(raw, metric, month, state);
    if (value === undefined) return;
    this.elementCounts += 1;
    let tally = state.tallies.get(metric);
    if (!tally) {
      tally = {
        state,
        metric,
        total: 0,
        itemCount: 0,
        touched: false,
        pairSlot: PAIR_METRIC_SLOTS.get(metric) ?? -1,
      };
      state.tallies.set(metric, tally);
    }
    tally.total += value;
    if (this.options.topK > 0) {
      tally.itemCount += value;
      if (!tally.touched) {
        tally.touched = true;
        this.touched.push(tally);
      }
    }
    if (this.options.validate) this.check(month, metric, value, state, tally);
  }

  /** The count as a number: integers as they are, digit strings converted; anything else dropped. */
  private number(raw: unknown, metric: string, month: YearMonth, state: MonthState): number | undefined {
    if (typeof raw === 'number' && Number.isInteger(raw)) return raw;
    if (typeof raw === 'string' && /^\s*-?\d+\s*$/.test(raw)) {
      if (this.options.validate)
        state.diagnostics.add(
          'count_as_string',
          `${metric} in ${month} is the string ${JSON.stringify(raw)}`,
          {
            item: this.element,
          },
        );
      return Number(raw);
    }
    this.elementUnreadable += 1;
    if (this.options.validate)
      state.diagnostics.add(
        'count_invalid',
        `${metric} in ${month} is ${JSON.stringify(raw ?? null)}, not a count`,
        {
          item: this.element,
        },
      );
    return undefined;
  }

  /** `{ item }` of the element being read (one object per element; DiagnosticSet copies it). */
  private place(): DiagnosticPlace {
    if (this.elementPlace?.item !== this.element) this.elementPlace = { item: this.element };
    return this.elementPlace;
  }

  private check(month: YearMonth, metric: string, value: number, state: MonthState, tally: Tally): void {
    const place = this.place();
    if (value < 0) state.diagnostics.add('negative_count', `${metric} in ${month} is ${value}`, place);
    if (this.reportId !== undefined) {
      const layout = this.currentLayout;
      const allowed = (this.allowed[layout] ??= allowedMetrics(layout, this.reportId));
      if (!allowed.has(metric))
        state.diagnostics.add(
          'metric_not_allowed',
          `${metric} is not a metric of ${this.reportId} in release ${layout}`,
          place,
        );
    }
    const requested = this.options.requested;
    if (requested && (month < requested.begin || month > requested.end))
      state.diagnostics.add(
        'usage_outside_request',
        `usage in ${month}, outside the requested ${requested.begin}..${requested.end}`,
        place,
      );
    const slot = tally.pairSlot;
    if (slot >= 0) {
      const slots = (state.unitSlots ??= new Float64Array(PAIR_METRIC_SLOTS.size));
      if (!state.unitTouched) {
        state.unitTouched = true;
        this.unitTouched.push(state);
      }
      slots[slot] += value;
    }
  }
}

/** Per layout the Unique ≤ Total pairs that apply to it. */
const PAIRS_BY_LAYOUT: Record<CounterRelease, (typeof PAIR_SLOTS)[number][]> = {
  '5': PAIR_SLOTS.filter((pair) => pair[4].includes('5')),
  '5.1': PAIR_SLOTS.filter((pair) => pair[4].includes('5.1')),
};

function unreadableMessage(element: unknown): string {
  if (!isJsonObject(element))
    return `the element is ${element === null ? 'null' : typeof element}, not an item`;
  const keys = Object.keys(element);
  return `no usage could be read from the item (members: ${keys.slice(0, 12).join(', ') || 'none'})`;
}
