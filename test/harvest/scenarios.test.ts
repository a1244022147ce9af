/**
 * Every mock scenario ends in its defined state, with request counts that prove deferral, back-off and
 * no request storms, while the service stays healthy. Delays are 0 (folio-contract §8) except where a test says.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import type { RunningService } from '../../src/server.ts';
import { startMockCounterServer, type MockCounterServer } from '../../mock/counter-server.ts';
import { call, startOn, testHarvest } from '../helpers/service.ts';
import { addProvider, harvestMockProviders, reportsOf, waitForJobs } from '../helpers/harvest.ts';

type Rec = Record<string, any>;

describe('exception policy end to end (mock scenarios)', () => {
  let svc: RunningService;
  let mock: MockCounterServer;
  const ids: Record<string, string> = {};
  const logLines: string[] = [];
  // scenario key → [reports, start, end]
  const SCENARIOS: Record<string, [string[], string, string]> = {
    'ok-a': [['PR'], '2022-01', '2022-03'],
    'queued:2-a': [['PR'], '2022-01', '2022-03'],
    'queued:99-a': [['PR'], '2022-01', '2022-02'],
    'busy:1-a': [['PR'], '2022-01', '2022-02'],
    'busy200:1-a': [['PR'], '2022-01', '2022-02'],
    'unavailable:1-a': [['PR'], '2022-01', '2022-02'],
    'ratelimit:2-a': [['PR'], '2022-01', '2022-02'],
    'ratelimit:99-a': [['PR'], '2022-01', '2022-02'],
    'ratelimit1020:1-a': [['PR'], '2022-01', '2022-02'],
    'nousage-a': [['PR'], '2022-01', '2022-02'],
    'empty-a': [['PR'], '2022-01', '2022-02'],
    'notready-a': [['TR'], '2022-01', '2022-02'],
    'nolonger-a': [['PR'], '2022-01', '2022-01'],
    'partial-a': [['PR'], '2022-01', '2022-01'],
    'warning-a': [['PR'], '2022-01', '2022-01'],
    'badcreds-a': [['TR', 'PR', 'DR'], '2022-01', '2022-03'],
    'badcreds:2020-a': [['TR', 'PR'], '2022-01', '2022-02'],
    'badcreds:403-a': [['PR'], '2022-01', '2022-01'],
    'naked-a': [['PR'], '2022-01', '2022-01'],
    'lowercase:3031-a': [['PR'], '2022-01', '2022-01'],
    'stringjson:3030-a': [['PR'], '2022-01', '2022-01'],
    'html-a': [['PR'], '2022-01', '2022-02'],
    'text-a': [['PR'], '2022-01', '2022-01'],
    'truncated-a': [['PR'], '2022-01', '2022-01'],
    'reset-a': [['PR'], '2022-01', '2022-02'],
    'garbage-a': [['PR'], '2022-01', '2022-01'],
    'null-a': [['PR'], '2022-01', '2022-01'],
    'badtext-a': [['TR'], '2022-01', '2022-01'],
    'slow:800-a': [['PR'], '2022-01', '2022-01'],
  };

  before(async () => {
    mock = await startMockCounterServer();
    svc = await startOn('pglite', undefined, {
      logLines,
      // A short deferral budget and pace step: an endpoint that answers only 429 is given up in seconds.
      config: {
        harvest: testHarvest({
          requestConcurrency: 6,
          deferBudgetMs: 20_000,
          paceStepMs: 100,
          paceMaxMs: 2000,
        }),
      },
    });
    Object.assign(ids, await harvestMockProviders(svc, mock.url, SCENARIOS));
  });
  after(async () => {
    await svc?.close();
    await mock?.close();
  });

  const records = (key: string) => reportsOf(svc, ids[key]);
  const requests = (key: string) => mock.requests.filter((r) => r.scenario === key && r.reportId);
  const jobOf = async (key: string): Promise<Rec> => {
    const res = await call(svc, 'GET', `/erm-usage-harvester/jobs?providerId=${ids[key]}`);
    return res.json.jobInfos[0];
  };
  const provider = async (key: string): Promise<Rec> =>
    (await call(svc, 'GET', `/usage-data-providers/${ids[key]}`)).json;

  it('ok: one request for the range, three successful months', async () => {
    assert.equal(requests('ok-a').length, 1);
    const recs = await records('ok-a');
    assert.deepEqual(
      recs.map((r) => [r.yearMonth, r.failedAttempts]),
      [
        ['2022-01', undefined],
        ['2022-02', undefined],
        ['2022-03', undefined],
      ],
    );
    const job = await jobOf('ok-a');
    assert.equal(job.result, 'success');
    // The provider records when it was harvested (FOLIO's harvestingDate), during its job.
    const p = await provider('ok-a');
    const at = Date.parse(p.harvestingDate);
    assert.ok(
      at >= Date.parse(job.startedAt) - 1000 && at <= Date.parse(job.finishedAt),
      `harvestingDate ${p.harvestingDate} within the job (${job.startedAt}..${job.finishedAt})`,
    );
    assert.equal(p.metadata.updatedDate, p.harvestingDate);
    assert.equal(p.label, 'ok-a');
  });

  it('queued twice, then ready: deferred retries of the same request, one success, nothing failed', async () => {
    const reqs = requests('queued:2-a');
    assert.equal(reqs.length, 3);
    assert.ok(
      reqs.every((r) => r.query.begin_date === '2022-01-01' && r.query.end_date === '2022-03-31'),
      'same request',
    );
    const recs = await records('queued:2-a');
    assert.equal(recs.length, 3);
    assert.ok(recs.every((r) => r.failedAttempts === undefined && r.report));
  });

  it('queued for ever: a capped number of deferrals, then an uncounted failure with the code', async () => {
    assert.equal(requests('queued:99-a').length, 4, '1 try + 3 deferrals');
    const recs = await records('queued:99-a');
    assert.equal(recs.length, 2);
    for (const r of recs) {
      assert.equal(r.failedAttempts, 1);
      assert.match(r.failedReason, /"Code": ?1011/);
      assert.equal(r.harvestState.state, 'deferred_timeout');
    }
  });

  it('busy (503 + 1010, or 200 + naked 1010) and unavailable (1000): deferred, then data', async () => {
    for (const key of ['busy:1-a', 'busy200:1-a', 'unavailable:1-a']) {
      assert.equal(requests(key).length, 2, key);
      const recs = await records(key);
      assert.equal(recs.length, 2, key);
      assert.ok(
        recs.every((r) => r.failedAttempts === undefined),
        key,
      );
    }
  });

  it('rate limited twice: the same request retried, then data; for ever: deferred (not counted) TooManyRequestsException after the budget', async () => {
    assert.equal(requests('ratelimit:2-a').length, 3);
    assert.ok((await records('ratelimit:2-a')).every((r) => r.failedAttempts === undefined));
    const forever = requests('ratelimit:99-a');
    assert.ok(forever.length >= 2 && forever.length <= 16, `paced retries: ${forever.length}`);
    for (const r of await records('ratelimit:99-a')) {
      assert.equal(r.failedAttempts, 1);
      assert.equal(r.harvestState.state, 'deferred_timeout');
      assert.match(r.failedReason, /^TooManyRequestsException: /);
      assert.match(r.failedReason, /429|"Code": ?1020/);
    }
    assert.equal(requests('ratelimit1020:1-a').length, 2, '1020 in a 200 body is a rate limit too');
  });

  it('3030 and an empty report are stored as harvested months with no usage, never retried', async () => {
    for (const key of ['nousage-a', 'empty-a', 'stringjson:3030-a', 'naked-a']) {
      const recs = await records(key);
      assert.ok(recs.length >= 1, key);
      for (const r of recs) {
        assert.equal(r.failedAttempts, undefined, `${key} ${r.failedReason}`);
        assert.deepEqual(r.report.Report_Items, [], key);
      }
    }
    assert.equal((await records('nousage-a'))[0].harvestState.state, 'empty');
  });

  it('3031: an uncounted failure per month with a re-check time; the provider lists 3031', async () => {
    const recs = await records('notready-a');
    assert.equal(recs.length, 2);
    for (const r of recs) {
      assert.equal(r.failedAttempts, 1);
      assert.match(r.failedReason, /3031/);
      assert.equal(r.harvestState.state, 'not_ready');
      assert.ok(Date.parse(r.harvestState.nextCheckAfter) > Date.now());
    }
    assert.ok((await provider('notready-a')).reportErrorCodes.includes('3031'));
    assert.equal(
      (await records('lowercase:3031-a'))[0].harvestState.state,
      'not_ready',
      'lower-case keys are read',
    );
  });

  it('3032 is terminal for the month; 3040 and warnings keep the data', async () => {
    const gone = (await records('nolonger-a'))[0];
    assert.ok(gone.failedAttempts >= 5);
    assert.equal(gone.harvestState.state, 'unavailable');
    const partial = (await records('partial-a'))[0];
    assert.equal(partial.failedAttempts, undefined);
    assert.equal(partial.harvestState.state, 'partial');
    assert.ok(partial.report.Report_Items.length > 0);
    assert.ok(
      partial.report.Report_Header.Exceptions.some((e: Rec) => e.Code === 3040),
      'exception kept in the stored header',
    );
    const warned = (await records('warning-a'))[0];
    assert.equal(warned.failedAttempts, undefined);
    assert.ok(warned.report.Report_Items.length > 0);
  });

  it('credentials rejected: one request, every month failed with the code, the job says it', async () => {
    assert.equal(requests('badcreds-a').length, 1, 'no request storm');
    const recs = await records('badcreds-a');
    assert.equal(recs.length, 9, 'every month of TR, PR and DR (3 each) recorded as failed');
    for (const r of recs) {
      assert.equal(r.failedAttempts, 1);
      assert.match(r.failedReason, /2010/);
    }
    const job = await jobOf('badcreds-a');
    assert.equal(job.result, 'failure');
    assert.match(job.errorMessage, /^CredentialsRejected: .*2010/);
    assert.equal(requests('badcreds:2020-a').length, 1);
    assert.ok(
      (await records('badcreds:2020-a')).every((r) => /"Code": ?2020/.test(r.failedReason)),
      'string code made extractable',
    );
    assert.equal(requests('badcreds:403-a').length, 1);
  });

  it('garbage answers become counted failures that say what was wrong; ranges are split first', async () => {
    assert.equal(requests('html-a').length, 3, 'range, then its 2 months');
    for (const r of await records('html-a')) {
      assert.equal(r.failedAttempts, 1);
      assert.match(r.failedReason, /^Report not valid/);
    }
    for (const key of ['text-a', 'truncated-a', 'garbage-a', 'null-a']) {
      const [r] = await records(key);
      assert.equal(r.failedAttempts, 1, key);
      assert.ok(r.failedReason.length > 0, key);
    }
    assert.match((await records('null-a'))[0].failedReason, /Report not valid: null/);
    const reset = await records('reset-a');
    assert.equal(reset.length, 2);
    assert.ok(reset.every((r) => r.failedAttempts === 1));
  });

  it('text a database cannot store (NUL, lone surrogate) is replaced; the month is stored and says so', async () => {
    const [r] = await records('badtext-a');
    assert.ok(r, 'the month is stored');
    assert.equal(r.failedReason, undefined);
    const full = (await call(svc, 'GET', `/counter-reports/${r.id}`)).json;
    const first = full.report.Report_Items[0];
    assert.match(first.Title, /\uFFFD$/);
    assert.equal(first['\uFFFD'], 'lone');
    const diagnostic = full.diagnostics.find((d: Rec) => d.code === 'text_replaced');
    assert.equal(diagnostic?.count, 2, JSON.stringify(full.diagnostics));
    assert.deepEqual((await jobOf('badtext-a')).report, {
      stored: 1,
      empty: 0,
      failed: {},
      skipped: 0,
      deferred: 0,
    });
  });

  it('a slow drip still arrives', async () => {
    const [r] = await records('slow:800-a');
    assert.equal(r.failedAttempts, undefined);
  });

  it('never has two requests in flight to one endpoint, and stays healthy', async () => {
    for (const key of Object.keys(SCENARIOS)) assert.ok(mock.maxInFlight(key) <= 1, key);
    assert.equal((await call(svc, 'GET', '/admin/health', { tenant: null })).status, 200);
  });

  it('writes no API key or requestor id into records, job messages or logs', async () => {
    const all = (await svc.store.list('diku', 'counter-reports', { offset: 0, limit: 10000, tiny: true }))
      .records;
    const text =
      JSON.stringify(all) +
      JSON.stringify((await call(svc, 'GET', '/erm-usage-harvester/jobs?limit=1000')).json) +
      logLines.join('');
    assert.ok(logLines.length > 0);
    assert.ok(!text.includes('key-secret-99'), 'api key leaked');
    assert.ok(!text.includes('req-secret-77'), 'requestor id leaked');
  });
});

describe('Retry-After is honoured (delays enabled)', () => {
  it('retries a 429 no sooner than Retry-After says', async () => {
    const mock = await startMockCounterServer();
    const svc = await startOn('pglite', undefined, {
      config: { harvest: testHarvest({ maxRetryAfterMs: 10_000 }) },
    });
    try {
      await addProvider(svc, {
        serviceUrl: `${mock.url}/ratelimit:1:2-r`,
        release: '5.1',
        reports: ['PR'],
        start: '2022-01',
        end: '2022-01',
      });
      await svc.jobs.startTenantJob('diku');
      await waitForJobs(svc, 60_000);
      const reqs = mock.requests.filter((r) => r.reportId);
      assert.equal(reqs.length, 2);
      assert.ok(
        reqs[1].startedAt - reqs[0].startedAt >= 1900,
        `gap ${reqs[1].startedAt - reqs[0].startedAt} ms`,
      );
    } finally {
      await svc.close();
      await mock.close();
    }
  });
});
