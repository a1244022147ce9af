/** The exception policy table and the upsert record rules (counter-notes §2.5; folio-contract §7.7, §8.1–§8.3). */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import {
  decide,
  deferral,
  EXCEPTION_POLICY,
  monthFailure,
  type RetryLimits,
} from '../../src/harvest/policy.ts';
import { buildRecord } from '../../src/harvest/upload.ts';
import { notReadyState } from '../../src/harvest/month-state.ts';
import type { FetchResult } from '../../src/sushi/types.ts';
import type { SushiException } from '../../src/counter/index.ts';

const ex = (code: number): SushiException => ({
  code,
  message: `E${code}`,
  raw: { Code: code, Message: `E${code}` },
});
const failure = (over: Partial<Extract<FetchResult, { kind: 'failure' }>>): FetchResult => ({
  kind: 'failure',
  cause: 'exception',
  exceptions: [],
  reason: 'r',
  ...over,
});
const data = (itemCount: number, exceptions: SushiException[] = [], httpStatus = 200): FetchResult => ({
  kind: 'data',
  httpStatus,
  data: {
    yearMonths: [],
    exceptions,
    itemCount,
    months: async function* () {},
    dispose: async () => {},
  },
});

describe('exception policy', () => {
  const cases: [string, FetchResult, string, boolean?][] = [
    ['1011 queued', failure({ exceptions: [ex(1011)] }), 'defer'],
    ['HTTP 202 without data', data(0, [], 202), 'defer'],
    ['HTTP 202 with data', data(3, [], 202), 'store'],
    ['1010 busy', failure({ exceptions: [ex(1010)] }), 'defer'],
    ['1000 with 503', failure({ cause: 'http', httpStatus: 503, exceptions: [ex(1000)] }), 'defer'],
    ['503 without exception', failure({ cause: 'http', httpStatus: 503 }), 'defer'],
    ['1020 in a 200 body', failure({ exceptions: [ex(1020)] }), 'rate-limit'],
    ['429', failure({ cause: 'http', httpStatus: 429, retryAfterMs: 2000 }), 'rate-limit'],
    ['2010 with 403', failure({ cause: 'http', httpStatus: 403, exceptions: [ex(2010)] }), 'stop-job'],
    ['401 without body', failure({ cause: 'http', httpStatus: 401 }), 'stop-job'],
    ['2020 naked object', failure({ exceptions: [ex(2020)] }), 'stop-job'],
    ['1030', failure({ exceptions: [ex(1030)] }), 'stop-job'],
    ['3000', failure({ cause: 'http', httpStatus: 404, exceptions: [ex(3000)] }), 'stop-report'],
    ['unsupported report name', failure({ cause: 'unsupported' }), 'stop-report'],
    ['3030 without data', failure({ exceptions: [ex(3030)] }), 'store-empty'],
    ['3030 in an empty report', data(0, [ex(3030)]), 'store-empty'],
    ['3031', failure({ exceptions: [ex(3031)] }), 'not-ready'],
    ['3032', failure({ exceptions: [ex(3032)] }), 'terminal'],
    ['3040 with data', data(5, [ex(3040)]), 'store-partial'],
    ['3050 with data', data(5, [ex(3050)]), 'store'],
    ['3062 + 0 with data', data(5, [ex(3062), ex(0)]), 'store'],
    ['warning only, no items', data(0, [ex(3050)]), 'store'],
    ['empty report without exception', data(0), 'store'],
    ['invalid body', failure({ cause: 'invalid' }), 'fail', true],
    ['too large', failure({ cause: 'too-large' }), 'fail', true],
    ['unknown exception', failure({ exceptions: [ex(3210)] }), 'fail', true],
    ['HTTP 500', failure({ cause: 'http', httpStatus: 500 }), 'fail', false],
    ['connection refused', failure({ cause: 'transport' }), 'fail', false],
    ["the harvester's own storage failed", failure({ cause: 'local' }), 'defer', false],
  ];
  for (const [name, result, action, expand] of cases) {
    it(`${name} → ${action}`, () => {
      const d = decide(result);
      assert.equal(d.action, action, d.rule);
      if (expand !== undefined) assert.equal(Boolean(d.expand), expand);
    });
  }
  it('keeps Retry-After for the rate-limit wait', () => {
    assert.equal(decide(failure({ cause: 'http', httpStatus: 429, retryAfterMs: 2000 })).retryAfterMs, 2000);
  });
  describe("a failure of the harvester's own storage (local)", () => {
    const limits: RetryLimits = {
      deferQueuedMs: 600_000,
      deferBusyMs: 300_000,
      maxDeferrals: 3,
      deferBudgetMs: 3_600_000,
      maxRetryAfterMs: 0,
    };
    const local = decide(failure({ cause: 'local', reason: 'Local storage error: ... ENOSPC' }));

    it('is deferred by its own row, as the harvester’s fault, and never counted against the provider', () => {
      assert.deepEqual(local, {
        action: 'defer',
        code: undefined,
        expand: undefined,
        retryAfterMs: undefined,
        rule: "harvester's own storage failed (local)",
        ownFault: true,
      });
      const given = monthFailure(local);
      assert.equal(given.counting, 'uncounted');
      assert.deepEqual(given.state(undefined, 0), { state: 'deferred_timeout', code: undefined });
    });

    it('waits as a busy service does, without resting the provider’s endpoint; given up after maxDeferrals', () => {
      const waits = [0, 1, 2].map((deferrals) =>
        deferral(local, { deferrals, firstDeferredAt: 0 }, 1000, limits),
      );
      assert.deepEqual(
        waits.map((w) => (w.exhausted ? 'exhausted' : [w.delayMs, w.endpointRestMs])),
        [
          [300_000, 0],
          [600_000, 0],
          [1_200_000, 0],
        ],
      );
      assert.deepEqual(deferral(local, { deferrals: 3, firstDeferredAt: 0 }, 1000, limits), {
        exhausted: true,
      });
      const busy = decide(failure({ cause: 'http', httpStatus: 503 }));
      const rest = deferral(busy, { deferrals: 0 }, 1000, limits);
      assert.equal(rest.exhausted ? -1 : rest.endpointRestMs, 300_000, 'a busy provider does rest');
    });
  });

  it('is one table with a row for every code group of counter-notes §2.5', () => {
    const codes = new Set(EXCEPTION_POLICY.flatMap((r) => r.codes ?? []));
    for (const c of [1000, 1010, 1011, 1020, 1030, 2000, 2010, 2020, 3000, 3010, 3030, 3031, 3032])
      assert.ok(codes.has(c), String(c));
  });
});

describe('upsert records', () => {
  const key = { providerId: 'p', release: '5', reportName: 'TR', yearMonth: '2018-02' };
  const t = '2024-02-01T10:00:00.000+00:00';
  it('a new failure has failedAttempts 1; an existing one counts up; no report on failures', () => {
    const fresh = buildRecord(
      key,
      { kind: 'failure', failedReason: 'x', counting: 'counted' },
      t,
      undefined,
      5,
    );
    assert.equal(fresh.failedAttempts, 1);
    assert.equal('report' in fresh, false);
    const next = buildRecord(
      key,
      { kind: 'failure', failedReason: 'new', counting: 'counted' },
      t,
      { ...key, downloadTime: t, failedAttempts: 2, failedReason: 'old' },
      5,
    );
    assert.equal(next.failedAttempts, 3);
    assert.equal(next.failedReason, 'new');
  });
  it('a success replaces a failure and carries no failedAttempts', () => {
    const rec = buildRecord(
      key,
      { kind: 'success', report: { a: 1 } },
      t,
      { ...key, downloadTime: t, failedAttempts: 4, failedReason: 'old' },
      5,
    );
    assert.deepEqual(rec, { ...key, downloadTime: t, report: { a: 1 } });
  });
  it('an existing success plus a new failure gives failedAttempts 1', () => {
    assert.equal(
      buildRecord(
        key,
        { kind: 'failure', failedReason: 'x', counting: 'counted' },
        t,
        { ...key, downloadTime: t },
        5,
      ).failedAttempts,
      1,
    );
  });
  it('uncounted failures keep the count (1 when new); terminal ones reach the maximum', () => {
    const existing = { ...key, downloadTime: t, failedAttempts: 2, failedReason: 'old' };
    assert.equal(
      buildRecord(key, { kind: 'failure', failedReason: 'x', counting: 'uncounted' }, t, existing, 5)
        .failedAttempts,
      2,
    );
    assert.equal(
      buildRecord(key, { kind: 'failure', failedReason: 'x', counting: 'uncounted' }, t, undefined, 5)
        .failedAttempts,
      1,
    );
    assert.equal(
      buildRecord(key, { kind: 'failure', failedReason: 'x', counting: 'terminal' }, t, undefined, 5)
        .failedAttempts,
      5,
    );
  });
  it('not-ready re-checks follow a schedule of days', () => {
    const now = Date.parse('2024-03-01T00:00:00Z');
    const first = notReadyState(undefined, now);
    assert.equal(first.checks, 1);
    assert.equal(first.nextCheckAfter, '2024-03-02T00:00:00.000+00:00');
    const rec = { ...key, downloadTime: t, failedAttempts: 1, failedReason: 'x', harvestState: first };
    const second = notReadyState(rec, now);
    assert.equal(second.checks, 2);
    assert.equal(second.nextCheckAfter, '2024-03-03T00:00:00.000+00:00');
  });
});
