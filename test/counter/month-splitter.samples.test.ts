import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  splitReport,
  splitReportStream,
  type MonthReport,
  type SplitResult,
} from '../../src/counter/index.ts';
import {
  chunked,
  expectedMonths,
  headerRange,
  loadSamples,
  monthSums,
  monthsMentioned,
  sumUsage,
} from '../helpers/counter.ts';

const samples = loadSamples();

async function collect(result: SplitResult): Promise<MonthReport[]> {
  assert.equal(result.kind, 'report', JSON.stringify(result));
  if (result.kind !== 'report') return [];
  const months: MonthReport[] = [];
  for await (const month of result.months()) months.push(month);
  return months;
}

function monthRange(report: MonthReport): [string, string] {
  return headerRange(report.report as unknown as Record<string, unknown>);
}

void describe('month splitter on the 32 official COUNTER samples', () => {
  void it('has 16 samples per release', () => {
    assert.equal(samples.filter((s) => s.release === '5').length, 16);
    assert.equal(samples.filter((s) => s.release === '5.1').length, 16);
  });

  for (const sample of samples) {
    void describe(sample.name, () => {
      const [begin, end] = headerRange(sample.json);
      const months = expectedMonths(begin, end);
      const original = sumUsage(sample.json);

      void it('streams one month per header month, and per month and metric the sums equal the sample', async () => {
        const result = await splitReportStream(chunked(sample.text, 13), sample.release, {
          spillThresholdBytes: 4096,
        });
        assert.equal(result.kind, 'report');
        if (result.kind !== 'report') return;
        assert.deepEqual(result.yearMonths, months);
        assert.deepEqual(result.findings, []);
        assert.deepEqual(result.exceptions, []);
        assert.ok(
          months.some((m) => original.has(m)),
          'the sample has usage to compare',
        );
        const split = await collect(result);
        assert.deepEqual(
          split.map((m) => m.yearMonth),
          months,
        );
        for (const month of split) {
          const sums = sumUsage(month.report);
          assert.deepEqual(
            monthSums(sums, month.yearMonth),
            monthSums(original, month.yearMonth),
            month.yearMonth,
          );
          const expected = original.has(month.yearMonth) ? [month.yearMonth] : [];
          assert.deepEqual(
            [...monthsMentioned(month.report)],
            expected,
            `only ${month.yearMonth} in its report`,
          );
        }
      });

      void it('rewrites the header dates to the month and keeps the rest of the header', async () => {
        const split = await collect(await splitReportStream(chunked(sample.text, 4096), sample.release));
        for (const month of split) {
          const [b, e] = monthRange(month);
          assert.equal(b, `${month.yearMonth}-01`);
          assert.equal(e.slice(0, 7), month.yearMonth);
          assert.equal(new Date(`${e}T00:00:00Z`).getUTCMonth(), new Date(`${b}T00:00:00Z`).getUTCMonth());
          assert.equal(
            new Date(Date.parse(`${e}T00:00:00Z`) + 86_400_000).getUTCDate(),
            1,
            'End_Date is the last day',
          );
          const header = month.report.Report_Header;
          const originalHeader = sample.json.Report_Header as Record<string, unknown>;
          assert.deepEqual(Object.keys(header), Object.keys(originalHeader));
          assert.equal(header.Report_ID, originalHeader.Report_ID);
          assert.deepEqual(header.Report_Attributes, originalHeader.Report_Attributes);
        }
        // the original header object is not mutated
        assert.deepEqual(headerRange(sample.json), [begin, end]);
      });

      void it('gives the same months with the non-streaming splitReport', async () => {
        const streamed = await collect(await splitReportStream(chunked(sample.text, 1), sample.release));
        const direct = await collect(await splitReport(sample.json, sample.release));
        assert.deepEqual(direct, streamed);
      });

      void it('keeps item metadata and drops items without usage in a month', async () => {
        const split = await collect(await splitReport(sample.json, sample.release));
        const items = sample.json.Report_Items as Record<string, unknown>[];
        for (const month of split) {
          for (const item of month.report.Report_Items) {
            const identity = JSON.stringify(
              item.Title ?? item.Item ?? item.Database ?? item.Platform ?? item.Item_ID,
            );
            assert.ok(
              items.some(
                (o) =>
                  JSON.stringify(o.Title ?? o.Item ?? o.Database ?? o.Platform ?? o.Item_ID) === identity,
              ),
              `item ${identity} comes from the sample`,
            );
            assert.ok(sumUsage(item).size > 0, 'an item in a month has usage in that month');
            if (Array.isArray(item.Items)) {
              for (const child of item.Items as unknown[])
                assert.ok(sumUsage(child).size > 0, 'child has usage');
            }
          }
          const expectedTopLevel = items.filter((o) => sumUsage(o).has(month.yearMonth)).length;
          assert.equal(month.report.Report_Items.length, expectedTopLevel);
        }
      });
    });
  }
});

void describe('month splitter, header range versus data', () => {
  const tr50 = samples.find((s) => s.name === 'r50/Sample-TR.json')!;
  const tr51 = samples.find((s) => s.name === 'r51/TR_sample_r51.json')!;

  void it('R5.0: months of the header without data produce reports with empty Report_Items', async () => {
    const json = structuredClone(tr50.json) as {
      Report_Header: { Report_Filters: { Name: string; Value: string }[] };
    };
    json.Report_Header.Report_Filters.find((f) => f.Name === 'End_Date')!.Value = '2016-05-31';
    const split = await collect(await splitReportStream(chunked(JSON.stringify(json), 100), '5'));
    assert.deepEqual(
      split.map((m) => [m.yearMonth, m.report.Report_Items.length > 0]),
      [
        ['2016-01', true],
        ['2016-02', true],
        ['2016-03', true],
        ['2016-04', false],
        ['2016-05', false],
      ],
    );
    assert.deepEqual(monthRange(split[4]), ['2016-05-01', '2016-05-31']);
  });

  void it('R5.1: header dates as yyyy-MM are accepted', async () => {
    const json = structuredClone(tr51.json) as { Report_Header: { Report_Filters: Record<string, string> } };
    json.Report_Header.Report_Filters.Begin_Date = '2022-11';
    json.Report_Header.Report_Filters.End_Date = '2022-12';
    const result = await splitReport(json, '5.1');
    assert.equal(result.kind, 'report');
    if (result.kind !== 'report') return;
    assert.deepEqual(result.yearMonths, ['2022-11', '2022-12']);
    assert.deepEqual(result.findings, [
      {
        code: 'usage_outside_header_period',
        count: 1,
        example: expectedMonths('2022-01-01', '2022-10-31').join(','),
      },
    ]);
    const split = await collect(result);
    assert.deepEqual(monthRange(split[1]), ['2022-12-01', '2022-12-31']);
    assert.deepEqual(
      monthSums(sumUsage(split[1].report), '2022-12'),
      monthSums(sumUsage(tr51.json), '2022-12'),
    );
  });

  void it('without header dates, the months found in the data are used and the header gets dates', async () => {
    const json = structuredClone(tr51.json) as { Report_Header: { Report_Filters: Record<string, string> } };
    delete (json.Report_Header as Record<string, unknown>).Report_Filters;
    const result = await splitReport(json, '5.1');
    assert.equal(result.kind, 'report');
    if (result.kind !== 'report') return;
    assert.deepEqual(result.yearMonths, expectedMonths('2022-01-01', '2022-12-31'));
    assert.deepEqual(
      result.findings.map((f) => f.code),
      ['header_dates_missing'],
    );
    const [first] = await collect(result);
    assert.deepEqual(first.report.Report_Header.Report_Filters, {
      Begin_Date: '2022-01-01',
      End_Date: '2022-01-31',
    });
  });

  void it('R5.1 IR: nested Items are filtered per month and parents without usage in a month are dropped', async () => {
    const ir = {
      Report_Header: {
        Release: '5.1',
        Report_ID: 'IR',
        Report_Filters: { Begin_Date: '2024-01-01', End_Date: '2024-03-31' },
      },
      Report_Items: [
        {
          Title: 'P1',
          Item_ID: { DOI: '10.1/p1' },
          Items: [
            {
              Item: 'A',
              Attribute_Performance: [
                {
                  Data_Type: 'Article',
                  Performance: { Total_Item_Requests: { '2024-01': 1, '2024-02': 2 } },
                },
              ],
            },
            {
              Item: 'B',
              Attribute_Performance: [
                { Data_Type: 'Article', Performance: { Total_Item_Requests: { '2024-02': 5 } } },
              ],
            },
          ],
        },
        {
          Items: [
            {
              Item: 'C',
              Attribute_Performance: [{ Performance: { Unique_Item_Requests: { '2024-01': 3 } } }],
            },
          ],
        },
      ],
    };
    const split = await collect(await splitReportStream(chunked(JSON.stringify(ir), 5), '5.1'));
    const shape = split.map((m) => [
      m.yearMonth,
      m.report.Report_Items.map((p) => [p.Title ?? null, (p.Items as { Item: string }[]).map((i) => i.Item)]),
    ]);
    assert.deepEqual(shape, [
      [
        '2024-01',
        [
          ['P1', ['A']],
          [null, ['C']],
        ],
      ],
      ['2024-02', [['P1', ['A', 'B']]]],
      ['2024-03', []],
    ]);
    const febA = (split[1].report.Report_Items[0].Items as Record<string, unknown>[])[0];
    assert.deepEqual(febA.Attribute_Performance, [
      { Data_Type: 'Article', Performance: { Total_Item_Requests: { '2024-02': 2 } } },
    ]);
  });

  void it('R5.1 5.1.0.1 Components inside Attribute_Performance and R5.0 Item_Component are filtered per month', async () => {
    const r51 = {
      Report_Header: { Report_Filters: { Begin_Date: '2024-01-01', End_Date: '2024-02-29' } },
      Report_Items: [
        {
          Items: [
            {
              Item: 'X',
              Attribute_Performance: [
                {
                  Performance: { Total_Item_Requests: { '2024-01': 1 } },
                  Components: [
                    {
                      Item: 'C1',
                      Attribute_Performance: [{ Performance: { Total_Item_Requests: { '2024-02': 4 } } }],
                    },
                  ],
                },
              ],
            },
          ],
        },
      ],
    };
    const split51 = await collect(await splitReport(r51, '5.1'));
    assert.deepEqual(monthSums(sumUsage(split51[0].report), '2024-01'), { Total_Item_Requests: 1 });
    assert.deepEqual(monthSums(sumUsage(split51[1].report), '2024-02'), { Total_Item_Requests: 4 });
    const febEntry = (
      (split51[1].report.Report_Items[0].Items as Record<string, unknown>[])[0]
        .Attribute_Performance as Record<string, unknown>[]
    )[0];
    assert.equal(febEntry.Performance, undefined, 'no metrics of its own in February');

    const period = (m: string, last: string) => ({ Begin_Date: `${m}-01`, End_Date: `${m}-${last}` });
    const r50 = {
      Report_Header: {
        Report_Filters: [
          { Name: 'Begin_Date', Value: '2016-01-01' },
          { Name: 'End_Date', Value: '2016-02-29' },
        ],
      },
      Report_Items: [
        {
          Item: 'Y',
          Performance: [
            { Period: period('2016-01', '31'), Instance: [{ Metric_Type: 'Total_Item_Requests', Count: 2 }] },
          ],
          Item_Component: [
            {
              Item_Name: 'c',
              Performance: [
                {
                  Period: period('2016-02', '29'),
                  Instance: [{ Metric_Type: 'Total_Item_Requests', Count: 7 }],
                },
              ],
            },
          ],
        },
      ],
    };
    const split50 = await collect(await splitReport(r50, '5'));
    assert.equal(split50[0].report.Report_Items[0].Item_Component, undefined);
    assert.deepEqual(monthSums(sumUsage(split50[1].report), '2016-02'), { Total_Item_Requests: 7 });
    assert.deepEqual(split50[1].report.Report_Items[0].Performance, []);
  });

  void it('keeps header exceptions in the result and in every month (FOLIO stored form)', async () => {
    const body = {
      Report_Header: {
        Report_ID: 'pr',
        Release: '5',
        Report_Filters: [
          { Name: 'Begin_Date', Value: '2024-01-01' },
          { Name: 'End_Date', Value: '2024-02-29' },
        ],
        Exceptions: [{ Code: 3030, Severity: 'Error', Message: 'No Usage Available for Requested Dates' }],
      },
      Report_Items: [],
    };
    const result = await splitReportStream(chunked(JSON.stringify(body), 3), '5');
    assert.equal(result.kind, 'report');
    if (result.kind !== 'report') return;
    assert.equal(result.reportId, 'PR');
    assert.deepEqual(
      result.exceptions.map((e) => e.code),
      [3030],
    );
    const split = await collect(result);
    assert.deepEqual(
      split.map((m) => m.report.Report_Items.length),
      [0, 0],
    );
    assert.deepEqual(split[1].report.Report_Header.Exceptions, body.Report_Header.Exceptions);
  });

  void it('flags a release mismatch and totals granularity as findings', async () => {
    const body = structuredClone(tr51.json) as { Report_Header: Record<string, unknown> };
    (body.Report_Header.Report_Attributes as Record<string, unknown>).Granularity = 'Totals';
    const result = await splitReport(body, '5');
    assert.equal(result.kind, 'report');
    if (result.kind !== 'report') return;
    assert.equal(result.granularity, 'totals');
    assert.deepEqual(result.findings.map((f) => f.code).sort(), ['release_mismatch', 'totals_granularity']);
    await result.dispose();
  });

  void it('handles multi-byte UTF-8 split across chunks and a leading BOM', async () => {
    const body = {
      Report_Header: { Report_Filters: { Begin_Date: '2024-01-01', End_Date: '2024-01-31' } },
      Report_Items: [
        {
          Title: 'Über Ærø — 日本語',
          Attribute_Performance: [{ Performance: { Total_Item_Requests: { '2024-01': 1 } } }],
        },
      ],
    };
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(body))]);
    const split = await collect(await splitReportStream(chunked(bytes, 1), '5.1'));
    assert.equal(split[0].report.Report_Items[0].Title, 'Über Ærø — 日本語');
  });
});

void describe('month splitter, tolerant key spellings', () => {
  void it('lower-case report_header/report_items and items are read (not streamed) with the same result', async () => {
    const sample = samples.find((s) => s.name === 'r51/IR_sample_r51.json')!;
    const text = sample.text
      .replace('"Report_Header"', '"report_header"')
      .replace('"Report_Items"', '"report_items"')
      .replace(/"Items"/g, '"items"');
    const result = await splitReportStream(chunked(text, 500), '5.1');
    const split = await collect(result);
    assert.equal(split.length, 12);
    const original = sumUsage(sample.json);
    for (const month of split) {
      assert.deepEqual(
        monthSums(sumUsage(month.report), month.yearMonth),
        monthSums(original, month.yearMonth),
      );
      assert.ok(month.report.Report_Items.every((p) => Array.isArray(p.items) && p.Items === undefined));
    }
  });

  void it('a Report_Items object instead of an array is a finding, not items', async () => {
    const body =
      '{"Report_Header":{"Report_Filters":{"Begin_Date":"2024-01","End_Date":"2024-01"}},"Report_Items":{"a":{"Attribute_Performance":[]}}}';
    const result = await splitReportStream(chunked(body, 4), '5.1');
    assert.equal(result.kind, 'report');
    if (result.kind !== 'report') return;
    assert.deepEqual(result.findings, [{ code: 'report_items_not_array', count: 1, example: 'object' }]);
    const [month] = await collect(result);
    assert.deepEqual(month.report.Report_Items, []);
  });
});

void describe('month splitter, JSON text output', () => {
  for (const sample of samples) {
    void it(`${sample.name}: monthsAsJson() is the JSON text of months()`, async () => {
      const objects = await collect(await splitReportStream(chunked(sample.text, 4096), sample.release));
      const result = await splitReportStream(chunked(sample.text, 4096), sample.release);
      assert.equal(result.kind, 'report');
      if (result.kind !== 'report') return;
      const texts = [];
      for await (const month of result.monthsAsJson()) texts.push(month);
      assert.deepEqual(
        texts.map((t) => [t.yearMonth, t.itemCount, t.json]),
        objects.map((o) => [o.yearMonth, o.itemCount, JSON.stringify(o.report)]),
      );
    });
  }

  void it('parent metadata and children with "$&" and sentinel-like text survive splicing', async () => {
    const body = {
      Report_Header: { Report_Filters: { Begin_Date: '2024-01-01', End_Date: '2024-01-31' } },
      Report_Items: [
        {
          Title: 'P $& $1 $$',
          Items: [
            {
              Item: 'A $& "quoted"',
              Attribute_Performance: [{ Performance: { Total_Item_Requests: { '2024-01': 1 } } }],
            },
          ],
        },
      ],
    };
    const result = await splitReportStream(chunked(JSON.stringify(body), 3), '5.1');
    const [month] = await collect(result);
    assert.deepEqual(month.report.Report_Items, body.Report_Items);
  });
});
