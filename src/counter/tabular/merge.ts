/**
 * Range merge: the stored months of one report (each a one-month COUNTER JSON report as the month
 * splitter stores it) → one ordered stream of items for `begin..end`, as the provider would have
 * delivered the range: one item per identity (parent + item description) with its usage leaves, the
 * counts of all months in one row of month columns.
 *
 * A one-month range streams item by item. Months that list the same items in the same order are
 * read side by side and merged without a table (lockstep.ts). Otherwise items are combined per
 * identity in a `SpillingGroupBy` (bounded memory, spill files on disk). Either way they come out in
 * first-appearance order: by the month and position where the item (and, for R5.1 IR, its parent)
 * was first seen.
 */
import { canonicalJson } from './canonical.ts';
import { createHash } from 'node:crypto';
import { isJsonObject, getLoose, type JsonObject } from '../json.ts';
import { parseRelease, parseReportId, type CounterRelease, type ReportId } from '../reports.ts';
import { monthsBetween, parseYearMonth, type YearMonth } from '../year-month.ts';
import { ExportError } from './errors.ts';
import {
  monthAxis,
  readElement,
  type ComponentUsage,
  type Counts,
  type ItemEntry,
  type UsageLeaf,
} from './items.ts';
import { checkLockstep, lockstepItems, MAX_LOCKSTEP_MONTHS, type ElementReader } from './lockstep.ts';
import {
  SpillingGroupBy,
  type GroupCodec,
  type Position,
  type SpillOptions,
  type SpillStats,
} from './spill.ts';
import {
  isIdentityProjection,
  project,
  ProjectionNotes,
  reportedDimensions,
  type Projection,
} from './views.ts';

/** One stored month as the store hands it over. */
export interface StoredMonth {
  yearMonth: YearMonth;
  /** The month's `Report_Header`. */
  header: JsonObject;
  /**
   * The month's `Report_Items` elements, parsed or as JSON texts, in stored order. May be called
   * more than once (each call reads the items anew) and stopped early.
   */
  items(): AsyncIterable<JsonObject | string>;
}

export type MonthInput = AsyncIterable<StoredMonth> | Iterable<StoredMonth>;

/** One item of the merged range. */
export interface MergedItem {
  parent?: JsonObject;
  item: JsonObject;
  leaves: UsageLeaf[];
}

export interface MergeRequest {
  release: CounterRelease;
  /** The stored report the months must be (a master report for derived views). */
  sourceReportId: ReportId;
  begin: YearMonth;
  end: YearMonth;
  projection: Projection;
  /** Stream the single month item by item instead of combining identities. */
  streaming: boolean;
  spill?: SpillOptions;
  /** False: never merge the months side by side (always with the table). */
  lockstep?: boolean;
}

export type MergeStrategy = 'stream' | 'lockstep' | 'table';

export interface MergedRange {
  /** The months of the range (the month columns). */
  months: YearMonth[];
  /** The stored headers, in month order (for a streamed range: the one month's). */
  headers: JsonObject[];
  /** The months that were handed in. */
  suppliedMonths: YearMonth[];
  /** Whether any item has usage; undefined until known (a streamed range). */
  hasUsage: boolean | undefined;
  /** How the months were merged: one month streamed, months side by side, or with a table. */
  strategy: MergeStrategy;
  /** The items in order; iterate once. */
  items(): AsyncGenerator<MergedItem>;
  /** Things the reader should know (filters that could not be applied, counts outside the range). */
  notes(): string[];
  stats(): SpillStats | undefined;
  dispose(): Promise<void>;
}

function parseElement(element: JsonObject | string, month: YearMonth): unknown {
  if (typeof element !== 'string') return element;
  try {
    return JSON.parse(element);
  } catch (error) {
    throw new ExportError(
      'invalid_input',
      `Stored month ${month}: an item is not valid JSON (${error instanceof Error ? error.message : String(error)})`,
    );
  }
}

/** Checks one month against the request; returns its index in the range. */
function checkMonth(
  month: StoredMonth,
  request: MergeRequest,
  index: ReadonlyMap<YearMonth, number>,
  previous: number,
): number {
  const yearMonth = parseYearMonth(month.yearMonth);
  const i = yearMonth === undefined ? undefined : index.get(yearMonth);
  if (i === undefined)
    throw new ExportError(
      'invalid_input',
      `Stored month ${String(month.yearMonth)} is outside the range ${request.begin}..${request.end}`,
    );
  if (i <= previous)
    throw new ExportError(
      'invalid_input',
      `Stored months must come in ascending order without repeats (${month.yearMonth})`,
    );
  if (!isJsonObject(month.header))
    throw new ExportError('invalid_input', `Stored month ${month.yearMonth} has no Report_Header`);
  const reportId = parseReportId(getLoose(month.header, ['report_id']));
  if (reportId !== undefined && reportId !== request.sourceReportId)
    throw new ExportError(
      'invalid_input',
      `Stored month ${month.yearMonth} is a ${reportId} report, expected ${request.sourceReportId}`,
    );
  const release = parseRelease(getLoose(month.header, ['release']));
  if (release !== undefined && release !== request.release)
    throw new ExportError(
      'invalid_input',
      `Stored month ${month.yearMonth} is release ${release}, expected ${request.release}`,
    );
  return i;
}

// ---------------------------------------------------------------------------------------------
// The combined value of one identity: its leaves, keyed by their attributes' JSON text.

interface ComponentAgg {
  /** JSON texts of the component description and attributes. */
  m: string;
  a: string;
  c: Counts;
}

interface LeafAgg {
  a: string;
  c: Counts;
  k?: ComponentAgg[];
}

type ItemAgg = LeafAgg[];

/** Adds counts; returns the bytes of metrics that were new (estimate). */
function addCounts(into: Counts, from: Counts): number {
  let grown = 0;
  for (const metric of Object.keys(from)) {
    const source = from[metric];
    const target = into[metric];
    if (!target) {
      into[metric] = source;
      grown += metric.length + 56 + source.length * 8;
    } else for (let i = 0; i < source.length; i++) target[i] += source[i];
  }
  return grown;
}

function countsSize(counts: Counts): number {
  let size = 16;
  for (const metric of Object.keys(counts)) size += metric.length + 56 + counts[metric].length * 8;
  return size;
}

function leafSize(leaf: LeafAgg): number {
  let size = leaf.a.length + 48 + countsSize(leaf.c);
  for (const component of leaf.k ?? [])
    size += component.m.length + component.a.length + 48 + countsSize(component.c);
  return size;
}

const ITEM_CODEC: GroupCodec<ItemAgg> = {
  combine(into, from) {
    let grown = 0;
    for (const leaf of from) {
      const same = into.find((l) => l.a === leaf.a);
      if (!same) {
        into.push(leaf);
        grown += leafSize(leaf);
        continue;
      }
      grown += addCounts(same.c, leaf.c);
      for (const component of leaf.k ?? []) {
        const sameComponent = same.k?.find((c) => c.m === component.m && c.a === component.a);
        if (sameComponent) grown += addCounts(sameComponent.c, component.c);
        else {
          (same.k ??= []).push(component);
          grown += component.m.length + component.a.length + 48 + countsSize(component.c);
        }
      }
    }
    return grown;
  },
  encode: (value) => JSON.stringify(value),
  decode: (text) => JSON.parse(text) as ItemAgg,
  size: (value) => value.reduce((size, leaf) => size + leafSize(leaf), 32),
};

function toAgg(leaves: readonly UsageLeaf[]): ItemAgg {
  return leaves.map((leaf) => {
    const agg: LeafAgg = { a: canonicalJson(leaf.attrs), c: leaf.counts };
    if (leaf.components.length > 0) {
      const components: ComponentAgg[] = [];
      for (const component of leaf.components) {
        const m = canonicalJson(component.meta);
        const a = canonicalJson(component.attrs);
        const same = components.find((c) => c.m === m && c.a === a);
        if (same) addCounts(same.c, component.counts);
        else components.push({ m, a, c: component.counts });
      }
      agg.k = components;
    }
    return agg;
  });
}

function fromAgg(agg: ItemAgg): UsageLeaf[] {
  return agg.map((leaf) => ({
    attrs: JSON.parse(leaf.a) as JsonObject,
    counts: leaf.c,
    components: (leaf.k ?? []).map((c): ComponentUsage => ({
      meta: JSON.parse(c.m) as JsonObject,
      attrs: JSON.parse(c.a) as JsonObject,
      counts: c.c,
    })),
  }));
}

/** Separates the parent's and the item's JSON in a key (neither contains a raw U+0001). */
const KEY_SEPARATOR = '\u0001';

function digest(text: string): string {
  return createHash('sha1').update(text).digest('base64');
}

async function* iterate<T>(input: AsyncIterable<T> | Iterable<T>): AsyncGenerator<T> {
  for await (const value of input) yield value;
}

/**
 * Reads the months for `request`. For a streamed range this reads only the first month's header;
 * otherwise it reads every month into the group-by (spilling as needed) before returning.
 */
export async function mergeRange(input: MonthInput, request: MergeRequest): Promise<MergedRange> {
  const months = monthsBetween(request.begin, request.end);
  if (months.length === 0 || months[0] !== request.begin)
    throw new ExportError('invalid_request', `Invalid range ${request.begin}..${request.end}`);
  const index = new Map(months.map((m, i) => [m, i]));
  const notes = new ProjectionNotes();
  let outsideCounts = 0;
  const axis = monthAxis(months, () => (outsideCounts += 1));
  const allNotes = (): string[] => [
    ...notes.list(),
    ...(outsideCounts > 0 ? [`${outsideCounts} counts of months outside the range were left out.`] : []),
  ];
  const monthsIterator = iterate(input);

  if (request.streaming) {
    const first = await monthsIterator.next();
    if (first.done) {
      return {
        months,
        headers: [],
        suppliedMonths: [],
        hasUsage: false,
        strategy: 'stream',
        items: async function* () {},
        notes: allNotes,
        stats: () => undefined,
        dispose: async () => {
          await monthsIterator.return(undefined);
        },
      };
    }
    const month = first.value;
    const monthIndex = checkMonth(month, request, index, -1);
    const result: MergedRange = {
      months,
      headers: [month.header],
      suppliedMonths: [months[monthIndex]],
      hasUsage: undefined,
      strategy: 'stream',
      async *items() {
        let any = false;
        const dimensions = reportedDimensions(request.release, month.header);
        for await (const raw of month.items()) {
          const element = parseElement(raw, month.yearMonth);
          for (const entry of readElement(element, axis)) {
            const projected = project(entry, request.projection, notes, dimensions);
            if (!projected) continue;
            any = true;
            yield projected;
          }
        }
        const next = await monthsIterator.next();
        if (!next.done)
          throw new ExportError(
            'invalid_input',
            `Expected one stored month for ${request.begin}..${request.end}, got more (${next.value.yearMonth})`,
          );
        result.hasUsage = any;
      },
      notes: allNotes,
      stats: () => undefined,
      dispose: async () => {
        await monthsIterator.return(undefined);
      },
    };
    return result;
  }

  const identity = isIdentityProjection(request.projection);
  const headers: JsonObject[] = [];
  const supplied: YearMonth[] = [];
  const stored: StoredMonth[] = [];
  const dimensions: Array<ReadonlySet<string>> = [];
  let previous = -1;
  for await (const month of monthsIterator) {
    const monthIndex = checkMonth(month, request, index, previous);
    previous = monthIndex;
    headers.push(month.header);
    supplied.push(months[monthIndex]);
    stored.push(month);
    dimensions.push(reportedDimensions(request.release, month.header));
  }
  /** One stored element → its entries, projected (those without usage left out for views). */
  const reader =
    (projectionNotes: ProjectionNotes, monthAxis: typeof axis): ElementReader =>
    (raw, month, m) => {
      const entries = readElement(parseElement(raw, month.yearMonth), monthAxis);
      if (identity) return entries;
      const projected: ItemEntry[] = [];
      for (const entry of entries) {
        const p = project(entry, request.projection, projectionNotes, dimensions[m]);
        if (p) projected.push(p);
      }
      return projected;
    };

  if (request.lockstep !== false && stored.length > 0 && stored.length <= MAX_LOCKSTEP_MONTHS) {
    // The first pass keeps its notes apart: if it gives up, the merge with a table reads again.
    const lockstepNotes = new ProjectionNotes();
    let lockstepOutside = 0;
    const lockstepAxis = monthAxis(months, () => (lockstepOutside += 1));
    const check = await checkLockstep(stored, reader(lockstepNotes, lockstepAxis), identity);
    if (check.aligned) {
      const quiet = monthAxis(months);
      return {
        months,
        headers,
        suppliedMonths: supplied,
        hasUsage: check.anyEntry,
        strategy: 'lockstep',
        items: () => lockstepItems(stored, reader(new ProjectionNotes(), quiet)),
        notes: () => [
          ...lockstepNotes.list(),
          ...(lockstepOutside > 0
            ? [`${lockstepOutside} counts of months outside the range were left out.`]
            : []),
        ],
        stats: () => undefined,
        dispose: async () => undefined,
      };
    }
  }

  const groups = new SpillingGroupBy(ITEM_CODEC, request.spill);
  const parentFirst = new Map<string, number[]>();
  try {
    for (const [m, month] of stored.entries()) {
      const monthIndex = index.get(supplied[m]) ?? m;
      let seq = 0;
      for await (const raw of month.items()) {
        const entries = readElement(parseElement(raw, month.yearMonth), axis);
        for (let child = 0; child < entries.length; child++) {
          const entry = identity
            ? entries[child]
            : project(entries[child], request.projection, notes, dimensions[m]);
          if (!entry) continue;
          const parentJson = entry.parent ? canonicalJson(entry.parent) : '';
          const parentKey = parentJson === '' ? '' : digest(parentJson);
          if (!parentFirst.has(parentKey)) parentFirst.set(parentKey, [monthIndex, seq]);
          const key = `${parentJson}${KEY_SEPARATOR}${canonicalJson(entry.item)}`;
          await groups.add(key, [monthIndex, seq, child], toAgg(entry.leaves));
        }
        seq += 1;
      }
    }
  } catch (error) {
    await groups.dispose();
    throw error;
  }
  const order = (key: string, position: Position): Position => {
    const parentJson = key.slice(0, key.indexOf(KEY_SEPARATOR));
    const first = parentFirst.get(parentJson === '' ? '' : digest(parentJson)) ?? [];
    return [...first, ...position];
  };
  // Projected entries always have usage, so the range has usage exactly when anything was added.
  const hasUsage = groups.memoryBytes > 0 || groups.stats.spills > 0;
  return {
    months,
    headers,
    suppliedMonths: supplied,
    hasUsage,
    strategy: 'table',
    async *items() {
      for await (const entry of groups.finish(order)) {
        const separator = entry.key.indexOf(KEY_SEPARATOR);
        const parentJson = entry.key.slice(0, separator);
        const item: MergedItem = {
          item: JSON.parse(entry.key.slice(separator + 1)) as JsonObject,
          leaves: fromAgg(entry.value),
        };
        if (parentJson !== '') item.parent = JSON.parse(parentJson) as JsonObject;
        yield item;
      }
    },
    notes: allNotes,
    stats: () => groups.stats,
    dispose: () => groups.dispose(),
  };
}
