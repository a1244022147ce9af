/**
 * Restatements and second looks through the mock COUNTER server (mock/truth.ts `restate`): each stored
 * month carries the hash of its items; "harvest again" (POST /start/{id}/again) re-requests stored
 * months without a delete, leaves an unchanged month alone, replaces a restated one and records the
 * change (GET /counter-reports/{id}/changes); a failed or empty answer never replaces stored usage; the
 * re-harvest window re-requests the last complete months on scheduled runs only; diagnostics are listed
 * per provider (GET /diagnostics); COUNTER 4 months carry their item count. PGlite and PostgreSQL.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import type { RunningService } from '../../src/server.ts';
import { lastCompleteMonth } from '../../src/harvest/planner.ts';
import { startMockCounterServer, type MockCounterServer } from '../../mock/counter-server.ts';
import { backends, call, testHarvest } from '../helpers/service.ts';
import { addProvider, reportsOf, waitForJobs } from '../helpers/harvest.ts';

type Rec = Record<string, any>;

function previous(month: string): string {
  const [y, m] = month.split('-').map(Number);
  return m === 1 ? `${y - 1}-12` : `${y}-${String(m - 1).padStart(2, '0')}`;
}

for (const backend of backends())
  describe(`restatements, harvest again, re-harvest window, diagnostics (${backend.name})`, () => {
    let svc: RunningService;
    let mock: MockCounterServer;
    const ids: Record<string, string> = {};
    const recent = lastCompleteMonth(Date.now());
    const reportRequests = (key: string) => mock.requestsFor(key).filter((r) => r.reportId).length;
    const byMonth = async (key: string): Promise<Record<string, Rec>> =>
      Object.fromEntries((await reportsOf(svc, ids[key])).map((r) => [r.yearMonth, r]));
    const again = async (key: string, query: string) => {
      const res = await call(svc, 'POST', `/erm-usage-harvester/start/${ids[key]}/again?${query}`);
      assert.equal(res.status, 200, res.text);
      await waitForJobs(svc, 60_000);
      return res;
    };

    before(async () => {
      mock = await startMockCounterServer();
      svc = await backend.start({ config: { harvest: testHarvest({ requestConcurrency: 4 }) } });
      const specs: Record<string, { release: string; reports: string[]; start: string; end?: string }> = {
        'restate:2-r': { release: '5.1', reports: ['PR'], start: '2022-01', end: '2022-02' },
        'ok-window': { release: '5.1', reports: ['PR'], start: previous(recent) },
        'ok-keep': { release: '5.1', reports: ['PR'], start: '2022-01', end: '2022-01' },
        'file:celus:counter5_tr_test1_wrong_id.json-d': {
          release: '5',
          reports: ['TR'],
          start: '2019-02',
          end: '2019-02',
        },
        'ok-r4': { release: '4', reports: ['JR1'], start: '2022-01', end: '2022-02' },
      };
      for (const [key, spec] of Object.entries(specs))
        ids[key] = await addProvider(svc, {
          label: key,
          serviceUrl: `${mock.url}/${key}${spec.release === '4' ? '/sushi4' : ''}`,
          ...spec,
        });
      await svc.jobs.startTenantJob('diku');
      await waitForJobs(svc, 120_000);
    });
    after(async () => {
      await svc?.close();
      await mock?.close();
    });

    it('harvest again: an unchanged month is left alone; a restated month is replaced and the change recorded', async () => {
      const key = 'restate:2-r';
      assert.equal(reportRequests(key), 1);
      const first = await byMonth(key);
      assert.deepEqual(Object.keys(first), ['2022-01', '2022-02']);
      for (const r of Object.values(first)) assert.match(r.contentHash, /^[0-9a-f]{64}$/);

      await again(key, 'from=2022-01&to=2022-02&reports=PR');
      assert.equal(reportRequests(key), 2, 'stored months requested again');
      const second = await byMonth(key);
      for (const m of ['2022-01', '2022-02']) {
        assert.equal(second[m].id, first[m].id);
        assert.equal(second[m].downloadTime, first[m].downloadTime, 'unchanged month not rewritten');
        assert.equal(second[m].contentHash, first[m].contentHash);
      }
      const none = await call(
        svc,
        'GET',
        `/erm-usage-harvester/counter-reports/changes?providerId=${ids[key]}`,
      );
      assert.equal(none.status, 200);
      assert.equal(none.json.totalRecords, 0);

      await again(key, 'from=2022-01&to=2022-02');
      assert.equal(reportRequests(key), 3);
      const third = await byMonth(key);
      assert.equal(Object.keys(third).length, 2, 'no month doubled');
      const changes = await call(
        svc,
        'GET',
        `/erm-usage-harvester/counter-reports/changes?providerId=${ids[key]}`,
      );
      assert.equal(changes.json.totalRecords, 2);
      for (const change of changes.json.changes as Rec[]) {
        const month = change.yearMonth as string;
        assert.equal(change.counterReportId, first[month].id);
        assert.equal(change.previousHash, first[month].contentHash);
        assert.equal(change.newHash, third[month].contentHash);
        assert.notEqual(change.newHash, change.previousHash);
        assert.deepEqual(change.totalsBefore, first[month].usageTotals);
        assert.deepEqual(change.totalsAfter, third[month].usageTotals);
        assert.match(change.changedAt, /^\d{4}-\d{2}-\d{2}T/);
        assert.equal(change.reportName, 'PR');
      }
      const one = await call(
        svc,
        'GET',
        `/erm-usage-harvester/counter-reports/${first['2022-01'].id}/changes`,
      );
      assert.equal(one.json.totalRecords, 1);
      assert.equal(one.json.changes[0].yearMonth, '2022-01');
    });

    it('harvest again: bad parameters are 400 with a message naming them', async () => {
      const base = `/erm-usage-harvester/start/${ids['ok-keep']}/again`;
      for (const [query, pattern] of [
        ['', /'from' is required/],
        ['from=2022-13', /'from' must be a month/],
        ['from=2022-03&to=2022-01', /'to' \(2022-01\) is before 'from'/],
        ['from=2022-01&reports=TR;DROP', /'reports' must be report ids/],
      ] as const) {
        const res = await call(svc, 'POST', `${base}${query ? `?${query}` : ''}`);
        assert.equal(res.status, 400, query);
        assert.match(res.text, pattern);
      }
    });

    it('a failed or empty answer on a re-harvest never replaces a stored month with usage', async () => {
      const key = 'ok-keep';
      const stored = (await byMonth(key))['2022-01'];
      assert.ok(stored.itemCount > 0);
      for (const scenario of ['notready-k', 'nousage-k', 'empty-k', 'busy:9-k']) {
        const provider = (await call(svc, 'GET', `/usage-data-providers/${ids[key]}`)).json;
        provider.harvestingConfig.sushiConfig.serviceUrl = `${mock.url}/${scenario}`;
        assert.equal(
          (await call(svc, 'PUT', `/usage-data-providers/${ids[key]}`, { body: provider })).status,
          204,
        );
        await again(key, 'from=2022-01');
        assert.ok(reportRequestsFor(scenario) > 0, `${scenario} asked`);
        const now = (await byMonth(key))['2022-01'];
        assert.equal(now.id, stored.id);
        assert.equal(now.failedAttempts, undefined, scenario);
        assert.equal(now.itemCount, stored.itemCount, scenario);
        assert.equal(now.contentHash, stored.contentHash, scenario);
      }
      function reportRequestsFor(scenario: string): number {
        return mock.requests.filter((r) => r.scenario === scenario && r.reportId).length;
      }
    });

    it('re-harvest window: a manual start requests nothing stored; a scheduled run requests the last complete months again', async () => {
      const key = 'ok-window';
      assert.equal(reportRequests(key), 1);
      await svc.jobs.startProviderJob('diku', ids[key]);
      await waitForJobs(svc, 60_000);
      assert.equal(reportRequests(key), 1, 'a manual start harvests only missing months');
      const before = await byMonth(key);
      await svc.jobs.startTenantJob('diku', { scheduled: true });
      await waitForJobs(svc, 60_000);
      assert.equal(reportRequests(key), 2, 'the scheduled run looked again');
      const requested = mock.requestsFor(key).filter((r) => r.reportId)[1];
      assert.equal(requested.query.begin_date, `${previous(recent)}-01`);
      const afterRun = await byMonth(key);
      assert.deepEqual(Object.keys(afterRun), [previous(recent), recent]);
      for (const m of Object.keys(afterRun)) assert.equal(afterRun[m].downloadTime, before[m].downloadTime);
      assert.equal(reportRequests('restate:2-r'), 3, 'months older than the window are not requested');
    });

    it('diagnostics per provider: codes counted and the months listed', async () => {
      const id = ids['file:celus:counter5_tr_test1_wrong_id.json-d'];
      const res = await call(svc, 'GET', `/erm-usage-harvester/diagnostics?providerId=${id}`);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.providerId, id);
      assert.equal(res.json.months, 1);
      assert.equal(res.json.monthsWithDiagnostics, 1);
      assert.ok(res.json.codes.report_id_mismatch.count >= 1);
      const [month] = res.json.records;
      assert.equal(month.yearMonth, '2019-02');
      assert.equal(month.content, 'usage');
      assert.ok(month.diagnostics.some((d: Rec) => d.code === 'report_id_mismatch' && d.message));
      const missing = await call(svc, 'GET', '/erm-usage-harvester/diagnostics');
      assert.equal(missing.status, 400);
      assert.match(missing.text, /'providerId' is required/);
    });

    it('COUNTER 4 months carry their item count and content hash', async () => {
      const records = await reportsOf(svc, ids['ok-r4']);
      assert.equal(records.length, 2);
      for (const r of records) {
        assert.equal(r.release, '4');
        assert.equal(r.failedAttempts, undefined);
        assert.equal(typeof r.itemCount, 'number');
        assert.ok(r.itemCount > 0);
        assert.match(r.contentHash, /^[0-9a-f]{64}$/);
      }
    });
  });
