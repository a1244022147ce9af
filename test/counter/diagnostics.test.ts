/**
 * Diagnostics: each schema and Code of Practice check fires on a report crafted to break it, none
 * fires on the 32 official samples, they never stop a month from being produced, repeats are counted
 * under one code with a capped number of examples, and `validate: false` turns them off.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  splitReport,
  splitReportStream,
  type Diagnostic,
  type DiagnosticCode,
  type SplitOptions,
  type SplitReport,
} from '../../src/counter/index.ts';
import { chunked, header50, headerRange, loadSamples } from '../helpers/counter.ts';

type Json = Record<string, unknown>;

async function split(body: unknown, release: '5' | '5.1', options: SplitOptions = {}): Promise<SplitReport> {
  const result = await splitReportStream(chunked(JSON.stringify(body), 211), release, options);
  assert.equal(result.kind, 'report', JSON.stringify(result).slice(0, 300));
  return result;
}

/** Every diagnostic of every month yielded, by code (report-wide ones once per month). */
async function monthDiagnostics(result: SplitReport): Promise<Map<DiagnosticCode, Diagnostic[]>> {
  const byCode = new Map<DiagnosticCode, Diagnostic[]>();
  let months = 0;
  for await (const month of result.monthStreams()) {
    months += 1;
    for (const d of month.diagnostics) byCode.set(d.code, [...(byCode.get(d.code) ?? []), d]);
  }
  assert.ok(months > 0, 'the report still yields its months');
  return byCode;
}

const SAMPLES = loadSamples();
const TRJ1_HEADER = SAMPLES.find((s) => s.name === 'r51/TRJ1_sample_r51.json')!.json.Report_Header as {
  Report_Filters: Json;
};

/** The official TR_J1 header (valid against the schema) for other dates. */
function header51(begin: string, end: string): Json {
  return {
    ...TRJ1_HEADER,
    Report_Filters: { ...TRJ1_HEADER.Report_Filters, Begin_Date: begin, End_Date: end },
  };
}

const HEADER_51 = header51('2024-01-01', '2024-01-31');

function item51(performance: Json, extra: Json = {}, attributes: Json = {}): Json {
  return {
    Title: 'Journal A',
    Publisher: 'Publisher A',
    Platform: 'Platform A',
    Item_ID: { Proprietary: 'pa:1' },
    Attribute_Performance: [{ ...attributes, Performance: performance }],
    ...extra,
  };
}

const OK_51 = { Total_Item_Requests: { '2024-01': 5 }, Unique_Item_Requests: { '2024-01': 4 } };

const HEADER_50 = {
  ...header50('TR', '2024-01-01', '2024-01-31'),
  Report_Name: 'Title Master Report',
  Created: '2024-03-01T00:00:00Z',
  Created_By: 'Test',
  Institution_Name: 'Test Institution',
};

function item50(instances: Json[], extra: Json = {}): Json {
  return {
    Title: 'Book A',
    Item_ID: [{ Type: 'ISBN', Value: '978-1-111111-01-1' }],
    Platform: 'Platform A',
    Publisher: 'Publisher A',
    Data_Type: 'Book',
    YOP: '2019',
    Access_Type: 'Controlled',
    Access_Method: 'Regular',
    Performance: [{ Period: { Begin_Date: '2024-01-01', End_Date: '2024-01-31' }, Instance: instances }],
    ...extra,
  };
}

const CASES: {
  name: string;
  code: DiagnosticCode;
  release: '5' | '5.1';
  body: Json;
  options?: SplitOptions;
  message: RegExp;
}[] = [
  {
    name: 'a header Report_ID other than the requested report',
    code: 'report_id_mismatch',
    release: '5.1',
    body: { Report_Header: HEADER_51, Report_Items: [item51(OK_51)] },
    options: { reportId: 'TR' },
    message: /Report_ID "TR_J1" in the header, but TR was requested/,
  },
  {
    name: 'a metric the report does not have (Total_Item_Investigations in TR_J1)',
    code: 'metric_not_allowed',
    release: '5.1',
    body: {
      Report_Header: HEADER_51,
      Report_Items: [item51({ ...OK_51, Total_Item_Investigations: { '2024-01': 9 } })],
    },
    message: /Total_Item_Investigations is not a metric of TR_J1 in release 5\.1/,
  },
  {
    name: 'a 5.0 metric outside the report (Searches_Platform in TR)',
    code: 'metric_not_allowed',
    release: '5',
    body: {
      Report_Header: HEADER_50,
      Report_Items: [item50([{ Metric_Type: 'Searches_Platform', Count: 3 }])],
    },
    message: /Searches_Platform is not a metric of TR in release 5/,
  },
  {
    name: 'usage in a month that was not requested',
    code: 'usage_outside_request',
    release: '5.1',
    body: { Report_Header: HEADER_51, Report_Items: [item51(OK_51)] },
    options: { requested: { begin: '2024-02', end: '2024-03' } },
    message: /usage in 2024-01, outside the requested 2024-02..2024-03/,
  },
  {
    name: 'a 5.1 YOP that is not four digits',
    code: 'yop_invalid',
    release: '5.1',
    body: { Report_Header: HEADER_51, Report_Items: [item51(OK_51, {}, { YOP: '20XX' })] },
    message: /YOP "20XX" is not four digits/,
  },
  {
    name: 'a 5.0 YOP that is not four digits',
    code: 'yop_invalid',
    release: '5',
    body: {
      Report_Header: HEADER_50,
      Report_Items: [item50([{ Metric_Type: 'Total_Item_Requests', Count: 3 }], { YOP: '19' })],
    },
    message: /YOP "19" is not four digits/,
  },
  {
    name: 'Unique_Item_Requests above Total_Item_Requests for one item, attribute set and month',
    code: 'unique_exceeds_total',
    release: '5.1',
    body: {
      Report_Header: HEADER_51,
      Report_Items: [
        item51({ Total_Item_Requests: { '2024-01': 3 }, Unique_Item_Requests: { '2024-01': 5 } }),
      ],
    },
    message: /Unique_Item_Requests 5 > Total_Item_Requests 3 in 2024-01/,
  },
  {
    name: 'a 5.0 row whose Unique_Item_Investigations exceed its Total_Item_Investigations',
    code: 'unique_exceeds_total',
    release: '5',
    body: {
      Report_Header: HEADER_50,
      Report_Items: [
        item50([
          { Metric_Type: 'Total_Item_Investigations', Count: 2 },
          { Metric_Type: 'Unique_Item_Investigations', Count: 4 },
        ]),
      ],
    },
    message: /Unique_Item_Investigations 4 > Total_Item_Investigations 2/,
  },
  {
    name: 'a negative count',
    code: 'negative_count',
    release: '5.1',
    body: {
      Report_Header: HEADER_51,
      Report_Items: [
        item51({ Total_Item_Requests: { '2024-01': -2 }, Unique_Item_Requests: { '2024-01': -3 } }),
      ],
    },
    message: /Total_Item_Requests in 2024-01 is -2/,
  },
  {
    name: 'a count sent as a string',
    code: 'count_as_string',
    release: '5',
    body: {
      Report_Header: HEADER_50,
      Report_Items: [item50([{ Metric_Type: 'Total_Item_Requests', Count: '116' }])],
    },
    message: /Total_Item_Requests in 2024-01 is the string "116"/,
  },
  {
    name: 'a count that is not a number',
    code: 'count_invalid',
    release: '5.1',
    body: {
      Report_Header: HEADER_51,
      Report_Items: [item51({ ...OK_51, Total_Item_Requests: { '2024-01': 'many' } })],
    },
    message: /Total_Item_Requests in 2024-01 is "many", not a count/,
  },
  {
    name: 'a title report item without identifiers',
    code: 'item_id_missing',
    release: '5.1',
    body: { Report_Header: HEADER_51, Report_Items: [item51(OK_51, { Item_ID: undefined })] },
    message: /no identifier in Item_ID/,
  },
  {
    name: 'an item against the 5.1 schema (unknown member)',
    code: 'schema_item',
    release: '5.1',
    body: { Report_Header: HEADER_51, Report_Items: [item51(OK_51, { Colour: 'blue' })] },
    message: /must NOT have unevaluated properties \(Colour\)/,
  },
  {
    name: 'an item against the 5.0 schema (Count not an integer)',
    code: 'schema_item',
    release: '5',
    body: {
      Report_Header: HEADER_50,
      Report_Items: [item50([{ Metric_Type: 'Total_Item_Requests', Count: '116' }])],
    },
    message: /^\/Performance\/0\/Instance\/0\/Count: must be integer/,
  },
  {
    name: 'the header against the schema (Institution_Name missing)',
    code: 'schema_header',
    release: '5',
    body: {
      Report_Header: { ...HEADER_50, Institution_Name: undefined },
      Report_Items: [item50([{ Metric_Type: 'Total_Item_Requests', Count: 1 }])],
    },
    message: /must have required property 'Institution_Name'/,
  },
  {
    name: 'a report in the 5.0 layout from a provider configured as 5.1',
    code: 'release_differs',
    release: '5.1',
    body: {
      Report_Header: HEADER_50,
      Report_Items: [item50([{ Metric_Type: 'Total_Item_Requests', Count: 1 }])],
    },
    message: /configured release 5\.1, but the data is in the 5 layout/,
  },
  {
    name: 'a 5.1 header over 5.0 items',
    code: 'header_release_differs',
    release: '5',
    body: {
      Report_Header: { ...HEADER_51, Report_ID: 'TR' },
      Report_Items: [item50([{ Metric_Type: 'Total_Item_Requests', Count: 1 }])],
    },
    message: /the header is in the 5\.1 layout, the items in 5/,
  },
  {
    name: 'items of both layouts in one report',
    code: 'mixed_layouts',
    release: '5.1',
    body: {
      Report_Header: HEADER_51,
      Report_Items: [item51(OK_51), item50([{ Metric_Type: 'Total_Item_Requests', Count: 1 }])],
    },
    message: /1 items in the 5\.0 layout and 1 in the 5\.1 layout/,
  },
];

void describe('diagnostics: each check fires on a report crafted to break it', () => {
  for (const c of CASES)
    void it(`${c.code}: ${c.name}`, async () => {
      const result = await split(c.body, c.release, c.options);
      const byCode = await monthDiagnostics(result);
      const found = byCode.get(c.code);
      assert.ok(found, `${c.code} not among ${[...byCode.keys()].join(', ')}`);
      const messages = found.flatMap((d) => [d.message, ...(d.examples ?? []).map((e) => e.message)]);
      assert.ok(
        messages.some((m) => c.message.test(m)),
        `${c.code}: ${JSON.stringify(messages)}`,
      );
    });

  void it('the same reports without validation carry no check diagnostics, only layout facts and findings', async () => {
    const kept = new Set<DiagnosticCode>(['release_differs', 'release_mismatch']);
    for (const c of CASES) {
      const result = await split(c.body, c.release, { ...c.options, validate: false });
      const codes = [...(await monthDiagnostics(result)).keys()];
      assert.deepEqual(
        codes.filter((code) => !kept.has(code)),
        [],
        c.name,
      );
    }
  });

  void it('an item-level diagnostic names the item index and goes to the months the item has usage in', async () => {
    const body = {
      Report_Header: header51('2024-01-01', '2024-02-29'),
      Report_Items: [
        item51(OK_51),
        item51(
          { Total_Item_Requests: { '2024-02': 1 }, Unique_Item_Requests: { '2024-02': 1 } },
          {},
          { YOP: 'x' },
        ),
      ],
    };
    const result = await split(body, '5.1');
    const months = [];
    for await (const { yearMonth, diagnostics } of result.monthStreams())
      months.push({ yearMonth, diagnostics });
    assert.deepEqual(months[0].diagnostics, []);
    // TR_J1 shows no YOP at all, so the schema objects to the member and the rule to its value.
    assert.deepEqual(months[1].diagnostics, [
      {
        code: 'schema_item',
        message: '/Attribute_Performance/0: must NOT have additional properties (YOP)',
        item: 1,
        path: '/Attribute_Performance/0',
        count: 1,
      },
      { code: 'yop_invalid', message: 'YOP "x" is not four digits (yyyy)', item: 1, count: 1 },
    ]);
  });
});

void describe('diagnostics: counting and the cap on examples', () => {
  const items = Array.from({ length: 40 }, (_, i) =>
    item51({ Total_Item_Requests: { '2024-01': 1 }, Unique_Item_Requests: { '2024-01': 2 + i } }),
  );
  const body = { Report_Header: HEADER_51, Report_Items: items };

  void it('one diagnostic per code with the count of all occurrences and at most maxExamples details', async () => {
    const result = await split(body, '5.1', { maxExamples: 3 });
    const [january] = (await monthDiagnostics(result)).get('unique_exceeds_total')!;
    assert.equal(january.count, 40);
    assert.equal(january.item, 0);
    assert.equal(january.message, 'Unique_Item_Requests 2 > Total_Item_Requests 1 in 2024-01');
    assert.deepEqual(
      january.examples?.map((e) => e.item),
      [1, 2],
    );
  });

  void it('the default cap is 5', async () => {
    const result = await split(body, '5.1');
    const [january] = (await monthDiagnostics(result)).get('unique_exceeds_total')!;
    assert.equal(1 + (january.examples?.length ?? 0), 5);
  });
});

void describe('diagnostics on the official samples', () => {
  for (const sample of SAMPLES)
    void it(`${sample.name}: no diagnostic at all (schema of its release, Code of Practice checks)`, async () => {
      const [begin, end] = headerRange(sample.json);
      const reportId = (sample.json.Report_Header as { Report_ID: string }).Report_ID;
      const result = await splitReport(sample.json, sample.release, { reportId, requested: { begin, end } });
      assert.equal(result.kind, 'report');
      if (result.kind !== 'report') return;
      assert.deepEqual(result.diagnostics, []);
      assert.deepEqual([...(await monthDiagnostics(result)).values()].flat(), []);
    });
});
