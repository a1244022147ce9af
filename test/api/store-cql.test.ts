/**
 * folio-contract §9.5 checklist item 141, store part: the CQL cases S1–S24 of §5.8 through the HTTP API (`GET …?query=`) on real
 * records, on PGlite and PostgreSQL. Provider statistics are produced by real counter reports (the store
 * replaces client-sent values), in tenant `diku`; the counter report fixtures R1–R8 live in tenant `reports`
 * so that tenant-wide queries see exactly them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningService } from '../../src/server.ts';
import { backends, call } from '../helpers/service.ts';
import { create, report, startStore } from '../helpers/store.ts';

const P = '11111111-1111-4111-8111-111111111111';
const Q = '22222222-2222-4222-8222-222222222222';

function provider(label: string, active: boolean, extra: Record<string, unknown> = {}) {
  return {
    label,
    status: active ? 'active' : 'inactive',
    harvestingConfig: { harvestingStatus: active ? 'active' : 'inactive', harvestVia: 'sushi' },
    ...extra,
  };
}

const REPORTS: Record<string, Record<string, unknown>> = {
  R1: { release: '5', reportName: 'TR', yearMonth: '2018-01' },
  R2: { release: '5', reportName: 'TR', yearMonth: '2018-02', failedAttempts: 2 },
  R3: { release: '5', reportName: 'TR', yearMonth: '2018-03', failedAttempts: 5 },
  R4: { release: '5.1', reportName: 'TR', yearMonth: '2018-04' },
  R5: { release: '4', reportName: 'JR1 GOA', yearMonth: '2018-05' },
  R6: { release: '5', reportName: 'TR', yearMonth: '2019-01' },
  R7: { release: '5', reportName: 'tr', yearMonth: '2018-06', failedAttempts: 10 },
  R8: { providerId: Q, release: '5', reportName: 'TR', yearMonth: '2018-01' },
};

const UDP_CASES: [string, string, string[]][] = [
  ['S1', '(harvestingConfig.harvestingStatus=active)', ['U1']],
  ['S2', 'harvestingConfig.harvestingStatus=="active" sortby id', ['U1']],
  ['S13', '(status="active") sortby label', ['U2', 'U1']],
  ['S14', '(((keywords all "spring*")) and status="active") sortby label', ['U1']],
  ['S15', '(harvestingConfig.aggregator.name="Nationaler Statistikserver") sortby label', ['U2']],
  ['S16', '(reportErrorCodes=("3030" or "other")) sortby label', ['U1']],
  ['S17', '(reportReleases="5") sortby label', ['U1']],
  ['S18', '(hasFailedReport="yes") sortby label', ['U1']],
  ['S19', '(cql.allRecords=1) sortby latestReport/sort.descending', ['U3', 'U4', 'U5', 'U6', 'U1', 'U2']],
  ['S20', 'label=="A\\*"', ['U3']],
  ['S21', 'label=="spr*"', ['U1']],
  ['S22', 'label=="100%"', ['U4']],
];

const REPORT_CASES: [string, string, string[]][] = [
  [
    'S3',
    `(providerId=${P} AND release=5 AND ((cql.allRecords=1 NOT failedAttempts="") OR (failedAttempts>=5)) AND reportName==TR AND yearMonth>=2018-01 AND yearMonth<=2018-12)`,
    ['R1', 'R3'],
  ],
  [
    'S4',
    `providerId=="${P}" AND release=="5" AND reportName=="TR" AND yearMonth>="2018-01" AND yearMonth<="2018-12" AND (cql.allRecords=1 NOT failedAttempts="" OR failedAttempts>=/number 5)`,
    ['R1', 'R3', 'R7'],
  ],
  [
    'S5',
    `(providerId=${P} AND release=4 AND ((cql.allRecords=1 NOT failedAttempts="") OR (failedAttempts>=5)) AND reportName==JR1 GOA AND yearMonth>=2018-01 AND yearMonth<=2018-12)`,
    ['R5'],
  ],
  ['S6', `(providerId=${P} AND release=5 AND yearMonth=2018-02 AND reportName==TR)`, ['R2']],
  ['S7', `providerId=="${P}" AND release=="5.1" AND reportName=="TR" AND yearMonth=="2018-04"`, ['R4']],
  ['S8', 'release=5', ['R1', 'R2', 'R3', 'R6', 'R7', 'R8']],
  ['S9', 'release=5.1', ['R4']],
  ['S10', 'reportName==tr AND yearMonth==2018-01', ['R1', 'R8']],
  ['S11', 'reportName==JR1', []],
  ['S12', 'reportName=JR1', ['R5']],
  ['S23', 'failedAttempts=""', ['R2', 'R3', 'R7']],
  ['S24', 'cql.allRecords=1 NOT failedAttempts=""', ['R1', 'R4', 'R5', 'R6', 'R8']],
];

for (const backend of backends()) {
  describe(`store: CQL cases S1–S24 over HTTP (${backend.name})`, () => {
    let svc: RunningService;
    const udpNames = new Map<string, string>();
    const reportNames = new Map<string, string>();

    before(async () => {
      svc = await startStore(backend, ['diku', 'reports']);
      const agg = await create(svc, '/aggregator-settings', {
        label: 'Nationaler Statistikserver',
        serviceType: 'NSS',
        serviceUrl: 'https://stats.example.org',
        accountConfig: { configType: 'Manual' },
      });
      const udps: Record<string, Record<string, unknown>> = {
        U1: provider('Springer Nature', true),
        U2: provider('ACM', true, {
          harvestingConfig: {
            harvestingStatus: 'inactive',
            harvestVia: 'aggregator',
            aggregator: { id: agg.id },
          },
        }),
        U3: provider('A*', false),
        U4: provider('100%', false),
        U5: provider('AB', false),
        U6: provider('1000', false),
      };
      const ids: Record<string, string> = {};
      for (const [name, body] of Object.entries(udps)) {
        ids[name] = (await create(svc, '/usage-data-providers', body)).id;
        udpNames.set(ids[name], name);
      }
      // Statistics: U1 releases 5 and 5.1, codes 3030 and other; U2 release 5.1 only, no failures.
      await create(svc, '/counter-reports', report(ids.U1, '2020-01'));
      await create(
        svc,
        '/counter-reports',
        report(ids.U1, '2020-02', {
          release: '5.1',
          failedAttempts: 1,
          failedReason: 'Exception{Number=3030, Severity=WARNING}',
        }),
      );
      await create(
        svc,
        '/counter-reports',
        report(ids.U1, '2020-03', { release: '5.1', failedAttempts: 1, failedReason: 'Connection refused' }),
      );
      await create(svc, '/counter-reports', report(ids.U2, '2019-05', { release: '5.1' }));
      for (const [name, body] of Object.entries(REPORTS)) {
        const res = await call(svc, 'POST', '/counter-reports', {
          tenant: 'reports',
          body: { providerId: P, downloadTime: '2024-02-01T10:00:00.000+00:00', ...body },
        });
        assert.equal(res.status, 201, res.text);
        reportNames.set(res.json.id, name);
      }
    });
    after(async () => {
      await svc.close();
    });

    it('the fixtures have the statistics the cases rely on', async () => {
      const res = await call(
        svc,
        'GET',
        '/usage-data-providers?query=' + encodeURIComponent('label=="Springer Nature"'),
      );
      const u1 = res.json.usageDataProviders[0];
      assert.deepEqual(u1.reportReleases, ['5', '5.1']);
      assert.deepEqual(u1.reportErrorCodes, ['3030', 'other']);
      assert.equal(u1.hasFailedReport, 'yes');
    });

    for (const [name, cql, expected] of UDP_CASES) {
      it(`${name}: ${cql}`, async () => {
        const res = await call(
          svc,
          'GET',
          `/usage-data-providers?query=${encodeURIComponent(cql)}&limit=100`,
        );
        assert.equal(res.status, 200, res.text);
        assert.deepEqual(
          res.json.usageDataProviders.map((u: any) => udpNames.get(u.id)),
          expected,
        );
        assert.equal(res.json.totalRecords, expected.length);
      });
    }

    for (const [name, cql, expected] of REPORT_CASES) {
      it(`${name}: ${cql}`, async () => {
        // The harvester's form: tiny, form-encoded with '+' for spaces, order=asc.
        const qs = new URLSearchParams({
          query: cql,
          tiny: 'true',
          order: 'asc',
          offset: '0',
          limit: '2147483647',
        });
        const res = await call(svc, 'GET', `/counter-reports?${qs.toString()}`, { tenant: 'reports' });
        assert.equal(res.status, 200, res.text);
        assert.deepEqual(
          res.json.counterReports.map((r: any) => reportNames.get(r.id)),
          expected,
        );
        assert.equal(res.json.totalRecords, expected.length);
      });
    }

    it('the other tenant sees none of the fixtures of this one', async () => {
      const res = await call(svc, 'GET', '/counter-reports?query=' + encodeURIComponent('release=5'));
      assert.equal(
        res.json.counterReports.some((r: any) => reportNames.has(r.id)),
        false,
      );
    });
  });
}
