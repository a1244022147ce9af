/**
 * Client input that PostgreSQL cannot store or that code cannot walk is refused before any SQL, with a
 * 400/422 in FOLIO's formats naming what and where (docs/hardening.md, "Client input"): NUL and lone
 * surrogates in CQL, parameters, path ids and JSON strings; JSON nested 2,000 levels; dates outside the
 * years 0001–9999; loose months and counts; reserved tenant names; bodies over the route's limit. After
 * each refusal the service keeps working and nothing was written. PGlite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { publicMessage } from '../../src/api/http-errors.ts';
import { loadConfig } from '../../src/config.ts';
import type { RunningService } from '../../src/server.ts';
import { backends, call } from '../helpers/service.ts';
import { create, get, report, udp } from '../helpers/store.ts';

const JSON_TYPE = { 'content-type': 'application/json' };

/** `{"label":…,"x":[[[…1…]]]}` nested `depth` levels. */
function deepBody(depth: number): string {
  return `{"label":"deep","status":"active","harvestingConfig":{"harvestingStatus":"active"},"x":${'['.repeat(depth)}1${']'.repeat(depth)}}`;
}

function assertRmb(res: { status: number; json: any; text: string }, key: string, message: RegExp): void {
  assert.equal(res.status, 422, res.text);
  assert.equal(res.json.total_records, 1);
  const [error] = res.json.errors;
  assert.match(error.message, message);
  assert.equal(error.parameters[0].key, key);
}

function assertText(
  res: { status: number; headers: Headers; text: string },
  status: number,
  text: RegExp,
): void {
  assert.equal(res.status, status, res.text);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
  assert.match(res.text, text);
}

for (const backend of backends()) {
  describe(`client input on ${backend.name}`, () => {
    let svc: RunningService;
    let providerId: string;
    before(async () => {
      svc = await backend.start({
        config: {
          mode: 'standalone',
          server: { ...loadConfig({}).server, bodyLimitBytes: 4096, reportBodyLimitBytes: 65_536 },
        },
      });
      providerId = (await create(svc, '/usage-data-providers', udp('input base'))).id;
    });
    after(async () => {
      await svc.close();
    });

    async function providerCount(): Promise<number> {
      return (await get(svc, '/usage-data-providers?limit=0')).totalRecords;
    }

    it('refuses NUL in a CQL term, a parameter and a path id with 400 naming it, on every kind of route', async () => {
      const cases: [string, string, RegExp][] = [
        [
          'GET',
          '/usage-data-providers?query=label%3D%22a%00b%22',
          /query parameter 'query'.*NUL character \(U\+0000\) at position 8/,
        ],
        ['GET', '/counter-reports?query=yearMonth%3E%00', /query parameter 'query'.*NUL/],
        ['GET', '/aggregator-settings?limit=1%00', /query parameter 'limit'.*NUL.*at position 1/],
        ['GET', '/erm-usage-harvester/jobs?providerId=a%00b', /query parameter 'providerId'.*NUL/],
        ['GET', '/erm-usage-harvester/jobs?query=providerId%3D%3Da%00', /query parameter 'query'.*NUL/],
        ['GET', '/erm-usage-harvester/start/a%00b', /path parameter 'id'.*NUL/],
        ['GET', '/usage-data-providers/%00', /path parameter 'id'.*NUL/],
        ['DELETE', '/counter-reports/x%00', /path parameter 'id'.*NUL/],
        ['GET', '/_/tenant/%00', /path parameter 'operationId'.*NUL/],
      ];
      for (const [method, path, text] of cases) assertText(await call(svc, method, path), 400, text);
    });

    it('refuses NUL and lone surrogates in JSON strings and names: 422 on store writes, 400 elsewhere', async () => {
      const before = await providerCount();
      const nul = await call(svc, 'POST', '/usage-data-providers', { body: udp('a\u0000b') });
      assertRmb(nul, 'label', /^label contains a NUL character \(U\+0000\) at position 1$/);

      const lone = JSON.stringify(udp('x', { notes: 'PLACEHOLDER' })).replace('PLACEHOLDER', 'ok \\udc00');
      const surrogate = await call(svc, 'POST', '/usage-data-providers', {
        rawBody: lone,
        headers: JSON_TYPE,
      });
      assertRmb(surrogate, 'notes', /^notes contains a lone UTF-16 surrogate \(U\+DC00\) at position 3$/);

      const nested = await call(svc, 'PUT', `/usage-data-providers/${providerId}`, {
        body: udp('x', {
          harvestingConfig: { harvestingStatus: 'active', sushiConfig: { serviceUrl: 'https://x\u0000' } },
        }),
      });
      assertRmb(nested, 'harvestingConfig.sushiConfig.serviceUrl', /NUL/);

      const inReport = await call(svc, 'POST', '/counter-reports', {
        body: report(providerId, '2024-01', { report: { Report_Items: [{ Title: 'x\u0000' }] } }),
      });
      assertRmb(inReport, 'report.Report_Items[0].Title', /NUL/);

      const name = await call(svc, 'POST', '/usage-data-providers', {
        rawBody: JSON.stringify(udp('x')).replace('{', '{"bad\\u0000name":1,'),
        headers: JSON_TYPE,
      });
      assertRmb(name, 'body', /member name that contains a NUL/);

      const ids = await call(svc, 'POST', '/counter-reports/reports/delete', { body: ['\u0000'] });
      assertText(ids, 400, /^Invalid request body: \[0\] contains a NUL character/);

      const tenantBody = await call(svc, 'POST', '/_/tenant', { body: { module_to: 'm-1.0\u0000' } });
      assertText(tenantBody, 400, /module_to contains a NUL/);
      assert.equal(await providerCount(), before, 'nothing was written');
    });

    it('refuses JSON nested 2,000 levels with one error naming the depth, and takes 64 levels', async () => {
      const res = await call(svc, 'POST', '/usage-data-providers', {
        rawBody: deepBody(2000),
        headers: JSON_TYPE,
      });
      assert.equal(res.status, 422, res.text);
      assert.match(
        res.json.errors[0].message,
        /^x\[0\]\[0\].*is nested deeper than 64 levels of objects and arrays$/,
      );
      const jobs = await call(svc, 'POST', '/erm-usage-harvester/periodic', {
        rawBody: `{"startAt":"2024-01-01T00:00:00Z","periodicInterval":"daily","x":${'['.repeat(2000)}${']'.repeat(2000)}}`,
        headers: JSON_TYPE,
      });
      assert.equal(jobs.status, 422, jobs.text);
      const ok = await call(svc, 'POST', '/usage-data-providers', {
        rawBody: deepBody(62),
        headers: JSON_TYPE,
      });
      assert.equal(ok.status, 201, ok.text);
    });

    it('refuses dates outside the years 0001–9999 and loose months and counts with 422 naming the field', async () => {
      const cases: [string, Record<string, unknown>, string, RegExp][] = [
        [
          '/usage-data-providers',
          udp('d1', { harvestingDate: 1e300 }),
          'harvestingDate',
          /must be a date-time/,
        ],
        [
          '/usage-data-providers',
          udp('d2', { harvestingDate: '0000-12-31T00:00:00Z' }),
          'harvestingDate',
          /date-time/,
        ],
        [
          '/counter-reports',
          report(providerId, '2024-01', { downloadTime: 1e300 }),
          'downloadTime',
          /date-time/,
        ],
        [
          '/counter-reports',
          report(providerId, '2024-01', { downloadTime: -1e300 }),
          'downloadTime',
          /date-time/,
        ],
        [
          '/counter-reports',
          report(providerId, 'garbage'),
          'yearMonth',
          /^yearMonth must be a month yyyy-MM/,
        ],
        ['/counter-reports', report(providerId, '2024-13'), 'yearMonth', /month/],
        ['/counter-reports', report(providerId, '2024-1'), 'yearMonth', /month/],
        [
          '/counter-reports',
          report(providerId, '2024-02', { failedAttempts: 1e300 }),
          'failedAttempts',
          /^failedAttempts must be at most 2147483647$/,
        ],
        [
          '/counter-reports',
          report(providerId, '2024-02', { failedAttempts: -1 }),
          'failedAttempts',
          /at least 0/,
        ],
      ];
      for (const harvestingStart of ['yesterday', '2024-13', '2024-02-30', '24-01'])
        cases.push([
          '/usage-data-providers',
          udp('s', { harvestingConfig: { harvestingStatus: 'active', harvestingStart } }),
          'harvestingConfig.harvestingStart',
          /^harvestingConfig.harvestingStart must be a month yyyy-MM such as 2024-01 \(or a day yyyy-MM-dd\)$/,
        ]);
      cases.push([
        '/usage-data-providers',
        udp('e', {
          harvestingConfig: { harvestingStatus: 'active', harvestingStart: '2024-01', harvestingEnd: 'soon' },
        }),
        'harvestingConfig.harvestingEnd',
        /harvestingEnd must be a month/,
      ]);
      for (const [path, body, key, message] of cases) {
        const res = await call(svc, 'POST', path, { body });
        assertRmb(res, key, message);
      }
      const edges = await create(
        svc,
        '/counter-reports',
        report(providerId, '9999-12', {
          downloadTime: '9999-12-31T23:59:59.999Z',
          failedAttempts: 2_147_483_647,
        }),
      );
      assert.equal(edges.downloadTime, '9999-12-31T23:59:59.999+00:00');
      const early = await create(
        svc,
        '/usage-data-providers',
        udp('early', { harvestingDate: '0001-01-01' }),
      );
      assert.equal(early.harvestingDate, '0001-01-01T00:00:00.000+00:00');
      const day = await create(
        svc,
        '/usage-data-providers',
        udp('day', {
          harvestingConfig: { harvestingStatus: 'active', harvestingStart: '2024-02-29', harvestingEnd: '' },
        }),
      );
      assert.equal(day.harvestingConfig.harvestingStart, '2024-02-29');
      const periodic = await call(svc, 'POST', '/erm-usage-harvester/periodic', {
        body: { startAt: '0000-01-01T00:00:00Z', periodicInterval: 'daily' },
      });
      assertText(periodic, 400, /startAt/);
    });

    it('refuses reserved and invalid tenant names with 400 on every route and on POST /_/tenant', async () => {
      for (const tenant of [
        'pg_catalog',
        'public',
        'information_schema',
        'harvester',
        'pg_temp',
        'pg_toast_1',
      ]) {
        assertText(
          await call(svc, 'GET', '/usage-data-providers', { tenant }),
          400,
          new RegExp(`Invalid tenant id '${tenant}': the name is reserved`),
        );
        for (const body of [{ module_to: 'mod-erm-usage-harvester-1.0.0' }, { purge: true }, {}])
          assertText(await call(svc, 'POST', '/_/tenant', { tenant, body }), 400, /is reserved/);
      }
      assertText(
        await call(svc, 'GET', '/erm-usage-harvester/jobs', { tenant: 'Bad-Tenant' }),
        400,
        /Invalid tenant id 'Bad-Tenant'/,
      );
      // The timer answers 204 whatever happens.
      assert.equal(
        (await call(svc, 'POST', '/erm-usage-harvester/jobs/cleanup', { tenant: 'pg_temp' })).status,
        204,
      );
      // Purging a tenant that was never enabled succeeds and tells nothing about the database.
      const purge = await call(svc, 'POST', '/_/tenant', { tenant: 'never_enabled', body: { purge: true } });
      assert.equal(purge.status, 204, purge.text);
    });

    it('answers 413 naming the route, its limit and the setting; counter reports take larger bodies', async () => {
      const before = await providerCount();
      const big = await call(svc, 'POST', '/usage-data-providers', {
        body: udp('big', { notes: 'x'.repeat(5000) }),
      });
      assertText(
        big,
        413,
        /^Request body too large: POST \/usage-data-providers takes at most 4096 bytes \(4 KiB\); the limit is set by SERVER_BODY_LIMIT_BYTES$/,
      );
      const periodic = await call(svc, 'POST', '/erm-usage-harvester/periodic', {
        body: { startAt: '2024-01-01T00:00:00Z', periodicInterval: 'daily', x: 'x'.repeat(5000) },
      });
      assertText(periodic, 413, /POST \/erm-usage-harvester\/periodic takes at most 4096 bytes/);
      const tenant = await call(svc, 'POST', '/_/tenant', { body: { module_to: 'x'.repeat(5000) } });
      assertText(tenant, 413, /SERVER_BODY_LIMIT_BYTES/);
      const month = await call(svc, 'POST', '/counter-reports', {
        body: report(providerId, '2023-01', { report: { note: 'x'.repeat(20_000) } }),
      });
      assert.equal(month.status, 201, month.text);
      const put = await call(svc, 'PUT', `/counter-reports/${month.json.id}`, {
        body: report(providerId, '2023-01', { report: { note: 'x'.repeat(70_000) } }),
      });
      assertText(
        put,
        413,
        /PUT \/counter-reports\/:id takes at most 65536 bytes \(64 KiB\); the limit is set by SERVER_REPORT_BODY_LIMIT_BYTES/,
      );
      assert.equal(await providerCount(), before);
    });

    it('names a database error by its SQLSTATE only, never by its text', async () => {
      const err = await svc.ctx.db.query('SELECT * FROM no_such_table_x').then(
        () => assert.fail('the query should fail'),
        (e: unknown) => e,
      );
      assert.match((err as Error).message, /no_such_table_x/);
      assert.equal(publicMessage(err), 'Database error (SQLSTATE 42P01); the service log has the details');
      assert.equal(publicMessage(new Error('Scheduling refused')), 'Scheduling refused');
    });

    it('keeps the database usable after all of it', async () => {
      const created = await create(svc, '/usage-data-providers', udp('after input'));
      assert.equal((await get(svc, `/usage-data-providers/${created.id}`)).label, 'after input');
      assert.equal((await call(svc, 'GET', '/admin/health', { tenant: null })).text, 'OK');
    });
  });
}
