/**
 * FOLIO mode: a harvest driven through the Okapi adapter stores the same records as standalone.
 *
 * Service A (standalone) stands in for mod-erm-usage; a small HTTP front plays Okapi (everything is passed
 * to A, `/settings/entries` answers an empty mod-settings page, since A has none); service B runs in FOLIO
 * mode against the front and harvests A's providers. Service C harvests the same providers (same ids) in
 * standalone mode from an identical mock server. The counter reports stored in A and in C must be the same
 * records (ids, download times and metadata aside), and the JobInfos of B and C the same results.
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { OkapiErmStore } from '../../src/erm/okapi-store.ts';
import type { RunningService } from '../../src/server.ts';
import { call, startOn } from '../helpers/service.ts';
import { okapiFront, providerRecord, type OkapiFront } from '../helpers/child-service.ts';
import { startMockCounterServer, type MockCounterServer } from '../../mock/counter-server.ts';
import { reportsOf, waitForJobs } from '../helpers/harvest.ts';

type Rec = Record<string, any>;

/** endpoint key → release, reports, window; successes and failures of several kinds. */
const SCENARIOS: Record<string, { release: string; reports: string[]; start: string; end: string }> = {
  'ok-tr': { release: '5.1', reports: ['TR'], start: '2022-01', end: '2022-03' },
  'ok-pr': { release: '5.1', reports: ['PR', 'DR'], start: '2022-02', end: '2022-04' },
  'ok-r50': { release: '5', reports: ['TR', 'PR'], start: '2016-01', end: '2016-03' },
  'partial-a': { release: '5.1', reports: ['PR'], start: '2022-01', end: '2022-01' },
  'nousage-a': { release: '5.1', reports: ['PR'], start: '2022-01', end: '2022-02' },
  'notready-a': { release: '5.1', reports: ['TR'], start: '2022-01', end: '2022-02' },
  'badcreds-a': { release: '5.1', reports: ['TR', 'PR'], start: '2022-01', end: '2022-02' },
};

/** A record as compared: no ids, download times or metadata; the mock's address replaced. */
function comparable(record: Rec, mockUrl: string): Rec {
  const { id: _id, downloadTime: _dt, metadata: _md, ...rest } = record;
  const out = JSON.parse(JSON.stringify(rest).split(mockUrl).join('<mock>')) as Rec;
  // When a not-ready month is checked again depends on when it was harvested.
  const next = out.harvestState?.nextCheckAfter as string | undefined;
  if (next !== undefined) {
    assert.ok(!Number.isNaN(Date.parse(next)), `nextCheckAfter ${next}`);
    out.harvestState.nextCheckAfter = '<time>';
  }
  return out;
}

const key = (r: Rec) => `${r.reportName as string}|${r.yearMonth as string}`;

describe('FOLIO mode through the Okapi adapter', () => {
  let a: RunningService;
  let b: RunningService;
  let c: RunningService;
  let okapi: OkapiErmStore;
  let front: OkapiFront;
  let mockB: MockCounterServer;
  let mockC: MockCounterServer;
  const ids: Record<string, string> = {};

  before(async () => {
    const t0 = Date.now();
    [mockB, mockC] = await Promise.all([startMockCounterServer(), startMockCounterServer()]);
    a = await startOn('pglite', undefined);
    front = await okapiFront(a.url);
    okapi = new OkapiErmStore({ okapiUrl: front.url });
    b = await startOn('pglite', undefined, {
      config: { mode: 'folio', okapiUrl: front.url },
      erm: okapi,
    });
    c = await startOn('pglite', undefined);
    for (const [scenario, spec] of Object.entries(SCENARIOS)) {
      const id = randomUUID();
      ids[scenario] = id;
      const label = `folio ${scenario}`;
      const inA = await call(a, 'POST', '/usage-data-providers', {
        body: providerRecord(id, { label, serviceUrl: `${mockB.url}/${scenario}`, ...spec }),
      });
      assert.equal(inA.status, 201, inA.text);
      const inC = await call(c, 'POST', '/usage-data-providers', {
        body: providerRecord(id, { label, serviceUrl: `${mockC.url}/${scenario}`, ...spec }),
      });
      assert.equal(inC.status, 201, inC.text);
    }
    if (process.env.TEST_LOG) process.stderr.write(`set-up took ${Date.now() - t0} ms\n`);
  });
  after(async () => {
    await Promise.allSettled([b?.close(), c?.close()]);
    await okapi?.close();
    await front?.close();
    await a?.close();
    await Promise.allSettled([mockB?.close(), mockC?.close()]);
  });

  it('B serves no mod-erm-usage API of its own (FOLIO mode)', async () => {
    const res = await call(b, 'GET', '/usage-data-providers');
    assert.equal(res.status, 404);
  });

  it('stores the same counter reports and job results as a standalone harvest', async () => {
    const [startB, startC] = await Promise.all([
      call(b, 'GET', '/erm-usage-harvester/start'),
      call(c, 'GET', '/erm-usage-harvester/start'),
    ]);
    assert.equal(startB.status, 200, startB.text);
    assert.equal(startC.status, 200, startC.text);
    const [jobsB, jobsC] = await Promise.all([waitForJobs(b, 90_000), waitForJobs(c, 90_000)]);

    // B did its work through the front: mod-settings was asked, A's records were written.
    assert.ok(front.settings() > 0, 'max_failed_attempts read from mod-settings');
    assert.equal(
      mockB.requests.filter((r) => r.reportId).length,
      mockC.requests.filter((r) => r.reportId).length,
    );

    // Job results: same per provider, and at least one success and one failure.
    const results = (jobs: Rec[]) =>
      Object.fromEntries(
        jobs
          .filter((j) => j.type === 'provider')
          .map((j) => [j.providerId as string, { result: j.result as string, errorMessage: j.errorMessage }]),
      );
    const resultsB = results(jobsB);
    const resultsC = results(jobsC);
    assert.equal(Object.keys(resultsB).length, Object.keys(SCENARIOS).length);
    assert.deepEqual(
      JSON.parse(JSON.stringify(resultsB).split(mockB.url).join('<mock>')),
      JSON.parse(JSON.stringify(resultsC).split(mockC.url).join('<mock>')),
    );
    assert.equal(resultsB[ids['ok-tr']].result, 'success');
    assert.equal(resultsB[ids['badcreds-a']].result, 'failure');

    let total = 0;
    for (const [scenario, id] of Object.entries(ids)) {
      const inA = (await reportsOf(a, id))
        .map((r) => comparable(r, mockB.url))
        .sort((x, y) => (key(x) < key(y) ? -1 : 1));
      const inC = (await reportsOf(c, id))
        .map((r) => comparable(r, mockC.url))
        .sort((x, y) => (key(x) < key(y) ? -1 : 1));
      assert.ok(inA.length > 0, `${scenario}: records stored`);
      assert.deepEqual(inA, inC, scenario);
      total += inA.length;
    }
    assert.ok(total >= 20, `${total} records compared`);

    // Both kinds of outcome are among them: data, and failed months.
    const notReady = await reportsOf(a, ids['notready-a']);
    assert.ok(
      notReady.every((r) => r.failedReason && !r.report),
      JSON.stringify(notReady),
    );
    const ok = await reportsOf(a, ids['ok-tr']);
    assert.ok(ok.every((r) => r.report && r.failedAttempts === undefined));

    // The provider's harvestingDate was written back to A through the adapter.
    const provider = await call(a, 'GET', `/usage-data-providers/${ids['ok-tr']}`);
    assert.ok(provider.json.harvestingDate, 'harvestingDate recorded in mod-erm-usage');
  });
});
