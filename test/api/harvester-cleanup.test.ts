/**
 * purgestale, cleanup and their liveness rule over real HTTP on PGlite and PostgreSQL, with the 18-job and
 * 7-job samples and a pinned clock (folio-contract checklist §9.1 24–27, 31–36; §6.8 heartbeat rule).
 */
import { strict as assert } from 'node:assert';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ManualClock } from '../../src/clock.ts';
import { ErmError } from '../../src/erm/port.ts';
import type { JobInfo } from '../../src/store/sql/job-info.ts';
import type { RunningService } from '../../src/server.ts';
import { backends, call } from '../helpers/service.ts';
import {
  allJobs,
  FakeErm,
  Gate,
  SwitchableHook,
  insertJobs,
  PLACEHOLDER_18,
  PLACEHOLDER_7,
  postEmpty,
  queueSize,
  sample18,
  sample7,
  STALE_IDS,
  waitFor,
  waitForJob,
} from '../helpers/jobs.ts';

const JOBS = '/erm-usage-harvester/jobs';
const MIN = 60_000;

function staleMarked(job: JobInfo, at: string): JobInfo {
  return { ...job, finishedAt: at, result: 'failure', errorMessage: 'Stale job' };
}

for (const backend of backends()) {
  describe(`purgestale and cleanup on ${backend.name}`, () => {
    let svc: RunningService;
    let erm: FakeErm;
    let gate: Gate;
    const hook = new SwitchableHook();
    const clock = new ManualClock(Date.parse('2023-01-02T08:30:00Z'));

    before(async () => {
      erm = new FakeErm();
      svc = await backend.start({
        erm,
        clock,
        config: { providerJobConcurrency: 1 },
        harvestProvider: hook.hook,
      });
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
      gate = new Gate();
      hook.set(gate.hook);
      await svc.ctx.db.query('DELETE FROM "diku_mod_erm_usage_harvester".job_info');
      erm.settings.clear();
      erm.failSettings = undefined;
      erm.settingCalls = 0;
    });

    it('accepts body-less POSTs with any or no content type (24)', async () => {
      for (const path of ['purgestale', 'purgefinished', 'cleanup']) {
        for (const headers of [
          { 'content-type': 'application/json', 'content-length': '0' },
          {},
          { 'content-type': 'text/plain', 'content-length': '0' },
        ] as Record<string, string>[]) {
          const res = await postEmpty(svc, `${JOBS}/${path}`, headers);
          assert.equal(res.status, 204, `${path} ${JSON.stringify(headers)}`);
          assert.equal(res.text, '');
        }
      }
    });

    it('marks nothing 30 minutes after the jobs were created (25)', async () => {
      clock.set('2023-01-02T08:30:00Z');
      await insertJobs(svc, sample7());
      const res = await postEmpty(svc, `${JOBS}/purgestale`, { 'content-type': 'application/json' });
      assert.equal(res.status, 204);
      assert.deepEqual(await allJobs(svc), sample7());
    });

    it('marks exactly the 3 unfinished non-periodic jobs 65 minutes later (26)', async () => {
      clock.set('2023-01-02T09:05:00Z');
      await insertJobs(svc, sample7());
      assert.equal((await call(svc, 'POST', `${JOBS}/purgestale`)).status, 204);
      const at = '2023-01-02T09:05:00.000+00:00';
      assert.deepEqual(
        await allJobs(svc),
        sample7().map((j) => (STALE_IDS.includes(j.id) ? staleMarked(j, at) : j)),
      );
      const listed = await call(
        svc,
        'GET',
        `${JOBS}?query=${encodeURIComponent('result==failure AND errorMessage=="Stale job"')}`,
      );
      assert.equal(listed.json.totalRecords, 3);
    });

    it('never marks live jobs (fresh heartbeat or queued), marks a job whose worker died (27)', async () => {
      clock.set('2023-01-02T08:00:00Z');
      erm.addProvider('live');
      erm.addProvider('queued');
      assert.equal((await call(svc, 'GET', '/erm-usage-harvester/start/live')).status, 200);
      await waitFor('live running', () => gate.waiting === 1);
      assert.equal((await call(svc, 'GET', '/erm-usage-harvester/start/queued')).status, 200);
      clock.set('2023-01-02T09:30:00Z');
      const now = new Date(clock.now());
      await waitFor('a fresh heartbeat', async () => {
        const res = await svc.ctx.db.query<{ heartbeat_at: Date }>(
          `SELECT heartbeat_at FROM harvester.queue WHERE state = 'running'`,
        );
        return res.rows.length === 1 && new Date(res.rows[0].heartbeat_at).getTime() >= now.getTime();
      });
      assert.equal((await call(svc, 'POST', `${JOBS}/purgestale`)).status, 204);
      let jobs = await allJobs(svc);
      assert.equal(jobs.length, 2);
      assert.ok(
        jobs.every((j) => j.finishedAt === undefined && j.errorMessage === undefined),
        JSON.stringify(jobs),
      );

      // The worker "dies": its row stops getting heartbeats and the last one is 6 minutes old. Taken once,
      // it is still active: a live process hands it back and the job runs again (test/jobs/reclaim.test.ts).
      await svc.ctx.db.query(
        `UPDATE harvester.queue SET locked_by = 'dead-process', heartbeat_at = $1 WHERE state = 'running'`,
        [new Date(clock.now() - 6 * MIN)],
      );
      assert.equal((await call(svc, 'POST', `${JOBS}/purgestale`)).status, 204);
      assert.ok(
        (await allJobs(svc)).every((j) => j.finishedAt === undefined),
        'a dead row taken once is not stale',
      );
      assert.equal((await call(svc, 'GET', '/erm-usage-harvester/start/live')).status, 500, 'still active');
      // Taken 3 times (its process died each time), it is not handed back again: purgestale ends it.
      await svc.ctx.db.query(`UPDATE harvester.queue SET attempts = 3 WHERE state = 'running'`);
      assert.equal((await call(svc, 'POST', `${JOBS}/purgestale`)).status, 204);
      jobs = await allJobs(svc);
      const live = jobs.find((j) => j.providerId === 'live')!;
      const queued = jobs.find((j) => j.providerId === 'queued')!;
      assert.equal(live.errorMessage, 'Stale job');
      assert.equal(live.finishedAt, '2023-01-02T09:30:00.000+00:00');
      assert.equal(queued.finishedAt, undefined);
      // The dead job's slot is gone from the queue: the provider can be harvested again.
      assert.equal((await call(svc, 'GET', '/erm-usage-harvester/start/live')).status, 200);

      // If the "dead" job ends after all, its real result replaces the stale mark.
      gate.release(true);
      await waitFor('all finished', async () => (await allJobs(svc)).every((j) => j.result === 'success'));
      const first = (await allJobs(svc)).find((j) => j.id === live.id)!;
      assert.equal(first.result, 'success');
      assert.equal(first.errorMessage, undefined);
    });

    it('never marks periodic rows, however old', async () => {
      clock.set('2030-01-01T00:00:00Z');
      const run: JobInfo = {
        id: 'f9000000-0000-4000-8000-000000000001',
        type: 'periodic',
        timestamp: 1,
        startedAt: '2020-01-01T00:00:00.000+00:00',
      };
      await insertJobs(svc, [run, ...sample18().slice(0, 1)]);
      await call(svc, 'POST', `${JOBS}/purgestale`);
      assert.deepEqual(await allJobs(svc), [run, sample18()[0]]);
    });

    describe('cleanup with both samples (25 jobs)', () => {
      beforeEach(async () => {
        await insertJobs(svc, [...sample18(), ...sample7()]);
      });

      const cleanup = async () => {
        const before = erm.settingCalls;
        const res = await postEmpty(svc, `${JOBS}/cleanup`, {
          'content-type': 'application/json',
          'content-length': '0',
        });
        assert.equal(res.status, 204);
        assert.equal(res.text, '');
        assert.equal(erm.settingCalls - before, 1, 'exactly one settings request per call (31)');
        return allJobs(svc);
      };
      const staleCount = (jobs: JobInfo[]) => jobs.filter((j) => j.errorMessage === 'Stale job').length;

      it('value -10: stale marked, nothing purged (32)', async () => {
        clock.set('2023-06-01T00:00:00Z');
        erm.settings.set('days_to_keep_logs', -10);
        const jobs = await cleanup();
        assert.equal(jobs.length, 25);
        assert.equal(staleCount(jobs), 3);
      });

      it('settings request fails: stale marked, nothing purged (33)', async () => {
        clock.set('2023-06-01T00:00:00Z');
        erm.failSettings = new ErmError(500, 'Internal Server Error');
        const jobs = await cleanup();
        assert.equal(jobs.length, 25);
        assert.equal(staleCount(jobs), 3);
      });

      it('value 10 or "10": only the 2 placeholders remain (34)', async () => {
        clock.set('2023-06-01T00:00:00Z');
        erm.settings.set('days_to_keep_logs', 10);
        assert.deepEqual(
          (await cleanup()).map((j) => j.id),
          [PLACEHOLDER_18, PLACEHOLDER_7],
        );
      });

      it('value "10" as a string works the same (34)', async () => {
        clock.set('2023-06-01T00:00:00Z');
        erm.settings.set('days_to_keep_logs', '10');
        assert.equal((await cleanup()).length, 2);
      });

      it('no entry: purge with 60 days (35)', async () => {
        // 60 days before is 2023-01-01T08:00Z: the 2022 jobs go, the 2023 ones (3 finished, 3 stale) stay.
        clock.set('2023-03-02T08:00:00Z');
        const jobs = await cleanup();
        assert.equal(jobs.length, 8);
        assert.deepEqual(
          jobs.slice(0, 1).map((j) => j.id),
          [PLACEHOLDER_18],
        );
        assert.equal(staleCount(jobs), 3);
        clock.set('2023-03-02T08:00:00Z');
        erm.settings.set('days_to_keep_logs', 10);
        assert.equal((await cleanup()).length, 2);
      });

      it('value "abc": nothing purged, 204 (36)', async () => {
        clock.set('2023-06-01T00:00:00Z');
        erm.settings.set('days_to_keep_logs', 'abc');
        const jobs = await cleanup();
        assert.equal(jobs.length, 25);
        assert.equal(staleCount(jobs), 3);
      });
    });

    it('cleanup answers 204 even when the storage fails', async () => {
      await svc.ctx.db.query('ALTER TABLE "diku_mod_erm_usage_harvester".job_info RENAME TO job_info_away');
      try {
        const res = await call(svc, 'POST', `${JOBS}/cleanup`);
        assert.equal(res.status, 204);
        const stale = await call(svc, 'POST', `${JOBS}/purgestale`);
        assert.equal(stale.status, 500);
        assert.match(stale.headers.get('content-type') ?? '', /^text\/plain/);
      } finally {
        await svc.ctx.db.query('ALTER TABLE "diku_mod_erm_usage_harvester".job_info_away RENAME TO job_info');
      }
    });

    it('the built-in timer cleans every tenant', async () => {
      clock.set('2023-06-01T00:00:00Z');
      await insertJobs(svc, sample7());
      erm.settings.set('days_to_keep_logs', 10);
      await svc.jobs.cleanAll();
      assert.deepEqual(
        (await allJobs(svc)).map((j) => j.id),
        [PLACEHOLDER_7],
      );
      await waitForJob(svc, 'placeholder', (j) => j.id === PLACEHOLDER_7);
    });
  });
}
