/**
 * Items are claimed ahead of a free request slot: while the one slot (REQUEST_CONCURRENCY 1) has its
 * report request in flight (after both providers' report lists were asked), the next provider's item is already claimed, and when the answer frees the slot
 * that item's request goes out at once, without a claim of its own. On PostgreSQL the claims are
 * blocked (their advisory lock held by another connection) from the moment both items are claimed
 * until the second request starts or 5 s pass: the second request must not wait for the lock.
 * Never more requests in flight than slots, and every month stored once, on both databases.
 */
import { strict as assert } from 'node:assert';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { RunningService } from '../../src/server.ts';
import { WORK_ITEM_CLAIM_LOCK } from '../../src/store/sql/locks.ts';
import { RequestSlots } from '../../src/harvest/request-slots.ts';
import { startMockCounterServer, type MockCounterServer } from '../../mock/counter-server.ts';
import { backends, testHarvest } from '../helpers/service.ts';
import { addProvider, reportsOf, waitForJobs } from '../helpers/harvest.ts';

const SLOW_MS = 1500;
const LOCK_HOLD_MS = 5000;

describe('RequestSlots', () => {
  it('holds at most its size, passes a given-back slot to the first waiting item in order', async () => {
    const slots = new RequestSlots(2);
    const order: string[] = [];
    await slots.take();
    await slots.take();
    const waiting = ['a', 'b', 'c'].map((name) => slots.take().then(() => order.push(name)));
    await sleep(5);
    assert.deepEqual(order, [], 'no third slot while two are held');
    assert.equal(slots.inFlight, 2);
    slots.give();
    await sleep(5);
    assert.deepEqual(order, ['a']);
    assert.equal(slots.inFlight, 2, 'the slot passed on, still two held');
    slots.give();
    slots.give();
    await Promise.all(waiting);
    assert.deepEqual(order, ['a', 'b', 'c']);
    slots.give();
    slots.give();
    assert.equal(slots.inFlight, 0);
  });

  it('lets the waiting items go when the workers stop; each gives its slot back', async () => {
    const slots = new RequestSlots(1);
    await slots.take();
    const waiting = [slots.take(), slots.take()];
    slots.releaseWaiting();
    await Promise.all(waiting);
    assert.equal(slots.inFlight, 3);
    for (let i = 0; i < 3; i++) slots.give();
    assert.equal(slots.inFlight, 0);
    await slots.take();
    assert.equal(slots.inFlight, 1, 'a slot is free again after all were given back');
  });
});

for (const backend of backends()) {
  describe(`items claimed ahead of a free request slot (${backend.name})`, () => {
    let svc: RunningService;
    let mock: MockCounterServer;
    const ids: Record<string, string> = {};
    /** Claimed items while no report request had been answered yet (the most seen). */
    let claimedBeforeFirstAnswer = 0;
    /** When the claims' lock was taken and let go (PostgreSQL only). */
    let lockHeld: { from: number; to: number } | undefined;

    before(async () => {
      mock = await startMockCounterServer();
      svc = await backend.start({
        config: { harvest: testHarvest({ requestConcurrency: 1 }) },
      });
      for (const key of [`slow:${SLOW_MS}-first`, `slow:${SLOW_MS}-second`])
        ids[key] = await addProvider(svc, {
          label: key,
          serviceUrl: `${mock.url}/${key}`,
          release: '5.1',
          reports: ['TR'],
          start: '2022-01',
          end: '2022-01',
        });
      await svc.jobs.startTenantJob('diku');

      const reportRequests = () => mock.requests.filter((r) => r.reportId === 'tr');
      // Each provider job's first item asks for the provider's report list and goes back to the queue.
      const listsAnswered = () =>
        mock.requests.filter((r) => r.path.endsWith('/reports') && r.finishedAt !== undefined).length;
      const claimed = async () =>
        (
          await svc.ctx.db.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM harvester.work_items WHERE state = 'running'`,
          )
        ).rows[0].n;
      // From the report lists' answers until the first report request's, look how many items are claimed.
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && !reportRequests().some((r) => r.finishedAt !== undefined)) {
        if (listsAnswered() < 2) {
          await sleep(20);
          continue;
        }
        const n = await claimed();
        if (!reportRequests().some((r) => r.finishedAt !== undefined))
          claimedBeforeFirstAnswer = Math.max(claimedBeforeFirstAnswer, n);
        if (n >= 2 && backend.name === 'postgres' && lockHeld === undefined) {
          // Both items are claimed: block every claim until the second request has gone out.
          const client = new pg.Client({ connectionString: svc.ctx.config.databaseUrl });
          await client.connect();
          try {
            await client.query('SELECT pg_advisory_lock($1)', [WORK_ITEM_CLAIM_LOCK]);
            const from = Date.now();
            while (Date.now() - from < LOCK_HOLD_MS && reportRequests().length < 2) await sleep(20);
            lockHeld = { from, to: Date.now() };
            await client.query('SELECT pg_advisory_unlock($1)', [WORK_ITEM_CLAIM_LOCK]);
          } finally {
            await client.end();
          }
        }
        await sleep(20);
      }
      await waitForJobs(svc, 120_000);
    });
    after(async () => {
      await svc?.close();
      await mock?.close();
    });

    it('claims the next item while the only slot has its request in flight', () => {
      assert.equal(claimedBeforeFirstAnswer, 2);
    });

    it('never more requests in flight than slots, every month stored once', async () => {
      assert.equal(mock.maxInFlight(), 1);
      assert.equal(mock.requests.filter((r) => r.reportId === 'tr').length, 2);
      for (const id of Object.values(ids))
        assert.deepEqual(
          (await reportsOf(svc, id)).map((r) => `${r.reportName} ${r.yearMonth}`),
          ['TR 2022-01'],
        );
    });

    if (backend.name === 'postgres')
      it("the freed slot goes to the item claimed ahead without a claim's round trip", () => {
        assert.ok(lockHeld, 'both items were claimed while the first request was in flight');
        const second = mock.requests
          .filter((r) => r.reportId === 'tr')
          .sort((a, b) => a.startedAt - b.startedAt)[1];
        assert.ok(second, 'a second report request');
        assert.ok(
          second.startedAt < lockHeld.to && lockHeld.to - lockHeld.from < LOCK_HOLD_MS,
          `the second request (at ${second.startedAt}) went out while claims were blocked (${lockHeld.from}–${lockHeld.to})`,
        );
      });
  });
}
