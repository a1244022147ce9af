/**
 * The byte scanner behind splitReportStream: element boundaries at every chunk position, equality
 * with the previous (@streamparser/json) splitter on all 32 samples, and structural errors.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JsonObjectScanner } from '../../src/counter/json-scanner.ts';
import { splitReportStream, type SplitResult } from '../../src/counter/index.ts';
import { chunked, loadSamples } from '../helpers/counter.ts';
import { splitReportStream as legacySplit } from '../helpers/legacy-month-splitter.ts';

interface Summary {
  kind: string;
  detail: unknown;
}

async function summarise(result: SplitResult | Awaited<ReturnType<typeof legacySplit>>): Promise<Summary> {
  if (result.kind === 'invalid') return { kind: result.kind, detail: result.code };
  if (result.kind === 'exception') return { kind: result.kind, detail: result.exceptions.map((e) => e.code) };
  const months: unknown[] = [];
  for await (const month of result.monthsAsJson())
    months.push([month.yearMonth, month.itemCount, month.json]);
  return {
    kind: result.kind,
    detail: {
      header: result.header,
      topLevel: result.topLevel,
      yearMonths: result.yearMonths,
      itemCount: result.itemCount,
      findings: result.findings,
      exceptions: result.exceptions.map((e) => e.code),
      months,
    },
  };
}

async function* twoChunks(bytes: Buffer, at: number): AsyncGenerator<Uint8Array> {
  yield bytes.subarray(0, at);
  yield bytes.subarray(at);
}

function scan(text: string, chunkSize = text.length): { members: [string, string][]; elements: string[] } {
  const members: [string, string][] = [];
  const elements: string[] = [];
  const scanner = new JsonObjectScanner(
    { member: (key, value) => members.push([key, value]), element: (e) => elements.push(e) },
    'report_items',
  );
  const bytes = Buffer.from(text);
  for (let i = 0; i < bytes.length; i += chunkSize) scanner.write(bytes.subarray(i, i + chunkSize));
  scanner.end();
  return { members, elements };
}

const samples = loadSamples();

describe('json scanner', () => {
  it('cuts out root members and Report_Items elements (any key case), strings with brackets and escapes', () => {
    const text =
      ' {"Report_Header": {"a": "}]\\"{["}, "X": -1.5e3, "report_items" : [ {"t":"\\\\"} , 2, "s", null, [1,[2]] ], "Y":true}';
    const { members, elements } = scan(text);
    assert.deepEqual(members, [
      ['Report_Header', '{"a": "}]\\"{["}'],
      ['X', '-1.5e3'],
      ['Y', 'true'],
    ]);
    assert.deepEqual(elements, ['{"t":"\\\\"}', '2', '"s"', 'null', '[1,[2]]']);
    for (let size = 1; size <= 7; size++) assert.deepEqual(scan(text, size), { members, elements });
  });

  it('reads keys with escapes and multi-byte characters split across chunks', () => {
    const text = '{"K\\u00e9y\\"ü":"välue €","Report_Items":["€",{"ü":"𝄞"}]}';
    for (let size = 1; size <= 5; size++) {
      const { members, elements } = scan(text, size);
      assert.deepEqual(members, [['Kéy"ü', '"välue €"']]);
      assert.deepEqual(elements, ['"€"', '{"ü":"𝄞"}']);
    }
  });

  for (const [name, text] of [
    ['truncated', '{"Report_Items":[{"a":1}'],
    ['trailing garbage', '{"a":1} x'],
    ['missing colon', '{"a" 1}'],
    ['trailing comma in items', '{"Report_Items":[1,]}'],
    ['missing comma', '{"a":1 "b":2}'],
    ['an array root', '[1]'],
  ] as const) {
    it(`rejects ${name}`, () => {
      assert.throws(() => scan(text));
    });
  }

  it('splits a sample cut at every byte position like the whole body', async () => {
    const sample = samples.find((s) => s.name === 'r51/TR_J1_sample_r51.json') ?? samples[0];
    const bytes = Buffer.from(sample.text);
    const whole = await summarise(await splitReportStream(chunked(bytes, bytes.length), sample.release));
    assert.equal(whole.kind, 'report');
    for (let at = 0; at <= bytes.length; at++) {
      const split = await summarise(await splitReportStream(twoChunks(bytes, at), sample.release));
      assert.deepEqual(split, whole, `cut at byte ${at}`);
    }
  });
});

describe('scanner splitter equals the previous splitter', () => {
  for (const sample of samples) {
    it(sample.name, async () => {
      for (const size of [1, 97, 65536]) {
        const ours = await summarise(await splitReportStream(chunked(sample.text, size), sample.release));
        const legacy = await summarise(await legacySplit(chunked(sample.text, size), sample.release));
        assert.deepEqual(ours, legacy, `chunks of ${size}`);
      }
    });
  }
});

describe('JsonObjectScanner: a streamed array inside nested objects (counter report bodies)', () => {
  function scan(text: string, at: number, exactKeys: boolean) {
    const events: unknown[] = [];
    const scanner = new JsonObjectScanner(
      {
        member: (key, value, parents) =>
          events.push(['member', [...parents, key].join('.'), JSON.parse(value)]),
        element: (value) => events.push(['element', JSON.parse(value)]),
        enter: (parents) => events.push(['enter', parents.join('.')]),
        arrayStart: () => events.push(['array']),
      },
      ['report', 'Report_Items'],
      { exactKeys },
    );
    const bytes = Buffer.from(text, 'utf8');
    scanner.write(bytes.subarray(0, at));
    scanner.write(bytes.subarray(at));
    scanner.end();
    return events;
  }

  const body = JSON.stringify({
    id: 'x',
    report: { Report_Header: { a: [1, { b: '}' }] }, Report_Items: [{ t: 'é"]' }, 2, null], After: true },
    yearMonth: '2020-01',
    other: { report: { Report_Items: [1] } },
  });

  it('enters the objects on the path, streams the array, cuts out every other member, at every chunk border', () => {
    const expected = [
      ['member', 'id', 'x'],
      ['enter', 'report'],
      ['member', 'report.Report_Header', { a: [1, { b: '}' }] }],
      ['array'],
      ['element', { t: 'é"]' }],
      ['element', 2],
      ['element', null],
      ['member', 'report.After', true],
      ['member', 'yearMonth', '2020-01'],
      ['member', 'other', { report: { Report_Items: [1] } }],
    ];
    for (let at = 0; at <= Buffer.byteLength(body); at++)
      assert.deepEqual(scan(body, at, true), expected, `at ${at}`);
  });

  it('exact keys: another spelling is an ordinary member; a non-object on the path is one member', () => {
    const loose = JSON.stringify({ REPORT: { report_items: [1] }, report: [1, 2] });
    assert.deepEqual(scan(loose, 5, true), [
      ['member', 'REPORT', { report_items: [1] }],
      ['member', 'report', [1, 2]],
    ]);
    assert.deepEqual(scan(loose, 5, false).slice(0, 3), [['enter', 'REPORT'], ['array'], ['element', 1]]);
  });
});
