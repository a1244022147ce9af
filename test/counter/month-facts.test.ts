/**
 * Per-month facts computed while splitting: item count, totals per Metric_Type, the top K items per
 * metric, and the months outside the requested range.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  splitReport,
  splitReportStream,
  type MonthStream,
  type SplitOptions,
  type SplitReport,
  type TopItem,
} from '../../src/counter/index.ts';
import { chunked, header50, loadSamples, monthSums, sumUsage } from '../helpers/counter.ts';

const samples = loadSamples();

async function split(body: unknown, release: '5' | '5.1', options: SplitOptions = {}): Promise<SplitReport> {
  const result = await splitReportStream(chunked(JSON.stringify(body), 509), release, options);
  assert.equal(result.kind, 'report', JSON.stringify(result).slice(0, 300));
  return result;
}

async function streams(result: SplitReport): Promise<MonthStream[]> {
  const list: MonthStream[] = [];
  for await (const month of result.monthStreams()) list.push(month);
  return list;
}

function sorted(totals: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(totals).sort(([a], [b]) => a.localeCompare(b)));
}

void describe('month facts on the 32 official samples', () => {
  for (const sample of samples)
    void it(`${sample.name}: itemCount, totals equal the sample's sums, top items add up to the totals`, async () => {
      const result = await split(sample.json, sample.release);
      const sums = sumUsage(sample.json);
      const months = [];
      for await (const month of result.months()) {
        assert.equal(month.itemCount, month.report.Report_Items.length);
        assert.deepEqual(sorted(month.totals), monthSums(sums, month.yearMonth), month.yearMonth);
        for (const [metric, top] of Object.entries(month.topItems)) {
          // The samples have fewer than 100 items: every item is ranked, so the ranks add up.
          assert.equal(
            top.reduce((sum, item) => sum + item.count, 0),
            month.totals[metric],
            `${month.yearMonth} ${metric}`,
          );
          const counts = top.map((t) => t.count);
          assert.deepEqual(
            counts,
            [...counts].sort((a, b) => b - a),
          );
          for (const item of top) assert.ok(item.name, `${metric}: an item without a name`);
        }
        assert.deepEqual(Object.keys(month.topItems).sort(), Object.keys(month.totals).sort());
        months.push(month.yearMonth);
      }
      assert.ok(months.length > 0);
    });
});

function tr51Item(title: string, id: string, counts: Record<string, number>, yop = '2020'): unknown {
  return {
    Title: title,
    Publisher: 'P',
    Platform: 'Plat',
    Item_ID: { Proprietary: id, Online_ISSN: '1234-5678' },
    Attribute_Performance: [
      {
        Data_Type: 'Journal',
        YOP: yop,
        Access_Type: 'Controlled',
        Access_Method: 'Regular',
        Performance: { Total_Item_Requests: counts, Unique_Item_Requests: counts },
      },
    ],
  };
}

const HEADER_51 = {
  Release: '5.1',
  Report_ID: 'TR_J1',
  Report_Filters: { Begin_Date: '2024-01-01', End_Date: '2024-02-29' },
};

void describe('top items', () => {
  const items = Array.from({ length: 12 }, (_, i) =>
    tr51Item(`Journal ${i}`, `p:${i}`, { '2024-01': (i * 7) % 12, '2024-02': i + 1 }),
  );
  const body = { Report_Header: HEADER_51, Report_Items: items };

  void it('keeps the K highest counts per month and metric, highest first, earlier item first on ties', async () => {
    const result = await split(body, '5.1', { topK: 3 });
    const [january, february] = await streams(result);
    const top = (list: TopItem[]): [string | undefined, number][] => list.map((t) => [t.name, t.count]);
    // January counts (i*7)%12: i=5 → 11, i=10 → 10, i=3 → 9.
    assert.deepEqual(top(january.topItems.Total_Item_Requests), [
      ['Journal 5', 11],
      ['Journal 10', 10],
      ['Journal 3', 9],
    ]);
    assert.deepEqual(top(february.topItems.Unique_Item_Requests), [
      ['Journal 11', 12],
      ['Journal 10', 11],
      ['Journal 9', 10],
    ]);
    assert.deepEqual(january.topItems.Total_Item_Requests[0], {
      name: 'Journal 5',
      identifiers: { Proprietary: 'p:5', Online_ISSN: '1234-5678' },
      platform: 'Plat',
      count: 11,
    });
    // Totals are over all items, not the ranked ones.
    assert.equal(february.totals.Total_Item_Requests, 78);
  });

  void it('ties keep the earlier item', async () => {
    const tied = [1, 2, 3].map((i) => tr51Item(`J${i}`, `p:${i}`, { '2024-01': 5 }));
    const result = await split({ Report_Header: HEADER_51, Report_Items: tied }, '5.1', { topK: 2 });
    const [january] = await streams(result);
    assert.deepEqual(
      january.topItems.Total_Item_Requests.map((t) => t.name),
      ['J1', 'J2'],
    );
  });

  void it('topK 0 turns the ranking off but keeps the totals', async () => {
    const result = await split(body, '5.1', { topK: 0 });
    const [january] = await streams(result);
    assert.deepEqual(january.topItems, {});
    assert.equal(january.totals.Total_Item_Requests, 66);
  });

  void it('5.0 rows of one title (one per attribute combination, in a row) are ranked as one item', async () => {
    const row = (yop: string, count: number, title = 'Book A', id = 'p:a') => ({
      Title: title,
      Platform: 'Plat',
      Publisher: 'P',
      Item_ID: [{ Type: 'Proprietary', Value: id }],
      Data_Type: 'Book',
      YOP: yop,
      Performance: [
        {
          Period: { Begin_Date: '2024-01-01', End_Date: '2024-01-31' },
          Instance: [{ Metric_Type: 'Total_Item_Requests', Count: count }],
        },
      ],
    });
    const header = header50('TR', '2024-01-01', '2024-01-31');
    const rows = [row('2019', 4), row('2020', 5), row('2020', 7, 'Book B', 'p:b'), row('2021', 1)];
    const result = await split({ Report_Header: header, Report_Items: rows }, '5');
    const [january] = await streams(result);
    assert.equal(january.itemCount, 4);
    // Book A's first two rows merge (9); its last row is not next to them, so it stays apart (1).
    assert.deepEqual(
      january.topItems.Total_Item_Requests.map((t) => [t.name, t.count]),
      [
        ['Book A', 9],
        ['Book B', 7],
        ['Book A', 1],
      ],
    );
  });
});

void describe('months outside the requested range', () => {
  const items = [tr51Item('A', 'p:a', { '2023-12': 2, '2024-01': 3, '2024-02': 4 })];
  const body = {
    Report_Header: { ...HEADER_51, Report_Filters: { Begin_Date: '2023-12-01', End_Date: '2024-02-29' } },
    Report_Items: items,
  };

  void it('are listed and flagged, and usage in them is a diagnostic; requested months are not', async () => {
    const result = await split(body, '5.1', { requested: { begin: '2024-01-01', end: '2024-01-31' } });
    assert.deepEqual(result.monthsOutsideRequest, ['2023-12', '2024-02']);
    const months = await streams(result);
    assert.deepEqual(
      months.map((m) => [m.yearMonth, m.outsideRequest, m.itemCount]),
      [
        ['2023-12', true, 1],
        ['2024-01', false, 1],
        ['2024-02', true, 1],
      ],
    );
    const outside = months[0].diagnostics.find((d) => d.code === 'usage_outside_request');
    assert.equal(outside?.count, 2, 'two counts (two metrics) in 2023-12');
    assert.match(outside?.message ?? '', /usage in 2023-12, outside the requested 2024-01..2024-01/);
    assert.equal(
      months[1].diagnostics.some((d) => d.code === 'usage_outside_request'),
      false,
    );
    assert.ok(result.diagnostics.some((d) => d.code === 'header_period_outside_request'));
  });

  void it('include data months beyond the header period, whose facts are still available', async () => {
    const narrow = {
      ...body,
      Report_Header: { ...HEADER_51, Report_Filters: { Begin_Date: '2024-01-01', End_Date: '2024-01-31' } },
    };
    const result = await split(narrow, '5.1', { requested: { begin: '2024-01', end: '2024-01' } });
    assert.deepEqual(result.yearMonths, ['2024-01']);
    assert.deepEqual(result.monthsOutsideRequest, ['2023-12', '2024-02']);
    assert.deepEqual(result.monthFacts('2024-02')?.totals, {
      Total_Item_Requests: 4,
      Unique_Item_Requests: 4,
    });
    assert.equal(result.monthFacts('2024-02')?.outsideRequest, true);
    assert.equal(result.monthFacts('2025-01'), undefined);
    await result.dispose();
  });

  void it('without a requested range nothing is outside', async () => {
    const result = await splitReport(body, '5.1');
    assert.equal(result.kind, 'report');
    if (result.kind !== 'report') return;
    assert.deepEqual(result.monthsOutsideRequest, []);
    for (const month of await streams(result)) assert.equal(month.outsideRequest, false);
  });
});
