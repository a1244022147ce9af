/** The ErmStore port of the local store, as the harvesting engine uses it in-process; both backends. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ErmError, lazyJsonReport } from '../../src/erm/port.ts';
import { usageDerivable, usageReports, usageTop, usageTotals } from '../../src/erm/usage.ts';
import { secrets } from '../../src/log.ts';
import type { RunningService } from '../../src/server.ts';
import { backends } from '../helpers/service.ts';
import { startStore } from '../helpers/store.ts';

const UNKNOWN = '6e6190bb-0000-4000-8000-0000000000ff';

async function rejectsWith(promise: Promise<unknown>, status: number, reason: string) {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof ErmError);
    assert.equal(err.status, status);
    assert.equal(err.reason, reason);
    assert.equal(err.message, `Received status code ${status}, ${reason}`);
    return true;
  });
}

for (const backend of backends()) {
  describe(`LocalErmStore port (${backend.name})`, () => {
    let svc: RunningService;
    let providerId: string;
    before(async () => {
      svc = await startStore(backend);
      const created = await svc.store.create('diku', 'usage-data-providers', {
        label: 'Port provider',
        status: 'active',
        harvestingConfig: { harvestingStatus: 'active', harvestVia: 'sushi' },
        sushiCredentials: { apiKey: 'port-api-key-123', requestorId: 'port-requestor-456' },
      });
      providerId = String(created.id);
    });
    after(async () => {
      await svc.close();
    });

    it('getProvider / getAggregator: the record, or ErmError 404 Not Found', async () => {
      const p = await svc.store.getProvider('diku', providerId);
      assert.equal(p.label, 'Port provider');
      assert.ok([...secrets].includes('port-api-key-123'), 'credentials registered for log scrubbing');
      await rejectsWith(svc.store.getProvider('diku', UNKNOWN), 404, 'Not Found');
      await rejectsWith(svc.store.getProvider('diku', 'abc'), 404, 'Not Found');
      await rejectsWith(svc.store.getAggregator('diku', UNKNOWN), 404, 'Not Found');
    });

    it('putProvider stores harvestingDate; findProviders pages with totalRecords', async () => {
      const p = await svc.store.getProvider('diku', providerId);
      await svc.store.putProvider('diku', { ...p, harvestingDate: '2020-01-22T13:26:40.687+0000' });
      assert.equal(
        (await svc.store.getProvider('diku', providerId)).harvestingDate,
        '2020-01-22T13:26:40.687+00:00',
      );
      const page = await svc.store.findProviders(
        'diku',
        'harvestingConfig.harvestingStatus=="active" sortby id',
        0,
        1000,
      );
      assert.equal(page.totalRecords, 1);
      assert.deepEqual(
        page.records.map((r) => r.id),
        [providerId],
      );
      await rejectsWith(svc.store.findProviders('diku', 'label==', 0, 10), 422, 'Unprocessable Entity');
      await rejectsWith(svc.store.putProvider('diku', { ...p, id: UNKNOWN }), 404, 'Not Found');
    });

    it('setHarvestingDate: the date and metadata.updatedDate in place, the rest as stored', async () => {
      // An edit made after a job loaded the provider is not undone by the job's harvestingDate.
      await svc.store.putProvider('diku', {
        ...(await svc.store.getProvider('diku', providerId)),
        label: 'Edited',
      });
      const edited = await svc.store.read('diku', 'usage-data-providers', providerId);
      await svc.store.setHarvestingDate('diku', providerId.toUpperCase(), '2026-12-07T10:00:00.000+00:00');
      const after = await svc.store.read('diku', 'usage-data-providers', providerId);
      assert.equal(after.harvestingDate, '2026-12-07T10:00:00.000+00:00');
      assert.deepEqual(after.metadata, {
        ...(edited.metadata as object),
        updatedDate: '2026-12-07T10:00:00.000+00:00',
      });
      const { harvestingDate: _date, metadata: _meta, ...rest } = after;
      const { harvestingDate: _d, metadata: _m, ...editedRest } = edited;
      assert.deepEqual(rest, editedRest);
      assert.equal(rest.label, 'Edited');
      const p = await svc.store.getProvider('diku', providerId);
      assert.equal(p.sushiCredentials?.apiKey, 'port-api-key-123', 'credentials still readable');
      await rejectsWith(
        svc.store.setHarvestingDate('diku', UNKNOWN, '2026-12-07T10:00:00.000+00:00'),
        404,
        'Not Found',
      );
      await rejectsWith(
        svc.store.setHarvestingDate('diku', 'abc', '2026-12-07T10:00:00.000+00:00'),
        404,
        'Not Found',
      );
    });

    it('postCounterReport / putCounterReport / findCounterReports(tiny) and derived fields', async () => {
      const base = {
        providerId,
        release: '5',
        reportName: 'TR',
        downloadTime: '2024-02-01T10:00:00.000+00:00',
      };
      const id = await svc.store.postCounterReport('diku', {
        ...base,
        yearMonth: '2020-03',
        failedAttempts: 1,
        failedReason: 'Number=3030',
      });
      assert.match(id, /^[0-9a-f-]{36}$/);
      let p = await svc.store.getProvider('diku', providerId);
      assert.deepEqual(p.reportErrorCodes, ['3030']);
      await svc.store.putCounterReport('diku', id, {
        ...base,
        yearMonth: '2020-03',
        report: { Report_Items: [] },
      });
      p = await svc.store.getProvider('diku', providerId);
      assert.equal(p.hasFailedReport, 'no');
      assert.equal(p.latestReport, '2020-03');
      const cql = `providerId=="${providerId}" AND release=="5" AND reportName=="TR" AND yearMonth=="2020-03"`;
      const tiny = await svc.store.findCounterReports('diku', cql, 0, 1, true);
      assert.equal(tiny.totalRecords, 1);
      assert.equal(tiny.records[0].id, id);
      assert.equal('report' in tiny.records[0], false);
      const full = await svc.store.findCounterReports('diku', cql, 0, 1, false);
      assert.deepEqual(full.records[0].report, { Report_Items: [] });
      await rejectsWith(
        svc.store.postCounterReport('diku', { ...base, yearMonth: '2020-03' }),
        422,
        'Unprocessable Entity',
      );
    });

    it('upsertCounterReports: the statistics extended by inserts equal those recomputed over all months; usage rows written', async () => {
      const base = {
        providerId,
        release: '5',
        reportName: 'DR',
        downloadTime: '2024-02-01T10:00:00.000+00:00',
      };
      const month = (yearMonth: string, count: number) => ({
        record: {
          ...base,
          yearMonth,
          report: { Report_Items: [] },
          usageTotals: { Total_Item_Requests: count },
          topItems: {
            Total_Item_Requests: [
              { name: 'A', platform: 'P', identifiers: { ISSN: '1' }, count: count - 1 },
              { name: 'B', platform: 'P', identifiers: {}, count: 1 },
              { name: 'bad', count: 'x' },
            ],
          },
        },
      });
      const stats = async () => {
        const p = await svc.store.getProvider('diku', providerId);
        return Object.fromEntries(
          [
            'latestReport',
            'earliestReport',
            'hasFailedReport',
            'reportErrorCodes',
            'reportTypes',
            'reportReleases',
          ]
            .filter((k) => k in p)
            .map((k) => [k, p[k]]),
        );
      };
      const upsert = svc.store.upsertCounterReports.bind(svc.store);
      // Inserts only: the stored statistics are extended with the new months.
      const ids = await upsert('diku', [
        month('2019-11', 10),
        {
          record: {
            ...base,
            release: '5.1',
            yearMonth: '2019-10',
            failedAttempts: 2,
            failedReason: 'Number=3031',
          },
        },
        month('2021-06', 4),
      ]);
      assert.equal(ids.length, 3);
      const extended = await stats();
      assert.equal(extended.earliestReport, '2019-11');
      assert.equal(extended.latestReport, '2021-06');
      assert.equal(extended.hasFailedReport, 'yes');
      assert.deepEqual(extended.reportReleases, ['5', '5.1']);
      assert.deepEqual(extended.reportTypes, ['DR', 'TR']);
      // The same months recomputed from scratch (a PUT recomputes over all the provider's months).
      const p = await svc.store.getProvider('diku', providerId);
      await svc.store.putProvider('diku', { ...p, latestReport: '1900-01', reportTypes: [] });
      assert.deepEqual(await stats(), extended);
      // A replacement recomputes: the failure replaced by data leaves no failed month behind.
      await upsert('diku', [{ id: ids[1], ...month('2019-10', 3) }]);
      const replaced = await stats();
      assert.equal(replaced.earliestReport, '2019-10');
      assert.equal(replaced.hasFailedReport, 'no');
      assert.deepEqual(replaced.reportErrorCodes, []);
      // Usage rows of all three months, written in one statement; the invalid top item left out.
      const top = await usageTop(svc.ctx.db, 'diku', {
        providerId,
        reportName: 'DR',
        from: '2019-01',
        to: '2021-12',
        metric: 'Total_Item_Requests',
        limit: 5,
      });
      assert.deepEqual(
        top.map((t) => [t.name, t.count, t.months, t.identifiers]),
        [
          ['A', 9 + 3 + 2, 3, { ISSN: '1' }],
          ['B', 3, 3, {}],
        ],
      );
      const totals = await usageTotals(svc.ctx.db, 'diku', {
        providerId,
        reportName: 'DR',
        from: '2019-01',
        to: '2021-12',
      });
      assert.deepEqual(
        totals.map((t) => [t.yearMonth, t.totals.Total_Item_Requests]),
        [
          ['2019-10', 3],
          ['2019-11', 10],
          ['2021-06', 4],
        ],
      );
    });

    it('insertNewMonths: new months, their usage rows and the statistics in one statement; nothing written when one is stored', async () => {
      const created = await svc.store.create('diku', 'usage-data-providers', {
        label: 'Fresh months provider',
        status: 'active',
        harvestingConfig: { harvestingStatus: 'active', harvestVia: 'sushi' },
      });
      const pid = String(created.id);
      const record = (yearMonth: string, count: number) => ({
        providerId: pid,
        release: '5.1',
        reportName: 'PR',
        yearMonth,
        downloadTime: '2024-02-01T10:00:00.000+00:00',
        report: { Report_Header: { Report_ID: 'PR' }, Report_Items: [{ Platform: 'P', n: count }] },
        usageTotals: { Searches_Platform: count },
        topItems: { Searches_Platform: [{ name: 'P', platform: 'P', identifiers: {}, count }] },
        contentHash: `hash-${yearMonth}`,
      });
      const key = (yearMonths: string[]) => ({
        providerId: pid,
        releases: ['5', '5.1'],
        reportNames: ['pr'],
        yearMonths,
      });
      const first = await svc.store.insertNewMonths('diku', key(['2023-01', '2023-02']), [
        record('2023-01', 5),
        record('2023-02', 7),
      ]);
      assert.ok(first && 'ids' in first);
      assert.equal(first.ids.length, 2);
      const stored = await svc.store.read('diku', 'counter-reports', first.ids[1]);
      assert.equal(stored.yearMonth, '2023-02');
      assert.deepEqual(stored.report, record('2023-02', 7).report);
      assert.equal(stored.contentHash, 'hash-2023-02');
      assert.ok((stored.metadata as Record<string, unknown>).createdDate);
      const p = await svc.store.getProvider('diku', pid);
      assert.equal(p.earliestReport, '2023-01');
      assert.equal(p.latestReport, '2023-02');
      assert.deepEqual(p.reportTypes, ['PR']);
      assert.deepEqual(p.reportReleases, ['5.1']);
      assert.equal(p.hasFailedReport, 'no');
      const totals = await usageTotals(svc.ctx.db, 'diku', {
        providerId: pid,
        reportName: 'PR',
        from: '2023-01',
        to: '2023-12',
      });
      assert.deepEqual(
        totals.map((t) => [t.yearMonth, t.totals.Searches_Platform]),
        [
          ['2023-01', 5],
          ['2023-02', 7],
        ],
      );
      // One of the months is stored (under the sibling release's key too): nothing written, the stored
      // months are the answer.
      const again = await svc.store.insertNewMonths('diku', key(['2023-02', '2023-03']), [
        record('2023-02', 9),
        record('2023-03', 9),
      ]);
      assert.ok(again && 'existing' in again);
      assert.deepEqual(
        again.existing.map((r) => [r.id, r.yearMonth, r.report]),
        [[first.ids[1], '2023-02', undefined]],
      );
      const march = await svc.store.findStoredMonths('diku', key(['2023-03']));
      assert.equal(march.length, 0);
      // Several reports at once, their names in any case; another report's months are not among them.
      const both = await svc.store.findStoredMonths('diku', {
        ...key(['2023-01', '2023-02']),
        reportNames: ['Pr', 'TR'],
      });
      assert.deepEqual(both.map((r) => [r.reportName, r.yearMonth]).sort(), [
        ['PR', '2023-01'],
        ['PR', '2023-02'],
      ]);
      assert.equal(
        (await svc.store.findStoredMonths('diku', { ...key(['2023-01']), reportNames: ['DR', 'tr'] })).length,
        0,
      );
      // A month the unique month index refuses (twice in one call): all or none.
      await assert.rejects(
        svc.store.insertNewMonths('diku', key(['2023-04']), [record('2023-04', 1), record('2023-04', 2)]),
      );
      assert.equal((await svc.store.findStoredMonths('diku', key(['2023-04']))).length, 0);
      const after = await usageTotals(svc.ctx.db, 'diku', {
        providerId: pid,
        reportName: 'PR',
        from: '2023-03',
        to: '2023-12',
      });
      assert.deepEqual(after, []);
      assert.equal((await svc.store.getProvider('diku', pid)).latestReport, '2023-02');
      // A record of another provider than the key's is not written so.
      assert.equal(
        await svc.store.insertNewMonths('diku', key(['2023-05']), [
          { ...record('2023-05', 1), providerId: UNKNOWN },
        ]),
        undefined,
      );
    });

    it('a report given as its text (lazyJsonReport) is stored as that text without being parsed, by every write', async () => {
      const created = await svc.store.create('diku', 'usage-data-providers', {
        label: 'Text months provider',
        status: 'active',
        harvestingConfig: { harvestingStatus: 'active', harvestVia: 'sushi' },
      });
      const pid = String(created.id);
      const texts = new Set<string>();
      const reportText = (yearMonth: string, count: number) => {
        const text = JSON.stringify({
          Report_Header: { Report_ID: 'PR', Created: `${yearMonth} "quoted" \u00e9` },
          Report_Items: [{ Platform: 'P', Performance: { Searches_Platform: { [yearMonth]: count } } }],
        });
        texts.add(text);
        return text;
      };
      const record = (yearMonth: string, count: number) => ({
        providerId: pid,
        release: '5.1',
        reportName: 'PR',
        yearMonth,
        downloadTime: '2024-02-01T10:00:00.000+00:00',
        report: lazyJsonReport(reportText(yearMonth, count)),
      });
      // Every JSON.parse of one of the report texts while writing is counted.
      const parse = JSON.parse;
      let parsed = 0;
      JSON.parse = ((text: string, reviver?: Parameters<typeof parse>[1]) => {
        if (texts.has(text)) parsed++;
        return parse(text, reviver);
      }) as typeof JSON.parse;
      let ids: string[];
      try {
        const first = await svc.store.insertNewMonths(
          'diku',
          {
            providerId: pid,
            releases: ['5', '5.1'],
            reportNames: ['PR'],
            yearMonths: ['2023-01', '2023-02'],
          },
          [record('2023-01', 3), record('2023-02', 4)],
        );
        assert.ok(first && 'ids' in first);
        ids = first.ids;
        ids.push(await svc.store.postCounterReport('diku', record('2023-03', 5)));
        await svc.store.putCounterReport('diku', ids[0], { ...record('2023-01', 6), id: ids[0] });
      } finally {
        JSON.parse = parse;
      }
      assert.equal(parsed, 0, 'no report text was parsed to store it');
      for (const [n, [yearMonth, count]] of (
        [
          ['2023-01', 6],
          ['2023-02', 4],
          ['2023-03', 5],
        ] as const
      ).entries()) {
        const stored = await svc.store.read('diku', 'counter-reports', ids[n]);
        assert.deepEqual(stored.report, JSON.parse(reportText(yearMonth, count)), yearMonth);
      }
    });

    it('insertNewMonths at the same time as other writes of the provider: the statistics equal those recomputed', async () => {
      const created = await svc.store.create('diku', 'usage-data-providers', {
        label: 'Parallel fresh months provider',
        status: 'active',
        harvestingConfig: { harvestingStatus: 'active', harvestVia: 'sushi' },
      });
      const pid = String(created.id);
      const record = (reportName: string, yearMonth: string, failed = false) => ({
        providerId: pid,
        release: '5',
        reportName,
        yearMonth,
        downloadTime: '2024-02-01T10:00:00.000+00:00',
        ...(failed
          ? { failedAttempts: 1, failedReason: `Number=30${yearMonth.slice(-2)}` }
          : { report: { Report_Items: [] } }),
      });
      const months = (year: number) =>
        Array.from({ length: 12 }, (_, i) => `${year}-${String(i + 1).padStart(2, '0')}`);
      await Promise.all([
        // Responses of a harvest (extend the statistics) …
        ...[2015, 2016, 2017, 2018].map((year, i) =>
          svc.store.insertNewMonths(
            'diku',
            { providerId: pid, releases: ['5'], reportNames: ['TR'], yearMonths: months(year) },
            months(year).map((ym, m) => record('TR', ym, i === 3 && m === 5)),
          ),
        ),
        // … while single months are written and one is deleted (recompute them).
        ...months(2014).map((ym) => svc.store.postCounterReport('diku', record('DR', ym))),
        svc.store
          .postCounterReport('diku', record('PR', '2013-01'))
          .then((id) => svc.store.remove('diku', 'counter-reports', id)),
      ]);
      const fields = [
        'latestReport',
        'earliestReport',
        'hasFailedReport',
        'reportErrorCodes',
        'reportTypes',
        'reportReleases',
      ];
      const stats = async () => {
        const p = await svc.store.getProvider('diku', pid);
        return Object.fromEntries(fields.map((k) => [k, p[k]]));
      };
      const seen = await stats();
      assert.deepEqual(seen, {
        latestReport: '2018-12',
        earliestReport: '2014-01',
        hasFailedReport: 'yes',
        reportErrorCodes: ['3006'],
        reportTypes: ['DR', 'TR'],
        reportReleases: ['5'],
      });
      // A PUT of the provider recomputes them over all its months.
      await svc.store.putProvider('diku', await svc.store.getProvider('diku', pid));
      assert.deepEqual(await stats(), seen);
    });

    it('insertNewMonths: the usage rows computed from the records answer as those of months written one by one', async () => {
      const provider = async (label: string) =>
        String(
          (
            await svc.store.create('diku', 'usage-data-providers', {
              label,
              status: 'active',
              harvestingConfig: { harvestingStatus: 'active', harvestVia: 'sushi' },
            })
          ).id,
        );
      const [fresh, single] = [await provider('Usage rows fresh'), await provider('Usage rows single')];
      const item = (n: number, extra: Record<string, unknown> = {}) => ({
        name: `Title ${n}`,
        identifiers: { Proprietary: `P:${n}` },
        platform: 'Platform 1',
        count: 1000 - n,
        ...extra,
      });
      const months = (providerId: string): any[] =>
        [
          // As the harvester writes them: more items than the usage tables keep, an item without name or
          // platform, a metric without items.
          {
            yearMonth: '2023-01',
            usageTotals: { Total_Item_Requests: 90_000, Unique_Item_Requests: 400 },
            topItems: {
              Total_Item_Requests: Array.from({ length: 30 }, (_, i) => item(i)),
              Unique_Item_Requests: [item(1), { identifiers: {}, count: 7 }],
              No_License: [],
            },
          },
          // Items and totals the usage rows do not keep as they are (a count as text, a name that is not
          // text, no identifiers, a total that is not an integer).
          {
            yearMonth: '2023-02',
            usageTotals: { Total_Item_Requests: 12, Unique_Item_Requests: 1.5 },
            topItems: {
              Total_Item_Requests: [item(1, { count: '12' }), item(2, { name: 5 }), { name: 'x', count: 3 }],
              Unique_Item_Requests: [item(3, { count: 'many' }), item(4)],
            },
          },
          { yearMonth: '2023-03', failedAttempts: 1, failedReason: 'Number=3030' },
          { yearMonth: '2023-04', usageTotals: { Total_Item_Requests: 5 } },
          { yearMonth: '2023-05', reportName: 'tr', topItems: { Total_Item_Requests: [item(9)] } },
        ].map((m) => ({
          providerId,
          release: '5',
          reportName: 'TR',
          downloadTime: '2024-02-01T10:00:00.000+00:00',
          report: { Report_Items: [] },
          ...m,
        }));
      const yearMonths = months(fresh).map((m) => m.yearMonth);
      // Which months the statement computes the rows of, and which it is sent the rows of.
      assert.deepEqual(
        months(fresh).map((m) => usageDerivable({ ...m, id: UNKNOWN })),
        [true, false, false, true, true],
      );
      const inserted = await svc.store.insertNewMonths(
        'diku',
        { providerId: fresh, releases: ['5'], reportNames: ['TR'], yearMonths },
        months(fresh),
      );
      assert.ok(inserted && 'ids' in inserted);
      for (const record of months(single)) await svc.store.postCounterReport('diku', record);
      const answers = async (providerId: string) => {
        const q = { providerId, reportName: 'TR', from: '2023-01', to: '2023-12' };
        const top = async (metric: string) =>
          (await usageTop(svc.ctx.db, 'diku', { ...q, metric, limit: 100 })).map((i) => ({
            ...i,
            providerId: i.providerId === providerId ? 'same' : i.providerId,
          }));
        return {
          totals: await usageTotals(svc.ctx.db, 'diku', q),
          reports: await usageReports(svc.ctx.db, 'diku', providerId),
          top: await top('Total_Item_Requests'),
          unique: await top('Unique_Item_Requests'),
          none: await top('No_License'),
        };
      };
      const got = await answers(fresh);
      assert.deepEqual(got, await answers(single));
      // Titles 0-24 of 2023-01 (Title 1 and 9 also count in 2023-02 and 2023-05); of 2023-02 the one whose
      // name is not text and the one without identifiers are items of their own.
      assert.equal(got.top.length, 27);
      assert.deepEqual(
        got.top.filter((i) => i.months > 1).map((i) => [i.name, i.count, i.months]),
        [
          ['Title 9', 991 * 2, 2],
          ['Title 1', 999 + 12, 2],
        ],
      );
      assert.deepEqual(
        got.top.find((i) => i.name === 'Title 0'),
        {
          name: 'Title 0',
          platform: 'Platform 1',
          identifiers: { Proprietary: 'P:0' },
          providerId: 'same',
          count: 1000,
          months: 1,
        },
      );
      assert.deepEqual(
        got.totals.map((t) => [t.yearMonth, t.totals]),
        [
          ['2023-01', { Total_Item_Requests: 90_000, Unique_Item_Requests: 400 }],
          ['2023-02', { Total_Item_Requests: 12 }],
          ['2023-04', { Total_Item_Requests: 5 }],
        ],
      );
    });

    it('getSetting: undefined until set; setSetting stores any JSON value per tenant', async () => {
      assert.equal(await svc.store.getSetting('diku', 'max_failed_attempts'), undefined);
      await svc.store.setSetting('diku', 'max_failed_attempts', 7);
      assert.equal(await svc.store.getSetting('diku', 'max_failed_attempts'), 7);
      await svc.store.setSetting('diku', 'max_failed_attempts', '9');
      assert.equal(await svc.store.getSetting('diku', 'max_failed_attempts'), '9');
    });
  });
}
