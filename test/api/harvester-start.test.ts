/**
 * /start and /start/{id} over real HTTP on PGlite and PostgreSQL: messages, uniqueness (folio-contract §6.4), the one-shot
 * JobInfo sequence (folio-contract §6.2), provider-job concurrency, provider job failures (§7.1), tenant job fan-out
 * (folio-contract checklist §9.1 1–2, 4–11; §9.2 65–67).
 */
import { strict as assert } from 'node:assert';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ErmError } from '../../src/erm/port.ts';
import type { RunningService } from '../../src/server.ts';
import { backends, call } from '../helpers/service.ts';
import {
  allJobs,
  deferred,
  FakeErm,
  Gate,
  SwitchableHook,
  queueSize,
  sleep,
  waitFor,
  waitForJob,
} from '../helpers/jobs.ts';

const START = '/erm-usage-harvester/start';

for (const backend of backends()) {
  describe(`/start on ${backend.name}`, () => {
    let svc: RunningService;
    let erm: FakeErm;
    let gate: Gate;
    const hook = new SwitchableHook();

    before(async () => {
      erm = new FakeErm();
      svc = await backend.start({ erm, harvestProvider: hook.hook });
    });
    after(async () => {
      gate.release(true);
      await svc.close();
    });
    beforeEach(async () => {
      if (gate) {
        gate.release(true);
        await waitFor('an empty queue', async () => (await queueSize(svc)) === 0);
      }
      await svc.ctx.db.query('DELETE FROM "diku_mod_erm_usage_harvester".job_info');
      await svc.ctx.db.query('DELETE FROM "diku_mod_erm_usage_harvester".periodic_config');
      gate = new Gate();
      hook.set(gate.hook);
      erm.providers.clear();
      erm.failFind = undefined;
      erm.findGate = undefined;
      erm.findCalls = [];
    });

    it('needs X-Okapi-Tenant (1, 2)', async () => {
      for (const path of [START, `${START}/abc`]) {
        const res = await call(svc, 'GET', path, { tenant: null });
        assert.equal(res.status, 400);
        assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
        assert.equal(res.text, 'Unable to process request Tenant must be set');
      }
      assert.equal(await queueSize(svc), 0);
    });

    it('schedules a tenant job that fans out to the active providers and succeeds (4)', async () => {
      erm.addProvider('a1');
      erm.addProvider('b2');
      erm.addProvider('c3', 'inactive');
      gate.open = true;
      const res = await call(svc, 'GET', START, { headers: { 'x-okapi-token': '' } });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      assert.deepEqual(res.json, { message: 'Harvesting scheduled for tenant: diku' });
      await waitFor(
        '3 finished jobs',
        async () => (await allJobs(svc)).filter((j) => j.finishedAt).length === 3,
      );
      const jobs = await allJobs(svc);
      assert.deepEqual(
        jobs.map((j) => [j.type, j.providerId, j.result]),
        [
          ['tenant', undefined, 'success'],
          ['provider', 'a1', 'success'],
          ['provider', 'b2', 'success'],
        ],
      );
      assert.deepEqual(erm.findCalls, [
        { cql: 'harvestingConfig.harvestingStatus=="active" sortby id', offset: 0, limit: 1000 },
      ]);
      assert.deepEqual(
        [...gate.calls.entries()],
        [
          ['a1', 1],
          ['b2', 1],
        ],
      );
    });

    it('a tenant job skips providers that already have an active job', async () => {
      erm.addProvider('a1');
      erm.addProvider('b2');
      assert.equal((await call(svc, 'GET', `${START}/a1`)).status, 200);
      await waitFor('a1 running', () => gate.waiting === 1);
      // A provider job is active, so /start is refused; simulate the fan-out directly instead.
      assert.equal((await call(svc, 'GET', START)).status, 500);
      gate.open = true;
      const skipped: string[] = [];
      const { runTenantJob } = await import('../../src/jobs/runner.ts');
      const result = await runTenantJob(
        erm,
        'diku',
        (ids) => svc.jobs.startProviderJobs('diku', ids),
        svc.ctx.log,
      );
      skipped.push(...result);
      assert.deepEqual(skipped, ['a1']);
      await waitForJob(svc, 'b2 finished', (j) => j.providerId === 'b2' && j.result === 'success');
    });

    it("a tenant job's provider jobs are accepted together: in order, with their JobInfos and request; active and repeated ones refused", async () => {
      for (const id of ['p1', 'p2', 'p3']) erm.addProvider(id);
      assert.equal((await call(svc, 'GET', `${START}/p2`)).status, 200);
      await waitFor('p2 running', () => gate.waiting === 1);
      const refused = await svc.jobs.startProviderJobs('diku', ['p1', 'p2', 'p3', 'p1'], { scheduled: true });
      assert.deepEqual(refused, ['p2', 'p1']);
      const queued = await svc.ctx.db.query<{ id: string; provider_id: string }>(
        `SELECT id, provider_id FROM harvester.queue WHERE tenant = 'diku' AND kind = 'provider' ORDER BY seq`,
      );
      assert.deepEqual(
        queued.rows.map((r) => r.provider_id),
        ['p2', 'p1', 'p3'],
      );
      const infos = await allJobs(svc);
      assert.deepEqual(
        infos.map((j) => [j.type, j.providerId]),
        [
          ['provider', 'p2'],
          ['provider', 'p1'],
          ['provider', 'p3'],
        ],
      );
      const { getJobRequest } = await import('../../src/store/sql/job-requests.ts');
      for (const row of queued.rows.slice(1))
        assert.deepEqual(await getJobRequest(svc.ctx.db, 'diku', row.id), { scheduled: true });
      gate.release(true);
      for (const id of ['p1', 'p2', 'p3'])
        await waitForJob(svc, `${id} finished`, (j) => j.providerId === id && j.result === 'success');
    });

    it('a tenant job fails when the providers cannot be listed', async () => {
      erm.failFind = new ErmError(500, 'Internal Server Error');
      assert.equal((await call(svc, 'GET', START)).status, 200);
      const job = await waitForJob(svc, 'tenant job finished', (j) => j.type === 'tenant' && !!j.finishedAt);
      assert.equal(job.result, 'failure');
      assert.equal(job.errorMessage, 'ErmError: Received status code 500, Internal Server Error');
    });

    it('schedules a provider job (5) and fails it later for an unknown id (6)', async () => {
      const res = await call(svc, 'GET', `${START}/not-a-uuid`);
      assert.equal(res.status, 200);
      assert.deepEqual(res.json, {
        message: 'Harvesting scheduled for tenant: diku, providerId: not-a-uuid',
      });
      const job = await waitForJob(svc, 'finished', (j) => !!j.finishedAt);
      assert.equal(job.type, 'provider');
      assert.equal(job.providerId, 'not-a-uuid');
      assert.equal(job.result, 'failure');
      assert.equal(
        job.errorMessage,
        'ProviderJobError: Provider: not-a-uuid, Received status code 404, Not Found',
      );
      assert.equal(gate.calls.size, 0);
    });

    it('fails a provider job whose harvesting is not active (67)', async () => {
      erm.addProvider('5b8ab2bd-e470-409c-9a6c-845d979da05e', 'inactive');
      await call(svc, 'GET', `${START}/5b8ab2bd-e470-409c-9a6c-845d979da05e`);
      const job = await waitForJob(svc, 'finished', (j) => !!j.finishedAt);
      assert.equal(
        job.errorMessage,
        'ProviderJobError: Provider: 5b8ab2bd-e470-409c-9a6c-845d979da05e, HarvestingStatus not ACTIVE',
      );
      assert.equal(gate.calls.size, 0);
    });

    it('records a failure thrown by the harvest hook as <Name>: <message>', async () => {
      erm.addProvider('p1');
      hook.set(async () => {
        throw new RangeError('Stopping after 5 failed uploads in a row');
      });
      await call(svc, 'GET', `${START}/p1`);
      const job = await waitForJob(svc, 'finished', (j) => !!j.finishedAt);
      assert.equal(job.result, 'failure');
      assert.equal(job.errorMessage, 'RangeError: Stopping after 5 failed uploads in a row');
    });

    it('refuses /start while a provider job is active (7) and a second /start/{id} (8)', async () => {
      erm.addProvider('p1');
      assert.equal((await call(svc, 'GET', `${START}/p1`)).status, 200);
      await waitFor('p1 running', () => gate.waiting === 1);
      const tenant = await call(svc, 'GET', START);
      assert.equal(tenant.status, 500);
      assert.match(tenant.headers.get('content-type') ?? '', /^text\/plain/);
      assert.equal(tenant.text, "Harvesting for tenant 'diku' is already in progress");
      const again = await call(svc, 'GET', `${START}/p1`);
      assert.equal(again.status, 500);
      assert.equal(again.text, "A job for provider with id 'p1' is already scheduled/running");
      gate.release(true);
      await waitForJob(svc, 'p1 finished', (j) => j.providerId === 'p1' && !!j.finishedAt);
      await waitFor('empty queue', async () => (await queueSize(svc)) === 0);
      assert.equal((await call(svc, 'GET', `${START}/p1`)).status, 200);
    });

    it('refuses /start while a tenant job is active; /start/{id} is still allowed (7, 10)', async () => {
      const listing = deferred();
      erm.findGate = listing.promise;
      assert.equal((await call(svc, 'GET', START)).status, 200);
      await waitFor('tenant job listing', () => erm.findCalls.length === 1);
      assert.equal((await call(svc, 'GET', START)).status, 500);
      erm.addProvider('p2');
      assert.equal((await call(svc, 'GET', `${START}/p2`)).status, 200);
      await waitFor('p2 running', () => gate.waiting === 1);
      erm.addProvider('p3');
      assert.equal((await call(svc, 'GET', `${START}/p3`)).status, 200, 'another provider');
      listing.resolve();
      gate.release(true);
      await waitFor('3 finished', async () => (await allJobs(svc)).filter((j) => j.finishedAt).length >= 3);
    });

    it('/start succeeds when only a periodic schedule exists (9)', async () => {
      const post = await call(svc, 'POST', '/erm-usage-harvester/periodic', {
        body: { startAt: '2099-01-01T08:00:00Z', periodicInterval: 'daily' },
      });
      assert.equal(post.status, 201);
      assert.equal((await allJobs(svc)).filter((j) => j.type === 'periodic').length, 1);
      assert.equal((await call(svc, 'GET', START)).status, 200);
      await svc.ctx.db.query('DELETE FROM "diku_mod_erm_usage_harvester".job_info');
    });

    it('two concurrent /start calls: exactly one 200 and one 500 (11)', async () => {
      const listing = deferred();
      erm.findGate = listing.promise;
      const results = await Promise.all([call(svc, 'GET', START), call(svc, 'GET', START)]);
      assert.deepEqual(results.map((r) => r.status).sort(), [200, 500]);
      assert.equal(
        results.find((r) => r.status === 500)?.text,
        "Harvesting for tenant 'diku' is already in progress",
      );
      assert.equal((await allJobs(svc)).filter((j) => j.type === 'tenant').length, 1);
      listing.resolve();
      await waitForJob(svc, 'tenant job finished', (j) => j.type === 'tenant' && !!j.finishedAt);
    });

    it('five provider jobs: four run, the fifth stays scheduled until a slot frees (66, 65)', async () => {
      const ids = ['q1', 'q2', 'q3', 'q4', 'q5'];
      for (const id of ids) {
        erm.addProvider(id);
        assert.equal((await call(svc, 'GET', `${START}/${id}`)).status, 200);
      }
      await waitFor('4 running', () => gate.waiting === 4);
      await sleep(200);
      assert.equal(gate.waiting, 4);
      let jobs = await allJobs(svc);
      const fifth = jobs.find((j) => j.providerId === 'q5')!;
      // Scheduled: nextStart (= the acceptance time), nothing else.
      assert.deepEqual(Object.keys(fifth).sort(), ['id', 'nextStart', 'providerId', 'timestamp', 'type']);
      assert.equal(fifth.nextStart, new Date(fifth.timestamp).toISOString().replace('Z', '+00:00'));
      for (const j of jobs.filter((x) => x.providerId !== 'q5'))
        assert.deepEqual(Object.keys(j).sort(), ['id', 'providerId', 'timestamp', 'type'], 'running');
      gate.release();
      await waitFor('q5 running', () => gate.calls.get('q5') === 1);
      jobs = await allJobs(svc);
      const running = jobs.find((j) => j.providerId === 'q5')!;
      assert.deepEqual(Object.keys(running).sort(), ['id', 'providerId', 'timestamp', 'type']);
      assert.equal(running.timestamp, fifth.timestamp);
      gate.release(true);
      const done = await waitForJob(svc, 'q5 finished', (j) => j.providerId === 'q5' && !!j.finishedAt);
      assert.deepEqual(Object.keys(done).sort(), [
        'finishedAt',
        'id',
        'providerId',
        'result',
        'startedAt',
        'timestamp',
        'type',
      ]);
      assert.equal(done.result, 'success');
      assert.ok(Date.parse(done.startedAt!) >= done.timestamp);
      assert.ok(Date.parse(done.finishedAt!) >= Date.parse(done.startedAt!));
    });
  });
}
