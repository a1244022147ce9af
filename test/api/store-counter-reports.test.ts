/**
 * Standalone store over HTTP: /counter-reports (folio-contract §4, checklist items 145, 146, 150), derived provider fields
 * after every counter report write, concurrency, and the optional endpoints; on PGlite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningService } from '../../src/server.ts';
import { tenantMigrations } from '../../src/store/migrations.ts';
import { backends, call } from '../helpers/service.ts';
import { create, get, H7, INVALID_UUID, report, startStore, udp } from '../helpers/store.ts';

const REASON_3031 =
  'Report not valid: Exception{Number=3031, Severity=ERROR, Message=Service has not yet processed the usage for one or more of the requested months, Data=Months not processed: 2018-07}';

function derived(p: any) {
  const { latestReport, earliestReport, hasFailedReport, reportErrorCodes, reportTypes, reportReleases } = p;
  return { latestReport, earliestReport, hasFailedReport, reportErrorCodes, reportTypes, reportReleases };
}

for (const backend of backends()) {
  describe(`store: counter reports (${backend.name})`, () => {
    let svc: RunningService;
    before(async () => {
      svc = await startStore(backend);
    });
    after(async () => {
      await svc.close();
    });

    const provider = async (label: string) =>
      (await create(svc, '/usage-data-providers', udp(label))).id as string;
    const providerStats = async (id: string) => derived(await get(svc, `/usage-data-providers/${id}`));

    it('POST 201 with report data; GET returns it; report is kept in its own column', async () => {
      const pid = await provider('Report data');
      const data = { Report_Header: { Report_ID: 'TR' }, Report_Items: [{ Title: 'T', value: null }] };
      const res = await call(svc, 'POST', '/counter-reports', {
        body: { ...report(pid, '2020-03'), report: data },
      });
      assert.equal(res.status, 201);
      assert.equal(res.headers.get('location'), res.json.id);
      assert.deepEqual(res.json.report, data, 'report data is returned unchanged, nulls included');
      assert.match(res.json.metadata.createdDate, H7);
      const got = await get(svc, `/counter-reports/${res.json.id}`);
      assert.deepEqual(got, res.json);
      const row = await svc.ctx.db.query<{ jsonb: any; report: any }>(
        `SELECT jsonb, report FROM diku_mod_erm_usage_harvester.counter_reports WHERE id = $1`,
        [res.json.id],
      );
      assert.equal('report' in row.rows[0].jsonb, false);
      assert.equal(typeof row.rows[0].report, 'string', 'the report column holds JSON text');
      assert.deepEqual(JSON.parse(row.rows[0].report), data);
    });

    it('tenant migration 7 turns reports stored as jsonb into JSON text; the records read back the same', async () => {
      const pid = await provider('Migration 7');
      const small = {
        Report_Header: { Report_ID: 'TR', Created: 'x' },
        Report_Items: [{ Title: 'Ä "q"', n: 1.5 }],
      };
      // Larger than CHUNKED_REPORT_BYTES (4 MiB): the column holds only the header, the items are in chunks.
      const items = Array.from({ length: 30_000 }, (_, i) => ({
        Title: `Title ${i} ${'x'.repeat(120)}`,
        Metric: i,
      }));
      const large = { Report_Header: { Report_ID: 'TR' }, Report_Items: items };
      const a = await create(svc, '/counter-reports', { ...report(pid, '2018-01'), report: small });
      const b = await create(svc, '/counter-reports', { ...report(pid, '2018-02'), report: large });
      const before = [await get(svc, `/counter-reports/${a.id}`), await get(svc, `/counter-reports/${b.id}`)];
      assert.equal(before[1].report.Report_Items.length, items.length);
      const table = 'diku_mod_erm_usage_harvester.counter_reports';
      const columnType = async () =>
        (
          await svc.ctx.db.query<{ t: string }>(
            `SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute
             WHERE attrelid = '${table}'::regclass AND attname = 'report'`,
          )
        ).rows[0].t;
      assert.equal(await columnType(), 'text');
      // The column as a database before migration 7 has it, then the migration's statements.
      await svc.ctx.db.query(`ALTER TABLE ${table} ALTER COLUMN report TYPE jsonb USING report::jsonb`);
      assert.equal(await columnType(), 'jsonb');
      const v7 = tenantMigrations.find((m) => m.version === 7)!;
      for (const stmt of v7.sql)
        await svc.ctx.db.query(stmt.replaceAll('{schema}', '"diku_mod_erm_usage_harvester"'));
      assert.equal(await columnType(), 'text');
      const after = [await get(svc, `/counter-reports/${a.id}`), await get(svc, `/counter-reports/${b.id}`)];
      assert.deepEqual(after, before);
      assert.deepEqual(after[0].report, small);
    });

    it('145: tiny=true omits report only; totalRecords identical', async () => {
      const pid = await provider('Tiny');
      for (const ym of ['2019-01', '2019-02', '2019-03'])
        await create(svc, '/counter-reports', { ...report(pid, ym), report: { Report_Items: [ym] } });
      await create(svc, '/counter-reports', report(pid, '2019-04', { failedAttempts: 1, failedReason: 'x' }));
      const q = `/counter-reports?query=${encodeURIComponent(`providerId=="${pid}" sortby yearMonth`)}&limit=2`;
      const full = await get(svc, q);
      const tiny = await get(svc, q + '&tiny=true');
      assert.equal(full.totalRecords, 4);
      assert.equal(tiny.totalRecords, 4);
      assert.deepEqual(
        full.counterReports.map((r: any) => r.report),
        [{ Report_Items: ['2019-01'] }, { Report_Items: ['2019-02'] }],
      );
      assert.deepEqual(
        tiny.counterReports,
        full.counterReports.map(({ report: _r, ...rest }: any) => rest),
      );
      assert.equal((await get(svc, q + '&tiny=false')).counterReports[0].report.Report_Items[0], '2019-01');
    });

    it('146: derived fields over successful and failed records', async () => {
      const pid = await provider('Derived');
      await create(svc, '/counter-reports', report(pid, '2018-01', { reportName: 'TR' }));
      await create(svc, '/counter-reports', report(pid, '2019-03', { reportName: 'DR', release: '5.1' }));
      await create(
        svc,
        '/counter-reports',
        report(pid, '2018-07', { failedAttempts: 1, failedReason: REASON_3031 }),
      );
      assert.deepEqual(await providerStats(pid), {
        latestReport: '2019-03',
        earliestReport: '2018-01',
        hasFailedReport: 'yes',
        reportErrorCodes: ['3031'],
        reportTypes: ['DR', 'TR'],
        reportReleases: ['5', '5.1'],
      });
    });

    it('derived fields follow PUT and DELETE of counter reports, also across providers', async () => {
      const a = await provider('Moves A');
      const b = await provider('Moves B');
      const r1 = await create(svc, '/counter-reports', report(a, '2018-01'));
      const r2 = await create(
        svc,
        '/counter-reports',
        report(a, '2018-02', { failedAttempts: 1, failedReason: '[{"Code":3030,"Severity":"Warning"}]' }),
      );
      assert.deepEqual((await providerStats(a)).reportErrorCodes, ['3030']);
      // The failed month succeeds: no more error codes.
      const put = await call(svc, 'PUT', `/counter-reports/${r2.id}`, {
        body: report(a, '2018-02', { report: { x: 1 } }),
      });
      assert.equal(put.status, 204);
      assert.deepEqual(await providerStats(a), {
        latestReport: '2018-02',
        earliestReport: '2018-01',
        hasFailedReport: 'no',
        reportErrorCodes: [],
        reportTypes: ['TR'],
        reportReleases: ['5'],
      });
      // Moving r1 to provider b updates both.
      assert.equal(
        (await call(svc, 'PUT', `/counter-reports/${r1.id}`, { body: report(b, '2017-12') })).status,
        204,
      );
      assert.equal((await providerStats(a)).earliestReport, '2018-02');
      assert.equal((await providerStats(b)).latestReport, '2017-12');
      // Delete everything of a: statistics go back to empty.
      assert.equal((await call(svc, 'DELETE', `/counter-reports/${r2.id}`)).status, 204);
      assert.deepEqual(await providerStats(a), {
        latestReport: undefined,
        earliestReport: undefined,
        hasFailedReport: 'no',
        reportErrorCodes: [],
        reportTypes: [],
        reportReleases: [],
      });
      assert.equal((await providerStats(b)).latestReport, '2017-12');
    });

    it('error codes: Number=, "Code": with and without space, string code and no code → other', async () => {
      const pid = await provider('Codes');
      const reasons = [
        'HTTP 403: Forbidden - {"Code": 2010, "Message": "Requestor is Not Authorized"}',
        '{"Code":"2020","Message":"api_key Invalid","Severity":"Error"}',
        'Error getting report: Could not send Message., UnknownHostException',
        REASON_3031,
      ];
      for (const [i, failedReason] of reasons.entries())
        await create(
          svc,
          '/counter-reports',
          report(pid, `2017-0${i + 1}`, { failedAttempts: 1, failedReason }),
        );
      const stats = await providerStats(pid);
      assert.deepEqual(stats.reportErrorCodes, ['2010', '3031', 'other']);
      assert.equal(stats.latestReport, undefined);
      const q = await get(
        svc,
        `/usage-data-providers?query=${encodeURIComponent('reportErrorCodes="2010"')}`,
      );
      assert.deepEqual(
        q.usageDataProviders.map((p: any) => p.id),
        [pid],
      );
    });

    it('150: downloadTime as epoch ms is stored as folio-contract H7; required fields → 422', async () => {
      const pid = await provider('Epoch');
      const rec = await create(
        svc,
        '/counter-reports',
        report(pid, '2016-01', { downloadTime: 1580551200000 }),
      );
      assert.equal(rec.downloadTime, '2020-02-01T10:00:00.000+00:00');
      assert.equal(
        (await get(svc, `/counter-reports/${rec.id}`)).downloadTime,
        '2020-02-01T10:00:00.000+00:00',
      );
      for (const field of ['downloadTime', 'release', 'reportName', 'yearMonth']) {
        const body: Record<string, unknown> = report(pid, '2016-02');
        delete body[field];
        const res = await call(svc, 'POST', '/counter-reports', { body });
        assert.equal(res.status, 422, field);
        assert.deepEqual(res.json.errors[0].parameters, [{ key: field, value: 'null' }]);
      }
      const badAttempts = await call(svc, 'POST', '/counter-reports', {
        body: report(pid, '2016-03', { failedAttempts: 'two' }),
      });
      assert.equal(badAttempts.status, 422);
      assert.equal(badAttempts.json.errors[0].parameters[0].key, 'failedAttempts');
    });

    it('duplicate month (providerId, release, reportName ignoring case, yearMonth) → 422; nothing written', async () => {
      const pid = await provider('Dup');
      await create(svc, '/counter-reports', report(pid, '2015-01', { reportName: 'TR' }));
      const dup = await call(svc, 'POST', '/counter-reports', {
        body: report(pid, '2015-01', { reportName: 'tr', failedAttempts: 1, failedReason: 'Number=3030' }),
      });
      assert.equal(dup.status, 422);
      assert.deepEqual(
        dup.json.errors[0].parameters.map((p: any) => p.key),
        ['providerId', 'release', 'reportName', 'yearMonth'],
      );
      const stats = await providerStats(pid);
      assert.equal(stats.hasFailedReport, 'no', 'the failed transaction left no trace');
      const q = await get(svc, `/counter-reports?query=${encodeURIComponent(`providerId=="${pid}"`)}`);
      assert.equal(q.totalRecords, 1);
      const id = '6e6190bb-0000-4000-8000-0000000000c1';
      await create(svc, '/counter-reports', report(pid, '2015-02', { id }));
      const dupId = await call(svc, 'POST', '/counter-reports', { body: report(pid, '2015-03', { id }) });
      assert.equal(dupId.status, 422);
      assert.equal(dupId.json.errors[0].message, `id value already exists in table counter_reports: ${id}`);
    });

    it('item statuses: invalid UUID, unknown id, PUT under the path id', async () => {
      assert.equal((await call(svc, 'GET', '/counter-reports/abc')).text, INVALID_UUID);
      assert.equal((await call(svc, 'GET', '/counter-reports/abc')).status, 404);
      assert.equal((await call(svc, 'DELETE', '/counter-reports/abc')).status, 404);
      const put = await call(svc, 'PUT', '/counter-reports/abc', { body: report('x', '2020-01') });
      assert.equal(put.status, 400);
      assert.equal(put.text, INVALID_UUID);
      const unknown = '6e6190bb-0000-4000-8000-0000000000c9';
      assert.equal((await call(svc, 'GET', `/counter-reports/${unknown}`)).text, 'Not found');
      assert.equal(
        (await call(svc, 'PUT', `/counter-reports/${unknown}`, { body: report('x', '2020-01') })).status,
        404,
      );
      assert.equal((await call(svc, 'DELETE', `/counter-reports/${unknown}`)).status, 404);
      const pid = await provider('Put path');
      const rec = await create(svc, '/counter-reports', report(pid, '2014-01'));
      const res = await call(svc, 'PUT', `/counter-reports/${rec.id}`, {
        body: { ...report(pid, '2014-01'), id: unknown, failedAttempts: 2, failedReason: 'x' },
      });
      assert.equal(res.status, 204);
      const got = await get(svc, `/counter-reports/${rec.id}`);
      assert.equal(got.failedAttempts, 2);
      assert.equal(got.metadata.createdDate, rec.metadata.createdDate);
      assert.equal((await call(svc, 'GET', `/counter-reports/${unknown}`)).status, 404);
    });

    it('optional endpoints: error codes, report types, releases, bulk delete', async () => {
      const pid = await provider('Optional');
      const r1 = await create(
        svc,
        '/counter-reports',
        report(pid, '2013-01', { reportName: 'PR', release: '4' }),
      );
      const r2 = await create(
        svc,
        '/counter-reports',
        report(pid, '2013-02', { failedAttempts: 1, failedReason: 'Number=3000' }),
      );
      const codes = await get(svc, '/counter-reports/errors/codes');
      assert.ok(codes.errorCodes.includes('3000'));
      assert.deepEqual(codes.errorCodes, [...codes.errorCodes].sort());
      assert.ok((await get(svc, '/counter-reports/reports/types')).reportTypes.includes('PR'));
      assert.ok((await get(svc, '/counter-reports/reports/releases')).reportReleases.includes('4'));
      const bad = await call(svc, 'POST', '/counter-reports/reports/delete', { body: [r1.id, 'nope'] });
      assert.equal(bad.status, 400);
      assert.match(bad.headers.get('content-type') ?? '', /^text\/plain/);
      assert.equal(
        (await call(svc, 'GET', `/counter-reports/${r1.id}`)).status,
        200,
        'nothing deleted on 400',
      );
      const del = await call(svc, 'POST', '/counter-reports/reports/delete', {
        body: [r1.id, r2.id, '6e6190bb-0000-4000-8000-0000000000d1'],
      });
      assert.equal(del.status, 204);
      assert.equal((await call(svc, 'GET', `/counter-reports/${r1.id}`)).status, 404);
      const stats = await providerStats(pid);
      assert.deepEqual(stats.reportTypes, []);
      assert.equal(stats.hasFailedReport, 'no');
      assert.equal((await get(svc, '/counter-reports/errors/codes')).errorCodes.includes('3000'), false);
    });

    it('20 parallel POSTs for one provider leave correct derived fields', async () => {
      const pid = await provider('Parallel');
      const months = Array.from(
        { length: 20 },
        (_, i) => `20${10 + Math.floor(i / 12)}-${String((i % 12) + 1).padStart(2, '0')}`,
      );
      const results = await Promise.all(
        months.map((ym, i) =>
          call(svc, 'POST', '/counter-reports', {
            body: report(pid, ym, {
              reportName: i % 2 === 0 ? 'TR' : 'DR',
              ...(i % 5 === 4 ? { failedAttempts: 1, failedReason: `Number=${3000 + i}` } : {}),
            }),
          }),
        ),
      );
      assert.deepEqual(
        results.map((r) => r.status),
        months.map(() => 201),
      );
      assert.deepEqual(await providerStats(pid), {
        latestReport: '2011-07',
        earliestReport: '2010-01',
        hasFailedReport: 'yes',
        reportErrorCodes: ['3004', '3009', '3014', '3019'],
        reportTypes: ['DR', 'TR'],
        reportReleases: ['5'],
      });
      // And 20 parallel deletes bring it back to empty.
      const list = await get(
        svc,
        `/counter-reports?query=${encodeURIComponent(`providerId=="${pid}"`)}&limit=100`,
      );
      const dels = await Promise.all(
        list.counterReports.map((r: any) => call(svc, 'DELETE', `/counter-reports/${r.id}`)),
      );
      assert.deepEqual(
        dels.map((r) => r.status),
        months.map(() => 204),
      );
      assert.deepEqual((await providerStats(pid)).reportTypes, []);
    });
  });
}
