/**
 * Adaptive pace per endpoint (src/harvest/pace.ts, README "How a harvest treats what providers answer"):
 * providers that rate-limit every other request, or allow N requests per window, are harvested
 * completely with no failed month and no request sooner than the Retry-After of the answer before it
 * (the mock records when each request arrived and what its answer allowed); a provider that answers
 * nothing but 429 gets its months deferred, not counted, after the deferral budget.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import type { RunningService } from '../../src/server.ts';
import { nextPace, type PaceRules } from '../../src/harvest/pace.ts';
import { rateLimitWait } from '../../src/harvest/policy.ts';
import { getPace } from '../../src/store/sql/endpoint-pace.ts';
import { endpointKeyOf } from '../../src/sushi/url.ts';
import { startMockCounterServer, type MockCounterServer } from '../../mock/counter-server.ts';
import type { RecordedRequest } from '../../mock/scenarios.ts';
import { startOn, testHarvest } from '../helpers/service.ts';
import { harvestMockProviders, reportsOf, waitForJobs } from '../helpers/harvest.ts';

const RULES: PaceRules = {
  paceStepMs: 1000,
  paceMaxMs: 8000,
  paceRecoveryPercent: 50,
  deferBudgetMs: 60_000,
};

describe('pace rules', () => {
  it('a rate limit doubles the added spacing (from the step, up to the maximum); data halves it', () => {
    let pace = nextPace({ intervalMs: 0, rateLimits: 0 }, 'slower', 10, RULES);
    assert.deepEqual(pace, { intervalMs: 1000, limitedSince: 10, lastLimitAt: 10, rateLimits: 1 });
    pace = nextPace(pace, 'slower', 20, RULES);
    assert.equal(pace.intervalMs, 2000);
    assert.equal(pace.limitedSince, 10, 'the first rate limit of the run is kept');
    for (let i = 0; i < 5; i++) pace = nextPace(pace, 'slower', 30, RULES);
    assert.equal(pace.intervalMs, 8000);
    pace = nextPace(pace, 'faster', 40, RULES);
    assert.equal(pace.intervalMs, 4000);
    assert.equal(pace.limitedSince, undefined);
    assert.equal(pace.lastAnswerAt, 40);
    for (let i = 0; i < 4; i++) pace = nextPace(pace, 'faster', 50, RULES);
    assert.equal(pace.intervalMs, 250);
    pace = nextPace(pace, 'faster', 60, RULES);
    assert.equal(pace.intervalMs, 0, 'below a quarter of the step it is dropped');
  });

  it('every other request limited: the spacing stays bounded (no drift to the maximum)', () => {
    let pace = { intervalMs: 0, rateLimits: 0 };
    for (let i = 0; i < 50; i++) pace = nextPace(nextPace(pace, 'slower', i, RULES), 'faster', i, RULES);
    assert.ok(pace.intervalMs <= RULES.paceStepMs, String(pace.intervalMs));
  });

  it('a rate limit more than the budget after the last one starts a new period of rate limits', () => {
    const old = { intervalMs: 8000, limitedSince: 0, lastLimitAt: 1000, rateLimits: 9 };
    assert.equal(
      nextPace(old, 'slower', 61_000, RULES).limitedSince,
      0,
      'within the budget: the same period',
    );
    assert.equal(nextPace(old, 'slower', 61_001, RULES).limitedSince, 61_001);
  });

  it('other answers show the endpoint answers; no answer changes nothing', () => {
    const limited = { intervalMs: 2000, limitedSince: 5, rateLimits: 2 };
    assert.deepEqual(nextPace(limited, 'answered', 9, RULES), {
      intervalMs: 2000,
      limitedSince: undefined,
      lastAnswerAt: 9,
      rateLimits: 2,
    });
    assert.deepEqual(nextPace(limited, 'none', 9, RULES), limited);
  });

  it('the wait honours Retry-After (capped) and the pace; given up only after the budget of nothing but rate limits', () => {
    const limits = {
      deferQueuedMs: 0,
      deferBusyMs: 0,
      maxDeferrals: 3,
      deferBudgetMs: 60_000,
      maxRetryAfterMs: 600_000,
    };
    const decision = { action: 'rate-limit' as const, rule: 'r', retryAfterMs: 30_000 };
    assert.deepEqual(rateLimitWait(decision, { intervalMs: 1000, limitedSince: 0 }, 59_999, limits), {
      waitMs: 30_000,
      exhausted: false,
    });
    assert.deepEqual(rateLimitWait(decision, { intervalMs: 45_000, limitedSince: 0 }, 60_000, limits), {
      waitMs: 45_000,
      exhausted: true,
    });
    assert.equal(
      rateLimitWait({ ...decision, retryAfterMs: 10 ** 9 }, { intervalMs: 0 }, 0, limits).waitMs,
      600_000,
      'capped',
    );
  });
});

/** Every request after a rate-limited answer came no sooner than that answer's Retry-After allowed. */
function assertRetryAfterHonoured(requests: RecordedRequest[]): number {
  const sorted = [...requests].sort((a, b) => a.startedAt - b.startedAt);
  let limited = 0;
  sorted.forEach((r, i) => {
    if (r.notBefore === undefined) return;
    limited++;
    for (const later of sorted.slice(i + 1))
      // 5 ms: the mock's clock (performance) and the service's (Date) may differ by a few ms.
      assert.ok(
        later.startedAt >= r.notBefore - 5,
        `request at ${later.startedAt} came ${r.notBefore - later.startedAt} ms before the Retry-After of ${r.path}`,
      );
  });
  return limited;
}

describe('rate-limiting providers harvested through the mock', () => {
  let svc: RunningService;
  let mock: MockCounterServer;
  const ids: Record<string, string> = {};
  // endpoint key → [reports, start, end]
  const PROVIDERS: Record<string, [string[], string, string]> = {
    'alternate:1-a': [['PR'], '2022-01', '2022-04'],
    'alternate:1:date-a': [['PR'], '2022-01', '2022-03'],
    'bucket:2:4-a': [['TR', 'PR'], '2022-01', '2022-03'],
    'bucket:1:2:1020-a': [['PR'], '2022-01', '2022-04'],
    'only429:1-a': [['PR'], '2022-01', '2022-03'],
  };
  const BUDGET_MS = 2500;

  before(async () => {
    mock = await startMockCounterServer();
    svc = await startOn('pglite', undefined, {
      config: {
        harvest: testHarvest({
          requestConcurrency: 6,
          singleMonthReports: ['TR', 'PR'],
          paceStepMs: 200,
          paceMaxMs: 2000,
          maxRetryAfterMs: 60_000,
          deferBudgetMs: BUDGET_MS,
        }),
      },
    });
    Object.assign(ids, await harvestMockProviders(svc, mock.url, PROVIDERS));
  });
  after(async () => {
    await svc?.close();
    await mock?.close();
  });

  const reportRequests = (key: string) => mock.requestsFor(key).filter((r) => r.reportId);

  async function harvestedCompletely(key: string, months: number): Promise<void> {
    const records = await reportsOf(svc, ids[key]);
    assert.equal(records.length, months, key);
    for (const r of records) {
      assert.equal(r.failedAttempts, undefined, `${key} ${r.yearMonth}: ${r.failedReason}`);
      assert.ok(r.report.Report_Items.length > 0, `${key} ${r.yearMonth} has usage`);
    }
  }

  it('429 with Retry-After (seconds) to every other request: every month harvested, none failed, no request early', async () => {
    await harvestedCompletely('alternate:1-a', 4);
    const requests = reportRequests('alternate:1-a');
    assert.equal(requests.length, 8, 'each month: one 429, then its data');
    assert.equal(assertRetryAfterHonoured(requests), 4);
  });

  it('the same with Retry-After as an HTTP date', async () => {
    await harvestedCompletely('alternate:1:date-a', 3);
    assert.equal(assertRetryAfterHonoured(reportRequests('alternate:1:date-a')), 3);
  });

  it('N requests per window (token bucket, 429 beyond it): every month harvested, none failed, no request early', async () => {
    await harvestedCompletely('bucket:2:4-a', 6);
    const requests = reportRequests('bucket:2:4-a');
    const limited = assertRetryAfterHonoured(requests);
    assert.ok(limited >= 1, 'the bucket ran dry at least once');
    assert.ok(requests.length <= 6 + limited);
  });

  it('N requests per window answered with 1020 in a 200 body (no Retry-After): every month harvested, none failed', async () => {
    await harvestedCompletely('bucket:1:2:1020-a', 4);
    assert.ok(reportRequests('bucket:1:2:1020-a').length > 4, 'the bucket ran dry at least once');
  });

  it('an endpoint answering only 429: months deferred (not counted) after the budget; a second run counts nothing', async () => {
    const check = async () => {
      const records = await reportsOf(svc, ids['only429:1-a']);
      assert.equal(records.length, 3);
      for (const r of records) {
        assert.equal(r.failedAttempts, 1, 'uncounted: 1 when new, kept after');
        assert.deepEqual(r.harvestState, { state: 'deferred_timeout', code: 1020 });
        assert.match(r.failedReason, /^TooManyRequestsException: /);
      }
    };
    await check();
    const firstRun = reportRequests('only429:1-a');
    assertRetryAfterHonoured(firstRun);
    const span = firstRun[firstRun.length - 1].startedAt - firstRun[0].startedAt;
    assert.ok(span >= BUDGET_MS - 5, `gave up only after the budget (${span} ms)`);
    assert.ok(firstRun.length <= 5, `one request per Retry-After, not per month (${firstRun.length})`);
    const pace = await getPace(svc.ctx.db, endpointKeyOf(`${mock.url}/only429:1-a/r51`));
    assert.ok(pace.rateLimits >= 3 && pace.intervalMs > 0, JSON.stringify(pace));

    await svc.jobs.startProviderJob('diku', ids['only429:1-a']);
    await waitForJobs(svc, 60_000);
    await check();
  });

  it('the jobs of all these providers end as successes', async () => {
    const jobs = await waitForJobs(svc);
    for (const job of jobs.filter((j) => j.type === 'provider'))
      assert.equal(job.result, 'success', JSON.stringify(job));
  });
});
