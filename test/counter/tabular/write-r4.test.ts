/**
 * COUNTER 4 tabular export (docs/counter-tabular.md, section 8): stored R4 months of every report with a
 * Release 4 layout, exported as tsv, csv and xlsx, read back by the R4 upload reader give the same
 * items and counts per month; the heading rows and the "Total for all …" rows are those of the
 * layout; a report without a tabular layout (JR5) is refused before anything is read.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ExportError } from '../../../src/counter/tabular/errors.ts';
import { prepareExport } from '../../../src/counter/tabular/export.ts';
import { storedMonthFromReport } from '../../../src/counter/tabular/input.ts';
import { readR4Tabular } from '../../../src/counter/tabular/read-r4.ts';
import { csvRows, tsvRows, xlsxRows } from '../../../src/counter/tabular/rows.ts';
import { R4_TABULAR_REPORTS } from '../../../src/counter/tabular/write-r4.ts';

type Json = Record<string, any>;

const MONTHS = ['2022-01', '2022-02', '2022-03'];

/** The metric types a report's rows carry, and the identifiers and data type of its items. */
const KINDS: Record<string, { metrics: string[]; ids: string[]; dataType: string }> = {
  JR1: {
    metrics: ['FT_TOTAL'],
    ids: ['DOI', 'PROPRIETARY', 'PRINT_ISSN', 'ONLINE_ISSN'],
    dataType: 'JOURNAL',
  },
  'JR1 GOA': { metrics: ['FT_TOTAL'], ids: ['DOI', 'PRINT_ISSN'], dataType: 'JOURNAL' },
  JR1a: { metrics: ['FT_TOTAL'], ids: ['ONLINE_ISSN'], dataType: 'JOURNAL' },
  JR2: { metrics: ['TURNAWAY', 'NO_LICENSE'], ids: ['PRINT_ISSN'], dataType: 'JOURNAL' },
  BR1: { metrics: ['FT_TOTAL'], ids: ['DOI', 'PROPRIETARY', 'ISBN', 'ISSN'], dataType: 'BOOK' },
  BR2: { metrics: ['FT_TOTAL'], ids: ['ISBN'], dataType: 'BOOK' },
  BR3: { metrics: ['TURNAWAY', 'NO_LICENSE'], ids: ['ISBN'], dataType: 'BOOK' },
  BR5: { metrics: ['SEARCH_REG', 'SEARCH_FED'], ids: ['ISBN'], dataType: 'BOOK' },
  DB1: {
    metrics: ['SEARCH_REG', 'SEARCH_FED', 'RESULT_CLICK', 'RECORD_VIEW'],
    ids: [],
    dataType: 'DATABASE',
  },
  DB2: { metrics: ['TURNAWAY', 'NO_LICENSE'], ids: [], dataType: 'DATABASE' },
  PR1: {
    metrics: ['SEARCH_REG', 'SEARCH_FED', 'RESULT_CLICK', 'RECORD_VIEW'],
    ids: [],
    dataType: 'PLATFORM',
  },
  MR1: { metrics: ['MULTIMEDIA'], ids: [], dataType: 'MULTIMEDIA' },
};

/** Item `i` of a report: its description, and its count of metric `k` in month `m` (0 in some cells). */
function item(report: string, i: number, month: number): Json {
  const kind = KINDS[report];
  const name = report === 'PR1' ? `Platform ${i}` : `Title "${i}", part ${i}`;
  const counts = kind.metrics
    .map((metricType, k) => ({ metricType, count: (i + k + month) % 3 === 0 ? 0 : 10 * i + k + month }))
    .filter((c) => c.count > 0);
  return {
    itemIdentifier: kind.ids.map((type) => ({ type, value: `${type.toLowerCase()}-${i}` })),
    itemPlatform: report === 'PR1' ? name : 'Platform Z',
    itemPublisher: `Publisher ${i % 2}`,
    itemName: name,
    itemDataType: kind.dataType,
    itemPerformance: counts.length === 0 ? [] : [{ category: 'X', instance: counts }],
  };
}

function storedMonths(report: string, items = 3): { yearMonth: string; report: Json }[] {
  return MONTHS.map((yearMonth, m) => ({
    yearMonth,
    report: {
      version: '4',
      name: report,
      customer: [
        {
          id: 'inst-1',
          name: 'Sample University',
          reportItems: Array.from({ length: items }, (_, i) => item(report, i + 1, m)).filter(
            (it) => it.itemPerformance.length > 0,
          ),
        },
      ],
    },
  }));
}

/** Per item name and month: the identifiers, publisher, platform and the counts by metric type. */
function usageOf(months: { yearMonth: string; report: Json }[]): Json {
  const out: Json = {};
  for (const { yearMonth, report } of months)
    for (const it of report.customer[0].reportItems as Json[]) {
      const counts: Json = {};
      for (const p of it.itemPerformance) for (const c of p.instance) counts[c.metricType] = c.count;
      out[`${it.itemName} ${yearMonth}`] = {
        ids: [...it.itemIdentifier].map((id: Json) => `${id.type}=${id.value}`).sort(),
        publisher: it.itemPublisher,
        platform: it.itemPlatform,
        counts,
      };
    }
  return out;
}

describe('COUNTER 4 tabular export', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'r4-export-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function exported(report: string, format: 'tsv' | 'csv' | 'xlsx', months: Json[]): Promise<string> {
    const exp = await prepareExport({
      release: '4',
      reportId: report,
      begin: months[0].yearMonth,
      end: months[months.length - 1].yearMonth,
      format,
      created: '2023-04-05T10:00:00Z',
      months: months.map((m) => storedMonthFromReport(m.yearMonth, m.report)),
    });
    const chunks: Uint8Array[] = [];
    for await (const chunk of exp.body()) chunks.push(chunk);
    const path = join(dir, `${report.replace(' ', '_')}-${months.length}.${format}`);
    await writeFile(path, Buffer.concat(chunks));
    return path;
  }

  async function readBack(path: string, format: 'tsv' | 'csv' | 'xlsx') {
    const rows = format === 'tsv' ? tsvRows(path) : format === 'csv' ? csvRows(path) : xlsxRows(path);
    const report = await readR4Tabular(rows);
    const out: { yearMonth: string; report: Json }[] = [];
    for await (const month of report.months()) out.push({ yearMonth: month.yearMonth, report: month.report });
    await report.dispose();
    return { reportName: report.reportName, months: out };
  }

  it('writes every report the R4 upload reads', () => {
    assert.deepEqual([...R4_TABULAR_REPORTS].sort(), Object.keys(KINDS).sort());
  });

  for (const report of Object.keys(KINDS))
    for (const format of ['tsv', 'csv', 'xlsx'] as const)
      it(`${report} as ${format}: read back, the same items and counts per month`, async () => {
        const months = storedMonths(report);
        const back = await readBack(await exported(report, format, months), format);
        assert.equal(back.reportName, report);
        assert.deepEqual(
          back.months.map((m) => m.yearMonth),
          MONTHS,
        );
        assert.deepEqual(usageOf(back.months), usageOf(months));
        assert.equal(back.months[0].report.customer[0].name, 'Sample University');
        assert.equal(back.months[0].report.customer[0].id, 'inst-1');
        assert.equal(back.months[0].report.created, '2023-04-05T00:00:00.000Z');
      });

  it('JR1: the header rows, headings, the total row and one row per journal, zeros where a month has no usage', async () => {
    const path = await exported('JR1', 'tsv', storedMonths('JR1', 2));
    const rows: string[][] = [];
    for await (const row of tsvRows(path)) rows.push(row);
    assert.equal(rows[0][0].charAt(0), '\uFEFF', 'a UTF-8 byte-order mark, as the R5 exports');
    rows[0][0] = rows[0][0].slice(1);
    assert.deepEqual(rows.slice(0, 8), [
      ['Journal Report 1 (R4)', 'Number of Successful Full-Text Article Requests by Month and Journal'],
      ['Sample University'],
      ['inst-1'],
      ['Period covered by Report:'],
      ['2022-01-01 to 2022-03-31'],
      ['Date run:'],
      ['2023-04-05'],
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
        'Feb-2022',
        'Mar-2022',
      ],
    ]);
    // Journal i, month m (0 = Jan): 10·i + m unless (i + m) % 3 === 0 → journal 1: 10, 11, 0;
    // journal 2: 20, 0, 22. The publishers differ, so the total row leaves the publisher empty.
    assert.deepEqual(rows.slice(8), [
      ['Total for all journals', '', 'Platform Z', '', '', '', '', '63', '0', '0', '30', '11', '22'],
      [
        'Title "1", part 1',
        'Publisher 1',
        'Platform Z',
        'doi-1',
        'proprietary-1',
        'print_issn-1',
        'online_issn-1',
        '21',
        '0',
        '0',
        '10',
        '11',
        '0',
      ],
      [
        'Title "2", part 2',
        'Publisher 0',
        'Platform Z',
        'doi-2',
        'proprietary-2',
        'print_issn-2',
        'online_issn-2',
        '42',
        '0',
        '0',
        '20',
        '0',
        '22',
      ],
    ]);
  });

  it('JR1 of one month: the HTML and PDF totals are written and read back as that month’s', async () => {
    const month = {
      yearMonth: '2022-05',
      report: {
        version: '4',
        name: 'JR1',
        customer: [
          {
            name: 'U',
            reportItems: [
              {
                itemIdentifier: [],
                itemName: 'J',
                itemPlatform: 'P',
                itemDataType: 'JOURNAL',
                itemPerformance: [
                  {
                    category: 'REQUESTS',
                    instance: [
                      { metricType: 'FT_HTML', count: 3 },
                      { metricType: 'FT_PDF', count: 4 },
                      { metricType: 'FT_TOTAL', count: 7 },
                    ],
                  },
                ],
              },
            ],
          },
        ],
      },
    };
    const path = await exported('JR1', 'tsv', [month]);
    const rows: string[][] = [];
    for await (const row of tsvRows(path)) rows.push(row);
    assert.deepEqual(rows[9], ['J', '', 'P', '', '', '', '', '7', '3', '4', '7']);
    const back = await readBack(path, 'tsv');
    assert.deepEqual(usageOf(back.months)['J 2022-05'].counts, { FT_HTML: 3, FT_PDF: 4, FT_TOTAL: 7 });
  });

  it('DB1 lists the four user activities of every database, zeros included', async () => {
    const path = await exported('DB1', 'csv', storedMonths('DB1', 1));
    const rows: string[][] = [];
    for await (const row of csvRows(path)) rows.push(row);
    assert.deepEqual(rows[7], [
      'Database',
      'Publisher',
      'Platform',
      'User Activity',
      'Reporting Period Total',
      'Jan-2022',
      'Feb-2022',
      'Mar-2022',
    ]);
    // Item 1, metric k, month m: 10 + k + m unless (1 + k + m) % 3 === 0.
    assert.deepEqual(rows.slice(8), [
      ['Title "1", part 1', 'Publisher 1', 'Platform Z', 'Regular Searches', '21', '10', '11', '0'],
      [
        'Title "1", part 1',
        'Publisher 1',
        'Platform Z',
        'Searches-federated and automated',
        '24',
        '11',
        '0',
        '13',
      ],
      ['Title "1", part 1', 'Publisher 1', 'Platform Z', 'Result Clicks', '27', '0', '13', '14'],
      ['Title "1", part 1', 'Publisher 1', 'Platform Z', 'Record Views', '27', '13', '14', '0'],
    ]);
  });

  it('a report without a Release 4 layout (JR5) is json only, refused before any month is read', async () => {
    let read = false;
    const months = (async function* () {
      read = true;
      yield* [];
    })();
    await assert.rejects(
      prepareExport({
        release: '4',
        reportId: 'JR5',
        begin: '2022-01',
        end: '2022-03',
        format: 'csv',
        months,
      }),
      (error: unknown) =>
        error instanceof ExportError &&
        error.code === 'invalid_request' &&
        /JR5 can be exported as json only/.test(error.message),
    );
    assert.equal(read, false);
    const json = await prepareExport({
      release: '4',
      reportId: 'JR5',
      begin: '2022-01',
      end: '2022-01',
      format: 'json',
      months: storedMonths('JR1')
        .slice(0, 1)
        .map((m) => storedMonthFromReport(m.yearMonth, m.report)),
    });
    assert.equal(json.contentType, 'application/json; charset=utf-8');
    await json.dispose();
  });
});
