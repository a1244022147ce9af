/**
 * The service shell over real HTTP: tenant header rules, the FOLIO tenant API, the token, body
 * parsing, OpenAPI, health — on PGlite and on PostgreSQL.
 */
import { strict as assert } from 'node:assert';
import { Agent, request } from 'undici';
import { after, before, describe, it } from 'node:test';
import type { RunningService } from '../../src/server.ts';
import { backends, call } from '../helpers/service.ts';

for (const backend of backends()) {
  describe(`service shell on ${backend.name}`, () => {
    let svc: RunningService;
    before(async () => {
      svc = await backend.start();
    });
    after(async () => {
      await svc.close();
    });

    it('answers /admin/health without a tenant', async () => {
      const res = await call(svc, 'GET', '/admin/health', { tenant: null });
      assert.equal(res.status, 200);
      assert.equal(res.text, 'OK');
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    });

    it('refuses a request without X-Okapi-Tenant with FOLIO text', async () => {
      for (const path of ['/erm-usage-harvester/jobs', '/usage-data-providers', '/_/tenant/x']) {
        const res = await call(svc, 'GET', path, { tenant: null });
        assert.equal(res.status, 400, path);
        assert.equal(res.text, 'Unable to process request Tenant must be set');
        assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
      }
    });

    it('refuses an unknown tenant with a 400 that names it', async () => {
      const res = await call(svc, 'GET', '/erm-usage-harvester/jobs', { tenant: 'nosuch' });
      assert.equal(res.status, 400);
      assert.match(res.text, /Tenant 'nosuch' does not exist/);
      assert.match(res.text, /POST \/_\/tenant|tenants add nosuch/);
    });

    it('enables a tenant through POST /_/tenant: 201, Location, poll to complete, delete', async () => {
      const res = await call(svc, 'POST', '/_/tenant', {
        tenant: 'college',
        body: {
          module_to: 'mod-erm-usage-harvester-5.2.0',
          parameters: [{ key: 'loadSample', value: 'true' }],
        },
      });
      assert.equal(res.status, 201);
      const location = res.headers.get('location');
      assert.ok(location?.startsWith('/_/tenant/'), `Location ${location}`);
      assert.equal(res.json.tenant, 'college');
      const polled = await call(svc, 'GET', `${location}?wait=5000`, { tenant: 'college' });
      assert.equal(polled.status, 200);
      assert.equal(polled.json.complete, true);
      assert.equal(polled.json.error, undefined);
      const schemas = await svc.ctx.db.query<{ n: string }>(
        `SELECT schema_name AS n FROM information_schema.schemata WHERE schema_name = 'college_mod_erm_usage_harvester'`,
      );
      assert.equal(schemas.rows.length, 1, 'tenant schema created with FOLIO naming');
      const jobs = await call(svc, 'GET', '/erm-usage-harvester/impl', { tenant: 'college' });
      assert.notEqual(jobs.status, 400, 'tenant is usable');
      assert.equal((await call(svc, 'DELETE', location!, { tenant: 'college' })).status, 204);
      assert.equal((await call(svc, 'GET', location!, { tenant: 'college' })).status, 404);
      assert.equal((await call(svc, 'DELETE', location!, { tenant: 'college' })).status, 404);
    });

    it('disables without deleting (204) and purges with purge:true (204)', async () => {
      await call(svc, 'POST', '/_/tenant', { tenant: 'gone', body: { module_to: 'm-1' } });
      await waitFor(
        async () => (await call(svc, 'GET', '/erm-usage-harvester/impl', { tenant: 'gone' })).status !== 400,
      );
      const disable = await call(svc, 'POST', '/_/tenant', { tenant: 'gone', body: { module_from: 'm-1' } });
      assert.equal(disable.status, 204);
      assert.notEqual((await call(svc, 'GET', '/erm-usage-harvester/impl', { tenant: 'gone' })).status, 400);
      const purge = await call(svc, 'POST', '/_/tenant', { tenant: 'gone', body: { purge: true } });
      assert.equal(purge.status, 204);
      const after = await call(svc, 'GET', '/erm-usage-harvester/impl', { tenant: 'gone' });
      assert.equal(after.status, 400);
      const schemas = await svc.ctx.db.query(
        `SELECT 1 FROM information_schema.schemata WHERE schema_name = 'gone_mod_erm_usage_harvester'`,
      );
      assert.equal(schemas.rows.length, 0);
    });

    it('rejects an invalid tenant id in the tenant API with 400', async () => {
      const res = await call(svc, 'POST', '/_/tenant', { tenant: 'Bad-Tenant', body: { module_to: 'm-1' } });
      assert.equal(res.status, 400);
      assert.match(res.text, /Invalid tenant id 'Bad-Tenant'/);
    });

    it('answers 400 with a clear text for a body that is not JSON', async () => {
      const res = await call(svc, 'POST', '/_/tenant', {
        tenant: 'diku',
        rawBody: '{"module_to": ',
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(res.status, 400);
      assert.match(res.text, /not valid JSON/);
    });

    it('accepts an empty JSON body as no body (foliolib)', async () => {
      const res = await call(svc, 'POST', '/_/tenant', {
        tenant: 'diku',
        rawBody: '',
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(res.status, 204, res.text);
    });

    it('serves the OpenAPI document and the docs page', async () => {
      const doc = await call(svc, 'GET', '/openapi.json', { tenant: null });
      assert.equal(doc.status, 200);
      assert.equal(doc.json.openapi, '3.0.3');
      assert.ok(doc.json.paths['/admin/health'], 'health documented');
      assert.ok(doc.json.paths['/_/tenant'], 'tenant API documented');
      const page = await call(svc, 'GET', '/docs', { tenant: null });
      assert.equal(page.status, 200);
      assert.match(page.text, /swagger/i);
    });

    it('never sends an x-okapi-token header back and accepts an empty token', async () => {
      const res = await call(svc, 'GET', '/admin/health', { headers: { 'x-okapi-token': '' } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-okapi-token'), null);
    });

    it('serves two keep-alive clients with interleaved requests', async () => {
      const a = new Agent({ connections: 1 });
      const b = new Agent({ connections: 1 });
      try {
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            request(svc.url + '/admin/health', { dispatcher: i % 2 ? a : b }).then(async (r) => {
              await r.body.text();
              return r.statusCode;
            }),
          ),
        );
        assert.deepEqual(new Set(results), new Set([200]));
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('serves Prometheus metrics that count requests', async () => {
      await call(svc, 'GET', '/admin/health', { tenant: null });
      const res = await call(svc, 'GET', '/metrics', { tenant: null });
      assert.equal(res.status, 200);
      assert.match(
        res.text,
        /harvester_http_requests_total\{method="GET",route="\/admin\/health",status="200"\} \d+/,
      );
      assert.match(res.text, /process_cpu_user_seconds_total/);
    });

    it('answers an unknown route with 404 text', async () => {
      const res = await call(svc, 'GET', '/nope');
      assert.equal(res.status, 404);
      assert.match(res.text, /No route for GET \/nope/);
    });

    it('checks an unknown path below an API prefix like the routes beside it', async () => {
      for (const path of ['/erm-usage-harvester/nope', '/usage-data-providers/a/b', '/_/tenant/a/b']) {
        const none = await call(svc, 'GET', path, { tenant: null });
        assert.equal(none.status, 400, path);
        assert.equal(none.text, 'Unable to process request Tenant must be set');
        const found = await call(svc, 'GET', path);
        assert.equal(found.status, 404, path);
        assert.equal(found.text, `No route for GET ${path}`);
      }
      const unknownTenant = await call(svc, 'DELETE', '/erm-usage-harvester/jobs', { tenant: 'nosuch' });
      assert.equal(unknownTenant.status, 400);
      assert.match(unknownTenant.text, /Tenant 'nosuch' does not exist/);
    });

    it('answers a path outside every API with 404, tenant or not', async () => {
      const res = await call(svc, 'GET', '/nope/deeper', { tenant: null });
      assert.equal(res.status, 404);
      assert.equal(res.text, 'No route for GET /nope/deeper');
    });
  });

  describe(`token on ${backend.name}`, () => {
    let svc: RunningService;
    before(async () => {
      svc = await backend.start({ config: { token: 's3cret-token' } });
    });
    after(async () => {
      await svc.close();
    });

    it('refuses requests without the token with 401', async () => {
      const res = await call(svc, 'GET', '/erm-usage-harvester/impl');
      assert.equal(res.status, 401);
      assert.match(res.text, /token/i);
      const wrong = await call(svc, 'GET', '/erm-usage-harvester/impl', {
        headers: { 'x-okapi-token': 'nope' },
      });
      assert.equal(wrong.status, 401);
    });

    it('accepts X-Okapi-Token and Authorization: Bearer', async () => {
      const okapi = await call(svc, 'POST', '/_/tenant', {
        body: { module_to: 'm' },
        headers: { 'x-okapi-token': 's3cret-token' },
      });
      assert.equal(okapi.status, 201);
      const bearer = await call(svc, 'POST', '/_/tenant', {
        body: { module_to: 'm' },
        headers: { authorization: 'Bearer s3cret-token' },
      });
      assert.equal(bearer.status, 201);
    });

    it('keeps health open for probes', async () => {
      assert.equal((await call(svc, 'GET', '/admin/health', { tenant: null })).status, 200);
    });

    it('wants the token, but no tenant, for /metrics', async () => {
      assert.equal((await call(svc, 'GET', '/metrics', { tenant: null })).status, 401);
      const res = await call(svc, 'GET', '/metrics', {
        tenant: null,
        headers: { authorization: 'Bearer s3cret-token' },
      });
      assert.equal(res.status, 200);
      assert.match(res.text, /harvester_http_requests_total/);
    });

    it('wants the token before telling that a path below an API prefix does not exist', async () => {
      const res = await call(svc, 'GET', '/erm-usage-harvester/nope');
      assert.equal(res.status, 401);
      assert.match(res.text, /token/i);
    });

    it('serves the docs and the web UI without the token', async () => {
      for (const path of ['/openapi.json', '/docs', '/ui/']) {
        assert.equal((await call(svc, 'GET', path, { tenant: null })).status, 200, path);
      }
    });
  });
}

async function waitFor(cond: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('condition not reached in time');
}
