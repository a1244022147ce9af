import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { splitReportStream, splitReport, type SplitResult } from '../../src/counter/index.ts';
import { chunked, loadSamples } from '../helpers/counter.ts';

const sample = loadSamples().find((s) => s.name === 'r51/TR_sample_r51.json')!;

function summary(result: SplitResult): string {
  if (result.kind === 'invalid') return `invalid:${result.code}`;
  if (result.kind === 'exception') return `exception:${result.exceptions.map((e) => e.code).join(',')}`;
  return `report:${result.yearMonths.length}`;
}

async function splitText(text: string, chunkSize = 16): Promise<SplitResult> {
  const result = await splitReportStream(chunked(text, chunkSize), '5.1');
  if (result.kind === 'report') await result.dispose();
  return result;
}

void describe('month splitter never throws on garbage', () => {
  const cases: [string, string, string][] = [
    ['empty body', '', 'invalid:empty_body'],
    ['whitespace only', ' \n\t ', 'invalid:empty_body'],
    ['BOM only', '\uFEFF', 'invalid:empty_body'],
    ['null', 'null', 'invalid:null_body'],
    ['null with whitespace', '  null\n', 'invalid:null_body'],
    ['HTML page', '<!DOCTYPE html><html><body>Login</body></html>', 'invalid:non_json'],
    ['plain text', 'HTTP Error 400: Bad request', 'invalid:non_json'],
    [
      'truncated JSON object',
      '{"Report_Header": {"Report_ID": "TR"}, "Report_Items": [{"Title": "x"',
      'invalid:invalid_json',
    ],
    ['truncated JSON array', '[{"Code": 1011', 'invalid:invalid_json'],
    ['object with trailing garbage', '{"Report_Header": {}} trailing', 'invalid:invalid_json'],
    ['a number', '42', 'invalid:not_a_report'],
    ['an array of numbers', '[1,2,3]', 'invalid:not_a_report'],
    [
      'a report list instead of a report',
      '[{"Report_Name":"Title Report","Report_ID":"TR","Release":"5.1"}]',
      'invalid:not_a_report',
    ],
    ['a JSON string that is not JSON inside', '"Service unavailable"', 'invalid:not_a_report'],
    ['an object without header', '{"foo": [1,2,3]}', 'invalid:missing_report_header'],
    ['Report_Header null', '{"Report_Header": null, "Report_Items": []}', 'invalid:missing_report_header'],
    [
      'a naked exception',
      '{"Code": 1011, "Severity": "Info", "Message": "Report Queued for Processing"}',
      'exception:1011',
    ],
    ['a naked exception, lower case', '{"code": "2020", "message": "APIKey Invalid"}', 'exception:2020'],
    [
      'an array of exceptions',
      '[{"Code": 1011, "Message": "Queued"}, {"Code": 3060, "Message": "x"}]',
      'exception:1011,3060',
    ],
    [
      'a stringified exception',
      JSON.stringify(JSON.stringify({ Code: 2010, Message: 'Not authorized' })),
      'exception:2010',
    ],
    [
      'root Exceptions without a header',
      '{"Exceptions": [{"Code": 3030, "Message": "No Usage"}]}',
      'exception:3030',
    ],
    [
      'a report with Report_Items null',
      '{"Report_Header": {"Report_Filters": {"Begin_Date": "2024-01-01", "End_Date": "2024-02-29"}}, "Report_Items": null}',
      'report:2',
    ],
    [
      'a report without Report_Items',
      '{"Report_Header": {"Report_Filters": {"Begin_Date": "2024-01", "End_Date": "2024-01"}}}',
      'report:1',
    ],
    ['a stringified report', JSON.stringify(sample.text), 'report:12'],
    ['a wrapped report', JSON.stringify({ body: sample.json, response: { status: 200 } }), 'report:12'],
  ];
  for (const [name, body, expected] of cases) {
    void it(name, async () => {
      assert.equal(summary(await splitText(body)), expected);
      assert.equal(summary(await splitText(body, 1)), expected, 'byte by byte');
    });
  }

  void it('truncated at every 500th byte of a real report: invalid_json with an excerpt', async () => {
    for (let cut = 1; cut < sample.text.length - 2; cut += 500) {
      const result = await splitText(sample.text.slice(0, cut), 64);
      assert.equal(summary(result), 'invalid:invalid_json', `cut at ${cut}`);
      if (result.kind === 'invalid') assert.ok(result.excerpt?.startsWith('{'));
    }
  });

  void it('a body that errors while being read is a read_error', async () => {
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('{"Report_Header": {');
      throw new Error('socket hang up');
    }
    const result = await splitReportStream(failing(), '5');
    assert.deepEqual(result, {
      kind: 'invalid',
      code: 'read_error',
      message: 'Error reading response: Error: socket hang up',
    });
  });

  void it('a body above maxBytes is too_large', async () => {
    const result = await splitReportStream(chunked(sample.text, 1000), '5.1', { maxBytes: 5000 });
    assert.equal(summary(result), 'invalid:too_large');
    const buffered = await splitReportStream(chunked(`[${'1,'.repeat(5000)}1]`, 1000), '5.1', {
      maxBufferedBytes: 2000,
    });
    assert.equal(summary(buffered), 'invalid:too_large');
  });

  void it('splitReport accepts garbage values too', async () => {
    assert.equal(summary(await splitReport(null, '5')), 'invalid:null_body');
    assert.equal(summary(await splitReport(undefined, '5')), 'invalid:null_body');
    assert.equal(summary(await splitReport([], '5')), 'invalid:not_a_report');
    assert.equal(summary(await splitReport('<html>', '5')), 'invalid:not_a_report');
    assert.equal(summary(await splitReport({ Code: 1020, Message: 'Too many' }, '5')), 'exception:1020');
  });

  void it('odd items are skipped with findings instead of failing the report', async () => {
    const body = {
      Report_Header: { Report_Filters: { Begin_Date: '2024-01-01', End_Date: '2024-01-31' } },
      Report_Items: [
        null,
        'x',
        { Title: 'no usage' },
        {
          Title: 'bad key',
          Attribute_Performance: [{ Performance: { Total_Item_Requests: { Total: 3, '2024-01': 1 } } }],
        },
        { Title: 'bad period', Performance: [{ Period: null, Instance: [] }] },
      ],
    };
    const result = await splitReportStream(chunked(JSON.stringify(body), 9), '5.1');
    assert.equal(result.kind, 'report');
    if (result.kind !== 'report') return;
    assert.deepEqual(result.findings.map((f) => `${f.code}:${f.count}`).sort(), [
      'invalid_month_key:1',
      'invalid_period:1',
      'item_without_usage:2',
      'non_object_item:2',
    ]);
    const months = [];
    for await (const month of result.months()) months.push(month);
    assert.deepEqual(
      months[0].report.Report_Items.map((i) => i.Title),
      ['bad key'],
    );
  });
});
