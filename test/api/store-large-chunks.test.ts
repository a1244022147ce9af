/**
 * Large counter reports: stored as header plus item chunks (more than 4 MB of items), read back over
 * HTTP streamed and equal to what was stored; PUT replaces the chunks, DELETE removes them. A generated
 * 60 MB report goes through the splitter and the streamed upload (PostgreSQL) and comes back with the
 * expected sums per month.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { splitReportStream } from '../../src/counter/index.ts';
import { storableEscapedJsonText } from '../../src/counter/storable-text.ts';
import { monthsToStore, upsertMonth } from '../../src/harvest/upload.ts';
import type { RunningService } from '../../src/server.ts';
import { tenantTable } from '../../src/store/tenants.ts';
import { sumUsage } from '../helpers/counter.ts';
import { backends, call } from '../helpers/service.ts';
import { hugeReportChunks, hugeReportPlan } from '../../mock/huge.ts';
import { create, get, report, startStore, udp } from '../helpers/store.ts';

function largeReport(items: number): { Report_Header: object; Report_Items: object[] } {
  return {
    Report_Header: { Report_ID: 'TR', Release: '5.1', Report_Filters: { Begin_Date: '2020-03-01' } },
    Report_Items: Array.from({ length: items }, (_, i) => ({
      Title: `Title ${i} é "quoted" \n ${'x'.repeat(200)}`,
      Item_ID: { Proprietary: `p:${i}` },
      Attribute_Performance: [
        { Data_Type: 'Journal', Performance: { Total_Item_Requests: { '2020-03': i } } },
      ],
    })),
  };
}

async function chunkCount(svc: RunningService, id: string): Promise<number> {
  const res = await svc.ctx.db.query<{ n: number }>(
    `SELECT count(*)::integer AS n FROM ${tenantTable('diku', 'counter_report_chunks')} WHERE report_id = $1::uuid`,
    [id],
  );
  return Number(res.rows[0]?.n ?? 0);
}

for (const backend of backends()) {
  describe(`store: large counter reports in chunks (${backend.name})`, () => {
    let svc: RunningService;
    before(async () => {
      svc = await startStore(backend);
    });
    after(async () => {
      await svc.close();
    });

    it('more than 4 MB of items: stored in chunks, GET item and list equal, PUT and DELETE replace them', async () => {
      const pid = (await create(svc, '/usage-data-providers', udp('Large'))).id as string;
      const data = largeReport(20_000);
      const created = await svc.store.create('diku', 'counter-reports', {
        ...report(pid, '2020-03'),
        report: data,
      });
      const id = String(created.id);
      assert.ok((await chunkCount(svc, id)) >= 2);

      const one = await get(svc, `/counter-reports/${id}`);
      assert.deepEqual(one.report, data);
      assert.equal(one.providerId, pid);
      const list = await get(svc, `/counter-reports?query=${encodeURIComponent(`providerId==${pid}`)}`);
      assert.equal(list.totalRecords, 1);
      assert.deepEqual(list.counterReports[0].report, data);
      const tiny = await get(
        svc,
        `/counter-reports?tiny=true&query=${encodeURIComponent(`providerId==${pid}`)}`,
      );
      assert.equal(tiny.counterReports[0].report, undefined);
      const inProcess = await svc.store.read('diku', 'counter-reports', id);
      assert.deepEqual(inProcess.report, data);

      const small = { Report_Header: { Report_ID: 'TR' }, Report_Items: [{ Title: 'small' }] };
      const put = await call(svc, 'PUT', `/counter-reports/${id}`, {
        body: { ...report(pid, '2020-03'), report: small },
      });
      assert.equal(put.status, 204);
      assert.equal(await chunkCount(svc, id), 0);
      assert.deepEqual((await get(svc, `/counter-reports/${id}`)).report, small);

      await svc.store.replace('diku', 'counter-reports', id, { ...report(pid, '2020-03'), report: data });
      assert.ok((await chunkCount(svc, id)) >= 2);
      const provider = await get(svc, `/usage-data-providers/${pid}`);
      assert.deepEqual(provider.reportTypes, ['TR']);
      assert.equal((await call(svc, 'DELETE', `/counter-reports/${id}`)).status, 204);
      assert.equal(await chunkCount(svc, id), 0);
    });

    it('a split month of more than 4 MB is stored as its item texts, byte for byte, NULs replaced', async () => {
      const pid = (await create(svc, '/usage-data-providers', udp('Chunked month'))).id as string;
      const request = { release: '5.1', begin: '2023-01', end: '2023-01', bytes: 9 * 1024 * 1024 } as const;
      // One item carries an escaped NUL, which PostgreSQL cannot store: it is stored as U+FFFD.
      const text = [...hugeReportChunks(request)]
        .join('')
        .replace('"Huge Title 000000007"', String.raw`"Huge Title \u0000 7"`);
      const body = async function* (): AsyncGenerator<Buffer> {
        for (let i = 0; i < text.length; i += 65_536) yield Buffer.from(text.slice(i, i + 65_536));
      };
      const expected: string[] = [];
      const reference = await splitReportStream(body(), '5.1');
      assert.equal(reference.kind, 'report');
      if (reference.kind !== 'report') return;
      for await (const month of reference.monthStreams())
        for await (const item of month.items())
          expected.push(item.replace(String.raw`\u0000`, String.raw`\ufffd`));
      const split = await splitReportStream(body(), '5.1');
      assert.equal(split.kind, 'report');
      if (split.kind !== 'report') return;
      let id = '';
      for await (const month of monthsToStore(split, undefined)) {
        assert.ok(month.outcome.streamed?.itemChunks, 'stored from the item chunks');
        const key = { providerId: pid, release: '5.1', reportName: 'TR', yearMonth: month.yearMonth };
        id = await upsertMonth(svc.store, 'diku', key, month.outcome, '2024-01-01T00:00:00.000+00:00', 5);
      }
      const rows = await svc.ctx.db.query<{ items: string }>(
        `SELECT items FROM ${tenantTable('diku', 'counter_report_chunks')} WHERE report_id = $1::uuid ORDER BY seq`,
        [id],
      );
      assert.ok(rows.rows.length >= 2);
      assert.ok(expected[7].includes(String.raw`Huge Title \ufffd 7`));
      assert.equal(rows.rows.map((r) => r.items).join(','), expected.join(','));
    });

    it('a split month with multi-byte text and escapes: its chunk rows are the storable item texts, byte for byte', async () => {
      const pid = (await create(svc, '/usage-data-providers', udp('Multi-byte month'))).id as string;
      const request = { release: '5.1', begin: '2023-01', end: '2023-01', bytes: 9 * 1024 * 1024 } as const;
      // Every title holds characters of two, three and four UTF-8 bytes (so the blocks the chunks are
      // read from cut through characters); some hold escapes: NUL and lone surrogates (replaced),
      // a pair, an escaped backslash before `u0000`, an escaped quote (kept).
      const text = [...hugeReportChunks(request)]
        .join('')
        .replaceAll('"Huge Title ', '"Hüge Tïtle € 😀 ')
        .replace('"Hüge Tïtle € 😀 000000003"', String.raw`"\u0000 \ud800 \udc00\ud83d\ude00 \\u0000 \" 3"`)
        .replace('"Hüge Tïtle € 😀 000010000"', String.raw`"\uDBFF\uDFFF é\u00e9 \ud800\u0000"`);
      const body = async function* (): AsyncGenerator<Buffer> {
        for (let i = 0; i < text.length; i += 65_536) yield Buffer.from(text.slice(i, i + 65_536));
      };
      const reference = await splitReportStream(body(), '5.1');
      assert.equal(reference.kind, 'report');
      if (reference.kind !== 'report') return;
      const expected: string[] = [];
      for await (const month of reference.monthStreams())
        for await (const item of month.items()) expected.push(storableEscapedJsonText(item).text);
      // (The splitter writes an item holding escapes anew: the pair becomes the character itself.)
      assert.ok(expected[3].startsWith(String.raw`{"Title":"\ufffd \ufffd \ufffd😀 \\u0000 \" 3"`));
      assert.ok(expected[10_000].startsWith(String.raw`{"Title":"􏿿 éé \ufffd\ufffd"`));
      const split = await splitReportStream(body(), '5.1');
      assert.equal(split.kind, 'report');
      if (split.kind !== 'report') return;
      let id = '';
      for await (const month of monthsToStore(split, undefined)) {
        assert.ok(month.outcome.streamed?.itemChunks, 'stored from the item chunks');
        const key = { providerId: pid, release: '5.1', reportName: 'TR', yearMonth: month.yearMonth };
        id = await upsertMonth(svc.store, 'diku', key, month.outcome, '2024-01-01T00:00:00.000+00:00', 5);
      }
      const joined = expected.join(',');
      const stored = await svc.ctx.db.query<{ n: number; bytes: number; hash: string }>(
        `SELECT count(*)::integer AS n, sum(octet_length(items))::integer AS bytes,
                encode(sha256(convert_to(string_agg(items, ',' ORDER BY seq), 'UTF8')), 'hex') AS hash
           FROM ${tenantTable('diku', 'counter_report_chunks')} WHERE report_id = $1::uuid`,
        [id],
      );
      const row = stored.rows[0];
      assert.ok(row.n >= 2);
      assert.equal(row.bytes + row.n - 1, Buffer.byteLength(joined));
      assert.equal(row.hash, createHash('sha256').update(joined).digest('hex'));
      const record = await get(svc, `/counter-reports/${id}`);
      assert.deepEqual(record.report.Report_Items, JSON.parse(`[${joined}]`));
    });

    if (backend.name === 'postgres')
      it(
        'a generated 60 MB report: split, stored streamed, read back over HTTP with the sums per month',
        { timeout: 1_800_000 },
        async () => {
          const pid = (await create(svc, '/usage-data-providers', udp('Huge'))).id as string;
          const request = {
            release: '5.1',
            begin: '2023-01',
            end: '2023-12',
            bytes: 60 * 1024 * 1024,
          } as const;
          const plan = hugeReportPlan(request);
          const body = (async function* () {
            for (const chunk of hugeReportChunks(request)) yield Buffer.from(chunk);
          })();
          const split = await splitReportStream(body, '5.1');
          assert.equal(split.kind, 'report');
          if (split.kind !== 'report') return;
          const ids = new Map<string, string>();
          for await (const month of monthsToStore(split, undefined)) {
            assert.ok(month.outcome.streamed, 'a month of this size is stored streamed');
            const key = { providerId: pid, release: '5.1', reportName: 'TR', yearMonth: month.yearMonth };
            ids.set(
              month.yearMonth,
              await upsertMonth(svc.store, 'diku', key, month.outcome, '2024-01-01T00:00:00.000+00:00', 5),
            );
          }
          assert.equal(ids.size, 12);
          for (const [yearMonth, id] of ids) {
            assert.ok((await chunkCount(svc, id)) >= 2);
            const record = await get(svc, `/counter-reports/${id}`);
            assert.equal(record.yearMonth, yearMonth);
            assert.equal(record.report.Report_Items.length, plan.itemCount);
            assert.deepEqual(sumUsage(record.report).get(yearMonth), plan.sums.get(yearMonth));
          }
        },
      );
  });
}
