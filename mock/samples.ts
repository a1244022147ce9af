/**
 * The official COUNTER samples as the mock server's `ok` data: loading, cutting to the requested months
 * (with the cyclic relabelling rule of `cyclicSourceMonth`) and the expected per-month sums.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MockRelease } from './exceptions.ts';
import { cyclicSourceMonth, firstDay, lastDay, monthsBetween, type Month } from './months.ts';

/** The 16 report ids of both releases, lower case as in the paths. */
export const MOCK_REPORT_IDS = [
  'pr',
  'pr_p1',
  'dr',
  'dr_d1',
  'dr_d2',
  'tr',
  'tr_b1',
  'tr_b2',
  'tr_b3',
  'tr_j1',
  'tr_j2',
  'tr_j3',
  'tr_j4',
  'ir',
  'ir_a1',
  'ir_m1',
] as const;
export type MockReportId = (typeof MOCK_REPORT_IDS)[number];

export function toReportId(value: string): MockReportId | undefined {
  const id = value.toLowerCase();
  return (MOCK_REPORT_IDS as readonly string[]).includes(id) ? (id as MockReportId) : undefined;
}

/** The official samples, with their attribution and licence (README.md there); the tests read them too. */
const SAMPLES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures', 'counter');

function sampleFile(release: MockRelease, id: MockReportId): string {
  return release === '5.1'
    ? join('r51', `${id.replace('_', '').toUpperCase()}_sample_r51.json`)
    : join('r50', `Sample-${id.toUpperCase()}.json`);
}

type Json = any;

const cache = new Map<string, Json>();

/** The parsed official sample (shared, never mutate it). */
export function loadSample(release: MockRelease, id: MockReportId): Json {
  const file = sampleFile(release, id);
  let sample = cache.get(file);
  if (sample === undefined) {
    sample = JSON.parse(readFileSync(join(SAMPLES_DIR, file), 'utf8'));
    cache.set(file, sample);
  }
  return sample;
}

/** The header's `Begin_Date`/`End_Date` (object filters in R5.1, `[{Name, Value}]` in R5.0). */
function headerDates(header: Json): { begin: string; end: string } {
  const filters = header.Report_Filters;
  if (Array.isArray(filters)) {
    const value = (name: string): string => filters.find((f: Json) => f.Name === name).Value;
    return { begin: value('Begin_Date'), end: value('End_Date') };
  }
  return { begin: filters.Begin_Date, end: filters.End_Date };
}

/** The months the sample covers according to its header (2022-01..12 for R5.1, 2016-01..03 for R5.0). */
export function sampleMonths(release: MockRelease, id: MockReportId): Month[] {
  const { begin, end } = headerDates(loadSample(release, id).Report_Header);
  return monthsBetween(begin.slice(0, 7), end.slice(0, 7));
}

/** The sample month that serves `month` in the `ok` scenario (identity inside the sample's range). */
export function sourceMonth(release: MockRelease, id: MockReportId, month: Month): Month {
  const months = sampleMonths(release, id);
  return cyclicSourceMonth(months[0], months.length, month);
}

/** A copy of the sample's header with the requested range and, when given, exceptions. */
export function reportHeader(
  release: MockRelease,
  id: MockReportId,
  begin: Month,
  end: Month,
  exceptions?: unknown[],
): Json {
  const header = structuredClone(loadSample(release, id).Report_Header);
  if (Array.isArray(header.Report_Filters)) {
    for (const filter of header.Report_Filters) {
      if (filter.Name === 'Begin_Date') filter.Value = firstDay(begin);
      if (filter.Name === 'End_Date') filter.Value = lastDay(end);
    }
  } else {
    header.Report_Filters.Begin_Date = firstDay(begin);
    header.Report_Filters.End_Date = lastDay(end);
  }
  if (exceptions && exceptions.length > 0) header.Exceptions = exceptions;
  return header;
}

interface MonthPair {
  target: Month;
  source: Month;
}

/** R5.1 `Performance` `{Metric: {yyyy-mm: n}}`: keep the requested months, taken from their sources. */
function cutCounts(performance: Json, pairs: MonthPair[]): Json {
  const out: Json = {};
  for (const [metric, counts] of Object.entries<Json>(performance ?? {})) {
    if (typeof counts !== 'object' || counts === null) continue;
    const next: Json = {};
    for (const { target, source } of pairs) if (source in counts) next[target] = counts[source];
    if (Object.keys(next).length > 0) out[metric] = next;
  }
  return out;
}

/** R5.0 `Performance[]`: the entries of each source month, relabelled to the requested month. */
function cutPeriods(performance: Json[], pairs: MonthPair[]): Json[] {
  const out: Json[] = [];
  for (const { target, source } of pairs) {
    for (const entry of performance) {
      if (String(entry?.Period?.Begin_Date ?? '').slice(0, 7) !== source) continue;
      out.push({ ...entry, Period: { Begin_Date: firstDay(target), End_Date: lastDay(target) } });
    }
  }
  return out;
}

function isEmptyUsage(value: unknown): boolean {
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === 'object' && value !== null && Object.keys(value).length === 0;
}

/** Containers whose emptiness removes the enclosing element (the 1.13 pruning rules). */
const USAGE_KEYS = ['Performance', 'Attribute_Performance', 'Items'];
/** Nested lists that are removed from their parent when cutting empties them. */
const OPTIONAL_LISTS = ['Components', 'Item_Component'];

function cutNode(node: Json, pairs: MonthPair[]): Json {
  if (Array.isArray(node)) {
    return node.map((element) => cutNode(element, pairs)).filter((element, i) => !emptied(node[i], element));
  }
  if (typeof node !== 'object' || node === null) return node;
  const out: Json = {};
  for (const [key, value] of Object.entries<Json>(node)) {
    if (key === 'Performance' && Array.isArray(value)) out[key] = cutPeriods(value, pairs);
    else if (key === 'Performance' && typeof value === 'object' && value !== null)
      out[key] = cutCounts(value, pairs);
    else out[key] = cutNode(value, pairs);
    if (OPTIONAL_LISTS.includes(key) && isEmptyUsage(out[key]) && !isEmptyUsage(value)) delete out[key];
  }
  return out;
}

function emptied(original: Json, cut: Json): boolean {
  if (typeof original !== 'object' || original === null || Array.isArray(original)) return false;
  return USAGE_KEYS.some((key) => key in original && isEmptyUsage(cut[key]));
}

function monthPairs(release: MockRelease, id: MockReportId, begin: Month, end: Month): MonthPair[] {
  return monthsBetween(begin, end).map((target) => ({ target, source: sourceMonth(release, id, target) }));
}

/** Only the report items, cut to `begin`..`end` (months in order, relabelled cyclically). */
export function cutItems(release: MockRelease, id: MockReportId, begin: Month, end: Month): Json[] {
  return cutNode(loadSample(release, id).Report_Items, monthPairs(release, id, begin, end));
}

/** The `ok` answer: the sample cut to `begin`..`end`, header dates set to the requested range. */
export function okReport(
  release: MockRelease,
  id: MockReportId,
  begin: Month,
  end: Month,
  exceptions?: unknown[],
): Json {
  return {
    Report_Header: reportHeader(release, id, begin, end, exceptions),
    Report_Items: cutItems(release, id, begin, end),
  };
}

/** month → metric → summed count */
export type MonthSums = Map<Month, Map<string, number>>;

function addCount(sums: MonthSums, month: Month, metric: string, count: unknown): void {
  let metrics = sums.get(month);
  if (!metrics) sums.set(month, (metrics = new Map()));
  metrics.set(metric, (metrics.get(metric) ?? 0) + Number(count));
}

/** Sums every count of a COUNTER 5.0 or 5.1 document by month and metric, at any depth. */
export function sumCounts(doc: Json, sums: MonthSums = new Map()): MonthSums {
  if (Array.isArray(doc)) {
    for (const element of doc) sumCounts(element, sums);
  } else if (typeof doc === 'object' && doc !== null) {
    for (const [key, value] of Object.entries<Json>(doc)) {
      if (key === 'Performance' && Array.isArray(value)) {
        for (const entry of value)
          for (const instance of entry.Instance ?? [])
            addCount(sums, String(entry.Period.Begin_Date).slice(0, 7), instance.Metric_Type, instance.Count);
      } else if (key === 'Performance' && typeof value === 'object' && value !== null) {
        for (const [metric, counts] of Object.entries<Json>(value))
          for (const [month, count] of Object.entries(counts ?? {}))
            addCount(sums, month.slice(0, 7), metric, count);
      } else {
        sumCounts(value, sums);
      }
    }
  }
  return sums;
}

/**
 * What a harvester must find in the `ok` answer for `begin`..`end`: for each requested month the sums of
 * the sample's source month (months without usage are absent). Computed from the untouched sample.
 */
export function okExpectedSums(release: MockRelease, id: MockReportId, begin: Month, end: Month): MonthSums {
  const sampleSums = sumCounts(loadSample(release, id).Report_Items);
  const expected: MonthSums = new Map();
  for (const month of monthsBetween(begin, end)) {
    const source = sampleSums.get(sourceMonth(release, id, month));
    if (source) expected.set(month, new Map(source));
  }
  return expected;
}
