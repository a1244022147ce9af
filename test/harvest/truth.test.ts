/**
 * Harvest truth through the mock COUNTER server (mock/truth.ts): the layout of the data, not the
 * configured release, decides how a response is read and which release the stored month carries;
 * every Celus corpus file that holds usage (test/fixtures/celus) is stored with that usage under both
 * configured releases; months outside the request are not stored but noted on the job and the month;
 * a month stored under the other 5.x release is found (not doubled, not requested again).
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { splitReport, type SplitReport } from '../../src/counter/index.ts';
import type { RunningService } from '../../src/server.ts';
import { startMockCounterServer, type MockCounterServer } from '../../mock/counter-server.ts';
import { call, startOn, testHarvest } from '../helpers/service.ts';
import { addProvider, reportsOf, waitForJobs } from '../helpers/harvest.ts';

const CELUS = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'celus');

/** The corpus files with usage (test/counter/celus-corpus.test.ts says which files are which). */
const USAGE_FILES = [
  '5_TR_ProQuestEbookCentral.json',
  '5_TR_with_warning.json',
  'C5_PR_test.json',
  'counter5_tr_nature.json',
  'counter5_tr_test1.json',
  'counter5_tr_test1_wrong_id.json',
  'dr-extra-ids.json',
  'null-in-Item_ID.json',
  'partial_data1.json',
  'partial_data2.json',
  'partial_data3.json',
  'some_data_3050.json',
  'some_data_3062.json',
];

async function splitFile(file: string): Promise<SplitReport> {
  const split = await splitReport(JSON.parse(readFileSync(join(CELUS, file), 'utf8')), '5');
  assert.equal(split.kind, 'report', file);
  return split;
}

describe('harvest truth: release by layout, requested months only (mock/truth.ts)', () => {
  let svc: RunningService;
  let mock: MockCounterServer;
  const celus: Array<{ file: string; release: string; id: string; split: SplitReport }> = [];
  const ids: Record<string, string> = {};

  before(async () => {
    mock = await startMockCounterServer();
    svc = await startOn('pglite', undefined, {
      config: { harvest: testHarvest({ requestConcurrency: 6, singleMonthReports: [] }) },
    });
    for (const file of USAGE_FILES) {
      const split = await splitFile(file);
      const report = split.reportId === 'TR_J1' ? 'TR' : (split.reportId ?? 'TR');
      for (const release of ['5', '5.1']) {
        const key = `file:celus:${file.replaceAll('-', '~')}-${release}`;
        const id = await addProvider(svc, {
          label: `${file} as ${release}`,
          serviceUrl: `${mock.url}/${key}`,
          release,
          reports: [report],
          start: split.yearMonths[0],
          end: split.yearMonths[split.yearMonths.length - 1],
        });
        celus.push({ file, release, id, split });
      }
    }
    const layoutCases: Array<[string, string]> = [
      ['layout:5-a', '5.1'],
      ['layout:5.1-a', '5'],
      ['layout:5:camel-a', '5.1'],
      ['layout:5.1:camel-a', '5'],
      ['outside:1:2-a', '5.1'],
      ['layout:none-a', '5.1'],
    ];
    for (const [key, release] of layoutCases)
      ids[key] = await addProvider(svc, {
        label: key,
        serviceUrl: `${mock.url}/${key}`,
        release,
        reports: ['PR'],
        start: '2022-01',
        end: '2022-03',
      });
    await svc.jobs.startTenantJob('diku');
    await waitForJobs(svc, 180_000);
  });
  after(async () => {
    await svc?.close();
    await mock?.close();
  });

  it('every Celus file with usage: each month stored with the usage the file holds, under both configured releases', async () => {
    for (const { file, release, id, split } of celus) {
      const records = await reportsOf(svc, id);
      const what = `${file} configured ${release}`;
      assert.deepEqual(
        records.map((r) => r.yearMonth),
        split.yearMonths,
        `${what}: one record per month of the file`,
      );
      let withUsage = 0;
      for (const record of records) {
        const facts = split.monthFacts(record.yearMonth);
        assert.equal(record.failedAttempts, undefined, `${what} ${record.yearMonth} not failed`);
        assert.equal(record.release, '5', `${what}: the release of the data (5.0 layout)`);
        assert.equal(record.itemCount, facts?.itemCount ?? 0, `${what} ${record.yearMonth} itemCount`);
        assert.deepEqual(record.usageTotals, facts?.totals ?? {}, `${what} ${record.yearMonth} totals`);
        assert.match(record.contentHash, /^[0-9a-f]{64}$/);
        if (release === '5.1') {
          assert.equal(record.harvestState?.configuredRelease, '5.1', `${what}: configured release kept`);
          assert.match(record.harvestState?.note, /5\.0 layout.*configured for 5\.1/);
        } else assert.equal(record.harvestState?.configuredRelease, undefined);
        if ((record.itemCount ?? 0) > 0) withUsage += 1;
      }
      assert.ok(withUsage > 0, `${what}: the usage is stored, not an empty month`);
    }
  });

  it('5.0 layout from a provider configured 5.1, and 5.1 layout from one configured 5.0 (also camelCase keys): stored as the data is', async () => {
    for (const [key, configured, data] of [
      ['layout:5-a', '5.1', '5'],
      ['layout:5.1-a', '5', '5.1'],
      ['layout:5:camel-a', '5.1', '5'],
      ['layout:5.1:camel-a', '5', '5.1'],
    ]) {
      const records = await reportsOf(svc, ids[key]);
      assert.equal(records.length, 3, key);
      for (const r of records) {
        assert.equal(r.release, data, `${key}: release of the data`);
        const header = r.report.Report_Header ?? r.report.reportHeader;
        assert.equal(header.Release ?? header.release, data === '5' ? '5' : '5.1');
        assert.equal(r.harvestState.configuredRelease, configured);
        assert.ok(r.itemCount > 0, `${key} ${r.yearMonth}: usage stored`);
        assert.ok(Object.values(r.usageTotals as Record<string, number>).some((n) => n > 0));
      }
    }
  });

  it('items in neither layout: the months fail with a reason naming the configured release and what the items hold', async () => {
    const records = await reportsOf(svc, ids['layout:none-a']);
    assert.equal(records.length, 3, 'a range split into months, each failed');
    for (const r of records) {
      assert.equal(r.failedAttempts, 1);
      assert.match(r.failedReason, /configured release 5\.1.*neither layout.*Usage/);
      assert.equal(r.itemCount, undefined, 'not stored as an empty month');
    }
  });

  it('months outside the request: only the requested months stored; the others noted on the job and the months', async () => {
    const records = await reportsOf(svc, ids['outside:1:2-a']);
    assert.deepEqual(
      records.map((r) => r.yearMonth),
      ['2022-01', '2022-02', '2022-03'],
    );
    for (const r of records) {
      assert.deepEqual(r.harvestState.monthsOutsideRequest, ['2021-12', '2022-04', '2022-05']);
      assert.ok(r.itemCount > 0);
    }
    const res = await call(svc, 'GET', `/erm-usage-harvester/jobs?providerId=${ids['outside:1:2-a']}`);
    const job = res.json.jobInfos[0];
    assert.equal(job.result, 'success');
    assert.equal(job.message, undefined, 'one field for notes: `notes`');
    assert.equal(job.notes.length, 1);
    assert.match(job.notes[0], /also sent 2021-12, 2022-04, 2022-05, not requested and not stored/);
  });

  it('a month stored under the other 5.x release counts as done: a second run requests nothing and doubles nothing', async () => {
    const key = 'layout:5-a';
    const before = mock.requestsFor(key).filter((r) => r.reportId).length;
    await svc.jobs.startProviderJob('diku', ids[key]);
    await waitForJobs(svc, 60_000);
    assert.equal(mock.requestsFor(key).filter((r) => r.reportId).length, before);
    assert.equal((await reportsOf(svc, ids[key])).length, 3);
  });
});
