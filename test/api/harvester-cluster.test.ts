/**
 * Durability and several processes: queued work survives a restart (PGlite file-backed and PostgreSQL),
 * startup builds missing schedules (63), and two service processes on one PostgreSQL database execute each
 * job and each periodic fire time exactly once, with cluster-wide uniqueness (folio-contract §6.7; checklist 11, 64).
 */
import { strict as assert } from 'node:assert';
import { after, describe, it } from 'node:test';
import { ManualClock } from '../../src/clock.ts';
import type { Db } from '../../src/store/db.ts';
import type { RunningService } from '../../src/server.ts';
import { backends, call, type Backend, type TestServiceOptions } from '../helpers/service.ts';
import {
  allJobs,
  deferred,
  FakeErm,
  Gate,
  SwitchableHook,
  queueSize,
  sleep,
  waitFor,
} from '../helpers/jobs.ts';

const START = '/erm-usage-harvester/start';
const PERIODIC = '/erm-usage-harvester/periodic';

/**
 * Storage that outlives a service: on PGlite one database whose close() is ignored (a file-backed data
 * directory behaves the same but takes many seconds to create), on PostgreSQL one database by URL.
 */
async function durableStorage(backend: Backend): Promise<{
  open(): Promise<Pick<TestServiceOptions, 'db' | 'databaseUrl'>>;
  dispose(): Promise<void>;
}> {
  const { db, url } = await backend.freshDb();
  if (backend.name === 'pglite') {
    const kept: Db = {
      kind: db.kind,
      query: (sql, params) => db.query(sql, params),
      transaction: (fn) => db.transaction(fn),
      health: (timeoutMs) => db.health(timeoutMs),
      close: async () => {},
    };
    return { open: async () => ({ db: kept }), dispose: () => db.close() };
  }
  await db.close();
  return { open: async () => ({ databaseUrl: url }), dispose: async () => {} };
}

const all = backends();

for (const backend of all) {
  describe(`restart on ${backend.name}`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    after(async () => {
      for (const c of cleanups) await c();
    });

    it('a queued job survives a restart and runs once', async () => {
      const storage = await durableStorage(backend);
      cleanups.push(() => storage.dispose());
      const erm = new FakeErm();
      // Inactive: the provider job ends at step 1 whatever harvest is installed, so its end is predictable.
      erm.addProvider('p1', 'inactive');
      const first = await backend.start({ ...(await storage.open()), erm, config: { runWorkers: false } });
      let second: RunningService | undefined;
      try {
        assert.equal((await call(first, 'GET', `${START}/p1`)).status, 200);
        const refused = await call(first, 'GET', START);
        assert.equal(refused.text, "Harvesting for tenant 'diku' is already in progress");
        const [scheduled] = await allJobs(first);
        assert.ok(scheduled.nextStart);
        await first.close();

        second = await backend.start({ ...(await storage.open()), erm, tenants: [] });
        await waitFor('the job to finish', async () => (await allJobs(second!))[0]?.finishedAt !== undefined);
        const [done] = await allJobs(second);
        assert.equal(done.id, scheduled.id);
        assert.equal(done.timestamp, scheduled.timestamp);
        assert.equal(done.result, 'failure');
        assert.equal(done.errorMessage, 'ProviderJobError: Provider: p1, HarvestingStatus not ACTIVE');
        assert.equal(erm.getProviderCalls.get('p1'), 1);
        assert.equal(await queueSize(second), 0);
      } finally {
        await first.close();
        await second?.close();
      }
    });

    it('startup builds the schedules of every tenant with a configuration (63)', async () => {
      const storage = await durableStorage(backend);
      cleanups.push(() => storage.dispose());
      const first = await backend.start({
        ...(await storage.open()),
        tenants: ['diku', 'other'],
        config: { runWorkers: false },
      });
      let second: RunningService | undefined;
      try {
        for (const tenant of ['diku', 'other']) {
          const res = await call(first, 'POST', PERIODIC, {
            tenant,
            body: { startAt: '2099-03-01T06:15:00Z', periodicInterval: 'weekly' },
          });
          assert.equal(res.status, 201);
          await first.ctx.db.query(`DELETE FROM "${tenant}_mod_erm_usage_harvester".job_info`);
        }
        await first.close();
        second = await backend.start({
          ...(await storage.open()),
          tenants: [],
          config: { runWorkers: false },
        });
        for (const tenant of ['diku', 'other']) {
          const jobs = await allJobs(second, tenant);
          assert.deepEqual(
            jobs.map((j) => [j.type, j.nextStart]),
            [['periodic', '2099-03-01T06:15:00.000+00:00']],
            tenant,
          );
        }
      } finally {
        await first.close();
        await second?.close();
      }
    });
  });
}

describe('two processes on one PostgreSQL database', () => {
  const pg = all[1];
  let a: RunningService | undefined;
  let b: RunningService | undefined;
  const erm = new FakeErm();
  const clock = new ManualClock(Date.parse('2023-01-02T10:00:00Z'));
  const hook = new SwitchableHook();
  after(async () => {
    await a?.close();
    await b?.close();
  });

  it('starts both', async () => {
    const { db, url } = await pg.freshDb();
    await db.close();
    for (let i = 1; i <= 6; i++) erm.addProvider(`p${i}`);
    a = await pg.start({
      databaseUrl: url,
      erm,
      clock,
      config: { instanceId: 'A' },
      harvestProvider: hook.hook,
    });
    b = await pg.start({
      databaseUrl: url,
      erm,
      clock,
      tenants: [],
      config: { instanceId: 'B' },
      harvestProvider: hook.hook,
    });
  });

  it('concurrent /start on both: one 200, one 500; every provider job runs exactly once (11)', async () => {
    const gate = new Gate();
    hook.set(gate.hook);
    const listing = deferred();
    erm.findGate = listing.promise;
    const results = await Promise.all([call(a!, 'GET', START), call(b!, 'GET', START)]);
    assert.deepEqual(results.map((r) => r.status).sort(), [200, 500]);
    assert.equal((await call(b!, 'GET', `${START}/p1`)).status, 200, 'a provider job is still allowed');
    assert.equal(
      (await call(a!, 'GET', `${START}/p1`)).text,
      "A job for provider with id 'p1' is already scheduled/running",
    );
    await waitFor('p1 running', () => gate.waiting === 1);
    erm.findGate = undefined;
    listing.resolve();
    // The tenant job skips p1 (active) and requests p2..p6.
    await waitFor('5 more provider jobs', async () => (await allJobs(a!)).length === 7);
    gate.release(true);
    await waitFor(
      '7 finished jobs',
      async () => (await allJobs(a!)).filter((j) => j.finishedAt).length === 7,
    );
    await sleep(300);
    const jobs = await allJobs(a!);
    assert.equal(jobs.length, 7, JSON.stringify(jobs));
    assert.equal(jobs.filter((j) => j.type === 'tenant').length, 1);
    assert.ok(jobs.every((j) => j.result === 'success'));
    assert.deepEqual(
      [...erm.getProviderCalls.entries()].sort(),
      [1, 2, 3, 4, 5, 6].map((i) => [`p${i}`, 1]),
    );
    assert.deepEqual(
      [...gate.calls.entries()].sort(),
      [1, 2, 3, 4, 5, 6].map((i) => [`p${i}`, 1]),
    );
    assert.equal(await queueSize(a!), 0);
  });

  it('one periodic fire time: exactly one run row and one tenant job (64)', async () => {
    await a!.ctx.db.query('DELETE FROM "diku_mod_erm_usage_harvester".job_info');
    erm.getProviderCalls.clear();
    const res = await call(b!, 'POST', PERIODIC, {
      body: { startAt: '2019-01-01T08:00:00Z', periodicInterval: 'daily' },
    });
    assert.equal(res.status, 201);
    await waitFor('the run row', async () =>
      (await allJobs(a!)).some((j) => j.type === 'periodic' && j.finishedAt),
    );
    await waitFor('all finished', async () => (await allJobs(a!)).filter((j) => j.finishedAt).length === 8);
    await sleep(500);
    const jobs = await allJobs(a!);
    assert.equal(jobs.filter((j) => j.type === 'periodic' && !j.nextStart).length, 1);
    assert.equal(jobs.filter((j) => j.type === 'tenant').length, 1);
    assert.equal(jobs.filter((j) => j.type === 'provider').length, 6);
    assert.deepEqual(
      jobs.filter((j) => j.nextStart).map((j) => j.nextStart),
      ['2023-01-03T08:00:00.000+00:00'],
    );
    const fires = await a!.ctx.db.query('SELECT * FROM harvester.periodic_fires');
    assert.equal(fires.rows.length, 1);
    assert.ok([...erm.getProviderCalls.values()].every((n) => n === 1));
  });
});
