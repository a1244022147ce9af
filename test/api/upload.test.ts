/**
 * POST /counter-reports/multipartupload/provider/{id} (mod-erm-usage's upload, docs/counter-tabular.md section 10):
 * official samples uploaded as JSON and as TSV store the months a harvest of the same sample stores
 * (same usage totals, the same item counts as their JSON twins, harvestState saying upload); bad files are
 * refused with a 400 naming what and where, and leave nothing behind; existing months are kept
 * unless overwrite=true. On PGlite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  MOCK_REPORT_IDS,
  okExpectedSums,
  startMockCounterServer,
  type MockCounterServer,
} from '../../mock/counter-server.ts';
import type { RunningService } from '../../src/server.ts';
import { addProvider, reportsOf, waitForJobs } from '../helpers/harvest.ts';
import { backends, call } from '../helpers/service.ts';
import { FIXTURES } from '../helpers/sushi.ts';
import { storedMonths, tsvAsCsv, tsvAsXlsx, upload, uploadProvider } from '../helpers/upload.ts';

const R51_TR = join(FIXTURES, 'r51', 'TR_sample_r51');
const R50_DR = join(FIXTURES, 'r50', 'Sample-DR');

function usageOf(records: Record<string, any>[]) {
  return records.map((r) => ({
    yearMonth: r.yearMonth,
    reportName: r.reportName,
    release: r.release,
    usageTotals: r.usageTotals,
  }));
}

for (const backend of backends()) {
  describe(`upload of COUNTER files (${backend.name})`, () => {
    let svc: RunningService;
    let mock: MockCounterServer;
    let harvested51: Record<string, any>[];
    let harvested50: Record<string, any>[];
    before(async () => {
      mock = await startMockCounterServer();
      // A small upload limit, so that a too large file is cheap to send.
      svc = await backend.start({ config: { mode: 'standalone', uploadLimitBytes: 200_000 } });
      const tr = await addProvider(svc, {
        serviceUrl: `${mock.url}/ok-51tr`,
        release: '5.1',
        reports: ['TR'],
        start: '2022-01',
        end: '2022-12',
      });
      const dr = await addProvider(svc, {
        serviceUrl: `${mock.url}/ok-5dr`,
        release: '5',
        reports: ['DR'],
        start: '2016-01',
        end: '2016-03',
      });
      await svc.jobs.startTenantJob('diku');
      await waitForJobs(svc, 240_000);
      harvested51 = await reportsOf(svc, tr);
      harvested50 = await reportsOf(svc, dr);
      assert.equal(harvested51.length, 12);
      assert.equal(harvested50.length, 3);
    });
    after(async () => {
      await svc?.close();
      await mock?.close();
    });

    const provider = (release: string, label: string) => uploadProvider(svc, label, release, ['TR']);

    for (const ext of ['json', 'tsv'] as const) {
      it(`R5.1 TR as ${ext}: the months and totals a harvest of the sample stores`, async () => {
        const pid = await provider('5.1', `upload 51 ${ext}`);
        const res = await upload(svc, pid, `TR_sample_r51.${ext}`, readFileSync(`${R51_TR}.${ext}`));
        assert.equal(res.status, 200, res.text);
        assert.match(res.text, /^Saved report with ids: [0-9a-f-]{36}(,[0-9a-f-]{36}){11}$/);
        const stored = await reportsOf(svc, pid);
        assert.deepEqual(usageOf(stored), usageOf(harvested51));
        for (const [i, r] of stored.entries()) {
          assert.equal(r.itemCount, harvested51[i].itemCount, `${r.yearMonth} itemCount`);
          assert.deepEqual(r.harvestState, {
            state: 'harvested',
            source: 'upload',
            fileName: `TR_sample_r51.${ext}`,
          });
          assert.equal(r.report.Report_Header.Report_ID, 'TR');
        }
      });

      it(`R5.0 DR as ${ext}: the months and totals a harvest of the sample stores`, async () => {
        const pid = await provider('5', `upload 50 ${ext}`);
        const res = await upload(svc, pid, `Sample-DR.${ext}`, readFileSync(`${R50_DR}.${ext}`));
        assert.equal(res.status, 200, res.text);
        const stored = await reportsOf(svc, pid);
        assert.deepEqual(usageOf(stored), usageOf(harvested50));
        assert.deepEqual(
          stored.map((r) => r.itemCount),
          harvested50.map((r) => r.itemCount),
        );
      });
    }

    // All 32 official samples (PGlite only: the store path is the same): the TSV and the JSON of each
    // store the per-month totals a harvest of the sample through the mock stores (okExpectedSums, the
    // oracle test/harvest/samples-e2e.test.ts checks harvests against), and the same item counts.
    if (backend.name === 'pglite')
      it('every official sample uploaded as TSV and as JSON stores the totals a harvest stores and the same item counts', async () => {
        const windows = { '5.1': ['2022-01', '2022-12'], '5': ['2016-01', '2016-03'] } as const;
        for (const release of ['5.1', '5'] as const)
          for (const id of MOCK_REPORT_IDS) {
            const base =
              release === '5.1'
                ? join(FIXTURES, 'r51', `${id.replace('_', '').toUpperCase()}_sample_r51`)
                : join(FIXTURES, 'r50', `Sample-${id.toUpperCase()}`);
            const expected = okExpectedSums(release, id, windows[release][0], windows[release][1]);
            const itemCounts: Record<string, Record<string, number>> = {};
            for (const ext of ['tsv', 'json']) {
              const pid = await provider(release, `all ${release} ${id} ${ext}`);
              const res = await upload(svc, pid, `${id}.${ext}`, readFileSync(`${base}.${ext}`));
              assert.equal(res.status, 200, `${release} ${id} ${ext}: ${res.text}`);
              const stored = await reportsOf(svc, pid);
              const got = Object.fromEntries(
                stored
                  .filter((r) => Object.keys(r.usageTotals).length > 0)
                  .map((r) => [r.yearMonth, r.usageTotals]),
              );
              const want = Object.fromEntries(
                [...expected].map(([month, sums]) => [month, Object.fromEntries(sums)]),
              );
              assert.deepEqual(got, want, `${release} ${id} ${ext}`);
              assert.ok(stored.every((r) => r.reportName === id.toUpperCase() && r.release === release));
              itemCounts[ext] = Object.fromEntries(stored.map((r) => [r.yearMonth, r.itemCount]));
            }
            // R5.1 IR included: its tabular rows are grouped under their parents as the JSON groups them.
            assert.deepEqual(itemCounts.tsv, itemCounts.json, `${release} ${id}: item counts`);
          }
      });

    it('csv and xlsx of the same report store the same totals as its tsv', async () => {
      const tsv = readFileSync(`${R51_TR}.tsv`, 'utf8');
      const pid = await provider('5.1', 'upload csv');
      const res = await upload(svc, pid, 'tr.csv', tsvAsCsv(tsv));
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(usageOf(await reportsOf(svc, pid)), usageOf(harvested51));

      const xlsx = await tsvAsXlsx(tsv);
      const pid2 = await provider('5.1', 'upload xlsx');
      const res2 = await upload(svc, pid2, 'tr.xlsx', xlsx);
      assert.equal(res2.status, 200, res2.text);
      assert.deepEqual(usageOf(await reportsOf(svc, pid2)), usageOf(harvested51));
    });

    it('months already stored are kept unless overwrite=true; the error names them', async () => {
      const pid = await provider('5', 'overwrite');
      const file = readFileSync(`${R50_DR}.tsv`);
      assert.equal((await upload(svc, pid, 'dr.tsv', file)).status, 200);
      const before = await reportsOf(svc, pid);
      const again = await upload(svc, pid, 'dr.tsv', file, false);
      assert.equal(again.status, 400);
      assert.deepEqual(again.json, {
        code: 'REPORTS_ALREADY_PRESENT',
        message: 'One or more reports already exist for the time period.',
        details: 'Report already existing for months: 2016-01, 2016-02, 2016-03',
      });
      assert.deepEqual(
        (await reportsOf(svc, pid)).map((r) => r.metadata.updatedDate),
        before.map((r) => r.metadata.updatedDate),
      );
      const over = await upload(svc, pid, 'dr-again.tsv', file, true);
      assert.equal(over.status, 200, over.text);
      const after = await reportsOf(svc, pid);
      assert.deepEqual(
        after.map((r) => r.id),
        before.map((r) => r.id),
        'the same records, replaced',
      );
      assert.equal(after[0].harvestState.fileName, 'dr-again.tsv');
      assert.equal(await storedMonths(svc, pid), 3);
    });

    it('a harvested month is kept too: uploading over harvested months needs overwrite', async () => {
      const pid = harvested51[0].providerId as string;
      const res = await upload(svc, pid, 'TR.json', readFileSync(`${R51_TR}.json`));
      assert.equal(res.status, 400);
      assert.equal(res.json.code, 'REPORTS_ALREADY_PRESENT');
      assert.match(res.json.details, /2022-01, 2022-02, .*2022-12$/);
    });

    const tsv51 = readFileSync(`${R51_TR}.tsv`, 'utf8');
    const lines51 = tsv51.split('\n');
    const bad: [string, string, string | Uint8Array, RegExp, string?][] = [
      ['not COUNTER', 'notes.tsv', 'hello\tworld\n1\t2\n', /not a COUNTER tabular report/],
      ['not JSON', 'r.json', 'hello world', /not valid|not JSON/i],
      ['truncated JSON', 'r.json', readFileSync(`${R51_TR}.json`, 'utf8').slice(0, 5000), /Report not valid/],
      [
        'a truncated tsv row',
        'r.tsv',
        lines51.slice(0, 20).join('\n') + '\n' + lines51[20].split('\t').slice(0, 20).join('\t') + '\n',
        /^Row 21, column May-2022: the row has 20 cells, the headings 28: the file looks truncated/,
      ],
      [
        'a count that is not a number',
        'r.tsv',
        lines51.map((l, i) => (i === 15 ? l.replace(/\t49\t/, '\tforty\t') : l)).join('\n'),
        /^Row 16, column Jan-2022: 'forty' is not a count/,
      ],
      [
        'a total that does not add up',
        'r.tsv',
        lines51.map((l, i) => (i === 16 ? l.replace(/\t764\t/, '\t765\t') : l)).join('\n'),
        /^Row 17, column Reporting_Period_Total: Reporting_Period_Total is 765, the months add up to 764/,
      ],
      [
        'a header naming another report',
        'r.tsv',
        tsv51.replace('Report_ID\tTR', 'Report_ID\tPR').replace('Title Report', 'Platform Report'),
        /^Row 15: the first column is Title, but a PR report starts with Platform/,
      ],
      [
        'a Report_Name of another report',
        'r.tsv',
        tsv51.replace('Title Report', 'Database Report'),
        /^Row 1, column Report_Name: the header says 'Database Report'/,
      ],
      ['another file type', 'r.pdf', '%PDF', /\.json .*\.tsv, \.csv or \.xlsx/, 'UNSUPPORTED_FILE_FORMAT'],
      ['a broken xlsx', 'r.xlsx', 'not a zip', /xlsx/],
      [
        'a JSON count that is not a number',
        'r.json',
        readFileSync(`${R51_TR}.json`, 'utf8').replace('"2022-01": 49', '"2022-01": "many"'),
        /2022-01: Report_Items\[0\].*not a count/,
      ],
    ];
    for (const [what, name, content, details, code] of bad)
      it(`refuses ${what} with a 400 saying where, storing nothing`, async () => {
        const pid = await provider('5.1', `bad ${what}`);
        const res = await upload(svc, pid, name, content);
        assert.equal(res.status, 400, res.text);
        assert.equal(res.json.code, code ?? 'INVALID_REPORT_CONTENT', res.text);
        assert.match(res.json.details, details);
        assert.equal(await storedMonths(svc, pid), 0);
      });

    it('refuses a file above HARVESTER_UPLOAD_LIMIT_BYTES, storing nothing', async () => {
      const pid = await provider('5.1', 'too large');
      const json = readFileSync(`${R51_TR}.json`, 'utf8');
      const large = json.replace(
        '"Report_Items": [',
        `"Padding": "${' '.repeat(200_000)}", "Report_Items": [`,
      );
      const res = await upload(svc, pid, 'TR.json', large);
      assert.equal(res.status, 400, res.text);
      assert.deepEqual(res.json, {
        code: 'MAXIMUM_FILESIZE_EXCEEDED',
        message: 'The file size exceeds the maximum allowed size.',
        details: 'The maximum file size is 200000 bytes.',
      });
      assert.equal(await storedMonths(svc, pid), 0);
    });

    it('refuses a file of another release than the provider harvests', async () => {
      const pid = await provider('5', 'wrong release');
      const res = await upload(svc, pid, 'TR.json', readFileSync(`${R51_TR}.json`));
      assert.equal(res.status, 400);
      assert.equal(res.json.code, 'UNSUPPORTED_REPORT_RELEASE');
      assert.match(res.json.details, /release 5\.1 report; the provider harvests release 5/);
      assert.equal(await storedMonths(svc, pid), 0);
    });

    it('a failure in the middle of storing leaves none of the months (one transaction)', async () => {
      const pid = await provider('5.1', 'rollback');
      // The 7th month cannot be stored: a record of the same month under another report name id
      // collides on the unique month index only at that point.
      const trigger = `CREATE OR REPLACE FUNCTION diku_mod_erm_usage_harvester.fail_upload() RETURNS trigger AS $$
        BEGIN IF NEW.jsonb->>'providerId' = '${pid}' AND NEW.jsonb->>'yearMonth' = '2022-07'
        THEN RAISE EXCEPTION 'disk full'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`;
      await svc.ctx.db.query(trigger);
      await svc.ctx.db.query(
        `CREATE TRIGGER fail_upload BEFORE INSERT ON diku_mod_erm_usage_harvester.counter_reports
         FOR EACH ROW EXECUTE FUNCTION diku_mod_erm_usage_harvester.fail_upload()`,
      );
      try {
        const res = await upload(svc, pid, 'TR.json', readFileSync(`${R51_TR}.json`));
        assert.equal(res.status, 500);
        assert.equal(await storedMonths(svc, pid), 0);
        const totals = await svc.ctx.db.query(
          `SELECT 1 FROM diku_mod_erm_usage_harvester.usage_totals WHERE provider_id = $1`,
          [pid],
        );
        assert.equal(totals.rows.length, 0);
      } finally {
        await svc.ctx.db.query('DROP TRIGGER fail_upload ON diku_mod_erm_usage_harvester.counter_reports');
      }
    });

    it('an unknown provider, two files, no file: 400 with the reason', async () => {
      const unknown = await upload(svc, '11111111-1111-4111-8111-111111111111', 'TR.json', '{}');
      assert.equal(unknown.status, 400);
      assert.match(unknown.json.details, /provider 11111111-1111-4111-8111-111111111111 not found/);
      const pid = await provider('5.1', 'two files');
      const form = new FormData();
      form.append('file', new Blob(['a']), 'a.tsv');
      form.append('file2', new Blob(['b']), 'b.tsv');
      const res = await fetch(`${svc.url}/counter-reports/multipartupload/provider/${pid}`, {
        method: 'POST',
        headers: { 'x-okapi-tenant': 'diku' },
        body: form,
      });
      assert.equal(res.status, 400);
      const body: any = await res.json();
      assert.equal(body.code, 'MULTIPLE_FILES_NOT_SUPPORTED');
      const bad = await call(
        svc,
        'POST',
        `/counter-reports/multipartupload/provider/${pid}?overwrite=maybe`,
        {
          rawBody: 'x',
          headers: { 'content-type': 'text/plain' },
        },
      );
      assert.equal(bad.status, 400);
    });
  });
}
