/**
 * An endpoint's spacing (ENDPOINT_MIN_INTERVAL_MS) holds across the moment a request's item goes back
 * to the queue. When the provider's report list was the request, and when a request is deferred (202,
 * "queued for processing"), the item is put back while the endpoint is still to be released; another
 * process claiming right then must not find the endpoint free with its old allowed time, or it sends
 * the job's next request without the spacing. Here that other process is a second queue on the same
 * database that claims right after every statement that puts an item back: it must get nothing.
 * The harvest still stores every month once, with the spacing between all requests to the endpoint.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import type { RunningService } from '../../src/server.ts';
import type { Db } from '../../src/store/db.ts';
import { WorkItemQueue, type ClaimedItem } from '../../src/store/sql/work-items.ts';
import { startMockCounterServer, type MockCounterServer } from '../../mock/counter-server.ts';
import { backends, testHarvest } from '../helpers/service.ts';
import { harvestMockProviders, reportsOf } from '../helpers/harvest.ts';

const SPACING_MS = 800;
const PUT_BACK = /work_items[\s\S]*run_after = \$2, attempts = 0/;

for (const backend of backends()) {
  describe(`the endpoint is released before its item goes back to the queue (${backend.name})`, () => {
    let svc: RunningService;
    let mock: MockCounterServer;
    let ids: Record<string, string> = {};
    /** What the other process claimed right after each statement that put an item back. */
    const claimedAfterPutBack: ClaimedItem[][] = [];

    before(async () => {
      mock = await startMockCounterServer();
      svc = await backend.start({
        config: { harvest: testHarvest({ endpointMinIntervalMs: SPACING_MS, requestConcurrency: 2 }) },
      });
      const db: Db = svc.ctx.db;
      const other = new WorkItemQueue(db, 'another-process', 5 * 60_000, 4);
      const query: Db['query'] = db.query.bind(db);
      db.query = (async (sql: string, params?: unknown[]) => {
        const res = await query(sql, params);
        if (PUT_BACK.test(sql)) {
          claimedAfterPutBack.push(await other.claimMany(Date.now(), 10));
          await other.giveBackMine();
        }
        return res;
      }) as Db['query'];
      // The first request of the job asks for the report list; the first answer for each month is 202.
      ids = await harvestMockProviders(svc, mock.url, { 'queued:1-spaced': [['TR'], '2022-01', '2022-02'] });
    });
    after(async () => {
      await svc?.close();
      await mock?.close();
    });

    it('another claim right after an item is put back finds the endpoint still spaced', () => {
      // The report list's item, and each month's first (deferred) request.
      assert.ok(claimedAfterPutBack.length >= 3, `items put back: ${claimedAfterPutBack.length}`);
      assert.deepEqual(
        claimedAfterPutBack.map((items) => items.map((i) => `${i.reportName} ${i.begin}`)),
        claimedAfterPutBack.map(() => []),
      );
    });

    it('every month stored once, every request to the endpoint spaced', async () => {
      assert.deepEqual(
        (await reportsOf(svc, ids['queued:1-spaced'])).map((r) => `${r.reportName} ${r.yearMonth}`).sort(),
        ['TR 2022-01', 'TR 2022-02'],
      );
      const requests = mock.requests.sort((a, b) => a.startedAt - b.startedAt);
      for (let i = 1; i < requests.length; i++) {
        const gap = requests[i].startedAt - (requests[i - 1].finishedAt ?? Infinity);
        assert.ok(
          gap >= SPACING_MS - 50,
          `request ${i} (${requests[i].path}) came ${gap} ms after the one before`,
        );
      }
    });
  });
}
