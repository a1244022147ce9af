/**
 * One request must never break the database: CQL beyond the documented limits answers 400 on every
 * endpoint that takes a query, and the service (API, store, jobs) keeps working afterwards; queries at
 * the limits still give the right records. `/admin/health` checks the database. PGlite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CQL_LIMITS } from '../../src/cql/index.ts';
import type { RunningService } from '../../src/server.ts';
import { backends, call } from '../helpers/service.ts';
import { create, startStore, udp } from '../helpers/store.ts';

const ENDPOINTS = [
  '/usage-data-providers',
  '/counter-reports',
  '/aggregator-settings',
  '/erm-usage-harvester/jobs',
];

/** `label=x0 and label=x1 or label=x2 …` — each change of operator nests one level. */
function alternating(clauses: number, index = 'label'): string {
  let query = `${index}=x0`;
  for (let i = 1; i < clauses; i++) query += `${i % 2 ? ' and ' : ' or '}${index}=x${i}`;
  return query;
}

for (const backend of backends()) {
  describe(`CQL limits and database health on ${backend.name}`, () => {
    let svc: RunningService;
    before(async () => {
      svc = await startStore(backend);
    });
    after(async () => {
      await svc.close();
    });

    it('answers 400 to 269 alternating and/or clauses on every endpoint, and keeps working', async () => {
      const query = encodeURIComponent(alternating(269));
      for (const path of ENDPOINTS) {
        const res = await call(svc, 'GET', `${path}?query=${query}`);
        assert.equal(res.status, 400, `${path}: ${res.text}`);
        assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
        assert.match(res.text, /nested deeper than 32 levels/, path);
      }
      // Everything that follows uses the same database connection(s).
      const created = await create(svc, '/usage-data-providers', udp('after the deep query'));
      const list = await call(svc, 'GET', '/usage-data-providers?query=label=="after the deep query"');
      assert.equal(list.status, 200);
      assert.deepEqual(
        list.json.usageDataProviders.map((p: { id: string }) => p.id),
        [created.id],
      );
      assert.equal((await call(svc, 'GET', '/erm-usage-harvester/jobs')).status, 200);
      assert.equal((await call(svc, 'GET', '/admin/health', { tenant: null })).text, 'OK');
    });

    it('answers 400 to a query over the length or clause limits', async () => {
      const long = `label="${'x'.repeat(CQL_LIMITS.maxLength)}"`;
      // Sent in the query string, the long one would exceed the HTTP header limit first: use a group.
      const terms = Array.from({ length: CQL_LIMITS.maxClauses + 1 }, (_, i) => `${i}`).join(' or ');
      const res = await call(
        svc,
        'GET',
        `/usage-data-providers?query=${encodeURIComponent(`label=(${terms})`)}`,
      );
      assert.equal(res.status, 400, res.text);
      assert.match(res.text, /more than 1000 search clauses/);
      assert.ok(long.length > CQL_LIMITS.maxLength);
    });

    it('finds the right records with a query at the depth limit', async () => {
      const labels = ['depth a', 'depth b', 'depth c'];
      for (const label of labels) await create(svc, '/usage-data-providers', udp(label));
      // (((label=="depth a" or label=="depth b") and status=active) or label=="depth c") and …: 33 clauses.
      let query = 'label=="depth a"';
      for (let i = 1; i <= CQL_LIMITS.maxDepth; i++) {
        query += i % 2 ? ` or label=="depth ${i === 1 ? 'b' : 'c'}"` : ' and status=="active"';
      }
      const res = await call(svc, 'GET', `/usage-data-providers?query=${encodeURIComponent(query)}&limit=10`);
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.json.usageDataProviders.map((p: { label: string }) => p.label).sort(), labels);
    });
  });

  describe(`/admin/health on ${backend.name}`, () => {
    let svc: RunningService;
    before(async () => {
      // One connection on PostgreSQL, so that a held transaction leaves the health check nothing.
      svc = await backend.start({ config: { healthTimeoutMs: 300, databasePoolSize: 1 } });
    });
    after(async () => {
      await svc.close();
    });

    it('answers 503 while the database answers nothing, and 200 again afterwards', async () => {
      let release = () => {};
      let begun = () => {};
      const started = new Promise<void>((resolve) => (begun = resolve));
      const held = svc.ctx.db.transaction(() => {
        begun();
        return new Promise<void>((resolve) => (release = resolve));
      });
      // The check starts once the transaction holds the only connection (its BEGIN answered): an answer
      // that came after the check began would count as the database answering.
      await started;
      try {
        const res = await call(svc, 'GET', '/admin/health', { tenant: null });
        assert.equal(res.status, 503);
        assert.match(res.text, /^Database not available: the database has not answered for 300 ms/);
      } finally {
        release();
        await held;
      }
      const res = await call(svc, 'GET', '/admin/health', { tenant: null });
      assert.equal(res.status, 200);
      assert.equal(res.text, 'OK');
    });
  });
}
