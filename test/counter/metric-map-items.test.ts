/**
 * The fast way through common 5.1 items (counter/metric-map-items.ts) must give what the general way
 * gives (`splitItemByMonth`, then `JSON.stringify` of each month's copy): the same calls to the usage
 * sink in the same order (so totals, top items and every Code of Practice check see the same), the
 * same months, and per month the same text byte for byte (it is stored and hashed). Checked on every
 * item of the official samples and on generated items of the shape (other spellings, `YOP` members,
 * counts that are not numbers, two keys of one month, escapes, index-like keys), and items that are
 * not of the shape must be refused.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Findings, splitItemByMonth, type UsageSink } from '../../src/counter/item-split.ts';
import type { JsonObject } from '../../src/counter/json.ts';
import {
  countMetricMapItem,
  metricMapItemTexts,
  metricMapShape,
  writeMetricMapItemLines,
} from '../../src/counter/metric-map-items.ts';
import { MonthBuckets } from '../../src/counter/month-buckets.ts';
import { loadSamples } from '../helpers/counter.ts';

/** A sink that records every call, with its arguments. */
function recorder(): { sink: UsageSink; calls: unknown[][] } {
  const calls: unknown[][] = [];
  const record =
    (name: string) =>
    (...args: unknown[]): void => {
      calls.push([name, ...args]);
    };
  return {
    calls,
    sink: {
      structure: record('structure'),
      layout: record('layout'),
      beginUnit: record('beginUnit'),
      endUnit: record('endUnit'),
      count: record('count'),
      unreadable: record('unreadable'),
      yop: record('yop'),
    },
  };
}

/** Asserts that the fast way gives what the general way gives; false when the item is not of the shape. */
function assertSameAsGeneral(item: JsonObject): boolean {
  const shape = metricMapShape(item);
  if (!shape) return false;
  const general = recorder();
  const findings = new Findings();
  const copies = splitItemByMonth(item, findings, general.sink);
  const fast = recorder();
  const found = countMetricMapItem(item, shape, fast.sink);
  const { months } = found;
  assert.deepEqual(fast.calls, general.calls);
  assert.deepEqual(findings.list(), []);
  assert.deepEqual(months, [...copies.keys()]);
  if (months.length > 1) {
    const texts = metricMapItemTexts(item, shape, found);
    assert.equal(texts.length, months.length);
    for (const [month, copy] of copies)
      assert.equal(texts[months.indexOf(month)], JSON.stringify(copy), month);
  } else {
    // One month: the general way's copy is the item itself.
    assert.equal(copies.get(months[0]), item);
  }
  return true;
}

const monthKey = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 1, max: 12 }).map((m) => `2023-${String(m).padStart(2, '0')}`) },
  // Other spellings of a month (two keys of one month in one metric).
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 9 }).map((m) => `2023-${m}`) },
  { weight: 1, arbitrary: fc.constantFrom('2024-02-01', ' 2023-03', '2023-04-30T00:00:00Z') },
);
const count = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: -5, max: 100_000 }) },
  { weight: 1, arbitrary: fc.constantFrom('12', null, 1.5, -0, 1e21, 'x"y', true) },
);
const counts = fc.dictionary(monthKey, count, { minKeys: 1, maxKeys: 5 });
const metric = fc.constantFrom(
  'Total_Item_Investigations',
  'Unique_Item_Requests',
  'No_License',
  'total_item_requests',
  'Odd "metric" é',
  '7',
);
const performance = fc.dictionary(metric, counts, { minKeys: 1, maxKeys: 4 });
const plainValue = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.integer(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 4 }), { maxLength: 2 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 2 }),
);
const otherKey = fc.constantFrom(
  'Data_Type',
  'YOP',
  'yop',
  'Access_Type',
  'Title',
  '0',
  '12',
  'x\n"y',
  'Item_ID',
);
const others = fc.dictionary(otherKey, plainValue, { maxKeys: 4 });
const performanceKey = fc.constantFrom('Performance', 'performance');
const attributeSet = fc
  .tuple(others, performanceKey, performance, others, fc.nat(4))
  .map(([a, key, perf, b, at]) => build(a, key, perf, b, at));
const listKey = fc.constantFrom('Attribute_Performance', 'attributePerformance');
const item = fc
  .tuple(others, listKey, fc.array(attributeSet, { minLength: 1, maxLength: 4 }), others, fc.nat(4))
  .map(([a, key, list, b, at]) => build(a, key, list, b, at));

/** An object with `key` placed among the other members (at index `at` of their keys, at most). */
function build(a: JsonObject, key: string, value: unknown, b: JsonObject, at: number): JsonObject {
  const obj: JsonObject = {};
  const entries = [...Object.entries(a), ...Object.entries(b)].filter(([k]) => k !== key);
  entries.splice(Math.min(at, entries.length), 0, [key, value]);
  for (const [k, v] of entries) obj[k] = v;
  return obj;
}

void describe('common 5.1 items the fast way', () => {
  void it('give the general way’s sink calls, months and texts on the official samples', () => {
    let fast = 0;
    let multi = 0;
    for (const sample of loadSamples())
      for (const element of sample.json.Report_Items as JsonObject[]) {
        if (!assertSameAsGeneral(element)) continue;
        fast += 1;
        if ((metricMapShape(element) && splitItemByMonth(element, new Findings()).size > 1) === true)
          multi += 1;
      }
    assert.ok(fast >= 30, `${fast} sample items of the shape`);
    assert.ok(multi >= 10, `${multi} of them with several months`);
  });

  void it('give the general way’s sink calls, months and texts on generated items', () => {
    fc.assert(
      fc.property(item, (generated) => {
        // Through a JSON text, as the splitter gets items (own __proto__ keys, number forms).
        const parsed = JSON.parse(JSON.stringify(generated)) as JsonObject;
        assert.equal(assertSameAsGeneral(parsed), true);
      }),
      { numRuns: 500 },
    );
  });

  void it('give the general way’s texts for runs of items whose attribute sets repeat or nearly repeat', () => {
    // The text around a set's metrics is reused from the item before when the members are the same.
    const member = fc.constantFrom<[string, unknown]>(
      ['Data_Type', 'Journal'],
      ['Data_Type', 'Book'],
      ['YOP', '2020'],
      ['YOP', 2020],
      ['Access_Type', 'Controlled'],
      ['Access_Type', 'Controlled '],
      ['Access_Method', 'Regular'],
      ['Note', 'é"\\n'],
      ['Note', ['x']],
    );
    const set = fc
      .tuple(
        fc.uniqueArray(member, { maxLength: 4, selector: ([k]) => k }),
        performanceKey,
        performance,
        fc.nat(4),
      )
      .map(([members, key, perf, at]) => build(Object.fromEntries(members), key, perf, {}, at));
    const run = fc.array(
      fc.tuple(fc.array(set, { minLength: 1, maxLength: 3 }), fc.string({ maxLength: 6 })),
      { minLength: 2, maxLength: 8 },
    );
    fc.assert(
      fc.property(run, (items) => {
        for (const [sets, title] of items) {
          const parsed = JSON.parse(
            JSON.stringify({ Title: title, Attribute_Performance: sets }),
          ) as JsonObject;
          assert.equal(assertSameAsGeneral(parsed), true);
        }
      }),
      { numRuns: 300 },
    );
  });

  void it('write the same lines, hashes and lengths into month buckets as the general way’s texts', async () => {
    // Many items, so that lines cross the ends of the buckets' blocks and move to new ones.
    const items = fc.sample(item, { numRuns: 3000, seed: 11 });
    const buckets = new MonthBuckets({ spillThresholdBytes: 1 << 30, memoryBudgetBytes: 1 << 30 });
    const expected = new Map<string, string[]>();
    for (const generated of items) {
      const parsed = JSON.parse(JSON.stringify(generated)) as JsonObject;
      const shape = metricMapShape(parsed);
      if (!shape) continue;
      const found = countMetricMapItem(parsed, shape, recorder().sink);
      if (found.months.length < 2) continue;
      writeMetricMapItemLines(parsed, shape, found, buckets);
      for (const [month, copy] of splitItemByMonth(parsed, new Findings()))
        expected.set(month, [...(expected.get(month) ?? []), JSON.stringify(copy)]);
    }
    try {
      assert.ok(expected.size > 0);
      for (const [month, lines] of expected) {
        const read: string[] = [];
        for await (const line of buckets.read(month)) read.push(line);
        assert.deepEqual(read, lines, month);
        const hash = createHash('sha256');
        for (const line of lines) hash.update(`${line}\n`);
        assert.equal(buckets.digest(month), hash.digest('hex'), month);
        assert.equal(
          buckets.totalBytes(month),
          lines.reduce((sum, line) => sum + line.length, 0),
          month,
        );
      }
    } finally {
      await buckets.dispose();
    }
  });

  void it('refuse items of other shapes', () => {
    const perf = { Total_Item_Requests: { '2023-01': 1 } };
    const refused: JsonObject[] = [
      { Title: 't' },
      { Attribute_Performance: [] },
      { Attribute_Performance: [{ Performance: perf }], Performance: perf },
      { Attribute_Performance: [{ Performance: perf }], attribute_performance: [] },
      { Attribute_Performance: [{ Performance: [{ Period: {}, Instance: [] }] }] },
      { Attribute_Performance: [{ Item_Performance: perf }] },
      { Attribute_Performance: [{ Performance: perf, Components: [] }] },
      { Attribute_Performance: [{ Performance: {} }] },
      { Attribute_Performance: [{ Performance: { Total_Item_Requests: {} } }] },
      { Attribute_Performance: [{ Performance: { Total_Item_Requests: 3 } }] },
      { Attribute_Performance: [{ Performance: { Total_Item_Requests: { Total: 3 } } }] },
      { Attribute_Performance: [{ Performance: perf }, 'x'] },
      { Performance: perf },
    ];
    for (const element of refused) assert.equal(metricMapShape(element), undefined, JSON.stringify(element));
  });
});
