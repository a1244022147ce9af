/**
 * Exports of large months: a month with more than 4 MB of items is stored as item chunks
 * (src/erm/report-chunks.ts); its export, alone and merged with a small month, and a standard view
 * derived from it, read the chunks one at a time and give every row with the right counts, on PGlite
 * and PostgreSQL; two such months listing the same items are merged side by side.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningService } from '../../src/server.ts';
import { tenantTable } from '../../src/store/tenants.ts';
import { parseTsv } from '../helpers/tabular.ts';
import { backends } from '../helpers/service.ts';
import { create, startStore, udp } from '../helpers/store.ts';
import { trHeader51 } from '../helpers/counter.ts';

const ITEMS = 20_000;

function item(i: number, month: string, count: number): Record<string, unknown> {
  return {
    Title: `Journal ${i} "quoted", with comma\tand tab ${'x'.repeat(150)}`,
    Item_ID: { Proprietary: `TP:${i}`, Online_ISSN: `1234-${String(i % 10_000).padStart(4, '0')}` },
    Platform: 'TestPlatform',
    Publisher: 'Test Press',
    Publisher_ID: { Proprietary: ['TP:1'] },
    Attribute_Performance: [
      {
        Data_Type: 'Journal',
        Access_Type: 'Controlled',
        Access_Method: 'Regular',
        Performance: { Total_Item_Requests: { [month]: count }, Unique_Item_Requests: { [month]: 1 } },
      },
    ],
  };
}

async function fetchText(svc: RunningService, path: string): Promise<{ status: number; text: string }> {
  const res = await fetch(svc.url + path, { headers: { 'x-okapi-tenant': 'diku' } });
  return { status: res.status, text: await res.text() };
}

for (const backend of backends()) {
  void describe(`exports of months stored in chunks (${backend.name})`, () => {
    let svc: RunningService;
    let pid: string;
    let bigId: string;
    before(async () => {
      svc = await startStore(backend);
      pid = (await create(svc, '/usage-data-providers', udp('Large'))).id as string;
      const big = await svc.store.create('diku', 'counter-reports', {
        providerId: pid,
        release: '5.1',
        reportName: 'TR',
        yearMonth: '2020-03',
        downloadTime: '2024-02-01T10:00:00.000+00:00',
        report: {
          Report_Header: trHeader51('2020-03'),
          Report_Items: Array.from({ length: ITEMS }, (_, i) => item(i, '2020-03', i + 1)),
        },
      });
      bigId = String(big.id);
      await svc.store.create('diku', 'counter-reports', {
        providerId: pid,
        release: '5.1',
        reportName: 'TR',
        yearMonth: '2020-04',
        downloadTime: '2024-02-01T10:00:00.000+00:00',
        report: {
          Report_Header: trHeader51('2020-04'),
          Report_Items: [item(7, '2020-04', 1000), item(ITEMS, '2020-04', 5)],
        },
      });
      const chunks = await svc.ctx.db.query<{ n: number }>(
        `SELECT count(*)::integer AS n FROM ${tenantTable('diku', 'counter_report_chunks')} WHERE report_id = $1::uuid`,
        [bigId],
      );
      assert.ok(Number(chunks.rows[0].n) >= 2, 'the large month is stored in chunks');
    });
    after(async () => {
      await svc?.close();
    });

    void it('one chunked month: every item, tabs in cells made spaces', async () => {
      const res = await fetchText(svc, `/counter-reports/export/${bigId}?format=tsv`);
      assert.equal(res.status, 200, res.text.slice(0, 300));
      const rows = parseTsv(res.text);
      const head = rows.findIndex((r) => r[0] === 'Title');
      const data = rows.slice(head + 1);
      assert.equal(data.length, ITEMS * 2);
      const total = rows[head].indexOf('Reporting_Period_Total');
      const requests = data.filter((r) => r[total - 1] === 'Total_Item_Requests');
      assert.equal(
        requests.reduce((sum, r) => sum + Number(r[total]), 0),
        (ITEMS * (ITEMS + 1)) / 2,
      );
      assert.equal(requests[5][0], `Journal 5 "quoted", with comma and tab ${'x'.repeat(150)}`);
    });

    void it('a range with a chunked month, and a view derived from it: merged rows, month columns', async () => {
      const res = await fetchText(
        svc,
        `/counter-reports/export/provider/${pid}/report/TR_J1/version/5.1/from/2020-03/to/2020-04?format=csv`,
      );
      assert.equal(res.status, 200, res.text.slice(0, 300));
      const lines = res.text.split('\r\n');
      const head = lines.findIndex((l) => l.startsWith('Title,'));
      assert.match(lines[head], /,Metric_Type,Reporting_Period_Total,Mar-2020,Apr-2020$/);
      // Items 0..ITEMS-1 in March, item 7 also in April, item ITEMS only in April: two metrics each.
      assert.equal(lines.slice(head + 1).filter((l) => l !== '').length, (ITEMS + 1) * 2);
      const seven = lines.find(
        (l) => l.startsWith('"Journal 7 ""quoted"", with comma') && l.includes('Total_Item_Requests'),
      );
      assert.ok(seven?.endsWith(',Total_Item_Requests,1008,8,1000'), seven);
    });

    void it('two chunked months listing the same items (merged side by side): every item once, counts added', async () => {
      const other = (await create(svc, '/usage-data-providers', udp('Large twice'))).id as string;
      for (const [month, add] of [
        ['2020-05', 0],
        ['2020-06', 100],
      ] as const)
        await svc.store.create('diku', 'counter-reports', {
          providerId: other,
          release: '5.1',
          reportName: 'TR',
          yearMonth: month,
          downloadTime: '2024-02-01T10:00:00.000+00:00',
          report: {
            Report_Header: trHeader51(month),
            Report_Items: Array.from({ length: ITEMS }, (_, i) => item(i, month, i + 1 + add)),
          },
        });
      const res = await fetchText(
        svc,
        `/counter-reports/export/provider/${other}/report/TR/version/5.1/from/2020-05/to/2020-06?format=tsv`,
      );
      assert.equal(res.status, 200, res.text.slice(0, 300));
      const rows = parseTsv(res.text);
      const head = rows.findIndex((r) => r[0] === 'Title');
      const data = rows.slice(head + 1);
      assert.equal(data.length, ITEMS * 2);
      const total = rows[head].indexOf('Reporting_Period_Total');
      const requests = data.filter((r) => r[total - 1] === 'Total_Item_Requests');
      assert.deepEqual(requests[9].slice(total), ['120', '10', '110']);
      assert.equal(
        requests.reduce((sum, r) => sum + Number(r[total]), 0),
        ITEMS * (ITEMS + 1) + ITEMS * 100,
      );
    });

    void it('download of a chunked month: the stored JSON, streamed', async () => {
      const res = await fetchText(svc, `/counter-reports/${bigId}/download`);
      assert.equal(res.status, 200);
      const report = JSON.parse(res.text) as { Report_Items: unknown[] };
      assert.equal(report.Report_Items.length, ITEMS);
    });
  });
}
