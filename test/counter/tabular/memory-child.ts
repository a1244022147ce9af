/**
 * Child process of memory.test.ts: exports generated stored months (the texts test/mock/huge.ts
 * generates, which are what the month splitter stores for that report) and checks the output while
 * it streams, then prints one JSON line with what it saw and the peak RSS.
 *
 *   memory-child.ts merge <items> <budgetMiB>   twelve months, item i missing in month m when (i+m) % 7 = 0
 *   memory-child.ts stream <items>              one month
 *   memory-child.ts xlsx <items>                one month as xlsx
 */
import { Writable } from 'node:stream';
import { prepareExport, type StoredMonth } from '../../../src/counter/index.ts';
import { HUGE_METRICS, hugeCount, hugeItem } from '../../../mock/huge.ts';
import { lastDay, monthsBetween } from '../../../mock/months.ts';

const [mode, itemArg, budgetArg] = process.argv.slice(2);
const items = Number(itemArg);
const months = mode === 'merge' ? monthsBetween('2023-01', '2023-12') : ['2023-01'];
const present = (i: number, m: number): boolean => mode !== 'merge' || (i + m) % 7 !== 0;

function header(month: string): Record<string, unknown> {
  return {
    Release: '5.1',
    Report_ID: 'TR',
    Report_Name: 'Title Report',
    Created: '2024-01-01T00:00:00Z',
    Created_By: 'Mock COUNTER server',
    Institution_ID: { Proprietary: ['mock:huge'] },
    Institution_Name: 'Huge Institution',
    Registry_Record: '',
    Report_Attributes: { Attributes_To_Show: ['YOP', 'Access_Type', 'Access_Method'] },
    Report_Filters: { Begin_Date: `${month}-01`, End_Date: lastDay(month) },
  };
}

function* stored(): Generator<StoredMonth> {
  for (const [m, month] of months.entries()) {
    yield {
      yearMonth: month,
      header: header(month),
      async *items() {
        for (let i = 0; i < items; i++) if (present(i, m)) yield hugeItem('5.1', i, [month]);
      },
    };
  }
}

/** Counts data rows and sums Reporting_Period_Total per metric from the TSV as it streams. */
class TsvCheck extends Writable {
  rest = '';
  rows = 0;
  totals = new Map<string, number>();
  firstTitles: string[] = [];
  bytes = 0;
  private inData = false;
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.bytes += chunk.length;
    const lines = (this.rest + chunk.toString('utf8')).split('\n');
    this.rest = lines.pop() ?? '';
    for (const line of lines) {
      const cells = line.split('\t');
      if (!this.inData) {
        this.inData = cells.includes('Reporting_Period_Total');
        continue;
      }
      this.rows += 1;
      if (this.firstTitles.length < 3 && !this.firstTitles.includes(cells[0]))
        this.firstTitles.push(cells[0]);
      const metric = cells[14];
      this.totals.set(metric, (this.totals.get(metric) ?? 0) + Number(cells[15]));
    }
    callback();
  }
}

const check = new TsvCheck();
const exp = await prepareExport({
  release: '5.1',
  reportId: 'TR',
  begin: months[0],
  end: months[months.length - 1],
  format: mode === 'xlsx' ? 'xlsx' : 'tsv',
  months: stored(),
  monthCount: months.length,
  ...(budgetArg !== undefined && { spill: { memoryBudgetBytes: Number(budgetArg) * 1024 * 1024 } }),
});
await exp.writeTo(check);

const expected: Record<string, number> = {};
let expectedRows = 0;
HUGE_METRICS.forEach((metric, k) => {
  let total = 0;
  for (let i = 0; i < items; i++)
    months.forEach((month, m) => {
      if (present(i, m)) total += hugeCount(i, month, k);
    });
  expected[metric] = total;
});
for (let i = 0; i < items; i++) if (months.some((_, m) => present(i, m))) expectedRows += HUGE_METRICS.length;

console.log(
  JSON.stringify({
    rows: check.rows,
    expectedRows,
    totals: Object.fromEntries(check.totals),
    expected,
    firstTitles: check.firstTitles,
    bytes: check.bytes,
    spill: exp.spillStats(),
    peakRssMB: process.resourceUsage().maxRSS / 1024,
  }),
);
