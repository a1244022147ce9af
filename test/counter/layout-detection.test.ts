/**
 * The layout of the data, not the configured release, decides how items are read: every official
 * sample, and variants of them in the spellings and shapes providers really send, split under either
 * configured release gives months whose item counts and metric totals equal the document's own sums,
 * and names the release the data is in. Data that cannot be read in any layout is a failure that says
 * so, never a month stored without usage.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  splitReport,
  splitReportStream,
  type CounterRelease,
  type SplitReport,
  type SplitResult,
} from '../../src/counter/index.ts';
import { chunked, header50, loadSamples, monthSums, sumUsage, type Sample } from '../helpers/counter.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const samples = loadSamples();
const RELEASES: CounterRelease[] = ['5', '5.1'];

function mapKeys(value: Json, rename: (key: string) => string): Json {
  if (Array.isArray(value)) return value.map((v) => mapKeys(v, rename));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [rename(k), mapKeys(v, rename)]));
}

const isMonthKey = (key: string): boolean => /^\d{4}-\d{2}/.test(key);

/** `Report_Items` → `reportItems`, `Metric_Type` → `metricType`; month keys stay. */
function camel(key: string): string {
  if (isMonthKey(key)) return key;
  return key
    .split('_')
    .map((part, i) => (i === 0 ? part.toLowerCase() : part[0].toUpperCase() + part.slice(1).toLowerCase()))
    .join('');
}

const lower = (key: string): string => (isMonthKey(key) ? key : key.toLowerCase());

async function report(result: SplitResult): Promise<SplitReport> {
  assert.equal(result.kind, 'report', JSON.stringify(result).slice(0, 500));
  return result;
}

/**
 * The rule: for every month the split yields, the month's item count is positive exactly when the
 * document has usage in it, and its totals equal the document's sums.
 */
async function assertUsageKept(result: SplitReport, original: Json, label: string): Promise<void> {
  const sums = sumUsage(original);
  let months = 0;
  for await (const month of result.monthStreams()) {
    const expected = monthSums(sums, month.yearMonth);
    const hasUsage = Object.keys(expected).length > 0;
    assert.equal(month.itemCount > 0, hasUsage, `${label} ${month.yearMonth}: itemCount ${month.itemCount}`);
    assert.deepEqual(sorted(month.totals), expected, `${label} ${month.yearMonth}: totals`);
    let items = 0;
    for await (const _ of month.items()) items += 1;
    assert.equal(items, month.itemCount, `${label} ${month.yearMonth}: items streamed`);
    months += 1;
  }
  assert.ok(months > 0, `${label}: no months`);
}

function sorted(totals: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(totals).sort(([a], [b]) => a.localeCompare(b)));
}

const VARIANTS: [string, (doc: Json) => Json][] = [
  ['as published', (doc) => doc],
  ['camelCase keys', (doc) => mapKeys(doc, camel)],
  ['lower-case keys', (doc) => mapKeys(doc, lower)],
];

void describe('layout detection: the 32 official samples under both configured releases', () => {
  for (const sample of samples)
    for (const [variant, transform] of VARIANTS)
      for (const configured of RELEASES)
        void it(`${sample.name}, ${variant}, configured ${configured}`, async () => {
          const doc = transform(sample.json as Json);
          const result = await report(await splitReportStream(chunked(JSON.stringify(doc), 997), configured));
          assert.equal(result.detectedRelease, sample.release);
          assert.equal(result.releaseDiffers, configured !== sample.release);
          assert.equal(
            result.diagnostics.some((d) => d.code === 'release_differs'),
            configured !== sample.release,
          );
          assert.equal(result.layouts.unreadable, 0);
          await assertUsageKept(result, sample.json as Json, `${sample.name} ${variant}`);
        });
});

function sample(name: string): Sample {
  return samples.find((s) => s.name === name)!;
}

type Item = { [key: string]: Json };

const tr50 = sample('r50/Sample-TR_J1.json').json as { Report_Header: Json; Report_Items: Item[] };
const tr51 = sample('r51/TRJ1_sample_r51.json').json as { Report_Header: Json; Report_Items: Item[] };

/** The 5.0 sample with each item's `Performance` entries rewritten. */
function tr50WithPeriods(rewrite: (entry: Item) => Item): Json {
  return {
    ...tr50,
    Report_Items: tr50.Report_Items.map((item) => ({
      ...item,
      Performance: (item.Performance as Item[]).map(rewrite),
    })),
  };
}

/** Provider shapes seen in the wild, built from the official TR_J1 samples. */
const SHAPES: [string, CounterRelease, Json][] = [
  [
    '5.0 with Period {Begin, End}',
    '5',
    tr50WithPeriods((p) => ({
      Period: { Begin: (p.Period as Item).Begin_Date, End: (p.Period as Item).End_Date },
      Instance: p.Instance,
    })),
  ],
  [
    'R4-style JSON (ItemName, ItemPerformance, MetricType)',
    '5',
    {
      ...tr50,
      Report_Items: tr50.Report_Items.map((item) => ({
        ItemName: item.Title,
        ItemPlatform: item.Platform,
        ItemPerformance: (item.Performance as Item[]).map((p) => ({
          Period: { Begin: (p.Period as Item).Begin_Date, End: (p.Period as Item).End_Date },
          Category: 'Requests',
          Instance: (p.Instance as Item[]).map((i) => ({ MetricType: i.Metric_Type, Count: i.Count })),
        })),
      })),
    },
  ],
  [
    '5.0 items that also carry an empty Attribute_Performance',
    '5',
    { ...tr50, Report_Items: tr50.Report_Items.map((item) => ({ ...item, Attribute_Performance: [] })) },
  ],
  [
    '5.0 items that also carry Attribute_Performance: null',
    '5',
    { ...tr50, Report_Items: tr50.Report_Items.map((item) => ({ ...item, Attribute_Performance: null })) },
  ],
  [
    '5.0 with counts as strings',
    '5',
    tr50WithPeriods((p) => ({
      ...p,
      Instance: (p.Instance as Item[]).map((i) => ({ ...i, Count: String(i.Count as number) })),
    })),
  ],
  [
    '5.0 under ReportHeader/ReportItems',
    '5',
    { ReportHeader: tr50.Report_Header, ReportItems: tr50.Report_Items },
  ],
  [
    '5.1 with Performance directly on the item (no Attribute_Performance)',
    '5.1',
    {
      ...tr51,
      Report_Items: tr51.Report_Items.map(({ Attribute_Performance, ...rest }) => ({
        ...rest,
        Performance: (Attribute_Performance as Item[])[0].Performance,
      })),
    },
  ],
  [
    '5.1 under report_header/report_items with camelCase items',
    '5.1',
    { report_header: tr51.Report_Header, report_items: mapKeys(tr51.Report_Items, camel) },
  ],
];

void describe('layout detection: provider shapes', () => {
  for (const [name, release, doc] of SHAPES)
    for (const configured of RELEASES)
      for (const streamed of [true, false])
        void it(`${name}, configured ${configured}, ${streamed ? 'streamed' : 'parsed'}`, async () => {
          const result = await report(
            streamed
              ? await splitReportStream(chunked(JSON.stringify(doc), 331), configured)
              : await splitReport(doc, configured),
          );
          assert.equal(result.detectedRelease, release);
          assert.equal(result.releaseDiffers, configured !== release);
          // The oracle reads only official spellings and numbers: compare with the unmodified sample.
          await assertUsageKept(result, release === '5' ? tr50 : tr51, name);
        });
});

const HEADER = header50('TR_J1', '2024-01-01', '2024-02-29');

async function unreadable(items: Json[], configured: CounterRelease): Promise<string> {
  const result = await splitReportStream(
    chunked(JSON.stringify({ Report_Header: HEADER, Report_Items: items }), 64),
    configured,
  );
  assert.equal(result.kind, 'invalid', JSON.stringify(result).slice(0, 300));
  if (result.kind !== 'invalid') return '';
  assert.equal(result.code, 'unreadable_items');
  return result.message;
}

void describe('layout detection: data that cannot be read is a failure, never an empty month', () => {
  void it('items in an unknown layout: the reason names the configured release and the members', async () => {
    const message = await unreadable(
      [
        { Title: 'A', Usage: [{ Month: '2024-01', Requests: 5 }] },
        { Title: 'B', Usage: [] },
      ],
      '5.1',
    );
    assert.match(
      message,
      /^configured release 5\.1 \(the header says "5"\), but the items use neither layout: /,
    );
    assert.match(message, /item 0 has members Title, Usage/);
    assert.match(message, /Period and Instance \(5\.0\).*Attribute_Performance.*\(5\.1\)/);
  });

  void it('periods without a readable begin date: the reason shows the period', async () => {
    const message = await unreadable(
      [
        {
          Title: 'A',
          Performance: [
            { Period: { From: '2024-01-01' }, Instance: [{ Metric_Type: 'Total_Item_Requests', Count: 3 }] },
          ],
        },
      ],
      '5',
    );
    assert.match(message, /configured release 5 /);
    assert.match(message, /invalid_period \{"From":"2024-01-01"\}/);
  });

  void it('month keys that are not months (Jan-2024)', async () => {
    const message = await unreadable(
      [{ Title: 'A', Attribute_Performance: [{ Performance: { Total_Item_Requests: { 'Jan-2024': 3 } } }] }],
      '5.1',
    );
    assert.match(message, /invalid_month_key Jan-2024/);
  });

  void it('instances without Metric_Type/Count names', async () => {
    const message = await unreadable(
      [
        {
          Title: 'A',
          Performance: [
            {
              Period: { Begin_Date: '2024-01-01', End_Date: '2024-01-31' },
              Instance: [{ Metric: 'x', Value: 3 }],
            },
          ],
        },
      ],
      '5',
    );
    assert.match(message, /neither layout/);
  });

  void it('one unreadable item among readable ones: the report is kept, the item is a diagnostic', async () => {
    const items: Json[] = [
      { Title: 'A', Usage: 5 },
      {
        Title: 'B',
        Item_ID: [{ Type: 'Proprietary', Value: 'x:b' }],
        Performance: [
          {
            Period: { Begin_Date: '2024-01-01', End_Date: '2024-01-31' },
            Instance: [{ Metric_Type: 'Total_Item_Requests', Count: 3 }],
          },
        ],
      },
    ];
    const result = await report(await splitReport({ Report_Header: HEADER, Report_Items: items }, '5.1'));
    assert.deepEqual(result.layouts, { '5': 1, '5.1': 0, empty: 0, unreadable: 1 });
    const [january] = await months(result);
    assert.equal(january.itemCount, 1);
    assert.deepEqual(january.totals, { Total_Item_Requests: 3 });
    const diagnostic = result.diagnostics.find((d) => d.code === 'item_unreadable');
    assert.equal(diagnostic?.item, 0);
    assert.match(diagnostic?.message ?? '', /members: Title, Usage/);
  });

  void it('items that are empty objects or have empty usage lists are an empty report, not a failure', async () => {
    const result = await report(
      await splitReport({ Report_Header: HEADER, Report_Items: [{}, { Title: 'A', Performance: [] }] }, '5'),
    );
    assert.deepEqual(result.layouts, { '5': 1, '5.1': 0, empty: 2, unreadable: 0 });
    for (const month of await months(result)) assert.equal(month.itemCount, 0);
  });
});

async function months(result: SplitReport) {
  const list = [];
  for await (const month of result.months()) list.push(month);
  return list;
}
