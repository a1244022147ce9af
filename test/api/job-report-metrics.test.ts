/**
 * Operations, on PGlite and PostgreSQL: a harvest through the mock COUNTER server moves every declared
 * `harvester_*` metric (read from `/metrics` during and after the harvest), and each provider job keeps
 * a structured report of its months (stored, empty, failed by code, skipped, deferred) on its JobInfo,
 * readable in the job list and at `GET /erm-usage-harvester/jobs/{id}`.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { HarvesterClient } from '../../src/index.ts';
import type { RunningService } from '../../src/server.ts';
import { startMockCounterServer, type MockCounterServer } from '../../mock/counter-server.ts';
import { backends, call, testHarvest } from '../helpers/service.ts';
import { addProvider, waitForJobs } from '../helpers/harvest.ts';

type Series = Map<string, number>;

/** Prometheus text → series (`name{labels}`) → value; comments left out. */
function parseMetrics(text: string): Series {
  const out: Series = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

/** The family a series belongs to: `name` of `name{…}`, `name_bucket{…}`, `name_sum`, `name_count`. */
function belongs(series: string, family: string): boolean {
  const name = series.split('{')[0];
  return name === family || [`${family}_bucket`, `${family}_sum`, `${family}_count`].includes(name);
}

// scenario key → [reports, start, end]
const PROVIDERS: Record<string, [string[], string, string]> = {
  'ok-m': [['PR'], '2022-01', '2022-03'],
  'nousage-m': [['PR'], '2022-01', '2022-02'],
  'notready-m': [['TR'], '2022-01', '2022-02'],
  'badcreds-m': [['TR', 'PR', 'DR'], '2022-01', '2022-03'],
  'busy:2-m': [['PR'], '2022-01', '2022-02'],
};

for (const backend of backends()) {
  describe(`operations on ${backend.name}: metrics and job reports`, () => {
    let svc: RunningService;
    let mock: MockCounterServer;
    const ids: Record<string, string> = {};
    const samples: Series[] = [];

    const scrape = async (): Promise<Series> => {
      const res = await call(svc, 'GET', '/metrics', { tenant: null });
      assert.equal(res.status, 200);
      return parseMetrics(res.text);
    };

    before(async () => {
      mock = await startMockCounterServer();
      // A busy service rests 1.5 s: long enough to see the waiting job, its items and the back-off.
      svc = await backend.start({
        config: { harvest: testHarvest({ deferBusyMs: 1500, requestConcurrency: 4 }) },
      });
      for (const [key, [reports, start, end]] of Object.entries(PROVIDERS))
        ids[key] = await addProvider(svc, {
          label: key,
          serviceUrl: `${mock.url}/${key}`,
          release: '5.1',
          reports,
          start,
          end,
        });
      samples.push(await scrape());
      await svc.jobs.startTenantJob('diku');
      const done = waitForJobs(svc, 120_000);
      let finished = false;
      void done.then(
        () => (finished = true),
        () => (finished = true),
      );
      while (!finished) {
        samples.push(await scrape());
        await sleep(100);
      }
      await done;
      samples.push(await scrape());
    });
    after(async () => {
      await svc?.close();
      await mock?.close();
    });

    it('moves every declared harvester metric during a harvest', async () => {
      const families = (await svc.ctx.metrics.registry.getMetricsAsJSON())
        .map((m) => m.name)
        .filter((n) => n.startsWith('harvester_'));
      assert.ok(families.length >= 11, families.join(', '));
      const first = samples[0];
      const unchanged = families.filter(
        (family) =>
          !samples.some((sample) =>
            [...sample].some(([series, v]) => belongs(series, family) && v !== (first.get(series) ?? 0)),
          ),
      );
      assert.deepEqual(unchanged, [], `metrics that never moved: ${unchanged.join(', ')}`);
    });

    it('labels requests by outcome, action and code, and months by state', () => {
      const last = samples[samples.length - 1];
      const value = (series: string) => last.get(series) ?? 0;
      assert.equal(value('harvester_sushi_requests_total{outcome="data",action="store",code="none"}'), 2);
      assert.equal(value('harvester_sushi_requests_total{outcome="http",action="stop-job",code="2010"}'), 1);
      assert.equal(value('harvester_sushi_requests_total{outcome="http",action="defer",code="1010"}'), 2);
      assert.equal(value('harvester_months_stored_total{state="harvested"}'), 5);
      assert.equal(value('harvester_months_stored_total{state="empty"}'), 2);
      assert.equal(value('harvester_months_stored_total{state="not_ready"}'), 2);
      assert.equal(value('harvester_failed_months{tenant="diku"}'), 2 + 9);
      assert.ok(value('harvester_sushi_bytes_received_total') > 1000);
      assert.ok(
        value(`harvester_provider_last_success_timestamp_seconds{tenant="diku",provider="${ids['ok-m']}"}`) >
          0,
      );
      assert.equal(
        value(
          `harvester_provider_last_success_timestamp_seconds{tenant="diku",provider="${ids['badcreds-m']}"}`,
        ),
        0,
      );
      // During the harvest the busy provider's job waited with queued items on an endpoint in back-off.
      const max = (series: string) => Math.max(...samples.map((s) => s.get(series) ?? 0));
      assert.ok(max('harvester_jobs{state="waiting"}') >= 1);
      assert.ok(max('harvester_work_items{state="queued"}') >= 1);
      assert.ok(max('harvester_endpoints_in_backoff') >= 1);
      assert.equal(value('harvester_jobs{state="waiting"}'), 0);
    });

    const jobOf = async (key: string) => {
      const res = await call(svc, 'GET', `/erm-usage-harvester/jobs?providerId=${ids[key]}`);
      assert.equal(res.status, 200);
      assert.equal(res.json.jobInfos.length, 1);
      return res.json.jobInfos[0] as Record<string, any>;
    };

    it('reports per provider job: stored, empty, failed by code, skipped and deferred months', async () => {
      const reports: Record<string, any> = {};
      for (const key of Object.keys(PROVIDERS)) reports[key] = (await jobOf(key)).report;
      // Credentials rejected: the months of the first request failed, the other requests were skipped.
      const stopped = reports['badcreds-m'];
      assert.ok(stopped.failed['2010'] >= 1 && stopped.skipped >= 1, JSON.stringify(stopped));
      assert.equal(stopped.failed['2010'] + stopped.skipped, 9);
      assert.deepEqual(reports, {
        'ok-m': { stored: 3, empty: 0, failed: {}, skipped: 0, deferred: 0 },
        'nousage-m': { stored: 0, empty: 2, failed: {}, skipped: 0, deferred: 0 },
        'notready-m': { stored: 0, empty: 0, failed: { '3031': 2 }, skipped: 0, deferred: 0 },
        'badcreds-m': { stored: 0, empty: 0, failed: stopped.failed, skipped: stopped.skipped, deferred: 0 },
        'busy:2-m': { stored: 2, empty: 0, failed: {}, skipped: 0, deferred: 2 },
      });
    });

    it("keeps FOLIO's JobInfo fields as they were beside the report", async () => {
      const job = await jobOf('badcreds-m');
      assert.deepEqual(Object.keys(job), [
        'id',
        'type',
        'providerId',
        'timestamp',
        'startedAt',
        'finishedAt',
        'result',
        'errorMessage',
        'report',
      ]);
      assert.equal(job.result, 'failure');
      assert.match(job.errorMessage, /^CredentialsRejected: /);
    });

    it('shows one job with its report at GET /erm-usage-harvester/jobs/{id}', async () => {
      const listed = await jobOf('ok-m');
      const one = await call(svc, 'GET', `/erm-usage-harvester/jobs/${listed.id}`);
      assert.equal(one.status, 200);
      assert.deepEqual(one.json, listed);
      const missing = await call(
        svc,
        'GET',
        '/erm-usage-harvester/jobs/8bf5fe33-5ec8-420c-a86d-000000000000',
      );
      assert.equal(missing.status, 404);
      assert.equal(missing.text, 'JobInfo not found: 8bf5fe33-5ec8-420c-a86d-000000000000');
      // The typed client reads the same.
      const client = new HarvesterClient({ baseUrl: svc.url, tenant: 'diku' });
      try {
        assert.deepEqual(await client.getJob(listed.id), listed);
        assert.equal(await client.getJob('8bf5fe33-5ec8-420c-a86d-000000000000'), undefined);
      } finally {
        await client.close();
      }
      const bad = await call(svc, 'GET', '/erm-usage-harvester/jobs/not-a-uuid');
      assert.equal(bad.status, 404);
      const otherTenant = await call(svc, 'GET', `/erm-usage-harvester/jobs/${listed.id}`, {
        tenant: 'nosuch',
      });
      assert.equal(otherTenant.status, 400);
    });

    it('a tenant job has no report', async () => {
      const res = await call(svc, 'GET', '/erm-usage-harvester/jobs?query=type%3D%3Dtenant');
      assert.equal(res.json.jobInfos.length, 1);
      assert.equal(res.json.jobInfos[0].report, undefined);
    });
  });
}
