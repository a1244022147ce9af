/**
 * POST /counter-reports/multipartupload/provider/{id} with COUNTER 4 tabular files (docs/counter-tabular.md,
 * section 10): a JR1 written by hand with the mock COUNTER 4 server's journals and counts is stored as
 * the months a cs41 harvest of the mock stores (release 4, report JR1, the same items and FT_TOTAL
 * counts, item counts), as tsv, csv and xlsx; harvested months are kept unless overwrite=true; a file
 * for a provider of another release, an unsupported R4 report and a bad row are refused with a 400 and
 * leave nothing behind. On PGlite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startMockCounterServer, type MockCounterServer } from '../../mock/counter-server.ts';
import type { RunningService } from '../../src/server.ts';
import { addProvider, reportsOf, waitForJobs } from '../helpers/harvest.ts';
import { backends } from '../helpers/service.ts';
import { FIXTURES } from '../helpers/sushi.ts';
import { storedMonths, tsvAsCsv, upload, uploadProvider } from '../helpers/upload.ts';

const JR1 = readFileSync(join(FIXTURES, 'r4', 'JR1.tsv'), 'utf8');
const DB1 = readFileSync(join(FIXTURES, 'r4', 'DB1.csv'), 'utf8');

type Item = Record<string, any> & {
  itemPerformance: { instance: { metricType: string; count: number }[] }[];
};

const itemsOf = (record: Record<string, any>): Item[] => record.report.customer[0].reportItems;

/** Each item's description (without its usage) and its FT_TOTAL count of the month. */
function journals(record: Record<string, any>) {
  return itemsOf(record).map(({ itemPerformance, ...description }) => ({
    description,
    ftTotal: itemPerformance
      .flatMap((p) => p.instance)
      .filter((i) => i.metricType === 'FT_TOTAL')
      .map((i) => i.count),
  }));
}

for (const backend of backends()) {
  describe(`upload of COUNTER 4 tabular files (${backend.name})`, () => {
    let svc: RunningService;
    let mock: MockCounterServer;
    let harvestedId: string;
    let harvested: Record<string, any>[];
    before(async () => {
      mock = await startMockCounterServer();
      svc = await backend.start({ config: { mode: 'standalone' } });
      harvestedId = await addProvider(svc, {
        serviceUrl: `${mock.url}/ok-r4/sushi4`,
        release: '4',
        reports: ['JR1'],
        start: '2022-01',
        end: '2022-03',
      });
      await svc.jobs.startTenantJob('diku');
      await waitForJobs(svc, 240_000);
      harvested = await reportsOf(svc, harvestedId);
      assert.deepEqual(
        harvested.map((r) => r.yearMonth),
        ['2022-01', '2022-02', '2022-03'],
      );
    });
    after(async () => {
      await svc?.close();
      await mock?.close();
    });

    const provider = (release: string, label: string) => uploadProvider(svc, label, release, ['JR1']);

    async function asXlsx(tsv: string): Promise<Uint8Array> {
      const ExcelJS = (await import('exceljs')).default;
      const wb = new ExcelJS.Workbook();
      const sheet = wb.addWorksheet('JR1');
      // Counts as numbers; month headings and the date run as date cells, as spreadsheets keep them.
      const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
      const cell = (c: string): string | number | Date => {
        if (/^\d+$/.test(c)) return Number(c);
        const month = /^([A-Z][a-z]{2})-(\d{4})$/.exec(c);
        if (month) return new Date(Date.UTC(Number(month[2]), MONTHS.indexOf(month[1]), 1));
        if (/^\d{4}-\d{2}-\d{2}$/.test(c)) return new Date(`${c}T00:00:00Z`);
        return c;
      };
      for (const line of tsv.split('\n').slice(0, -1)) sheet.addRow(line.split('\t').map(cell));
      return new Uint8Array(await wb.xlsx.writeBuffer());
    }

    for (const format of ['tsv', 'csv', 'xlsx'] as const)
      it(`JR1 as ${format}: the months, items and counts a COUNTER 4 harvest of the same usage stores`, async () => {
        const pid = await provider('4', `r4 ${format}`);
        const content = format === 'tsv' ? JR1 : format === 'csv' ? tsvAsCsv(JR1) : await asXlsx(JR1);
        const res = await upload(svc, pid, `JR1.${format}`, content);
        assert.equal(res.status, 200, res.text);
        assert.match(res.text, /^Saved report with ids: [0-9a-f-]{36},[0-9a-f-]{36},[0-9a-f-]{36}$/);
        const stored = await reportsOf(svc, pid);
        assert.deepEqual(
          stored.map((r) => [r.release, r.reportName, r.yearMonth, r.itemCount]),
          harvested.map((r) => [r.release, r.reportName, r.yearMonth, r.itemCount]),
        );
        for (const [i, record] of stored.entries()) {
          assert.deepEqual(journals(record), journals(harvested[i]), record.yearMonth);
          assert.deepEqual(record.harvestState, {
            state: 'harvested',
            source: 'upload',
            fileName: `JR1.${format}`,
          });
          assert.equal(record.report.name, 'JR1');
          assert.equal(record.report.version, '4');
          assert.equal(record.report.created, '2022-04-05T00:00:00.000Z');
          assert.match(record.contentHash, /^[0-9a-f]{64}$/);
          assert.equal(record.failedReason, undefined);
        }
      });

    const exportOf = (pid: string, report: string, from: string, to: string, format: string) =>
      fetch(
        `${svc.url}/counter-reports/export/provider/${pid}/report/${encodeURIComponent(report)}/version/4/from/${from}/to/${to}?format=${format}`,
        { headers: { 'x-okapi-tenant': 'diku' } },
      );
    const cellsOf = (text: string, separator: string) =>
      text
        .replace(/^\uFEFF/, '')
        .split(separator === ',' ? '\r\n' : '\n')
        .slice(0, -1)
        .map((line) => line.split(separator));

    it('an uploaded JR1 exported again as json gives the counts of the file', async () => {
      const pid = await provider('4', 'r4 export');
      assert.equal((await upload(svc, pid, 'JR1.tsv', JR1)).status, 200);
      const res = await exportOf(pid, 'JR1', '2022-01', '2022-03', 'json');
      assert.equal(res.status, 200, await res.clone().text());
      const merged: any = await res.json();
      const rows = (merged.customer[0].reportItems as Item[]).map((item) => [
        item.itemName,
        item.itemPerformance.map((p) => p.instance.find((i) => i.metricType === 'FT_TOTAL')?.count),
      ]);
      // The data rows of the file: journal, then the counts of Jan..Mar 2022.
      const want = JR1.split('\n')
        .slice(9, -1)
        .map((line) => line.split('\t'))
        .map((cells) => [cells[0], cells.slice(10).map(Number)]);
      assert.deepEqual(rows, want);
    });

    it('the harvested JR1 exported as tsv is the COUNTER 4 table of the mock’s usage, as written by hand', async () => {
      const res = await exportOf(harvestedId, 'JR1', '2022-01', '2022-03', 'tsv');
      assert.equal(res.status, 200, await res.clone().text());
      assert.equal(res.headers.get('content-type'), 'text/tab-separated-values; charset=utf-8');
      assert.match(res.headers.get('content-disposition') ?? '', /_JR1_4_2022-01_2022-03\.tsv"$/);
      const got = cellsOf(await res.text(), '\t');
      const want = cellsOf(JR1, '\t');
      const customer = harvested[0].report.customer[0];
      assert.deepEqual(got[0], want[0]);
      assert.deepEqual(got.slice(1, 3), [[customer.name ?? ''], [customer.id ?? '']]);
      assert.deepEqual(got.slice(3, 6), want.slice(3, 6), 'period covered');
      assert.match(got[6][0], /^\d{4}-\d{2}-\d{2}$/, 'date run');
      // Headings, the total row, the journals with FT_TOTAL per month and the period's HTML and PDF.
      assert.deepEqual(got.slice(7), want.slice(7));
    });

    it('csv and xlsx hold the same cells as tsv; an exported table uploaded again stores the same usage', async () => {
      const tsv = cellsOf(
        await (await exportOf(harvestedId, 'JR1', '2022-01', '2022-03', 'tsv')).text(),
        '\t',
      );
      const csvRes = await exportOf(harvestedId, 'JR1', '2022-01', '2022-03', 'csv');
      assert.equal(csvRes.headers.get('content-type'), 'text/csv; charset=utf-8');
      const csvText = await csvRes.text();
      assert.deepEqual(cellsOf(csvText, ','), tsv);
      const xlsxRes = await exportOf(harvestedId, 'JR1', '2022-01', '2022-03', 'xlsx');
      assert.equal(xlsxRes.status, 200);
      const ExcelJS = (await import('exceljs')).default;
      const wb = new ExcelJS.Workbook();
      await wb.xlsx.load(Buffer.from(await xlsxRes.arrayBuffer()) as any);
      const sheetRows: string[][] = [];
      wb.worksheets[0].eachRow({ includeEmpty: true }, (row) => {
        const values = Array.from((row.values as (string | number | null | undefined)[]).slice(1));
        sheetRows.push(values.map((v) => (v === null || v === undefined ? '' : String(v))));
      });
      const trim = (rows: string[][]) =>
        rows.map((r) => {
          const out = [...r];
          while (out.length > 0 && out[out.length - 1] === '') out.pop();
          return out;
        });
      assert.deepEqual(trim(sheetRows), trim(tsv));

      const pid = await provider('4', 'r4 round trip');
      const res = await upload(svc, pid, 'export.csv', csvText);
      assert.equal(res.status, 200, res.text);
      const stored = await reportsOf(svc, pid);
      assert.deepEqual(
        stored.map((r) => [r.reportName, r.yearMonth, r.itemCount]),
        harvested.map((r) => [r.reportName, r.yearMonth, r.itemCount]),
      );
      for (const [i, record] of stored.entries())
        assert.deepEqual(journals(record), journals(harvested[i]), record.yearMonth);
    });

    it('one stored R4 month exported as csv; the range of an uploaded DB1 lists every activity of each database', async () => {
      const one = await fetch(`${svc.url}/counter-reports/export/${harvested[1].id}?format=csv`, {
        headers: { 'x-okapi-tenant': 'diku' },
      });
      assert.equal(one.status, 200, await one.clone().text());
      const rows = cellsOf(await one.text(), ',');
      assert.deepEqual(rows[4], ['2022-02-01 to 2022-02-28']);
      assert.deepEqual(rows[7].slice(-4), [
        'Reporting Period Total',
        'Reporting Period HTML',
        'Reporting Period PDF',
        'Feb-2022',
      ]);
      assert.equal(rows.length, 9 + journals(harvested[1]).length);

      const pid = await provider('4', 'r4 db1 export');
      assert.equal((await upload(svc, pid, 'DB1.csv', DB1)).status, 200);
      const db1 = await exportOf(pid, 'DB1', '2022-01', '2022-02', 'csv');
      assert.equal(db1.status, 200, await db1.clone().text());
      const got = cellsOf(await db1.text(), ',');
      const want = DB1.replace(/\r\n$/, '')
        .split('\r\n')
        .map((line) => line.split(','));
      assert.deepEqual(got[7], want[7], 'headings');
      const key = (r: string[]) => `${r[0]}|${r[3]}`;
      const data = new Map(got.slice(8).map((r) => [key(r), r]));
      // Every row of the file is there; the activities the file leaves out of Database B are zero rows.
      for (const row of want.slice(8)) assert.deepEqual(data.get(key(row)), row);
      assert.deepEqual(data.get('Database B|Record Views'), [
        'Database B',
        'Publisher Y',
        'Platform Z',
        'Record Views',
        '0',
        '0',
        '0',
      ]);
      assert.equal(data.size, 8);
    });

    it('DB1 as csv: a month with one database and a month with two', async () => {
      const pid = await provider('4', 'r4 db1');
      const res = await upload(svc, pid, 'DB1.csv', DB1);
      assert.equal(res.status, 200, res.text);
      const stored = await reportsOf(svc, pid);
      assert.deepEqual(
        stored.map((r) => [r.reportName, r.yearMonth, r.itemCount]),
        [
          ['DB1', '2022-01', 1],
          ['DB1', '2022-02', 2],
        ],
      );
    });

    it('harvested COUNTER 4 months are kept unless overwrite=true', async () => {
      const again = await upload(svc, harvestedId, 'JR1.tsv', JR1);
      assert.equal(again.status, 400, again.text);
      assert.deepEqual(again.json, {
        code: 'REPORTS_ALREADY_PRESENT',
        message: 'One or more reports already exist for the time period.',
        details: 'Report already existing for months: 2022-01, 2022-02, 2022-03',
      });
      const over = await upload(svc, harvestedId, 'JR1.tsv', JR1, true);
      assert.equal(over.status, 200, over.text);
      const after = await reportsOf(svc, harvestedId);
      assert.deepEqual(
        after.map((r) => r.id),
        harvested.map((r) => r.id),
        'the same records, replaced',
      );
      assert.ok(after.every((r) => r.harvestState?.source === 'upload'));
      assert.equal(await storedMonths(svc, harvestedId), 3);
    });

    const lines = JR1.split('\n');
    const bad: [string, string, string, string, RegExp][] = [
      [
        'a COUNTER 4 file for a release 5.1 provider',
        '5.1',
        JR1,
        'UNSUPPORTED_REPORT_RELEASE',
        /release 4 report; the provider harvests release 5\.1/,
      ],
      [
        'a count that is not a number',
        '4',
        lines.map((l, i) => (i === 10 ? l.replace('\t53\t', '\tmany\t') : l)).join('\n'),
        'INVALID_REPORT_CONTENT',
        /^Row 11, column Feb-2022: 'many' is not a count/,
      ],
      [
        'a total that does not add up',
        '4',
        lines.map((l, i) => (i === 9 ? l.replace('\t99\t', '\t98\t') : l)).join('\n'),
        'INVALID_REPORT_CONTENT',
        /^Row 10, column Reporting Period Total: Reporting Period Total is 98, the months add up to 99/,
      ],
      [
        'an R4 report that is not read from tabular files',
        '4',
        JR1.replace('Journal Report 1 (R4)', 'Journal Report 5 (R4)'),
        'UNSUPPORTED_REPORT_TYPE',
        /JR5 is not read from tabular files/,
      ],
      [
        'a header without the period covered',
        '4',
        lines.filter((_, i) => i !== 3 && i !== 4).join('\n'),
        'INVALID_REPORT_CONTENT',
        /no 'Period covered by Report'/,
      ],
    ];
    for (const [what, release, content, code, details] of bad)
      it(`refuses ${what} with a 400 saying where, storing nothing`, async () => {
        const pid = await provider(release, `r4 bad ${what}`);
        const res = await upload(svc, pid, 'JR1.tsv', content);
        assert.equal(res.status, 400, res.text);
        assert.equal(res.json.code, code, res.text);
        assert.match(res.json.details, details);
        assert.equal(await storedMonths(svc, pid), 0);
      });

    it('a COUNTER 5 file for a release 4 provider is refused', async () => {
      const pid = await provider('4', 'r5 to r4');
      const res = await upload(svc, pid, 'TR.tsv', readFileSync(join(FIXTURES, 'r51', 'TR_sample_r51.tsv')));
      assert.equal(res.status, 400, res.text);
      assert.equal(res.json.code, 'UNSUPPORTED_REPORT_RELEASE');
      assert.equal(await storedMonths(svc, pid), 0);
    });
  });
}
