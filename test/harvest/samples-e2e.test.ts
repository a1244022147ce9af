/**
 * For each of the 32 official samples (16 of 5.1, 16 of 5.0): a harvest through the mock COUNTER server
 * stores exactly one record per month of the requested window, and for every month and Metric_Type the
 * sum of counts equals the sample's.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import type { RunningService } from '../../src/server.ts';
import {
  MOCK_REPORT_IDS,
  okExpectedSums,
  startMockCounterServer,
  sumCounts,
  type MockCounterServer,
} from '../../mock/counter-server.ts';
import { startOn, testHarvest } from '../helpers/service.ts';
import { addProvider, reportsOf, waitForJobs } from '../helpers/harvest.ts';

const WINDOWS = { '5.1': ['2022-01', '2022-12'], '5': ['2016-01', '2016-03'] } as const;

describe('harvest of the 32 official samples through the mock', () => {
  let svc: RunningService;
  let mock: MockCounterServer;
  const providers: { release: '5' | '5.1'; id: string; providerId: string }[] = [];

  before(async () => {
    mock = await startMockCounterServer();
    svc = await startOn('pglite', undefined, {
      config: { harvest: testHarvest({ enableStandardViews: true, requestConcurrency: 8 }) },
    });
    for (const release of ['5.1', '5'] as const)
      for (const id of MOCK_REPORT_IDS) {
        const [start, end] = WINDOWS[release];
        const providerId = await addProvider(svc, {
          label: `${release} ${id}`,
          serviceUrl: `${mock.url}/ok-${release.replace('.', '')}${id}`,
          release,
          reports: [id.toUpperCase()],
          start,
          end,
        });
        providers.push({ release, id, providerId });
      }
    await svc.jobs.startTenantJob('diku');
    await waitForJobs(svc, 240_000);
  });
  after(async () => {
    await svc?.close();
    await mock?.close();
  });

  it('covers 32 samples', () => {
    assert.equal(providers.length, 32);
  });

  for (const release of ['5.1', '5'] as const)
    for (const id of MOCK_REPORT_IDS) {
      it(`${release} ${id.toUpperCase()}: one record per month, per-month metric sums equal the sample's`, async () => {
        const p = providers.find((x) => x.release === release && x.id === id)!;
        const [start, end] = WINDOWS[release];
        const records = await reportsOf(svc, p.providerId);
        const expected = okExpectedSums(release, id, start, end);
        const months = records.map((r) => r.yearMonth as string);
        assert.equal(new Set(months).size, months.length, 'no duplicate months');
        const window: string[] = [];
        for (let m: string = start; m <= end; m = nextMonth(m)) window.push(m);
        assert.deepEqual(months.sort(), window);
        for (const r of records) {
          assert.equal(r.failedAttempts, undefined, `${r.yearMonth}: ${String(r.failedReason)}`);
          assert.equal(r.release, release);
          assert.equal(r.reportName, id.toUpperCase());
          const got = sumCounts((r.report as { Report_Items: unknown[] }).Report_Items);
          const want = expected.get(r.yearMonth as string) ?? new Map();
          assert.deepEqual(
            Object.fromEntries(got.get(r.yearMonth as string) ?? new Map()),
            Object.fromEntries(want),
            `${r.yearMonth}`,
          );
          // The record says what it holds without reading the report: totals per metric, item count.
          assert.deepEqual(r.usageTotals ?? {}, Object.fromEntries(want), `${r.yearMonth}: usageTotals`);
          assert.equal(
            r.itemCount === 0,
            want.size === 0,
            `${r.yearMonth}: itemCount ${String(r.itemCount)}`,
          );
          assert.ok(Array.isArray(r.diagnostics), `${r.yearMonth}: diagnostics kept`);
        }
      });
    }
});

function nextMonth(m: string): string {
  const [y, mo] = m.split('-').map(Number);
  return mo === 12 ? `${y + 1}-01` : `${y}-${String(mo + 1).padStart(2, '0')}`;
}
