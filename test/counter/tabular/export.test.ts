/**
 * The export API around the samples: request checks, header rules (exceptions, Created, Exclude_
 * Monthly_Details), cell escaping, components, hidden attributes, missing months, the store adapters,
 * COUNTER 4 JSON, file names and backpressure.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import {
  contentDisposition,
  ExportError,
  exportFileName,
  prepareExport,
  storedMonthFromJsonPieces,
  storedMonthFromReport,
  type ExportRequest,
  type StoredMonth,
} from '../../../src/counter/index.ts';
import { xlsxChunks } from '../../../src/counter/tabular/writers.ts';
import { loadSamples } from '../../helpers/counter.ts';
import { bodyBytes, bodyText, parseCsv, parseTsv, readXlsx, storedMonths } from '../../helpers/tabular.ts';

type Json = Record<string, unknown>;

function header51(report: string, extra: Json = {}): Json {
  return {
    Release: '5.1',
    Report_ID: report,
    Report_Name: report === 'TR' ? 'Title Report' : report === 'IR' ? 'Item Report' : 'Report',
    Created: '2024-03-01T00:00:00Z',
    Created_By: 'Test Platform',
    Institution_ID: { Proprietary: ['t:inst'] },
    Institution_Name: 'Test Library',
    Registry_Record: '',
    Report_Attributes: { Attributes_To_Show: ['YOP', 'Access_Type', 'Access_Method'] },
    Report_Filters: { Begin_Date: '2024-01-01', End_Date: '2024-01-31' },
    ...extra,
  };
}

function title(name: string, month: string, counts: Record<string, number>, attrs: Json = {}): Json {
  return {
    Title: name,
    Publisher: 'Pub',
    Platform: 'Plat',
    Item_ID: { Proprietary: `p:${name.replace(/\W/g, '')}` },
    Attribute_Performance: [
      {
        Data_Type: 'Journal',
        YOP: '2020',
        Access_Type: 'Controlled',
        Access_Method: 'Regular',
        ...attrs,
        Performance: Object.fromEntries(Object.entries(counts).map(([m, n]) => [m, { [month]: n }])),
      },
    ],
  };
}

function month(yearMonth: string, items: Json[], header: Json = header51('TR')): StoredMonth {
  return {
    yearMonth,
    header,
    async *items() {
      yield* items;
    },
  };
}

function request(overrides: Partial<ExportRequest>): ExportRequest {
  return {
    release: '5.1',
    reportId: 'TR',
    begin: '2024-01',
    end: '2024-02',
    format: 'tsv',
    months: [],
    created: '2024-04-01T12:00:00Z',
    ...overrides,
  };
}

async function rowsOf(req: ExportRequest): Promise<string[][]> {
  return parseTsv(await bodyText(await prepareExport(req)));
}

function value(rows: string[][], label: string): string | undefined {
  return rows.find((r) => r[0] === label)?.[1];
}

async function rejects(req: ExportRequest, code: string, message: RegExp): Promise<void> {
  await assert.rejects(
    async () => {
      const exp = await prepareExport(req);
      await bodyBytes(exp);
    },
    (error: unknown) => {
      assert.ok(error instanceof ExportError, String(error));
      assert.equal(error.code, code);
      assert.match(error.message, message);
      return true;
    },
  );
}

void describe('export requests that cannot be served', () => {
  const jan = (): StoredMonth[] => [month('2024-01', [title('A', '2024-01', { Total_Item_Requests: 1 })])];
  void it('rejects bad formats, releases, reports, months and ranges with a message that says what', async () => {
    await rejects(
      request({ format: 'pdf', months: jan() }),
      'invalid_request',
      /format "pdf" is not supported/,
    );
    await rejects(request({ release: '6', months: jan() }), 'invalid_request', /Unknown COUNTER release "6"/);
    await rejects(request({ reportId: 'XX', months: jan() }), 'invalid_request', /Unknown report "XX"/);
    await rejects(
      request({ begin: '2024-1', months: jan() }),
      'invalid_request',
      /begin must be a month as yyyy-MM/,
    );
    await rejects(
      request({ begin: '2024-03', months: jan() }),
      'invalid_request',
      /begin 2024-03 is after end 2024-02/,
    );
    await rejects(
      request({ reportId: 'TR_J1', sourceReportId: 'DR', months: jan() }),
      'invalid_request',
      /TR_J1 cannot be derived from DR/,
    );
    await rejects(request({ release: '4', reportId: 'JR5', months: jan() }), 'invalid_request', /json only/);
  });

  void it('rejects months that do not fit: outside the range, out of order, another report or release, none', async () => {
    const tr = (ym: string): StoredMonth => month(ym, [title('A', ym, { Total_Item_Requests: 1 })]);
    await rejects(
      request({ months: [tr('2024-03')] }),
      'invalid_input',
      /2024-03 is outside the range 2024-01..2024-02/,
    );
    await rejects(request({ months: [tr('2024-02'), tr('2024-01')] }), 'invalid_input', /ascending order/);
    await rejects(
      request({ months: [month('2024-01', [], header51('DR'))] }),
      'invalid_input',
      /Stored month 2024-01 is a DR report, expected TR/,
    );
    await rejects(
      request({ months: [month('2024-01', [], { ...header51('TR'), Release: '5' })] }),
      'invalid_input',
      /release 5, expected 5.1/,
    );
    await rejects(request({ months: [] }), 'invalid_input', /No stored TR month in 2024-01..2024-02/);
    await rejects(
      request({ end: '2024-01', months: [month('2024-01', ['{"Title": broken'] as unknown as Json[])] }),
      'invalid_input',
      /Stored month 2024-01: an item is not valid JSON/,
    );
  });
});

void describe('header rows of a merged range', () => {
  void it('exceptions: each once; 3030 dropped when the range has usage; Reporting_Period is the range', async () => {
    const e3031 = {
      Code: 3031,
      Message: 'Usage Not Ready for Requested Dates',
      Data: 'usage is only available to 2024-01-31',
    };
    const e3030 = { Code: 3030, Message: 'No Usage Available for Requested Dates' };
    const rows = await rowsOf(
      request({
        end: '2024-03',
        months: [
          month(
            '2024-01',
            [title('A', '2024-01', { Total_Item_Requests: 2 })],
            header51('TR', { Exceptions: [e3031] }),
          ),
          month('2024-02', [], header51('TR', { Exceptions: [e3030, e3031] })),
        ],
      }),
    );
    assert.equal(
      value(rows, 'Exceptions'),
      '3031: Usage Not Ready for Requested Dates (usage is only available to 2024-01-31)',
    );
    assert.equal(value(rows, 'Reporting_Period'), 'Begin_Date=2024-01-01; End_Date=2024-03-31');
    const noUsage = await rowsOf(
      request({
        months: [
          month('2024-01', [], header51('TR', { Exceptions: [e3030] })),
          month('2024-02', [], header51('TR', { Exceptions: [e3030] })),
        ],
      }),
    );
    assert.equal(value(noUsage, 'Exceptions'), '3030: No Usage Available for Requested Dates');
    assert.equal(noUsage[noUsage.length - 1][0], 'Title', 'headings, no data rows');
  });

  void it('Created is the export time, Created_By names the stored creator and the exporter by default', async () => {
    const exp = await prepareExport({
      ...request({ months: [month('2024-01', [title('A', '2024-01', { Total_Item_Requests: 1 })])] }),
      created: undefined,
    });
    const rows = parseTsv(await bodyText(exp));
    assert.match(value(rows, 'Created') ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.ok(Math.abs(Date.parse(value(rows, 'Created') ?? '') - Date.now()) < 600_000);
    assert.equal(value(rows, 'Created_By'), 'Test Platform via erm-usage-harvester');
    const custom = await rowsOf(
      request({
        months: [month('2024-01', [title('A', '2024-01', { Total_Item_Requests: 1 })])],
        createdBy: (stored) => `${stored} (FOLIO)`,
      }),
    );
    assert.equal(value(custom, 'Created_By'), 'Test Platform (FOLIO)');
  });

  void it('Exclude_Monthly_Details: no month columns, the attribute in Report_Attributes', async () => {
    const rows = await rowsOf(
      request({
        excludeMonthlyDetails: true,
        months: [
          month('2024-01', [title('A', '2024-01', { Total_Item_Requests: 2 })]),
          month('2024-02', [title('A', '2024-02', { Total_Item_Requests: 3 })]),
        ],
      }),
    );
    assert.equal(
      value(rows, 'Report_Attributes'),
      'Attributes_To_Show=YOP|Access_Type|Access_Method; Exclude_Monthly_Details=True',
    );
    const headings = rows.find((r) => r[0] === 'Title') ?? [];
    assert.deepEqual(headings.slice(-3), ['Access_Method', 'Metric_Type', 'Reporting_Period_Total']);
    assert.deepEqual(rows[rows.length - 1].slice(-2), ['Total_Item_Requests', '5']);
    assert.equal(rows[0].length, headings.length, 'R5.1 header rows padded to the table width');
  });
});

void describe('rows', () => {
  void it('months of the range without a stored month are 0 and reported as missing', async () => {
    const exp = await prepareExport(
      request({
        end: '2024-03',
        months: [month('2024-02', [title('A', '2024-02', { Total_Item_Requests: 4 })])],
      }),
    );
    const rows = parseTsv(await bodyText(exp));
    assert.deepEqual(rows[rows.length - 1].slice(-5), ['Total_Item_Requests', '4', '0', '4', '0']);
    assert.deepEqual(exp.missingMonths(), ['2024-01', '2024-03']);
  });

  void it('an attribute the header does not show is summed over (one row per shown combination)', async () => {
    const rows = await rowsOf(
      request({
        end: '2024-01',
        months: [
          month(
            '2024-01',
            [
              {
                ...title('A', '2024-01', { Total_Item_Requests: 2 }),
                Attribute_Performance: [
                  {
                    Data_Type: 'Journal',
                    YOP: '2020',
                    Performance: { Total_Item_Requests: { '2024-01': 2 } },
                  },
                  {
                    Data_Type: 'Journal',
                    YOP: '2021',
                    Performance: { Total_Item_Requests: { '2024-01': 5 } },
                  },
                ],
              },
            ],
            header51('TR', { Report_Attributes: {} }),
          ),
        ],
      }),
    );
    const headings = rows.find((r) => r[0] === 'Title') ?? [];
    assert.ok(!headings.includes('YOP'));
    assert.deepEqual(
      rows.slice(rows.indexOf(headings) + 1).map((r) => r.slice(-3)),
      [['Total_Item_Requests', '7', '7']],
    );
  });

  void it('tsv turns tabs and line breaks inside a cell into spaces; csv quotes them', async () => {
    const tricky = 'A "quoted", title\twith\nbreaks';
    const months = (): StoredMonth[] => [
      month('2024-01', [title(tricky, '2024-01', { Total_Item_Requests: 1 })]),
    ];
    const tsv = await rowsOf(request({ end: '2024-01', months: months() }));
    assert.equal(tsv[tsv.length - 1][0], 'A "quoted", title with breaks');
    const csvText = await bodyText(
      await prepareExport(request({ end: '2024-01', format: 'csv', months: months() })),
    );
    assert.ok(csvText.includes('"A ""quoted"", title\twith\nbreaks"'));
    const csv = parseCsv(csvText);
    assert.equal(csv[csv.length - 1][0], tricky);
  });

  void it('IR with component details: a row per component and metric, component cells filled', async () => {
    const ir = {
      Item: 'Dataset X',
      Publisher: 'Repo',
      Platform: 'Repo',
      Item_ID: { Proprietary: 'r:x' },
      Attribute_Performance: [
        {
          Data_Type: 'Dataset',
          Performance: { Total_Item_Requests: { '2024-01': 5 }, Unique_Item_Requests: { '2024-01': 4 } },
          Components: [
            {
              Item: 'File 1',
              Item_ID: { Proprietary: 'r:x1' },
              Attribute_Performance: [
                { Data_Type: 'Other', Performance: { Total_Item_Requests: { '2024-01': 3 } } },
              ],
            },
          ],
        },
      ],
    };
    const header = header51('IR', { Report_Attributes: { Include_Component_Details: 'True' } });
    const rows = await rowsOf(
      request({ reportId: 'IR', end: '2024-01', months: [month('2024-01', [{ Items: [ir] }], header)] }),
    );
    const headings = rows.find((r) => r[0] === 'Item') ?? [];
    const column = (row: string[], name: string): string => row[headings.indexOf(name)];
    const data = rows.slice(rows.indexOf(headings) + 1);
    assert.deepEqual(
      data.map((r) => [
        column(r, 'Component_Title'),
        column(r, 'Component_Proprietary_ID'),
        column(r, 'Component_Data_Type'),
        ...r.slice(-3),
      ]),
      [
        ['', '', '', 'Total_Item_Requests', '5', '5'],
        ['', '', '', 'Unique_Item_Requests', '4', '4'],
        ['File 1', 'r:x1', 'Other', 'Total_Item_Requests', '3', '3'],
      ],
    );
  });
});

const sample = loadSamples().find((s) => s.name === 'r51/TR_sample_r51.json');

void describe('store adapters', () => {
  void it('a month as JSON text in pieces (header after the items) gives the same export as the month object', async () => {
    assert.ok(sample);
    const months = await storedMonths(sample.text, '5.1');
    const first = months[0];
    const report = {
      Report_Items: first.texts.map((t) => JSON.parse(t) as Json),
      Report_Header: first.header,
    };
    const text = JSON.stringify(report);
    const pieces = async function* (): AsyncGenerator<string> {
      for (let i = 0; i < text.length; i += 777) yield text.slice(i, i + 777);
    };
    const fromPieces = await storedMonthFromJsonPieces('2022-01', pieces);
    const fromObject = storedMonthFromReport('2022-01', report);
    const base = request({ begin: '2022-01', end: '2022-01' });
    const a = await bodyText(await prepareExport({ ...base, months: [fromPieces] }));
    const b = await bodyText(await prepareExport({ ...base, months: [fromObject] }));
    assert.equal(a, b);
    assert.ok(parseTsv(a).length > 20);
    await assert.rejects(
      storedMonthFromJsonPieces('2022-01', async function* () {
        yield '{"Report_Items": [';
      }),
      (e: unknown) => e instanceof ExportError && /2022-01/.test(e.message),
    );
  });
});

void describe('COUNTER 4', () => {
  const jr1 = (ym: string, items: Json[]): Json => ({
    vendor: { name: 'V', id: 'v', contact: [] },
    created: `${ym}-28T10:00:00.000Z`,
    id: 'r',
    version: '4',
    name: 'Journal Report 1 (R4)',
    title: 'JR1',
    customer: [{ name: 'Lib', id: 'c1', contact: [], institutionalIdentifier: [], reportItems: items }],
  });
  const journal = (name: string, ym: string, html: number): Json => ({
    itemIdentifier: [{ type: 'ONLINE_ISSN', value: '1111-1111' }],
    itemContributor: [],
    itemDate: [],
    itemAttribute: [],
    itemPlatform: 'P',
    itemPublisher: 'Pub',
    itemName: name,
    itemDataType: 'JOURNAL',
    itemPerformance: [
      {
        period: { begin: `${ym}-01`, end: `${ym}-28` },
        category: 'REQUESTS',
        instance: [{ metricType: 'FT_HTML', count: html }],
      },
    ],
  });

  void it('months merge into one report of the stored JSON form, performance in month order', async () => {
    const exp = await prepareExport({
      release: '4',
      reportId: 'JR1',
      begin: '2018-01',
      end: '2018-02',
      format: 'json',
      months: [
        storedMonthFromReport('2018-01', jr1('2018-01', [journal('A', '2018-01', 2)])),
        storedMonthFromReport(
          '2018-02',
          jr1('2018-02', [journal('B', '2018-02', 5), journal('A', '2018-02', 3)]),
        ),
      ],
    });
    assert.equal(exp.contentType, 'application/json; charset=utf-8');
    assert.equal(exp.fileName, 'JR1_4_2018-01_2018-02.json');
    const merged = JSON.parse(await bodyText(exp)) as Json;
    const items = (merged.customer as Array<{ reportItems: Json[]; name: string }>)[0];
    assert.equal(items.name, 'Lib');
    assert.deepEqual(
      items.reportItems.map((i) => [
        i.itemName,
        (i.itemPerformance as Json[]).map((p) => (p.period as Json).begin),
      ]),
      [
        ['A', ['2018-01-01', '2018-02-01']],
        ['B', ['2018-02-01']],
      ],
    );
    assert.equal(merged.name, 'Journal Report 1 (R4)');
  });
});

void describe('files and streams', () => {
  void it('file names as FOLIO’s UI saves them, content types, Content-Disposition', async () => {
    assert.equal(
      exportFileName(
        { providerId: 'f7a3', reportId: 'TR_J1', release: '5.1', begin: '2022-01', end: '2022-12' },
        'xlsx',
      ),
      'f7a3_TR_J1_5.1_2022-01_2022-12.xlsx',
    );
    assert.equal(
      exportFileName({ reportId: 'JR1 GOA', release: '4', begin: '2018-01', end: '2018-01' }, 'json'),
      'JR1-GOA_4_2018-01_2018-01.json',
    );
    assert.equal(contentDisposition('a.tsv'), 'attachment; filename="a.tsv"');
    assert.equal(
      contentDisposition('Bücher.tsv'),
      `attachment; filename="B_cher.tsv"; filename*=UTF-8''B%C3%BCcher.tsv`,
    );
    const exp = await prepareExport(
      request({
        format: 'xlsx',
        providerId: 'p1',
        months: [month('2024-01', [title('A', '2024-01', { Total_Item_Requests: 1 })])],
      }),
    );
    assert.equal(exp.contentType, 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    assert.equal(exp.contentDisposition, 'attachment; filename="p1_TR_5.1_2024-01_2024-02.xlsx"');
    const cells = await readXlsx(await bodyBytes(exp));
    assert.deepEqual(cells[cells.length - 1].slice(-4), ['Total_Item_Requests', 1, 1, 0]);
  });

  void it('writeTo waits for a slow consumer and delivers every byte', async () => {
    const titles = Array.from({ length: 3000 }, (_, i) =>
      title(`Title ${i}`, '2024-01', { Total_Item_Requests: i + 1 }),
    );
    const make = (): ExportRequest => request({ end: '2024-01', months: [month('2024-01', titles)] });
    const expected = await bodyBytes(await prepareExport(make()));
    const parts: Buffer[] = [];
    let waiting = 0;
    const slow = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _encoding, callback) {
        parts.push(chunk);
        waiting += 1;
        setTimeout(callback, 1);
      },
    });
    await (await prepareExport(make())).writeTo(slow);
    assert.ok(waiting > 1);
    assert.ok(Buffer.concat(parts).equals(expected));
  });

  void it('xlsx refuses more rows than a worksheet holds', async () => {
    const source = {
      headings: [['Title', 'Metric_Type']],
      async *rows() {
        for (let i = 0; i < 10; i++) yield [[`T${i}`, 'Total_Item_Requests']];
      },
    };
    await assert.rejects(
      async () => {
        for await (const chunk of xlsxChunks(source, 'TR', 5)) assert.ok(chunk.length >= 0);
      },
      (e: unknown) =>
        e instanceof ExportError && e.code === 'too_large' && /more than 5 rows/.test(e.message),
    );
  });
});
