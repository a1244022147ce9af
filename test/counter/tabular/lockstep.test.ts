/**
 * Months merged side by side (docs/counter-tabular.md, section 6): when every month lists the same
 * items in the same order the range is merged without a table, and the file is byte for byte the one
 * the merge with a table writes; months that differ, repeat an item or interleave parents take the
 * table; a month that changes between the two passes stops the export with an error.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ExportError,
  prepareExport,
  storedMonthFromJsonPieces,
  type ExportRequest,
  type StoredMonth,
} from '../../../src/counter/index.ts';
import { DigestSet, rawIdentity } from '../../../src/counter/tabular/lockstep.ts';
import { bodyText, parseTsv } from '../../helpers/tabular.ts';

type Json = Record<string, unknown>;

const MONTHS = ['2024-01', '2024-02', '2024-03'];

function header(report: string, month: string): Json {
  return {
    Release: '5.1',
    Report_ID: report,
    Report_Name: report === 'TR' ? 'Title Report' : 'Item Report',
    Created: '2024-04-01T00:00:00Z',
    Created_By: 'Test Platform',
    Institution_ID: { Proprietary: ['t:inst'] },
    Institution_Name: 'Test Library',
    Registry_Record: '',
    Report_Attributes: { Attributes_To_Show: ['YOP', 'Access_Type', 'Access_Method'] },
    Report_Filters: { Begin_Date: `${month}-01`, End_Date: `${month}-28` },
  };
}

/** A title as a provider writes it (members not in canonical order), with two access types. */
function title(
  name: string,
  month: string,
  n: number,
  publisherIds: Json = { Proprietary: ['p:pub'] },
): Json {
  return {
    Title: name,
    Item_ID: { Proprietary: `p:${name.replace(/\W/g, '')}`, Online_ISSN: '1234-5678' },
    Platform: 'Plat',
    Publisher: 'Pub',
    Publisher_ID: publisherIds,
    Attribute_Performance: [
      {
        Data_Type: 'Journal',
        YOP: '2020',
        Access_Type: 'Controlled',
        Access_Method: 'Regular',
        Performance: {
          Total_Item_Requests: { [month]: n },
          Unique_Item_Requests: { [month]: Math.max(1, n - 1) },
        },
      },
      {
        Data_Type: 'Journal',
        YOP: '2020',
        Access_Type: 'Open',
        Access_Method: 'Regular',
        Performance: { Total_Item_Requests: { [month]: n + 10 } },
      },
    ],
  };
}

/** Months as item texts (as the store hands over large months); `items()` may be read again. */
function months(items: (month: string, m: number) => Json[], report = 'TR'): StoredMonth[] {
  return MONTHS.map((month, m) => ({
    yearMonth: month,
    header: header(report, month),
    async *items() {
      for (const item of items(month, m)) yield JSON.stringify(item);
    },
  }));
}

function request(stored: StoredMonth[], format = 'tsv', extra: Partial<ExportRequest> = {}): ExportRequest {
  return {
    release: '5.1',
    reportId: 'TR',
    begin: MONTHS[0],
    end: MONTHS[MONTHS.length - 1],
    format,
    months: stored,
    created: '2024-04-02T00:00:00Z',
    ...extra,
  };
}

/** The file both ways: side by side where possible, and always with the table. */
async function bothWays(
  stored: StoredMonth[],
  format = 'tsv',
  extra: Partial<ExportRequest> = {},
): Promise<{ strategy: string; auto: string; table: string }> {
  const auto = await prepareExport(request(stored, format, extra));
  const table = await prepareExport(request(stored, format, { ...extra, lockstep: false }));
  assert.equal(table.mergeStrategy, 'table');
  return { strategy: auto.mergeStrategy, auto: await bodyText(auto), table: await bodyText(table) };
}

const names = ['Journal A', 'Journal B', 'Journal C', 'Journal D'];

void describe('months merged side by side', () => {
  void it('the same items in the same order: side by side, the same bytes as with the table (tsv, csv, json, a view)', async () => {
    // Publisher_ID with two namespaces out of canonical order: the cell must come out the same.
    const stored = months((month, m) =>
      names.map((name, i) =>
        title(name, month, 10 * i + m + 1, { Proprietary: ['p:pub'], ISNI: ['0000000000000001'] }),
      ),
    );
    for (const format of ['tsv', 'csv', 'json']) {
      const { strategy, auto, table } = await bothWays(stored, format);
      assert.equal(strategy, 'lockstep', format);
      assert.equal(auto, table, format);
    }
    const view = await bothWays(stored, 'tsv', { reportId: 'TR_J3', sourceReportId: 'TR' });
    assert.equal(view.strategy, 'lockstep');
    assert.equal(view.auto, view.table);
    // Counts of the three months in one row per title, access type and metric.
    const rows = parseTsv(await bodyText(await prepareExport(request(stored))));
    const a = rows.filter((r) => r[0] === 'Journal A');
    assert.equal(a.length, 3);
    const requests = a.find((r) => r.includes('Controlled') && r.includes('Total_Item_Requests'));
    assert.deepEqual(requests?.slice(-4), ['6', '1', '2', '3']);
  });

  void it('a title missing in one month, titles in another order, a repeated title: the table, the same file', async () => {
    const cases: Array<(month: string, m: number) => Json[]> = [
      (month, m) => names.filter((_, i) => !(m === 1 && i === 2)).map((n, i) => title(n, month, i + 1)),
      (month, m) => (m === 2 ? [...names].reverse() : names).map((n, i) => title(n, month, i + 1)),
      (month) => [...names, names[0]].map((n, i) => title(n, month, i + 1)),
    ];
    for (const items of cases) {
      const stored = months(items);
      const { strategy, auto, table } = await bothWays(stored);
      assert.equal(strategy, 'table');
      assert.equal(auto, table);
    }
    // The repeated title is one row group, its counts added up.
    const rows = parseTsv((await bothWays(months(cases[2]))).auto);
    const a = rows.filter((r) => r[0] === 'Journal A' && r.includes('Open'));
    assert.equal(a.length, 1);
    assert.deepEqual(a[0].slice(-3), ['26', '26', '26']);
  });

  void it('IR: a parent whose items come in two places takes the table; parents together go side by side', async () => {
    const item = (parent: string, name: string, month: string): Json => ({
      Title: parent,
      Item_ID: { Print_ISSN: '1111-2222' },
      Data_Type: 'Journal',
      Items: [
        {
          Item: name,
          Item_ID: { DOI: `10.1/${name}` },
          Platform: 'Plat',
          Publisher: 'Pub',
          Attribute_Performance: [
            {
              Data_Type: 'Article',
              YOP: '2021',
              Access_Type: 'Controlled',
              Access_Method: 'Regular',
              Performance: { Total_Item_Requests: { [month]: 2 } },
            },
          ],
        },
      ],
    });
    const together = months(
      (month) => [item('P1', 'a', month), item('P1', 'b', month), item('P2', 'c', month)],
      'IR',
    );
    const apart = months(
      (month) => [item('P1', 'a', month), item('P2', 'c', month), item('P1', 'b', month)],
      'IR',
    );
    for (const [stored, expected] of [
      [together, 'lockstep'],
      [apart, 'table'],
    ] as const) {
      for (const format of ['tsv', 'json']) {
        const { strategy, auto, table } = await bothWays(stored, format, { reportId: 'IR' });
        assert.equal(strategy, expected);
        assert.equal(auto, table);
      }
    }
  });

  void it('months read from JSON pieces: side by side, and the table after a first pass that stops early', async () => {
    const pieces = (items: Json[], month: string) => async () => {
      const text = JSON.stringify({ Report_Header: header('TR', month), Report_Items: items });
      return (async function* () {
        for (let i = 0; i < text.length; i += 300) yield text.slice(i, i + 300);
      })();
    };
    const stored = async (differ: boolean): Promise<StoredMonth[]> =>
      Promise.all(
        MONTHS.map((month, m) => {
          const items = Array.from({ length: 40 }, (_, i) => title(`T ${i}`, month, i + 1));
          // The last month's first title differs: the first pass stops at once, the rest unread.
          if (differ && m === 2) items[0] = title('Other', month, 1);
          return storedMonthFromJsonPieces(month, async function* () {
            yield* await pieces(items, month)();
          });
        }),
      );
    const same = await bothWays(await stored(false));
    assert.equal(same.strategy, 'lockstep');
    assert.equal(same.auto, same.table);
    const differ = await bothWays(await stored(true));
    assert.equal(differ.strategy, 'table');
    assert.equal(differ.auto, differ.table);
    assert.equal(parseTsv(differ.auto).filter((r) => r[0] === 'Other').length, 3);
  });

  void it('a month that changes between the two passes stops the export with an error', async () => {
    let reads = 0;
    const stored = months((month, m) => {
      if (m === 1) reads += 1;
      return names.map((n) => title(reads > 1 && m === 1 && n === 'Journal C' ? 'Changed' : n, month, 1));
    });
    const exp = await prepareExport(request(stored));
    assert.equal(exp.mergeStrategy, 'lockstep');
    await assert.rejects(
      bodyText(exp),
      (e: unknown) => e instanceof ExportError && /2024-02 changed while/.test(e.message),
    );
  });
});

void describe('DigestSet', () => {
  void it('finds repeats among many texts and grows', () => {
    const set = new DigestSet();
    for (let i = 0; i < 100_000; i++) assert.equal(set.add(`item ${i}`), true);
    for (let i = 0; i < 100_000; i += 997) assert.equal(set.add(`item ${i}`), false);
    assert.equal(set.add(''), true);
    assert.equal(set.add(''), false);
  });
});

void describe('rawIdentity', () => {
  void it('keeps the members other than usage as written; parent groups and non-objects are left to the parser', () => {
    const text =
      '{ "Title" : "A \\"quoted\\" {title}", "Attribute_Performance": [{"Performance": {"X": {"2024-01": 1}}, "s": "]}"}],' +
      ' "Item_ID": {"DOI": "10.1/x"}, "n": 12, "t": true }';
    assert.equal(
      rawIdentity(text),
      '"Title" : "A \\"quoted\\" {title}","Item_ID": {"DOI": "10.1/x"},"n": 12,"t": true,',
    );
    // Other usage, other months: the same identity text.
    assert.equal(rawIdentity(text.replace('"2024-01": 1', '"2024-02": 7, "2024-03": 0')), rawIdentity(text));
    assert.notEqual(rawIdentity(text.replace('10.1/x', '10.1/y')), rawIdentity(text));
    assert.equal(rawIdentity('{"Title": "P", "Items": []}'), undefined);
    assert.equal(rawIdentity('[1]'), undefined);
    assert.equal(rawIdentity('{"a": "unterminated}'), undefined);
    assert.equal(rawIdentity('{}'), '');
  });
});
