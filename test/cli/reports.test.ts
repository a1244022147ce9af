/**
 * `reports list`, `reports export` and `reports delete` end to end: the real service on PGlite on a real
 * port holding the months of the official R5.1 TR sample (split by the project's splitter, stored as the
 * harvester stores them), the CLI as a child process; and the typed client's export methods.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HarvesterClient, HarvesterApiError } from '../../src/index.ts';
import type { RunningService } from '../../src/server.ts';
import { loadSamples, type Sample } from '../helpers/counter.ts';
import { addProvider } from '../helpers/harvest.ts';
import { runCli } from '../helpers/run-cli.ts';
import { startOn } from '../helpers/service.ts';
import {
  headerRowCount,
  officialTsv,
  parseCsv,
  parseTsv,
  readXlsx,
  storedMonths,
  trimRow,
} from '../helpers/tabular.ts';

let svc: RunningService;
let client: HarvesterClient;
let tmp: string;
let providerId: string;
const ids = new Map<string, string>();
const samples = loadSamples();
const tr = samples.find((s) => s.name === 'r51/TR_sample_r51.json')!;
const trj1 = samples.find((s) => s.name === 'r51/TRJ1_sample_r51.json')!;

before(async () => {
  svc = await startOn('pglite', undefined);
  client = new HarvesterClient({ baseUrl: svc.url, tenant: 'diku' });
  tmp = await mkdtemp(join(tmpdir(), 'harvester-cli-reports-'));
  providerId = await addProvider(svc, {
    serviceUrl: 'http://127.0.0.1:9/r51',
    release: '5.1',
    reports: ['TR'],
    start: '2022-01',
  });
  for (const month of await storedMonths(tr.text, '5.1')) {
    const record = await svc.store.create('diku', 'counter-reports', {
      providerId,
      release: '5.1',
      reportName: 'TR',
      yearMonth: month.yearMonth,
      downloadTime: '2024-02-01T10:00:00.000+00:00',
      report: { Report_Header: month.header, Report_Items: month.texts.map((t) => JSON.parse(t) as unknown) },
    });
    ids.set(month.yearMonth, String(record.id));
  }
});
after(async () => {
  await client?.close();
  await svc?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const cli = (...args: string[]) => runCli([...args, '--url', svc.url]);

/** The official data rows (headings and items) of a sample. */
function officialData(sample: Sample): string[][] {
  return parseTsv(officialTsv(sample).toString('utf8')).slice(headerRowCount(sample) + 1);
}

describe('cli: reports list', () => {
  it('lists the months of a provider and report in a range, in order', async () => {
    const res = await cli(
      'reports',
      'list',
      '--provider',
      providerId,
      '--report',
      'TR',
      '--from',
      '2022-03',
      '--to',
      '2022-05',
    );
    assert.equal(res.code, 0, res.stderr);
    const lines = res.stdout.trim().split('\n');
    assert.match(lines[0], /^ID\s+PROVIDER\s+RELEASE\s+REPORT\s+MONTH\s+ITEMS\s+FAILED$/);
    assert.deepEqual(
      lines.slice(1).map((l) => l.split(/\s+/).slice(2, 5)),
      [
        ['5.1', 'TR', '2022-03'],
        ['5.1', 'TR', '2022-04'],
        ['5.1', 'TR', '2022-05'],
      ],
    );
    assert.ok(lines[1].startsWith(ids.get('2022-03')!));
  });

  it('--json prints the store answer without report data; a bad month is refused', async () => {
    const res = await cli('reports', 'list', '--provider', providerId, '--json', '--limit', '2');
    assert.equal(res.code, 0, res.stderr);
    const page = JSON.parse(res.stdout) as {
      counterReports: Record<string, unknown>[];
      totalRecords: number;
    };
    assert.equal(page.totalRecords, 12);
    assert.equal(page.counterReports.length, 2);
    assert.equal(page.counterReports[0].report, undefined);
    const bad = await cli('reports', 'list', '--from', '2022-13');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--from must be a month as yyyy-MM, got "2022-13"/);
  });
});

describe('cli: reports export', () => {
  it('a derived standard view for a year as xlsx: the official TR_J1 rows', async () => {
    const file = join(tmp, 'trj1.xlsx');
    const res = await cli(
      'reports',
      'export',
      providerId,
      '--report',
      'TR_J1',
      '--from',
      '2022-01',
      '--to',
      '2022-12',
      '--format',
      'xlsx',
      '-o',
      file,
    );
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout.trim(), `wrote ${file}`);
    const sheet = await readXlsx(await readFile(file));
    const data = sheet
      .slice(headerRowCount(trj1) + 1)
      .map((row) => trimRow(row, (c) => c === null).map((c) => (c === null ? '' : String(c))));
    assert.deepEqual(
      data,
      officialData(trj1).map((row) => trimRow(row, (c) => c === '')),
    );
    assert.equal(sheet.find((r) => r[0] === 'Report_ID')?.[1], 'TR_J1');
  });

  it('the release comes from the provider, the format from the file name', async () => {
    const csvFile = join(tmp, 'tr.csv');
    const res = await cli(
      'reports',
      'export',
      providerId,
      '--report',
      'TR',
      '--from',
      '2022-01',
      '--to',
      '2022-12',
      '-o',
      csvFile,
    );
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(
      parseCsv(await readFile(csvFile, 'utf8')).slice(headerRowCount(tr) + 1),
      officialData(tr),
    );
  });

  it('clear errors: bad range, bad format, no data; no file is left behind', async () => {
    const file = join(tmp, 'none.tsv');
    const cases: [string[], RegExp][] = [
      [['--report', 'TR', '--from', '2022-05', '--to', '2022-01'], /--from 2022-05 is after --to 2022-01/],
      [
        ['--report', 'TR', '--from', '2022-01', '--to', '2022-02', '--format', 'pdf'],
        /--format must be one of tsv, csv, xlsx, json/,
      ],
      [['--report', 'TR', '--from', '2030-01', '--to', '2030-02'], /answered 404: No stored TR month/],
      [['--report', 'NOPE', '--from', '2022-01', '--to', '2022-02'], /answered 400: Unknown report "NOPE"/],
    ];
    for (const [args, message] of cases) {
      const res = await cli('reports', 'export', providerId, ...args, '-o', file);
      assert.equal(res.code, 1, args.join(' '));
      assert.match(res.stderr, message);
    }
    assert.deepEqual(
      (await readdir(tmp)).filter((f) => f.startsWith('none')),
      [],
    );
  });
});

describe('client: exports', () => {
  it('exportCounterReportRange, exportCounterReport and downloadCounterReport stream the files', async () => {
    const range = await client.exportCounterReportRange({
      providerId,
      report: 'TR_J1',
      release: '5.1',
      from: '2022-01',
      to: '2022-12',
      format: 'tsv',
    });
    assert.equal(range.fileName, `${providerId}_TR_J1_5.1_2022-01_2022-12.tsv`);
    assert.equal(range.contentType, 'text/tab-separated-values; charset=utf-8');
    assert.deepEqual(
      parseTsv((await range.buffer()).toString('utf8')).slice(headerRowCount(trj1) + 1),
      officialData(trj1),
    );

    const month = await client.exportCounterReport(ids.get('2022-04')!, { format: 'json' });
    const report = JSON.parse((await month.buffer()).toString('utf8')) as {
      Report_Header: { Report_ID: string };
    };
    assert.equal(report.Report_Header.Report_ID, 'TR');

    const original = await client.downloadCounterReport(ids.get('2022-04')!);
    assert.equal(original.contentType, 'application/json; charset=utf-8');
    const stored = await client.getCounterReport(ids.get('2022-04')!);
    assert.deepEqual(JSON.parse((await original.buffer()).toString('utf8')), stored.report);

    await assert.rejects(
      client.exportCounterReportRange({
        providerId,
        report: 'TR',
        release: '5',
        from: '2022-01',
        to: '2022-02',
      }),
      (err: unknown) =>
        err instanceof HarvesterApiError && err.status === 404 && /No stored TR month/.test(err.message),
    );
  });

  it('through a caller-supplied fetch: the same file, streamed; errors as HarvesterApiError', async () => {
    const viaFetch = new HarvesterClient({ baseUrl: svc.url, tenant: 'diku', fetch: globalThis.fetch });
    try {
      const file = await viaFetch.exportCounterReportRange({
        providerId,
        report: 'TR_J1',
        release: '5.1',
        from: '2022-01',
        to: '2022-12',
        format: 'csv',
      });
      assert.equal(file.fileName, `${providerId}_TR_J1_5.1_2022-01_2022-12.csv`);
      const rows = parseCsv((await file.buffer()).toString('utf8'));
      assert.deepEqual(rows.slice(headerRowCount(trj1) + 1), officialData(trj1));
      await assert.rejects(
        viaFetch.exportCounterReport(ids.get('2022-04')!, { format: 'pdf' as never }),
        (err: unknown) =>
          err instanceof HarvesterApiError &&
          err.status === 400 &&
          /"pdf" is not supported/.test(err.message),
      );
    } finally {
      await viaFetch.close();
    }
  });

  it('listCounterReportsSorted groups by year and report', async () => {
    const sorted = await client.listCounterReportsSorted(providerId);
    assert.equal(sorted.counterReportsPerYear.length, 1);
    assert.equal(sorted.counterReportsPerYear[0].year, 2022);
    assert.equal(sorted.counterReportsPerYear[0].reportsPerType[0].reportType, 'TR');
    assert.equal(sorted.counterReportsPerYear[0].reportsPerType[0].counterReports.length, 12);
  });
});

describe('cli: reports delete', () => {
  it('deletes the given months and names the ids it did not find', async () => {
    const unknown = '8a3b6a0e-5bb8-4c4b-9c59-0e8c9e0f0001';
    const res = await cli('reports', 'delete', ids.get('2022-11')!, ids.get('2022-12')!, unknown);
    assert.equal(res.code, 1);
    assert.equal(res.stdout.trim(), 'deleted 2 reports');
    assert.match(res.stderr, new RegExp(`no report with id ${unknown}`));
    const left = await client.listCounterReports({
      query: `providerId=="${providerId}"`,
      limit: 100,
      tiny: true,
    });
    assert.equal(left.totalRecords, 10);
    assert.ok(!left.counterReports.some((r) => r.yearMonth === '2022-11' || r.yearMonth === '2022-12'));
  });
});
