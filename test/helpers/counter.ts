/** Test helpers for the COUNTER layer: fixtures, chunked streams and an independent usage summer. */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CounterRelease } from '../../src/counter/index.ts';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'counter');

export interface Sample {
  name: string;
  release: CounterRelease;
  text: string;
  json: Record<string, unknown>;
}

export function loadSamples(): Sample[] {
  const samples: Sample[] = [];
  for (const [folder, release] of [
    ['r50', '5'],
    ['r51', '5.1'],
  ] as const) {
    for (const file of readdirSync(join(FIXTURES, folder))
      .filter((f) => f.endsWith('.json'))
      .sort()) {
      const text = readFileSync(join(FIXTURES, folder, file), 'utf8');
      samples.push({
        name: `${folder}/${file}`,
        release,
        text,
        json: JSON.parse(text) as Record<string, unknown>,
      });
    }
  }
  return samples;
}

/** Yields the text as UTF-8 chunks of `size` bytes, so tokens and characters straddle chunk borders. */
export async function* chunked(text: string | Uint8Array, size = 7): AsyncGenerator<Uint8Array> {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

/** month → metric → summed count */
export type UsageSums = Map<string, Map<string, number>>;

function add(sums: UsageSums, month: string, metric: string, count: unknown): void {
  const n = typeof count === 'number' ? count : Number(count);
  let metrics = sums.get(month);
  if (!metrics) sums.set(month, (metrics = new Map()));
  metrics.set(metric, (metrics.get(metric) ?? 0) + n);
}

/**
 * Sums every count in a document, wherever it is: R5.0 `Performance[]` (`Period` + `Instance[]`) and
 * R5.1 `Performance` objects (`{Metric: {yyyy-MM: n}}`), at any depth (parents, items, components).
 * Written without the code under test, as an oracle.
 */
export function sumUsage(doc: unknown, sums: UsageSums = new Map()): UsageSums {
  if (Array.isArray(doc)) {
    for (const element of doc) sumUsage(element, sums);
    return sums;
  }
  if (typeof doc !== 'object' || doc === null) return sums;
  for (const [key, value] of Object.entries(doc as Record<string, unknown>)) {
    if (key === 'Performance' && Array.isArray(value)) {
      for (const entry of value as {
        Period: { Begin_Date: string };
        Instance: { Metric_Type: string; Count: number }[];
      }[]) {
        for (const instance of entry.Instance)
          add(sums, entry.Period.Begin_Date.slice(0, 7), instance.Metric_Type, instance.Count);
      }
    } else if (key === 'Performance' && typeof value === 'object' && value !== null) {
      for (const [metric, counts] of Object.entries(value as Record<string, Record<string, number>>)) {
        for (const [month, count] of Object.entries(counts)) add(sums, month.slice(0, 7), metric, count);
      }
    } else {
      sumUsage(value, sums);
    }
  }
  return sums;
}

/** Every month key / Period month mentioned anywhere in a document. */
export function monthsMentioned(doc: unknown): Set<string> {
  return new Set(sumUsage(doc).keys());
}

export function headerRange(json: Record<string, unknown>): [string, string] {
  const header = json.Report_Header as { Report_Filters: unknown };
  const filters = header.Report_Filters;
  if (Array.isArray(filters)) {
    const get = (name: string) =>
      (filters as { Name: string; Value: string }[]).find((f) => f.Name === name)!.Value;
    return [get('Begin_Date'), get('End_Date')];
  }
  const f = filters as { Begin_Date: string; End_Date: string };
  return [f.Begin_Date, f.End_Date];
}

/** Months from `yyyy-MM-dd` to `yyyy-MM-dd`, computed with Date arithmetic (independent of src). */
export function expectedMonths(begin: string, end: string): string[] {
  const months: string[] = [];
  const d = new Date(`${begin.slice(0, 7)}-01T00:00:00Z`);
  const last = end.slice(0, 7);
  while (d.toISOString().slice(0, 7) <= last) {
    months.push(d.toISOString().slice(0, 7));
    d.setUTCMonth(d.getUTCMonth() + 1);
  }
  return months;
}

/** The metric sums of one month as a plain sorted object (for deepStrictEqual). */
export function monthSums(sums: UsageSums, month: string): Record<string, number> {
  return Object.fromEntries(
    [...(sums.get(month) ?? new Map<string, number>())].sort(([a], [b]) => a.localeCompare(b)),
  );
}

/** A minimal 5.0 `Report_Header` (filters as a `[{Name, Value}]` list) for hand-made reports. */
export function header50(reportId: string, begin: string, end: string): Record<string, unknown> {
  return {
    Release: '5',
    Report_ID: reportId,
    Report_Filters: [
      { Name: 'Begin_Date', Value: begin },
      { Name: 'End_Date', Value: end },
    ],
  };
}

/** A 5.1 Title Report's `Report_Header` for one month, for hand-made TRs (Access_Type shown). */
export function trHeader51(month: string): Record<string, unknown> {
  return {
    Report_Name: 'Title Report',
    Report_ID: 'TR',
    Release: '5.1',
    Institution_Name: 'Test Library',
    Institution_ID: { Proprietary: ['TL:1'] },
    Report_Filters: { Begin_Date: `${month}-01`, End_Date: `${month}-28` },
    Report_Attributes: { Attributes_To_Show: ['Access_Type'] },
    Created: '2024-02-01T10:00:00Z',
    Created_By: 'Test Press',
    Registry_Record: '',
  };
}
