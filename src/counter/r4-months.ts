/**
 * COUNTER 4 months out of month buckets: each month's item lines (R4 JSON report items) become one
 * R4 report (`meta` with one customer holding the items), with its item count and the sha256 of its
 * lines. Shared by the SUSHI 4 response reader and the COUNTER 4 tabular file reader.
 */
import { createHash } from 'node:crypto';
import type { MonthBuckets } from './month-buckets.ts';
import type { YearMonth } from './year-month.ts';

export interface R4Month {
  yearMonth: YearMonth;
  report: Record<string, unknown>;
  itemCount: number;
  contentHash: string;
}

/** The months in order, each released once yielded; the buckets are disposed of at the end. */
export async function* r4MonthsOf(
  buckets: MonthBuckets,
  yearMonths: readonly YearMonth[],
  meta: Record<string, unknown>,
  customer: Record<string, unknown>,
): AsyncGenerator<R4Month> {
  try {
    for (const yearMonth of yearMonths) {
      const items: unknown[] = [];
      const hash = createHash('sha256');
      for await (const line of buckets.read(yearMonth)) {
        hash.update(line).update('\n');
        items.push(JSON.parse(line));
      }
      await buckets.release(yearMonth);
      yield {
        yearMonth,
        report: { ...meta, customer: [{ ...customer, reportItems: items }] },
        itemCount: items.length,
        contentHash: hash.digest('hex'),
      };
    }
  } finally {
    await buckets.dispose();
  }
}
