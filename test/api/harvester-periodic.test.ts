/**
 * /erm-usage-harvester/periodic over real HTTP and the periodic firing, on PGlite and PostgreSQL, with a
 * pinned clock (folio-contract checklist §9.1 37–45; §9.2 59–62).
 */
import { strict as assert } from 'node:assert';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ManualClock } from '../../src/clock.ts';
import type { JobInfo } from '../../src/store/sql/job-info.ts';
import type { RunningService } from '../../src/server.ts';
import { backends, call } from '../helpers/service.ts';
import { allJobs, FakeErm, Gate, queueSize, sleep, waitFor, waitForJob } from '../helpers/jobs.ts';

const PERIODIC = '/erm-usage-harvester/periodic';
const ID = '8bf5fe33-5ec8-420c-a86d-6320c55ba554';
const placeholders = (jobs: JobInfo[]) => jobs.filter((j) => j.type === 'periodic' && j.nextStart);
const runRows = (jobs: JobInfo[]) => jobs.filter((j) => j.type === 'periodic' && !j.nextStart);

for (const backend of backends()) {
  describe(`/periodic API on ${backend.name}`, () => {
    let svc: RunningService;
    const clock = new ManualClock(Date.parse('2023-01-02T10:00:00Z'));
    before(async () => {
      svc = await backend.start({ clock, config: { runWorkers: false } });
    });
    after(async () => {
      await svc.close();
    });
    beforeEach(async () => {
      await svc.ctx.db.query('DELETE FROM "diku_mod_erm_usage_harvester".job_info');
      await svc.ctx.db.query('DELETE FROM "diku_mod_erm_usage_harvester".periodic_config');
    });

    it('GET and DELETE without a configuration: 404 with an empty body (37)', async () => {
      for (const method of ['GET', 'DELETE']) {
        const res = await call(svc, method, PERIODIC);
        assert.equal(res.status, 404, method);
        assert.equal(res.text, '');
      }
    });

    it('POST stores with the fixed id and answers 201 with an empty body (38)', async () => {
      const post = await call(svc, 'POST', PERIODIC, {
        body: { startAt: '2019-01-01T08:00:00.000+0000', periodicInterval: 'daily' },
      });
      assert.equal(post.status, 201);
      assert.equal(post.text, '');
      const get = await call(svc, 'GET', PERIODIC);
      assert.equal(get.status, 200);
      assert.match(get.headers.get('content-type') ?? '', /^application\/json/);
      assert.deepEqual(get.json, {
        id: ID,
        startAt: '2019-01-01T08:00:00.000+00:00',
        periodicInterval: 'daily',
      });
    });

    it('POST creates one placeholder whose nextStart is the first fire from startAt (39)', async () => {
      await call(svc, 'POST', PERIODIC, {
        body: { startAt: '2019-01-01T08:00:00+0000', periodicInterval: 'daily' },
      });
      const rows = placeholders(await allJobs(svc));
      assert.equal(rows.length, 1);
      assert.deepEqual(Object.keys(rows[0]).sort(), ['id', 'nextStart', 'timestamp', 'type']);
      assert.equal(rows[0].nextStart, '2019-01-01T08:00:00.000+00:00');
      assert.equal(rows[0].timestamp, clock.now());
    });

    it('a second POST replaces configuration and schedule; one placeholder (40)', async () => {
      await call(svc, 'POST', PERIODIC, {
        body: { startAt: '2019-01-01T08:00:00Z', periodicInterval: 'daily' },
      });
      const first = placeholders(await allJobs(svc))[0];
      await call(svc, 'POST', PERIODIC, {
        body: { startAt: '2023-01-06T09:30:00Z', periodicInterval: 'weekly', note: 'kept' },
      });
      const rows = placeholders(await allJobs(svc));
      assert.equal(rows.length, 1);
      assert.notEqual(rows[0].id, first.id);
      assert.equal(rows[0].nextStart, '2023-01-06T09:30:00.000+00:00');
      assert.deepEqual((await call(svc, 'GET', PERIODIC)).json, {
        id: ID,
        startAt: '2023-01-06T09:30:00.000+00:00',
        periodicInterval: 'weekly',
        note: 'kept',
      });
    });

    it('DELETE removes configuration and placeholders, keeps run rows (41)', async () => {
      await call(svc, 'POST', PERIODIC, {
        body: { startAt: '2019-01-01T08:00:00Z', periodicInterval: 'monthly' },
      });
      const run: JobInfo = {
        id: 'f9000000-0000-4000-8000-000000000002',
        type: 'periodic',
        timestamp: 5,
        startedAt: '2019-01-01T08:00:00.000+00:00',
      };
      const { saveJobInfo } = await import('../../src/store/sql/job-info.ts');
      await saveJobInfo(svc.ctx.db, 'diku', run);
      const del = await call(svc, 'DELETE', PERIODIC);
      assert.equal(del.status, 204);
      assert.equal(del.text, '');
      assert.deepEqual(await allJobs(svc), [run]);
      assert.equal((await call(svc, 'GET', PERIODIC)).status, 404);
    });

    it('storage errors: GET, POST and DELETE answer 500 with an empty body (42)', async () => {
      await svc.ctx.db.query(
        'ALTER TABLE "diku_mod_erm_usage_harvester".periodic_config RENAME TO periodic_config_away',
      );
      try {
        for (const method of ['GET', 'POST', 'DELETE']) {
          const res = await call(svc, method, PERIODIC, {
            body:
              method === 'POST' ? { startAt: '2019-01-01T08:00:00Z', periodicInterval: 'daily' } : undefined,
          });
          assert.equal(res.status, 500, method);
          assert.equal(res.text, '', method);
        }
      } finally {
        await svc.ctx.db.query(
          'ALTER TABLE "diku_mod_erm_usage_harvester".periodic_config_away RENAME TO periodic_config',
        );
      }
    });

    it('missing startAt or periodicInterval: 422 in RMB format (43)', async () => {
      const res = await call(svc, 'POST', PERIODIC, { body: { periodicInterval: 'daily' } });
      assert.equal(res.status, 422);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      assert.deepEqual(res.json, {
        errors: [
          {
            message: 'must not be null',
            type: '1',
            code: 'javax.validation.constraints.NotNull.message',
            parameters: [{ key: 'startAt', value: 'null' }],
          },
        ],
        total_records: 1,
      });
      const both = await call(svc, 'POST', PERIODIC, { body: {} });
      assert.equal(both.status, 422);
      assert.deepEqual(
        both.json.errors.map((e: any) => e.parameters[0].key),
        ['startAt', 'periodicInterval'],
      );
      assert.equal((await call(svc, 'GET', PERIODIC)).status, 404);
    });

    it('invalid enum, date or JSON: 400 text/plain (44)', async () => {
      const cases = [
        { body: { startAt: '2019-01-01T08:00:00Z', periodicInterval: 'hourly' } },
        { body: { startAt: 'tomorrow', periodicInterval: 'daily' } },
        { body: { startAt: '2019-01-01T08:00:00Z', periodicInterval: 'daily', lastTriggeredAt: 'x' } },
        { rawBody: '{"startAt":', headers: { 'content-type': 'application/json' } },
      ];
      for (const c of cases) {
        const res = await call(svc, 'POST', PERIODIC, c);
        assert.equal(res.status, 400, JSON.stringify(c));
        assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
      }
      assert.equal((await call(svc, 'GET', PERIODIC)).status, 404);
    });

    it('a POST without lastTriggeredAt removes a stored one (45)', async () => {
      await call(svc, 'POST', PERIODIC, {
        body: {
          startAt: '2019-01-01T08:00:00Z',
          periodicInterval: 'daily',
          lastTriggeredAt: '2019-03-24T08:00:00+0000',
        },
      });
      assert.equal((await call(svc, 'GET', PERIODIC)).json.lastTriggeredAt, '2019-03-24T08:00:00.000+00:00');
      assert.equal(placeholders(await allJobs(svc))[0].nextStart, '2019-03-25T08:00:00.000+00:00');
      await call(svc, 'POST', PERIODIC, {
        body: { startAt: '2019-01-01T08:00:00Z', periodicInterval: 'daily' },
      });
      const get = await call(svc, 'GET', PERIODIC);
      assert.equal('lastTriggeredAt' in get.json, false);
      assert.equal(placeholders(await allJobs(svc))[0].nextStart, '2019-01-01T08:00:00.000+00:00');
    });

    it('tenant disable suspends the schedule, enable rebuilds it', async () => {
      await call(svc, 'POST', PERIODIC, {
        body: { startAt: '2030-01-01T08:00:00Z', periodicInterval: 'daily' },
      });
      assert.equal(placeholders(await allJobs(svc)).length, 1);
      assert.equal(
        (await call(svc, 'POST', '/_/tenant', { body: { module_from: 'mod-x-1.0.0' } })).status,
        204,
      );
      assert.equal(placeholders(await allJobs(svc)).length, 0);
      assert.equal((await call(svc, 'GET', PERIODIC)).status, 200, 'the configuration is kept');
      const enable = await call(svc, 'POST', '/_/tenant', { body: { module_to: 'mod-x-1.0.1' } });
      assert.equal(enable.status, 201);
      await call(svc, 'GET', `${enable.headers.get('location')}?wait=5000`);
      assert.deepEqual(
        placeholders(await allJobs(svc)).map((j) => j.nextStart),
        ['2030-01-01T08:00:00.000+00:00'],
      );
    });
  });

  describe(`periodic firing on ${backend.name}`, () => {
    let svc: RunningService;
    let erm: FakeErm;
    let gate: Gate;
    const clock = new ManualClock(Date.parse('2023-01-02T07:59:00Z'));
    before(async () => {
      erm = new FakeErm();
      erm.addProvider('p1');
      gate = new Gate();
      svc = await backend.start({ clock, erm, harvestProvider: gate.hook });
    });
    after(async () => {
      gate.release(true);
      await svc.close();
    });

    it('fires on time: run row, placeholder moved, tenant job, lastTriggeredAt (60, 61)', async () => {
      const post = await call(svc, 'POST', PERIODIC, {
        body: { startAt: '2023-01-02T08:00:00Z', periodicInterval: 'daily', extra: 1 },
      });
      assert.equal(post.status, 201);
      await sleep(250);
      assert.equal(runRows(await allJobs(svc)).length, 0, 'not due yet');
      clock.set('2023-01-02T08:00:05Z');
      const run = await waitForJob(svc, 'a finished run row', (j) => j.type === 'periodic' && !!j.finishedAt);
      assert.equal(run.startedAt, '2023-01-02T08:00:00.000+00:00');
      assert.equal(run.result, 'success');
      assert.equal(run.errorMessage, undefined);
      const jobs = await allJobs(svc);
      assert.deepEqual(
        placeholders(jobs).map((j) => j.nextStart),
        ['2023-01-03T08:00:00.000+00:00'],
      );
      assert.equal(jobs.filter((j) => j.type === 'tenant').length, 1);
      assert.deepEqual((await call(svc, 'GET', PERIODIC)).json, {
        id: ID,
        startAt: '2023-01-02T08:00:00.000+00:00',
        periodicInterval: 'daily',
        extra: 1,
        lastTriggeredAt: '2023-01-02T08:00:00.000+00:00',
      });
      await waitFor('provider job running', () => gate.waiting === 1);
    });

    it('a firing while a job is active fails the run row; lastTriggeredAt unchanged (62)', async () => {
      // The provider job of the previous firing is still held open by the gate.
      assert.equal(gate.waiting, 1);
      // Move the clock in steps a live worker would follow: its heartbeat catches up before the fire time.
      clock.set('2023-01-03T07:59:00Z');
      await waitFor('a fresh heartbeat', async () => {
        const res = await svc.ctx.db.query<{ heartbeat_at: Date }>(
          `SELECT heartbeat_at FROM harvester.queue WHERE state = 'running'`,
        );
        return res.rows.length === 1 && new Date(res.rows[0].heartbeat_at).getTime() >= clock.now();
      });
      clock.set('2023-01-03T08:00:02Z');
      const run = await waitForJob(
        svc,
        'a failed run row',
        (j) => j.type === 'periodic' && j.startedAt === '2023-01-03T08:00:00.000+00:00' && !!j.finishedAt,
      );
      assert.equal(run.result, 'failure');
      assert.equal(
        run.errorMessage,
        "JobExecutionException: Tenant: diku, error starting harvester: Harvesting for tenant 'diku' is already in progress",
      );
      assert.equal((await call(svc, 'GET', PERIODIC)).json.lastTriggeredAt, '2023-01-02T08:00:00.000+00:00');
      assert.deepEqual(
        placeholders(await allJobs(svc)).map((j) => j.nextStart),
        ['2023-01-04T08:00:00.000+00:00'],
      );
      gate.release(true);
      await waitFor('an empty queue', async () => (await queueSize(svc)) === 0);
    });

    it('a startAt long past fires exactly once now, then follows the schedule (59)', async () => {
      await svc.ctx.db.query('DELETE FROM "diku_mod_erm_usage_harvester".job_info');
      clock.set('2023-01-05T10:00:00Z');
      await call(svc, 'POST', PERIODIC, {
        body: { startAt: '2019-01-01T08:00:00Z', periodicInterval: 'daily' },
      });
      const run = await waitForJob(svc, 'the run row', (j) => j.type === 'periodic' && !!j.finishedAt);
      assert.equal(run.startedAt, '2023-01-05T10:00:00.000+00:00');
      assert.equal(run.result, 'success');
      await sleep(300);
      const jobs = await allJobs(svc);
      assert.equal(runRows(jobs).length, 1);
      assert.equal(jobs.filter((j) => j.type === 'tenant').length, 1);
      assert.deepEqual(
        placeholders(jobs).map((j) => j.nextStart),
        ['2023-01-06T08:00:00.000+00:00'],
      );
      assert.equal((await call(svc, 'GET', PERIODIC)).json.lastTriggeredAt, '2023-01-05T10:00:00.000+00:00');
    });

    it('DELETE stops the firing', async () => {
      assert.equal((await call(svc, 'DELETE', PERIODIC)).status, 204);
      clock.set('2023-01-06T08:00:01Z');
      await sleep(300);
      assert.equal(runRows(await allJobs(svc)).length, 1);
    });
  });
}
