/**
 * A harvest whose own temporary storage fails (the month buckets of a large answer cannot spill, or a
 * spilled month cannot be read back) blames the harvester, not the provider: the request is deferred
 * and retried, never recorded as `Report not valid` nor counted; when the deferrals run out its months
 * say it was the harvester's storage; once the disk works again the months are stored.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import type { RunningService } from '../../src/server.ts';
import { startMockCounterServer, type MockCounterServer } from '../../mock/counter-server.ts';
import { call, startOn, testHarvest } from '../helpers/service.ts';
import { addProvider, reportsOf, waitForJobs } from '../helpers/harvest.ts';
import { failFs } from '../helpers/fail-fs.ts';

type Rec = Record<string, any>;

/** About 6 MiB per month: above the splitter's 4 MiB spill threshold, so every month spills. */
const HUGE = 'huge:12';
/** The planner asks for each month on its own; each request is tried once and deferred twice. */
const EACH_MONTH_THREE_TIMES = { '2022-01-01..2022-01-31': 3, '2022-02-01..2022-02-28': 3 };

describe("harvest: the harvester's own storage fails (local)", () => {
  let svc: RunningService;
  let mock: MockCounterServer;
  const ids: Record<string, string> = {};

  const requests = (key: string) => mock.requests.filter((r) => r.scenario === key && r.reportId);
  /** Report requests per requested range, from the `since`th on. */
  const askedFor = (key: string, since = 0): Record<string, number> => {
    const counts: Record<string, number> = {};
    for (const { query } of requests(key).slice(since)) {
      const range = `${query.begin_date}..${query.end_date}`;
      counts[range] = (counts[range] ?? 0) + 1;
    }
    return counts;
  };
  const harvest = async (): Promise<void> => {
    await svc.jobs.startTenantJob('diku');
    await waitForJobs(svc, 240_000);
  };
  const latestJob = async (id: string): Promise<Rec> => {
    const res = await call(svc, 'GET', `/erm-usage-harvester/jobs?providerId=${id}`);
    return res.json.jobInfos[0];
  };
  const failedMonths = async (key: string) =>
    (await reportsOf(svc, ids[key])).map((r) => ({
      yearMonth: r.yearMonth,
      failedAttempts: r.failedAttempts,
      state: r.harvestState?.state,
      reason: r.failedReason,
    }));

  before(async () => {
    mock = await startMockCounterServer();
    svc = await startOn('pglite', undefined, {
      config: { harvest: testHarvest({ maxDeferrals: 2 }) },
    });
    const add = async (key: string, reports: string[]) =>
      (ids[key] = await addProvider(svc, {
        label: key,
        serviceUrl: `${mock.url}/${key}`,
        release: '5.1',
        reports,
        start: '2022-01',
        end: '2022-02',
      }));
    await add(`${HUGE}-a`, ['TR']);
    await add('ok-b', ['PR']);
  });
  after(async () => {
    await svc?.close();
    await mock?.close();
  });

  it('a spill that cannot be written: the same request deferred, then an uncounted failure naming the storage', async () => {
    const undo = failFs('mkdtemp', (path) => path.includes('counter-split-'), 'ENOSPC');
    try {
      await harvest();
    } finally {
      undo();
    }
    assert.deepEqual(askedFor(`${HUGE}-a`), EACH_MONTH_THREE_TIMES);
    const months = await failedMonths(`${HUGE}-a`);
    assert.deepEqual(
      months.map((m) => [m.yearMonth, m.failedAttempts, m.state]),
      [
        ['2022-01', 1, 'deferred_timeout'],
        ['2022-02', 1, 'deferred_timeout'],
      ],
    );
    for (const m of months) {
      assert.match(
        m.reason,
        /^Local storage error: the harvester's temporary storage failed creating a spill directory in .+: ENOSPC/,
      );
      assert.doesNotMatch(m.reason, /Report not valid/);
    }
    // The other provider, whose answers are small, is harvested as usual.
    const ok = await reportsOf(svc, ids['ok-b']);
    assert.deepEqual(
      ok.map((r) => [r.yearMonth, r.failedAttempts]),
      [
        ['2022-01', undefined],
        ['2022-02', undefined],
      ],
    );
  });

  it('a spilled month that cannot be read back while stored: deferred again, still not counted', async () => {
    const before = requests(`${HUGE}-a`).length;
    const undo = failFs('open', (path, flags) => path.endsWith('.jsonl') && flags === 'r', 'EIO');
    try {
      await harvest();
    } finally {
      undo();
    }
    assert.deepEqual(askedFor(`${HUGE}-a`, before), EACH_MONTH_THREE_TIMES, 'the months asked for again');
    const months = await failedMonths(`${HUGE}-a`);
    assert.deepEqual(
      months.map((m) => [m.yearMonth, m.failedAttempts, m.state]),
      [
        ['2022-01', 1, 'deferred_timeout'],
        ['2022-02', 1, 'deferred_timeout'],
      ],
      'a counted failure would be at 2 now',
    );
    for (const m of months) assert.match(m.reason, /^Local storage error: .* failed reading .+\.jsonl: EIO/);
    const job = await latestJob(ids[`${HUGE}-a`]);
    assert.deepEqual(
      [job.result, job.report.deferred, job.report.stored],
      ['success', 4, 0],
      JSON.stringify(job),
    );
  });

  it('once the disk works again the months are stored', async () => {
    await harvest();
    const stored = await reportsOf(svc, ids[`${HUGE}-a`]);
    assert.deepEqual(
      stored.map((r) => [r.yearMonth, r.failedAttempts, r.failedReason]),
      [
        ['2022-01', undefined, undefined],
        ['2022-02', undefined, undefined],
      ],
    );
  });
});
