/**
 * The truth test of the exports (issue 6, part 1): the 32 official COUNTER JSON samples are harvested through
 * the mock COUNTER server, then the sample window is exported over HTTP
 * (`/counter-reports/export/provider/…`) and compared with the official TSV twin row for row: the header
 * rows (Created and Created_By apart), the column headings and every data row, as tsv, csv (RFC 4180)
 * and xlsx (read back with exceljs), on PGlite and PostgreSQL. Each view is exported twice: as harvested
 * (a provider asking for all 16 reports) and derived from the stored master report (a provider asking for
 * the 4 master reports only). One harvest per database; then the other answers of the export routes:
 * 400/404/422, one month, download, sorted.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  MOCK_REPORT_IDS,
  startMockCounterServer,
  type MockCounterServer,
} from '../../mock/counter-server.ts';
import type { RunningService } from '../../src/server.ts';
import { loadSamples, type Sample } from '../helpers/counter.ts';
import { addProvider, reportsOf, waitForJobs } from '../helpers/harvest.ts';
import { backends, testHarvest } from '../helpers/service.ts';
import {
  REORDERED,
  headerRowCount,
  officialTsv,
  parseCsv,
  parseTsv,
  readXlsx,
  sampleHeader,
  sampleWindow,
  trimRow,
  type XlsxCell,
} from '../helpers/tabular.ts';

const WINDOWS = { '5.1': ['2022-01', '2022-12'], '5': ['2016-01', '2016-03'] } as const;
const MASTERS = ['PR', 'DR', 'TR', 'IR'];
const samples = loadSamples();

interface Providers {
  /** Asked for all 16 reports: views are stored as harvested. */
  all: string;
  /** Asked for the master reports only: views are derived. */
  masters: string;
}

async function download(
  svc: RunningService,
  path: string,
): Promise<{ status: number; headers: Headers; bytes: Buffer }> {
  const res = await fetch(svc.url + path, { headers: { 'x-okapi-tenant': 'diku' } });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

function rangePath(providerId: string, sample: Sample, format: string): string {
  const [begin, end] = sampleWindow(sample);
  const name = String(sampleHeader(sample).Report_ID);
  return `/counter-reports/export/provider/${providerId}/report/${name}/version/${sample.release}/from/${begin}/to/${end}?format=${format}`;
}

/** Ours against the official TSV: header rows (Created, Created_By apart), headings, data rows. */
function assertOfficial(sample: Sample, ours: string[][], what: string): void {
  const official = parseTsv(officialTsv(sample).toString('utf8'));
  const head = headerRowCount(sample) + 1;
  assert.equal(ours.length, official.length, `${what}: number of rows`);
  for (let r = 0; r < head + 1; r++) {
    const label = official[r][0];
    if (label === 'Created')
      assert.match(ours[r][1], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, `${what}: Created`);
    else if (label === 'Created_By')
      assert.equal(ours[r][1], `${official[r][1]} via erm-usage-harvester`, `${what}: Created_By`);
    else assert.deepEqual(ours[r], official[r], `${what}: row ${r + 1} (${label})`);
  }
  const reorder = REORDERED[sample.name];
  const expected = reorder ? reorder(official.slice(head), sample) : official.slice(head);
  assert.deepEqual(ours.slice(head), expected, `${what}: headings and data rows`);
}

/** The xlsx cells as the tsv's strings (counts are numbers in the sheet), padded to the sheet's width. */
function xlsxAsStrings(sample: Sample, rows: XlsxCell[][], width: (r: number) => number): string[][] {
  const head = headerRowCount(sample) + 1;
  return rows.map((row, r) => {
    const cells = trimRow(row, (c) => c === null).map((c) => {
      if (typeof c === 'number') assert.ok(r > head, `row ${r + 1}: a number only in data rows`);
      return c === null ? '' : String(c);
    });
    while (cells.length < width(r)) cells.push('');
    return cells;
  });
}

for (const backend of backends()) {
  void describe(`exports of the 32 official samples, harvested through the mock (${backend.name})`, () => {
    let svc: RunningService;
    let mock: MockCounterServer;
    const providers = new Map<string, Providers>();

    before(async () => {
      mock = await startMockCounterServer();
      svc = await backend.start({
        config: { harvest: testHarvest({ enableStandardViews: true, requestConcurrency: 8 }) },
      });
      for (const release of ['5.1', '5'] as const) {
        const [start, end] = WINDOWS[release];
        const tag = release.replace('.', '');
        const spec = { release, start, end };
        providers.set(release, {
          all: await addProvider(svc, {
            ...spec,
            label: `${release} all`,
            serviceUrl: `${mock.url}/ok-${tag}all`,
            reports: MOCK_REPORT_IDS.map((id) => id.toUpperCase()),
          }),
          masters: await addProvider(svc, {
            ...spec,
            label: `${release} masters`,
            serviceUrl: `${mock.url}/ok-${tag}masters`,
            reports: MASTERS,
          }),
        });
      }
      await svc.jobs.startTenantJob('diku');
      await waitForJobs(svc, 300_000);
    });
    after(async () => {
      await svc?.close();
      await mock?.close();
    });

    void it('harvested every month of every report', async () => {
      for (const [release, p] of providers) {
        const [start, end] = WINDOWS[release as '5' | '5.1'];
        const months = release === '5.1' ? 12 : 3;
        const all = await reportsOf(svc, p.all);
        assert.equal(all.length, 16 * months, `${release}: ${start}..${end}`);
        assert.ok(all.every((r) => r.failedReason === undefined));
        assert.equal((await reportsOf(svc, p.masters)).length, 4 * months);
      }
    });

    for (const sample of samples) {
      const reportId = String(sampleHeader(sample).Report_ID);
      const derivedToo = !MASTERS.includes(reportId);
      void it(`${sample.name}: tsv, csv and xlsx are the official file${derivedToo ? ' (harvested and derived view)' : ''}`, async () => {
        const p = providers.get(sample.release)!;
        const sources: [string, string][] = [['harvested', p.all]];
        if (derivedToo) sources.push(['derived', p.masters]);
        for (const [how, providerId] of sources) {
          const tsv = await download(svc, rangePath(providerId, sample, 'tsv'));
          assert.equal(tsv.status, 200, `${how}: ${tsv.bytes.toString('utf8')}`);
          assert.equal(tsv.headers.get('content-type'), 'text/tab-separated-values; charset=utf-8');
          const [begin, end] = sampleWindow(sample);
          assert.equal(
            tsv.headers.get('content-disposition'),
            `attachment; filename="${providerId}_${reportId}_${sample.release}_${begin}_${end}.tsv"`,
          );
          const tsvRows = parseTsv(tsv.bytes.toString('utf8'));
          assertOfficial(sample, tsvRows, `${how} tsv`);

          const csv = await download(svc, rangePath(providerId, sample, 'csv'));
          assert.equal(csv.status, 200);
          assert.equal(csv.headers.get('content-type'), 'text/csv; charset=utf-8');
          assertOfficial(sample, parseCsv(csv.bytes.toString('utf8')), `${how} csv`);

          const xlsx = await download(svc, rangePath(providerId, sample, 'xlsx'));
          assert.equal(xlsx.status, 200);
          assert.equal(
            xlsx.headers.get('content-type'),
            'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
          );
          const sheet = await readXlsx(xlsx.bytes);
          assertOfficial(
            sample,
            xlsxAsStrings(sample, sheet, (r) => tsvRows[r]?.length ?? 0),
            `${how} xlsx`,
          );
        }
      });
    }

    void it('json: the merged COUNTER report of the window with the sample’s items', async () => {
      const sample = samples.find((s) => s.name === 'r51/TR_sample_r51.json')!;
      const res = await download(svc, rangePath(providers.get('5.1')!.all, sample, 'json'));
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
      const report = JSON.parse(res.bytes.toString('utf8')) as Record<string, unknown>;
      assert.deepEqual(report.Report_Items, sample.json.Report_Items);
    });

    void it('bad requests: 400 for format, version, report name and range; 404 for provider and no data', async () => {
      const pid = providers.get('5.1')!.all;
      const base = `/counter-reports/export/provider/${pid}/report`;
      const cases: [string, number, RegExp][] = [
        [`${base}/TR/version/5.1/from/2022-01/to/2022-12?format=pdf`, 400, /format "pdf" is not supported/],
        [`${base}/TR/version/6/from/2022-01/to/2022-12?format=csv`, 400, /counter version "6"/],
        [`${base}/XX_Y9/version/5.1/from/2022-01/to/2022-12`, 400, /Unknown report "XX_Y9"/],
        [`${base}/TR/version/5.1/from/2022-13/to/2022-12`, 400, /begin must be a month as yyyy-MM/],
        [`${base}/TR/version/5.1/from/2022-12/to/2022-01`, 400, /begin 2022-12 is after end 2022-01/],
        [`${base}/TR/version/5.1/from/2030-01/to/2030-12`, 404, /No stored TR month .* 2030-01\.\.2030-12/],
        [`${base}/TR_J1/version/5/from/2022-01/to/2022-12`, 404, /No stored TR_J1 or TR month/],
        [
          `/counter-reports/export/provider/8a3b6a0e-5bb8-4c4b-9c59-0e8c9e0f0001/report/TR/version/5.1/from/2022-01/to/2022-12`,
          404,
          /Usage data provider .* not found/,
        ],
        [`/counter-reports/export/8a3b6a0e-5bb8-4c4b-9c59-0e8c9e0f0001`, 404, /Not found/],
        [`/counter-reports/8a3b6a0e-5bb8-4c4b-9c59-0e8c9e0f0001/download`, 404, /Not found/],
      ];
      for (const [path, status, message] of cases) {
        const res = await download(svc, path);
        assert.equal(res.status, status, `${path}: ${res.bytes.toString('utf8')}`);
        assert.match(res.bytes.toString('utf8'), message, path);
      }
    });

    void it('one stored month: export (default csv), download in its original format, and a failed month is 422', async () => {
      const p = providers.get('5.1')!;
      const months = await reportsOf(svc, p.all);
      const march = months.find((r) => r.reportName === 'TR_J1' && r.yearMonth === '2022-03')!;
      const csv = await download(svc, `/counter-reports/export/${String(march.id)}`);
      assert.equal(csv.status, 200);
      assert.equal(csv.headers.get('content-type'), 'text/csv; charset=utf-8');
      const rows = parseCsv(csv.bytes.toString('utf8'));
      assert.deepEqual(rows.find((r) => r[0] === 'Report_ID')?.[1], 'TR_J1');
      assert.deepEqual(rows.find((r) => r.includes('Metric_Type'))?.slice(-2), [
        'Reporting_Period_Total',
        'Mar-2022',
      ]);

      const original = await download(svc, `/counter-reports/${String(march.id)}/download`);
      assert.equal(original.status, 200);
      assert.equal(original.headers.get('content-type'), 'application/json; charset=utf-8');
      assert.deepEqual(JSON.parse(original.bytes.toString('utf8')), march.report);

      const failed = await svc.store.create('diku', 'counter-reports', {
        providerId: p.all,
        release: '5.1',
        reportName: 'TR',
        yearMonth: '2023-05',
        downloadTime: '2024-02-01T10:00:00.000+00:00',
        failedAttempts: 1,
        failedReason: 'Number=3030, Severity=Error, Message=No Usage Available for Requested Dates',
      });
      for (const path of [
        `/counter-reports/export/${String(failed.id)}?format=xlsx`,
        `/counter-reports/${String(failed.id)}/download`,
      ]) {
        const res = await download(svc, path);
        assert.equal(res.status, 422, path);
        assert.equal(res.bytes.toString('utf8'), 'Entity does not contain report data');
      }
      const bad = await download(svc, `/counter-reports/export/${String(march.id)}?format=docx`);
      assert.equal(bad.status, 400);
    });

    void it('sorted: the provider’s months grouped by year, then report, without report data', async () => {
      const pid = providers.get('5')!.masters;
      const res = await download(svc, `/counter-reports/sorted/${pid}`);
      assert.equal(res.status, 200);
      const body = JSON.parse(res.bytes.toString('utf8')) as {
        counterReportsPerYear: {
          year: number;
          reportsPerType: { reportType: string; counterReports: Record<string, unknown>[] }[];
        }[];
      };
      assert.deepEqual(
        body.counterReportsPerYear.map((y) => [y.year, y.reportsPerType.map((t) => t.reportType)]),
        [[2016, ['DR', 'IR', 'PR', 'TR']]],
      );
      for (const t of body.counterReportsPerYear[0].reportsPerType) {
        assert.deepEqual(
          t.counterReports.map((r) => r.yearMonth),
          ['2016-01', '2016-02', '2016-03'],
        );
        assert.ok(t.counterReports.every((r) => r.report === undefined && r.providerId === pid));
      }
      const none = await download(svc, `/counter-reports/sorted/8a3b6a0e-5bb8-4c4b-9c59-0e8c9e0f0001`);
      assert.deepEqual(JSON.parse(none.bytes.toString('utf8')), { counterReportsPerYear: [] });
    });
  });
}
