/**
 * Providers, aggregator settings, counter reports and their derived fields survive a service restart,
 * on PGlite (the same database reopened) and on PostgreSQL (the same database by URL).
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { Db } from '../../src/store/db.ts';
import { backends, call } from '../helpers/service.ts';

for (const backend of backends()) {
  describe(`store restart on ${backend.name}`, () => {
    it('keeps what was written', async () => {
      const { db, url } = await backend.freshDb();
      // PGlite: one database whose close() is ignored between the two services; PostgreSQL: by URL.
      const kept: Db | undefined =
        backend.name === 'pglite'
          ? {
              kind: db.kind,
              query: (s, p) => db.query(s, p),
              transaction: (fn) => db.transaction(fn),
              health: (timeoutMs) => db.health(timeoutMs),
              close: async () => {},
            }
          : undefined;
      if (!kept) await db.close();
      const storage = kept ? { db: kept } : { databaseUrl: url };
      const first = await backend.start({ ...storage });
      const agg = await call(first, 'POST', '/aggregator-settings', {
        body: {
          label: 'NSS',
          serviceType: 'NSS',
          serviceUrl: 'https://nss.example.org/GetReport',
          accountConfig: { configType: 'Manual' },
        },
      });
      assert.equal(agg.status, 201, agg.text);
      const udp = await call(first, 'POST', '/usage-data-providers', {
        body: {
          label: 'Survivor',
          status: 'active',
          harvestingConfig: {
            harvestingStatus: 'active',
            harvestVia: 'aggregator',
            aggregator: { id: agg.json.id },
          },
        },
      });
      assert.equal(udp.status, 201, udp.text);
      const rep = await call(first, 'POST', '/counter-reports', {
        body: {
          providerId: udp.json.id,
          release: '5.1',
          reportName: 'TR',
          yearMonth: '2024-01',
          downloadTime: '2024-02-01T00:00:00Z',
          report: { x: 1 },
        },
      });
      assert.equal(rep.status, 201, rep.text);
      await first.close();

      const second = await backend.start({ ...storage, tenants: [] });
      try {
        const p = await call(second, 'GET', `/usage-data-providers/${udp.json.id}`);
        assert.equal(p.status, 200);
        assert.equal(p.json.label, 'Survivor');
        assert.equal(p.json.harvestingConfig.aggregator.name, 'NSS');
        assert.equal(p.json.latestReport, '2024-01');
        assert.deepEqual(p.json.reportTypes, ['TR']);
        assert.equal((await call(second, 'GET', `/aggregator-settings/${agg.json.id}`)).json.label, 'NSS');
        const r = await call(second, 'GET', `/counter-reports/${rep.json.id}`);
        assert.deepEqual(r.json.report, { x: 1 });
      } finally {
        await second.close();
        await db.close().catch(() => {});
      }
    });
  });
}
