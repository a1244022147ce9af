/**
 * COUNTER 4 tabular files read into the R4 JSON months a COUNTER 4 harvest stores
 * (docs/counter-tabular.md, section 10): the hand-written JR1 of test/fixtures/counter/r4 gives the
 * items and counts the mock COUNTER 4 server answers for the same months; user activities and access
 * denied categories become their SUSHI metric types; a bad file is refused naming its row and column.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { counter4Items } from '../../../mock/counter4.ts';
import { TabularReadError } from '../../../src/counter/tabular/read.ts';
import {
  r4ReportName,
  readR4Tabular,
  TabularUnsupportedError,
  type R4TabularMonth,
} from '../../../src/counter/tabular/read-r4.ts';
import { csvRows, tsvRows } from '../../../src/counter/tabular/rows.ts';
import { FIXTURES } from '../../helpers/sushi.ts';

const R4 = join(FIXTURES, 'r4');

async function monthsOf(rows: AsyncIterable<string[]>): Promise<R4TabularMonth[]> {
  const report = await readR4Tabular(rows);
  const out: R4TabularMonth[] = [];
  for await (const month of report.months()) out.push(month);
  return out;
}

type Item = {
  itemName: string;
  itemIdentifier: { type: string; value: string }[];
  itemPerformance: {
    period: { begin: string };
    category: string;
    instance: { metricType: string; count: number }[];
  }[];
};
const itemsOf = (m: R4TabularMonth) => (m.report.customer as { reportItems: Item[] }[])[0].reportItems;

/** Rows of a small R4 file: the seven header rows, then `body` (headings first). */
function r4Rows(
  name: string,
  body: string[][],
  period = '2022-01-01 to 2022-02-28',
): AsyncIterable<string[]> {
  const rows = [
    [name, 'a title'],
    ['Sample University'],
    [''],
    ['Period covered by Report:'],
    [period],
    ['Date run:'],
    ['2022-03-01'],
    ...body,
  ];
  return (async function* () {
    yield* rows;
  })();
}

async function refusal(rows: AsyncIterable<string[]>): Promise<TabularReadError> {
  try {
    await readR4Tabular(rows);
  } catch (error) {
    assert.ok(error instanceof TabularReadError, String(error));
    return error;
  }
  assert.fail('the file was accepted');
}

describe('COUNTER 4 tabular read', () => {
  it('report names: the first cell of the file', () => {
    assert.equal(r4ReportName('Journal Report 1 (R4)'), 'JR1');
    assert.equal(r4ReportName('Journal Report 1 GOA (R4)'), 'JR1 GOA');
    assert.equal(r4ReportName('Journal Report 1a (R4)'), 'JR1a');
    assert.equal(r4ReportName('Database Report 2 (R4)'), 'DB2');
    assert.equal(r4ReportName('Multimedia Report 1 (R4)'), 'MR1');
    assert.equal(r4ReportName('Report_Name'), undefined);
    assert.equal(r4ReportName('Journal Report 1'), undefined);
  });

  it('JR1: one month per month column, with the items and counts a harvest of the mock stores', async () => {
    const months = await monthsOf(tsvRows(join(R4, 'JR1.tsv')));
    assert.deepEqual(
      months.map((m) => [m.yearMonth, m.itemCount]),
      [
        ['2022-01', 3],
        ['2022-02', 3],
        ['2022-03', 3],
      ],
    );
    const mock = counter4Items('JR1', ['2022-01', '2022-02', '2022-03']);
    for (const month of months) {
      const { customer, ...meta } = month.report;
      assert.deepEqual(meta, {
        created: '2022-04-05T00:00:00.000Z',
        version: '4',
        name: 'JR1',
        title: 'Journal Report 1',
      });
      assert.deepEqual((customer as object[])[0], {
        name: 'Sample University',
        id: 'inst-0001',
        contact: [],
        institutionalIdentifier: [],
        reportItems: itemsOf(month),
      });
      const got = itemsOf(month).map((item) => [
        item.itemName,
        item.itemIdentifier.map((id) => id.value),
        item.itemPerformance.map((p) => [p.period.begin, p.category, p.instance]),
      ]);
      const want = mock.map((item) => [
        item.name,
        item.identifiers.map((id) => id.value),
        item.performance
          .filter((p) => p.month === month.yearMonth)
          .map((p) => [
            `${p.month}-01`,
            'REQUESTS',
            p.counts
              .filter(([m]) => m === 'ft_total')
              .map(([, count]) => ({ metricType: 'FT_TOTAL', count })),
          ]),
      ]);
      assert.deepEqual(got, want, month.yearMonth);
      assert.match(month.contentHash, /^[0-9a-f]{64}$/);
    }
  });

  it('JR1 of one month: the HTML and PDF columns are that month’s', async () => {
    const months = await monthsOf(
      r4Rows(
        'Journal Report 1 (R4)',
        [
          [
            'Journal',
            'Publisher',
            'Platform',
            'Journal DOI',
            'Proprietary Identifier',
            'Print ISSN',
            'Online ISSN',
            'Reporting Period Total',
            'Reporting Period HTML',
            'Reporting Period PDF',
            'Jan-2022',
          ],
          ['Total for all journals', '', '', '', '', '', '', '10', '4', '6', '10'],
          ['J', 'P', 'X', '10.1/j', 'x:1', '', '1234-5678', '10', '4', '6', '10'],
        ],
        '2022-01-01 to 2022-01-31',
      ),
    );
    assert.equal(months.length, 1);
    const item = itemsOf(months[0])[0];
    assert.deepEqual(item.itemIdentifier, [
      { type: 'DOI', value: '10.1/j' },
      { type: 'PROPRIETARY', value: 'x:1' },
      { type: 'ONLINE_ISSN', value: '1234-5678' },
    ]);
    assert.deepEqual(item.itemPerformance[0].instance, [
      { metricType: 'FT_HTML', count: 4 },
      { metricType: 'FT_PDF', count: 6 },
      { metricType: 'FT_TOTAL', count: 10 },
    ]);
  });

  it('DB1 (csv): the rows of a database are one item, user activities become SUSHI metric types', async () => {
    const months = await monthsOf(csvRows(join(R4, 'DB1.csv')));
    assert.deepEqual(
      months.map((m) => [m.yearMonth, m.itemCount]),
      [
        ['2022-01', 1],
        ['2022-02', 2],
      ],
    );
    const [a, b] = itemsOf(months[1]);
    assert.equal(a.itemName, 'Database A');
    assert.deepEqual(
      a.itemPerformance.map((p) => [p.category, p.instance]),
      [
        ['SEARCHES', [{ metricType: 'SEARCH_REG', count: 7 }]],
        [
          'REQUESTS',
          [
            { metricType: 'RESULT_CLICK', count: 4 },
            { metricType: 'RECORD_VIEW', count: 2 },
          ],
        ],
      ],
    );
    assert.deepEqual(b.itemPerformance[0].instance, [{ metricType: 'RESULT_CLICK', count: 9 }]);
  });

  it('JR2: access denied categories become TURNAWAY and NO_LICENSE', async () => {
    const months = await monthsOf(
      r4Rows('Journal Report 2 (R4)', [
        [
          'Journal',
          'Publisher',
          'Platform',
          'Journal DOI',
          'Proprietary Identifier',
          'Print ISSN',
          'Online ISSN',
          'Access Denied Category',
          'Reporting Period Total',
          'Jan-2022',
          'Feb-2022',
        ],
        [
          'Total for all journals',
          '',
          '',
          '',
          '',
          '',
          '',
          'Access denied: concurrent/simultaneous user licence limit exceeded',
          '3',
          '1',
          '2',
        ],
        [
          'J',
          'P',
          'X',
          '',
          '',
          '',
          '',
          'Access denied: concurrent/simultaneous user licence limit exceeded',
          '3',
          '1',
          '2',
        ],
        ['J', 'P', 'X', '', '', '', '', 'Access denied: content item not licensed', '5', '5', '0'],
      ]),
    );
    assert.deepEqual(
      itemsOf(months[0])[0].itemPerformance.map((p) => [p.category, p.instance]),
      [
        [
          'ACCESS_DENIED',
          [
            { metricType: 'TURNAWAY', count: 1 },
            { metricType: 'NO_LICENSE', count: 5 },
          ],
        ],
      ],
    );
  });

  const headings = ['Journal', 'Publisher', 'Platform', 'Reporting Period Total', 'Jan-2022', 'Feb-2022'];
  const bad: [string, () => AsyncIterable<string[]>, RegExp][] = [
    [
      'a count that is not a number',
      () => r4Rows('Journal Report 1 (R4)', [headings, ['J', 'P', 'X', '3', 'three', '0']]),
      /^Row 9, column Jan-2022: 'three' is not a count/,
    ],
    [
      'a total that does not add up',
      () => r4Rows('Journal Report 1 (R4)', [headings, ['J', 'P', 'X', '4', '1', '2']]),
      /^Row 9, column Reporting Period Total: Reporting Period Total is 4, the months add up to 3/,
    ],
    [
      'a truncated row',
      () => r4Rows('Journal Report 1 (R4)', [headings, ['J', 'P', 'X', '4', '1']]),
      /^Row 9, column Feb-2022: the row has 5 cells.*truncated/,
    ],
    [
      'an unknown user activity',
      () =>
        r4Rows('Database Report 1 (R4)', [
          ['Database', 'Publisher', 'Platform', 'User Activity', 'Reporting Period Total', 'Jan-2022'],
          ['D', 'P', 'X', 'Downloads', '1', '1'],
        ]),
      /^Row 9, column User Activity: 'Downloads' is not a COUNTER 4 user activity/,
    ],
    [
      'a month outside the period covered',
      () =>
        r4Rows('Journal Report 1 (R4)', [
          [...headings, 'Mar-2022'],
          ['J', 'P', 'X', '1', '1', '0', '0'],
        ]),
      /^Row 8, column Mar-2022: the month 2022-03 lies outside the period covered/,
    ],
    [
      'a period that does not end on the last day of a month',
      () => r4Rows('Journal Report 1 (R4)', [headings], '2022-01-01 to 2022-02-15'),
      /^Row 5, column Period covered by Report: the period covered '2022-01-01 to 2022-02-15'/,
    ],
    [
      'no column headings',
      () => r4Rows('Journal Report 1 (R4)', [['J', 'P', 'X', '1', '1', '0']]),
      /column headings row/,
    ],
  ];
  for (const [what, rows, message] of bad)
    it(`refuses ${what}, naming row and column`, async () => {
      assert.match((await refusal(rows())).message, message);
    });

  it('refuses JR5 (by year of publication, not by month) as an unsupported report', async () => {
    const error = await refusal(r4Rows('Journal Report 5 (R4)', [headings]));
    assert.ok(error instanceof TabularUnsupportedError);
    assert.match(error.message, /^Row 1: JR5 is not read from tabular files .*cannot be split into months/);
  });
});

describe('COUNTER 4 tabular read: large files', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'read-r4-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('20,000 journals: the month buckets spill to disk and every month has every journal', async () => {
    const lines = [
      'Journal Report 1 (R4)\tNumber of Successful Full-Text Article Requests by Month and Journal',
      'Sample University',
      '',
      'Period covered by Report:',
      '2022-01-01 to 2022-02-28',
      'Date run:',
      '2022-03-01',
      'Journal\tPublisher\tPlatform\tJournal DOI\tProprietary Identifier\tPrint ISSN\tOnline ISSN\tReporting Period Total\tReporting Period HTML\tReporting Period PDF\tJan-2022\tFeb-2022',
    ];
    for (let i = 0; i < 20_000; i += 1) lines.push(`Journal ${i}\tP\tX\t10.1/${i}\t\t\t\t3\t1\t2\t1\t2`);
    const file = join(dir, 'big.tsv');
    await writeFile(file, `${lines.join('\n')}\n`);
    const report = await readR4Tabular(tsvRows(file), { tmpDir: dir, spillThresholdBytes: 64 * 1024 });
    const counts: [string, number, number][] = [];
    for await (const month of report.months()) {
      const items = itemsOf(month);
      counts.push([
        month.yearMonth,
        month.itemCount,
        items.reduce((n, it) => n + it.itemPerformance[0].instance[0].count, 0),
      ]);
    }
    assert.deepEqual(counts, [
      ['2022-01', 20_000, 20_000],
      ['2022-02', 20_000, 40_000],
    ]);
  });
});
