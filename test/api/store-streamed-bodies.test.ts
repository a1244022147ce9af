/**
 * Counter report bodies read from the request stream (src/api/counter-report-body.ts) and collection
 * answers written record by record: a large report sent in odd-sized pieces is stored in chunks and
 * gives back, byte for byte, what the buffered way gives for the same body (the POST answer, GET of the
 * record, GET of the collection); small reports are stored as one value as before; whitespace in the
 * body does not change the stored bytes; broken bodies are refused with 400 and store nothing; the
 * temporary spool is gone after the request.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../../src/clock.ts';
import type { RunningService } from '../../src/server.ts';
import { tenantTable } from '../../src/store/tenants.ts';
import { backends, call, testConfig } from '../helpers/service.ts';
import { create, get, report, udp } from '../helpers/store.ts';

const NOW = '2024-05-01T12:00:00.000Z';

function largeReport(items: number, tag: string) {
  return {
    Report_Header: {
      Report_ID: 'TR',
      Release: '5',
      Created: '2024-04-01',
      Report_Filters: { Begin_Date: '2020-03-01' },
    },
    Report_Items: Array.from({ length: items }, (_, i) => ({
      Title: `${tag} ${i} é "quoted" \n ✓ ${'x'.repeat(150)}`,
      Item_ID: [{ Type: 'Proprietary', Value: `p:${i}` }],
      Performance: [
        {
          Period: { Begin_Date: '2020-03-01' },
          Instance: [{ Metric_Type: 'Total_Item_Requests', Count: i }],
        },
      ],
    })),
    Extra_Member: { after: 'the items', n: 1e3 },
  };
}

/** Sends the body in pieces of `piece` bytes (chunked transfer encoding); answers status and text. */
function sendInPieces(
  svc: RunningService,
  method: string,
  path: string,
  body: string,
  piece: number,
): Promise<{ status: number; text: string }> {
  const bytes = Buffer.from(body, 'utf8');
  return new Promise((resolve, reject) => {
    const req = request(
      svc.url + path,
      { method, headers: { 'content-type': 'application/json', 'x-okapi-tenant': 'diku' } },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(parts).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    void (async () => {
      for (let i = 0; i < bytes.length; i += piece) {
        if (!req.write(bytes.subarray(i, i + piece))) await new Promise((r) => req.once('drain', r));
      }
      req.end();
    })();
  });
}

async function chunkCount(svc: RunningService, id: string): Promise<number> {
  const res = await svc.ctx.db.query<{ n: number }>(
    `SELECT count(*)::integer AS n FROM ${tenantTable('diku', 'counter_report_chunks')} WHERE report_id = $1::uuid`,
    [id],
  );
  return Number(res.rows[0]?.n ?? 0);
}

async function spools(): Promise<string[]> {
  // This process's spools (a benchmark on the same machine may have its own).
  return (await readdir(tmpdir())).filter((name) =>
    name.startsWith(`erm-usage-harvester-upload-${process.pid}-`),
  );
}

/** The spools once they are back to `expected` (removed when the answer is done), or after 5 s. */
async function spoolsAfter(expected: string[]): Promise<string[]> {
  for (let i = 0; ; i++) {
    const now = await spools();
    if (now.length <= expected.length || i >= 50) return now;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Equal strings, reported by length and first difference (the texts are megabytes). */
function sameText(actual: string, expected: string, what: string): void {
  if (actual === expected) return;
  let i = 0;
  while (i < actual.length && actual[i] === expected[i]) i++;
  assert.fail(
    `${what}: lengths ${actual.length} and ${expected.length}, first difference at ${i}: ` +
      `${JSON.stringify(actual.slice(Math.max(0, i - 40), i + 40))} vs ${JSON.stringify(expected.slice(Math.max(0, i - 40), i + 40))}`,
  );
}

async function getText(svc: RunningService, path: string): Promise<string> {
  const res = await call(svc, 'GET', path);
  assert.equal(res.status, 200, res.text.slice(0, 300));
  return res.text;
}

for (const backend of backends()) {
  describe(`store: counter report bodies streamed (${backend.name})`, () => {
    let svc: RunningService;
    let pid: string;
    before(async () => {
      svc = await backend.start({ config: { mode: 'standalone' }, clock: new ManualClock(Date.parse(NOW)) });
      pid = (await create(svc, '/usage-data-providers', udp('Streamed'))).id as string;
    });
    after(async () => {
      await svc.close();
    });

    it('a large report sent in pieces: chunked, and the same bytes as the buffered way (POST answer, GET, list)', async () => {
      const id = '11111111-1111-4111-8111-111111111111';
      const body = {
        id,
        ...report(pid, '2020-03'),
        report: largeReport(15_000, 'big'),
        failedAttempts: null,
      };
      const before = await spools();
      const posted = await sendInPieces(svc, 'POST', '/counter-reports', JSON.stringify(body), 7_777);
      assert.equal(posted.status, 201, posted.text.slice(0, 300));
      assert.ok((await chunkCount(svc, id)) >= 2, 'stored in chunks');
      const itemText = await getText(svc, `/counter-reports/${id}`);
      const listText = await getText(
        svc,
        `/counter-reports?query=${encodeURIComponent(`providerId==${pid}`)}`,
      );
      assert.deepEqual(JSON.parse(itemText).report, body.report);
      assert.deepEqual(await spoolsAfter(before), before, 'the spool is removed');

      // The buffered way: the body parsed whole and handed to the store (what the route did before).
      assert.equal((await call(svc, 'DELETE', `/counter-reports/${id}`)).status, 204);
      const stored = await svc.store.create('diku', 'counter-reports', JSON.parse(JSON.stringify(body)));
      sameText(posted.text, JSON.stringify(stored), 'POST answer');
      sameText(await getText(svc, `/counter-reports/${id}`), itemText, 'GET of the record');
      sameText(
        await getText(svc, `/counter-reports?query=${encodeURIComponent(`providerId==${pid}`)}`),
        listText,
        'GET of the collection',
      );

      // Whitespace in the body: stored bytes unchanged. PUT replaces the chunks.
      const pretty = JSON.stringify({ ...body, reportEditedManually: true }, null, 2);
      const put = await sendInPieces(svc, 'PUT', `/counter-reports/${id}`, pretty, 65_536);
      assert.equal(put.status, 204, put.text);
      const afterPut = JSON.parse(await getText(svc, `/counter-reports/${id}`));
      assert.equal(afterPut.reportEditedManually, true);
      sameText(
        JSON.stringify(afterPut.report),
        JSON.stringify(JSON.parse(itemText).report),
        'report after PUT',
      );
      assert.ok((await chunkCount(svc, id)) >= 2);
      assert.equal((await call(svc, 'DELETE', `/counter-reports/${id}`)).status, 204);
    });

    it('a small report through the streamed route is stored as one value and round-trips', async () => {
      const small = {
        Report_Header: { Report_ID: 'TR' },
        Report_Items: [{ Title: 'a', n: 1.5 }, { Title: 'b' }],
      };
      const posted = await sendInPieces(
        svc,
        'POST',
        '/counter-reports',
        JSON.stringify({ report: small, ...report(pid, '2020-04') }),
        3,
      );
      assert.equal(posted.status, 201, posted.text);
      const record = JSON.parse(posted.text);
      assert.equal(await chunkCount(svc, record.id), 0);
      assert.deepEqual((await get(svc, `/counter-reports/${record.id}`)).report, small);
      const empty = await call(svc, 'POST', '/counter-reports', {
        body: { ...report(pid, '2020-05'), report: {} },
      });
      assert.equal(empty.status, 201, empty.text);
      assert.deepEqual(empty.json.report, {});
    });

    it('a large collection answer streams record by record and equals the records', async () => {
      const ids: string[] = [];
      for (const month of ['2021-01', '2021-02']) {
        const body = JSON.stringify({ ...report(pid, month), report: largeReport(15_000, month) });
        const res = await sendInPieces(svc, 'POST', '/counter-reports', body, 1 << 20);
        assert.equal(res.status, 201);
        ids.push(JSON.parse(res.text).id);
      }
      const cql = encodeURIComponent(`providerId==${pid} and yearMonth==2021* sortby yearMonth`);
      const list = await call(svc, 'GET', `/counter-reports?query=${cql}&limit=10`);
      assert.equal(list.status, 200);
      assert.equal(list.headers.get('content-length'), null, 'streamed');
      const items = await Promise.all(ids.map((id) => getText(svc, `/counter-reports/${id}`)));
      sameText(list.text, `{"counterReports":[${items.join(',')}],"totalRecords":2}`, 'list');
      const tiny = await get(svc, `/counter-reports?query=${cql}&tiny=true`);
      assert.deepEqual(
        tiny.counterReports.map((r: { id: string; report?: unknown }) => [r.id, r.report]),
        ids.map((id) => [id, undefined]),
      );
    });

    if (backend.name === 'pglite')
      it('a large month waiting for the database longer than the idle timeout is still stored', async () => {
        const idle = await backend.start({
          config: { mode: 'standalone', server: { ...testConfig().server, idleTimeoutMs: 2_000 } },
        });
        try {
          const provider = (await create(idle, '/usage-data-providers', udp('Idle'))).id as string;
          const id = (await create(idle, '/counter-reports', report(provider, '2023-01'))).id as string;
          const body = JSON.stringify({
            ...report(provider, '2023-01'),
            report: largeReport(15_000, 'idle'),
          });
          // The embedded database runs one transaction at a time: this one keeps the upload waiting.
          let release = (): void => undefined;
          const held = idle.ctx.db.transaction(() => new Promise<void>((r) => (release = r)));
          const put = sendInPieces(idle, 'PUT', `/counter-reports/${id}`, body, 1 << 20);
          await new Promise((r) => setTimeout(r, 8_000));
          release();
          await held;
          const res = await put;
          assert.equal(res.status, 204, res.text.slice(0, 300));
          assert.ok((await chunkCount(idle, id)) >= 2);
        } finally {
          await idle.close();
        }
      });

    it('broken bodies: 400 with what is wrong, nothing stored, no spool left', async () => {
      const before = await spools();
      const total = async () => (await get(svc, '/counter-reports?limit=0')).totalRecords as number;
      const count = await total();
      const good = JSON.stringify({ ...report(pid, '2022-01'), report: largeReport(15_000, 'cut') });
      const cases: [string, string, RegExp][] = [
        ['truncated', good.slice(0, good.length - 5_000), /not valid JSON/],
        ['bad item', good.replace('"Title":"cut 14000', '"Title":cut 14000'), /not valid JSON/],
        ['array', '[1,2]', /must be a JSON object/],
        ['string', '"x"', /must be a JSON object/],
        ['trailing', `${good} x`, /not valid JSON/],
      ];
      for (const [name, body, message] of cases) {
        const res = await sendInPieces(svc, 'POST', '/counter-reports', body, 100_000);
        assert.equal(res.status, 400, `${name}: ${res.text}`);
        assert.match(res.text, message, name);
      }
      const empty = await call(svc, 'POST', '/counter-reports', {
        rawBody: '',
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(empty.status, 400);
      const text = await call(svc, 'POST', '/counter-reports', {
        rawBody: 'x',
        headers: { 'content-type': 'text/plain' },
      });
      assert.equal(text.status, 400);
      const invalid = await sendInPieces(
        svc,
        'POST',
        '/counter-reports',
        JSON.stringify({ ...report(pid, '2022-02'), yearMonth: 7, report: largeReport(15_000, 'x') }),
        1 << 20,
      );
      assert.equal(invalid.status, 422, invalid.text);
      // Member names PostgreSQL cannot store (a lone surrogate, a NUL), at the top and in the report.
      const base = report(pid, '2022-03', {
        report: { Report_Header: { Report_ID: 'TR', Release: '5' }, Report_Items: [] },
      });
      const names: [string, string][] = [
        ['top', `{"\\ud800":"",${JSON.stringify(base).slice(1)}`],
        ['report', JSON.stringify(base).replace('"Report_Header"', '"\\u0000x":1,"Report_Header"')],
      ];
      for (const [name, body] of names) {
        const res = await sendInPieces(svc, 'POST', '/counter-reports', body, 1 << 20);
        assert.equal(res.status, 422, `${name}: ${res.text}`);
        assert.match(res.text, /member name that contains a (lone UTF-16 surrogate|NUL character)/, name);
      }
      assert.equal(await total(), count);
      assert.deepEqual(await spoolsAfter(before), before);
    });
  });
}
