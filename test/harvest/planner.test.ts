/** The planner: harvest window, done months (on the real store), range collapsing (folio-contract §7.3, §7.4, §9.3). */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import {
  collapseRanges,
  expandItem,
  harvestWindow,
  isMonthDone,
  lastCompleteMonth,
  missingMonths,
  planWorkItems,
  PlanError,
} from '../../src/harvest/planner.ts';
import type { WorkItem } from '../../src/store/sql/work-items.ts';
import { cqlQuote } from '../../src/cql/index.ts';
import { upsertLookupCql } from '../../src/harvest/cql-terms.ts';
import type { UsageDataProvider } from '../../src/model/records.ts';
import type { RunningService } from '../../src/server.ts';
import { startOn } from '../helpers/service.ts';

const udp = (cfg: Record<string, unknown>): UsageDataProvider => ({
  id: '7b9a9e0e-0000-4000-8000-000000000001',
  label: 'P',
  status: 'active',
  harvestingConfig: { harvestingStatus: 'active', reportRelease: '4', requestedReports: ['JR1'], ...cfg },
});

const ms = (iso: string) => Date.parse(iso);
const range = (items: WorkItem[]) => items.map((i) => `${i.reportName} ${i.begin}..${i.end}`);

describe('harvest window', () => {
  it('never includes the current month and caps harvestingEnd at last month', () => {
    assert.equal(lastCompleteMonth(ms('2024-05-15T00:00:00Z')), '2024-04');
    assert.equal(lastCompleteMonth(ms('2024-01-01T00:00:00Z')), '2023-12');
    const w = harvestWindow(udp({ harvestingStart: '2023-11' }), ms('2024-05-15T00:00:00Z'));
    assert.deepEqual([w[0], w.at(-1), w.length], ['2023-11', '2024-04', 6]);
    for (const end of ['2030-01', '', undefined]) {
      const capped = harvestWindow(
        udp({ harvestingStart: '2024-01', harvestingEnd: end }),
        ms('2024-05-15T00:00:00Z'),
      );
      assert.equal(capped.at(-1), '2024-04', String(end));
    }
  });
  it('counts months, accepts yyyy-MM-dd, gives none when start is after end', () => {
    const now = ms('2026-01-10T00:00:00Z');
    assert.equal(
      harvestWindow(udp({ harvestingStart: '2018-01', harvestingEnd: '2019-06' }), now).length,
      18,
    );
    assert.deepEqual(harvestWindow(udp({ harvestingStart: '2018-01-15', harvestingEnd: '2018-01' }), now), [
      '2018-01',
    ]);
    assert.deepEqual(harvestWindow(udp({ harvestingStart: '2019-01', harvestingEnd: '2018-01' }), now), []);
  });
  it('rejects a missing or invalid start with a clear message', () => {
    assert.throws(
      () => harvestWindow(udp({}), Date.now()),
      (e: Error) => e instanceof PlanError && e.message === 'harvestingStart is missing',
    );
    assert.throws(
      () => harvestWindow(udp({ harvestingStart: 'soon' }), Date.now()),
      /harvestingStart is not a month/,
    );
  });
});

describe('range collapsing', () => {
  const months = (report: string, list: string[]) => list.map((month) => ({ reportName: report, month }));
  const span = (from: string, to: string) => {
    const out: string[] = [];
    for (
      let y = Number(from.slice(0, 4)), m = Number(from.slice(5));
      `${y}-${String(m).padStart(2, '0')}` <= to;
      m === 12 ? (y++, (m = 1)) : m++
    )
      out.push(`${y}-${String(m).padStart(2, '0')}`);
    return out;
  };
  it('merges consecutive months into ranges of at most 12, a gap starts a new range', () => {
    assert.deepEqual(range(collapseRanges(months('JR1', ['2019-12', '2020-01', '2020-02']))), [
      'JR1 2019-12..2020-02',
    ]);
    assert.deepEqual(range(collapseRanges(months('JR1', span('2018-01', '2021-04')))), [
      'JR1 2018-01..2018-12',
      'JR1 2019-01..2019-12',
      'JR1 2020-01..2020-12',
      'JR1 2021-01..2021-04',
    ]);
    assert.deepEqual(range(collapseRanges(months('JR1', ['2019-03', '2019-04', '2019-07']))), [
      'JR1 2019-03..2019-04',
      'JR1 2019-07..2019-07',
    ]);
  });
  it('keeps TR single-month (case-insensitively) and removes duplicates', () => {
    assert.equal(collapseRanges(months('TR', ['2019-12', '2020-01', '2020-02'])).length, 3);
    assert.equal(collapseRanges(months('tr', ['2019-12', '2020-01'])).length, 2);
    assert.equal(
      collapseRanges(months('IR', ['2019-12', '2020-01']), { singleMonthReports: ['TR', 'IR'] }).length,
      2,
    );
    assert.deepEqual(range(collapseRanges(months('JR1', ['2020-01', '2020-01', '2020-02']))), [
      'JR1 2020-01..2020-02',
    ]);
  });
  it('collapse then expand returns the distinct input months', () => {
    const input = span('2017-06', '2019-09');
    const expanded = collapseRanges(months('DR', input))
      .flatMap(expandItem)
      .map((i) => i.begin);
    assert.deepEqual(expanded, input);
  });
});

describe('CQL of the harvester', () => {
  it('quotes and escapes every term', () => {
    assert.equal(cqlQuote('JR1 GOA'), '"JR1 GOA"');
    assert.equal(cqlQuote('a"b*c?d\\e^f'), '"a\\"b\\*c\\?d\\\\e\\^f"');
    assert.equal(
      upsertLookupCql('P', '5.1', 'TR', '2018-04'),
      'providerId=="P" AND (release=="5" OR release=="5.1") AND reportName=="TR" AND yearMonth=="2018-04"',
    );
  });
});

describe('done months on the real store', () => {
  let svc: RunningService;
  const P = '11111111-1111-4111-8111-111111111111';
  before(async () => {
    svc = await startOn('pglite', undefined);
    await svc.store.create('diku', 'usage-data-providers', {
      id: P,
      label: 'Planner provider',
      status: 'active',
      harvestingConfig: {
        harvestingStatus: 'active',
        harvestVia: 'sushi',
        reportRelease: '4',
        requestedReports: ['JR1', 'JR2', 'JR3'],
      },
    });
    const rec = (reportName: string, yearMonth: string, extra: Record<string, unknown> = {}) =>
      svc.store.create('diku', 'counter-reports', {
        providerId: P,
        release: '4',
        reportName,
        yearMonth,
        downloadTime: '2024-01-01T00:00:00Z',
        ...(extra.failedAttempts ? {} : { report: { month: yearMonth } }),
        ...extra,
      });
    for (const r of ['JR1', 'JR2', 'JR3']) for (const m of ['2017-12', '2018-01', '2018-02']) await rec(r, m);
    await rec('JR1 GOA', '2018-01', { failedAttempts: 3, failedReason: 'x' });
    await rec('JR1 GOA', '2018-02', { failedAttempts: 10, failedReason: 'x' });
    await rec('JR1 GOA', '2018-03', { failedAttempts: 2, failedReason: 'x' });
  });
  after(async () => {
    await svc.close();
  });

  it('gives exactly one item per report for the one missing month (folio-contract §7.3 example)', async () => {
    const provider = await svc.store.getProvider('diku', P);
    provider.harvestingConfig = {
      ...provider.harvestingConfig,
      harvestingStart: '2017-12',
      harvestingEnd: '2018-03',
    };
    const items = await planWorkItems(svc.store, 'diku', provider, {
      maxFailedAttempts: 5,
      now: ms('2024-05-01T00:00:00Z'),
    });
    assert.deepEqual(range(items), ['JR1 2018-03..2018-03', 'JR2 2018-03..2018-03', 'JR3 2018-03..2018-03']);
  });

  it('compares failedAttempts numerically against max_failed_attempts', async () => {
    const provider = await svc.store.getProvider('diku', P);
    provider.harvestingConfig = {
      ...provider.harvestingConfig,
      requestedReports: ['JR1 GOA'],
      harvestingStart: '2018-01',
      harvestingEnd: '2018-03',
    };
    const now = ms('2024-05-01T00:00:00Z');
    const with3 = await missingMonths(svc.store, 'diku', provider, { maxFailedAttempts: 3, now });
    assert.deepEqual(
      with3.map((m) => m.month),
      ['2018-03'],
      'attempts 3 and 10 are given up at max 3; 2 is retried',
    );
    const with12 = await missingMonths(svc.store, 'diku', provider, { maxFailedAttempts: 12, now });
    assert.deepEqual(
      with12.map((m) => m.month),
      ['2018-01', '2018-02', '2018-03'],
      '10 < 12 numerically',
    );
  });

  it('skips an uncounted not-ready month until its re-check time', () => {
    const base = {
      downloadTime: 'x',
      release: '5',
      reportName: 'TR',
      yearMonth: '2024-01',
      failedAttempts: 1,
      failedReason: '"Code": 3031',
    };
    const now = ms('2024-03-01T00:00:00Z');
    assert.equal(
      isMonthDone(
        { ...base, harvestState: { state: 'not_ready', nextCheckAfter: '2024-03-02T00:00:00.000+00:00' } },
        5,
        now,
      ),
      true,
    );
    assert.equal(
      isMonthDone(
        { ...base, harvestState: { state: 'not_ready', nextCheckAfter: '2024-02-28T00:00:00.000+00:00' } },
        5,
        now,
      ),
      false,
    );
    assert.equal(isMonthDone(base, 5, now), false);
    assert.equal(isMonthDone({ ...base, failedAttempts: undefined }, 5, now), true);
  });
});
