/**
 * A month's stored item texts are JSON.stringify's text of the month's copy of each item, whatever the
 * provider's formatting: the splitter keeps an item's source text only when that is the same text
 * (month-splitter.ts, `isStringifyText`), so the stored months and their content hashes (the
 * restatement check) do not depend on white space, escapes or number spellings in the response.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { splitReportStream } from '../../src/counter/index.ts';
import { chunked } from '../helpers/counter.ts';

const HEADER = {
  Report_Name: 'Title Report',
  Report_ID: 'TR',
  Release: '5.1',
  Institution_Name: 'Test',
  Report_Filters: { Begin_Date: '2023-01-01', End_Date: '2023-02-28' },
};

const performance = '"Performance":{"Total_Item_Requests":{"2023-01":5}}';

/** Item texts (compact or not) whose month copy is, or is not, their own text. */
const ITEMS: [string, string][] = [
  ['compact', `{"Title":"a","Attribute_Performance":[{${performance}}]}`],
  ['white space', `{ "Title": "a",\n "Attribute_Performance": [ {${performance}} ] }`],
  ['escapes', `{"Title":"a\\u0041\\/b\\"c","Attribute_Performance":[{${performance}}]}`],
  [
    'fraction, exponent, -0',
    `{"Title":"a","X":1.0,"Y":1e2,"Z":-0,"Attribute_Performance":[{${performance}}]}`,
  ],
  [
    'an integer beyond 2^53',
    `{"Title":"a","W":12345678901234567890,"Attribute_Performance":[{${performance}}]}`,
  ],
  ['a repeated key', `{"Title":"a","Title":"b","Attribute_Performance":[{${performance}}]}`],
  ['an index-like key', `{"b":1,"1":2,"Attribute_Performance":[{${performance}}]}`],
  [
    'literals and negatives',
    `{"Title":"a","T":true,"F":false,"N":null,"V":-5,"Attribute_Performance":[{${performance}}]}`,
  ],
  ['non-ASCII', `{"Title":"é ü 中","Attribute_Performance":[{${performance}}]}`],
  [
    'an empty metric',
    `{"Title":"a","Attribute_Performance":[{${performance}},{"Performance":{"Total_Item_Requests":{}}}]}`,
  ],
  ['an attribute set without usage', `{"Title":"a","Attribute_Performance":[{${performance}},{"X":1}]}`],
  [
    'two months',
    '{"Title":"a","Attribute_Performance":[{"Performance":{"Total_Item_Requests":{"2023-01":5,"2023-02":3}}}]}',
  ],
  [
    'a key that is not a month',
    '{"Title":"a","Attribute_Performance":[{"Performance":{"Total_Item_Requests":{"2023-01":5,"x":3}}}]}',
  ],
];

interface Stored {
  yearMonth: string;
  items: string[];
  contentHash: string;
}

async function store(items: string[], chunkSize: number): Promise<Stored[]> {
  const text = `{"Report_Header":${JSON.stringify(HEADER)},"Report_Items":[${items.join(',')}]}`;
  const result = await splitReportStream(chunked(text, chunkSize), '5.1', { spillThresholdBytes: 200 });
  assert.equal(result.kind, 'report');
  if (result.kind !== 'report') return [];
  const months: Stored[] = [];
  for await (const month of result.monthStreams()) {
    const texts: string[] = [];
    const hash = createHash('sha256');
    for await (const item of month.items()) {
      texts.push(item);
      hash.update(item).update('\n');
    }
    const contentHash = hash.digest('hex');
    if (month.contentHash !== undefined) assert.equal(month.contentHash, contentHash, month.yearMonth);
    months.push({ yearMonth: month.yearMonth, items: texts, contentHash });
  }
  return months;
}

void describe('stored item texts do not depend on the response formatting', () => {
  for (const [name, item] of ITEMS) {
    void it(`${name}: every stored text is JSON.stringify's, equal to that of the compact item`, async () => {
      const months = await store([item], 7);
      const compact = await store([JSON.stringify(JSON.parse(item))], 13);
      assert.deepEqual(months, compact);
      const texts = months.flatMap((m) => m.items);
      assert.ok(texts.length > 0);
      for (const text of texts) assert.equal(text, JSON.stringify(JSON.parse(text)));
    });
  }

  void it('a pretty-printed report stores the same months, with the same hashes, as its compact form', async () => {
    const items = ITEMS.map(([, item]) => item);
    const pretty = items.map((item) => JSON.stringify(JSON.parse(item), null, 2));
    const compact = items.map((item) => JSON.stringify(JSON.parse(item)));
    assert.deepEqual(await store(pretty, 64), await store(compact, 64));
  });
});
