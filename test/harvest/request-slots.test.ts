/**
 * A request slot (REQUEST_CONCURRENCY) is held while the request is in flight, not while its months
 * are stored: with one slot and a store that takes long (a trigger that sleeps), the next provider's
 * request goes out before the first one's months are stored, and still never two requests at once.
 * On PostgreSQL, where the claim of the next request has a connection of its own; on PGlite's one
 * connection the claim waits for the statements sent before it, the sleeping store among them, so
 * there only the request's time in flight overlaps with the database's work.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import type { RunningService } from '../../src/server.ts';
import { startMockCounterServer, type MockCounterServer } from '../../mock/counter-server.ts';
import { backends, testHarvest } from '../helpers/service.ts';
import { harvestMockProviders, reportsOf } from '../helpers/harvest.ts';

const SCHEMA = 'diku_mod_erm_usage_harvester';
const STORE_SLEEP_S = 1.5;

for (const backend of backends().filter((b) => b.name === 'postgres')) {
  describe(`request slots are free while months are stored (${backend.name})`, () => {
    let svc: RunningService;
    let mock: MockCounterServer;
    let ids: Record<string, string> = {};

    before(async () => {
      mock = await startMockCounterServer();
      svc = await backend.start({
        config: { harvest: testHarvest({ requestConcurrency: 1 }) },
      });
      // Every stored month takes STORE_SLEEP_S, and the moment it was stored is kept.
      await svc.ctx.db.query(`CREATE TABLE ${SCHEMA}.stored_at (provider_id text, at double precision)`);
      await svc.ctx.db.query(
        `CREATE FUNCTION ${SCHEMA}.slow_store() RETURNS trigger AS $$
         BEGIN
           PERFORM pg_sleep(${STORE_SLEEP_S});
           INSERT INTO ${SCHEMA}.stored_at VALUES (NEW.jsonb->>'providerId', extract(epoch FROM clock_timestamp()) * 1000);
           RETURN NEW;
         END $$ LANGUAGE plpgsql`,
      );
      await svc.ctx.db.query(
        `CREATE TRIGGER slow_store BEFORE INSERT ON ${SCHEMA}.counter_reports
         FOR EACH ROW EXECUTE FUNCTION ${SCHEMA}.slow_store()`,
      );
      ids = await harvestMockProviders(svc, mock.url, {
        'ok-first': [['TR'], '2022-01', '2022-01'],
        'ok-second': [['TR'], '2022-01', '2022-01'],
      });
    });
    after(async () => {
      await svc?.close();
      await mock?.close();
    });

    it("the next request goes out before the first one's months are stored, one at a time", async () => {
      const requests = mock.requests
        .filter((r) => r.reportId === 'tr')
        .sort((a, b) => a.startedAt - b.startedAt);
      assert.equal(requests.length, 2);
      assert.equal(mock.maxInFlight(), 1, 'never more requests in flight than REQUEST_CONCURRENCY');
      const stored = await svc.ctx.db.query<{ at: number }>(
        `SELECT at FROM ${SCHEMA}.stored_at WHERE provider_id = $1`,
        [ids[requests[0].scenario]],
      );
      assert.equal(stored.rows.length, 1);
      assert.ok(
        requests[1].startedAt < stored.rows[0].at,
        `the second request (at ${requests[1].startedAt}) started before the first provider's month was stored (at ${stored.rows[0].at})`,
      );
      for (const key of ['ok-first', 'ok-second'])
        assert.deepEqual(
          (await reportsOf(svc, ids[key])).map((r) => `${r.reportName} ${r.yearMonth}`),
          ['TR 2022-01'],
        );
    });
  });
}
