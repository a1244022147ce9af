/**
 * The per-month copies of an item are serialised sharing the text of what they share with the item
 * (counter/copy-json.ts); the texts must be exactly `JSON.stringify`'s, since they are stored and
 * hashed: checked on every item of the official samples (several months each) and on shapes the
 * samples lack (attribute sets dropped in some months, members the copies leave out, nesting).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stringifyCopies } from '../../src/counter/copy-json.ts';
import { Findings, splitItemByMonth } from '../../src/counter/item-split.ts';
import type { JsonObject } from '../../src/counter/json.ts';
import { loadSamples } from '../helpers/counter.ts';

function assertSameAsStringify(item: JsonObject, copies: Map<string, JsonObject>): void {
  const texts = stringifyCopies(item, copies);
  assert.deepEqual([...texts.keys()], [...copies.keys()]);
  for (const [month, copy] of copies) assert.equal(texts.get(month), JSON.stringify(copy), month);
}

void describe('per-month copy texts', () => {
  void it('are JSON.stringify of each copy for every item of the official samples', () => {
    let multi = 0;
    for (const sample of loadSamples()) {
      for (const item of sample.json.Report_Items as JsonObject[]) {
        const copies = splitItemByMonth(item, new Findings());
        if (copies.size > 1) multi += 1;
        assertSameAsStringify(item, copies);
      }
    }
    assert.ok(multi > 50, `${multi} items with several months`);
  });

  void it('are JSON.stringify of each copy where the copies change shape', () => {
    const perf = (months: Record<string, number>) => ({ Total_Item_Requests: months });
    const item: JsonObject = {
      Title: 'T "q" é',
      '1': 'index-like key first',
      Item_ID: [{ Type: 'DOI', Value: '10.1/x' }],
      Attribute_Performance: [
        { Data_Type: 'Book', YOP: '2020', Performance: perf({ '2023-01': 1, '2023-02': 2 }) },
        { Data_Type: 'Journal', Performance: perf({ '2023-02': 3 }) },
        { Data_Type: 'Other', Performance: perf({ '2023-01': 4 }), Extra: { deep: [1, { a: null }] } },
      ],
      Components: [{ Title: 'c', Performance: perf({ '2023-03': 5 }) }],
    };
    const copies = splitItemByMonth(item, new Findings());
    assert.deepEqual([...copies.keys()], ['2023-01', '2023-02', '2023-03']);
    assertSameAsStringify(item, copies);
    // Copies built by hand: one leaves a member out, one is the item itself, arrays of other lengths.
    const handMade = new Map<string, JsonObject>([
      ['a', { ...item, Components: undefined }],
      ['b', item],
      ['c', { ...item, Attribute_Performance: [] }],
      ['d', { ...item, Item_ID: [...(item.Item_ID as unknown[]), { Type: 'ISBN', Value: '1' }] }],
    ]);
    assertSameAsStringify(item, handMade);
  });
});
