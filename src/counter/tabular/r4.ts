/**
 * COUNTER 4 reports (stored by cs41 in FOLIO's camelCase JSON, one customer per month): the months
 * of a range merged into one report of the same JSON form. Report items are combined by their
 * description (everything but `itemPerformance`); their `itemPerformance` entries are concatenated in
 * month order. The tabular layout is written by `write-r4.ts` (docs/counter-tabular.md, section 8).
 */
import { canonicalJson } from './canonical.ts';
import { isJsonObject, type JsonObject } from '../json.ts';
import { monthsBetween, parseYearMonth, type YearMonth } from '../year-month.ts';
import { ExportError } from './errors.ts';
import type { MonthInput } from './merge.ts';
import { SpillingGroupBy, type GroupCodec, type SpillOptions, type SpillStats } from './spill.ts';

/** `[month index, itemPerformance entry]` pairs of one report item. */
type R4Agg = Array<[number, JsonObject]>;

const R4_SIZE = (value: R4Agg): number => value.reduce((n, [, e]) => n + 64 + JSON.stringify(e).length, 0);

const R4_CODEC: GroupCodec<R4Agg> = {
  combine(into, from) {
    for (const entry of from) into.push(entry);
    return R4_SIZE(from);
  },
  encode: (value) => JSON.stringify(value),
  decode: (text) => JSON.parse(text) as R4Agg,
  size: (value) => 32 + R4_SIZE(value),
};

function without(obj: JsonObject, key: string): JsonObject {
  const copy: JsonObject = {};
  for (const k of Object.keys(obj)) if (k !== key) copy[k] = obj[k];
  return copy;
}

/** One merged report item: its description and its `itemPerformance` entries with their month index. */
export interface R4MergedItem {
  description: JsonObject;
  /** `[index of the month in the range, itemPerformance entry]`, in month order. */
  performance: Array<[number, JsonObject]>;
}

export interface R4Merge {
  header: JsonObject;
  suppliedMonths: YearMonth[];
  stats(): SpillStats;
  /** The merged items in the order they first appear; iterate once (either this or `chunks`). */
  items(): AsyncGenerator<R4MergedItem>;
  /** The merged report as JSON text chunks; iterate once. */
  chunks(): AsyncGenerator<string>;
  dispose(): Promise<void>;
}

/** The report's metadata and first customer without `reportItems`, as the header of a COUNTER 4 month. */
export function r4Header(report: JsonObject): JsonObject {
  const customers = Array.isArray(report.customer) ? report.customer : [];
  const first = isJsonObject(customers[0]) ? without(customers[0], 'reportItems') : {};
  return { ...without(report, 'customer'), customer: [first] };
}

export async function mergeR4Range(
  input: MonthInput,
  range: { begin: YearMonth; end: YearMonth },
  spill?: SpillOptions,
  /** Sees every stored item with the index of its month in the range, as the months are read. */
  observe?: (item: JsonObject, monthIndex: number) => void,
): Promise<R4Merge> {
  const months = monthsBetween(range.begin, range.end);
  const index = new Map(months.map((m, i) => [m, i]));
  const groups = new SpillingGroupBy(R4_CODEC, spill);
  const supplied: YearMonth[] = [];
  let header: JsonObject | undefined;
  try {
    let previous = -1;
    for await (const month of input) {
      const ym = parseYearMonth(month.yearMonth);
      const i = ym === undefined ? undefined : index.get(ym);
      if (i === undefined || i <= previous)
        throw new ExportError(
          'invalid_input',
          `Stored month ${String(month.yearMonth)} is outside ${range.begin}..${range.end} or out of order`,
        );
      previous = i;
      supplied.push(months[i]);
      header ??= r4Header(month.header);
      let seq = 0;
      for await (const raw of month.items()) {
        const item = typeof raw === 'string' ? (JSON.parse(raw) as unknown) : raw;
        if (!isJsonObject(item)) continue;
        observe?.(item, i);
        const performance = Array.isArray(item.itemPerformance)
          ? item.itemPerformance.filter(isJsonObject)
          : [];
        await groups.add(
          canonicalJson(without(item, 'itemPerformance')),
          [i, seq++],
          performance.map((p): [number, JsonObject] => [i, p]),
        );
      }
    }
  } catch (error) {
    await groups.dispose();
    if (error instanceof SyntaxError)
      throw new ExportError('invalid_input', `A stored item is not valid JSON (${error.message})`);
    throw error;
  }
  const base = header ?? { customer: [{}] };
  async function* items(): AsyncGenerator<R4MergedItem> {
    for await (const entry of groups.finish((_key, position) => position)) {
      const performance = entry.value
        .map((pair, order) => ({ pair, order }))
        .sort((a, b) => a.pair[0] - b.pair[0] || a.order - b.order)
        .map(({ pair }) => pair);
      yield { description: JSON.parse(entry.key) as JsonObject, performance };
    }
  }
  return {
    header: base,
    suppliedMonths: supplied,
    items,
    async *chunks() {
      const meta = JSON.stringify(without(base, 'customer'));
      const customer = JSON.stringify((base.customer as JsonObject[])[0] ?? {});
      let text = `${meta === '{}' ? '{' : `${meta.slice(0, -1)},`}"customer":[${customer === '{}' ? '{' : `${customer.slice(0, -1)},`}"reportItems":[`;
      let first = true;
      for await (const { description, performance } of items()) {
        const item = { ...description, itemPerformance: performance.map(([, entry]) => entry) };
        text += `${first ? '' : ','}${JSON.stringify(item)}`;
        first = false;
        if (text.length >= 64 * 1024) {
          yield text;
          text = '';
        }
      }
      yield `${text}]}]}`;
    },
    stats: () => groups.stats,
    dispose: () => groups.dispose(),
  };
}
